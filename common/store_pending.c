/* store_pending.c — the indexes of the pending index's shape, a set of seqs
 * per name in blocks (store_pending.h): "pending" (a team's PENDING
 * dispatches) and "board" (a community's claimable requests,
 * store_board.c), each with its staging database. Settling new entries
 * into each name's blocks in bulk, one put per name and block; putting one
 * entry into its block and taking one out; reading a name's entries in seq
 * order whatever form they are in, alone or merged with the staging
 * database; fsck's look-ups. The blocks are store_blocks.c's, as
 * event_index's posting blocks (store_index_postings.c), over 8-byte seqs
 * instead of 16-byte (ms, seq) pairs. */
#include "store_pending.h"
#include "store_blocks.h"
#include "gl.h"
#include "store_impl.h"

#define SEQ 8 /* a seq as stored: big-endian, so memcmp orders seqs */

/* name_prefix writes name 0 (name of n bytes) into p; returns its length. */
static size_t name_prefix(unsigned char *p, const char *name, size_t n)
{
    memcpy(p, name, n);
    p[n] = 0;
    return n + 1;
}

/* split takes a staging key k (seq name: pending_recent's, board_recent's)
 * apart: the name (its prefix name 0), the entry seq. */
static size_t split(const store *s, const MDB_val *k, const unsigned char **name,
                    const unsigned char **entry)
{
    const unsigned char *p = k->mv_data;
    size_t tlen = k->mv_size > SEQ ? k->mv_size - SEQ : 0;
    if (!tlen || memchr(p + SEQ, 0, tlen) || tlen + 1 + SEQ > s->max_key)
        return 0;
    *name = p + SEQ;
    *entry = p;
    return tlen;
}

_Static_assert(SEQ <= 16 && SEQ * PEND_MAX <= BLK_BYTES, "a block fits the buffers");
const blk_desc pend_index = {DB_PENDING, DB_PENDING_RECENT, SEQ, PEND_MAX, split};
const blk_desc board_index = {DB_BOARD, DB_BOARD_RECENT, SEQ, PEND_MAX, split};

uint64_t store_pending_recent_count(store_txn *t)
{
    return store_db_entries(t, DB_PENDING_RECENT);
}

uint64_t store_board_recent_count(store_txn *t)
{
    return store_db_entries(t, DB_BOARD_RECENT);
}

uint64_t store_pending_staged(store_txn *t)
{
    uint64_t pending = store_pending_recent_count(t), board = store_board_recent_count(t);
    return pending > board ? pending : board;
}

int pset_block_decode(const blk_desc *d, const MDB_val *k, const MDB_val *v, size_t plen,
                      uint64_t *seqs)
{
    size_t n = blk_decode(d, v, seqs);
    if (!n || k->mv_size != plen + SEQ + 1 ||
        memcmp(v->mv_data, (const unsigned char *)k->mv_data + plen, SEQ) != 0)
        return 0;
    return (int)n;
}

int pset_put(const blk_desc *d, store_txn *t, const char *name, size_t n, uint64_t seq)
{
    unsigned char prefix[STORE_KEY_MAX], s[SEQ];
    if (n + 1 + SEQ > t->s->max_key)
        return GL_EBADFIELD;
    size_t plen = name_prefix(prefix, name, n);
    store_put_be64(s, seq);
    return blk_insert(d, t, prefix, plen, s, 1);
}

int pset_remove(const blk_desc *d, store_txn *t, const char *name, size_t n, uint64_t seq)
{
    unsigned char e[STORE_KEY_MAX];
    if (n + 1 + SEQ > t->s->max_key)
        return GL_EBADFIELD;
    size_t plen = name_prefix(e, name, n);
    store_put_be64(e + plen, seq);
    return blk_remove(d, t, e, plen);
}

int pend_put(store_txn *t, const char *team, size_t n, uint64_t seq)
{
    return pset_put(&pend_index, t, team, n, seq);
}

int pend_remove(store_txn *t, const char *team, size_t n, uint64_t seq)
{
    return pset_remove(&pend_index, t, team, n, seq);
}

/* in_block says whether the block value v (read without logging: fsck
 * reports a malformed one once, in its own pass) holds the seq e, by
 * halving: its seqs are increasing, and a new event's seq is usually past
 * the last. */
static int in_block(const MDB_val *v, const unsigned char *e)
{
    const unsigned char *p = v->mv_data;
    size_t lo = 0, hi = v->mv_size % SEQ ? 0 : v->mv_size / SEQ;
    if (hi > PEND_MAX || (hi && memcmp(p + SEQ * (hi - 1), e, SEQ) < 0))
        return 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(p + SEQ * mid, e, SEQ);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int pset_has(const blk_desc *d, store_txn *t, const unsigned char *name, size_t n, uint64_t seq)
{
    unsigned char e[STORE_KEY_MAX];
    if (n + 1 + SEQ > STORE_KEY_MAX)
        return 0;
    size_t plen = name_prefix(e, (const char *)name, n);
    store_put_be64(e + plen, seq);
    MDB_cursor *c;
    MDB_val k = store_val(e, plen + SEQ), v;
    const unsigned char *at;
    if (store_txn_cursor(t, d->db, &c) != 0)
        return 0;
    int err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (!err && blk_key_kind(d, e, plen, &k, &at) > 0 && memcmp(at, e + plen, SEQ) == 0)
        return 1; /* its own key, or the first of a block */
    if (err && err != GL_ENOTFOUND)
        return 0;
    /* The block before. */
    if (store_cursor_get(c, &k, &v, err ? MDB_LAST : MDB_PREV) != 0 ||
        blk_key_kind(d, e, plen, &k, &at) != 2)
        return 0;
    return in_block(&v, e + plen);
}

/* --- reading a name's entries in seq order --- */

/* load takes the key k (value v) into r: its seqs, or the end of the
 * name's keys (key_len 0). */
static int load(pset_reader *r, const MDB_val *k, const MDB_val *v)
{
    r->at = 0;
    return blk_load(r->d, r->prefix, r->plen, k, v, r->key, sizeof r->key, &r->key_len, r->buf,
                    &r->n);
}

void pset_reader_init(pset_reader *r, const blk_desc *d, store_txn *t, const char *name,
                      size_t n)
{
    memset(r, 0, sizeof *r);
    r->d = d;
    r->t = t;
    r->plen = name_prefix(r->prefix, name, n);
}

int pset_reader_next(pset_reader *r, uint64_t from, int *have, uint64_t *seq)
{
    store_txn *t = r->t;
    MDB_val k, v;
    int err;
    *have = 0;
    if (!r->valid || r->changes != t->changes) {
        /* Found afresh: the block before from may hold seqs from it on. */
        unsigned char e[STORE_KEY_MAX];
        memcpy(e, r->prefix, r->plen);
        store_put_be64(e + r->plen, from);
        r->n = r->at = r->key_len = 0;
        r->valid = 1;
        err = blk_seek(r->d, t, e, r->plen, &k, &v);
        if (err == GL_ENOTFOUND)
            err = 0; /* nothing from there on */
        else if (err || (err = load(r, &k, &v)) != 0)
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
            break; /* the name's keys ended */
        /* The key after the one loaded. */
        err = blk_after(r->d, t, r->key, r->key_len, &k, &v);
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

/* --- merged with the staging database --- */

int pset_merge_open(pset_merge *m, const blk_desc *d, store_txn *t, const char *name, size_t n)
{
    memset(m, 0, sizeof *m);
    pset_reader_init(&m->settled, d, t, name, n);
    int rc = mdb_cursor_open(t->txn, t->s->dbi[d->staging], &m->recent);
    if (rc) {
        m->recent = NULL;
        return store_error(rc, store_db_names[d->staging]);
    }
    return 0;
}

void pset_merge_close(pset_merge *m)
{
    if (m->recent)
        mdb_cursor_close(m->recent);
    m->recent = NULL;
}

/* next_recent finds in the staging database (seq name) the first entry of
 * m's name with seq >= from: m->have_b and m->b say which. */
static int next_recent(pset_merge *m, uint64_t from)
{
    const unsigned char *name = m->settled.prefix;
    size_t n = m->settled.plen - 1;
    unsigned char lo[SEQ];
    store_put_be64(lo, from);
    MDB_val k = store_val(lo, SEQ), v;
    m->have_b = 0;
    int err = store_cursor_get(m->recent, &k, &v, MDB_SET_RANGE);
    for (; !err; err = store_cursor_get(m->recent, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= SEQ)
            return store_error(MDB_CORRUPTED, store_db_names[m->settled.d->staging]);
        if (k.mv_size - SEQ == n && memcmp((const unsigned char *)k.mv_data + SEQ, name, n) == 0) {
            m->have_b = 1;
            m->b = store_get_be64(k.mv_data);
            return 0;
        }
    }
    return err == GL_ENOTFOUND ? 0 : err;
}

int pset_merge_next(pset_merge *m, uint64_t from, int *have, uint64_t *seq)
{
    store_txn *t = m->settled.t;
    int err = 0;
    *have = 0;
    /* A side's next entry holds while nothing was written and it is not
     * passed; found again from "from" otherwise. */
    if (t->changes != m->changes)
        m->valid_a = m->valid_b = 0;
    if (m->valid_a && m->have_a && m->a < from)
        m->valid_a = 0;
    if (m->valid_b && m->have_b && m->b < from)
        m->valid_b = 0;
    if (!m->valid_a && (err = pset_reader_next(&m->settled, from, &m->have_a, &m->a)) != 0)
        return err;
    m->valid_a = 1;
    if (!m->valid_b && (err = next_recent(m, from)) != 0)
        return err;
    m->valid_b = 1;
    m->changes = t->changes;
    if (m->have_a || m->have_b) {
        *have = 1;
        *seq = m->have_a && (!m->have_b || m->a <= m->b) ? m->a : m->b;
    }
    return 0;
}

/* --- settling the staging databases into blocks --- */

/* settle_in moves up to max of the oldest pending_recent entries into the
 * teams' blocks in t, and as many of board_recent's into the communities'
 * blocks, deleting them there; *moved says how many in all. */
static int settle_in(store_txn *t, size_t max, size_t *moved)
{
    size_t pending = 0, board = 0;
    int err = blk_settle_in(&pend_index, t, max, &pending);
    if (!err)
        err = blk_settle_in(&board_index, t, max, &board);
    *moved = pending + board;
    return err;
}

/* warm_in reads what settle_in will write (blk_warm). */
static void warm_in(store_txn *t, size_t max)
{
    (void)blk_warm(&pend_index, t, max);
    (void)blk_warm(&board_index, t, max);
}

int store_pending_settle(store *s, size_t min, size_t max, size_t *moved)
{
    return blk_settle(s, store_pending_staged, min, max, moved, settle_in, warm_in);
}
