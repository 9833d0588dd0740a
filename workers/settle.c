/* settle.c — moving the community, grid and team entries of new events
 * from the store's index_recent into its event index, and new dispatches'
 * entries from pending_recent into its pending index together with new
 * claim board entries from board_recent into the board, in bulk
 * (store_index.h and store_pending.h say why). */
#include "worker.h"

#include <string.h>

#include "../common/log.h"
#include "../common/store_index.h"
#include "../common/store_pending.h"

/* Settled once this many wait, all of them in one transaction (each event
 * stages about four: its community, its grid, its teams): per settle a
 * community's leaf takes about 36 entries, a grid's 17, a team's 6 in the
 * demo county, and the transaction holds the write lock about 5 ms, as long
 * as a large routine batch. */
#ifndef SETTLE_AT /* a test build may settle sooner: -DSETTLE_AT=64 */
#define SETTLE_AT 4096
#endif
/* Room for what waits, and for what a few more batches add before a settle
 * gets the lock: a settle that takes every entry empties the staging
 * database at once instead of deleting them one by one. */
#define SETTLE_MAX (2 * SETTLE_AT + 4096)

/* settle moves what waits in one of the store's staging databases when
 * SETTLE_AT or more wait: count reads how many, move settles (what names
 * it in the log). */
static void settle(gl_worker *w, uint64_t (*count)(store_txn *t),
                   int (*move)(store *s, size_t min, size_t max, size_t *moved), const char *what)
{
    store_txn *t = NULL;
    if (store_begin(w->st, 0, &t) != 0)
        return;
    uint64_t waiting = count(t);
    store_abort(&t);
    if (waiting < SETTLE_AT)
        return;
    size_t moved = 0;
    watchdog_waiting(1);
    int rc = move(w->st, SETTLE_AT, SETTLE_MAX, &moved);
    watchdog_waiting(0);
    if (rc != 0)
        log_limited(LOG_ERROR, "settle", "settling the %s: %s", what, gl_strerror(rc));
    else if (moved)
        LOG_D("settled %zu %s entries", moved, what);
}

void worker_index_settle(gl_worker *w)
{
    if (strcmp(w->cfg.lanes, "alert") == 0)
        return; /* a worker kept for alerts does not take the lock for this */
    settle(w, store_index_recent_count, store_index_settle, "event index");
    /* The same for the pending index and the claim board, in one
     * transaction, once SETTLE_AT wait in either (store_pending.h): per
     * settle a team's leaf takes about 13 new entries in the demo county,
     * a community's board block about 20. */
    settle(w, store_pending_staged, store_pending_settle, "pending index and claim board");
}
