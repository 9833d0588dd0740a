/* store_info.c — see store_info.h. */
#include "store_info.h"
#include "store_impl.h"

#include <stdio.h>

#include "gl.h"

int store_readers(store_txn *t, uint64_t *used, uint64_t *max)
{
    MDB_envinfo info;
    int rc = mdb_env_info(t->s->env, &info);
    if (rc)
        return store_error(rc, "env info");
    *used = info.me_numreaders;
    *max = info.me_maxreaders;
    return 0;
}

int store_free_pages(store_txn *t, uint64_t *pages, uint64_t *page_size)
{
    MDB_stat ms;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    *pages = 0;
    int rc = mdb_env_stat(t->s->env, &ms);
    if (rc)
        return store_error(rc, "env stat");
    *page_size = ms.ms_psize;
    /* The freelist is LMDB's database 0: each entry a list of page
     * numbers, its first word the count. */
    if ((rc = mdb_cursor_open(t->txn, 0, &c)) != 0)
        return store_error(rc, "freelist cursor");
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        size_t n;
        if (v.mv_size >= sizeof n) {
            memcpy(&n, v.mv_data, sizeof n);
            *pages += n;
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : store_error(rc, "freelist");
}

/* The counts db: key "dispatch:" + the state's name, value 8 bytes big-endian. */
static size_t count_key(unsigned char *key, int state)
{
    return (size_t)snprintf((char *)key, 64, "dispatch:%s", gl_dispatch_state_name(state));
}

static int count_add(store_txn *t, int state, int64_t delta)
{
    unsigned char key[64], val[8];
    MDB_val k = store_val(key, count_key(key, state)), v;
    uint64_t n = 0;
    int err = store_txn_get(t, DB_COUNTS, &k, &v);
    if (err == 0 && v.mv_size == 8)
        n = store_get_be64(v.mv_data);
    else if (err && err != GL_ENOTFOUND)
        return err;
    n = delta < 0 && n < (uint64_t)-delta ? 0 : n + (uint64_t)delta;
    store_put_be64(val, n);
    v = store_val(val, 8);
    return store_txn_put(t, DB_COUNTS, &k, &v, 0);
}

int store_counts_changed(store_txn *t, int old_state, int new_state)
{
    if (old_state == new_state)
        return 0;
    if (t->failed)
        return t->failed;
    if (old_state > GL_DS_NONE && old_state < GL_DS_COUNT)
        t->count_delta[old_state]--;
    if (new_state > GL_DS_NONE && new_state < GL_DS_COUNT)
        t->count_delta[new_state]++;
    t->counts_dirty = 1;
    return 0;
}

int store_counts_flush(store_txn *t)
{
    int err = 0;
    for (int st = GL_DS_NONE + 1; err == 0 && st < GL_DS_COUNT; st++)
        if (t->count_delta[st])
            err = count_add(t, st, t->count_delta[st]);
    if (err == 0) {
        memset(t->count_delta, 0, sizeof t->count_delta);
        t->counts_dirty = 0;
    }
    return err;
}

int store_dispatch_counts(store_txn *t, uint64_t counts[GL_DS_COUNT])
{
    for (int st = 0; st < GL_DS_COUNT; st++) {
        counts[st] = 0;
        if (st == GL_DS_NONE)
            continue;
        unsigned char key[64];
        MDB_val k = store_val(key, count_key(key, st)), v;
        int err = store_txn_get(t, DB_COUNTS, &k, &v);
        if (err == 0 && v.mv_size == 8)
            counts[st] = store_get_be64(v.mv_data);
        else if (err && err != GL_ENOTFOUND)
            return err;
        /* What this write transaction changed and has not written yet. */
        int64_t delta = t->count_delta[st];
        counts[st] = delta < 0 && counts[st] < (uint64_t)-delta ? 0 : counts[st] + (uint64_t)delta;
    }
    return 0;
}
