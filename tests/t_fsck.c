/* store_fsck (gridline fsck): a store written through the store API is
 * consistent; each kind of damage to an index is found and named. */
#include "../common/store.h"
#include "tap.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

static void fill(void)
{
    store *s = NULL;
    store_txn *t = NULL;
    store_open(dir, NULL, &s);
    store_begin(s, 1, &t);
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "fsck-%02d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_ALERT, .category = "fire", .text = "起火",
                       .state = GL_EV_DISPATCHED};
        if (i % 5 == 2) { /* a request's deadlines: one timers entry, its next */
            ev.kind = GL_KIND_REQUEST;
            ev.category = "repair";
            ev.sign_by_ms = 7000 + (uint64_t)i;
            ev.remind_at_ms = 8000;
            ev.due_ms = 9000;
        }
        store_event_add(t, &ev);
        ev.escalate_at_ms = 5000 + (uint64_t)i;
        store_escalation_move(t, ev.seq, 0, ev.escalate_at_ms);
        store_event_put(t, &ev);
        gl_dispatch d = {.seq = ev.seq, .event = id, .team = "heping-g1-team", .role = "grid",
                         .state = i % 2 ? GL_DS_PENDING : GL_DS_ACKED, .attempts = 1,
                         .next_retry_ms = i % 2 ? 9000 : 0};
        if (i == 3) { /* a dead letter */
            d.state = GL_DS_DEAD;
            d.next_retry_ms = 0;
        }
        if (i % 4 == 1) /* a new dispatch: its team entry waits in index_recent,
                           its pending entry in pending_recent */
            store_dispatch_add(t, &d, ev.created_ms);
        else
            store_dispatch_put(t, &d);
        gl_history h = {.seq = ev.seq, .at_ms = 1, .who = "terminal", .what = "filed"};
        store_history_add(t, &h);
    }
    store_commit(&t);
    store_close(&s);
}

/* Deletes the first key of LMDB database name, behind the store's back. */
static void damage(const char *name)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 32);
    mdb_env_open(env, dir, 0, 0600);
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, name, 0, &dbi);
    mdb_cursor_open(txn, dbi, &c);
    if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0)
        mdb_cursor_del(c, 0);
    mdb_cursor_close(c);
    mdb_txn_commit(txn);
    mdb_env_close(env);
}

static uint64_t check(store_fsck_report *r)
{
    store *s = NULL;
    store_open(dir, NULL, &s);
    int rc = store_fsck(s, r);
    store_close(&s);
    for (int i = 0; i < r->nfirst; i++)
        diag("  %s", r->first[i]);
    return rc ? 999 : r->problems;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/t_fsck.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    fill();
    store_fsck_report r;
    is_int(check(&r), 0, "a store written through the API is consistent");
    is_int(r.events, 20, "fsck read its 20 events");
    is_int(r.dispatches, 20, "and their 20 dispatches");

    static const struct {
        const char *db, *names;
    } cases[] = {
        {"event_ids", "id does not map"},
        {"pending", "pending index"},
        {"due", "due index"},
        {"escalations", "has no timer"},
        {"history", "no history entry"},
        {"dispatches", "no dispatch"},
        {"dead_letters", "not in the dead letters"},
        {"counts", "counts says"},
        {"index_recent", "no event_index entry for time"}, /* its first: event 1's time */
        {"pending_recent", "pending index"},
        {"timers", "next deadline"},
        /* Last: its first key is a block, many entries (its dispatches
         * put straight into it), each a problem. */
        {"event_index", "no event_index entry for its team"},
    };
    /* The damage adds up: pending_recent's message is the same as
     * pending's, so that case must add a problem of its own. */
    uint64_t before = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        damage(cases[i].db);
        uint64_t n = check(&r);
        int named = 0;
        for (int p = 0; p < r.nfirst; p++)
            named |= strstr(r.first[p], cases[i].names) != NULL;
        int more = n > before || strcmp(cases[i].db, "pending_recent") != 0;
        ok(n > 0 && named && more, "a key removed from %s is found (%llu problems, '%s')",
           cases[i].db, (unsigned long long)n, cases[i].names);
        before = n;
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
