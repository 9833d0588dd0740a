/* A full block's last entry put again (store_postings.h, store_pending.h:
 * "a seq already there is not put again"): the entry must stay where it
 * is, once. Before the fix, ix_post_put and pend_put saw a full block
 * whose last entry is the one put, took the entry for one after it and
 * wrote it again as a new block of its own: the index then held it twice
 * (a history query or a HELLO's resend listed it twice, fsck found a
 * block reaching past the next key). */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_impl.h"
#include "../common/store_index.h"
#include "../common/store_pending.h"
#include "../common/store_postings.h"
#include "tap.h"
#include "support/store_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

/* The entries of community c1 in event_index, through a stream; *problems
 * are ix_check's. */
static int ix_count(store *s, uint64_t *problems)
{
    store_txn *t = NULL;
    int n = 0;
    if (store_begin(s, 0, &t) != 0)
        return -1;
    unsigned char lo[STORE_KEY_MAX];
    size_t len = store_index_key(lo, STORE_KEY_MAX, IX_COMMUNITY, "c1", 0, 0);
    ix_stream st;
    int err = ix_open(&st, t, lo, len, UINT64_MAX, UINT64_MAX, 0);
    while (!err && st.have) {
        n++;
        err = ix_next(&st);
    }
    store_fsck_report r;
    memset(&r, 0, sizeof r);
    uint64_t entries = 0;
    if (!err)
        err = ix_check(t, &r, &entries);
    for (int i = 0; i < r.nfirst; i++)
        diag("  %s", r.first[i]);
    *problems = r.problems;
    store_abort(&t);
    return err ? -1 : n;
}

/* The seqs of team t1 in "pending", through a reader. */
static int pend_count(store *s)
{
    return tl_store_pend_seqs(s, &pend_index, "t1", 2, NULL, 0);
}

int main(void)
{
    store *s = tl_store_open_temp(dir, sizeof dir, "t_store_blocks_full");
    if (!s)
        return 1;

    /* event_index: one full block of POST_MAX entries, by a settle. */
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    for (uint64_t seq = 1; rc == 0 && seq <= POST_MAX; seq++) {
        unsigned char k[STORE_KEY_MAX];
        MDB_val key = store_val(k, store_index_recent_key(k, 1000 + seq, seq, IX_COMMUNITY, "c1", 2)),
                v = store_val("", 0);
        rc = store_txn_put(t, DB_INDEX_RECENT, &key, &v, 0);
    }
    size_t moved = 0;
    if (rc == 0)
        rc = ix_settle_in(t, 1000, &moved);
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    uint64_t problems = 0;
    int n = ix_count(s, &problems);
    ok(rc == 0 && moved == POST_MAX && n == POST_MAX && problems == 0,
       "event_index: %d entries settled into one full block", n);

    /* Its last entry put again (as an update puts an entry, unstaged). */
    rc = store_begin(s, 1, &t);
    unsigned char e[STORE_KEY_MAX];
    size_t elen = store_index_key(e, STORE_KEY_MAX, IX_COMMUNITY, "c1", 1000 + POST_MAX, POST_MAX);
    if (rc == 0)
        rc = ix_post_put(t, e, elen);
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    n = ix_count(s, &problems);
    ok(rc == 0 && n == POST_MAX && problems == 0,
       "event_index: the full block's last entry put again is still there once (%d entries, "
       "%llu problems)",
       n, (unsigned long long)problems);

    /* pending: one full block of PEND_MAX seqs, by a settle. */
    rc = store_begin(s, 1, &t);
    for (uint64_t seq = 1; rc == 0 && seq <= PEND_MAX; seq++) {
        unsigned char k[16];
        store_put_be64(k, seq);
        memcpy(k + 8, "t1", 2);
        MDB_val key = store_val(k, 10), v = store_val("", 0);
        rc = store_txn_put(t, DB_PENDING_RECENT, &key, &v, 0);
    }
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    if (rc == 0)
        rc = store_pending_settle(s, 1, 1000, &moved);
    n = pend_count(s);
    ok(rc == 0 && moved == PEND_MAX && n == PEND_MAX, "pending: %d seqs settled into one full block",
       n);

    /* Its last seq put again (as a dispatch made PENDING again). */
    rc = store_begin(s, 1, &t);
    if (rc == 0)
        rc = pend_put(t, "t1", 2, PEND_MAX);
    int twice = 0;
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    n = pend_count(s);
    /* Taken out once, it must be gone. */
    rc = rc ? rc : store_begin(s, 1, &t);
    if (rc == 0 && (rc = pend_remove(t, "t1", 2, PEND_MAX)) == 0) {
        twice = pset_has(&pend_index, t, (const unsigned char *)"t1", 2, PEND_MAX);
        rc = store_commit(&t);
    } else {
        store_abort(&t);
    }
    ok(rc == 0 && n == PEND_MAX && !twice,
       "pending: the full block's last seq put again is still there once (%d seqs), and gone "
       "when taken out",
       n);

    store_close(&s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
