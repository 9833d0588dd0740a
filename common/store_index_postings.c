/* store_index_postings.c — the posting blocks of event_index's entries of
 * the staged dimensions (all but the alarm; store_index.h): a settle moves
 * each (dim, value)'s staged entries into blocks of up to POST_MAX (ms,
 * seq) pairs, so it puts one key per value and block where it put one per
 * entry; reads expand them, next to the per-entry keys of older stores and
 * of the alarm dimension. The blocks themselves are store_blocks.c's,
 * over 16-byte pairs. */
#include "store_postings.h"
#include "store_blocks.h"
#include "store_index.h"
#include "gl.h"

#define PAIR 16 /* ms seq, big-endian: memcmp orders pairs */

/* split takes the index_recent key k (ms seq dim value) apart: the name
 * dim value (its prefix dim value 0), the entry ms seq. */
static size_t split(const store *s, const MDB_val *k, const unsigned char **name,
                    const unsigned char **entry)
{
    const unsigned char *p = k->mv_data;
    size_t vlen = k->mv_size >= 17 ? k->mv_size - 17 : 0; /* 0: the time's empty value */
    if (k->mv_size < 17 || p[16] == 0 || p[16] >= IX_DIM_COUNT || memchr(p + 17, 0, vlen) ||
        vlen + 18 > s->max_key)
        return 0;
    *name = p + 16;
    *entry = p;
    return vlen + 1;
}

_Static_assert(PAIR <= 16 && PAIR * POST_MAX <= BLK_BYTES, "a block fits the buffers");
static const blk_desc blocks = {DB_EVENT_INDEX, DB_INDEX_RECENT, PAIR, POST_MAX, split};
/* The same blocks, settled from the team entries' own staging database. */
static const blk_desc team_blocks = {DB_EVENT_INDEX, DB_TEAM_RECENT, PAIR, POST_MAX, split};

static int pair_cmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq)
{
    if (ams != bms)
        return ams < bms ? -1 : 1;
    return aseq < bseq ? -1 : aseq > bseq;
}

/* --- reading --- */

/* load takes the key k (value v) the cursor is on into the stream: its
 * pairs, or the end of the value. */
static int load(ix_stream *s, const MDB_val *k, const MDB_val *v)
{
    s->at = 0;
    return blk_load(&blocks, s->prefix, s->plen, k, v, s->key, sizeof s->key, &s->key_len,
                    s->buf, &s->n);
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
        MDB_val k, v;
        int err = blk_after(&blocks, s->t, s->key, s->key_len, &k, &v);
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
    MDB_val k, v;
    int err = blk_seek(&blocks, t, lo, s->plen, &k, &v);
    if (err == GL_ENOTFOUND)
        return 0;
    if (err || (err = load(s, &k, &v)) != 0)
        return err;
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

/* --- writing --- */

int ix_post_put(store_txn *t, const unsigned char *e, size_t elen)
{
    if (elen < 18)
        return GL_EBADFIELD;
    return blk_insert(&blocks, t, e, elen - PAIR, e + elen - PAIR, 1);
}

int ix_post_remove(store_txn *t, const unsigned char *e, size_t elen)
{
    size_t plen = elen - PAIR;
    if (elen < 18 || plen + PAIR + 1 > t->s->max_key)
        return 0; /* no block can hold it */
    return blk_remove(&blocks, t, e, plen);
}

/* --- settling index_recent into blocks --- */

int ix_settle_in(store_txn *t, size_t max, size_t *moved)
{
    return blk_settle_in(&blocks, t, max, moved);
}

static void ix_warm_in(store_txn *t, size_t max)
{
    (void)blk_warm(&blocks, t, max);
}

int store_index_settle(store *s, size_t min, size_t max, size_t *moved)
{
    return blk_settle(s, store_index_recent_count, min, max, moved, ix_settle_in, ix_warm_in);
}

int ix_team_settle_in(store_txn *t, size_t max, size_t *moved)
{
    return blk_settle_in(&team_blocks, t, max, moved);
}

static void ix_team_warm_in(store_txn *t, size_t max)
{
    (void)blk_warm(&team_blocks, t, max);
}

int store_index_settle_teams(store *s, size_t min, size_t max, size_t *moved)
{
    return blk_settle(s, store_index_team_count, min, max, moved, ix_team_settle_in,
                      ix_team_warm_in);
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
    unsigned char bkey[STORE_KEY_MAX], pairs[BLK_BYTES];
    size_t blen, n = 0;
    int own;
    if (blk_find(&blocks, t, e, elen - PAIR, &c, bkey, &blen, pairs, &n, &own) != 0)
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
            (rest != 16 && (rest != 17 || p[k.mv_size - 1] != BLK_MARK))) {
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
        size_t n = blk_decode(&blocks, &v, pairs);
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
