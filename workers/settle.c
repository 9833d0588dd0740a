/* settle.c — moving the index entries of new events (all but the alarm)
 * from the store's index_recent into its event index, their team entries
 * from team_recent likewise but less often, and new dispatches' entries
 * from pending_recent into its pending index together with new claim board
 * entries from board_recent into the board, in bulk (store_index.h and
 * store_pending.h say why). */
#include "worker.h"

#include <string.h>

#include "../common/log.h"
#include "../common/store_index.h"
#include "../common/store_pending.h"

/* The unit of the thresholds below: a staging database is settled once
 * this many wait in it (a multiple of this for the event index's two),
 * all of them in one transaction, which holds the write lock a few ms, as
 * long as a large routine batch. */
#ifndef SETTLE_AT /* a test build may settle sooner: -DSETTLE_AT=64 */
#define SETTLE_AT 4096
#endif
/* Room for what waits, and for what a few more batches add before a settle
 * gets the lock: a settle that takes every entry empties the staging
 * database at once instead of deleting them one by one. */
#define SETTLE_MAX (2 * SETTLE_AT + 4096)
/* The event index's staging database holds each event's time, kind,
 * state, community and grid entries (five; its teams' wait apart, below):
 * settled at 7/4 of SETTLE_AT, after about 1,400 events. The time, kind
 * and state take their entries in about 50 block puts; the 29
 * communities' and 61 grids' leaves, rewritten once per settle, are the
 * rest. */
#define SETTLE_INDEX_AT (SETTLE_AT * 7 / 4)
#define SETTLE_INDEX_MAX (SETTLE_MAX * 7 / 4)
/* The team entries (about 1.9 an event, one per dispatch) are settled at
 * twice SETTLE_AT, after about 4,300 events: each of the 317 teams' leaves
 * then takes about 26 entries where it took 6 in every settle before
 * (session 8: those leaves were three quarters of a settle's). A team
 * settle moves as many entries as the other, so it holds the writer
 * about as long (an alert waits behind one settle at most). */
#define SETTLE_TEAM_AT (SETTLE_AT * 2)
#define SETTLE_TEAM_MAX (SETTLE_MAX * 2)

/* settle moves what waits in one of the store's staging databases when at
 * or more wait (up to max of them): count reads how many, move settles
 * (what names it in the log). */
static void settle(gl_worker *w, size_t at, size_t max, uint64_t (*count)(store_txn *t),
                   int (*move)(store *s, size_t min, size_t max, size_t *moved), const char *what)
{
    store_txn *t = NULL;
    if (store_begin(w->st, 0, &t) != 0)
        return;
    uint64_t waiting = count(t);
    store_abort(&t);
    if (waiting < at)
        return;
    size_t moved = 0;
    watchdog_waiting(1);
    int rc = move(w->st, at, max, &moved);
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
    settle(w, SETTLE_INDEX_AT, SETTLE_INDEX_MAX, store_index_recent_count, store_index_settle,
           "event index");
    settle(w, SETTLE_TEAM_AT, SETTLE_TEAM_MAX, store_index_team_count, store_index_settle_teams,
           "event index's team");
    /* The same for the pending index and the claim board, in one
     * transaction, once SETTLE_AT wait in either (store_pending.h): per
     * settle a team's leaf takes about 13 new entries in the demo county,
     * a community's board block about 20. */
    settle(w, SETTLE_AT, SETTLE_MAX, store_pending_staged, store_pending_settle,
           "pending index and claim board");
}
