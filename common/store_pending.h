/* store_pending.h — the pending index in two parts, its entries in
 * blocks (issue 7).
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
 * created empty. */
#ifndef GL_STORE_PENDING_H
#define GL_STORE_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* store_pending_recent_count returns the entries waiting in pending_recent
 * (0 on a read error). */
uint64_t store_pending_recent_count(store_txn *t);

/* store_pending_settle moves up to max of the oldest pending_recent entries
 * into "pending", in a write transaction of its own, when at least min wait
 * (another process may have settled them meanwhile); *moved (if not NULL)
 * says how many. 0 or a store error (then nothing moved). */
int store_pending_settle(store *s, size_t min, size_t max, size_t *moved);

/* --- store internal (store.c, store_lists.c, store_fsck.c) --- */

#define PEND_MARK 0x42 /* a block key's last byte, after its first seq */
#define PEND_MAX 128   /* seqs per block at most: a value of 1 KiB */

struct MDB_val;

/* pend_put puts seq into the blocks of team (n bytes). 0 or a store error
 * (GL_EBADFIELD for a team too long for a key). */
int pend_put(store_txn *t, const char *team, size_t n, uint64_t seq);

/* pend_remove takes seq of team (n bytes) out of "pending": its own key,
 * or out of the block holding it. Not there is not an error. */
int pend_remove(store_txn *t, const char *team, size_t n, uint64_t seq);

/* pend_has says whether "pending" holds seq of team (n bytes), as a key of
 * its own or in a block (for fsck). */
int pend_has(store_txn *t, const unsigned char *team, size_t n, uint64_t seq);

/* pend_block_decode reads the block k (value v) of a team whose prefix
 * (team 0) is plen bytes into seqs (room for PEND_MAX); returns how many,
 * or 0 when it is malformed (empty, too long, a partial seq, not strictly
 * increasing, its first seq not the key's). */
int pend_block_decode(const struct MDB_val *k, const struct MDB_val *v, size_t plen,
                      uint64_t *seqs);

/* A team's entries of "pending" in seq order, own keys and blocks alike.
 * It keeps a copy of the key it is in and of its seqs, and finds its place
 * again after a write in the transaction. */
typedef struct pend_reader {
    store_txn *t;
    unsigned char prefix[512]; /* team 0 */
    size_t plen;
    unsigned char key[512];    /* the key buf came from; key_len 0: none */
    size_t key_len;
    uint64_t buf[PEND_MAX];
    size_t n, at;
    int valid;
    unsigned long changes;     /* t->changes when buf was loaded */
} pend_reader;

/* pend_reader_init starts r on team (n bytes, n + 10 <= the store's
 * maximum key). */
void pend_reader_init(pend_reader *r, store_txn *t, const char *team, size_t n);

/* pend_reader_next finds the team's first seq >= from: *have, *seq. 0 or a
 * store error. */
int pend_reader_next(pend_reader *r, uint64_t from, int *have, uint64_t *seq);

#endif
