/* Tests for the team entries' own staging database (store_index.h,
 * team_recent): a new dispatch's team entry waits there, not in
 * index_recent; queries by team read it beside the settled blocks; its own
 * settle moves it into event_index's blocks and leaves index_recent alone
 * (and the reverse); a rebuild empties both; and a store made before,
 * whose team entries wait in index_recent, has them moved to team_recent by
 * the first open for writing, after which queries and fsck agree and a
 * read-only open works. */
#include "../common/arena.h"
#include "../common/gl.h"
#include "../common/log.h"
#include "../common/store.h"
#include "../common/store_index.h"
#include "tap.h"
#include "support/store_test.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS 30

static char dir[256];

/* Event i: filed at 1000 + 10 i, in community north or south, dispatched
 * to team-a (even i) or team-b (odd i), and every third also to squad-x. */
static int team_of(int i, const char *team)
{
    if (strcmp(team, "squad-x") == 0)
        return i % 3 == 0;
    return strcmp(team, i % 2 ? "team-b" : "team-a") == 0;
}

/* The team entries events from..to-1 make: one per dispatch. */
static uint64_t team_entries(int from, int to)
{
    uint64_t n = 0;
    for (int i = from; i < to; i++)
        n += 1 + (i % 3 == 0);
    return n;
}

static int file_events(store *s, int from, int to)
{
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    for (int i = from; rc == 0 && i < to; i++) {
        char id[32];
        snprintf(id, sizeof id, "ev-%02d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "c", .text = "t",
                       .community = i % 2 ? "north" : "south", .grid = "g1",
                       .state = GL_EV_FILED, .created_ms = 1000 + 10 * (uint64_t)i};
        rc = store_event_add(t, &ev);
        gl_history h = {.seq = ev.seq, .at_ms = ev.created_ms, .who = "terminal", .what = "filed"};
        if (rc == 0)
            rc = store_history_add(t, &h);
        gl_dispatch d = {.seq = ev.seq, .event = id, .team = i % 2 ? "team-b" : "team-a",
                         .role = "grid", .state = GL_DS_PENDING, .attempts = 1,
                         .created_ms = ev.created_ms};
        if (rc == 0)
            rc = store_dispatch_add(t, &d, ev.created_ms);
        if (rc == 0 && i % 3 == 0) {
            d.team = "squad-x";
            d.role = "squad";
            rc = store_dispatch_add(t, &d, ev.created_ms);
        }
        ev.state = GL_EV_DISPATCHED;
        if (rc == 0)
            rc = store_event_put(t, &ev);
    }
    if (rc == 0)
        return store_commit(&t);
    store_abort(&t);
    return rc;
}

static void counts(store *s, uint64_t *recent, uint64_t *teams)
{
    store_txn *t = NULL;
    *recent = *teams = UINT64_MAX;
    if (store_begin(s, 0, &t) == 0) {
        *recent = store_index_recent_count(t);
        *teams = store_index_team_count(t);
    }
    store_abort(&t);
}

typedef struct seen {
    int ids[EVENTS];
    int n;
} seen;

static int collect(void *ctx, const gl_event *ev)
{
    seen *g = ctx;
    if (g->n < EVENTS)
        g->ids[g->n++] = atoi(ev->id + 3);
    return 0;
}

/* agrees: a query by team lists exactly the events dispatched to it, among
 * the first `filed`, in filing order. */
static int agrees(store *s, const char *team, int filed)
{
    store_txn *t = NULL;
    store_query q;
    memset(&q, 0, sizeof q);
    q.team = team;
    seen g = {{0}, 0};
    int rc = store_begin(s, 0, &t);
    if (rc == 0)
        rc = store_query_events(t, &q, collect, &g, NULL, NULL, NULL);
    store_abort(&t);
    if (rc != 0)
        return 0;
    int k = 0;
    for (int i = 0; i < filed; i++)
        if (team_of(i, team) && (k >= g.n || g.ids[k++] != i))
            return 0;
    return k == g.n;
}

static int all_agree(store *s, int filed)
{
    return agrees(s, "team-a", filed) && agrees(s, "team-b", filed) &&
           agrees(s, "squad-x", filed);
}

/* Behind the store's back, what a store of an older gridline looks like:
 * the team entries back in index_recent, and no team_recent. */
static int make_old(const char *path, size_t *moved)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi recent, teams;
    MDB_cursor *c;
    MDB_val k, v;
    *moved = 0;
    int rc = mdb_env_create(&env);
    if (rc)
        return rc;
    mdb_env_set_maxdbs(env, 32);
    mdb_env_set_mapsize(env, (size_t)64 << 20);
    if ((rc = mdb_env_open(env, path, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
        if ((rc = mdb_dbi_open(txn, "index_recent", 0, &recent)) == 0)
            rc = mdb_dbi_open(txn, "team_recent", 0, &teams);
        if (rc == 0)
            rc = mdb_cursor_open(txn, teams, &c);
        for (int g = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0;
             g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            if ((rc = mdb_put(txn, recent, &k, &v, 0)) == 0)
                (*moved)++;
        if (rc == 0)
            mdb_cursor_close(c);
        if (rc == 0)
            rc = mdb_drop(txn, teams, 1); /* the database itself */
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    mdb_env_close(env);
    return rc;
}

int main(void)
{
    store *s = tl_store_open_temp(dir, sizeof dir, "t_store_teamstage");
    ok(s != NULL, "a store");
    if (!s)
        return 1;
    uint64_t recent, teams;

    /* New dispatches' team entries wait in team_recent. */
    is_int(file_events(s, 0, 10), 0, "10 events filed, with their dispatches");
    counts(s, &recent, &teams);
    uint64_t others = recent;
    ok(recent >= 10 * 4 && teams == team_entries(0, 10),
       "their time, kind, state, community and grid entries wait in index_recent (%llu), "
       "their team entries in team_recent (%llu)",
       (unsigned long long)recent, (unsigned long long)teams);
    ok(all_agree(s, 10), "queries by team list them, in order");

    /* Each settle moves its own. */
    size_t moved = 0;
    is_int(store_index_settle_teams(s, 0, 100000, &moved), 0, "the team settle");
    counts(s, &recent, &teams);
    ok(moved == team_entries(0, 10) && teams == 0 && recent == others,
       "moved the team entries (%zu) and nothing of index_recent (%llu)", moved,
       (unsigned long long)recent);
    is_int(file_events(s, 10, 20), 0, "10 more events");
    ok(all_agree(s, 20), "queries by team read the blocks and team_recent together");
    is_int(store_index_settle_teams(s, 0, 5, &moved), 0, "a team settle of 5");
    ok(moved == 5 && all_agree(s, 20), "part settled, part waiting: still in order");
    is_int(store_index_settle(s, 0, 100000, &moved), 0, "the other settle");
    counts(s, &recent, &teams);
    ok(recent == 0 && teams == team_entries(10, 20) - 5,
       "empties index_recent and leaves team_recent (%llu)",
       (unsigned long long)teams);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent, entries in both places");

    /* A rebuild settles both. */
    uint64_t rebuilt = 0;
    is_int(store_index_rebuild(s, &rebuilt), 0, "a rebuild");
    counts(s, &recent, &teams);
    ok(rebuilt == 20 && recent == 0 && teams == 0, "of the 20 events leaves nothing waiting");
    ok(all_agree(s, 20), "and queries by team agree");

    /* A store of an older gridline: its team entries in index_recent. */
    is_int(file_events(s, 20, EVENTS), 0, "10 more events");
    store_close(&s);
    size_t put_back = 0;
    is_int(make_old(dir, &put_back), 0, "made old behind the store's back");
    ok(put_back == team_entries(20, EVENTS),
       "the team entries back in index_recent, no team_recent (%zu)", put_back);
    store_opts ro = {.read_only = 1};
    ok(store_open(dir, &ro, &s) != 0 && !s, "read-only, it is refused until a writer opened it");
    is_int(tl_store_reopen(dir, &s), 0, "opened for writing");
    counts(s, &recent, &teams);
    ok(recent == others && teams == team_entries(20, EVENTS),
       "its team entries moved to team_recent (%llu, %llu)",
       (unsigned long long)recent, (unsigned long long)teams);
    ok(all_agree(s, EVENTS), "queries by team agree");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent");
    store_close(&s);
    is_int(store_open(dir, &ro, &s), 0, "now read-only opens it");
    ok(s && all_agree(s, EVENTS), "and its queries agree");
    store_close(&s);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
