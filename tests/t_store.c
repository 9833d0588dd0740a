/* Tests for common/store: records, indexes and listings as a worker sees
 * them; durability across reopen, concurrent writer processes and kill -9;
 * storage-full handling through the fault hook and a really tiny map. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "../common/arena.h"
#include "../common/gl.h"
#include "../common/log.h"
#include "../common/records.h"
#include "../common/store.h"
#include "../common/store_fault.h"
#include "tap.h"
#include "support/store_test.h"

#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[64];

static const char *path_in(const char *sub)
{
    static char buf[4][128];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", root, sub);
    return p;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    if (root[0])
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static store *open_or_bail(const char *dir, size_t map_size)
{
    store_opts opts = {.map_size = map_size};
    store *s = NULL;
    int err = store_open(dir, &opts, &s);
    if (err) {
        printf("Bail out! store_open %s: %s\n", dir, gl_strerror(err));
        exit(1);
    }
    return s;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static gl_event alert_event(const char *id)
{
    gl_event ev = {0};
    ev.id = id;
    ev.kind = GL_KIND_ALERT;
    ev.category = "fire";
    ev.community = "和平社区";
    ev.compound = "鼓楼小区";
    ev.grid = "heping-g3";
    ev.terminal = "callbox-17";
    ev.address = "平罗县城关镇和平社区3号楼2单元";
    ev.has_coords = 1;
    ev.lat = 38.9061234;
    ev.lon = -106.5432109;
    ev.text = "三楼厨房冒烟，老人独居，请尽快处理";
    ev.contact = "139-0000-1234";
    ev.urgency = "Immediate";
    ev.severity = "Severe";
    ev.certainty = "Observed";
    ev.state = GL_EV_FILED;
    ev.created_ms = 1718000000123ull;
    ev.updated_ms = 1718000000456ull;
    return ev;
}

static gl_dispatch make_dispatch(uint64_t seq, const char *team, int state, uint64_t retry)
{
    gl_dispatch d = {0};
    d.seq = seq;
    d.event = "ev";
    d.team = team;
    d.role = "grid";
    d.state = state;
    d.attempts = 1;
    d.created_ms = 1718000002000ull;
    d.updated_ms = 1718000002000ull;
    d.next_retry_ms = retry;
    return d;
}

static store_stats stats_of(store *s)
{
    store_stats st = {0};
    store_txn *t = NULL;
    if (store_begin(s, 0, &t) == 0) {
        store_get_stats(t, &st);
        store_abort(&t);
    }
    return st;
}

static int add_one(store *s, gl_event *ev)
{
    store_txn *t = NULL;
    int err = store_begin(s, 1, &t);
    if (err)
        return err;
    err = store_event_add(t, ev);
    if (err) {
        store_abort(&t);
        return err;
    }
    return store_commit(&t);
}

/* --- listings collect what they were shown --- */

struct seen {
    int n;
    uint64_t seq[32];
    char team[32][GL_MAX_ID + 1];
    int state[32];
    uint32_t no[32];
    char what[32][32];
};

static int collect_dispatch(void *ctx, const gl_dispatch *d)
{
    struct seen *s = ctx;
    if (s->n >= 32)
        return 1;
    s->seq[s->n] = d->seq;
    snprintf(s->team[s->n], sizeof s->team[0], "%s", d->team ? d->team : "(null)");
    s->state[s->n] = d->state;
    s->n++;
    return 0;
}

static int collect_history(void *ctx, const gl_history *h)
{
    struct seen *s = ctx;
    if (s->n >= 32)
        return 1;
    s->seq[s->n] = h->seq;
    s->no[s->n] = h->no;
    snprintf(s->what[s->n], sizeof s->what[0], "%s", h->what ? h->what : "(null)");
    s->n++;
    return 0;
}

static struct seen pending_of(store_txn *t, const char *team)
{
    struct seen s = {0};
    int err = store_pending_list(t, team, collect_dispatch, &s);
    if (err)
        s.n = -1;
    return s;
}

static struct seen due_at(store_txn *t, uint64_t now, size_t limit)
{
    struct seen s = {0};
    int err = store_due_list(t, now, limit, collect_dispatch, &s);
    if (err)
        s.n = -1;
    return s;
}

/* --- events --- */

static void test_events(store *s)
{
    store_txn *t = NULL;
    gl_arena arena = {0};

    is_int(store_begin(s, 1, &t), 0, "begin a write transaction");
    gl_event a = alert_event("01J0ALERT0000000000000000A");
    gl_event b = tl_request_event("01J0REQ00000000000000000B");
    gl_event c = tl_request_event("01J0REQ00000000000000000C");
    is_int(store_event_add(t, &a), 0, "add an alert");
    is_int(store_event_add(t, &b), 0, "add a request");
    is_int(store_event_add(t, &c), 0, "add another request");
    ok(a.seq == 1 && b.seq == 2 && c.seq == 3, "seqs are 1, 2, 3 (got %llu %llu %llu)",
       (unsigned long long)a.seq, (unsigned long long)b.seq, (unsigned long long)c.seq);
    is_int(store_commit(&t), 0, "commit");
    ok(t == NULL, "commit clears the handle");

    uint64_t seq = 0;
    is_int(store_begin(s, 0, &t), 0, "begin a read transaction");
    is_int(store_event_find(t, "01J0ALERT0000000000000000A", &seq), 0, "find the alert by id");
    is_int(seq, 1, "the alert has seq 1");
    is_int(store_event_find(t, "no-such-id", &seq), GL_ENOTFOUND, "an unknown id is not found");

    gl_event got;
    is_int(store_event_get(t, 1, &got, &arena), 0, "get the alert");
    is_str(got.id, "01J0ALERT0000000000000000A", "id");
    is_int(got.seq, 1, "seq");
    is_int(got.kind, GL_KIND_ALERT, "kind");
    is_str(got.category, "fire", "category");
    is_str(got.community, "和平社区", "community (UTF-8)");
    is_str(got.compound, "鼓楼小区", "compound");
    is_str(got.grid, "heping-g3", "grid");
    is_str(got.terminal, "callbox-17", "terminal");
    is_str(got.address, "平罗县城关镇和平社区3号楼2单元", "address");
    ok(got.has_coords && got.lat == 38.9061234 && got.lon == -106.5432109,
       "coordinates come back exactly (%.9f, %.9f)", got.lat, got.lon);
    is_str(got.text, "三楼厨房冒烟，老人独居，请尽快处理", "Chinese text");
    is_str(got.contact, "139-0000-1234", "contact");
    is_str(got.urgency, "Immediate", "urgency");
    is_str(got.severity, "Severe", "severity");
    is_str(got.certainty, "Observed", "certainty");
    is_int(got.state, GL_EV_FILED, "state");
    ok(got.team == NULL, "absent team stays absent");
    is_int(got.created_ms, 1718000000123ull, "created_ms");
    is_int(got.updated_ms, 1718000000456ull, "updated_ms");

    is_int(store_event_get(t, 2, &got, &arena), 0, "get the request");
    ok(!got.has_coords && got.address == NULL && got.urgency == NULL,
       "a request without coordinates or CAP fields reads back without them");
    is_int(got.kind, GL_KIND_REQUEST, "request kind");
    is_int(store_event_get(t, 99, &got, &arena), GL_ENOTFOUND, "get of an unknown seq");
    store_abort(&t);

    /* A repeated id: refused, nothing written, the transaction goes on. */
    is_int(store_begin(s, 1, &t), 0, "begin");
    gl_event again = tl_request_event("01J0ALERT0000000000000000A");
    is_int(store_event_add(t, &again), GL_EBADSTATE, "a second add of the same id is refused");
    is_int(again.seq, 0, "the refused event got no seq");
    gl_event d = tl_request_event("01J0REQ00000000000000000D");
    is_int(store_event_add(t, &d), 0, "the same transaction can still add another event");
    is_int(d.seq, 4, "which gets the next seq");
    is_int(store_commit(&t), 0, "commit");
    store_stats st = stats_of(s);
    is_int(st.events, 4, "one record per id: 4 events");
    is_int(st.last_seq, 4, "last seq 4");
    is_int(store_begin(s, 0, &t), 0, "begin");
    is_int(store_event_find(t, "01J0ALERT0000000000000000A", &seq), 0, "the id still");
    is_int(seq, 1, "names the first record");
    store_abort(&t);

    /* Bad ids. */
    char long_id[600];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    is_int(store_begin(s, 1, &t), 0, "begin");
    gl_event bad = tl_request_event(long_id);
    is_int(store_event_add(t, &bad), GL_EBADFIELD, "an id longer than an LMDB key is refused");
    bad.id = "";
    is_int(store_event_add(t, &bad), GL_EBADFIELD, "an empty id is refused");
    is_int(store_event_find(t, long_id, &seq), GL_EBADFIELD, "find with an overlong id");
    store_abort(&t);

    /* event_put updates. */
    is_int(store_begin(s, 1, &t), 0, "begin");
    arena_reset(&arena);
    is_int(store_event_get(t, 2, &got, &arena), 0, "read the request");
    got.state = GL_EV_ACCEPTED;
    got.team = "heping-g3-team";
    got.updated_ms = 1718000009999ull;
    is_int(store_event_put(t, &got), 0, "put the accepted request");
    gl_event ghost = tl_request_event("ghost");
    ghost.seq = 99;
    is_int(store_event_put(t, &ghost), GL_ENOTFOUND, "put of an unknown seq");
    gl_event moved = got;
    moved.id = "01J0REQ00000000000000000C";
    is_int(store_event_put(t, &moved), GL_EBADFIELD, "put cannot give a record another event's id");
    is_int(store_commit(&t), 0, "commit");
    is_int(store_begin(s, 0, &t), 0, "begin");
    arena_reset(&arena);
    is_int(store_event_get(t, 2, &got, &arena), 0, "reread");
    is_int(got.state, GL_EV_ACCEPTED, "state is accepted");
    is_str(got.team, "heping-g3-team", "team is set");
    is_int(got.updated_ms, 1718000009999ull, "updated_ms moved");
    is_str(got.text, "楼道灯坏了", "text kept");
    is_str(got.id, "01J0REQ00000000000000000B", "id kept");
    store_abort(&t);

    /* Abort leaves nothing, and does not use up a seq. */
    is_int(store_begin(s, 1, &t), 0, "begin");
    gl_event gone = tl_request_event("01J0REQ0000000000000ABORT");
    is_int(store_event_add(t, &gone), 0, "add inside a transaction to abort");
    store_abort(&t);
    ok(t == NULL, "abort clears the handle");
    store_abort(&t);
    ok(1, "abort of NULL is harmless");
    is_int(store_begin(s, 0, &t), 0, "begin");
    is_int(store_event_find(t, "01J0REQ0000000000000ABORT", &seq), GL_ENOTFOUND,
           "the aborted event is not there");
    is_int(store_event_get(t, 5, &got, &arena), GL_ENOTFOUND, "nor its seq");
    store_abort(&t);
    gl_event e = tl_request_event("01J0REQ00000000000000000E");
    is_int(add_one(s, &e), 0, "add after the abort");
    is_int(e.seq, 5, "gets seq 5: seqs stay dense");
    arena_free(&arena);
}

/* --- dispatches --- */

struct reschedule {
    store_txn *t;
    int visited, failures;
};

static int reschedule_fn(void *ctx, const gl_dispatch *d)
{
    struct reschedule *r = ctx;
    gl_dispatch next = *d;
    next.attempts++;
    next.next_retry_ms = d->next_retry_ms + 100000;
    if (store_dispatch_put(r->t, &next))
        r->failures++;
    r->visited++;
    return 0;
}

struct nested {
    store_txn *t;
    int outer, inner;
};

static int nested_inner(void *ctx, const gl_dispatch *d)
{
    (void)d;
    ((struct nested *)ctx)->inner++;
    return 0;
}

static int nested_outer(void *ctx, const gl_dispatch *d)
{
    struct nested *n = ctx;
    (void)d;
    n->outer++;
    store_dispatch_list(n->t, 3, nested_inner, n);
    return 0;
}

static int stop_at_first(void *ctx, const gl_dispatch *d)
{
    (void)ctx, (void)d;
    return 42;
}

static void test_dispatches(store *s)
{
    store_txn *t = NULL;
    gl_arena arena = {0};
    gl_dispatch d;

    is_int(store_begin(s, 1, &t), 0, "begin");
    gl_dispatch full = make_dispatch(1, "heping-g3-team", GL_DS_PENDING, 5000);
    full.event = "01J0ALERT0000000000000000A";
    full.role = "grid";
    full.member = "王芳";
    full.note = "已电话联系";
    full.attempts = 3;
    full.created_ms = 1718000003000ull;
    full.updated_ms = 1718000004000ull;
    is_int(store_dispatch_put(t, &full), 0, "put a dispatch");
    is_int(store_dispatch_get(t, 1, "heping-g3-team", &d, &arena), 0, "get it back");
    is_str(d.event, "01J0ALERT0000000000000000A", "event id");
    is_int(d.seq, 1, "seq");
    is_str(d.team, "heping-g3-team", "team");
    is_str(d.role, "grid", "role");
    is_int(d.state, GL_DS_PENDING, "state");
    is_str(d.member, "王芳", "member");
    is_str(d.note, "已电话联系", "note");
    is_int(d.attempts, 3, "attempts");
    is_int(d.created_ms, 1718000003000ull, "created_ms");
    is_int(d.updated_ms, 1718000004000ull, "updated_ms");
    is_int(d.next_retry_ms, 5000, "next_retry_ms");
    is_int(store_dispatch_get(t, 1, "nobody", &d, &arena), GL_ENOTFOUND,
           "a dispatch never made is not found");

    /* Pending per team, in event order whatever the order of writing;
     * "heping-g3-team" must not pick up "heping-g3-team2". */
    gl_dispatch d3 = make_dispatch(3, "heping-g3-team", GL_DS_PENDING, 3000);
    gl_dispatch d2 = make_dispatch(2, "heping-g3-team", GL_DS_PENDING, 0);
    gl_dispatch squad = make_dispatch(1, "squad-07", GL_DS_PENDING, 4000);
    gl_dispatch other = make_dispatch(2, "heping-g3-team2", GL_DS_PENDING, 9000);
    gl_dispatch coord = make_dispatch(1, "coordinators", GL_DS_ACKED, 0);
    ok(!store_dispatch_put(t, &d3) && !store_dispatch_put(t, &d2) &&
       !store_dispatch_put(t, &squad) && !store_dispatch_put(t, &other) &&
       !store_dispatch_put(t, &coord), "put five more dispatches");
    is_int(store_commit(&t), 0, "commit");

    is_int(store_begin(s, 1, &t), 0, "begin");
    struct seen p = pending_of(t, "heping-g3-team");
    ok(p.n == 3 && p.seq[0] == 1 && p.seq[1] == 2 && p.seq[2] == 3,
       "pending for the grid team: events 1, 2, 3 in order (%d)", p.n);
    ok(p.n == 3 && !strcmp(p.team[0], "heping-g3-team") && !strcmp(p.team[2], "heping-g3-team"),
       "only that team's dispatches");
    p = pending_of(t, "heping-g3-team2");
    ok(p.n == 1 && p.seq[0] == 2, "the team with a longer name has its own one");
    p = pending_of(t, "coordinators");
    is_int(p.n, 0, "an acknowledged dispatch is not pending");
    p = pending_of(t, "nobody");
    is_int(p.n, 0, "a team with nothing has an empty list");

    d2.state = GL_DS_ACKED;
    d2.member = "李强";
    is_int(store_dispatch_put(t, &d2), 0, "acknowledge event 2's dispatch");
    p = pending_of(t, "heping-g3-team");
    ok(p.n == 2 && p.seq[0] == 1 && p.seq[1] == 3, "pending drops the acknowledged one");
    is_int(store_dispatch_put(t, &d2), 0, "a repeated acknowledgement");
    p = pending_of(t, "heping-g3-team");
    is_int(p.n, 2, "changes nothing");
    is_int(store_commit(&t), 0, "commit");

    is_int(store_begin(s, 0, &t), 0, "begin");
    struct seen l = {0};
    is_int(store_dispatch_list(t, 1, collect_dispatch, &l), 0, "list event 1's dispatches");
    ok(l.n == 3 && !strcmp(l.team[0], "coordinators") && !strcmp(l.team[1], "heping-g3-team") &&
       !strcmp(l.team[2], "squad-07"), "all three, in team order");
    ok(l.n == 3 && l.state[0] == GL_DS_ACKED && l.state[1] == GL_DS_PENDING,
       "with their states");
    struct seen none = {0};
    is_int(store_dispatch_list(t, 77, collect_dispatch, &none), 0, "list an event without any");
    is_int(none.n, 0, "nothing");
    is_int(store_dispatch_list(t, 1, stop_at_first, NULL), 42,
           "a visitor's non-zero return stops the listing and is returned");

    /* Due: (3)@3000, squad(1)@4000, (1)@5000, team2(2)@9000. */
    struct seen due = due_at(t, 4500, 10);
    ok(due.n == 2 && due.seq[0] == 3 && !strcmp(due.team[1], "squad-07"),
       "due at 4500: event 3 (3000), then the squad (4000)");
    due = due_at(t, 4500, 1);
    ok(due.n == 1 && due.seq[0] == 3, "the limit is respected, earliest first");
    due = due_at(t, 2999, 10);
    is_int(due.n, 0, "nothing is due before the first timer");
    is_int(store_next_due(t), 3000, "next due is the earliest timer");
    store_abort(&t);

    is_int(store_begin(s, 1, &t), 0, "begin");
    d3.next_retry_ms = 8000;
    is_int(store_dispatch_put(t, &d3), 0, "reschedule event 3's dispatch to 8000");
    due = due_at(t, 4500, 10);
    ok(due.n == 1 && !strcmp(due.team[0], "squad-07"), "now only the squad is due at 4500");
    is_int(store_next_due(t), 4000, "next due moved to 4000");
    due = due_at(t, 8000, 10);
    ok(due.n == 3 && due.seq[0] == 1 && due.seq[1] == 1 && due.seq[2] == 3,
       "due at 8000: 4000, 5000, then 8000 (moved, not duplicated)");

    /* A worker's resend loop rewrites each due dispatch while listing. */
    struct reschedule r = {.t = t};
    is_int(store_due_list(t, 5000, 100, reschedule_fn, &r), 0,
           "list due dispatches, rescheduling each as it is shown");
    ok(r.visited == 2 && r.failures == 0, "each due dispatch is shown once (%d)", r.visited);
    is_int(store_dispatch_get(t, 1, "squad-07", &d, &arena), 0, "the squad's dispatch");
    ok(d.attempts == 2 && d.next_retry_ms == 104000, "has one more attempt, due later");
    is_int(store_next_due(t), 8000, "the earliest timer is now event 3's");

    struct nested n = {.t = t};
    is_int(store_dispatch_list(t, 1, nested_outer, &n), 0, "a listing inside a listing");
    ok(n.outer == 3 && n.inner == 3, "both see all their dispatches (%d, %d)", n.outer, n.inner);

    store_stats st = {0};
    is_int(store_get_stats(t, &st), 0, "stats");
    is_int(st.dispatches, 6, "six dispatches");
    is_int(st.pending, 4, "four pending");
    is_int(st.scheduled, 4, "four timers");
    ok(st.map_size >= (1u << 20) && st.map_used > 0 && st.map_used <= st.map_size,
       "map size and use are reported");

    /* Clearing every timer empties the due index. */
    gl_dispatch all[] = {full, squad, other, d3};
    int cleared = 1;
    for (size_t i = 0; i < GL_ARRAY_LEN(all); i++) {
        all[i].next_retry_ms = 0;
        if (store_dispatch_put(t, &all[i]))
            cleared = 0;
    }
    ok(cleared, "clear all timers");
    is_int(store_next_due(t), 0, "nothing scheduled");
    due = due_at(t, UINT64_MAX, 10);
    is_int(due.n, 0, "nothing due, ever");
    squad.next_retry_ms = 6000;
    is_int(store_dispatch_put(t, &squad), 0, "schedule the squad again");
    is_int(store_next_due(t), 6000, "scheduled again");

    gl_dispatch noteam = make_dispatch(1, "", GL_DS_PENDING, 0);
    is_int(store_dispatch_put(t, &noteam), GL_EBADFIELD, "a dispatch needs a team");
    is_int(store_commit(&t), 0, "commit");
    arena_free(&arena);
}

/* --- history --- */

static void test_history(store *s)
{
    store_txn *t = NULL;
    static const struct {
        uint64_t seq;
        const char *what;
        uint32_t no;
    } steps[] = {
        {1, "filed", 1}, {5, "filed", 1}, {1, "dispatched", 2}, {3, "filed", 1},
        {1, "acked", 3}, {5, "dispatched", 2}, {1, "accepted", 4},
    };
    is_int(store_begin(s, 1, &t), 0, "begin");
    int numbered = 1;
    for (size_t i = 0; i < GL_ARRAY_LEN(steps); i++) {
        gl_history h = {.seq = steps[i].seq, .no = 999, .at_ms = 1718000010000ull + i,
                        .who = "worker:w1", .what = steps[i].what, .note = "第一次"};
        if (store_history_add(t, &h) || h.no != steps[i].no) {
            numbered = 0;
            diag("step %zu: no %u, expected %u", i, h.no, steps[i].no);
        }
    }
    ok(numbered, "history entries are numbered 1, 2, 3 per event, independently");
    is_int(store_commit(&t), 0, "commit");

    is_int(store_begin(s, 0, &t), 0, "begin");
    struct seen h = {0};
    is_int(store_history_list(t, 1, collect_history, &h), 0, "list event 1's history");
    ok(h.n == 4 && h.no[0] == 1 && h.no[3] == 4 && !strcmp(h.what[0], "filed") &&
       !strcmp(h.what[1], "dispatched") && !strcmp(h.what[2], "acked") &&
       !strcmp(h.what[3], "accepted"), "in order: filed, dispatched, acked, accepted");
    struct seen h5 = {0};
    is_int(store_history_list(t, 5, collect_history, &h5), 0, "list event 5's history");
    ok(h5.n == 2 && h5.seq[0] == 5 && h5.seq[1] == 5 && !strcmp(h5.what[1], "dispatched"),
       "its own two entries");
    struct seen h4 = {0};
    is_int(store_history_list(t, 4, collect_history, &h4), 0, "event 4 has no history");
    is_int(h4.n, 0, "an empty list");
    store_abort(&t);
}

/* --- persistence --- */

static void test_reopen(const char *dir)
{
    store *s = open_or_bail(dir, 0);
    store_txn *t = NULL;
    gl_arena arena = {0};
    gl_event ev;
    store_stats st = stats_of(s);
    ok(st.events == 5 && st.last_seq == 5 && st.dispatches == 6 && st.pending == 4,
       "after reopening: 5 events, 6 dispatches, 4 pending");
    is_int(store_begin(s, 0, &t), 0, "begin");
    is_int(store_event_get(t, 1, &ev, &arena), 0, "the alert is there");
    is_str(ev.text, "三楼厨房冒烟，老人独居，请尽快处理", "with its text");
    struct seen p = pending_of(t, "heping-g3-team");
    ok(p.n == 2 && p.seq[0] == 1 && p.seq[1] == 3, "pending list survives");
    is_int(store_next_due(t), 6000, "timers survive");
    struct seen h = {0};
    store_history_list(t, 1, collect_history, &h);
    is_int(h.n, 4, "history survives");
    store_abort(&t);
    gl_event f = tl_request_event("01J0REQ00000000000000000F");
    is_int(add_one(s, &f), 0, "add after reopening");
    is_int(f.seq, 6, "seq continues at 6");
    store_close(&s);
    ok(s == NULL, "close clears the handle");
    store_close(&s);
    ok(1, "close of NULL is harmless");
    arena_free(&arena);
}

/* --- processes --- */

/* write_events adds total events "prefix-i" in transactions of batch,
 * writing the running count to report_fd (if >= 0) after each commit and
 * then pausing pause_us so that another writer can take the write lock.
 * Runs in a child; returns its exit status. */
static int write_events(const char *dir, const char *prefix, int total, int batch,
                        int report_fd, int pause_us)
{
    store *s = NULL;
    if (store_open(dir, NULL, &s))
        return 10;
    char id[64];
    int done = 0;
    while (done < total) {
        store_txn *t = NULL;
        if (store_begin(s, 1, &t))
            return 11;
        for (int i = 0; i < batch; i++) {
            snprintf(id, sizeof id, "%s-%d", prefix, done + i);
            gl_event ev = tl_request_event(id);
            if (store_event_add(t, &ev))
                return 12;
        }
        if (store_commit(&t))
            return 13;
        done += batch;
        if (report_fd >= 0 && write(report_fd, &done, sizeof done) != sizeof done)
            return 14;
        if (pause_us)
            sleep_us(pause_us);
    }
    store_close(&s);
    return 0;
}

static void test_two_writers(const char *dir)
{
    int gate[2];
    pid_t pid[2];
    if (pipe(gate) != 0) {
        ok(0, "pipe");
        return;
    }
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        if (pid[i] == 0) {
            char go;
            close(gate[1]);
            if (read(gate[0], &go, 1) < 0) /* returns 0 when the parent opens the gate */
                _exit(9);
            _exit(write_events(dir, i ? "w1" : "w0", 2000, 50, -1, 300));
        }
    }
    close(gate[0]);
    close(gate[1]);
    int clean = 1;
    for (int i = 0; i < 2; i++) {
        int status = 0;
        waitpid(pid[i], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            clean = 0;
            diag("writer %d: status %#x", i, status);
        }
    }
    ok(clean, "two writer processes each add 2000 events in transactions of 50");

    store *s = open_or_bail(dir, 0);
    store_stats st = stats_of(s);
    is_int(st.events, 4000, "4000 events");
    is_int(st.last_seq, 4000, "last seq 4000");
    static unsigned char taken[4001];
    memset(taken, 0, sizeof taken);
    int found = 0, distinct = 0, matches = 0, interleaved = 0;
    store_txn *t = NULL;
    gl_arena arena = {0};
    store_begin(s, 0, &t);
    for (int w = 0; w < 2 && t; w++) {
        uint64_t prev = 0;
        for (int i = 0; i < 2000; i++) {
            char id[64];
            uint64_t seq = 0;
            gl_event ev;
            snprintf(id, sizeof id, "w%d-%d", w, i);
            if (store_event_find(t, id, &seq) != 0)
                continue;
            found++;
            if (seq >= 1 && seq <= 4000 && !taken[seq]) {
                taken[seq] = 1;
                distinct++;
            }
            arena_reset(&arena);
            if (store_event_get(t, seq, &ev, &arena) == 0 && ev.id && !strcmp(ev.id, id))
                matches++;
            if (i && seq != prev + 1)
                interleaved++;
            prev = seq;
        }
    }
    store_abort(&t);
    is_int(found, 4000, "every id is found");
    is_int(distinct, 4000, "4000 distinct seqs, all within 1..4000");
    is_int(matches, 4000, "each seq holds the event its id names");
    ok(interleaved > 0, "the writers' transactions interleaved (%d times)", interleaved);
    arena_free(&arena);
    store_close(&s);
}

static void test_kill9(const char *dir)
{
    /* Kill right after a reported commit, or a little later, when the
     * next transaction is being built or flushed. */
    static const int kill_after[] = {100, 400, 1000, 250};
    static const int kill_delay_us[] = {0, 150, 700, 2000};
    uint64_t before = 0;
    for (size_t round = 0; round < GL_ARRAY_LEN(kill_after); round++) {
        char prefix[16];
        int report[2];
        snprintf(prefix, sizeof prefix, "k%zu", round);
        if (pipe(report) != 0) {
            ok(0, "pipe");
            return;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(report[0]);
            _exit(write_events(dir, prefix, 200000, 50, report[1], 0));
        }
        close(report[1]);
        int committed = 0, n;
        while (committed < kill_after[round] &&
               read(report[0], &n, sizeof n) == (ssize_t)sizeof n)
            committed = n;
        if (kill_delay_us[round])
            sleep_us(kill_delay_us[round]);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        while (read(report[0], &n, sizeof n) == (ssize_t)sizeof n)
            committed = n; /* commits reported between our last read and the kill */
        close(report[0]);
        ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
           "round %zu: writer killed with SIGKILL after reporting %d committed", round,
           committed);

        store *s = open_or_bail(dir, 0);
        store_txn *t = NULL;
        int present = 0;
        uint64_t seq;
        is_int(store_begin(s, 0, &t), 0, "round %zu: the store opens and reads", round);
        for (;; present++) {
            char id[64];
            snprintf(id, sizeof id, "%s-%d", prefix, present);
            if (!t || store_event_find(t, id, &seq) != 0)
                break;
        }
        store_abort(&t);
        store_stats st = stats_of(s);
        ok(present >= committed, "round %zu: every reported event is there (%d of %d)", round,
           present, committed);
        ok(present % 50 == 0 && st.events == before + (uint64_t)present,
           "round %zu: whole transactions only (%d events, %llu in all)", round, present,
           (unsigned long long)st.events);
        before = st.events;
        gl_event after = tl_request_event(prefix);
        is_int(add_one(s, &after), 0, "round %zu: writing works after the kill", round);
        before++;
        store_close(&s);
    }
}

/* A store opened with a small map sees what another process wrote after
 * growing the map beyond it (MDB_MAP_RESIZED). */
static void test_map_resized(const char *dir)
{
    store *s = open_or_bail(dir, 1 << 20);
    gl_event first = tl_request_event("first");
    is_int(add_one(s, &first), 0, "a 1 MiB store takes an event");
    store_txn *held = NULL;
    is_int(store_begin(s, 0, &held), 0, "hold a read transaction open");
    pid_t pid = fork();
    if (pid == 0) {
        store *big = NULL;
        store_opts opts = {.map_size = 64u << 20};
        char text[3001];
        memset(text, 'm', 3000);
        text[3000] = '\0';
        if (store_open(dir, &opts, &big))
            _exit(10);
        store_txn *t = NULL;
        if (store_begin(big, 1, &t))
            _exit(11);
        for (int i = 0; i < 800; i++) {
            char id[32];
            snprintf(id, sizeof id, "big-%d", i);
            gl_event ev = tl_request_event(id);
            ev.text = text;
            if (store_event_add(t, &ev))
                _exit(12);
        }
        _exit(store_commit(&t) ? 13 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "another process with a 64 MiB map writes 2.4 MB");
    store_txn *t = NULL;
    gl_arena arena = {0};
    gl_event ev;
    is_int(store_begin(s, 0, &t), GL_ESTORAGE,
           "while a transaction is open the map cannot follow: a storage error, no crash");
    is_int(store_event_get(held, 1, &ev, &arena), 0, "the open transaction still reads");
    store_abort(&held);
    is_int(store_begin(s, 0, &t), 0, "once it ends the small store begins a transaction");
    is_int(store_event_get(t, 801, &ev, &arena), 0, "and reads the last big event");
    ok(ev.text && strlen(ev.text) == 3000, "with its text");
    store_stats st;
    store_get_stats(t, &st);
    ok(st.map_size > (1u << 20), "the map grew (%llu bytes)", (unsigned long long)st.map_size);
    store_abort(&t);
    gl_event more = tl_request_event("more");
    is_int(add_one(s, &more), 0, "and writes");
    arena_free(&arena);
    store_close(&s);
}

/* --- storage full --- */

static const char *fault_op;
static int fault_rc;

static int fault_hook(const char *op)
{
    return fault_op && strcmp(op, fault_op) == 0 ? fault_rc : 0;
}

static void test_faults(const char *dir)
{
    store *s = open_or_bail(dir, 0);
    gl_event a = tl_request_event("fault-a");
    is_int(add_one(s, &a), 0, "add an event");
    store_stats before = stats_of(s);
    store_txn *t = NULL;
    uint64_t seq;

    store_fault_hook = fault_hook;
    fault_op = "commit";
    fault_rc = MDB_MAP_FULL;
    gl_event b = tl_request_event("fault-b");
    is_int(store_begin(s, 1, &t), 0, "begin");
    is_int(store_event_add(t, &b), 0, "add");
    gl_dispatch d = make_dispatch(b.seq, "team-x", GL_DS_PENDING, 7000);
    is_int(store_dispatch_put(t, &d), 0, "and dispatch");
    is_int(store_commit(&t), GL_ESTORAGEFULL, "a commit failing with MDB_MAP_FULL says storage full");
    ok(t == NULL, "the handle is cleared");
    fault_rc = ENOSPC;
    ok(add_one(s, &b) == GL_ESTORAGEFULL, "ENOSPC at commit: storage full too");
    fault_rc = EIO;
    ok(add_one(s, &b) == GL_ESTORAGE, "EIO at commit: storage error");

    fault_op = "put";
    fault_rc = MDB_MAP_FULL;
    is_int(store_begin(s, 1, &t), 0, "begin");
    is_int(store_event_add(t, &b), GL_ESTORAGEFULL, "a put failing with MDB_MAP_FULL says storage full");
    fault_op = NULL;
    is_int(store_event_add(t, &b), GL_ESTORAGEFULL, "the transaction stays failed");
    is_int(store_commit(&t), GL_ESTORAGEFULL, "and its commit says why");
    store_fault_hook = NULL;

    store_stats after = stats_of(s);
    ok(after.events == before.events && after.dispatches == before.dispatches &&
       after.scheduled == before.scheduled && after.last_seq == before.last_seq,
       "the store is unchanged by the failed transactions");
    is_int(store_begin(s, 0, &t), 0, "begin");
    is_int(store_event_find(t, "fault-b", &seq), GL_ENOTFOUND, "the failed event is not there");
    store_abort(&t);
    gl_event c = tl_request_event("fault-c");
    is_int(add_one(s, &c), 0, "the next transaction commits");
    is_int(c.seq, a.seq + 1, "with the next seq");
    store_close(&s);
}

static void test_tiny_map(const char *dir)
{
    store *s = open_or_bail(dir, 1 << 20);
    char text[3001];
    memset(text, 't', 3000);
    text[3000] = '\0';
    int committed = 0, err = 0;
    for (int round = 0; round < 1000 && !err; round++) {
        store_txn *t = NULL;
        if ((err = store_begin(s, 1, &t)) != 0)
            break;
        for (int i = 0; i < 5 && !err; i++) {
            char id[32];
            snprintf(id, sizeof id, "tiny-%d", committed + i);
            gl_event ev = tl_request_event(id);
            ev.text = text;
            err = store_event_add(t, &ev);
        }
        if (err)
            store_abort(&t);
        else if ((err = store_commit(&t)) == 0)
            committed += 5;
    }
    is_int(err, GL_ESTORAGEFULL, "filling a 1 MiB map ends in storage full");
    ok(committed > 50, "after %d events were filed", committed);

    int readable = 0;
    store_txn *t = NULL;
    gl_arena arena = {0};
    is_int(store_begin(s, 0, &t), 0, "a full store still reads");
    for (int i = 0; i < committed && t; i++) {
        gl_event ev;
        arena_reset(&arena);
        if (store_event_get(t, (uint64_t)i + 1, &ev, &arena) == 0 && ev.text &&
            strlen(ev.text) == 3000)
            readable++;
    }
    store_abort(&t);
    is_int(readable, committed, "every event filed before it filled up is readable");
    store_close(&s);
    s = open_or_bail(dir, 1 << 20);
    store_stats st = stats_of(s);
    is_int(st.events, committed, "a full store reopens with all its events");
    store_close(&s);
    arena_free(&arena);
}

int main(void)
{
    log_init("t_store", LOG_WARN);
    snprintf(root, sizeof root, "/tmp/t_store.XXXXXX");
    if (!mkdtemp(root)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    atexit(cleanup);

    const char *main_dir = path_in("main");
    store *s = open_or_bail(main_dir, 0);
    test_events(s);
    test_dispatches(s);
    test_history(s);
    store_close(&s);
    test_reopen(main_dir);
    test_two_writers(path_in("writers"));
    test_kill9(path_in("kill9"));
    test_map_resized(path_in("resized"));
    test_faults(path_in("faults"));
    test_tiny_map(path_in("tiny"));

    store *nope = NULL;
    is_int(store_open(path_in("no/such/parent"), NULL, &nope), GL_ESYS,
           "a store whose parent directory is missing gives a system error");
    ok(nope == NULL, "and no handle");
    return done_testing();
}
