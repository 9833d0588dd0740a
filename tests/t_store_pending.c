/* The pending index in two parts (issue 7, store_pending.h): new
 * dispatches' entries wait in pending_recent and are settled into "pending"
 * in bulk. What a user would see: a team's pending list (what a HELLO
 * resends), in event order, exactly as if there were one index, whichever
 * part each entry is in, before, during and after settling, with
 * acknowledgements taking entries from either part; the STATUS count; a
 * clean fsck; and a store made before pending_recent existed. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_pending.h"
#include "tap.h"
#include "support/store_test.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS 300
#define TEAMS 7

static char dir[256];
static const char *teams[TEAMS] = {"t0-team", "t1-team", "t2-team", "t3-team",
                                   "t4-team", "t5-team", "t6-team-with-a-longer-name"};
/* The model: pending[seq][team] says the dispatch is PENDING; dispatched
 * says it exists. */
static unsigned char pending[EVENTS + 1][TEAMS], dispatched[EVENTS + 1][TEAMS];

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

typedef struct seen {
    int n, bad;
    uint64_t seq[EVENTS + 8];
    const char *team;
} seen;

static int collect(void *ctx, const gl_dispatch *d)
{
    seen *s = ctx;
    if (strcmp(d->team, s->team) != 0 || d->state != GL_DS_PENDING)
        s->bad++;
    if (s->n < (int)(sizeof s->seq / sizeof s->seq[0]))
        s->seq[s->n++] = d->seq;
    return 0;
}

/* The pending list of every team against the model: the same seqs, in
 * order. Returns the number of teams that differ. */
static int lists_differ(store *s)
{
    store_txn *t = NULL;
    int differ = 0;
    if (store_begin(s, 0, &t) != 0)
        return TEAMS;
    for (int i = 0; i < TEAMS; i++) {
        seen got = {.team = teams[i]};
        int rc = store_pending_list(t, teams[i], collect, &got);
        int n = 0, same = rc == 0 && got.bad == 0;
        for (uint64_t seq = 1; seq <= EVENTS; seq++)
            if (pending[seq][i]) {
                if (n >= got.n || got.seq[n] != seq)
                    same = 0;
                n++;
            }
        if (!same || n != got.n) {
            diag("  %s: %d listed, %d pending (rc %d)", teams[i], got.n, n, rc);
            differ++;
        }
    }
    store_abort(&t);
    return differ;
}

static uint64_t model_pending(void)
{
    uint64_t n = 0;
    for (int seq = 1; seq <= EVENTS; seq++)
        for (int i = 0; i < TEAMS; i++)
            n += pending[seq][i];
    return n;
}

static int set_state(store_txn *t, uint64_t seq, int team, int state)
{
    char id[32];
    snprintf(id, sizeof id, "pend-%03llu", (unsigned long long)seq);
    gl_dispatch d = {.seq = seq, .event = id, .team = teams[team], .role = "grid",
                     .state = state, .attempts = 1, .created_ms = 1000 + seq,
                     .updated_ms = 2000 + seq};
    int rc = store_dispatch_put(t, &d);
    if (rc == 0)
        pending[seq][team] = state == GL_DS_PENDING;
    return rc;
}

/* Files event seq with dispatches to two or three teams: as a worker files
 * a new event (store_dispatch_add: pending_recent) or, for some, written
 * PENDING through store_dispatch_put (a dispatch sent again: "pending"). */
static int file_event(store_txn *t, uint64_t seq)
{
    char id[32];
    snprintf(id, sizeof id, "pend-%03llu", (unsigned long long)seq);
    gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair", .text = "漏水",
                   .created_ms = 1000 + seq, .updated_ms = 1000 + seq,
                   .state = GL_EV_DISPATCHED};
    uint64_t got = 0;
    int rc = store_event_next_seq(t, &got);
    if (rc == 0 && got != seq)
        rc = -1000;
    uint64_t h = mix(seq);
    int nteams = 2 + (int)(h % 2);
    /* pass 0: the new ones (before the record, as a worker files them);
     * pass 1: those written through store_dispatch_put (after it: it reads
     * the event for the event index) */
    for (int k = 0, pass = 0; rc == 0 && pass < 2; k = (k + 1) % nteams, pass += k == 0) {
        if (pass == 1 && k == 0 && !ev.seq) {
            ev.seq = seq;
            if ((rc = store_event_add(t, &ev)) != 0)
                break;
        }
        int put = (h >> (20 + k)) % 5 == 0;
        if (put != pass)
            continue;
        int team = (int)((h >> (8 + 4 * k)) % TEAMS);
        if (dispatched[seq][team])
            continue;
        dispatched[seq][team] = 1;
        gl_dispatch d = {.seq = seq, .event = id, .team = teams[team], .role = "grid",
                         .state = GL_DS_PENDING, .attempts = 1, .created_ms = 1000 + seq,
                         .updated_ms = 1000 + seq, .next_retry_ms = 50000 + seq};
        rc = put ? store_dispatch_put(t, &d) : store_dispatch_add(t, &d, ev.created_ms);
        pending[seq][team] = 1;
    }
    gl_history hs = {.seq = seq, .at_ms = 1000 + seq, .who = "terminal", .what = "filed"};
    if (rc == 0)
        rc = store_history_add(t, &hs);
    return rc;
}

/* A visitor that acknowledges each dispatch it is shown, in the listing's
 * own write transaction. */
typedef struct acker {
    store_txn *t;
    seen s;
} acker;

static int ack_each(void *ctx, const gl_dispatch *d)
{
    acker *a = ctx;
    collect(&a->s, d);
    gl_dispatch n = *d;
    n.state = GL_DS_ACKED;
    n.next_retry_ms = 0;
    return store_dispatch_put(a->t, &n);
}

/* Drops pending_recent behind the store's back: the store as the code
 * before it left it (its entries were all settled first). */
static int drop_recent(void)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    if (rc)
        return rc;
    mdb_env_set_maxdbs(env, 32);
    if ((rc = mdb_env_open(env, dir, 0, 0600)) == 0 && (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
        if ((rc = mdb_dbi_open(txn, "pending_recent", 0, &dbi)) == 0 &&
            (rc = mdb_drop(txn, dbi, 1)) == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (rc == 0 && (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0) {
        rc = mdb_dbi_open(txn, "pending_recent", 0, &dbi) == MDB_NOTFOUND ? 0 : -1;
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return rc;
}

/* Files events first..last in batches of 20, acknowledging or sending
 * again a few dispatches after each batch (wherever their entry is); with
 * settle, settles part of what waits after every other batch. Counts the
 * steps after which a team's list differed from the model. */
static int file_range(store *s, uint64_t first, uint64_t last, int settle, int *mismatches,
                      size_t *moved_total, int *settles)
{
    int rc = 0;
    for (uint64_t seq = first, batch = 0; rc == 0 && seq <= last; batch++) {
        store_txn *t = NULL;
        if ((rc = store_begin(s, 1, &t)) != 0)
            break;
        for (int i = 0; rc == 0 && i < 20 && seq <= last; i++)
            rc = file_event(t, seq++);
        for (int i = 0; rc == 0 && i < 12; i++) {
            uint64_t h = mix(seq * 31 + (uint64_t)i);
            uint64_t which = 1 + h % (seq - 1);
            int team = (int)((h >> 16) % TEAMS);
            if (dispatched[which][team])
                rc = set_state(t, which, team, pending[which][team] ? GL_DS_ACKED : GL_DS_PENDING);
        }
        if (rc == 0)
            rc = store_commit(&t);
        else
            store_abort(&t);
        *mismatches += lists_differ(s) != 0;
        if (rc == 0 && settle && batch % 2) {
            size_t moved = 0;
            rc = store_pending_settle(s, 1, 25, &moved);
            *moved_total += moved;
            *settles += moved > 0;
            *mismatches += lists_differ(s) != 0;
        }
    }
    return rc;
}

int main(void)
{
    store *s = tl_store_open_temp(dir, sizeof dir, "t_store_pending");
    if (!s)
        return 1;

    int mismatches = 0, settles = 0;
    size_t moved_total = 0;
    int rc = file_range(s, 1, 260, 1, &mismatches, &moved_total, &settles);
    is_int(rc, 0, "260 events filed, dispatches acknowledged and sent again, settled in parts");
    ok(settles >= 5 && moved_total >= 100, "entries were settled (%zu in %d settles)", moved_total,
       settles);
    ok(tl_store_pending_recent(s) > 0, "others still wait in pending_recent (%llu)",
       (unsigned long long)tl_store_pending_recent(s));
    is_int(mismatches, 0, "every team's pending list matched, in event order, after every step");
    is_int((int)tl_store_pending(s), (int)model_pending(), "the pending count adds both parts");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck finds nothing wrong with entries in both parts");

    /* Settling: not below min; then all of it. */
    size_t moved = 99;
    uint64_t waiting = tl_store_pending_recent(s);
    rc = store_pending_settle(s, waiting + 1, 4096, &moved);
    ok(rc == 0 && moved == 0 && tl_store_pending_recent(s) == waiting, "no settle while fewer than min wait");
    rc = store_pending_settle(s, 1, 4096, &moved);
    ok(rc == 0 && moved == waiting && tl_store_pending_recent(s) == 0, "then all %llu settle at once",
       (unsigned long long)waiting);
    is_int(lists_differ(s), 0, "the lists are the same once all settled");
    is_int((int)tl_store_pending(s), (int)model_pending(), "and so is the count");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "and fsck is clean");

    /* A store made before pending_recent existed opens and works. */
    store_close(&s);
    is_int(drop_recent(), 0, "pending_recent dropped, as a store of the previous code");
    rc = tl_store_reopen(dir, &s);
    is_int(rc, 0, "that store opens");
    if (rc)
        return done_testing();
    is_int(lists_differ(s), 0, "its pending lists are unchanged");
    mismatches = 0;
    rc = file_range(s, 261, 280, 0, &mismatches, &moved_total, &settles);
    ok(rc == 0 && mismatches == 0 && tl_store_pending_recent(s) > 0,
       "filing on it stages new entries in pending_recent, listed in order");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    /* A visitor that acknowledges each dispatch it is shown, in the
     * listing's write transaction, with entries in both parts: each shown
     * once, in order, and none left. */
    rc = file_range(s, 281, 300, 0, &mismatches, &moved_total, &settles);
    if (rc == 0)
        rc = store_pending_settle(s, 1, 10, &moved);
    ok(rc == 0 && tl_store_pending_recent(s) > 0 && tl_store_pending(s) > tl_store_pending_recent(s),
       "entries in both parts (%llu of %llu waiting)", (unsigned long long)tl_store_pending_recent(s),
       (unsigned long long)tl_store_pending(s));
    store_txn *t = NULL;
    rc = store_begin(s, 1, &t);
    int shown_right = 1;
    for (int i = 0; rc == 0 && i < TEAMS; i++) {
        acker a = {.t = t, .s = {.team = teams[i]}};
        rc = store_pending_list(t, teams[i], ack_each, &a);
        int n = 0;
        for (uint64_t q = 1; q <= EVENTS; q++)
            if (pending[q][i]) {
                if (n >= a.s.n || a.s.seq[n] != q)
                    shown_right = 0;
                n++;
                pending[q][i] = 0;
            }
        if (n != a.s.n || a.s.bad) {
            diag("  %s: %d shown, %d pending", teams[i], a.s.n, n);
            shown_right = 0;
        }
    }
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    ok(rc == 0 && shown_right, "a visitor acknowledging each: every one shown once, in order");
    ok(tl_store_pending(s) == 0 && tl_store_pending_recent(s) == 0 && lists_differ(s) == 0,
       "and nothing is pending after");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    store_close(&s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
