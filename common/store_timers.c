/* store_timers.c — the alert escalation index (one key per escalating alert,
 * (deadline ms, seq), so the earliest deadline is the first key) and the
 * operator alarms index (seq → reason). */
#include "gl.h"
#include "store_impl.h"

static MDB_val escalation_key(unsigned char key[16], uint64_t ms, uint64_t seq)
{
    store_put_be64(key, ms);
    store_put_be64(key + 8, seq);
    return store_val(key, 16);
}

int store_escalation_move(store_txn *t, uint64_t seq, uint64_t old_ms, uint64_t new_ms)
{
    if (t->failed)
        return t->failed;
    if (old_ms == new_ms)
        return 0;
    unsigned char key[16];
    int err = 0;
    if (old_ms) {
        MDB_val k = escalation_key(key, old_ms, seq);
        err = store_txn_del(t, DB_ESCALATIONS, &k);
    }
    if (!err && new_ms) {
        MDB_val k = escalation_key(key, new_ms, seq), v = store_val(NULL, 0);
        err = store_txn_put(t, DB_ESCALATIONS, &k, &v, 0);
    }
    return err;
}

int store_escalation_due(store_txn *t, uint64_t now_ms, uint64_t *seqs, size_t max, size_t *n)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    *n = 0;
    int err = store_txn_cursor(t, DB_ESCALATIONS, &c);
    if (err)
        return err;
    err = store_cursor_get(c, &k, &v, MDB_FIRST);
    while (!err && *n < max) {
        if (k.mv_size != 16)
            return store_error(MDB_CORRUPTED, "escalation key");
        if (store_get_be64(k.mv_data) > now_ms)
            break;
        seqs[(*n)++] = store_get_be64((const unsigned char *)k.mv_data + 8);
        err = store_cursor_get(c, &k, &v, MDB_NEXT);
    }
    return err == GL_ENOTFOUND ? 0 : err;
}

uint64_t store_next_escalation(store_txn *t)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    if (store_txn_cursor(t, DB_ESCALATIONS, &c) != 0 ||
        store_cursor_get(c, &k, &v, MDB_FIRST) != 0 || k.mv_size != 16)
        return 0;
    return store_get_be64(k.mv_data);
}

/* --- operator alarms: seq → reason --- */

int store_alarm_set(store_txn *t, uint64_t seq, const char *reason)
{
    if (t->failed)
        return t->failed;
    unsigned char key[8];
    store_put_be64(key, seq);
    MDB_val k = store_val(key, 8);
    if (!reason)
        return store_txn_del(t, DB_ALARMS, &k);
    MDB_val v = store_val(reason, strlen(reason));
    return store_txn_put(t, DB_ALARMS, &k, &v, 0);
}

int store_alarm_list(store_txn *t, uint64_t *seqs, size_t max, size_t *n)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    *n = 0;
    int err = store_txn_cursor(t, DB_ALARMS, &c);
    if (err)
        return err;
    err = store_cursor_get(c, &k, &v, MDB_FIRST);
    while (!err && *n < max) {
        if (k.mv_size != 8)
            return store_error(MDB_CORRUPTED, "alarm key");
        seqs[(*n)++] = store_get_be64(k.mv_data);
        err = store_cursor_get(c, &k, &v, MDB_NEXT);
    }
    return err == GL_ENOTFOUND ? 0 : err;
}
