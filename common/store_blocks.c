/* store_blocks.c — posting blocks (store_blocks.h): finding the block that
 * may hold an entry, putting entries in and taking one out, the settle's
 * transaction (its loop, blk_settle_in, is inline in the header), and what
 * reading them needs. Used by store_index_postings.c (event_index) and
 * store_pending.c (pending, and the claim board's "board"). */
#include "store_blocks.h"

#include "clock.h"
#include "gl.h"
#include "log.h"

#include <stdlib.h>

/* The loops over entries are compiled once per entry width (w a constant
 * there, so that their memcpy and memcmp inline), through the exported
 * functions' switch on it. */
#define BLK_INLINE static inline __attribute__((always_inline))
#define BLK_BY_WIDTH(d, call, ...)                                                            \
    ((d)->width == 16 ? call(__VA_ARGS__, 16) : (d)->width == 8 ? call(__VA_ARGS__, 8)       \
                                                                : call(__VA_ARGS__, (d)->width))

int blk_corrupt(const blk_desc *d, const char *what, size_t len)
{
    LOG_E("store: malformed %s %s (key of %zu bytes)", store_db_names[d->db], what, len);
    return GL_ESTORAGE;
}

/* block_of copies the block k (value v) of a value of plen prefix bytes,
 * checked for size and first entry (fsck checks the rest), to bkey (*blen)
 * and ents (*n). */
BLK_INLINE int block_of(const blk_desc *d, const MDB_val *k, const MDB_val *v, size_t plen,
                        unsigned char *bkey, size_t *blen, unsigned char *ents, size_t *n,
                        const size_t w)
{
    *n = 0;
    if (v->mv_size == 0 || v->mv_size % w || v->mv_size > w * d->max ||
        k->mv_size > STORE_KEY_MAX ||
        memcmp(v->mv_data, (const unsigned char *)k->mv_data + plen, w) != 0)
        return blk_corrupt(d, "block", k->mv_size);
    memcpy(bkey, k->mv_data, k->mv_size);
    *blen = k->mv_size;
    memcpy(ents, v->mv_data, v->mv_size);
    *n = v->mv_size / w;
    return 0;
}

/* block_before takes the key before the cursor's (the last key when rc,
 * the result of positioning it, is GL_ENOTFOUND): when it is a block of
 * prefix's value, block_of copies it and the cursor stays on it; else
 * *n = 0. */
BLK_INLINE int block_before(const blk_desc *d, MDB_cursor *c, int rc,
                            const unsigned char *prefix, size_t plen, unsigned char *bkey,
                            size_t *blen, unsigned char *ents, size_t *n, const size_t w)
{
    MDB_val k, v;
    const unsigned char *at;
    *n = 0;
    if (rc && rc != GL_ENOTFOUND)
        return rc;
    rc = store_cursor_get(c, &k, &v, rc ? MDB_LAST : MDB_PREV);
    if (rc)
        return rc == GL_ENOTFOUND ? 0 : rc;
    if (blk_key_kind_w(prefix, plen, &k, &at, w) != 2)
        return 0;
    return block_of(d, &k, &v, plen, bkey, blen, ents, n, w);
}

BLK_INLINE int find_w(const blk_desc *d, store_txn *t, const unsigned char *e, size_t plen,
                      MDB_cursor **c, unsigned char *bkey, size_t *blen, unsigned char *ents,
                      size_t *n, int *own, const size_t w)
{
    MDB_val k = store_val(e, plen + w), v;
    const unsigned char *at;
    *n = 0;
    *own = 0;
    int err = store_txn_cursor(t, d->db, c);
    if (!err)
        err = store_cursor_get(*c, &k, &v, MDB_SET_RANGE);
    int kind = err ? 0 : blk_key_kind_w(e, plen, &k, &at, w);
    if (kind > 0 && memcmp(at, e + plen, w) == 0) {
        if (kind == 1) {
            *own = 1; /* a key of its own (a store written before blocks) */
            return 0;
        }
        return block_of(d, &k, &v, plen, bkey, blen, ents, n, w); /* the block it starts */
    }
    if (!err || err == GL_ENOTFOUND)
        return block_before(d, *c, err, e, plen, bkey, blen, ents, n, w);
    return err;
}

int blk_find(const blk_desc *d, store_txn *t, const unsigned char *e, size_t plen,
             MDB_cursor **c, unsigned char *bkey, size_t *blen, unsigned char *ents, size_t *n,
             int *own)
{
    return BLK_BY_WIDTH(d, find_w, d, t, e, plen, c, bkey, blen, ents, n, own);
}

/* put_block writes ents[0..n) (0 < n <= max) as the block of prefix
 * starting at its first entry, through c. */
BLK_INLINE int put_block(const blk_desc *d, store_txn *t, MDB_cursor *c,
                         const unsigned char *prefix, size_t plen, const unsigned char *ents,
                         size_t n, const size_t w)
{
    unsigned char key[STORE_KEY_MAX];
    memcpy(key, prefix, plen);
    memcpy(key + plen, ents, w);
    key[plen + w] = BLK_MARK;
    MDB_val k = store_val(key, plen + w + 1), v = store_val(ents, w * n);
    return store_txn_cursor_put(t, d->db, c, &k, &v, 0);
}

/* put_blocks writes ents[0..n) as blocks of max, the last one the rest. */
BLK_INLINE int put_blocks(const blk_desc *d, store_txn *t, MDB_cursor *c,
                          const unsigned char *prefix, size_t plen, const unsigned char *ents,
                          size_t n, const size_t w)
{
    int err = 0;
    size_t max = d->max;
    for (size_t at = 0; at < n && !err; at += max)
        err = put_block(d, t, c, prefix, plen, ents + w * at, n - at < max ? n - at : max, w);
    return err;
}

BLK_INLINE int insert_w(const blk_desc *d, store_txn *t, const unsigned char *prefix,
                        size_t plen, const unsigned char *ents, size_t m, const size_t w)
{
    const size_t max = d->max;
    unsigned char e[STORE_KEY_MAX], bkey[STORE_KEY_MAX], next[16];
    unsigned char old[BLK_BYTES], *merged = NULL;
    size_t merged_cap = 0, i = 0;
    MDB_cursor *c;
    int err = store_txn_cursor(t, d->db, &c);
    memcpy(e, prefix, plen);
    if (!err && plen + w + 1 > t->s->max_key) {
        /* No room for a block key: entries of their own, as before. */
        for (; i < m && !err; i++) {
            memcpy(e + plen, ents + w * i, w);
            MDB_val k = store_val(e, plen + w), v = store_val("", 0);
            err = store_txn_put(t, d->db, &k, &v, 0);
        }
        return err;
    }
    while (i < m && !err) {
        memcpy(e + plen, ents + w * i, w);
        /* The value's next key from here bounds the run. */
        MDB_val k = store_val(e, plen + w), v;
        const unsigned char *at;
        int have_next = 0;
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        int at_end = err == GL_ENOTFOUND;
        if (!err) {
            int kind = blk_key_kind_w(prefix, plen, &k, &at, w);
            if (kind < 0) {
                err = blk_corrupt(d, "key", k.mv_size);
                break;
            }
            have_next = kind > 0;
            if (have_next)
                memcpy(next, at, w);
        } else if (!at_end) {
            break;
        }
        err = 0;
        if (have_next && memcmp(next, ents + w * i, w) == 0) {
            i++; /* there already */
            continue;
        }
        size_t j = i + 1;
        while (j < m && (!have_next || memcmp(ents + w * j, next, w) < 0))
            j++;
        /* The block before, which the run may join. */
        size_t blen = 0, pn = 0;
        if ((err = block_before(d, c, at_end ? GL_ENOTFOUND : 0, prefix, plen, bkey, &blen, old,
                                &pn, w)) != 0)
            break;
        const unsigned char *first = ents + w * i;
        if (pn && (pn < max || memcmp(first, old + w * (pn - 1), w) <= 0)) {
            /* Into the block before: merged, then cut in max. */
            size_t need = pn + (j - i), out = 0;
            if (need > merged_cap) {
                unsigned char *grown = realloc(merged, w * need);
                if (!grown) {
                    err = GL_EINTERNAL;
                    break;
                }
                merged = grown;
                merged_cap = need;
            }
            if (memcmp(first, old + w * (pn - 1), w) > 0) {
                /* All after it (the usual case): appended. */
                memcpy(merged, old, w * pn);
                memcpy(merged + w * pn, first, w * (j - i));
                out = need;
            } else {
                size_t a = 0, b = i;
                while (a < pn || b < j) {
                    const unsigned char *x = old + w * a, *y = ents + w * b;
                    int cmp = a == pn ? 1 : b == j ? -1 : memcmp(x, y, w);
                    memcpy(merged + w * out++, cmp <= 0 ? x : y, w);
                    a += cmp <= 0;
                    b += cmp >= 0;
                }
            }
            err = put_blocks(d, t, c, prefix, plen, merged, out, w);
        } else {
            err = put_blocks(d, t, c, prefix, plen, first, j - i, w);
        }
        i = j;
    }
    free(merged);
    return err;
}

int blk_insert(const blk_desc *d, store_txn *t, const unsigned char *prefix, size_t plen,
               const unsigned char *ents, size_t m)
{
    return BLK_BY_WIDTH(d, insert_w, d, t, prefix, plen, ents, m);
}

BLK_INLINE int remove_w(const blk_desc *d, store_txn *t, const unsigned char *e, size_t plen,
                        const size_t w)
{
    unsigned char bkey[STORE_KEY_MAX], ents[BLK_BYTES];
    size_t blen = 0, bn = 0;
    MDB_cursor *c = NULL;
    int own;
    int err = find_w(d, t, e, plen, &c, bkey, &blen, ents, &bn, &own, w);
    if (!err && own) {
        MDB_val k = store_val(e, plen + w);
        return store_txn_del(t, d->db, &k);
    }
    size_t i = 0;
    while (i < bn && memcmp(ents + w * i, e + plen, w) < 0)
        i++;
    if (err || i == bn || memcmp(ents + w * i, e + plen, w) != 0)
        return err; /* not there: nothing to take out */
    memmove(ents + w * i, ents + w * (i + 1), w * (bn - i - 1));
    bn--;
    if (i == 0 || bn == 0) {
        /* Its first entry: the block's key changes (or it goes). */
        MDB_val k = store_val(bkey, blen);
        if ((err = store_txn_del(t, d->db, &k)) != 0 || bn == 0)
            return err;
        if ((err = store_txn_cursor(t, d->db, &c)) != 0)
            return err;
    }
    return put_block(d, t, c, e, plen, ents, bn, w);
}

int blk_remove(const blk_desc *d, store_txn *t, const unsigned char *e, size_t plen)
{
    return BLK_BY_WIDTH(d, remove_w, d, t, e, plen);
}

int blk_seek(const blk_desc *d, store_txn *t, const unsigned char *e, size_t plen, MDB_val *k,
             MDB_val *v)
{
    MDB_cursor *c;
    const unsigned char *at;
    int err = store_txn_cursor(t, d->db, &c);
    if (err)
        return err;
    /* The block before e may hold entries from e on. */
    *k = store_val(e, plen + d->width);
    err = store_cursor_get(c, k, v, MDB_SET_RANGE);
    if (!err || err == GL_ENOTFOUND)
        err = store_cursor_get(c, k, v, err ? MDB_LAST : MDB_PREV);
    if (!err && blk_key_kind(d, e, plen, k, &at) == 2)
        return 0;
    if (err && err != GL_ENOTFOUND)
        return err;
    *k = store_val(e, plen + d->width);
    return store_cursor_get(c, k, v, MDB_SET_RANGE);
}

int blk_after(const blk_desc *d, store_txn *t, const unsigned char *key, size_t key_len,
              MDB_val *k, MDB_val *v)
{
    MDB_cursor *c;
    int err = store_txn_cursor(t, d->db, &c);
    *k = store_val(key, key_len);
    if (!err)
        err = store_cursor_get(c, k, v, MDB_SET_RANGE);
    if (!err && k->mv_size == key_len && memcmp(k->mv_data, key, key_len) == 0)
        err = store_cursor_get(c, k, v, MDB_NEXT);
    return err;
}

/* A settle that held the writer longer than this (its reads came from the
 * disk, most likely) makes the next SETTLE_WARM_FOR read ahead first. */
#define SETTLE_SLOW_US 20000

int blk_warm(const blk_desc *d, store_txn *t, size_t max)
{
    store *s = t->s;
    MDB_cursor *c = NULL, *b = NULL;
    hmap *seen = hmap_new();
    size_t n = 0, values = 0;
    MDB_val k, v;
    if (!seen || mdb_cursor_open(t->txn, s->dbi[d->staging], &c) != 0 ||
        mdb_cursor_open(t->txn, s->dbi[d->db], &b) != 0)
        goto done;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && n < max;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), n++) {
        const unsigned char *name, *entry;
        size_t nlen = d->split(s, &k, &name, &entry);
        if (!nlen || nlen + 1 + d->width > STORE_KEY_MAX || hmap_get(seen, name, nlen))
            continue;
        if (hmap_put(seen, name, nlen, (void *)1) != 0)
            break;
        /* Where blk_insert will look: the key at or after the value's
         * first staged entry, and the one before it (its last block). */
        unsigned char key[STORE_KEY_MAX];
        memcpy(key, name, nlen);
        key[nlen] = 0;
        memcpy(key + nlen + 1, entry, d->width);
        MDB_val bk = store_val(key, nlen + 1 + d->width), bv;
        if (mdb_cursor_get(b, &bk, &bv, MDB_SET_RANGE) == 0)
            (void)mdb_cursor_get(b, &bk, &bv, MDB_PREV);
        else
            (void)mdb_cursor_get(b, &bk, &bv, MDB_LAST);
        values++;
    }
done:
    if (b)
        mdb_cursor_close(b);
    if (c)
        mdb_cursor_close(c);
    hmap_free(&seen);
    return (int)(values > (size_t)INT32_MAX ? INT32_MAX : values);
}

int blk_settle(store *s, uint64_t (*waiting)(store_txn *t), size_t min, size_t max,
               size_t *moved, int (*settle_in)(store_txn *t, size_t max, size_t *moved),
               void (*warm_in)(store_txn *t, size_t max))
{
    store_txn *t = NULL;
    size_t n = 0;
    if (moved)
        *moved = 0;
    if (max == 0)
        return 0;
    /* On a large store whose pages are not in memory (after a restart) a
     * settle's reads come from the disk: 0.4-0.6 s at 10M events, all of
     * it under the writer lock, while every worker, the alert lane's
     * included, waited. So the first SETTLE_WARM_FOR settles after the
     * store is opened (store_open), and the next SETTLE_WARM_FOR after a
     * settle that held the lock long, first read (of either kind) what
     * they will write in a read transaction (warm_in), and the write
     * transaction finds those pages in memory. Not always: on a store in
     * memory the pass costs a walk of the staged entries, about 3% of
     * the filing worker's instructions (callgrind). */
    if (warm_in && s->settle_warm > 0 && store_begin(s, 0, &t) == 0) {
        s->settle_warm--;
        if (waiting(t) >= min)
            warm_in(t, max);
        store_abort(&t);
    }
    int err = store_begin(s, 1, &t);
    if (err)
        return err;
    uint64_t began = clock_mono_us(); /* the lock held, not waited for */
    if (waiting(t) < min) {
        store_abort(&t); /* settled meanwhile by another worker */
        return 0;
    }
    err = settle_in(t, max, &n);
    if (!err && n)
        err = store_commit(&t);
    else
        store_abort(&t);
    if (!err && moved)
        *moved = n;
    uint64_t took = clock_mono_us() - began;
    if (warm_in && took > SETTLE_SLOW_US) {
        if (!s->settle_warm)
            LOG_I("store: a settle held the writer %llu ms: the next %d settles read ahead first",
                  (unsigned long long)(took / 1000), SETTLE_WARM_FOR);
        s->settle_warm = SETTLE_WARM_FOR;
    }
    return err;
}
