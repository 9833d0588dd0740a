/* store_index_postings.c — the posting blocks of event_index's community,
 * grid and team entries (store_index.h): a settle moves each (dim, value)'s
 * staged entries into blocks of up to POST_MAX (ms, seq) pairs, so it puts
 * one key per value and block where it put one per entry; reads expand
 * them, next to the per-entry keys of older stores and of the other
 * dimensions. */
#include "store_postings.h"
#include "store_index.h"
#include "arena.h"
#include "gl.h"
#include "hmap.h"
#include "log.h"

#include <stdlib.h>

static int pair_cmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq)
{
    if (ams != bms)
        return ams < bms ? -1 : 1;
    return aseq < bseq ? -1 : aseq > bseq;
}

/* What k is within the value of prefix: 0 not of it, 1 a per-entry key, 2
 * a block key, -1 malformed; *ms and *seq its (first) pair. */
static int key_kind(const unsigned char *prefix, size_t plen, const MDB_val *k, uint64_t *ms,
                    uint64_t *seq)
{
    const unsigned char *p = k->mv_data;
    if (k->mv_size < plen || memcmp(p, prefix, plen) != 0)
        return 0;
    size_t rest = k->mv_size - plen;
    if (rest != 16 && (rest != 17 || p[k->mv_size - 1] != POST_MARK))
        return -1;
    *ms = store_get_be64(p + plen);
    *seq = store_get_be64(p + plen + 8);
    return rest == 16 ? 1 : 2;
}

/* decode_block reads a block's value into pairs (room for POST_MAX);
 * returns how many, or 0 when it is malformed (empty, too long, a partial
 * pair, not in increasing order). */
static size_t decode_block(const MDB_val *v, uint64_t *pairs)
{
    if (v->mv_size == 0 || v->mv_size % 16 || v->mv_size / 16 > POST_MAX)
        return 0;
    size_t n = v->mv_size / 16;
    const unsigned char *p = v->mv_data;
    for (size_t i = 0; i < n; i++) {
        pairs[2 * i] = store_get_be64(p + 16 * i);
        pairs[2 * i + 1] = store_get_be64(p + 16 * i + 8);
        if (i && pair_cmp(pairs[2 * i - 2], pairs[2 * i - 1], pairs[2 * i], pairs[2 * i + 1]) >= 0)
            return 0;
    }
    return n;
}

static int corrupt(const char *what, size_t len)
{
    LOG_E("store: malformed event_index %s (key of %zu bytes)", what, len);
    return GL_ESTORAGE;
}

/* --- reading --- */

/* load takes the key k (value v) the cursor is on into the stream: its
 * pairs, or the end of the value. */
static int load(ix_stream *s, const MDB_val *k, const MDB_val *v)
{
    uint64_t ms, seq;
    int kind = key_kind(s->prefix, s->plen, k, &ms, &seq);
    s->n = s->at = 0;
    s->key_len = 0;
    if (kind == 0)
        return 0;
    if (kind < 0 || k->mv_size > sizeof s->key)
        return corrupt("key", k->mv_size);
    memcpy(s->key, k->mv_data, k->mv_size);
    s->key_len = k->mv_size;
    if (kind == 1) {
        s->buf[0] = ms;
        s->buf[1] = seq;
        s->n = 1;
    } else if ((s->n = decode_block(v, s->buf)) == 0 || s->buf[0] != ms || s->buf[1] != seq) {
        return corrupt("block", k->mv_size);
    }
    return 0;
}

/* emit shows the next pair of the stream, moving to the next key when the
 * one loaded is used up. */
static int emit(ix_stream *s)
{
    s->have = 0;
    for (;;) {
        if (s->at < s->n) {
            uint64_t ms = s->buf[2 * s->at], seq = s->buf[2 * s->at + 1];
            int c = pair_cmp(ms, seq, s->hi_ms, s->hi_seq);
            if (s->until_set ? c >= 0 : c > 0)
                return 0; /* past the range */
            s->ms = ms;
            s->seq = seq;
            s->have = 1;
            return 0;
        }
        if (!s->key_len)
            return 0; /* the value's keys ended */
        MDB_cursor *c;
        MDB_val k = store_val(s->key, s->key_len), v;
        int err = store_txn_cursor(s->t, DB_EVENT_INDEX, &c);
        if (!err)
            err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (!err && k.mv_size == s->key_len && memcmp(k.mv_data, s->key, s->key_len) == 0)
            err = store_cursor_get(c, &k, &v, MDB_NEXT);
        if (err == GL_ENOTFOUND) {
            s->n = s->at = s->key_len = 0;
            return 0;
        }
        if (err || (err = load(s, &k, &v)) != 0)
            return err;
    }
}

int ix_open(ix_stream *s, store_txn *t, const unsigned char *lo, size_t lo_len, uint64_t hi_ms,
            uint64_t hi_seq, int until_set)
{
    s->t = t;
    s->have = 0;
    s->n = s->at = s->key_len = 0;
    if (lo_len < 18)
        return GL_EBADFIELD;
    s->plen = lo_len - 16;
    memcpy(s->prefix, lo, s->plen);
    s->hi_ms = hi_ms;
    s->hi_seq = hi_seq;
    s->until_set = until_set;
    uint64_t lo_ms = store_get_be64(lo + s->plen), lo_seq = store_get_be64(lo + s->plen + 8);
    MDB_cursor *c;
    MDB_val k = store_val(lo, lo_len), v;
    int err = store_txn_cursor(t, DB_EVENT_INDEX, &c);
    if (err)
        return err;
    /* The block before lo may hold entries from lo on. */
    err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (!err || err == GL_ENOTFOUND)
        err = store_cursor_get(c, &k, &v, err ? MDB_LAST : MDB_PREV);
    uint64_t ms, seq;
    if (!err && key_kind(s->prefix, s->plen, &k, &ms, &seq) == 2) {
        if ((err = load(s, &k, &v)) != 0)
            return err;
    } else if (!err || err == GL_ENOTFOUND) {
        k = store_val(lo, lo_len);
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (err == GL_ENOTFOUND)
            return 0;
        if (err || (err = load(s, &k, &v)) != 0)
            return err;
    } else {
        return err;
    }
    while (s->at < s->n && pair_cmp(s->buf[2 * s->at], s->buf[2 * s->at + 1], lo_ms, lo_seq) < 0)
        s->at++;
    return emit(s);
}

int ix_next(ix_stream *s)
{
    if (!s->have)
        return 0;
    s->at++;
    return emit(s);
}

/* --- writing ---
 *
 * The writes keep pairs as they are stored, 16 bytes big-endian: they
 * compare with memcmp in (ms, seq) order, and a block is merged, cut and
 * written without decoding it. */

#define PAIR 16

/* block_of copies the block k (value v) of prefix's value, checked for
 * size and first pair (fsck checks the rest), to bkey (*blen) and pairs
 * (*n pairs). */
static int block_of(const MDB_val *k, const MDB_val *v, size_t plen, unsigned char *bkey,
                    size_t *blen, unsigned char *pairs, size_t *n)
{
    *n = 0;
    if (v->mv_size == 0 || v->mv_size % PAIR || v->mv_size > PAIR * POST_MAX ||
        k->mv_size > STORE_KEY_MAX ||
        memcmp(v->mv_data, (const unsigned char *)k->mv_data + plen, PAIR) != 0)
        return corrupt("block", k->mv_size);
    memcpy(bkey, k->mv_data, k->mv_size);
    *blen = k->mv_size;
    memcpy(pairs, v->mv_data, v->mv_size);
    *n = v->mv_size / PAIR;
    return 0;
}

/* block_before takes the key before the cursor's (the last key when rc,
 * the result of positioning it, is GL_ENOTFOUND): when it is a block of
 * prefix's value, block_of copies it; else *n = 0. */
static int block_before(MDB_cursor *c, int rc, const unsigned char *prefix, size_t plen,
                        unsigned char *bkey, size_t *blen, unsigned char *pairs, size_t *n)
{
    MDB_val k, v;
    uint64_t kms, kseq;
    *n = 0;
    if (rc && rc != GL_ENOTFOUND)
        return rc;
    rc = store_cursor_get(c, &k, &v, rc ? MDB_LAST : MDB_PREV);
    if (rc)
        return rc == GL_ENOTFOUND ? 0 : rc;
    if (key_kind(prefix, plen, &k, &kms, &kseq) != 2)
        return 0;
    return block_of(&k, &v, plen, bkey, blen, pairs, n);
}

/* find_block finds the block that may hold the entry of key e (dim value
 * 0 ms seq): one starting at that pair, or the block before it; block_of
 * copies it, *n = 0 when there is none. */
static int find_block(store_txn *t, const unsigned char *e, size_t elen, unsigned char *bkey,
                      size_t *blen, unsigned char *pairs, size_t *n)
{
    size_t plen = elen - 16;
    uint64_t kms, kseq;
    MDB_cursor *c;
    MDB_val k = store_val(e, elen), v;
    *n = 0;
    int err = store_txn_cursor(t, DB_EVENT_INDEX, &c);
    if (err)
        return err;
    err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (!err && key_kind(e, plen, &k, &kms, &kseq) == 2 &&
        memcmp((const unsigned char *)k.mv_data + plen, e + plen, PAIR) == 0)
        return block_of(&k, &v, plen, bkey, blen, pairs, n);
    return block_before(c, err, e, plen, bkey, blen, pairs, n);
}

/* put_block writes pairs[0..n) (n <= POST_MAX) as the block of prefix
 * starting at its first pair. */
static int put_block(store_txn *t, const unsigned char *prefix, size_t plen,
                     const unsigned char *pairs, size_t n)
{
    unsigned char key[STORE_KEY_MAX];
    memcpy(key, prefix, plen);
    memcpy(key + plen, pairs, PAIR);
    key[plen + PAIR] = POST_MARK;
    MDB_val k = store_val(key, plen + PAIR + 1), v = store_val(pairs, PAIR * n);
    return store_txn_put(t, DB_EVENT_INDEX, &k, &v, 0);
}

/* put_blocks writes pairs[0..n) as blocks of POST_MAX, the last one the
 * rest. */
static int put_blocks(store_txn *t, const unsigned char *prefix, size_t plen,
                      const unsigned char *pairs, size_t n)
{
    int err = 0;
    for (size_t at = 0; at < n && !err; at += POST_MAX)
        err = put_block(t, prefix, plen, pairs + PAIR * at, n - at < POST_MAX ? n - at : POST_MAX);
    return err;
}

/* post_insert puts pairs[0..m) (increasing) of one value into its blocks:
 * each run of them that falls between two keys of the value joins the
 * block before it, or becomes new blocks, so that a block's entries stay
 * below the value's next key. A pair already there is not put again. */
static int post_insert(store_txn *t, const unsigned char *prefix, size_t plen,
                       const unsigned char *pairs, size_t m)
{
    unsigned char e[STORE_KEY_MAX], bkey[STORE_KEY_MAX], next[PAIR];
    unsigned char old[PAIR * POST_MAX], *merged = NULL;
    size_t merged_cap = 0, i = 0;
    int err = 0;
    memcpy(e, prefix, plen);
    if (plen + PAIR + 1 > t->s->max_key) {
        /* No room for a block key: entries of their own, as before. */
        for (; i < m && !err; i++) {
            memcpy(e + plen, pairs + PAIR * i, PAIR);
            MDB_val k = store_val(e, plen + PAIR), v = store_val("", 0);
            err = store_txn_put(t, DB_EVENT_INDEX, &k, &v, 0);
        }
        return err;
    }
    while (i < m && !err) {
        memcpy(e + plen, pairs + PAIR * i, PAIR);
        /* The value's next key from here bounds the run. */
        MDB_cursor *c;
        MDB_val k = store_val(e, plen + PAIR), v;
        uint64_t nms, nseq;
        int have_next = 0;
        if ((err = store_txn_cursor(t, DB_EVENT_INDEX, &c)) != 0)
            break;
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        int at_end = err == GL_ENOTFOUND;
        if (!err) {
            int kind = key_kind(prefix, plen, &k, &nms, &nseq);
            if (kind < 0) {
                err = corrupt("key", k.mv_size);
                break;
            }
            have_next = kind > 0;
            if (have_next)
                memcpy(next, (const unsigned char *)k.mv_data + plen, PAIR);
        } else if (!at_end) {
            break;
        }
        err = 0;
        if (have_next && memcmp(next, pairs + PAIR * i, PAIR) == 0) {
            i++; /* there already */
            continue;
        }
        size_t j = i + 1;
        while (j < m && (!have_next || memcmp(pairs + PAIR * j, next, PAIR) < 0))
            j++;
        /* The block before, which the run may join. */
        size_t blen = 0, pn = 0;
        if ((err = block_before(c, at_end ? GL_ENOTFOUND : 0, prefix, plen, bkey, &blen, old,
                                &pn)) != 0)
            break;
        if (pn && (pn < POST_MAX || memcmp(pairs + PAIR * i, old + PAIR * (pn - 1), PAIR) <= 0)) {
            /* Into the block before: merged, then cut in POST_MAX. */
            size_t need = pn + (j - i);
            if (need > merged_cap) {
                unsigned char *grown = realloc(merged, PAIR * need);
                if (!grown) {
                    err = GL_EINTERNAL;
                    break;
                }
                merged = grown;
                merged_cap = need;
            }
            size_t a = 0, b = i, out = 0;
            if (memcmp(pairs + PAIR * i, old + PAIR * (pn - 1), PAIR) > 0) {
                /* All after it (the usual case): appended. */
                memcpy(merged, old, PAIR * pn);
                memcpy(merged + PAIR * pn, pairs + PAIR * i, PAIR * (j - i));
                out = need;
            } else {
                while (a < pn || b < j) {
                    const unsigned char *x = old + PAIR * a, *y = pairs + PAIR * b;
                    int cmp = a == pn ? 1 : b == j ? -1 : memcmp(x, y, PAIR);
                    memcpy(merged + PAIR * out++, cmp <= 0 ? x : y, PAIR);
                    a += cmp <= 0;
                    b += cmp >= 0;
                }
            }
            err = put_blocks(t, prefix, plen, merged, out);
        } else {
            err = put_blocks(t, prefix, plen, pairs + PAIR * i, j - i);
        }
        i = j;
    }
    free(merged);
    return err;
}

int ix_post_put(store_txn *t, const unsigned char *e, size_t elen)
{
    if (elen < 18)
        return GL_EBADFIELD;
    return post_insert(t, e, elen - PAIR, e + elen - PAIR, 1);
}

int ix_post_remove(store_txn *t, const unsigned char *e, size_t elen)
{
    unsigned char bkey[STORE_KEY_MAX], pairs[PAIR * POST_MAX];
    size_t blen = 0, n = 0, plen = elen - PAIR;
    if (elen < 18 || plen + PAIR + 1 > t->s->max_key)
        return 0; /* no block can hold it */
    int err = find_block(t, e, elen, bkey, &blen, pairs, &n);
    size_t at = 0;
    while (at < n && memcmp(pairs + PAIR * at, e + plen, PAIR) < 0)
        at++;
    if (err || at == n || memcmp(pairs + PAIR * at, e + plen, PAIR) != 0)
        return err;
    memmove(pairs + PAIR * at, pairs + PAIR * (at + 1), PAIR * (n - at - 1));
    n--;
    MDB_val k = store_val(bkey, blen);
    if (at == 0 && (err = store_txn_del(t, DB_EVENT_INDEX, &k)) != 0)
        return err; /* its first entry: the block's key changes */
    return n ? put_block(t, e, plen, pairs, n) : 0;
}

/* --- settling index_recent into blocks --- */

typedef struct post_item {
    size_t next;             /* the next item of its value, (size_t)-1: none */
    unsigned char pair[PAIR]; /* ms seq, as in the index_recent key */
} post_item;

typedef struct post_group {
    const unsigned char *prefix;
    size_t plen, first, last; /* its items, linked through next */
} post_group;

static int group_order(const void *a, const void *b)
{
    const post_group *x = a, *y = b;
    size_t n = x->plen < y->plen ? x->plen : y->plen;
    int c = memcmp(x->prefix, y->prefix, n);
    return c ? c : (x->plen > y->plen) - (x->plen < y->plen);
}

int ix_settle_in(store_txn *t, size_t max, size_t *moved)
{
    store *s = t->s;
    *moved = 0;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    gl_arena arena = {0};
    size_t cap = 1024, gcap = 64, n = 0, ngroups = 0;
    post_item *items = malloc(cap * sizeof *items);
    post_group *groups = malloc(gcap * sizeof *groups);
    unsigned char *pairs = NULL;
    hmap *seen = hmap_new();
    int err = items && groups && seen ? 0 : GL_EINTERNAL;
    int rc = err ? 0 : mdb_cursor_open(t->txn, s->dbi[DB_INDEX_RECENT], &c);
    if (rc) {
        c = NULL;
        err = store_error(rc, "index_recent");
    }
    /* The oldest entries (ms seq dim value): each value's come in (ms,
     * seq) order, so grouping them by value as they come keeps that. */
    for (rc = err ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && n < max;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        size_t vlen = k.mv_size > 17 ? k.mv_size - 17 : 0;
        if (!vlen || p[16] == 0 || p[16] >= IX_DIM_COUNT || memchr(p + 17, 0, vlen) ||
            vlen + 18 > s->max_key) {
            LOG_E("store: index_recent key of %zu bytes", k.mv_size);
            err = GL_ESTORAGE;
            break;
        }
        if (n == cap) {
            post_item *grown = realloc(items, 2 * cap * sizeof *items);
            if (!grown) {
                err = GL_EINTERNAL;
                break;
            }
            items = grown;
            cap *= 2;
        }
        unsigned char prefix[STORE_KEY_MAX];
        prefix[0] = p[16];
        memcpy(prefix + 1, p + 17, vlen);
        prefix[1 + vlen] = 0;
        uintptr_t g = (uintptr_t)hmap_get(seen, prefix, vlen + 2);
        if (!g) {
            if (ngroups == gcap) {
                post_group *grown = realloc(groups, 2 * gcap * sizeof *groups);
                if (!grown) {
                    err = GL_EINTERNAL;
                    break;
                }
                groups = grown;
                gcap *= 2;
            }
            unsigned char *copy = arena_alloc(&arena, vlen + 2);
            if (!copy || hmap_put(seen, prefix, vlen + 2, (void *)(uintptr_t)(ngroups + 1)) != 0) {
                err = GL_EINTERNAL;
                break;
            }
            memcpy(copy, prefix, vlen + 2);
            groups[ngroups] = (post_group){copy, vlen + 2, n, n};
            g = ++ngroups;
        } else {
            items[groups[g - 1].last].next = n;
            groups[g - 1].last = n;
        }
        items[n].next = (size_t)-1;
        memcpy(items[n].pair, p, PAIR);
        n++;
    }
    if (!err && rc && rc != MDB_NOTFOUND)
        err = store_error(rc, "index_recent");
    if (err || n == 0)
        goto done;
    /* The values in key order: each one's blocks found once. */
    qsort(groups, ngroups, sizeof *groups, group_order);
    pairs = malloc(PAIR * n);
    if (!pairs) {
        err = GL_EINTERNAL;
        goto done;
    }
    for (size_t g = 0; g < ngroups && !err; g++) {
        size_t m = 0;
        for (size_t i = groups[g].first; i != (size_t)-1; i = items[i].next)
            memcpy(pairs + PAIR * m++, items[i].pair, PAIR);
        err = post_insert(t, groups[g].prefix, groups[g].plen, pairs, m);
    }
    if (err)
        goto done;
    /* The entries moved are still the first n; when they are all of them,
     * the database is emptied at once. */
    if (n == store_db_entries(t, DB_INDEX_RECENT)) {
        if ((rc = mdb_drop(t->txn, s->dbi[DB_INDEX_RECENT], 0)) != 0)
            err = store_txn_fail(t, rc, "index_recent");
    } else {
        for (size_t i = 0; i < n && !err; i++) {
            rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
            if (!rc)
                rc = mdb_cursor_del(c, 0);
            if (rc)
                err = store_txn_fail(t, rc, "index_recent");
        }
    }
    if (!err)
        *moved = n;
done:
    if (c)
        mdb_cursor_close(c);
    hmap_free(&seen);
    arena_free(&arena);
    free(items);
    free(groups);
    free(pairs);
    return err;
}

int store_index_settle(store *s, size_t min, size_t max, size_t *moved)
{
    store_txn *t = NULL;
    size_t n = 0;
    if (moved)
        *moved = 0;
    if (max == 0)
        return 0;
    int err = store_begin(s, 1, &t);
    if (err)
        return err;
    if (store_db_entries(t, DB_INDEX_RECENT) < min) {
        store_abort(&t); /* settled meanwhile by another worker */
        return 0;
    }
    err = ix_settle_in(t, max, &n);
    if (!err && n)
        err = store_commit(&t);
    else
        store_abort(&t);
    if (!err && moved)
        *moved = n;
    return err;
}

/* --- fsck --- */

int ix_has(store_txn *t, const unsigned char *e, size_t elen)
{
    MDB_cursor *c;
    MDB_val k = store_val(e, elen), v;
    if (elen < 18 || store_txn_cursor(t, DB_EVENT_INDEX, &c) != 0)
        return 0;
    if (store_cursor_get(c, &k, &v, MDB_SET_KEY) == 0)
        return 1;
    unsigned char bkey[STORE_KEY_MAX], pairs[PAIR * POST_MAX];
    size_t blen, n = 0;
    if (find_block(t, e, elen, bkey, &blen, pairs, &n) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(pairs + PAIR * i, e + elen - PAIR, PAIR) == 0)
            return 1;
    return 0;
}

int ix_check(store_txn *t, store_fsck_report *r, uint64_t *entries)
{
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char prev[STORE_KEY_MAX];
    size_t prev_plen = 0;
    uint64_t last_ms = 0, last_seq = 0, pairs[2 * POST_MAX];
    *entries = 0;
    int rc = mdb_cursor_open(t->txn, t->s->dbi[DB_EVENT_INDEX], &c);
    if (rc)
        return store_error(rc, "fsck event_index");
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        const unsigned char *end = k.mv_size > 1 ? memchr(p + 1, 0, k.mv_size - 1) : NULL;
        size_t plen = end ? (size_t)(end - p) + 1 : 0, rest = k.mv_size - plen;
        if (!end || p[0] == 0 || p[0] >= IX_DIM_COUNT ||
            (rest != 16 && (rest != 17 || p[k.mv_size - 1] != POST_MARK))) {
            store_fsck_problem(r, "event_index: a malformed key of %zu bytes", k.mv_size);
            prev_plen = 0;
            continue;
        }
        uint64_t ms = store_get_be64(p + plen), seq = store_get_be64(p + plen + 8);
        int vlen = (int)plen - 2;
        const char *dim = store_index_dim_name(p[0]), *value = (const char *)p + 1;
        if (prev_plen == plen && memcmp(prev, p, plen) == 0 &&
            pair_cmp(ms, seq, last_ms, last_seq) <= 0)
            store_fsck_problem(r, "event_index: a block of %s '%.*s' reaches past the next key",
                               dim, vlen, value);
        memcpy(prev, p, plen);
        prev_plen = plen;
        last_ms = ms;
        last_seq = seq;
        if (rest == 16) {
            (*entries)++;
            continue;
        }
        size_t n = decode_block(&v, pairs);
        if (!n || pairs[0] != ms || pairs[1] != seq) {
            store_fsck_problem(r, "event_index: a malformed block of %s '%.*s' (%zu bytes)", dim,
                               vlen, value, v.mv_size);
            *entries += v.mv_size / 16;
            continue;
        }
        if (!store_index_staged(p[0]))
            store_fsck_problem(r, "event_index: a block of %s, which has no blocks", dim);
        *entries += n;
        last_ms = pairs[2 * n - 2];
        last_seq = pairs[2 * n - 1];
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : store_error(rc, "fsck event_index");
}
