/* store_settle.c — moving the entries of a small right-edge database into
 * the big one they stand for, in bulk and in key order (store_impl.h). New
 * events' entries of a scattered index (the history index's team,
 * community and grid; the pending dispatches by team) are first written
 * where a batch's keys are neighbours, so a commit dirties a few pages for
 * them instead of one per distinct prefix; moving thousands at once sorted
 * then touches each leaf of the big tree once for its whole run. (The
 * history index's entries and the pending index's settle into blocks
 * instead: store_index_postings.c, store_pending.c; store_settle is left for
 * a staged index of plain keys, and nothing uses it now.) */
#include "arena.h"
#include "gl.h"
#include "hmap.h"
#include "store_impl.h"

#include <stdlib.h>

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

/* A run of entries with the same key prefix (a team, a grid, ...). */
typedef struct settle_group {
    settling prefix;
    size_t first, last; /* items, linked in the order read through next */
} settle_group;

static int group_order(const void *a, const void *b)
{
    return settling_order(&((const settle_group *)a)->prefix, &((const settle_group *)b)->prefix);
}

/* key_order puts items[0..n) in key order. The entries were read in the
 * small database's order, which within a group of keys sharing all but
 * their last suffix bytes is already the order of those bytes (a time and
 * a seq): so they are grouped by prefix in one pass and only the groups
 * sorted, a few hundred where qsort compared thousands of keys. When a
 * group is not in order after all, or memory is short, it sorts them all. */
static void key_order(settling *items, size_t n, size_t suffix)
{
    hmap *seen = hmap_new();
    settle_group *groups = malloc(n * sizeof *groups);
    size_t *next = malloc(n * sizeof *next), ngroups = 0;
    settling *out = malloc(n * sizeof *out);
    int ordered = seen && groups && next && out;
    for (size_t i = 0; ordered && i < n; i++) {
        if (items[i].len <= suffix) {
            ordered = 0;
            break;
        }
        size_t plen = items[i].len - suffix;
        uintptr_t g = (uintptr_t)hmap_get(seen, items[i].key, plen);
        if (!g) {
            if (hmap_put(seen, items[i].key, plen, (void *)(uintptr_t)(ngroups + 1)) != 0) {
                ordered = 0;
                break;
            }
            groups[ngroups++] = (settle_group){{items[i].key, plen}, i, i};
        } else {
            settle_group *gr = &groups[g - 1];
            const settling *prev = &items[gr->last];
            settling a = {prev->key + plen, prev->len - plen}, b = {items[i].key + plen, suffix};
            ordered = settling_order(&a, &b) < 0;
            next[gr->last] = i;
            gr->last = i;
        }
    }
    if (ordered) {
        qsort(groups, ngroups, sizeof *groups, group_order);
        size_t at = 0;
        for (size_t g = 0; g < ngroups; g++)
            for (size_t i = groups[g].first;; i = next[i]) {
                out[at++] = items[i];
                if (i == groups[g].last)
                    break;
            }
        memcpy(items, out, n * sizeof *items);
    } else {
        qsort(items, n, sizeof *items, settling_order);
    }
    hmap_free(&seen);
    free(groups);
    free(next);
    free(out);
}

uint64_t store_db_entries(store_txn *t, int db)
{
    MDB_stat ms;
    return mdb_stat(t->txn, t->s->dbi[db], &ms) == 0 ? ms.ms_entries : 0;
}

/* collect reads the first max entries of c's database into their keys in
 * the other (key_of, in arena), in items; *n says how many. */
static int collect(store *s, MDB_cursor *c, size_t max, store_settle_key_fn key_of,
                   settling *items, size_t *n, gl_arena *arena, const char *what)
{
    MDB_val k, v;
    *n = 0;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && *n < max; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        int err = key_of(s, &k, arena, &items[*n].key, &items[*n].len);
        if (err)
            return err;
        (*n)++;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_error(rc, what);
}

int store_settle(store *s, int from, int to, const char *what, size_t min, size_t max,
                 store_settle_key_fn key_of, size_t ordered_suffix, size_t *moved)
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
    int rc = mdb_cursor_open(t->txn, s->dbi[from], &c);
    if (rc) {
        c = NULL;
        err = store_error(rc, what);
        goto done;
    }
    if (store_db_entries(t, from) < min)
        goto done; /* settled meanwhile by another worker */
    if ((err = collect(s, c, max, key_of, items, &n, &arena, what)) != 0 || n == 0)
        goto done;
    /* In key order, so each leaf is found once and takes its whole run. */
    key_order(items, n, ordered_suffix);
    MDB_val empty = store_val("", 0);
    for (size_t i = 0; i < n && !err; i++) {
        MDB_val k = store_val(items[i].key, items[i].len);
        err = store_txn_put(t, to, &k, &empty, 0);
    }
    /* The entries moved are still the first n: nothing else wrote there.
     * When they are all of them, emptying the database frees its few
     * pages at once; deleting entry by entry cost as much as the puts. */
    MDB_val k, v;
    if (!err && n == store_db_entries(t, from)) {
        if ((rc = mdb_drop(t->txn, s->dbi[from], 0)) != 0)
            err = store_txn_fail(t, rc, what);
        goto done;
    }
    for (size_t i = 0; i < n && !err; i++) {
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        if (!rc)
            rc = mdb_cursor_del(c, 0);
        if (rc)
            err = store_txn_fail(t, rc, what);
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
