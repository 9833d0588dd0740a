/* store_pending.h — the pending index in two parts, its entries in
 * blocks (issue 7); the claim board written the same way.
 *
 * "pending" holds a team's PENDING dispatches in event (seq) order, for the
 * resend on HELLO (store_pending_list). Filing writes one entry per new
 * dispatch, and a batch's dispatches spread over the county's teams, so
 * each entry dirtied a leaf page of its own: about half the pages a commit
 * wrote (bench_throughput, whose teams never acknowledge). A new
 * dispatch's entry (store_dispatch_add) therefore goes to a second database:
 *   pending_recent  seq(u64) team(string) → (empty)   (the dispatch key)
 * which grows at its right edge, so a batch's entries share a few leaves.
 * A routine worker moves the oldest ones into "pending" in bulk
 * (store_pending_settle, workers/settle.c), team by team in key order.
 *
 * Blocks (issue 7, like event_index's posting blocks, store_index.h):
 *   pending  team 0 seq(u64)          → (empty)        an entry of its own
 *            team 0 first_seq(u64) 'B' → seq(u64)...    a block
 * A block holds up to PEND_MAX (128) seqs of one team, 8 bytes each,
 * big-endian, strictly increasing, the first one the key's (1 KiB at
 * most). Its key is its first entry's key with one byte more, 'B' (0x42),
 * so it sorts right after where that entry's own key would be. Every seq of
 * a block is below the team's next key: the team's keys, each expanded,
 * give its entries in order, and the block that may hold a seq is the key
 * at or just before that seq's own key. A settle puts each team's staged
 * seqs into the block before them (cut into blocks of PEND_MAX when it
 * fills; a full block ends where it is) or into new blocks: one put per
 * team and block instead of one per entry. A dispatch that becomes PENDING
 * again (store_dispatch_replace) goes straight into its team's block the
 * same way (pend_put). One that stops being PENDING is deleted from
 * pending_recent, or else taken out of its block (rewritten; re-keyed when
 * it was the first seq, deleted when it was the last) or its own key
 * (pend_remove). A team name too long for a block key keeps entries of
 * their own.
 *
 * Stores written before blocks hold entries of their own: they are read and
 * deleted as they are, next to the blocks written since; nothing is
 * migrated. An entry is in exactly one place (pending_recent, an own key,
 * or one block). store_pending_list reads both databases in seq order;
 * fsck checks that every PENDING dispatch has its entry exactly once and
 * nothing else, and reports malformed blocks. The STATUS count is the
 * PENDING figure of the dispatch counts (store_info.h), exact whatever form
 * the entries are in. A store made before opens with pending_recent
 * created empty.
 *
 * The claim board has the same shape, and the same code (the pset_
 * functions below, over a descriptor of the two databases, pend_index or
 * board_index; issue 7, session 6). Its key was community 0 seq, one entry
 * per claimable request: a batch's requests spread over the county's
 * communities and dirtied a leaf (and its branch path) each, about 30 of
 * the 213 pages a full batch wrote, for 14 bytes per event. Now
 *   board_recent  seq(u64) community → (empty)   store_board_set(on)
 *   board         community 0 seq(u64)          an entry of its own (older)
 *                 community 0 first_seq 'B' → seq(u64)...   a block
 * store_board_set(on) leaves an entry already in "board" where it is and
 * puts a new one into board_recent; (off) deletes it from board_recent, or
 * else takes it out of its block or own key. store_board_list merges the
 * two in seq order. store_pending_settle moves board_recent into the
 * communities' blocks in the transaction that settles pending_recent. fsck
 * checks that each board entry names a request of its community, once
 * (in seq order, not in both databases), and reports malformed blocks. A
 * store made before opens with board_recent created empty. */
#ifndef GL_STORE_PENDING_H
#define GL_STORE_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* store_pending_recent_count returns the entries waiting in pending_recent
 * (0 on a read error). */
uint64_t store_pending_recent_count(store_txn *t);

/* store_board_recent_count returns the entries waiting in board_recent (0
 * on a read error). */
uint64_t store_board_recent_count(store_txn *t);

/* store_pending_staged returns the larger of the entries waiting in
 * pending_recent and in board_recent: what store_pending_settle's min is
 * held against, so that either one, grown, settles both. (Their sum would
 * settle the pending index sooner than its own count calls for, and each
 * settle rewrites a block per team.) */
uint64_t store_pending_staged(store_txn *t);

/* store_pending_settle moves up to max of the oldest pending_recent entries
 * into "pending", and up to max of the oldest board_recent entries into
 * "board", in one write transaction of its own, when at least min wait in
 * either (store_pending_staged; another process may have settled them
 * meanwhile); *moved (if not NULL) says how many in all. 0 or a store
 * error (then nothing moved). */
int store_pending_settle(store *s, size_t min, size_t max, size_t *moved);

/* --- store internal (store.c, store_lists.c, store_board.c, store_fsck.c) --- */

#define PEND_MARK 0x42 /* a block key's last byte, after its first seq */
#define PEND_MAX 128   /* seqs per block at most: a value of 1 KiB */

struct MDB_val;
struct MDB_cursor;
struct blk_desc;

/* The indexes of this shape (a set of seqs per name): "pending" with
 * pending_recent (a team's PENDING dispatches), "board" with board_recent
 * (a community's claimable requests, store_board.c). The pset_ functions
 * take one of them. */
extern const struct blk_desc pend_index, board_index;

/* pset_put puts seq into the blocks of name (n bytes) in d's main
 * database. 0 or a store error (GL_EBADFIELD for a name too long for a
 * key). */
int pset_put(const struct blk_desc *d, store_txn *t, const char *name, size_t n, uint64_t seq);

/* pset_remove takes seq of name (n bytes) out of d's main database: its
 * own key, or out of the block holding it. Not there is not an error. */
int pset_remove(const struct blk_desc *d, store_txn *t, const char *name, size_t n, uint64_t seq);

/* pset_has says whether d's main database holds seq of name (n bytes), as
 * a key of its own or in a block (a malformed block: no). */
int pset_has(const struct blk_desc *d, store_txn *t, const unsigned char *name, size_t n,
             uint64_t seq);

/* pset_block_decode reads the block k (value v) of d's main database, of
 * a name whose prefix (name 0) is plen bytes, into seqs (room for
 * PEND_MAX); returns how many, or 0 when it is malformed (empty, too long,
 * a partial seq, not strictly increasing, its first seq not the key's). */
int pset_block_decode(const struct blk_desc *d, const struct MDB_val *k, const struct MDB_val *v,
                      size_t plen, uint64_t *seqs);

/* pend_put and pend_remove are pset_put and pset_remove of the pending
 * index (pend_index). */
int pend_put(store_txn *t, const char *team, size_t n, uint64_t seq);
int pend_remove(store_txn *t, const char *team, size_t n, uint64_t seq);

/* A name's entries of d's main database in seq order, own keys and blocks
 * alike. It keeps a copy of the key it is in and of its seqs, and finds
 * its place again after a write in the transaction. */
typedef struct pset_reader {
    const struct blk_desc *d;
    store_txn *t;
    unsigned char prefix[512]; /* name 0 */
    size_t plen;
    unsigned char key[512];    /* the key buf came from; key_len 0: none */
    size_t key_len;
    uint64_t buf[PEND_MAX];
    size_t n, at;
    int valid;
    unsigned long changes;     /* t->changes when buf was loaded */
} pset_reader;

/* pset_reader_init starts r on name (n bytes, n + 10 <= the store's
 * maximum key) in d's main database. */
void pset_reader_init(pset_reader *r, const struct blk_desc *d, store_txn *t, const char *name,
                      size_t n);

/* pset_reader_next finds the name's first seq >= from: *have, *seq. 0 or
 * a store error. */
int pset_reader_next(pset_reader *r, uint64_t from, int *have, uint64_t *seq);

/* A name's entries in both places, merged in seq order: the main database
 * (pset_reader) and, not yet settled, the staging one (seq name keys, read
 * through a cursor of its own). An entry in both is given once (fsck's to
 * report). Each side's next entry is kept until it is passed or the
 * transaction changed, so a listing reads the staging database once. */
typedef struct pset_merge {
    pset_reader settled;
    struct MDB_cursor *recent;
    uint64_t a, b;             /* the next seq of each side, when have_ */
    int have_a, have_b, valid_a, valid_b;
    unsigned long changes;     /* t->changes after the last look */
} pset_merge;

/* pset_merge_open starts m on name (n bytes, as pset_reader_init) in d's
 * two databases. 0 or a store error; pset_merge_close in either case. */
int pset_merge_open(pset_merge *m, const struct blk_desc *d, store_txn *t, const char *name,
                    size_t n);

/* pset_merge_next finds the name's first seq >= from in either database:
 * *have, *seq. 0 or a store error. */
int pset_merge_next(pset_merge *m, uint64_t from, int *have, uint64_t *seq);

/* pset_merge_close releases m's cursor. */
void pset_merge_close(pset_merge *m);

#endif
