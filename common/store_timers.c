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

int store_escalation_due(store_txn *t, uint64_t now_ms, store_timer *out, size_t max, size_t *n)
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
        out[*n].at_ms = store_get_be64(k.mv_data);
        out[*n].seq = store_get_be64((const unsigned char *)k.mv_data + 8);
        out[*n].kind = 0;
        (*n)++;
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

int store_alarm_list(store_txn *t, const char *reason, uint64_t *seqs, size_t max, size_t *n,
                     uint64_t *count)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    uint64_t matching = 0;
    *n = 0;
    int err = store_txn_cursor(t, DB_ALARMS, &c);
    if (err)
        return err;
    err = store_cursor_get(c, &k, &v, MDB_FIRST);
    while (!err) {
        if (k.mv_size != 8)
            return store_error(MDB_CORRUPTED, "alarm key");
        if (!reason || (v.mv_size == strlen(reason) && memcmp(v.mv_data, reason, v.mv_size) == 0)) {
            if (*n < max)
                seqs[(*n)++] = store_get_be64(k.mv_data);
            matching++;
        }
        err = store_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (count)
        *count = matching;
    return err == GL_ENOTFOUND ? 0 : err;
}

/* --- workflow timers: (ms, seq, kind) --- */

static MDB_val timer_key(unsigned char key[17], uint64_t ms, uint64_t seq, int kind)
{
    store_put_be64(key, ms);
    store_put_be64(key + 8, seq);
    key[16] = (unsigned char)kind;
    return store_val(key, 17);
}

int store_timer_move(store_txn *t, int kind, uint64_t seq, uint64_t old_ms, uint64_t new_ms)
{
    if (t->failed)
        return t->failed;
    if (old_ms == new_ms)
        return 0;
    unsigned char key[17];
    int err = 0;
    /* Deadlines of events filed about the same time lie together: the
     * deletes go through the point cursor and the puts through the shared
     * one, each finding the leaf it stands on without a search from the
     * root when the next key is there too. */
    if (old_ms) {
        MDB_val k = timer_key(key, old_ms, seq, kind);
        err = store_txn_point_del(t, DB_TIMERS, &k, NULL);
    }
    if (!err && new_ms) {
        MDB_cursor *c = NULL;
        MDB_val k = timer_key(key, new_ms, seq, kind), v = store_val(NULL, 0);
        err = store_txn_cursor(t, DB_TIMERS, &c);
        if (!err)
            err = store_txn_cursor_put(t, DB_TIMERS, c, &k, &v, 0);
    }
    return err;
}

int store_timer_due(store_txn *t, uint64_t now_ms, store_timer *out, size_t max, size_t *n)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    *n = 0;
    int err = store_txn_cursor(t, DB_TIMERS, &c);
    if (err)
        return err;
    err = store_cursor_get(c, &k, &v, MDB_FIRST);
    while (!err && *n < max) {
        const unsigned char *p = k.mv_data;
        if (k.mv_size != 17)
            return store_error(MDB_CORRUPTED, "timer key");
        if (store_get_be64(p) > now_ms)
            break;
        out[*n].at_ms = store_get_be64(p);
        out[*n].seq = store_get_be64(p + 8);
        out[*n].kind = p[16];
        (*n)++;
        err = store_cursor_get(c, &k, &v, MDB_NEXT);
    }
    return err == GL_ENOTFOUND ? 0 : err;
}

int store_timer_next(const gl_event *ev, uint64_t *at)
{
    int overdue = ev->alarm && strcmp(ev->alarm, "overdue") == 0;
    const uint64_t when[] = {
        [TIMER_SIGN] = ev->sign_by_ms,         [TIMER_REMIND] = ev->remind_at_ms,
        [TIMER_DUE] = overdue ? 0 : ev->due_ms, [TIMER_LEASE] = ev->lease_until_ms,
        [TIMER_CLOSE] = ev->close_at_ms,
    };
    int kind = 0;
    *at = 0;
    for (int k = TIMER_SIGN; k <= TIMER_CLOSE; k++)
        if (when[k] && (!kind || when[k] < *at)) {
            kind = k;
            *at = when[k];
        }
    return kind;
}

int store_timer_event_changed(store_txn *t, const gl_event *was, const gl_event *ev)
{
    uint64_t old_at = 0, new_at;
    int old_kind = was ? store_timer_next(was, &old_at) : 0;
    int new_kind = store_timer_next(ev, &new_at);
    if (old_kind == new_kind && old_at == new_at)
        return 0;
    int err = old_kind ? store_timer_move(t, old_kind, ev->seq, old_at, 0) : 0;
    return err || !new_kind ? err : store_timer_move(t, new_kind, ev->seq, 0, new_at);
}

uint64_t store_next_timer(store_txn *t)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    if (store_txn_cursor(t, DB_TIMERS, &c) != 0 || store_cursor_get(c, &k, &v, MDB_FIRST) != 0 ||
        k.mv_size != 17)
        return 0;
    return store_get_be64(k.mv_data);
}
