/* settle.c — moving the community, grid and team entries of new events
 * from the store's index_recent into its event index, in bulk
 * (store_index.h says why). */
#include "worker.h"

#include <string.h>

#include "../common/log.h"
#include "../common/store_index.h"

/* Settled once this many wait, this many per transaction (each event
 * stages about four: its community, its grid, its teams): per settle a
 * community's leaf takes about 36 entries, a grid's 17, a team's 6 in the
 * demo county, and the transaction holds the write lock about 5 ms, as long
 * as a large routine batch. */
#ifndef SETTLE_AT /* a test build may settle sooner: -DSETTLE_AT=64 */
#define SETTLE_AT 4096
#endif
#define SETTLE_MAX 4096

void worker_index_settle(gl_worker *w)
{
    if (strcmp(w->cfg.lanes, "alert") == 0)
        return; /* a worker kept for alerts does not take the lock for this */
    store_txn *t = NULL;
    if (store_begin(w->st, 0, &t) != 0)
        return;
    uint64_t waiting = store_index_recent_count(t);
    store_abort(&t);
    if (waiting < SETTLE_AT)
        return;
    size_t moved = 0;
    watchdog_waiting(1);
    int rc = store_index_settle(w->st, SETTLE_AT, SETTLE_MAX, &moved);
    watchdog_waiting(0);
    if (rc != 0)
        log_limited(LOG_ERROR, "settle", "settling the event index: %s", gl_strerror(rc));
    else if (moved)
        LOG_D("settled %zu event index entries", moved);
}
