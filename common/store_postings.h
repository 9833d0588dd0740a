/* store_postings.h — the posting blocks of event_index (store_index.h
 * describes the format), for store_index*.c only: reading a value's
 * entries in order whatever form they are in, putting settled entries into
 * blocks, taking one out, and fsck's checks. */
#ifndef GL_STORE_POSTINGS_H
#define GL_STORE_POSTINGS_H

#include "store_impl.h"

#define POST_MAX 64    /* entries per block at most: a value of 1 KiB */

/* A stream of one (dim, value)'s event_index entries in (ms, seq) order,
 * from lo on, while below hi (until_set) or not above it: per-entry keys
 * and blocks alike. It keeps a copy of the key it is in, so lookups and
 * writes in between may move the transaction's cursors. */
typedef struct ix_stream {
    store_txn *t;
    unsigned char prefix[STORE_KEY_MAX]; /* dim value 0 */
    size_t plen;
    uint64_t hi_ms, hi_seq;
    int until_set;
    unsigned char key[STORE_KEY_MAX]; /* the key the entries below came from */
    size_t key_len;
    uint64_t buf[2 * POST_MAX]; /* its (ms, seq) pairs */
    size_t n, at;
    int have; /* ms, seq hold the next entry */
    uint64_t ms, seq;
} ix_stream;

/* ix_open starts a stream at the event_index key lo (dim value 0 ms seq,
 * lo_len bytes: the range's first pair). 0 or a store error. */
int ix_open(ix_stream *s, store_txn *t, const unsigned char *lo, size_t lo_len, uint64_t hi_ms,
            uint64_t hi_seq, int until_set);

/* ix_next moves past the entry shown (have becomes 0 at the end). */
int ix_next(ix_stream *s);

/* ix_post_put puts the entry of key e (dim value 0 ms seq, elen bytes)
 * into the block where it belongs (the one before it, cut in two when
 * full, or a new one). 0 or a store error. */
int ix_post_put(store_txn *t, const unsigned char *e, size_t elen);

/* ix_post_remove takes the entry of key e (dim value 0 ms seq, elen bytes)
 * out of the block holding it, if one does (rewriting, re-keying or
 * deleting that block). 0 or a store error. */
int ix_post_remove(store_txn *t, const unsigned char *e, size_t elen);

/* ix_has says whether event_index holds the entry of key e, as a key of
 * its own or in a block. */
int ix_has(store_txn *t, const unsigned char *e, size_t elen);

/* ix_check walks all of event_index for fsck: *entries counts its entries
 * (a block's one by one); malformed blocks, blocks of a dimension that is
 * not staged and blocks reaching past the next key of their value are
 * added to r. 0 or a store error. */
int ix_check(store_txn *t, store_fsck_report *r, uint64_t *entries);

/* ix_settle_in moves up to max of the oldest index_recent entries into
 * event_index's blocks in t (a write transaction) and deletes them from
 * index_recent; *moved says how many. 0 or a store error. */
int ix_settle_in(store_txn *t, size_t max, size_t *moved);

/* ix_team_settle_in is ix_settle_in for the team entries of team_recent. */
int ix_team_settle_in(store_txn *t, size_t max, size_t *moved);

/* store_index_move_teams moves the team entries an older gridline left in
 * index_recent to team_recent, in txn (store_open's, which has just made
 * team_recent); *moved says how many. 0 or an LMDB error code. */
int store_index_move_teams(MDB_txn *txn, MDB_dbi recent, MDB_dbi teams, size_t *moved);

#endif
