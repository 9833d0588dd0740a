/* store.c — the durable store over one LMDB environment: environment,
 * transactions, events, dispatch records, figures (store.h has the layout
 * and contracts; store_lists.c the listings and history; store_records.c
 * the msgpack records).
 *
 * LMDB errors are translated here, where they enter: MDB_NOTFOUND is an
 * answer, MDB_MAP_FULL/ENOSPC mean "storage full", anything else is logged
 * with mdb_strerror and becomes GL_ESTORAGE. */
#define _POSIX_C_SOURCE 200809L
#include "store_impl.h"
#include "gl.h"
#include "log.h"
#include "store_fault.h"
#include "store_index.h"
#include "store_info.h"
#include "store_pending.h"
#include "store_postings.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

int (*store_fault_hook)(const char *op);

const char *const store_db_names[DB_COUNT] = {
    "events", "event_ids", "dispatches", "pending", "due", "history", "escalations", "alarms", "board", "timers",
    "event_index", "dead_letters", "counts", "members", "index_recent",
    "pending_recent",
    "board_recent",
    "team_recent",
};

#define STORE_DEFAULT_MAP ((size_t)1 << 30)
#define STORE_BEGIN_TRIES 3

/* --- errors --- */

int store_error(int rc, const char *op)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_NOTFOUND:
        return GL_ENOTFOUND;
    case MDB_MAP_FULL:
        /* Below its ceiling the map grows and the work is retried. */
        log_limited(LOG_WARN, "map_full", "store: %s: %s (it grows up to its ceiling)", op,
                    mdb_strerror(rc));
        return GL_ESTORAGEFULL;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        log_limited(LOG_ERROR, "store_full", "store: %s: %s", op, mdb_strerror(rc));
        return GL_ESTORAGEFULL;
    default:
        LOG_E("store: %s: %s", op, mdb_strerror(rc));
        return GL_ESTORAGE;
    }
}

static int store_fault(const char *op)
{
    return store_fault_hook ? store_fault_hook(op) : 0;
}

int store_txn_fail(store_txn *t, int rc, const char *op)
{
    int err = store_error(store_space_failed(t->s, rc), op);
    if (!t->failed)
        t->failed = err;
    return err;
}

/* due key: ms seq team */
static size_t due_key(unsigned char *k, uint64_t ms, uint64_t seq, const char *team, size_t n)
{
    store_put_be64(k, ms);
    store_put_be64(k + 8, seq);
    memcpy(k + 16, team, n);
    return 16 + n;
}

/* --- environment --- */

/* index_if_missing builds the history-query indexes and the dispatch
 * counts of a store made before they existed (events but an empty
 * event_index, index_recent and team_recent, or dispatches but no
 * counts). An event's entries may all wait in index_recent and
 * team_recent (every dimension but the alarm is staged): an empty
 * event_index alone says nothing. */
static int index_if_missing(store *s, const char *dir)
{
    MDB_txn *txn;
    MDB_stat ev, ix, ds, counts, recent, teams;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return store_error(rc, "begin read");
    rc = mdb_stat(txn, s->dbi[DB_EVENTS], &ev);
    if (!rc)
        rc = mdb_stat(txn, s->dbi[DB_EVENT_INDEX], &ix);
    if (!rc)
        rc = mdb_stat(txn, s->dbi[DB_INDEX_RECENT], &recent);
    if (!rc)
        rc = mdb_stat(txn, s->dbi[DB_TEAM_RECENT], &teams);
    if (!rc)
        ix.ms_entries += recent.ms_entries + teams.ms_entries;
    if (!rc)
        rc = mdb_stat(txn, s->dbi[DB_DISPATCHES], &ds);
    if (!rc)
        rc = mdb_stat(txn, s->dbi[DB_COUNTS], &counts);
    mdb_txn_abort(txn);
    if (rc)
        return store_error(rc, "stat");
    if (ev.ms_entries == 0 || (ix.ms_entries != 0 && (ds.ms_entries == 0 || counts.ms_entries != 0)))
        return 0;
    uint64_t n = 0;
    int err = store_index_rebuild(s, &n);
    if (err == 0)
        LOG_I("store: built the event index of %s (%llu events)", dir, (unsigned long long)n);
    return err;
}

int store_open(const char *dir, const store_opts *opts, store **out)
{
    *out = NULL;
    struct stat st;
    int read_only = opts && opts->read_only;
    if (!read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        LOG_E("store: mkdir %s: %s", dir, strerror(errno));
        return GL_ESYS;
    }
    int found = stat(dir, &st) == 0;
    if (!found || !S_ISDIR(st.st_mode)) {
        LOG_E("store: %s %s", dir, found ? "is not a directory" : "does not exist");
        return GL_ESYS;
    }
    store *s = calloc(1, sizeof *s);
    if (!s)
        return GL_EINTERNAL;
    msgpack_sbuffer_init(&s->sbuf);
    int err = GL_ESTORAGE;
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&s->env);
    if (rc) {
        s->env = NULL;
        goto fail;
    }
    size_t map_size = opts && opts->map_size ? opts->map_size : STORE_DEFAULT_MAP;
    s->map_max = opts && opts->map_max > map_size ? opts->map_max : map_size;
    s->reserve = opts ? opts->reserve : 0;
    /* Read-only, the map is the size the writers last left in the file. */
    if ((rc = mdb_env_set_maxdbs(s->env, DB_COUNT)) != 0 ||
        (!read_only && (rc = mdb_env_set_mapsize(s->env, map_size)) != 0))
        goto fail;
    /* MDB_NOTLS: a reader slot belongs to the transaction, not the thread,
     * so one thread may hold several read transactions. By default LMDB's
     * full sync: a commit returns once its pages and its meta page are on
     * disk (DESIGN.md §4.1). With meta_after_lock, MDB_NOMETASYNC: the
     * meta page is flushed by store_sync after the writer lock is
     * released, and store_commit returns only once it is on disk (the
     * reasoning is at store_sync). */
    s->meta_after_lock = opts && opts->meta_after_lock && !read_only;
    unsigned env_flags =
        MDB_NOTLS | (read_only ? MDB_RDONLY : s->meta_after_lock ? MDB_NOMETASYNC : 0);
    if ((rc = mdb_env_open(s->env, dir, env_flags, 0600)) != 0)
        goto fail;
    int dead = 0;
    if (mdb_reader_check(s->env, &dead) == 0 && dead > 0)
        LOG_I("store: cleared %d stale reader slot(s) in %s", dead, dir);
    int max_key = mdb_env_get_maxkeysize(s->env);
    s->max_key = max_key > 0 && max_key < STORE_KEY_MAX ? (size_t)max_key : STORE_KEY_MAX;
    /* A process that just opened a large store likely finds its pages on
     * the disk (a restart): its first settles read ahead, outside the lock.
     * A small one is soon all in memory, and there the pass is only a cost
     * (about 3% of the filing worker's instructions). */
    MDB_envinfo info;
    MDB_stat env_stat;
    if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &env_stat) == 0 &&
        (uint64_t)info.me_last_pgno * env_stat.ms_psize >= SETTLE_WARM_FROM_BYTES)
        s->settle_warm = SETTLE_WARM_FOR;

    /* Handles opened in a committed transaction stay valid for the life of
     * the environment. Creating them needs a write transaction. */
    unsigned txn_flags = read_only ? MDB_RDONLY : 0;
    rc = mdb_txn_begin(s->env, NULL, txn_flags, &txn);
    if (rc == MDB_MAP_RESIZED && (rc = mdb_env_set_mapsize(s->env, 0)) == 0)
        rc = mdb_txn_begin(s->env, NULL, txn_flags, &txn);
    if (rc)
        goto fail;
    int made_teams = 0;
    for (int i = 0; i < DB_COUNT; i++) {
        /* A store without team_recent may have team entries waiting in
         * index_recent: they move once, in the transaction that makes it. */
        if (i == DB_TEAM_RECENT && !read_only)
            made_teams = mdb_dbi_open(txn, store_db_names[i], 0, &s->dbi[i]) == MDB_NOTFOUND;
        if ((rc = mdb_dbi_open(txn, store_db_names[i], read_only ? 0 : MDB_CREATE,
                               &s->dbi[i])) != 0) {
            if (rc == MDB_NOTFOUND && read_only)
                LOG_E("store: %s has no database '%s': it was made by an older gridline. "
                      "Start a worker on it once: it adds what is missing", dir,
                      store_db_names[i]);
            goto fail;
        }
    }
    size_t moved = 0;
    if (made_teams && (rc = store_index_move_teams(txn, s->dbi[DB_INDEX_RECENT],
                                                   s->dbi[DB_TEAM_RECENT], &moved)) != 0)
        goto fail;
    if (moved)
        LOG_I("store: moved %zu waiting team index entries of %s to team_recent", moved, dir);
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (!rc && !read_only)
        rc = mdb_env_sync(s->env, 1); /* the meta page of the databases just made */
    if (rc)
        goto fail;
    if (!read_only && (err = index_if_missing(s, dir)) != 0) {
        store_close(&s);
        return err;
    }
    *out = s;
    return 0;

fail:
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT)
        err = GL_ESTORAGEFULL;
    LOG_E("store: open %s: %s", dir, mdb_strerror(rc));
    if (txn)
        mdb_txn_abort(txn);
    if (s->env)
        mdb_env_close(s->env);
    msgpack_sbuffer_destroy(&s->sbuf);
    free(s);
    return err;
}

void store_close(store **sp)
{
    store *s = sp ? *sp : NULL;
    if (!s)
        return;
    *sp = NULL;
    mdb_env_close(s->env);
    free(s->spare);
    for (int i = 0; i < STORE_LIST_DEPTH; i++)
        arena_free(&s->list_arena[i]);
    msgpack_sbuffer_destroy(&s->sbuf);
    free(s);
}

/* --- transactions --- */

int store_begin(store *s, int write, store_txn **out)
{
    *out = NULL;
    MDB_txn *txn = NULL;
    int rc = 0;
    if (s->sync_failed) {
        log_limited(LOG_ERROR, "sync_failed",
                    "store: refusing a transaction: a flush of the data file failed (%s); "
                    "check the disk, then restart the process",
                    mdb_strerror(s->sync_failed));
        return GL_ESTORAGE;
    }
    if (write && !s->open_txns)
        store_space_grow(s);
    for (int tries = 0; tries < STORE_BEGIN_TRIES; tries++) {
        rc = store_fault("begin");
        if (!rc)
            rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &txn);
        if (rc == MDB_MAP_RESIZED) {
            /* Another process grew the map: adopt its size and retry. The
             * remap would pull the map from under our own open transactions,
             * so with any open the caller must end them first. */
            if (s->open_txns) {
                LOG_E("store: map resized by another process while %u transaction(s) "
                      "of this process are open; end them and retry", s->open_txns);
                return GL_ESTORAGE;
            }
            int rc2 = mdb_env_set_mapsize(s->env, 0);
            if (rc2) {
                rc = rc2;
                break;
            }
        } else if (rc == MDB_READERS_FULL) {
            /* Slots of killed processes are freed lazily; free them now. */
            int dead = 0;
            if (mdb_reader_check(s->env, &dead) != 0 || dead == 0)
                break;
        } else {
            break;
        }
    }
    if (rc == MDB_PANIC && !s->sync_failed) {
        /* LMDB's own flush of a meta page failed: the environment is
         * unusable for this process, as after a failed store_sync. */
        s->sync_failed = rc;
        LOG_E("store: the environment is marked failed (%s); this process's store refuses "
              "every transaction from now on", mdb_strerror(rc));
    }
    if (rc)
        return store_error(rc, write ? "begin write" : "begin read");

    store_txn *t = s->spare;
    s->spare = NULL;
    if (!t && !(t = malloc(sizeof *t))) {
        mdb_txn_abort(txn);
        return GL_EINTERNAL;
    }
    memset(t, 0, sizeof *t);
    t->s = s;
    t->txn = txn;
    t->write = write != 0;
    s->open_txns++;
    *out = t;
    return 0;
}

/* txn_close_cursors closes t's cursors before the transaction ends, which
 * LMDB allows for both kinds of transaction. */
static void txn_close_cursors(store_txn *t)
{
    for (int i = 0; i < DB_COUNT; i++) {
        if (t->cursor[i]) {
            mdb_cursor_close(t->cursor[i]);
            t->cursor[i] = NULL;
        }
        if (t->point[i]) {
            mdb_cursor_close(t->point[i]);
            t->point[i] = NULL;
        }
        if (t->edge[i]) {
            mdb_cursor_close(t->edge[i]);
            t->edge[i] = NULL;
        }
    }
}

/* txn_release keeps one handle for the next store_begin. */
static void txn_release(store_txn *t)
{
    store *s = t->s;
    s->open_txns--;
    if (!s->spare)
        s->spare = t;
    else
        free(t);
}

/* store_sync flushes the data file after a write transaction has
 * committed, outside LMDB's writer lock. With meta_after_lock the
 * environment is opened with MDB_NOMETASYNC, so mdb_txn_commit (under the
 * lock) writes the dirty pages, fdatasyncs them, and then writes the meta
 * page through the plain fd without a flush; the flush of the meta page is
 * this one. (By default it runs only after a transaction that wrote
 * nothing, when what it read may not be flushed yet: store_commit.)
 * Measured, meta_after_lock bought no throughput, and an alert's FILED
 * p99 under a routine flood went from 2.5 to 7 ms (bench/README.md,
 * session 6): the alert worker's commit then waits on flushes of the
 * routine worker's that no longer hold the lock. Checked in LMDB 0.9's
 * mdb.c:
 *  - mdb_txn_commit: mdb_page_flush, then mdb_env_sync (skipped only with
 *    MDB_NOSYNC, not MDB_NOMETASYNC), then mdb_env_write_meta, then the
 *    unlock. The data pages are on disk before the meta page that points to
 *    them is written, so a power cut leaves an intact store at the last
 *    durable meta: it can lose only the last transaction, and no process
 *    told anyone of that one before this flush returned.
 *  - mdb_env_write_meta writes through me_fd when MDB_NOSYNC or
 *    MDB_NOMETASYNC is set, else through me_mfd, a second fd opened with
 *    O_DSYNC (opened by mdb_env_open for writers either way; read-only and
 *    WRITEMAP environments use me_fd).
 *  - mdb_env_sync takes no lock: an fdatasync of me_fd, safe while
 *    another process holds the writer lock (its pages written by then are
 *    flushed too). It refuses (EACCES) on a read-only environment, which
 *    has no write transactions to flush.
 * Since the meta page goes to the page cache before the unlock, readers
 * in any process (status, listings, the other worker's dedupe lookup and
 * resends) may see transaction N before it is durable, for the length of
 * one fdatasync; before, they saw it only once its O_DSYNC write returned.
 * No answer a terminal relies on is given from that window: a worker
 * answers after its own store_commit, which syncs even when its
 * transaction wrote nothing (a batch of duplicates found in N), and any
 * later writer's commit flushes N before its own meta page. A resend read
 * in the window may reach a responder for a transaction a power cut then
 * loses (dispatch is at least once; its terminal was never told "filed"
 * and retries). mdb_env_copy (unused here) could likewise copy N.
 *
 * A failed flush leaves N visible but not known to be on disk, and after
 * a write error Linux may drop the pages, so a later flush that succeeds
 * proves nothing about N. store_sync then reports GL_ESTORAGE (the caller
 * answers errors for the whole transaction; nothing was "filed") and marks
 * the handle failed, as LMDB marks an environment whose meta write failed
 * (MDB_PANIC): every later store_begin refuses with GL_ESTORAGE until the
 * process reopens the store, so no dedupe answer of this process can call
 * N filed. Other processes' next flush reports the same write error, on
 * their own fds. */
static int store_sync(store *s)
{
    int rc = store_fault("sync");
    if (!rc)
        rc = mdb_env_sync(s->env, 1);
    if (!rc)
        return 0;
    s->sync_failed = rc;
    LOG_E("store: the flush after a commit failed: %s; this process's store refuses every "
          "transaction from now on (check the disk; the process must be restarted)",
          mdb_strerror(rc));
    return GL_ESTORAGE;
}

int store_failed(const store *s)
{
    return s ? s->sync_failed : 0;
}

int store_commit(store_txn **tp)
{
    store_txn *t = tp ? *tp : NULL;
    if (!t)
        return GL_EINTERNAL;
    *tp = NULL;
    /* The dispatch counts a batch changed, written once. */
    int err = t->failed;
    if (!err && t->write && t->counts_dirty && (err = store_counts_flush(t)) != 0 && !t->failed)
        t->failed = err;
    txn_close_cursors(t);
    err = t->failed;
    if (err) {
        mdb_txn_abort(t->txn);
    } else {
        int rc = t->write ? store_fault("commit") : 0;
        size_t id = t->write ? mdb_txn_id(t->txn) : 0;
        if (rc)
            mdb_txn_abort(t->txn);
        else
            rc = mdb_txn_commit(t->txn); /* frees the txn even when it fails */
        err = store_error(rc ? store_space_failed(t->s, rc) : 0, "commit");
        /* On disk at return, also for a transaction that wrote nothing.
         * By default LMDB's full sync flushed a transaction that wrote
         * (its pages, then its meta page through LMDB's O_DSYNC
         * descriptor, a flush of that page alone). One that wrote nothing
         * left the last transaction id below its own, and then what it
         * read, transaction id - 1, may be another process's commit whose
         * meta page is not flushed yet (being written, or flushed after
         * the lock by a process with meta_after_lock). An id at or above
         * its own means a transaction at least as new committed, and LMDB
         * flushes a commit's pages before writing its meta page:
         * everything it read was on disk by then. With meta_after_lock
         * every write transaction flushes here (store_sync). */
        MDB_envinfo info;
        if (!err && t->write &&
            (t->s->meta_after_lock || mdb_env_info(t->s->env, &info) != 0 ||
             info.me_last_txnid < id))
            err = store_sync(t->s);
    }
    txn_release(t);
    return err;
}

void store_abort(store_txn **tp)
{
    store_txn *t = tp ? *tp : NULL;
    if (!t)
        return;
    *tp = NULL;
    txn_close_cursors(t);
    mdb_txn_abort(t->txn);
    txn_release(t);
}

/* --- LMDB access with translation (contracts in store_impl.h) --- */

int store_txn_get(store_txn *t, int db, MDB_val *k, MDB_val *v)
{
    int rc = mdb_get(t->txn, t->s->dbi[db], k, v);
    if (rc == MDB_NOTFOUND)
        return GL_ENOTFOUND;
    return store_error(rc, store_db_names[db]);
}

static int point_cursor(store_txn *t, int db)
{
    if (t->point[db])
        return 0;
    int rc = mdb_cursor_open(t->txn, t->s->dbi[db], &t->point[db]);
    if (rc)
        t->point[db] = NULL;
    return store_error(rc, store_db_names[db]);
}

void store_txn_edge_forget(store_txn *t, int db)
{
    if (t->edge[db]) {
        mdb_cursor_close(t->edge[db]);
        t->edge[db] = NULL;
    }
}

int store_txn_point_get(store_txn *t, int db, MDB_val *k, MDB_val *v)
{
    int rc = point_cursor(t, db);
    if (rc)
        return rc;
    rc = mdb_cursor_get(t->point[db], k, v, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND)
        return GL_ENOTFOUND;
    return store_error(rc, store_db_names[db]);
}

int store_txn_point_put(store_txn *t, int db, MDB_val *k, MDB_val *v)
{
    MDB_cursor *c = t->point[db];
    MDB_val ck, cv;
    /* Where the cursor stands now: LMDB keeps an open cursor on its entry
     * through other writes of the transaction, but another read or write
     * through this one moves it. Only the same key is replaced in place. */
    if (!c || mdb_cursor_get(c, &ck, &cv, MDB_GET_CURRENT) != 0 || ck.mv_size != k->mv_size ||
        memcmp(ck.mv_data, k->mv_data, k->mv_size) != 0)
        return store_txn_put(t, db, k, v, 0);
    store_txn_edge_forget(t, db);
    t->changes++;
    int rc = store_fault("put");
    if (!rc)
        rc = mdb_cursor_put(c, k, v, MDB_CURRENT);
    return rc ? store_txn_fail(t, rc, store_db_names[db]) : 0;
}

int store_txn_point_del(store_txn *t, int db, MDB_val *k, int *found)
{
    if (found)
        *found = 0;
    store_txn_edge_forget(t, db);
    t->changes++;
    int rc = store_fault("del");
    if (rc)
        return store_txn_fail(t, rc, store_db_names[db]);
    if ((rc = point_cursor(t, db)) != 0)
        return rc;
    MDB_val key = *k, v;
    rc = mdb_cursor_get(t->point[db], &key, &v, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (!rc)
        rc = mdb_cursor_del(t->point[db], 0);
    if (found)
        *found = rc == 0;
    return rc ? store_txn_fail(t, rc, store_db_names[db]) : 0;
}

int store_txn_put(store_txn *t, int db, MDB_val *k, MDB_val *v, unsigned flags)
{
    store_txn_edge_forget(t, db);
    t->changes++;
    int rc = store_fault("put");
    if (!rc)
        rc = mdb_put(t->txn, t->s->dbi[db], k, v, flags);
    if (rc == MDB_KEYEXIST)
        return GL_EBADSTATE;
    return rc ? store_txn_fail(t, rc, store_db_names[db]) : 0;
}

int store_txn_cursor_put(store_txn *t, int db, MDB_cursor *c, MDB_val *k, MDB_val *v,
                         unsigned flags)
{
    store_txn_edge_forget(t, db);
    t->changes++;
    int rc = store_fault("put");
    if (!rc)
        rc = mdb_cursor_put(c, k, v, flags);
    if (rc == MDB_KEYEXIST)
        return GL_EBADSTATE;
    return rc ? store_txn_fail(t, rc, store_db_names[db]) : 0;
}

/* edge_append appends k → v (flags | MDB_APPEND) through db's edge
 * cursor, opened first when there is none: an LMDB result. */
static int edge_append(store_txn *t, int db, MDB_val *k, MDB_val *v, unsigned flags)
{
    if (!t->edge[db]) {
        int rc = mdb_cursor_open(t->txn, t->s->dbi[db], &t->edge[db]);
        if (rc) {
            t->edge[db] = NULL;
            return rc;
        }
    }
    return mdb_cursor_put(t->edge[db], k, v, flags | MDB_APPEND);
}

int store_txn_put_edge(store_txn *t, int db, MDB_val *k, MDB_val *v, unsigned flags)
{
    t->changes++;
    int rc = store_fault("put");
    if (!rc) {
        rc = edge_append(t, db, k, v, flags);
        /* Not above the last key: LMDB refused before touching anything.
         * The ordinary put is a write not through the edge cursor. */
        if (rc == MDB_KEYEXIST) {
            store_txn_edge_forget(t, db);
            rc = mdb_put(t->txn, t->s->dbi[db], k, v, flags);
        }
    }
    if (rc == MDB_KEYEXIST)
        return GL_EBADSTATE;
    return rc ? store_txn_fail(t, rc, store_db_names[db]) : 0;
}

int store_txn_append(store_txn *t, int db, MDB_val *k, MDB_val *v, unsigned flags)
{
    t->changes++;
    int rc = store_fault("put");
    if (!rc)
        rc = edge_append(t, db, k, v, flags);
    if (rc == MDB_KEYEXIST)
        return GL_EBADSTATE;
    return rc ? store_txn_fail(t, rc, store_db_names[db]) : 0;
}

int store_txn_del(store_txn *t, int db, MDB_val *k)
{
    return store_txn_del_found(t, db, k, NULL);
}

int store_txn_del_found(store_txn *t, int db, MDB_val *k, int *found)
{
    store_txn_edge_forget(t, db);
    t->changes++;
    int rc = store_fault("del");
    if (!rc)
        rc = mdb_del(t->txn, t->s->dbi[db], k, NULL);
    if (found)
        *found = rc == 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? store_txn_fail(t, rc, store_db_names[db]) : 0;
}

int store_txn_cursor(store_txn *t, int db, MDB_cursor **c)
{
    t->changes++;
    if (!t->cursor[db]) {
        int rc = mdb_cursor_open(t->txn, t->s->dbi[db], &t->cursor[db]);
        if (rc) {
            t->cursor[db] = NULL;
            return store_error(rc, store_db_names[db]);
        }
    }
    *c = t->cursor[db];
    return 0;
}

int store_cursor_get(MDB_cursor *c, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
    int rc = mdb_cursor_get(c, k, v, op);
    if (rc == MDB_NOTFOUND)
        return GL_ENOTFOUND;
    return store_error(rc, "cursor");
}

/* --- events --- */

int store_event_find(store_txn *t, const char *id, uint64_t *seq)
{
    size_t n = store_name_len(t->s, 0, id);
    if (!n)
        return GL_EBADFIELD;
    MDB_val k = store_val(id, n), v;
    /* Through the point cursor: a new id is then put where the cursor
     * stopped (store_event_add), without a second search. */
    int err = store_txn_point_get(t, DB_EVENT_IDS, &k, &v);
    if (err)
        return err;
    if (v.mv_size != 8) {
        LOG_E("store: event_ids entry for '%s' has %zu bytes", id, v.mv_size);
        return GL_ESTORAGE;
    }
    *seq = store_get_be64(v.mv_data);
    return 0;
}

/* last_seq reads the highest seq in events, 0 when there is none. */
static int last_seq(store_txn *t, uint64_t *seq)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int err = store_txn_cursor(t, DB_EVENTS, &c);
    if (!err)
        err = store_cursor_get(c, &k, &v, MDB_LAST);
    *seq = 0;
    if (err == GL_ENOTFOUND)
        return 0;
    if (err)
        return err;
    if (k.mv_size != 8) {
        LOG_E("store: events key of %zu bytes", k.mv_size);
        return GL_ESTORAGE;
    }
    *seq = store_get_be64(k.mv_data);
    return 0;
}

int store_event_next_seq(store_txn *t, uint64_t *seq)
{
    if (t->failed)
        return t->failed;
    if (!t->next_seq) {
        uint64_t last;
        int err = last_seq(t, &last);
        if (err)
            return err;
        t->next_seq = last + 1;
    }
    *seq = t->next_seq;
    return 0;
}

/* id_put puts a new id into event_ids as store_txn_put_edge does (an
 * append tried first, which LMDB refuses before touching anything when the
 * id is not above the last), except that the put where the id belongs goes
 * through the point cursor: store_event_find, which found the id new, left
 * it where the id goes, and LMDB then finds the place without a search
 * from the root. A cursor standing anywhere else costs the search, as
 * before. */
static int id_put(store_txn *t, MDB_val *k, MDB_val *v)
{
    MDB_cursor *c = t->point[DB_EVENT_IDS];
    if (!c)
        return store_txn_put_edge(t, DB_EVENT_IDS, k, v, MDB_NOOVERWRITE);
    store_txn_edge_forget(t, DB_EVENT_IDS);
    t->changes++;
    int rc = store_fault("put");
    if (!rc) {
        rc = mdb_put(t->txn, t->s->dbi[DB_EVENT_IDS], k, v, MDB_NOOVERWRITE | MDB_APPEND);
        if (rc == MDB_KEYEXIST)
            rc = mdb_cursor_put(c, k, v, MDB_NOOVERWRITE);
    }
    if (rc == MDB_KEYEXIST)
        return GL_EBADSTATE;
    return rc ? store_txn_fail(t, rc, store_db_names[DB_EVENT_IDS]) : 0;
}

int store_event_add(store_txn *t, gl_event *ev)
{
    store *s = t->s;
    size_t n = store_name_len(s, 0, ev->id);
    if (!n)
        return GL_EBADFIELD;
    uint64_t next;
    int err = store_event_next_seq(t, &next);
    if (err)
        return err;
    gl_event rec = *ev;
    rec.seq = next;
    err = store_rec_encode_event(&s->sbuf, &rec);
    if (err)
        return err;

    unsigned char seq_key[8];
    store_put_be64(seq_key, rec.seq);
    MDB_val idk = store_val(ev->id, n), seqv = store_val(seq_key, 8);
    /* The index goes first: an existing id stops here with nothing written. */
    if ((err = id_put(t, &idk, &seqv)) != 0)
        return err;
    MDB_val k = store_val(seq_key, 8), v = store_val(s->sbuf.data, s->sbuf.size);
    if ((err = store_txn_append(t, DB_EVENTS, &k, &v, 0)) != 0) {
        if (err == GL_EBADSTATE) /* seq not above the last: the store is inconsistent */
            err = store_txn_fail(t, MDB_CORRUPTED, "events append");
        return err;
    }
    if ((err = store_index_event_added(t, &rec)) != 0 ||
        (err = store_timer_event_changed(t, NULL, &rec)) != 0)
        return err;
    ev->seq = rec.seq;
    t->next_seq++;
    return 0;
}

int store_event_get(store_txn *t, uint64_t seq, gl_event *ev, gl_arena *arena)
{
    unsigned char key[8];
    store_put_be64(key, seq);
    MDB_val k = store_val(key, 8), v;
    int err = store_txn_point_get(t, DB_EVENTS, &k, &v);
    if (err)
        return err;
    err = store_rec_decode_event(key, sizeof key, v.mv_data, v.mv_size, ev, arena);
    if (err == GL_ESTORAGE)
        LOG_E("store: event %llu: malformed record", (unsigned long long)seq);
    ev->seq = seq;
    return err;
}

int store_event_put(store_txn *t, const gl_event *ev)
{
    store *s = t->s;
    if (t->failed)
        return t->failed;
    unsigned char key[8];
    store_put_be64(key, ev->seq);
    MDB_val k = store_val(key, 8), v;
    int err = store_txn_point_get(t, DB_EVENTS, &k, &v);
    if (err)
        return err;
    /* v is the record as it was: its index entries move to what ev says,
     * once its id is found to stay the same (store_index_event_changed). */
    if ((err = store_index_event_changed(t, v.mv_data, v.mv_size, ev)) != 0)
        return err;
    if ((err = store_rec_encode_event(&s->sbuf, ev)) != 0)
        return err;
    v = store_val(s->sbuf.data, s->sbuf.size);
    k = store_val(key, 8);
    return store_txn_point_put(t, DB_EVENTS, &k, &v);
}

int store_event_replace(store_txn *t, const gl_event *ev, const gl_event *was)
{
    store *s = t->s;
    if (t->failed)
        return t->failed;
    int err = store_index_event_replaced(t, was, ev);
    if (err == 0)
        err = store_rec_encode_event(&s->sbuf, ev);
    if (err)
        return err;
    unsigned char key[8];
    store_put_be64(key, ev->seq);
    MDB_val k = store_val(key, 8), v = store_val(s->sbuf.data, s->sbuf.size);
    return store_txn_point_put(t, DB_EVENTS, &k, &v);
}

/* --- dispatches --- */

int store_dispatch_get(store_txn *t, uint64_t seq, const char *team, gl_dispatch *d,
                       gl_arena *arena)
{
    unsigned char key[STORE_KEY_MAX];
    size_t n = store_name_len(t->s, 8, team);
    if (!n)
        return GL_EBADFIELD;
    MDB_val k = store_val(key, store_dispatch_key(key, seq, team, n)), v;
    int err = store_txn_point_get(t, DB_DISPATCHES, &k, &v);
    if (err)
        return err;
    err = store_rec_decode_dispatch(k.mv_data, k.mv_size, v.mv_data, v.mv_size, d, arena);
    if (err == GL_ESTORAGE)
        LOG_E("store: dispatch %llu/%s: malformed record", (unsigned long long)seq, team);
    return err;
}

int store_dispatch_put(store_txn *t, const gl_dispatch *d)
{
    if (!store_name_len(t->s, 16, d->team))
        return GL_EBADFIELD;
    if (t->failed)
        return t->failed;
    /* What the indexes say now is what the previous record says. */
    gl_dispatch old;
    int err = store_dispatch_get(t, d->seq, d->team, &old, NULL);
    if (err == GL_ENOTFOUND)
        memset(&old, 0, sizeof old);
    else if (err)
        return err;
    return store_dispatch_replace(t, d, &old);
}

int store_dispatch_replace(store_txn *t, const gl_dispatch *d, const gl_dispatch *was)
{
    store *s = t->s;
    unsigned char key[STORE_KEY_MAX];
    size_t n = store_name_len(s, 16, d->team); /* the due key is the longest: 16 + team */
    if (!n)
        return GL_EBADFIELD;
    if (t->failed)
        return t->failed;
    /* Only the fields the indexes follow. */
    gl_dispatch old = {.state = was->state, .next_retry_ms = was->next_retry_ms};
    int err;
    if ((err = store_rec_encode_dispatch(&s->sbuf, d)) != 0)
        return err;
    MDB_val k = store_val(key, store_dispatch_key(key, d->seq, d->team, n));
    MDB_val v = store_val(s->sbuf.data, s->sbuf.size), empty = store_val("", 0);
    if ((err = store_txn_point_put(t, DB_DISPATCHES, &k, &v)) != 0 ||
        (err = store_index_dispatch_changed(t, old.state, d)) != 0)
        return err;

    int was_pending = old.state == GL_DS_PENDING, is_pending = d->state == GL_DS_PENDING;
    if (was_pending != is_pending) {
        /* Becoming PENDING again goes straight into its team's block in
         * "pending"; a new dispatch's entry (store_dispatch_add) may still
         * wait in pending_recent, under its dispatch key, else it is in a
         * block or a key of its own (store_pending.h). */
        int recent = 0; /* the entry was in pending_recent: none in "pending" */
        if (!is_pending && (err = store_txn_point_del(t, DB_PENDING_RECENT, &k, &recent)) != 0)
            return err;
        err = is_pending ? pend_put(t, d->team, n, d->seq)
              : recent   ? 0
                         : pend_remove(t, d->team, n, d->seq);
        if (err)
            return err;
    }
    if (old.next_retry_ms != d->next_retry_ms) {
        if (old.next_retry_ms) {
            k = store_val(key, due_key(key, old.next_retry_ms, d->seq, d->team, n));
            if ((err = store_txn_point_del(t, DB_DUE, &k, NULL)) != 0)
                return err;
        }
        if (d->next_retry_ms) {
            k = store_val(key, due_key(key, d->next_retry_ms, d->seq, d->team, n));
            if ((err = store_txn_put(t, DB_DUE, &k, &empty, 0)) != 0)
                return err;
        }
    }
    return 0;
}

int store_dispatch_add(store_txn *t, const gl_dispatch *d, uint64_t event_ms)
{
    store *s = t->s;
    unsigned char key[STORE_KEY_MAX];
    size_t n = store_name_len(s, 16, d->team); /* the due key is the longest: 16 + team */
    if (!n)
        return GL_EBADFIELD;
    if (t->failed)
        return t->failed;
    int err = store_rec_encode_dispatch(&s->sbuf, d);
    if (err)
        return err;
    MDB_val k = store_val(key, store_dispatch_key(key, d->seq, d->team, n));
    MDB_val v = store_val(s->sbuf.data, s->sbuf.size), empty = store_val("", 0);
    /* An existing record stops here with nothing written. */
    if ((err = store_txn_put_edge(t, DB_DISPATCHES, &k, &v, MDB_NOOVERWRITE)) != 0 ||
        (err = store_index_dispatch_added(t, d, event_ms)) != 0)
        return err;
    if (d->state == GL_DS_PENDING) {
        /* At the right edge of pending_recent, under its dispatch key (seq,
         * team), settled into "pending" in bulk (store_pending.h). */
        if ((err = store_txn_put_edge(t, DB_PENDING_RECENT, &k, &empty, 0)) != 0)
            return err;
    }
    if (d->next_retry_ms) {
        k = store_val(key, due_key(key, d->next_retry_ms, d->seq, d->team, n));
        if ((err = store_txn_put_edge(t, DB_DUE, &k, &empty, 0)) != 0)
            return err;
    }
    return 0;
}

/* --- figures --- */

int store_get_stats(store_txn *t, store_stats *st)
{
    store *s = t->s;
    MDB_stat ms[DB_COUNT];
    MDB_envinfo info;
    memset(st, 0, sizeof *st);
    for (int i = 0; i < DB_COUNT; i++) {
        int rc = mdb_stat(t->txn, s->dbi[i], &ms[i]);
        if (rc)
            return store_error(rc, "stat");
    }
    int rc = mdb_env_info(s->env, &info);
    if (rc)
        return store_error(rc, "env info");
    st->events = ms[DB_EVENTS].ms_entries;
    st->dispatches = ms[DB_DISPATCHES].ms_entries;
    /* "pending" counts a block as one entry: the PENDING figure of the
     * dispatch counts is exact (store_pending.h). A store made before the
     * counts, opened read-only, has none, and no blocks either. */
    st->pending = ms[DB_PENDING].ms_entries + ms[DB_PENDING_RECENT].ms_entries;
    uint64_t counts[GL_DS_COUNT];
    if (ms[DB_COUNTS].ms_entries || ms[DB_DISPATCHES].ms_entries == 0) {
        int err = store_dispatch_counts(t, counts);
        if (err)
            return err;
        st->pending = counts[GL_DS_PENDING];
    }
    st->scheduled = ms[DB_DUE].ms_entries;
    st->escalating = ms[DB_ESCALATIONS].ms_entries;
    st->alarms = ms[DB_ALARMS].ms_entries;
    st->map_size = info.me_mapsize;
    st->map_used = (info.me_last_pgno + 1) * (uint64_t)ms[DB_EVENTS].ms_psize;
    return last_seq(t, &st->last_seq);
}

uint64_t store_db_entries(store_txn *t, int db)
{
    MDB_stat ms;
    return mdb_stat(t->txn, t->s->dbi[db], &ms) == 0 ? ms.ms_entries : 0;
}
