/* store_pending.c — settling new pending entries from pending_recent into
 * "pending" in bulk (store_pending.h). */
#include "store_pending.h"
#include "arena.h"
#include "gl.h"
#include "log.h"
#include "store_impl.h"

#include <stdlib.h>

uint64_t store_pending_recent_count(store_txn *t)
{
    MDB_stat ms;
    return mdb_stat(t->txn, t->s->dbi[DB_PENDING_RECENT], &ms) == 0 ? ms.ms_entries : 0;
}

typedef struct settling {
    unsigned char *key;
    size_t len;
} settling;

static int settling_order(const void *a, const void *b)
{
    const settling *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* collect reads the first max entries of pending_recent (seq team) as
 * "pending" keys (team 0 seq, in arena) into items; *n says how many. */
static int collect(MDB_cursor *c, size_t max, settling *items, size_t *n, gl_arena *arena)
{
    MDB_val k, v;
    *n = 0;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && *n < max; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        size_t team = k.mv_size - 8;
        if (k.mv_size <= 8 || k.mv_size > STORE_KEY_MAX || memchr(p + 8, 0, team)) {
            LOG_E("store: pending_recent key of %zu bytes", k.mv_size);
            return GL_ESTORAGE;
        }
        unsigned char *key = arena_alloc(arena, team + 9);
        if (!key)
            return GL_EINTERNAL;
        memcpy(key, p + 8, team);
        key[team] = 0;
        memcpy(key + team + 1, p, 8);
        items[*n].key = key;
        items[(*n)++].len = team + 9;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_error(rc, "pending_recent");
}

int store_pending_settle(store *s, size_t min, size_t max, size_t *moved)
{
    if (moved)
        *moved = 0;
    if (max == 0)
        return 0;
    settling *items = malloc(max * sizeof *items);
    if (!items)
        return GL_EINTERNAL;
    gl_arena arena = {0};
    store_txn *t = NULL;
    MDB_cursor *c = NULL;
    size_t n = 0;
    int err = store_begin(s, 1, &t);
    if (err)
        goto done;
    int rc = mdb_cursor_open(t->txn, s->dbi[DB_PENDING_RECENT], &c);
    if (rc) {
        c = NULL;
        err = store_error(rc, "pending_recent");
        goto done;
    }
    if (store_pending_recent_count(t) < min)
        goto done; /* settled meanwhile by another worker */
    if ((err = collect(c, max, items, &n, &arena)) != 0 || n == 0)
        goto done;
    /* In key order, so each team's leaf is found once and takes its run. */
    qsort(items, n, sizeof *items, settling_order);
    MDB_val empty = store_val("", 0);
    for (size_t i = 0; i < n && !err; i++) {
        MDB_val k = store_val(items[i].key, items[i].len);
        err = store_txn_put(t, DB_PENDING, &k, &empty, 0);
    }
    /* The entries moved are still the first n: nothing else wrote there. */
    MDB_val k, v;
    for (size_t i = 0; i < n && !err; i++) {
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        if (!rc)
            rc = mdb_cursor_del(c, 0);
        if (rc)
            err = store_txn_fail(t, rc, "pending_recent");
    }

done:
    if (c)
        mdb_cursor_close(c);
    if (t && !err && n)
        err = store_commit(&t);
    else
        store_abort(&t);
    if (!err && moved)
        *moved = n;
    arena_free(&arena);
    free(items);
    return err;
}
