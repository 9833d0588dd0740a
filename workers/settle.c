/* settle.c — moving new dispatches' team entries from the store's
 * team_recent into its event index, in bulk (store_index.h says why). */
#include "worker.h"

#include <string.h>

#include "../common/log.h"
#include "../common/store_index.h"

/* Settled once this many wait, this many per transaction: about six
 * entries per team of the demo county's 317 share each leaf page, and the
 * transaction holds the write lock about as long as a routine batch. */
#ifndef SETTLE_AT /* a test build may settle sooner: -DSETTLE_AT=64 */
#define SETTLE_AT 2048
#endif
#define SETTLE_MAX 2048

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
        log_limited(LOG_ERROR, "settle", "settling the team index: %s", gl_strerror(rc));
    else if (moved)
        LOG_D("settled %zu team index entries", moved);
}
