/* store_index_recent.c — entries of the scattered dimensions (community,
 * grid, team), written at the right edge of index_recent and settled into
 * event_index in bulk (see store_index.h). */
#include "store_index.h"
#include "gl.h"
#include "log.h"
#include "store_impl.h"

#include <stdlib.h>

int store_index_staged(int dim)
{
    return dim == IX_COMMUNITY || dim == IX_GRID || dim == IX_TEAM;
}

size_t store_index_recent_key(unsigned char *k, uint64_t ms, uint64_t seq, int dim,
                              const char *value, size_t n)
{
    store_put_be64(k, ms);
    store_put_be64(k + 8, seq);
    k[16] = (unsigned char)dim;
    memcpy(k + 17, value, n);
    return 17 + n;
}

uint64_t store_index_recent_count(store_txn *t)
{
    MDB_stat ms;
    return mdb_stat(t->txn, t->s->dbi[DB_INDEX_RECENT], &ms) == 0 ? ms.ms_entries : 0;
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

/* collect reads the first max entries of index_recent into their event_index
 * keys (in arena), in items; *n says how many. */
static int collect(store_txn *t, MDB_cursor *c, size_t max, settling *items, size_t *n,
                   gl_arena *arena)
{
    MDB_val k, v;
    *n = 0;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && *n < max; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        char value[STORE_KEY_MAX + 1];
        unsigned char key[STORE_KEY_MAX];
        if (k.mv_size <= 17 || k.mv_size - 17 > STORE_KEY_MAX) {
            LOG_E("store: index_recent key of %zu bytes", k.mv_size);
            return GL_ESTORAGE;
        }
        memcpy(value, p + 17, k.mv_size - 17);
        value[k.mv_size - 17] = '\0';
        size_t len = store_index_key(key, t->s->max_key, p[16], value, store_get_be64(p),
                                     store_get_be64(p + 8));
        unsigned char *copy = len ? arena_alloc(arena, len) : NULL;
        if (!len)
            return GL_EBADFIELD;
        if (!copy)
            return GL_EINTERNAL;
        memcpy(copy, key, len);
        items[*n].key = copy;
        items[(*n)++].len = len;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_error(rc, "index_recent");
}

int store_index_settle(store *s, size_t min, size_t max, size_t *moved)
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
    int rc = mdb_cursor_open(t->txn, s->dbi[DB_INDEX_RECENT], &c);
    if (rc) {
        c = NULL;
        err = store_error(rc, "index_recent");
        goto done;
    }
    if (store_index_recent_count(t) < min)
        goto done; /* settled meanwhile by another worker */
    if ((err = collect(t, c, max, items, &n, &arena)) != 0 || n == 0)
        goto done;
    /* In key order, so each value's leaf is found once and takes its run. */
    qsort(items, n, sizeof *items, settling_order);
    MDB_val empty = store_val("", 0);
    for (size_t i = 0; i < n && !err; i++) {
        MDB_val k = store_val(items[i].key, items[i].len);
        err = store_txn_put(t, DB_EVENT_INDEX, &k, &empty, 0);
    }
    /* The entries moved are still the first n: nothing else wrote there. */
    MDB_val k, v;
    for (size_t i = 0; i < n && !err; i++) {
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        if (!rc)
            rc = mdb_cursor_del(c, 0);
        if (rc)
            err = store_txn_fail(t, rc, "index_recent");
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
