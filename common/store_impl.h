/* store_impl.h — what common/store.c and common/store_lists.c share; private
 * to the store (everyone else includes store.h).
 *
 * store.c: environment, transactions, LMDB access with error translation,
 * events, dispatch records, figures. store_lists.c: the listings and the
 * history. store_records.c: the msgpack records. */
#ifndef GL_STORE_IMPL_H
#define GL_STORE_IMPL_H

#include <lmdb.h>
#include <stdint.h>
#include <string.h>

#include "store.h"
#include "store_records.h"

enum store_db {
    DB_EVENTS, DB_EVENT_IDS, DB_DISPATCHES, DB_PENDING, DB_DUE, DB_HISTORY, DB_ESCALATIONS,
    DB_ALARMS, DB_BOARD, DB_TIMERS,
    DB_EVENT_INDEX, DB_DEAD_LETTERS, /* store_index.h */
    DB_COUNTS,                       /* store_info.h: dispatches per state */
    DB_MEMBERS,                      /* store_members.h: the processes using it */
    DB_INDEX_RECENT,                  /* store_index.h: index entries not yet settled */
    DB_PENDING_RECENT,                /* store_pending.h: new pending entries not yet settled */
    DB_BOARD_RECENT,                  /* store_board.c: new claim board entries not yet settled */
    DB_TEAM_RECENT,                   /* store_index.h: team entries not yet settled */
    DB_COUNT
};

/* store_db_names[db] is the LMDB name of db, also used in log lines. */
extern const char *const store_db_names[DB_COUNT];

/* LMDB's compile-time default; keys are built in buffers of this size. */
#define STORE_KEY_MAX 511
/* Nested listings (a visitor that lists again) each get their own arena up
 * to this depth; deeper ones use a temporary arena. */
#define STORE_LIST_DEPTH 4

/* Settles that read ahead first (store_blocks.c, blk_settle): the first
 * ones after the store is opened, whose pages a restart has likely left
 * on the disk, and those after a settle that held the writer long. */
#define SETTLE_WARM_FOR 256
/* ... the first ones only when the store opened holds this much. */
#define SETTLE_WARM_FROM_BYTES (256ull << 20)

struct store {
    MDB_env *env;
    int sync_failed;          /* a sync after a commit failed: every begin refuses (store.c) */
    unsigned settle_warm;     /* settles left that read ahead first (store_blocks.c, blk_settle) */
    int meta_after_lock;      /* store_opts.meta_after_lock: MDB_NOMETASYNC (store_commit) */
    MDB_dbi dbi[DB_COUNT];
    size_t max_key;           /* min(mdb_env_get_maxkeysize, STORE_KEY_MAX) */
    msgpack_sbuffer sbuf;     /* every record is encoded here, then copied by mdb_put */
    gl_arena list_arena[STORE_LIST_DEPTH];
    unsigned list_depth;
    unsigned open_txns;       /* begun and not yet committed or aborted */
    store_txn *spare;         /* a freed transaction handle, reused by store_begin */
    size_t map_max, reserve;  /* store_opts */
    int map_full;             /* a write failed with MDB_MAP_FULL since the last growth */
};

struct store_txn {
    store *s;
    MDB_txn *txn;
    int write;
    int failed;               /* GL error of a failed write: the txn can only abort */
    uint64_t next_seq;        /* next event seq once known in this txn, else 0 */
    unsigned long changes;    /* bumped by every write and every cursor use, so
                                 a listing knows whether its cursor moved */
    int64_t count_delta[GL_DS_COUNT]; /* dispatches per state added in this txn,
                                 written to "counts" once, at commit
                                 (store_counts_flush) */
    int counts_dirty;
    MDB_cursor *cursor[DB_COUNT];
    MDB_cursor *point[DB_COUNT]; /* store_txn_point_get / _put: a record read
                                 and rewritten without a second search */
    /* store_history_add: the last entry it wrote in this transaction
     * (hist_no 0: none yet), and whether that is history's last key */
    uint64_t hist_seq;
    uint32_t hist_no;
    int hist_at_end;
    /* store_txn_put_edge and store_txn_append: a cursor kept at db's end.
     * LMDB's append through a cursor it left on the last leaf (its
     * end-of-data flag set) skips the search from the root, but trusts
     * that flag. In LMDB's current source a page split by another write
     * to db can leave the cursor on a leaf that is no longer the last,
     * and its next append would land out of order; Debian's 0.9.24 moves
     * its tracked cursors itself (bench/README.md, session 9). So, for
     * any LMDB, every other write to db closes it first
     * (store_txn_edge_forget), and the next append opens a fresh one,
     * which searches. */
    MDB_cursor *edge[DB_COUNT];
};

/* store_error translates an LMDB (or errno) result of op: 0 → 0,
 * MDB_NOTFOUND → GL_ENOTFOUND, MDB_MAP_FULL/ENOSPC/EDQUOT → GL_ESTORAGEFULL,
 * anything else is logged with mdb_strerror and gives GL_ESTORAGE. */
int store_error(int rc, const char *op);

/* store_txn_fail translates rc like store_error and marks t failed: LMDB
 * will not commit a transaction after a failed write, and store_commit then
 * returns this error. */
int store_txn_fail(store_txn *t, int rc, const char *op);

/* store_txn_get reads key k of db into v (valid until the next write).
 * 0, GL_ENOTFOUND, GL_ESTORAGE. */
int store_txn_get(store_txn *t, int db, MDB_val *k, MDB_val *v);

/* store_txn_put writes k → v in db with LMDB flags; with MDB_NOOVERWRITE or
 * MDB_APPEND an existing key gives GL_EBADSTATE and the transaction stays
 * usable. Other failures mark t failed. */
int store_txn_put(store_txn *t, int db, MDB_val *k, MDB_val *v, unsigned flags);

/* store_txn_put_edge is store_txn_put for keys that usually grow at the
 * right edge of db (a new event's seq, a time-ordered id, now + a delay):
 * a key above db's last one is appended (MDB_APPEND through db's edge
 * cursor, store_txn.edge: LMDB takes the last leaf the cursor stands on
 * instead of searching the tree, and splits it leaving the old page full);
 * any other key takes the ordinary put with flags. Same results as
 * store_txn_put. */
int store_txn_put_edge(store_txn *t, int db, MDB_val *k, MDB_val *v, unsigned flags);

/* store_txn_edge_forget closes db's edge cursor (store_txn.edge), if t
 * has one: every write to db in t that does not go through that cursor
 * calls it first; the next append opens a fresh cursor, which finds the
 * last leaf from the root. The store_txn_* writers call it themselves;
 * code writing to db through LMDB directly (mdb_drop, its own cursor's
 * mdb_cursor_del) must call it. */
void store_txn_edge_forget(store_txn *t, int db);

/* store_txn_append is store_txn_put with MDB_APPEND (and flags) through
 * db's edge cursor, like store_txn_put_edge's append but with no ordinary
 * put after it: a key not above db's last one gives GL_EBADSTATE, nothing
 * written, the transaction usable. */
int store_txn_append(store_txn *t, int db, MDB_val *k, MDB_val *v, unsigned flags);

/* store_timer_event_changed moves event ev's entry in the timers index from
 * the deadline the record was (NULL for a new event) calls for next to the
 * one ev calls for (store_timer_next). (store_timers.c) */
int store_timer_event_changed(store_txn *t, const gl_event *was, const gl_event *ev);

/* store_txn_point_get is store_txn_get through t's point cursor on db
 * (its own, used by nothing else), which stays on the record read, so that
 * store_txn_point_put can rewrite it without searching the tree again. */
int store_txn_point_get(store_txn *t, int db, MDB_val *k, MDB_val *v);

/* store_txn_point_put is store_txn_put of k → v with no flags; when db's
 * point cursor still stands on key k (nothing moved it since
 * store_txn_point_get read k), the record is replaced where it is
 * (MDB_CURRENT), else it is an ordinary put. */
int store_txn_point_put(store_txn *t, int db, MDB_val *k, MDB_val *v);

/* store_txn_cursor_put is store_txn_put through c, t's cursor on db
 * (store_txn_cursor): a cursor that stands near k already (a read just
 * before) finds k's page without searching from the root. */
int store_txn_cursor_put(store_txn *t, int db, MDB_cursor *c, MDB_val *k, MDB_val *v,
                         unsigned flags);

/* store_txn_point_del is store_txn_del_found through db's point cursor:
 * deletes that follow one another in a few leaves (the oldest entries of
 * pending_recent and due, as their dispatches are acknowledged) find the
 * leaf the cursor stands on without searching from the root. */
int store_txn_point_del(store_txn *t, int db, MDB_val *k, int *found);

/* store_txn_del deletes key k of db; a key already gone is not an error. */
int store_txn_del(store_txn *t, int db, MDB_val *k);

/* store_txn_del_found is store_txn_del that also says (*found, when not
 * NULL) whether the key was there. */
int store_txn_del_found(store_txn *t, int db, MDB_val *k, int *found);

/* store_txn_cursor returns t's cursor on db, opened on first use and closed
 * when t ends. Every call counts as a change (t->changes): the cursor is
 * shared, so whoever gets it must position it absolutely. */
int store_txn_cursor(store_txn *t, int db, MDB_cursor **c);

/* store_cursor_get is mdb_cursor_get with MDB_NOTFOUND as GL_ENOTFOUND. */
int store_cursor_get(MDB_cursor *c, MDB_val *k, MDB_val *v, MDB_cursor_op op);

/* --- keys: every number big-endian, so keys sort by it --- */

static inline void store_put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static inline uint64_t store_get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void store_put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static inline uint32_t store_get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* store_name_len checks that a key of fixed bytes plus name fits LMDB;
 * returns strlen(name), or 0 if name is NULL, empty or too long. */
static inline size_t store_name_len(const store *s, size_t fixed, const char *name)
{
    if (!name)
        return 0;
    size_t n = strlen(name);
    return n && fixed + n <= s->max_key ? n : 0;
}

/* store_dispatch_key writes the dispatches key seq·team; returns its length. */
static inline size_t store_dispatch_key(unsigned char *k, uint64_t seq, const char *team,
                                        size_t n)
{
    store_put_be64(k, seq);
    memcpy(k + 8, team, n);
    return 8 + n;
}

static inline MDB_val store_val(const void *p, size_t n)
{
    MDB_val v = {n, (void *)p};
    return v;
}

/* store_space.c */
/* store_space_grow grows the map before a write transaction when it is
 * three quarters used or a write found it full; call with no transaction of
 * this process open. Failures are logged; the write then goes on in the map
 * as it is. */
void store_space_grow(store *s);

/* store_space_failed takes the raw result rc of a failed write or commit:
 * notes a full map (for store_space_grow), and returns ENOSPC for an I/O
 * error while the disk is below the reserve (LMDB reports a short write as
 * EIO), else rc. */
int store_space_failed(store *s, int rc);

/* store_disk_free returns what the data file can still grow by on its disk:
 * free space on its file system for this user, within this process's
 * file-size limit (RLIMIT_FSIZE); UINT64_MAX when unknown. *file_size (if
 * not NULL) is set to the file's size (0 when unknown). */
uint64_t store_disk_free(store *s, uint64_t *file_size);

/* store_fsck_problem counts one problem in r and keeps the first ones'
 * text (store_fsck.c; the index checks of store_index.c report through it). */
void store_fsck_problem(store_fsck_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* store_db_entries returns the entries of db in t's view (0 on error).
 * (The staging databases, index_recent, pending_recent and board_recent,
 * settle into posting blocks: store_index_postings.c, store_pending.c.) */
uint64_t store_db_entries(store_txn *t, int db);

#endif
