/* Tests for the flush store_commit makes after LMDB's commit (store.c,
 * store_sync). By default LMDB's full sync flushes a commit that wrote, and
 * store_sync runs only for a write transaction that wrote nothing while no
 * other commit followed the one it read. With meta_after_lock
 * (gridline-worker --meta-after-lock): every write commit flushes, also one that wrote nothing (a
 * batch of duplicates must not be answered before the first copy it found
 * is on disk), a read commit does not; a failed flush is a storage error,
 * after which the handle refuses every transaction, so nothing of this
 * process can call the transaction done; the transaction itself stays
 * (visible, not known durable): after a reopen its id is found, a retry
 * gets the first answer, and the next event takes the next seq. The failures
 * are injected with the store's fault hook (store_fault.h). */
#include "../common/gl.h"
#include "../common/log.h"
#include "../common/records.h"
#include "../common/store.h"
#include "../common/store_fault.h"
#include "tap.h"
#include "support/store_test.h"

#include <errno.h>
#include <lmdb.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    if (dir[0])
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int sync_rc;   /* what the "sync" step returns; 0: it runs */
static int syncs;     /* "sync" steps reached */
static int begin_rc;  /* what the "begin" step returns; 0: it runs */

static int fault_hook(const char *op)
{
    if (strcmp(op, "begin") == 0)
        return begin_rc;
    if (strcmp(op, "sync") != 0)
        return 0;
    syncs++;
    return sync_rc;
}

/* add_one files ev in a transaction of its own: 0 or the first error. */
static int add_one(store *s, gl_event *ev)
{
    store_txn *t = NULL;
    int err = store_begin(s, 1, &t);
    if (err)
        return err;
    if ((err = store_event_add(t, ev)) != 0) {
        store_abort(&t);
        return err;
    }
    return store_commit(&t);
}

/* find returns the seq of event id in s, 0 when it is not there. */
static uint64_t find(store *s, const char *id)
{
    store_txn *t = NULL;
    uint64_t seq = 0;
    if (store_begin(s, 0, &t) != 0)
        return 0;
    if (store_event_find(t, id, &seq) != 0)
        seq = 0;
    store_abort(&t);
    return seq;
}

/* The flushes store_commit makes, by default (LMDB's full sync) and with
 * meta_after_lock. */
static void test_commit_flushes(store *s, int after_lock, const char *id)
{
    const char *mode = after_lock ? "meta_after_lock" : "full sync";
    store_txn *t = NULL;
    syncs = 0;
    gl_event a = tl_request_event(id);
    is_int(add_one(s, &a), 0, "%s: an event is filed", mode);
    if (after_lock)
        is_int(syncs, 1, "%s: its commit flushed once, after the lock", mode);
    else
        is_int(syncs, 0, "%s: its commit needs no flush of its own (LMDB flushed it)", mode);

    syncs = 0;
    is_int(store_begin(s, 1, &t), 0, "%s: a write transaction", mode);
    uint64_t seq = 0;
    is_int(store_event_find(t, id, &seq), 0, "that only finds an existing id");
    is_int(store_commit(&t), 0, "commits");
    is_int(syncs, 1, "%s: and flushes: a duplicate is answered only once the first copy is on disk",
           mode);

    syncs = 0;
    is_int(store_begin(s, 0, &t), 0, "%s: a read transaction", mode);
    is_int(store_commit(&t), 0, "ends");
    is_int(syncs, 0, "without a flush");
}

static void test_failed_flush(store **sp)
{
    store *s = *sp;
    store_txn *t = NULL;
    uint64_t a = find(s, "sync-a");
    ok(a != 0, "sync-a is stored");
    is_int(store_failed(s), 0, "store_failed: 0 while the handle works");

    sync_rc = EIO;
    gl_event b = tl_request_event("sync-b");
    is_int(add_one(s, &b), GL_ESTORAGE, "a flush failing with EIO after the commit is a storage error");
    sync_rc = 0;
    is_int(store_failed(s), EIO, "store_failed says why the handle failed (EIO)");
    is_int(store_begin(s, 1, &t), GL_ESTORAGE, "then the handle refuses a write transaction");
    ok(t == NULL, "and gives none");
    is_int(store_begin(s, 0, &t), GL_ESTORAGE, "and a read transaction");
    gl_event c = tl_request_event("sync-c");
    is_int(add_one(s, &c), GL_ESTORAGE, "so no later batch of this process can call sync-b filed");

    store_close(sp);
    is_int(tl_store_reopen(dir, sp), 0, "the store opens again");
    s = *sp;
    is_int(find(s, "sync-b"), a + 1,
           "the transaction whose flush failed is there (committed, not known durable)");
    is_int(add_one(s, &b), GL_EBADSTATE, "a retry of its id finds it: the first answer, no second record");
    is_int(add_one(s, &c), 0, "the next event is filed");
    is_int(find(s, "sync-c"), a + 2, "with the next seq");

    sync_rc = ENOSPC;
    is_int(store_begin(s, 1, &t), 0, "a write transaction that writes nothing");
    is_int(store_commit(&t), GL_ESTORAGE, "a flush failing with ENOSPC is a storage error too");
    sync_rc = 0;
    is_int(store_begin(s, 1, &t), GL_ESTORAGE, "and the handle refuses from then on");
    store_close(sp);
    is_int(tl_store_reopen(dir, sp), 0, "until the store is opened again");
    gl_event d = tl_request_event("sync-d");
    is_int(add_one(*sp, &d), 0, "which files again");
    is_int(find(*sp, "sync-d"), a + 3, "with the next seq");

    /* LMDB marks the environment failed (MDB_PANIC) when its own write of
     * a meta page fails: the handle is failed as after its own flush. */
    begin_rc = MDB_PANIC;
    is_int(store_begin(*sp, 1, &t), GL_ESTORAGE, "an environment LMDB marked failed refuses");
    begin_rc = 0;
    is_int(store_failed(*sp), MDB_PANIC, "and store_failed says so (MDB_PANIC)");
    is_int(store_begin(*sp, 0, &t), GL_ESTORAGE, "the handle refuses from then on");
    store_close(sp);
    is_int(tl_store_reopen(dir, sp), 0, "until the store is opened again");
    is_int(store_failed(*sp), 0, "reopened, it works");
}

int main(void)
{
    log_init("t_store_sync", LOG_ERROR - 1); /* quiet: the injected failures log errors */
    store *s = tl_store_open_temp(dir, sizeof dir, "t_store_sync");
    if (!s) {
        printf("Bail out! cannot open a store in /tmp\n");
        return 1;
    }
    atexit(cleanup);
    store_fault_hook = fault_hook;
    test_commit_flushes(s, 0, "full-a");
    store_close(&s);
    store_opts after = {.map_size = (size_t)64 << 20, .meta_after_lock = 1};
    if (store_open(dir, &after, &s) != 0) {
        printf("Bail out! cannot open the store again with meta_after_lock\n");
        return 1;
    }
    test_commit_flushes(s, 1, "sync-a");
    test_failed_flush(&s);
    store_fault_hook = NULL;
    store_close(&s);
    return done_testing();
}
