/* store_pending.c — the pending index's blocks (store_pending.h): settling
 * new entries from pending_recent into each team's blocks in bulk, one put
 * per team and block; putting one entry into its block and taking one out;
 * reading a team's entries in seq order whatever form they are in; fsck's
 * checks. The same scheme as event_index's posting blocks
 * (store_index_postings.c), over 8-byte seqs instead of 16-byte (ms, seq)
 * pairs. */
#include "store_pending.h"
#include "arena.h"
#include "gl.h"
#include "hmap.h"
#include "log.h"
#include "store_impl.h"

#include <stdlib.h>

#define SEQ 8 /* a seq as stored: big-endian, so memcmp orders seqs */

uint64_t store_pending_recent_count(store_txn *t)
{
    return store_db_entries(t, DB_PENDING_RECENT);
}

static int corrupt(const char *what, size_t len)
{
    LOG_E("store: malformed pending %s (key of %zu bytes)", what, len);
    return GL_ESTORAGE;
}

/* What k is within the team of prefix (team 0, plen bytes): 0 not of it, 1
 * a per-entry key, 2 a block key, -1 malformed; its (first) seq bytes at
 * *at. */
static int key_kind(const unsigned char *prefix, size_t plen, const MDB_val *k,
                    const unsigned char **at)
{
    const unsigned char *p = k->mv_data;
    if (k->mv_size < plen || memcmp(p, prefix, plen) != 0)
        return 0;
    size_t rest = k->mv_size - plen;
    if (rest != SEQ && (rest != SEQ + 1 || p[k->mv_size - 1] != PEND_MARK))
        return -1;
    *at = p + plen;
    return rest == SEQ ? 1 : 2;
}

int pend_block_decode(const MDB_val *k, const MDB_val *v, size_t plen, uint64_t *seqs)
{
    const unsigned char *p = v->mv_data;
    if (v->mv_size == 0 || v->mv_size % SEQ || v->mv_size / SEQ > PEND_MAX ||
        k->mv_size != plen + SEQ + 1 ||
        memcmp(p, (const unsigned char *)k->mv_data + plen, SEQ) != 0)
        return 0;
    size_t n = v->mv_size / SEQ;
    for (size_t i = 0; i < n; i++) {
        seqs[i] = store_get_be64(p + SEQ * i);
        if (i && seqs[i] <= seqs[i - 1])
            return 0;
    }
    return (int)n;
}

/* block_of copies the block k (value v) of a team of plen prefix bytes,
 * checked for size and first seq (fsck checks the rest), to bkey (*blen)
 * and seqs (*n). */
static int block_of(const MDB_val *k, const MDB_val *v, size_t plen, unsigned char *bkey,
                    size_t *blen, unsigned char *seqs, size_t *n)
{
    *n = 0;
    if (v->mv_size == 0 || v->mv_size % SEQ || v->mv_size > SEQ * PEND_MAX ||
        k->mv_size > STORE_KEY_MAX ||
        memcmp(v->mv_data, (const unsigned char *)k->mv_data + plen, SEQ) != 0)
        return corrupt("block", k->mv_size);
    memcpy(bkey, k->mv_data, k->mv_size);
    *blen = k->mv_size;
    memcpy(seqs, v->mv_data, v->mv_size);
    *n = v->mv_size / SEQ;
    return 0;
}

/* block_before takes the key before the cursor's (the last key when rc,
 * the result of positioning it, is GL_ENOTFOUND): when it is a block of
 * prefix's team, block_of copies it and the cursor stays on it; else
 * *n = 0. */
static int block_before(MDB_cursor *c, int rc, const unsigned char *prefix, size_t plen,
                        unsigned char *bkey, size_t *blen, unsigned char *seqs, size_t *n)
{
    MDB_val k, v;
    const unsigned char *at;
    *n = 0;
    if (rc && rc != GL_ENOTFOUND)
        return rc;
    rc = store_cursor_get(c, &k, &v, rc ? MDB_LAST : MDB_PREV);
    if (rc)
        return rc == GL_ENOTFOUND ? 0 : rc;
    if (key_kind(prefix, plen, &k, &at) != 2)
        return 0;
    return block_of(&k, &v, plen, bkey, blen, seqs, n);
}

/* put_block writes seqs[0..n) (0 < n <= PEND_MAX) as the block of prefix
 * starting at its first seq, through c. */
static int put_block(store_txn *t, MDB_cursor *c, const unsigned char *prefix, size_t plen,
                     const unsigned char *seqs, size_t n)
{
    unsigned char key[STORE_KEY_MAX];
    memcpy(key, prefix, plen);
    memcpy(key + plen, seqs, SEQ);
    key[plen + SEQ] = PEND_MARK;
    MDB_val k = store_val(key, plen + SEQ + 1), v = store_val(seqs, SEQ * n);
    return store_txn_cursor_put(t, DB_PENDING, c, &k, &v, 0);
}

/* put_blocks writes seqs[0..n) as blocks of PEND_MAX, the last one the
 * rest. */
static int put_blocks(store_txn *t, MDB_cursor *c, const unsigned char *prefix, size_t plen,
                      const unsigned char *seqs, size_t n)
{
    int err = 0;
    for (size_t at = 0; at < n && !err; at += PEND_MAX)
        err = put_block(t, c, prefix, plen, seqs + SEQ * at,
                        n - at < PEND_MAX ? n - at : PEND_MAX);
    return err;
}

/* pend_insert puts seqs[0..m) (increasing, 8 bytes each) of the team of
 * prefix (team 0) into its blocks: each run of them that falls between two
 * keys of the team joins the block before it (merged and cut into blocks of
 * PEND_MAX) or becomes new blocks, so a block's seqs stay below the team's
 * next key. A seq already there is not put again. */
static int pend_insert(store_txn *t, const unsigned char *prefix, size_t plen,
                       const unsigned char *seqs, size_t m)
{
    unsigned char e[STORE_KEY_MAX], bkey[STORE_KEY_MAX], next[SEQ];
    unsigned char old[SEQ * PEND_MAX], *merged = NULL;
    size_t merged_cap = 0, i = 0;
    MDB_cursor *c;
    int err = store_txn_cursor(t, DB_PENDING, &c);
    memcpy(e, prefix, plen);
    if (!err && plen + SEQ + 1 > t->s->max_key) {
        /* No room for a block key: entries of their own, as before. */
        for (; i < m && !err; i++) {
            memcpy(e + plen, seqs + SEQ * i, SEQ);
            MDB_val k = store_val(e, plen + SEQ), v = store_val("", 0);
            err = store_txn_put(t, DB_PENDING, &k, &v, 0);
        }
        return err;
    }
    while (i < m && !err) {
        memcpy(e + plen, seqs + SEQ * i, SEQ);
        /* The team's next key from here bounds the run. */
        MDB_val k = store_val(e, plen + SEQ), v;
        const unsigned char *at;
        int have_next = 0;
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        int at_end = err == GL_ENOTFOUND;
        if (!err) {
            int kind = key_kind(prefix, plen, &k, &at);
            if (kind < 0) {
                err = corrupt("key", k.mv_size);
                break;
            }
            have_next = kind > 0;
            if (have_next)
                memcpy(next, at, SEQ);
        } else if (!at_end) {
            break;
        }
        err = 0;
        if (have_next && memcmp(next, seqs + SEQ * i, SEQ) == 0) {
            i++; /* there already */
            continue;
        }
        size_t j = i + 1;
        while (j < m && (!have_next || memcmp(seqs + SEQ * j, next, SEQ) < 0))
            j++;
        /* The block before, which the run may join. */
        size_t blen = 0, pn = 0;
        if ((err = block_before(c, at_end ? GL_ENOTFOUND : 0, prefix, plen, bkey, &blen, old,
                                &pn)) != 0)
            break;
        const unsigned char *first = seqs + SEQ * i;
        if (pn && (pn < PEND_MAX || memcmp(first, old + SEQ * (pn - 1), SEQ) <= 0)) {
            /* Into the block before: merged, then cut in PEND_MAX. */
            size_t need = pn + (j - i), out = 0;
            if (need > merged_cap) {
                unsigned char *grown = realloc(merged, SEQ * need);
                if (!grown) {
                    err = GL_EINTERNAL;
                    break;
                }
                merged = grown;
                merged_cap = need;
            }
            if (memcmp(first, old + SEQ * (pn - 1), SEQ) > 0) {
                /* All after it (the usual case): appended. */
                memcpy(merged, old, SEQ * pn);
                memcpy(merged + SEQ * pn, first, SEQ * (j - i));
                out = need;
            } else {
                size_t a = 0, b = i;
                while (a < pn || b < j) {
                    const unsigned char *x = old + SEQ * a, *y = seqs + SEQ * b;
                    int cmp = a == pn ? 1 : b == j ? -1 : memcmp(x, y, SEQ);
                    memcpy(merged + SEQ * out++, cmp <= 0 ? x : y, SEQ);
                    a += cmp <= 0;
                    b += cmp >= 0;
                }
            }
            err = put_blocks(t, c, prefix, plen, merged, out);
        } else {
            err = put_blocks(t, c, prefix, plen, first, j - i);
        }
        i = j;
    }
    free(merged);
    return err;
}

/* team_prefix writes team 0 (team of n bytes) into p; returns its length. */
static size_t team_prefix(unsigned char *p, const char *team, size_t n)
{
    memcpy(p, team, n);
    p[n] = 0;
    return n + 1;
}

int pend_put(store_txn *t, const char *team, size_t n, uint64_t seq)
{
    unsigned char prefix[STORE_KEY_MAX], s[SEQ];
    if (n + 1 + SEQ > t->s->max_key)
        return GL_EBADFIELD;
    size_t plen = team_prefix(prefix, team, n);
    store_put_be64(s, seq);
    return pend_insert(t, prefix, plen, s, 1);
}

int pend_remove(store_txn *t, const char *team, size_t n, uint64_t seq)
{
    unsigned char e[STORE_KEY_MAX], bkey[STORE_KEY_MAX], seqs[SEQ * PEND_MAX];
    if (n + 1 + SEQ > t->s->max_key)
        return GL_EBADFIELD;
    size_t plen = team_prefix(e, team, n), blen = 0, bn = 0;
    store_put_be64(e + plen, seq);
    MDB_cursor *c;
    MDB_val k = store_val(e, plen + SEQ), v;
    const unsigned char *at;
    int err = store_txn_cursor(t, DB_PENDING, &c);
    if (!err)
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
    int kind = err ? 0 : key_kind(e, plen, &k, &at);
    if (kind > 0 && memcmp(at, e + plen, SEQ) == 0) {
        if (kind == 1) { /* a key of its own (a store written before blocks) */
            k = store_val(e, plen + SEQ);
            return store_txn_del(t, DB_PENDING, &k);
        }
        err = block_of(&k, &v, plen, bkey, &blen, seqs, &bn); /* the block it starts */
    } else if (!err || err == GL_ENOTFOUND) {
        err = block_before(c, err, e, plen, bkey, &blen, seqs, &bn);
    }
    size_t i = 0;
    while (i < bn && memcmp(seqs + SEQ * i, e + plen, SEQ) < 0)
        i++;
    if (err || i == bn || memcmp(seqs + SEQ * i, e + plen, SEQ) != 0)
        return err; /* not in the index: nothing to take out */
    memmove(seqs + SEQ * i, seqs + SEQ * (i + 1), SEQ * (bn - i - 1));
    bn--;
    if (i == 0 || bn == 0) {
        /* Its first seq: the block's key changes (or it goes). */
        k = store_val(bkey, blen);
        if ((err = store_txn_del(t, DB_PENDING, &k)) != 0 || bn == 0)
            return err;
        if ((err = store_txn_cursor(t, DB_PENDING, &c)) != 0)
            return err;
    }
    return put_block(t, c, e, plen, seqs, bn);
}

int pend_has(store_txn *t, const unsigned char *team, size_t n, uint64_t seq)
{
    unsigned char e[STORE_KEY_MAX];
    uint64_t seqs[PEND_MAX];
    if (n + 1 + SEQ > STORE_KEY_MAX)
        return 0;
    size_t plen = team_prefix(e, (const char *)team, n);
    store_put_be64(e + plen, seq);
    MDB_cursor *c;
    MDB_val k = store_val(e, plen + SEQ), v;
    const unsigned char *at;
    if (store_txn_cursor(t, DB_PENDING, &c) != 0)
        return 0;
    int err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (!err && key_kind(e, plen, &k, &at) > 0 && memcmp(at, e + plen, SEQ) == 0)
        return 1; /* its own key, or the first of a block */
    if (err && err != GL_ENOTFOUND)
        return 0;
    /* The block before: read without logging (fsck reports a malformed one
     * once, in its own pass). */
    if (store_cursor_get(c, &k, &v, err ? MDB_LAST : MDB_PREV) != 0 ||
        key_kind(e, plen, &k, &at) != 2)
        return 0;
    int m = pend_block_decode(&k, &v, plen, seqs);
    for (int i = 0; i < m; i++)
        if (seqs[i] == seq)
            return 1;
    return 0;
}

/* --- reading a team's entries in seq order --- */

/* load takes the key k (value v) into r: its seqs, or the end of the
 * team's keys (key_len 0). */
static int load(pend_reader *r, const MDB_val *k, const MDB_val *v)
{
    const unsigned char *at;
    int kind = key_kind(r->prefix, r->plen, k, &at);
    r->n = r->at = 0;
    r->key_len = 0;
    if (kind == 0)
        return 0;
    if (kind < 0 || k->mv_size > sizeof r->key)
        return corrupt("key", k->mv_size);
    memcpy(r->key, k->mv_data, k->mv_size);
    r->key_len = k->mv_size;
    if (kind == 1) {
        r->buf[0] = store_get_be64(at);
        r->n = 1;
    } else {
        int n = pend_block_decode(k, v, r->plen, r->buf);
        if (n <= 0)
            return corrupt("block", k->mv_size);
        r->n = (size_t)n;
    }
    return 0;
}

void pend_reader_init(pend_reader *r, store_txn *t, const char *team, size_t n)
{
    memset(r, 0, sizeof *r);
    r->t = t;
    r->plen = team_prefix(r->prefix, team, n);
}

int pend_reader_next(pend_reader *r, uint64_t from, int *have, uint64_t *seq)
{
    store_txn *t = r->t;
    MDB_cursor *c;
    MDB_val k, v;
    int err;
    *have = 0;
    if (!r->valid || r->changes != t->changes) {
        /* Found afresh: the block before from may hold seqs from it on. */
        unsigned char e[STORE_KEY_MAX];
        const unsigned char *at;
        memcpy(e, r->prefix, r->plen);
        store_put_be64(e + r->plen, from);
        r->n = r->at = r->key_len = 0;
        r->valid = 1;
        if ((err = store_txn_cursor(t, DB_PENDING, &c)) != 0)
            return err;
        k = store_val(e, r->plen + SEQ);
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (!err || err == GL_ENOTFOUND)
            err = store_cursor_get(c, &k, &v, err ? MDB_LAST : MDB_PREV);
        if (!err && key_kind(r->prefix, r->plen, &k, &at) == 2) {
            if ((err = load(r, &k, &v)) != 0)
                return err;
        } else if (!err || err == GL_ENOTFOUND) {
            k = store_val(e, r->plen + SEQ);
            err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
            if (err == GL_ENOTFOUND)
                err = 0; /* nothing from there on */
            else if (err || (err = load(r, &k, &v)) != 0)
                return err;
        }
        if (err)
            return err;
    }
    for (;;) {
        while (r->at < r->n && r->buf[r->at] < from)
            r->at++;
        if (r->at < r->n) {
            *have = 1;
            *seq = r->buf[r->at];
            break;
        }
        if (!r->key_len)
            break; /* the team's keys ended */
        /* The key after the one loaded. */
        if ((err = store_txn_cursor(t, DB_PENDING, &c)) != 0)
            return err;
        k = store_val(r->key, r->key_len);
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (!err && k.mv_size == r->key_len && memcmp(k.mv_data, r->key, r->key_len) == 0)
            err = store_cursor_get(c, &k, &v, MDB_NEXT);
        if (err == GL_ENOTFOUND) {
            r->n = r->at = r->key_len = 0;
            break;
        }
        if (err || (err = load(r, &k, &v)) != 0)
            return err;
    }
    r->changes = t->changes; /* what was loaded holds until the next write */
    return 0;
}

/* --- settling pending_recent into blocks --- */

typedef struct pend_item {
    size_t next;           /* the next item of its team, (size_t)-1: none */
    unsigned char seq[SEQ];
} pend_item;

typedef struct pend_group {
    const unsigned char *prefix; /* team 0 */
    size_t plen, first, last;    /* its items, linked through next */
} pend_group;

static int group_order(const void *a, const void *b)
{
    const pend_group *x = a, *y = b;
    size_t n = x->plen < y->plen ? x->plen : y->plen;
    int c = memcmp(x->prefix, y->prefix, n);
    return c ? c : (x->plen > y->plen) - (x->plen < y->plen);
}

/* settle_in moves up to max of the oldest pending_recent entries into the
 * teams' blocks in t and deletes them from pending_recent; *moved says how
 * many. */
static int settle_in(store_txn *t, size_t max, size_t *moved)
{
    store *s = t->s;
    *moved = 0;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    gl_arena arena = {0};
    size_t cap = 1024, gcap = 64, n = 0, ngroups = 0;
    pend_item *items = malloc(cap * sizeof *items);
    pend_group *groups = malloc(gcap * sizeof *groups);
    unsigned char *seqs = NULL;
    hmap *seen = hmap_new();
    int err = items && groups && seen ? 0 : GL_EINTERNAL;
    int rc = err ? 0 : mdb_cursor_open(t->txn, s->dbi[DB_PENDING_RECENT], &c);
    if (rc) {
        c = NULL;
        err = store_error(rc, "pending_recent");
    }
    /* The oldest entries (seq team): each team's come in seq order, so
     * grouping them by team as they come keeps that. */
    for (rc = err ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && n < max;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        size_t tlen = k.mv_size > SEQ ? k.mv_size - SEQ : 0;
        if (!tlen || memchr(p + SEQ, 0, tlen) || tlen + 1 + SEQ > s->max_key) {
            LOG_E("store: pending_recent key of %zu bytes", k.mv_size);
            err = GL_ESTORAGE;
            break;
        }
        if (n == cap) {
            pend_item *grown = realloc(items, 2 * cap * sizeof *items);
            if (!grown) {
                err = GL_EINTERNAL;
                break;
            }
            items = grown;
            cap *= 2;
        }
        uintptr_t g = (uintptr_t)hmap_get(seen, p + SEQ, tlen);
        if (!g) {
            if (ngroups == gcap) {
                pend_group *grown = realloc(groups, 2 * gcap * sizeof *groups);
                if (!grown) {
                    err = GL_EINTERNAL;
                    break;
                }
                groups = grown;
                gcap *= 2;
            }
            unsigned char *copy = arena_alloc(&arena, tlen + 1);
            if (!copy || hmap_put(seen, p + SEQ, tlen, (void *)(uintptr_t)(ngroups + 1)) != 0) {
                err = GL_EINTERNAL;
                break;
            }
            team_prefix(copy, (const char *)p + SEQ, tlen);
            groups[ngroups] = (pend_group){copy, tlen + 1, n, n};
            g = ++ngroups;
        } else {
            items[groups[g - 1].last].next = n;
            groups[g - 1].last = n;
        }
        items[n].next = (size_t)-1;
        memcpy(items[n].seq, p, SEQ);
        n++;
    }
    if (!err && rc && rc != MDB_NOTFOUND)
        err = store_error(rc, "pending_recent");
    if (err || n == 0)
        goto done;
    /* The teams in key order: each one's blocks found once. */
    qsort(groups, ngroups, sizeof *groups, group_order);
    seqs = malloc(SEQ * n);
    if (!seqs) {
        err = GL_EINTERNAL;
        goto done;
    }
    for (size_t g = 0; g < ngroups && !err; g++) {
        size_t m = 0;
        for (size_t i = groups[g].first; i != (size_t)-1; i = items[i].next)
            memcpy(seqs + SEQ * m++, items[i].seq, SEQ);
        err = pend_insert(t, groups[g].prefix, groups[g].plen, seqs, m);
    }
    if (err)
        goto done;
    /* The entries moved are still the first n; when they are all of them,
     * the database is emptied at once. */
    if (n == store_db_entries(t, DB_PENDING_RECENT)) {
        if ((rc = mdb_drop(t->txn, s->dbi[DB_PENDING_RECENT], 0)) != 0)
            err = store_txn_fail(t, rc, "pending_recent");
    } else {
        for (size_t i = 0; i < n && !err; i++) {
            rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
            if (!rc)
                rc = mdb_cursor_del(c, 0);
            if (rc)
                err = store_txn_fail(t, rc, "pending_recent");
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
    free(seqs);
    return err;
}

int store_pending_settle(store *s, size_t min, size_t max, size_t *moved)
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
    if (store_db_entries(t, DB_PENDING_RECENT) < min) {
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
    return err;
}
