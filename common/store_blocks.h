/* store_blocks.h — posting blocks, the scheme event_index's entries (all
 * dimensions but the alarm; store_index.h, store_index_postings.c), the
 * pending index and the claim board (store_pending.h, store_pending.c) share;
 * private to the store.
 *
 * A value's entries are fixed-width byte strings that sort with memcmp
 * (big-endian numbers: 16-byte (ms, seq) pairs, 8-byte seqs). In the
 * database of a blk_desc a value's keys are
 *   prefix entry        → (empty)           an entry of its own
 *   prefix first 'B'    → entry entry...     a block of up to max entries,
 *                                            strictly increasing
 * where the prefix is the value's name and a 0 byte, and every entry of a
 * block is below its value's next key. A staging database (the settle's
 * source) holds keys that split into a name and an entry (blk_desc.split);
 * a settle moves the oldest of them into blocks in bulk. */
#ifndef GL_STORE_BLOCKS_H
#define GL_STORE_BLOCKS_H

#include <stdlib.h>

#include "arena.h"
#include "gl.h"
#include "hmap.h"
#include "log.h"
#include "store_impl.h"

#define BLK_MARK 0x42     /* a block key's last byte, after its first entry */
#define BLK_BYTES 1024    /* a block's value at most (width × max) */

typedef struct blk_desc {
    int db;               /* enum store_db: the blocks' database */
    int staging;          /* enum store_db: what a settle moves into them */
    size_t width;         /* bytes per entry, a multiple of 8 */
    size_t max;           /* entries per block at most */
    /* split checks the staging key k (the store's s) and finds in it its
     * value's name (the value's prefix is the name, then a 0 byte) and its
     * entry: returns the name's length, *name and *entry pointing into k;
     * 0 for a malformed key. */
    size_t (*split)(const store *s, const MDB_val *k, const unsigned char **name,
                    const unsigned char **entry);
} blk_desc;

/* blk_key_kind says what k is within the value of prefix (plen bytes): 0
 * not of it, 1 a key of its own, 2 a block key, -1 malformed; *at its
 * (first) entry's bytes. blk_key_kind_w is the same for entries of width
 * bytes. */
static inline int blk_key_kind_w(const unsigned char *prefix, size_t plen, const MDB_val *k,
                                 const unsigned char **at, const size_t width)
{
    const unsigned char *p = k->mv_data;
    if (k->mv_size < plen || memcmp(p, prefix, plen) != 0)
        return 0;
    size_t rest = k->mv_size - plen;
    if (rest != width && (rest != width + 1 || p[k->mv_size - 1] != BLK_MARK))
        return -1;
    *at = p + plen;
    return rest == width ? 1 : 2;
}

static inline int blk_key_kind(const blk_desc *d, const unsigned char *prefix, size_t plen,
                               const MDB_val *k, const unsigned char **at)
{
    return blk_key_kind_w(prefix, plen, k, at, d->width);
}

/* blk_corrupt logs a malformed key or block (what) of d's database and
 * returns GL_ESTORAGE. */
int blk_corrupt(const blk_desc *d, const char *what, size_t len);

/* blk_decode reads a block's value into out, width / 8 numbers per entry
 * (room for max entries); returns how many entries, or 0 when it is
 * malformed (empty, too long, a partial entry, not strictly increasing). */
static inline size_t blk_decode(const blk_desc *d, const MDB_val *v, uint64_t *out)
{
    const size_t w = d->width, words = w / 8;
    if (v->mv_size == 0 || v->mv_size % w || v->mv_size / w > d->max)
        return 0;
    size_t n = v->mv_size / w;
    const unsigned char *p = v->mv_data;
    for (size_t i = 0; i < n; i++) {
        for (size_t x = 0; x < words; x++)
            out[words * i + x] = store_get_be64(p + w * i + 8 * x);
        if (i) {
            const uint64_t *a = out + words * (i - 1), *b = out + words * i;
            size_t x = 0;
            while (x < words && a[x] == b[x])
                x++;
            if (x == words || a[x] > b[x])
                return 0;
        }
    }
    return n;
}

/* blk_load takes the key k (value v) a reader of the value of prefix (plen
 * bytes) is on: copies k to key (room for key_cap bytes; *key_len, 0 when
 * k is not of the value) and its entries to out as blk_decode does (*n; a
 * key of its own is one entry), a block's first being its key's. 0 or
 * GL_ESTORAGE (logged; then *n = 0). */
static inline int blk_load(const blk_desc *d, const unsigned char *prefix, size_t plen,
                           const MDB_val *k, const MDB_val *v, unsigned char *key,
                           size_t key_cap, size_t *key_len, uint64_t *out, size_t *n)
{
    const unsigned char *at;
    int kind = blk_key_kind(d, prefix, plen, k, &at);
    *n = 0;
    *key_len = 0;
    if (kind == 0)
        return 0;
    if (kind < 0 || k->mv_size > key_cap)
        return blk_corrupt(d, "key", k->mv_size);
    memcpy(key, k->mv_data, k->mv_size);
    *key_len = k->mv_size;
    if (kind == 1) {
        for (size_t x = 0; x < d->width / 8; x++)
            out[x] = store_get_be64(at + 8 * x);
        *n = 1;
    } else if ((*n = blk_decode(d, v, out)) == 0 || memcmp(v->mv_data, at, d->width) != 0) {
        *n = 0;
        return blk_corrupt(d, "block", k->mv_size);
    }
    return 0;
}

/* blk_find finds where the entry of key e (prefix of plen bytes, then the
 * entry) may be: *own = 1 when it has a key of its own; else the block
 * starting at it or the one before it, copied to bkey (*blen) and ents (*n
 * entries, room for BLK_BYTES), checked for size and first entry; *n = 0
 * when there is none. *c is the database's cursor. 0 or a store error. */
int blk_find(const blk_desc *d, store_txn *t, const unsigned char *e, size_t plen,
             MDB_cursor **c, unsigned char *bkey, size_t *blen, unsigned char *ents, size_t *n,
             int *own);

/* blk_insert puts ents[0..m) (increasing) of the value of prefix into its
 * blocks: each run of them between two keys of the value joins the block
 * before it (merged, cut in blocks of max) or becomes new blocks. An entry
 * already there is not put again. A prefix too long for a block key gets
 * keys of its own. 0 or a store error. */
int blk_insert(const blk_desc *d, store_txn *t, const unsigned char *prefix, size_t plen,
               const unsigned char *ents, size_t m);

/* blk_remove takes the entry of key e (prefix of plen bytes, then the
 * entry) out: its own key, or the block holding it (rewritten; re-keyed
 * when it was the first entry, deleted when the last). Not there is not
 * an error. */
int blk_remove(const blk_desc *d, store_txn *t, const unsigned char *e, size_t plen);

/* blk_seek finds where reading the value of prefix from the entry of key e
 * (prefix, plen bytes, then the entry) starts: *k, *v the block before e
 * when it is one of the value's, else the first key at or after e. 0,
 * GL_ENOTFOUND (no key from there on) or a store error. */
int blk_seek(const blk_desc *d, store_txn *t, const unsigned char *e, size_t plen, MDB_val *k,
             MDB_val *v);

/* blk_after finds the key after key (key_len bytes, which may be gone
 * since it was read): *k, *v. 0, GL_ENOTFOUND or a store error. */
int blk_after(const blk_desc *d, store_txn *t, const unsigned char *key, size_t key_len,
              MDB_val *k, MDB_val *v);

/* blk_settle_in's values: a name's prefix and its entries. */
typedef struct blk_group {
    const unsigned char *prefix;
    size_t plen, first, last; /* its entries, linked through next */
} blk_group;

static inline int blk_group_order(const void *a, const void *b)
{
    const blk_group *x = a, *y = b;
    size_t n = x->plen < y->plen ? x->plen : y->plen;
    int c = memcmp(x->prefix, y->prefix, n);
    return c ? c : (x->plen > y->plen) - (x->plen < y->plen);
}

/* blk_settle_in moves up to max of the oldest entries of d's staging
 * database into the blocks in t (a write transaction), value by value in
 * key order, and deletes them there; *moved says how many. 0 or a store
 * error. It is inlined where it is called with a user's constant
 * descriptor, so that the per-entry loop calls its split directly and
 * copies entries of a constant width. */
static inline __attribute__((always_inline)) int blk_settle_in(const blk_desc *d, store_txn *t,
                                                               size_t max, size_t *moved)
{
    store *s = t->s;
    const size_t w = d->width;
    const char *name = store_db_names[d->staging];
    *moved = 0;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    gl_arena arena = {0};
    size_t cap = 1024, gcap = 64, n = 0, ngroups = 0;
    size_t *next = malloc(cap * sizeof *next); /* the next entry of its value, (size_t)-1: none */
    unsigned char *staged = malloc(cap * w);   /* the entries as they came */
    blk_group *groups = malloc(gcap * sizeof *groups);
    unsigned char *ents = NULL;
    hmap *seen = hmap_new();
    int err = next && staged && groups && seen ? 0 : GL_EINTERNAL;
    int rc = err ? 0 : mdb_cursor_open(t->txn, s->dbi[d->staging], &c);
    if (rc) {
        c = NULL;
        err = store_error(rc, name);
    }
    /* The oldest entries: each value's come in entry order, so grouping
     * them by value as they come keeps that. */
    for (rc = err ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && n < max;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *entry, *vname;
        size_t nlen = d->split(s, &k, &vname, &entry);
        if (!nlen) {
            LOG_E("store: %s key of %zu bytes", name, k.mv_size);
            err = GL_ESTORAGE;
            break;
        }
        if (n == cap) {
            size_t *grown = realloc(next, 2 * cap * sizeof *next);
            if (grown)
                next = grown;
            unsigned char *more = grown ? realloc(staged, 2 * cap * w) : NULL;
            if (!more) {
                err = GL_EINTERNAL;
                break;
            }
            staged = more;
            cap *= 2;
        }
        uintptr_t g = (uintptr_t)hmap_get(seen, vname, nlen);
        if (!g) {
            if (ngroups == gcap) {
                blk_group *grown = realloc(groups, 2 * gcap * sizeof *groups);
                if (!grown) {
                    err = GL_EINTERNAL;
                    break;
                }
                groups = grown;
                gcap *= 2;
            }
            unsigned char *copy = arena_alloc(&arena, nlen + 1);
            if (!copy || hmap_put(seen, vname, nlen, (void *)(uintptr_t)(ngroups + 1)) != 0) {
                err = GL_EINTERNAL;
                break;
            }
            memcpy(copy, vname, nlen); /* the value's prefix: its name, 0 */
            copy[nlen] = 0;
            groups[ngroups] = (blk_group){copy, nlen + 1, n, n};
            g = ++ngroups;
        } else {
            next[groups[g - 1].last] = n;
            groups[g - 1].last = n;
        }
        next[n] = (size_t)-1;
        memcpy(staged + w * n, entry, w);
        n++;
    }
    if (!err && rc && rc != MDB_NOTFOUND)
        err = store_error(rc, name);
    if (err || n == 0)
        goto done;
    /* The values in key order: each one's blocks found once. */
    qsort(groups, ngroups, sizeof *groups, blk_group_order);
    ents = malloc(w * n);
    if (!ents) {
        err = GL_EINTERNAL;
        goto done;
    }
    for (size_t g = 0; g < ngroups && !err; g++) {
        size_t m = 0;
        for (size_t i = groups[g].first; i != (size_t)-1; i = next[i])
            memcpy(ents + w * m++, staged + w * i, w);
        err = blk_insert(d, t, groups[g].prefix, groups[g].plen, ents, m);
    }
    if (err)
        goto done;
    /* The entries moved are still the first n; when they are all of them,
     * the database is emptied at once. */
    store_txn_edge_forget(t, d->staging); /* written below not through it */
    if (n == store_db_entries(t, d->staging)) {
        if ((rc = mdb_drop(t->txn, s->dbi[d->staging], 0)) != 0)
            err = store_txn_fail(t, rc, name);
    } else {
        for (size_t i = 0; i < n && !err; i++) {
            rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
            if (!rc)
                rc = mdb_cursor_del(c, 0);
            if (rc)
                err = store_txn_fail(t, rc, name);
        }
    }
    if (!err)
        *moved = n;
done:
    if (c)
        mdb_cursor_close(c);
    hmap_free(&seen);
    arena_free(&arena);
    free(next);
    free(staged);
    free(groups);
    free(ents);
    return err;
}

/* blk_settle runs settle_in (the user's blk_settle_in, or several) in a
 * write transaction of its own, when waiting (the entries of the staging
 * databases settle_in moves) says at least min wait in it; *moved (if not
 * NULL) says how many moved. */
int blk_settle(store *s, uint64_t (*waiting)(store_txn *t), size_t min, size_t max,
               size_t *moved, int (*settle_in)(store_txn *t, size_t max, size_t *moved),
               void (*warm_in)(store_txn *t, size_t max));

/* blk_warm reads, in t (a read transaction will do), the pages a settle of
 * up to max of d's staged entries will write: for each value among them,
 * the key at or after its first staged entry and the one before it. It
 * writes nothing and returns how many values it looked up. blk_settle
 * calls warm_in (the user's calls of blk_warm), when given, in a read
 * transaction before it takes the writer lock, for the next 256 settles
 * after one that held the lock more than 20 ms (store_blocks.c). */
int blk_warm(const blk_desc *d, store_txn *t, size_t max);

#endif
