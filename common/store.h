/* store.h — the durable store: one LMDB environment shared by every worker
 * process on the machine.
 *
 * Databases inside the environment (all keys big-endian so they sort):
 *   events     seq(u64)                → event record
 *   event_ids  id (string)             → seq(u64)        deduplication index
 *   dispatches seq(u64) team(string)   → dispatch record  one per (event, team)
 *   pending    team(string) 0 seq(u64) [ 'B' ] → (empty) | block of seqs
 *              PENDING dispatches per team: settled ones in blocks of up
 *              to 128 seqs under the first's key; see store_pending.h
 *   pending_recent seq(u64) team       → (empty)          new ones not yet settled into
 *              pending
 *   board      community 0 seq(u64) [ 'B' ] → (empty) | block of seqs
 *              the claim board: claimable requests per community, in
 *              blocks like pending's (store_board.c, store_pending.h)
 *   board_recent seq(u64) community  → (empty)          new ones not yet settled into
 *              board
 *   due        ms(u64) seq(u64) team   → (empty)          resend timers
 *   history    seq(u64) no(u32)        → history record
 *   event_index, index_recent, team_recent, dead_letters: history queries and dead
 *              letters, kept by the writes below (the entries of all
 *              dimensions but the alarm settled in posting blocks); see
 *              store_index.h
 * Records are msgpack maps with small integer keys for the wire names, and
 * what their key holds left out (PROTOCOL.md §7.5, store_records.h), so a
 * record read by mdb_dump can be decoded by anyone who read the spec;
 * records written before session 7 have the wire names themselves.
 *
 * Durability: store_commit of a write transaction returns only after its
 * data and meta pages are flushed (the meta page's flush after LMDB's writer
 * lock is released: MDB_NOMETASYNC, then mdb_env_sync; store.c).
 * Concurrency: LMDB serialises write transactions across processes; one
 * process may hold one write transaction at a time. Read transactions never
 * block. A store handle is used by one thread; a process opens an
 * environment once and never uses the handle across fork().
 *
 * Failures: after GL_ESTORAGEFULL or GL_ESTORAGE from any write, the
 * transaction can only be aborted (LMDB refuses to commit it; further calls
 * return the same error). A refused duplicate id (GL_EBADSTATE) leaves it
 * usable. Ids and team names that are empty or longer than LMDB's key limit
 * give GL_EBADFIELD. Out of memory is GL_EINTERNAL. */
#ifndef GL_STORE_H
#define GL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "records.h"

typedef struct store store;
typedef struct store_txn store_txn;

typedef struct store_opts {
    size_t map_size;   /* bytes; 0 → 1 GiB */
    size_t map_max;    /* ceiling the map grows to when full; below map_size → map_size */
    size_t reserve;    /* bytes kept for alerts: see store_space_get */
    int read_only;     /* open an existing store for reading only (gridline fsck) */
    int meta_after_lock; /* flush each commit's meta page after the writer lock: store_commit */
} store_opts;

/* store_open opens (creating if needed) the environment in directory dir
 * (created with mode 0700 if missing). opts may be NULL. Clears stale reader
 * slots of dead processes. With opts->read_only the store must exist and
 * nothing is created or written (write transactions fail). Returns 0,
 * GL_ESYS (dir), GL_ESTORAGE. */
int store_open(const char *dir, const store_opts *opts, store **out);

/* store_close closes the environment; *s becomes NULL; NULL is accepted. */
void store_close(store **s);

/* store_begin starts a transaction (write != 0 for a write transaction).
 * Returns 0, GL_ESTORAGE, GL_ESTORAGEFULL, GL_EINTERNAL. When another process
 * grew the map, the new size is adopted here — possible only while this
 * process has no other transaction open; otherwise GL_ESTORAGE, and the
 * next begin after those end succeeds. A write begin with no other
 * transaction of this process open also grows the map (doubling, up to
 * opts->map_max) when it is three quarters used or a write since the last
 * growth failed with the map full. */
int store_begin(store *s, int write, store_txn **out);

/* store_commit commits and frees *t (NULL after, even on failure), and for a
 * write transaction flushes the data file: 0 means on disk. Returns 0,
 * GL_ESTORAGEFULL (MDB_MAP_FULL, ENOSPC, EDQUOT, EFBIG, or an I/O error —
 * LMDB's "short write" — while the disk has less than the reserve free),
 * GL_ESTORAGE. On a failed commit nothing of the transaction is stored. A
 * failed flush after the commit is GL_ESTORAGE too, but the transaction may
 * be stored or not: the caller must treat it as failed (answer errors, tell
 * nobody it is done), and from then on every store_begin of this handle
 * returns GL_ESTORAGE until the store is closed and opened again. */
int store_commit(store_txn **t);

/* store_failed returns why this handle refuses every transaction — the
 * error (an errno, or LMDB's MDB_PANIC) of a flush after a commit that
 * failed, or of an environment LMDB marked fatal after its meta page's
 * write failed — or 0 while it works. What the process holds of the store
 * may then not be on disk: a long-running process should leave and be
 * restarted, to read the store as it is on disk (gridline-worker exits
 * with status 75). */
int store_failed(const store *s);

/* store_abort discards and frees *t; NULL is accepted. */
void store_abort(store_txn **t);

/* --- events --- */

/* store_event_find looks up the seq of event id. 0 or GL_ENOTFOUND. */
int store_event_find(store_txn *t, const char *id, uint64_t *seq);

/* store_event_add files a new event: assigns ev->seq (last seq + 1) and writes
 * the record and its id index. The caller has checked the id is new; if it is
 * not, returns GL_EBADSTATE and writes nothing. Also GL_ESTORAGEFULL,
 * GL_ESTORAGE. */
int store_event_add(store_txn *t, gl_event *ev);

/* store_event_next_seq sets *seq to the seq the next store_event_add in t
 * will assign, without writing anything: a new event's dispatches, history
 * and timers can be written first and its record once, last, with
 * everything in it. 0, GL_ESTORAGE. */
int store_event_next_seq(store_txn *t, uint64_t *seq);

/* store_event_get reads event seq into ev; strings are copied into arena.
 * 0, GL_ENOTFOUND, GL_ESTORAGE. */
int store_event_get(store_txn *t, uint64_t seq, gl_event *ev, gl_arena *arena);

/* store_event_put rewrites an existing event record whole: pass the full
 * event as read by store_event_get, with the changes made. 0, GL_ENOTFOUND,
 * GL_EBADFIELD (ev->id belongs to another seq), GL_ESTORAGEFULL,
 * GL_ESTORAGE. */
int store_event_put(store_txn *t, const gl_event *ev);

/* store_event_replace is store_event_put for a caller that has just read
 * the record (in t, with no write to it since): was is that record as
 * read, so it is neither read nor decoded again. Same results. */
int store_event_replace(store_txn *t, const gl_event *ev, const gl_event *was);

/* --- dispatches --- */

/* store_dispatch_get reads the dispatch of event seq to team. 0,
 * GL_ENOTFOUND, GL_ESTORAGE. */
int store_dispatch_get(store_txn *t, uint64_t seq, const char *team,
                       gl_dispatch *d, gl_arena *arena);

/* store_dispatch_put inserts or replaces the dispatch (d->seq, d->team) and
 * keeps the pending and due indexes in step with d->state and
 * d->next_retry_ms: a PENDING dispatch is in "pending"; any dispatch with
 * next_retry_ms != 0 is in "due" at that time. 0, GL_ESTORAGEFULL,
 * GL_ESTORAGE. */
int store_dispatch_put(store_txn *t, const gl_dispatch *d);

/* store_dispatch_replace is store_dispatch_put for a caller that has just
 * read the record (in t, with no write to it since): old is that record as
 * read, so it is not read again. 0, GL_EBADFIELD, GL_ESTORAGEFULL,
 * GL_ESTORAGE. */
int store_dispatch_replace(store_txn *t, const gl_dispatch *d, const gl_dispatch *old);

/* store_dispatch_add writes a dispatch that should be new, without reading
 * first: its record, its pending and due entries, and its team's entry in
 * the event index at event_ms (the event's created_ms; the event record
 * need not be written yet). If (d->seq, d->team) has a record already,
 * returns GL_EBADSTATE, writes nothing and leaves t usable: use
 * store_dispatch_put. Also GL_EBADFIELD, GL_ESTORAGEFULL, GL_ESTORAGE. */
int store_dispatch_add(store_txn *t, const gl_dispatch *d, uint64_t event_ms);

/* Visitor for lists: return 0 to go on, non-zero to stop (that value is
 * returned by the listing function, so use a positive one to tell it from a
 * GL_E* error). Strings are valid during the call. A visitor may write in the
 * same transaction (reschedule the dispatch it is shown): the listing finds
 * its place again. */
typedef int (*store_dispatch_fn)(void *ctx, const gl_dispatch *d);
typedef int (*store_history_fn)(void *ctx, const gl_history *h);

/* store_dispatch_list visits every dispatch of event seq, in team order. */
int store_dispatch_list(store_txn *t, uint64_t seq, store_dispatch_fn fn, void *ctx);

/* store_pending_list visits the PENDING dispatches of team, oldest event
 * first. */
int store_pending_list(store_txn *t, const char *team, store_dispatch_fn fn, void *ctx);

/* store_due_list visits dispatches whose next_retry_ms <= now_ms, earliest
 * first, at most limit of them. */
int store_due_list(store_txn *t, uint64_t now_ms, size_t limit,
                   store_dispatch_fn fn, void *ctx);

/* store_next_due returns the earliest next_retry_ms in the due index, or 0
 * when none is scheduled (or on a read error). */
uint64_t store_next_due(store_txn *t);

/* --- history --- */

/* store_history_add appends an entry to event h->seq's history; h->no is
 * assigned (last + 1) and written back. 0, GL_ESTORAGEFULL, GL_ESTORAGE. */
int store_history_add(store_txn *t, gl_history *h);

/* store_history_list visits event seq's history in order. */
int store_history_list(store_txn *t, uint64_t seq, store_history_fn fn, void *ctx);

/* --- figures --- */

typedef struct store_stats {
    uint64_t events;       /* records in events */
    uint64_t dispatches;
    uint64_t pending;      /* PENDING dispatches */
    uint64_t scheduled;    /* entries in due */
    uint64_t escalating;   /* alerts waiting for an acknowledgement deadline */
    uint64_t alarms;       /* events with an operator alarm (unanswered alerts) */
    uint64_t last_seq;
    uint64_t map_size, map_used; /* bytes */
} store_stats;

/* store_get_stats fills st from a read or write transaction. */
int store_get_stats(store_txn *t, store_stats *st);


/* --- alert escalation timers --- */

/* store_escalation_move moves event seq's escalation timer from old_ms to
 * new_ms in the "escalations" index (key ms(u64) seq(u64)); 0 means "none"
 * on either side. The event record's escalate_at_ms is the caller's to keep
 * equal to new_ms. 0, GL_ESTORAGEFULL, GL_ESTORAGE. */
int store_escalation_move(store_txn *t, uint64_t seq, uint64_t old_ms, uint64_t new_ms);

/* store_escalation_due collects into out (at most max; kind is 0) the
 * escalation deadlines <= now_ms, earliest first; *n is set to how many.
 * 0 or GL_ESTORAGE. */
struct store_timer;
int store_escalation_due(store_txn *t, uint64_t now_ms, struct store_timer *out, size_t max,
                         size_t *n);

/* store_next_escalation returns the earliest escalation time, or 0 when none
 * is set (or on a read error). */
uint64_t store_next_escalation(store_txn *t);

/* --- workflow timers: sign-for, reminders, due times, leases, closing --- */

enum store_timer_kind {
    TIMER_SIGN = 1,   /* dispatches not acknowledged by sign_by_ms */
    TIMER_REMIND,     /* remind the responsible team before due_ms */
    TIMER_DUE,        /* not resolved by due_ms */
    TIMER_LEASE,      /* a claim's lease ends */
    TIMER_CLOSE,      /* a resolved event nobody rated closes */
};

typedef struct store_timer {
    uint64_t at_ms, seq;
    int kind;         /* enum store_timer_kind */
} store_timer;

/* The "timers" index (key ms(u64) seq(u64) kind(u8)) holds one entry per
 * event: its next deadline, which the store keeps in step with the record's
 * fields whenever the event is written (store_event_add, store_event_put).
 * A worker changes an event's deadlines by changing those fields and saving
 * the event; when a timer fires it acts on the field of the entry's kind,
 * and saving the event moves the entry on to the next deadline.
 *
 * store_timer_next returns the kind of ev's next deadline and sets *at to
 * its time, or returns 0 when it has none: the earliest non-zero of
 * sign_by_ms, remind_at_ms, due_ms, lease_until_ms and close_at_ms, ties to
 * the lower kind (the index's order). A due time that passed and raised the
 * "overdue" alarm is no longer a deadline: the record keeps it as the time
 * that was expected. */
int store_timer_next(const gl_event *ev, uint64_t *at);

/* store_timer_move moves timer kind of event seq from old_ms to new_ms in
 * the "timers" index; 0 means none on either side. The store calls it when
 * an event is written; a worker calls it only to drop an entry the record
 * no longer names (a store written before one entry per event had one per
 * deadline). 0, GL_ESTORAGEFULL, GL_ESTORAGE. */
int store_timer_move(store_txn *t, int kind, uint64_t seq, uint64_t old_ms, uint64_t new_ms);

/* store_timer_due collects the timers at or before now_ms, earliest first,
 * at most max; *n is set to how many. 0 or GL_ESTORAGE. */
int store_timer_due(store_txn *t, uint64_t now_ms, store_timer *out, size_t max, size_t *n);

/* store_next_timer returns the earliest timer's time, or 0 when none. */
uint64_t store_next_timer(store_txn *t);

/* --- the claim board: open claimable events per community --- */

/* store_board_set puts (on) or takes off (!on) event seq on community's
 * board; idempotent. A new entry waits in board_recent, at its right edge,
 * until store_pending_settle moves it into the community's blocks; one
 * taken off goes from wherever it is (store_board.c). 0, GL_EBADFIELD,
 * GL_ESTORAGEFULL, GL_ESTORAGE. */
int store_board_set(store_txn *t, const char *community, uint64_t seq, int on);

/* store_board_list collects the seqs on community's board, oldest first, at
 * most max, settled or waiting alike; *n is set to how many. 0,
 * GL_EBADFIELD or GL_ESTORAGE. */
int store_board_list(store_txn *t, const char *community, uint64_t *seqs, size_t max,
                     size_t *n);

/* --- operator alarms --- */

/* store_alarm_set raises (reason != NULL) or clears (NULL) the operator alarm
 * of event seq in the "alarms" index (seq → reason). The event record's
 * alarm field is the caller's to keep in step. 0, GL_ESTORAGEFULL,
 * GL_ESTORAGE. */
int store_alarm_set(store_txn *t, uint64_t seq, const char *reason);

/* store_alarm_list collects the seqs of events whose alarm is reason (NULL:
 * any), oldest event first, at most max; *n is set to how many were
 * collected and *count (if not NULL) to how many match in all. Alarms are
 * few (each is an operator's to-do), so this walks them all. 0 or
 * GL_ESTORAGE. */
int store_alarm_list(store_txn *t, const char *reason, uint64_t *seqs, size_t max, size_t *n,
                     uint64_t *count);

/* --- consistency check --- */

typedef struct store_fsck_report {
    uint64_t events, dispatches, history, problems;
    char first[20][200];   /* the first problems found, described */
    int nfirst;
} store_fsck_report;

/* store_fsck checks, in one read transaction, that every index matches the
 * records: each event's id maps to its seq and back; each dispatch, history
 * entry and timer belongs to an existing event; the pending and due indexes
 * hold exactly the PENDING dispatches and the scheduled resends; the
 * escalation, timer and alarm indexes agree with the events' fields; every
 * dispatched event has a dispatch; history is numbered 1..n; the event index
 * and the dead letters hold exactly what the records call for. Returns 0 (the
 * report says how many problems) or a store error. */
int store_fsck(store *s, store_fsck_report *r);

/* --- space: the map's ceiling, the disk, the alert reserve --- */

typedef struct store_space {
    uint64_t map_size;   /* bytes mapped now */
    uint64_t map_max;    /* the ceiling the map may grow to */
    uint64_t map_used;   /* bytes of the map in use (its high-water mark) */
    uint64_t disk_free;  /* bytes the store can still grow by: free space on
                            its file system for this user, within this process's
                            file-size limit (RLIMIT_FSIZE), plus the data file's
                            part past map_used (written ahead: store_grow.h) */
    uint64_t reserve;    /* opts->reserve */
} store_space;

/* store_space_get fills sp without a transaction (a few system calls).
 * 0, or GL_ESTORAGE when the figures cannot be read. */
int store_space_get(store *s, store_space *sp);

/* store_space_low says whether less than the reserve is left: in the map
 * below its ceiling, or on the disk. */
int store_space_low(const store_space *sp);

/* store_can_grow says whether the last storage-full failure was the map
 * being full while it may still grow: the next write begin grows it, and the
 * failed work can be retried at once. */
int store_can_grow(const store *s);

#endif
