/* Tests for common/store_index: the event index's keys and their order,
 * queries by every filter (exactly the expected events, each once across
 * pages), the choice of the most selective index, entries that follow a
 * state change, dead letters, and the index built on opening a store made
 * without it (and not for a young one whose entries all wait in
 * index_recent). */
#include "../common/arena.h"
#include "../common/gl.h"
#include "../common/log.h"
#include "../common/store.h"
#include "../common/store_index.h"
#include "tap.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

static int key_less(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = memcmp(a, b, n);
    return c < 0 || (c == 0 && an < bn);
}

static void test_keys(void)
{
    unsigned char a[600], b[600];
    size_t an = store_index_key(a, sizeof a, IX_COMMUNITY, "heping", 1000, 7);
    int dim;
    const char *value;
    size_t vlen;
    uint64_t ms, seq;
    is_int(an, 1 + 6 + 1 + 16, "a key is dim, value, 0, ms, seq");
    ok(store_index_key_parse(a, an, &dim, &value, &vlen, &ms, &seq) == 0 && dim == IX_COMMUNITY &&
           vlen == 6 && memcmp(value, "heping", 6) == 0 && ms == 1000 && seq == 7,
       "and parses back");
    size_t bn = store_index_key(b, sizeof b, IX_COMMUNITY, "hepingxi", 1, 1);
    ok(key_less(a, an, b, bn), "a value sorts before a longer one it prefixes, whatever the time");
    bn = store_index_key(b, sizeof b, IX_COMMUNITY, "heping", 1000, 8);
    ok(key_less(a, an, b, bn), "same value and ms: seq order");
    bn = store_index_key(b, sizeof b, IX_COMMUNITY, "heping", 256, 9);
    ok(key_less(b, bn, a, an), "same value: time order (big-endian ms)");
    is_int(store_index_key(b, 20, IX_GRID, "a-grid-name", 1, 1), 0, "a key too long is refused");
    is_int(store_index_key(b, sizeof b, 0, "x", 1, 1), 0, "dim 0 is refused");
    ok(store_index_key_parse(a, an - 1, &dim, &value, &vlen, &ms, &seq) != 0,
       "a truncated key does not parse");
    an = store_index_key(a, sizeof a, IX_TIME, NULL, 5, 6);
    is_int(an, 18, "the time dimension has an empty value");
}

/* 40 events: kind by i%3, community by i%2, grid by i%4, state dispatched
 * (every 5th accepted), filed at 1000 + 10 i; dispatched to team-g<i%4>,
 * and every 4th also to squad-x; every 7th has alarm overdue. */

static void fill(store *s)
{
    store_txn *t = NULL;
    store_begin(s, 1, &t);
    for (int i = 0; i < 40; i++) {
        char id[32], grid[16], team[16];
        snprintf(id, sizeof id, "ev-%02d", i);
        snprintf(grid, sizeof grid, "g%d", i % 4);
        snprintf(team, sizeof team, "team-g%d", i % 4);
        gl_event ev = {.id = id, .kind = 1 + i % 3, .category = "c", .text = "t",
                       .community = i % 2 ? "north" : "south", .grid = grid,
                       .state = GL_EV_FILED, .created_ms = 1000 + 10 * (uint64_t)i};
        store_event_add(t, &ev);
        gl_history h = {.seq = ev.seq, .at_ms = ev.created_ms, .who = "terminal", .what = "filed"};
        store_history_add(t, &h);
        gl_dispatch d = {.seq = ev.seq, .event = id, .team = team, .role = "grid",
                         .state = GL_DS_PENDING, .attempts = 1};
        store_dispatch_put(t, &d);
        if (i % 4 == 0) {
            d.team = "squad-x";
            d.role = "squad";
            store_dispatch_put(t, &d);
        }
        ev.state = i % 5 == 0 ? GL_EV_ACCEPTED : GL_EV_DISPATCHED;
        if (i % 7 == 0) {
            ev.alarm = "overdue";
            store_alarm_set(t, ev.seq, "overdue");
        }
        store_event_put(t, &ev);
    }
    is_int(store_commit(&t), 0, "40 events filed");
}

typedef struct got {
    int ids[64];
    int n;
    size_t limit;
    uint64_t last_ms, last_seq;
} got;

static int collect(void *ctx, const gl_event *ev)
{
    got *g = ctx;
    if (g->limit && (size_t)g->n == g->limit)
        return 1;
    g->ids[g->n++] = atoi(ev->id + 3);
    g->last_ms = ev->created_ms;
    g->last_seq = ev->seq;
    return 0;
}

/* Runs q in pages of page events and checks the ids are exactly want(i). */
static void check_query(store *s, store_query q, size_t page, int (*want)(int), int want_dim,
                        const char *what)
{
    int seen[40] = {0}, order_ok = 1, dup = 0, pages = 0, dim = 0;
    int last = -1;
    for (int guard = 0; guard < 100; guard++) {
        store_txn *t = NULL;
        store_begin(s, 0, &t);
        got g = {.limit = page};
        int rc = store_query_events(t, &q, collect, &g, &dim, NULL, NULL);
        store_abort(&t);
        if (rc < 0) {
            ok(0, "%s: query failed: %s", what, gl_strerror(rc));
            return;
        }
        pages++;
        for (int i = 0; i < g.n; i++) {
            dup |= seen[g.ids[i]]++;
            order_ok &= g.ids[i] > last;
            last = g.ids[i];
        }
        if ((size_t)g.n < page || rc == 0)
            break;
        q.after_ms = g.last_ms;
        q.after_seq = g.last_seq;
    }
    int exact = 1;
    for (int i = 0; i < 40; i++)
        exact &= (seen[i] > 0) == (want(i) != 0);
    ok(exact && !dup && order_ok, "%s: exactly the expected events, each once, in order (%d pages)",
       what, pages);
    if (want_dim)
        is_int(dim, want_dim, "%s: answered from the expected index", what);
}

static int w_all(int i) { (void)i; return 1; }
static int w_alert(int i) { return i % 3 == 1; }
static int w_north(int i) { return i % 2 == 1; }
static int w_g2(int i) { return i % 4 == 2; }
static int w_squad(int i) { return i % 4 == 0; }
static int w_accepted(int i) { return i % 5 == 0; }
static int w_overdue(int i) { return i % 7 == 0; }
static int w_time(int i) { return i >= 10 && i < 20; }
static int w_mix(int i) { return i % 2 == 1 && i % 3 == 0 && i >= 5; }
static int w_g1_team(int i) { return i % 4 == 1 && i < 30; }
static int w_none(int i) { (void)i; return 0; }

static void test_queries(store *s)
{
    store_query q;
    memset(&q, 0, sizeof q);
    check_query(s, q, 7, w_all, IX_TIME, "no filter");
    memset(&q, 0, sizeof q);
    q.kind = GL_KIND_ALERT;
    check_query(s, q, 4, w_alert, IX_KIND, "kind alert");
    memset(&q, 0, sizeof q);
    q.community = "north";
    check_query(s, q, 6, w_north, 0, "community north");
    memset(&q, 0, sizeof q);
    q.grid = "g2";
    check_query(s, q, 3, w_g2, IX_GRID, "grid g2");
    memset(&q, 0, sizeof q);
    q.team = "squad-x";
    check_query(s, q, 2, w_squad, IX_TEAM, "team squad-x");
    memset(&q, 0, sizeof q);
    q.state = GL_EV_ACCEPTED;
    check_query(s, q, 100, w_accepted, IX_STATE, "state accepted");
    memset(&q, 0, sizeof q);
    q.alarm = "overdue";
    check_query(s, q, 1, w_overdue, IX_ALARM, "overdue");
    memset(&q, 0, sizeof q);
    q.since_ms = 1100;
    q.until_ms = 1200;
    check_query(s, q, 3, w_time, IX_TIME, "time range [1100, 1200)");
    memset(&q, 0, sizeof q);
    q.community = "north";
    q.kind = GL_KIND_REQUEST;
    q.since_ms = 1050;
    check_query(s, q, 2, w_mix, 0, "community, kind and since together");
    memset(&q, 0, sizeof q);
    q.team = "team-g1";
    q.until_ms = 1300;
    check_query(s, q, 2, w_g1_team, 0, "team and until together");
    memset(&q, 0, sizeof q);
    q.community = "nowhere";
    check_query(s, q, 5, w_none, 0, "an unknown community: nothing");
    memset(&q, 0, sizeof q);
    q.community = "nort";
    check_query(s, q, 5, w_none, 0, "a prefix of a community matches nothing");

    /* Bounded work: a scan limit hands back where to resume. */
    store_txn *t = NULL;
    store_begin(s, 0, &t);
    got g = {0};
    uint64_t rms = 0, rseq = 0;
    memset(&q, 0, sizeof q);
    q.max_scan = 10;
    q.grid = "g3";         /* the smallest range: 10 entries */
    q.kind = GL_KIND_ALERT;
    q.community = "south"; /* g3's events are all north: nothing matches */
    int rc = store_query_events(t, &q, collect, &g, NULL, &rms, &rseq);
    memset(&q, 0, sizeof q);
    q.max_scan = 5;
    got g2 = {0};
    uint64_t ms2 = 0, seq2 = 0;
    int rc2 = store_query_events(t, &q, collect, &g2, NULL, &ms2, &seq2);
    store_abort(&t);
    ok(rc == 0 && g.n == 0, "a query nothing matches visits nothing");
    ok(rc2 == 0 && g2.n == 5 && ms2 == 1050 && seq2 == 5,
       "after max_scan entries it stops and says where to resume (%d, %llu, %llu)", g2.n,
       (unsigned long long)ms2, (unsigned long long)seq2);
}

static int dead_seen;
static int count_dead(void *ctx, const gl_dispatch *d)
{
    (void)ctx;
    dead_seen += d->state == GL_DS_DEAD && d->note && strcmp(d->note, "never acknowledged") == 0;
    return 0;
}

static void test_dead(store *s)
{
    store_txn *t = NULL;
    store_begin(s, 1, &t);
    gl_arena a = {0};
    for (uint64_t seq = 2; seq <= 4; seq++) {
        gl_dispatch d;
        char team[16];
        snprintf(team, sizeof team, "team-g%d", (int)(seq - 1) % 4);
        store_dispatch_get(t, seq, team, &d, &a);
        d.state = GL_DS_DEAD;
        d.note = "never acknowledged";
        d.next_retry_ms = 0;
        store_dispatch_put(t, &d);
    }
    is_int(store_dead_count(t), 3, "three dispatches made dead are three dead letters");
    dead_seen = 0;
    store_dead_list(t, 2, count_dead, NULL);
    is_int(dead_seen, 2, "listing after event 2 shows the other two, with their reason");
    gl_dispatch d;
    store_dispatch_get(t, 3, "team-g2", &d, &a);
    d.state = GL_DS_PENDING;
    store_dispatch_put(t, &d);
    is_int(store_dead_count(t), 2, "a dispatch requeued leaves the dead letters");
    is_int(store_commit(&t), 0, "committed");
    arena_free(&a);
}

static void test_rebuild(void)
{
    /* Drop the index behind the store's back: what a store made before it
     * existed looks like. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 32);
    mdb_env_open(env, dir, 0, 0600);
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, "event_index", 0, &dbi);
    mdb_drop(txn, dbi, 1);
    mdb_dbi_open(txn, "dead_letters", 0, &dbi);
    mdb_drop(txn, dbi, 1);
    mdb_dbi_open(txn, "index_recent", 0, &dbi); /* none before the index either */
    mdb_drop(txn, dbi, 1);
    mdb_txn_commit(txn);
    mdb_env_close(env);

    store *s = NULL;
    is_int(store_open(dir, NULL, &s), 0, "a store without the index opens");
    store_fsck_report r;
    is_int(store_fsck(s, &r), 0, "fsck runs");
    for (int i = 0; i < r.nfirst; i++)
        diag("  %s", r.first[i]);
    is_int(r.problems, 0, "the index was built on open and matches the records");
    store_query q;
    memset(&q, 0, sizeof q);
    q.alarm = "overdue";
    check_query(s, q, 3, w_overdue, IX_ALARM, "overdue, after the rebuild");
    store_txn *t = NULL;
    store_begin(s, 0, &t);
    is_int(store_dead_count(t), 2, "the dead letters were rebuilt too");
    store_abort(&t);
    store_close(&s);
}

static int count_event(void *ctx, const gl_event *ev)
{
    (void)ev;
    (*(size_t *)ctx)++;
    return 0;
}

/* A young store, every entry of its events still waiting in index_recent
 * (event_index empty): opening it is not mistaken for a store made before
 * the index, whose rebuild would settle them all (a rebuild on every
 * open). */
static void test_young_store(void)
{
    char young[sizeof dir + 8];
    snprintf(young, sizeof young, "%s/young", dir);
    store *s = NULL;
    store_txn *t = NULL;
    int rc = store_open(young, NULL, &s);
    if (rc == 0)
        rc = store_begin(s, 1, &t);
    for (int i = 0; rc == 0 && i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "young-%d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair", .text = "x",
                       .community = "heping", .state = GL_EV_FILED, .created_ms = 5000 + i};
        rc = store_event_add(t, &ev);
    }
    if (rc == 0)
        rc = store_commit(&t);
    store_abort(&t);
    store_close(&s);
    is_int(rc, 0, "a young store: 5 events filed");

    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat ix, recent;
    memset(&ix, 0, sizeof ix);
    memset(&recent, 0, sizeof recent);
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 32);
    if (mdb_env_open(env, young, MDB_RDONLY, 0600) == 0 &&
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_dbi_open(txn, "event_index", 0, &dbi) == 0)
            mdb_stat(txn, dbi, &ix);
        if (mdb_dbi_open(txn, "index_recent", 0, &dbi) == 0)
            mdb_stat(txn, dbi, &recent);
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    ok(ix.ms_entries == 0 && recent.ms_entries == 20,
       "its event_index is empty, its 20 entries wait in index_recent (%zu, %zu)",
       (size_t)ix.ms_entries, (size_t)recent.ms_entries);

    rc = store_open(young, NULL, &s);
    uint64_t waiting = 0;
    if (rc == 0 && store_begin(s, 0, &t) == 0) {
        waiting = store_index_recent_count(t);
        store_abort(&t);
    }
    is_int((int)waiting, 20, "opened again: not rebuilt, the 20 entries still wait");
    store_query q;
    memset(&q, 0, sizeof q);
    q.community = "heping";
    size_t n = 0;
    if (rc == 0 && store_begin(s, 0, &t) == 0) {
        rc = store_query_events(t, &q, count_event, &n, NULL, NULL, NULL);
        store_abort(&t);
    }
    is_int((int)n, 5, "and a query finds the 5 events");
    store_close(&s);
}

int main(void)
{
    log_init("t_index", LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/t_index.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    test_keys();
    store *s = NULL;
    if (store_open(dir, NULL, &s) != 0) {
        printf("Bail out! store_open\n");
        return 1;
    }
    fill(s);
    test_queries(s);
    test_dead(s);
    store_fsck_report r;
    store_fsck(s, &r);
    for (int i = 0; i < r.nfirst; i++)
        diag("  %s", r.first[i]);
    is_int(r.problems, 0, "fsck: the indexes match the records after every change");
    store_close(&s);
    test_rebuild();
    test_young_store();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
