/* store_pending.c — the pending index's blocks (store_pending.h): settling
 * new entries from pending_recent into each team's blocks in bulk, one put
 * per team and block; putting one entry into its block and taking one out;
 * reading a team's entries in seq order whatever form they are in; fsck's
 * checks. The blocks are store_blocks.c's, as event_index's posting blocks
 * (store_index_postings.c), over 8-byte seqs instead of 16-byte (ms, seq)
 * pairs. */
#include "store_pending.h"
#include "store_blocks.h"
#include "gl.h"
#include "store_impl.h"

#define SEQ 8 /* a seq as stored: big-endian, so memcmp orders seqs */

/* team_prefix writes team 0 (team of n bytes) into p; returns its length. */
static size_t team_prefix(unsigned char *p, const char *team, size_t n)
{
    memcpy(p, team, n);
    p[n] = 0;
    return n + 1;
}

/* split takes the pending_recent key k (seq team) apart: the name team
 * (its prefix team 0), the entry seq. */
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
static const blk_desc blocks = {DB_PENDING, DB_PENDING_RECENT, SEQ, PEND_MAX, split};

uint64_t store_pending_recent_count(store_txn *t)
{
    return store_db_entries(t, DB_PENDING_RECENT);
}

int pend_block_decode(const MDB_val *k, const MDB_val *v, size_t plen, uint64_t *seqs)
{
    size_t n = blk_decode(&blocks, v, seqs);
    if (!n || k->mv_size != plen + SEQ + 1 ||
        memcmp(v->mv_data, (const unsigned char *)k->mv_data + plen, SEQ) != 0)
        return 0;
    return (int)n;
}

int pend_put(store_txn *t, const char *team, size_t n, uint64_t seq)
{
    unsigned char prefix[STORE_KEY_MAX], s[SEQ];
    if (n + 1 + SEQ > t->s->max_key)
        return GL_EBADFIELD;
    size_t plen = team_prefix(prefix, team, n);
    store_put_be64(s, seq);
    return blk_insert(&blocks, t, prefix, plen, s, 1);
}

int pend_remove(store_txn *t, const char *team, size_t n, uint64_t seq)
{
    unsigned char e[STORE_KEY_MAX];
    if (n + 1 + SEQ > t->s->max_key)
        return GL_EBADFIELD;
    size_t plen = team_prefix(e, team, n);
    store_put_be64(e + plen, seq);
    return blk_remove(&blocks, t, e, plen);
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
    if (!err && blk_key_kind(&blocks, e, plen, &k, &at) > 0 && memcmp(at, e + plen, SEQ) == 0)
        return 1; /* its own key, or the first of a block */
    if (err && err != GL_ENOTFOUND)
        return 0;
    /* The block before: read without logging (fsck reports a malformed one
     * once, in its own pass). */
    if (store_cursor_get(c, &k, &v, err ? MDB_LAST : MDB_PREV) != 0 ||
        blk_key_kind(&blocks, e, plen, &k, &at) != 2)
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
    r->at = 0;
    return blk_load(&blocks, r->prefix, r->plen, k, v, r->key, sizeof r->key, &r->key_len,
                    r->buf, &r->n);
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
        err = blk_seek(&blocks, t, e, r->plen, &k, &v);
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
            break; /* the team's keys ended */
        /* The key after the one loaded. */
        err = blk_after(&blocks, t, r->key, r->key_len, &k, &v);
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

/* settle_in moves up to max of the oldest pending_recent entries into the
 * teams' blocks in t and deletes them from pending_recent; *moved says how
 * many. */
static int settle_in(store_txn *t, size_t max, size_t *moved)
{
    return blk_settle_in(&blocks, t, max, moved);
}

int store_pending_settle(store *s, size_t min, size_t max, size_t *moved)
{
    return blk_settle(&blocks, s, min, max, moved, settle_in);
}
