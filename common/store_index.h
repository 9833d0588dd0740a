/* store_index.h — history queries and dead letters: the store's event index
 * and its dead-letter index (issue 5).
 *
 * Two more databases in the store's environment:
 *   event_index  dim(u8) value 0 created_ms(u64) seq(u64)      → (empty)
 *                dim(u8) value 0 first_ms(u64) first_seq(u64) 'B'
 *                                                  → a block of (ms, seq)
 *   dead_letters seq(u64) team(string)                         → (empty)
 * One event_index entry per event and dimension: dim is enum store_dim, value
 * the event's value in that dimension (its kind or state name, community,
 * grid, alarm, or a team it was dispatched to; empty for IX_TIME). Within a
 * (dim, value) the keys run in filing-time order, so a filter on one
 * dimension over a time range is one range scan in key order. dead_letters
 * holds exactly the dispatches in state "dead" (their record keeps the
 * reason in its note).
 *
 * Posting blocks (issue 7): the entries of the staged dimensions (all
 * but the alarm: time, kind, state, community, grid, team; see below) are
 * kept as blocks, one key holding up to 64 entries of one (dim, value). A
 * block's key is its first entry's key with one byte more, 'B' (0x42; for
 * the time dimension, whose value is empty, dim 0 ms seq 'B'), so it
 * sorts right after where that entry's own key would be; its value is the entries' (ms, seq) pairs,
 * 16 bytes each, big-endian, strictly increasing, the first one the key's
 * (1 KiB at most: a value's leaf page holds several blocks). Every entry of
 * a block is below the next key of its (dim, value): the value's keys,
 * each expanded, give its entries in order, and the block that may hold an
 * entry is the key at or just before that entry's own key. A settle puts
 * each value's new entries into the block before them (cut into blocks of
 * 64 when it fills; a full block ends where it is) or into new blocks: one
 * put per value and block instead of one per entry. An entry written
 * outside a settle (an update's, a redirect's) goes straight into its
 * block; a delete rewrites the block holding it (re-keyed when it was its
 * first entry, deleted when it was its last). A value too long for a block
 * key keeps entries of their own.
 * Stores written before blocks hold per-entry keys (dim value 0 ms seq,
 * empty value) for these dimensions too (for time, kind and state: every
 * store written before session 7 staged them): they are read and deleted
 * as they are, next to the blocks written since, and nothing is migrated
 * (a rebuild writes blocks). The alarm dimension (rare) is per-entry keys
 * only.
 *
 * Both are written by the store itself in the write transaction that changes
 * what they index (store_event_add, store_event_put, store_dispatch_put and
 * its variants store_dispatch_add and store_dispatch_replace), so
 * they cannot disagree with the records after a crash. A store made before
 * these indexes existed gets them built by store_open (one write
 * transaction). */
#ifndef GL_STORE_INDEX_H
#define GL_STORE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum store_dim {
    IX_TIME = 1,  /* every event; value empty */
    IX_KIND,      /* "request", "alert", "feedback" */
    IX_STATE,     /* the event state's name */
    IX_COMMUNITY,
    IX_GRID,
    IX_TEAM,      /* a team the event was dispatched to (any role, any state) */
    IX_ALARM,     /* the event's operator alarm: "unanswered", "overdue" */
    IX_DIM_COUNT
};

/* store_index_dim_name names dim ("time", "kind", ... "alarm"; "" when out
 * of range), for log lines. */
const char *store_index_dim_name(int dim);

/* store_index_key writes the event_index key (dim, value, ms, seq) into k
 * (room for max bytes); value NULL is empty. Returns the key's length, or 0
 * when it does not fit or value holds a NUL-free string longer than max
 * allows. */
size_t store_index_key(unsigned char *k, size_t max, int dim, const char *value, uint64_t ms,
                       uint64_t seq);

/* store_index_key_parse splits a per-entry event_index key; *value points
 * into k (not NUL-terminated, *vlen bytes). 0, or -1 for a malformed key
 * (a block key included). */
int store_index_key_parse(const unsigned char *k, size_t len, int *dim, const char **value,
                          size_t *vlen, uint64_t *ms, uint64_t *seq);

/* A query: every set member must match. Times are wall ms of filing. */
typedef struct store_query {
    int kind;                  /* enum gl_kind; 0: any */
    int state;                 /* enum gl_event_state; 0: any */
    const char *community, *grid, *team, *alarm; /* NULL: any */
    uint64_t since_ms;         /* filed at or after; 0: from the first */
    uint64_t until_ms;         /* filed before; 0: no end */
    uint64_t after_ms, after_seq; /* the cursor: only events after (ms, seq) in
                                     (created_ms, seq) order; both 0: none */
    size_t max_scan;           /* index entries looked at before giving up for
                                  this call (see store_query_events); 0: 20000 */
} store_query;

typedef int (*store_event_fn)(void *ctx, const gl_event *ev);

/* store_query_events visits the events matching q in (created_ms, seq)
 * order. It picks the most selective index among those q names (counting
 * up to a few thousand entries of each range) and checks the other filters
 * on the records. fn returns 0 to go on, non-zero to stop (that value is
 * returned). *dim_used (if not NULL) is set to the index used. When
 * max_scan entries were looked at without the range ending, it stops and
 * sets *resume_ms and *resume_seq to the last entry looked at (else both 0):
 * the caller continues from there. Strings in ev are valid during the call.
 * 0, GL_EBADFIELD (a value too long for a key) or a store error. */
int store_query_events(store_txn *t, const store_query *q, store_event_fn fn, void *ctx,
                       int *dim_used, uint64_t *resume_ms, uint64_t *resume_seq);

/* store_dead_list visits the dead dispatches of events after after_seq,
 * in (seq, team) order. fn as for store_dispatch_list. */
int store_dead_list(store_txn *t, uint64_t after_seq, store_dispatch_fn fn, void *ctx);

/* store_dead_count returns the number of dead letters (0 on a read error). */
uint64_t store_dead_count(store_txn *t);

/* --- entries of the staged dimensions: written at the right edge,
 * settled in bulk ---
 *
 * A new event's community and grid entries, and each new dispatch's team
 * entry, would land at the end of their value's range of event_index: with
 * 29 communities, 61 grids and 317 teams, nearly every one of them dirties a
 * leaf page of its own in a batch. Its time, kind and state entries land
 * at the end of a few ranges (the time; three kinds; a state or two), yet
 * those are 5-6 leaves and their branch pages in every batch. So all of
 * them but the alarm are written to
 *   index_recent created_ms(u64) seq(u64) dim(u8) value → (empty)
 * (value empty for the time dimension: 17 bytes) instead, in filing-time
 * order (the right edge), and store_index_settle later moves the oldest
 * ones into event_index's blocks in one transaction, value by value in key
 * order, so each value's leaf takes its entries in one put. Queries on
 * those dimensions read both places (an entry is in exactly one of them);
 * fsck checks that. A rebuild writes them to index_recent and settles
 * them all before it commits.
 *
 * The team entries wait apart, in
 *   team_recent  created_ms(u64) seq(u64) dim(u8) team → (empty)
 * (the same keys), and are settled on their own, less often (session 8):
 * the 317 teams' leaves were three quarters of what every settle rewrote,
 * for about six new entries each. A team settle takes as many entries as
 * a settle of the other dimensions, so it holds the writer as long, and
 * comes after about four times as many events. Stores made before keep
 * their waiting team entries in index_recent until the first process that
 * opens them for writing moves them to team_recent (store_open, in the
 * transaction that makes team_recent): a store with team_recent has no
 * team entry in index_recent. */

/* store_index_recent_count returns the entries waiting in index_recent (0
 * on a read error); store_index_team_count those in team_recent. */
uint64_t store_index_recent_count(store_txn *t);
uint64_t store_index_team_count(store_txn *t);

/* store_index_settle moves up to max of the oldest index_recent entries into
 * event_index's blocks, in a write transaction of its own, when at least min wait
 * (another process may have settled them meanwhile); *moved (if not NULL)
 * says how many. 0 or a store error (then nothing moved). */
int store_index_settle(store *s, size_t min, size_t max, size_t *moved);

/* store_index_settle_teams is store_index_settle for the team entries
 * waiting in team_recent. */
int store_index_settle_teams(store *s, size_t min, size_t max, size_t *moved);

/* store_index_recent_db is the staging database of dim's new entries
 * (enum store_db: team_recent for the team, else index_recent). */
int store_index_recent_db(int dim);

/* store_index_rebuild empties event_index and dead_letters and builds them
 * again from the records, in one write transaction of its own. Returns the
 * number of events indexed in *events (if not NULL). 0 or a store error. */
int store_index_rebuild(store *s, uint64_t *events);

/* store_index_check (for store_fsck) checks in t that the two indexes hold
 * exactly the entries the records call for (a block's counted one by one),
 * that every block is well formed and below its value's next key, and adds
 * what is wrong to r. */
int store_index_check(store_txn *t, store_fsck_report *r);

/* --- for store.c only: the writes that keep the indexes in step --- */

struct store_txn;
/* store_index_event_added indexes a new event ev (with its seq). */
int store_index_event_added(store_txn *t, const gl_event *ev);
/* store_index_event_changed moves ev's entries from what the record
 * old[0..old_len) says to what ev says, and its timers entry with them
 * (store_timer_event_changed). */
int store_index_event_changed(store_txn *t, const void *old, size_t old_len, const gl_event *ev);
/* store_index_event_replaced is store_index_event_changed with the old
 * record already decoded (was). */
int store_index_event_replaced(store_txn *t, const gl_event *was, const gl_event *ev);
/* store_index_dispatch_changed keeps the team entry (when the dispatch is
 * new: old_state 0) and the dead letter of d in step. */
int store_index_dispatch_changed(store_txn *t, int old_state, const gl_dispatch *d);
/* store_index_dispatch_added is store_index_dispatch_changed for a new
 * dispatch of an event filed at event_ms, without reading the event; its
 * team entry goes to team_recent. */
int store_index_dispatch_added(store_txn *t, const gl_dispatch *d, uint64_t event_ms);

/* store_index_staged says whether new entries of dim are staged (in
 * index_recent, or team_recent for the team) before they are settled. */
int store_index_staged(int dim);

/* store_index_recent_key writes the index_recent key (ms, seq, dim, value
 * of n bytes) into k (room for STORE_KEY_MAX); returns its length. */
size_t store_index_recent_key(unsigned char *k, uint64_t ms, uint64_t seq, int dim,
                              const char *value, size_t n);

#endif
