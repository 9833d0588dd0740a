/* blk_warm (store_blocks.h): before a settle takes the writer lock, a read
 * transaction reads what the settle will write, so that on a store whose
 * pages are not in memory the disk reads are not made under the lock. It
 * must look up each value among the entries the settle will move, once,
 * and change nothing: the settle after it moves the same entries into the
 * same blocks. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_blocks.h"
#include "../common/store_impl.h"
#include "../common/store_pending.h"
#include "tap.h"
#include "support/store_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

/* stage puts pending_recent entries (seq, team) for seqs from..to, the
 * teams taken in turn from teams[0..nteams). */
static int stage(store *s, uint64_t from, uint64_t to, const char *const *teams, int nteams)
{
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    for (uint64_t seq = from; rc == 0 && seq <= to; seq++) {
        const char *team = teams[seq % (uint64_t)nteams];
        unsigned char k[64];
        size_t n = strlen(team);
        store_put_be64(k, seq);
        memcpy(k + 8, team, n);
        MDB_val key = store_val(k, 8 + n), v = store_val("", 0);
        rc = store_txn_put(t, DB_PENDING_RECENT, &key, &v, 0);
    }
    if (rc == 0)
        return store_commit(&t);
    store_abort(&t);
    return rc;
}

/* warm runs blk_warm over pending_recent's first max entries in a read
 * transaction: the values it looked up, or -1. */
static int warm(store *s, const blk_desc *d, size_t max)
{
    store_txn *t = NULL;
    if (store_begin(s, 0, &t) != 0)
        return -1;
    int n = blk_warm(d, t, max);
    store_abort(&t);
    return n;
}

/* settled_seqs counts team's seqs in "pending" (own keys and blocks) and
 * checks they are team's of 1..60 (seq % 4 == idx), in order. */
static int settled_seqs(store *s, const char *team, uint64_t idx, int *in_order)
{
    uint64_t seqs[64];
    int n = tl_store_pend_seqs(s, &pend_index, team, strlen(team), seqs, 64);
    *in_order = n >= 0 && n <= 64;
    for (int i = 0; *in_order && i < n; i++)
        *in_order = seqs[i] % 4 == idx && (i == 0 || seqs[i] > seqs[i - 1]);
    return n;
}

int main(void)
{
    store *s = tl_store_open_temp(dir, sizeof dir, "t_store_warm");
    if (!s)
        return 1;
    const char *const teams[] = {"heping-g1", "heping-g2", "mingzhu-g1", "county-coordinators"};

    is_int(warm(s, &pend_index, 1000), 0, "nothing staged: no value looked up");

    is_int(stage(s, 1, 40, teams, 4), 0, "40 pending entries staged over 4 teams");
    is_int(warm(s, &pend_index, 1000), 4, "the warm pass looks up each of the 4 teams once");
    is_int(warm(s, &pend_index, 2), 2, "over the first 2 entries only, the 2 teams they name");
    is_int(warm(s, &board_index, 1000), 0, "the board's staging is empty: nothing looked up");
    is_int((int)tl_store_pending_recent(s), 40, "and it changed nothing: the 40 entries still wait");

    size_t moved = 0;
    is_int(store_pending_settle(s, 1, 1000, &moved), 0, "the settle (warm pass, then the move)");
    is_int((int)moved, 40, "moves the 40 entries");
    is_int((int)tl_store_pending_recent(s), 0, "none waits after it");

    /* A second round lands after the blocks the first wrote: the warm pass
     * reads those blocks, and the settle extends them. */
    is_int(stage(s, 41, 60, teams, 4), 0, "20 more staged");
    is_int(warm(s, &pend_index, 1000), 4, "the warm pass looks up the 4 teams' blocks");
    is_int(store_pending_settle(s, 1, 1000, &moved), 0, "settled");
    is_int((int)moved, 20, "the 20 moved");

    for (int i = 0; i < 4; i++) {
        int in_order = 0;
        is_int(settled_seqs(s, teams[i], (uint64_t)i, &in_order), 15,
               "%s has its 15 seqs in pending after both settles", teams[i]);
        ok(in_order, "%s: its own seqs, in order", teams[i]);
    }
    store_close(&s);
    return done_testing();
}
