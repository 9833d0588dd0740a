/* Filing a new event with few writes (issue 7): store_event_next_seq lets
 * the dispatches come before the event's one record, store_dispatch_add
 * writes a new dispatch without reading it first, and the dispatch counts
 * are written once per transaction. What a user would see: the records,
 * the listings, a history query by team, the counts, and a clean fsck. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_index.h"
#include "../common/store_info.h"
#include "tap.h"
#include "support/store_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

typedef struct seen {
    int n;
    uint64_t seq[40];
} seen;

static int collect(void *ctx, const gl_event *ev)
{
    seen *s = ctx;
    if (s->n < 8)
        s->seq[s->n++] = ev->seq;
    return 0;
}

static int collect_all(void *ctx, const gl_event *ev)
{
    seen *s = ctx;
    if (s->n < (int)(sizeof s->seq / sizeof s->seq[0]))
        s->seq[s->n++] = ev->seq;
    return 0;
}

static int count_dispatch(void *ctx, const gl_dispatch *d)
{
    (void)d;
    (*(int *)ctx)++;
    return 0;
}

/* Files event id the way a worker does: seq first, dispatches, record last. */
static int file_new(store_txn *t, const char *id, uint64_t ms, const char *const *teams, int nteams,
                    uint64_t *seq)
{
    gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair", .text = "漏水",
                   .community = "heping", .grid = "heping-g1", .created_ms = ms,
                   .updated_ms = ms, .state = GL_EV_DISPATCHED};
    int rc = store_event_next_seq(t, &ev.seq);
    uint64_t reserved = ev.seq;
    gl_history h = {.seq = ev.seq, .at_ms = ms, .who = "terminal", .what = "filed"};
    if (rc == 0)
        rc = store_history_add(t, &h);
    for (int i = 0; rc == 0 && i < nteams; i++) {
        gl_dispatch d = {.seq = ev.seq, .event = id, .team = teams[i], .role = "grid",
                         .state = GL_DS_PENDING, .attempts = 1, .created_ms = ms,
                         .updated_ms = ms, .next_retry_ms = ms + 30000};
        rc = store_dispatch_add(t, &d, ms);
    }
    if (rc == 0)
        rc = store_event_add(t, &ev);
    if (rc == 0 && ev.seq != reserved)
        rc = -1000;
    *seq = ev.seq;
    return rc;
}

/* The seqs a query by team returns, page by page (max_scan entries looked
 * at per call, as a LIST does), into out; returns how many. */
static int query_pages(store *s, const store_query *base, size_t max_scan, uint64_t *out, int max);

static int team_query(store *s, const char *team, uint64_t since, uint64_t until, size_t max_scan,
                      uint64_t *out, int max)
{
    store_query q = {.team = team, .since_ms = since, .until_ms = until};
    return query_pages(s, &q, max_scan, out, max);
}

/* The same for any query. */
static int query_pages(store *s, const store_query *base, size_t max_scan, uint64_t *out, int max)
{
    int n = 0, calls = 0;
    uint64_t after_ms = 0, after_seq = 0;
    for (;;) {
        store_txn *t = NULL;
        if (store_begin(s, 0, &t) != 0 || ++calls > 1000)
            return -1;
        store_query q = *base;
        q.max_scan = max_scan;
        q.after_ms = after_ms;
        q.after_seq = after_seq;
        seen got = {0};
        uint64_t rms = 0, rseq = 0;
        int rc = store_query_events(t, &q, collect_all, &got, NULL, &rms, &rseq);
        store_abort(&t);
        if (rc != 0)
            return -1;
        for (int i = 0; i < got.n && n < max; i++)
            out[n++] = got.seq[i];
        if (!rms && !rseq)
            return n;
        after_ms = rms;
        after_seq = rseq;
    }
}

/* Team, grid and community entries written to index_recent, settled part
 * by part into the event index, and an older one arriving after a settle
 * (two workers' batches commit in another order than their clocks): a
 * query gives the same events in the same order throughout, and fsck
 * agrees. */
static void team_entries(store *s)
{
    const char *const team[] = {"mingzhu-g2-team"};
    uint64_t seqs[40], want[40], got[40];
    store_txn *t = NULL;
    store_begin(s, 1, &t);
    for (int i = 0; i < 30; i++) {
        char id[32];
        snprintf(id, sizeof id, "team-%02d", i);
        file_new(t, id, 100000 + (uint64_t)i * 10, team, 1, &seqs[i]);
    }
    is_int(store_commit(&t), 0, "30 events to one team");
    store_begin(s, 0, &t);
    ok(store_index_recent_count(t) >= 90, "their team, grid and community entries wait in index_recent");
    store_abort(&t);
    for (int i = 0; i < 30; i++)
        want[i] = seqs[i];
    int n = team_query(s, "mingzhu-g2-team", 0, 0, 7, got, 40);
    ok(n == 30 && memcmp(got, want, sizeof *got * 30) == 0, "a query by team, 7 entries a call, finds all 30 in order (%d)", n);

    size_t moved = 0;
    is_int(store_index_settle(s, 0, 12, &moved), 0, "settle some");
    is_int((int)moved, 12, "12 moved");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: half settled is consistent");
    n = team_query(s, "mingzhu-g2-team", 0, 0, 7, got, 40);
    ok(n == 30 && memcmp(got, want, sizeof *got * 30) == 0, "the same 30 in order from both places (%d)", n);
    uint64_t by_grid[48], by_community[48];
    store_query qg = {.grid = "heping-g1", .since_ms = 100000}, qc = {.community = "heping",
                                                                      .since_ms = 100000};
    int ng = query_pages(s, &qg, 5, by_grid, 48), nc = query_pages(s, &qc, 1000, by_community, 48);
    ok(ng == 30 && nc == 30 && memcmp(by_grid, want, sizeof *want * 30) == 0 &&
       memcmp(by_community, want, sizeof *want * 30) == 0,
       "by grid and by community too, half settled (%d, %d)", ng, nc);
    n = team_query(s, "mingzhu-g2-team", 100050, 100250, 4, got, 40);
    ok(n == 20 && got[0] == want[5] && got[19] == want[24], "a time range across both places (%d)", n);

    /* An event of an older clock, filed after the settle. */
    store_begin(s, 1, &t);
    uint64_t late;
    file_new(t, "team-late", 100055, team, 1, &late);
    is_int(store_commit(&t), 0, "an event with an older filing time, after the settle");
    n = team_query(s, "mingzhu-g2-team", 0, 0, 5, got, 40);
    int sorted = n == 31;
    for (int i = 0, j = 0; sorted && i < 31; i++) {
        uint64_t expect = i == 6 ? late : want[j++];
        sorted = got[i] == expect;
    }
    ok(sorted, "it comes in its place by filing time, between settled entries (%d)", n);
    store_begin(s, 1, &t);
    file_new(t, "team-more", 200000, team, 1, &late);
    store_commit(&t);
    is_int(store_index_settle(s, 1000, 2000, &moved), 0, "settle at 1000 waiting");
    is_int((int)moved, 0, "with fewer waiting, nothing moves");
    is_int(store_index_settle(s, 0, 1000, &moved), 0, "settle the rest");
    store_begin(s, 0, &t);
    is_int((int)store_index_recent_count(t), 0, "index_recent is empty");
    store_abort(&t);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: all settled is consistent");
    n = team_query(s, "mingzhu-g2-team", 0, 0, 1000, got, 40);
    ok(n == 32 && got[30] == want[29] && got[31] == late, "and the query gives the same, and the last (%d)", n);
    is_int(store_index_settle(s, 0, 1000, &moved), 0, "settling with nothing waiting");
    is_int((int)moved, 0, "moves nothing");

    /* The settle that took every entry emptied index_recent in one go; it
     * takes new entries and settles them again. */
    store_begin(s, 1, &t);
    uint64_t after_drop;
    file_new(t, "team-after-drop", 300000, team, 1, &after_drop);
    is_int(store_commit(&t), 0, "an event filed after index_recent was emptied");
    store_begin(s, 0, &t);
    ok(store_index_recent_count(t) > 0, "its entries wait in index_recent");
    store_abort(&t);
    is_int(store_index_settle(s, 0, 1000, &moved), 0, "settled again");
    ok(moved > 0, "its entries moved (%zu)", moved);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent after the second settle");
    n = team_query(s, "mingzhu-g2-team", 0, 0, 1000, got, 40);
    ok(n == 33 && got[32] == after_drop, "the query finds it last (%d)", n);
}

/* Ids, dispatches and resend times are put at the right edge when they are
 * above the last key (store_txn_put_edge); the same results when they are
 * not: below the last, equal to the last, a duplicate in the middle. */
static void edge_puts(store *s)
{
    const char *const one[] = {"heping-g1-team"};
    const char *const ids[] = {"edge-m", "edge-z", "edge-a", "edge-q"}; /* not in order */
    uint64_t seqs[4], seq;
    store_txn *t = NULL;
    is_int(store_begin(s, 1, &t), 0, "begin");
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++)
        rc = file_new(t, ids[i], 900000 - 1000 * (uint64_t)i, one, 1, &seqs[i]);
    is_int(rc, 0, "four events with ids and resend times out of order");
    gl_event dup = {.id = "edge-z", .kind = GL_KIND_REQUEST, .category = "repair",
                    .text = "漏水", .community = "heping", .grid = "heping-g1",
                    .created_ms = 900000, .updated_ms = 900000, .state = GL_EV_DISPATCHED};
    store_event_next_seq(t, &dup.seq);
    is_int(store_event_add(t, &dup), GL_EBADSTATE, "an id equal to the largest one is refused");
    is_int(store_commit(&t), 0, "the transaction still commits");
    is_int(store_begin(s, 1, &t), 0, "begin");
    dup.id = "edge-m";
    store_event_next_seq(t, &dup.seq);
    is_int(store_event_add(t, &dup), GL_EBADSTATE,
           "an id in the middle is refused in the next transaction");
    gl_dispatch last = {.seq = seqs[3], .event = "edge-q", .team = "heping-g1-team",
                        .role = "grid", .state = GL_DS_ACKED, .attempts = 3};
    is_int(store_dispatch_add(t, &last, 900000), GL_EBADSTATE,
           "adding the last dispatch again is refused");
    store_abort(&t);
    is_int(store_begin(s, 0, &t), 0, "read");
    int found = 0;
    for (int i = 0; i < 4; i++)
        found += store_event_find(t, ids[i], &seq) == 0 && seq == seqs[i];
    is_int(found, 4, "each id finds its own event");
    gl_dispatch d;
    ok(store_dispatch_get(t, seqs[3], "heping-g1-team", &d, NULL) == 0 && d.state == GL_DS_PENDING &&
       d.attempts == 1, "the last dispatch is unchanged");
    store_abort(&t);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent");
}

/* The timers entries of event seq, earliest first (at most 8). */
static size_t timers_of(store *s, uint64_t seq, store_timer *out)
{
    store_timer all[64];
    size_t n = 0, mine = 0;
    store_txn *t = NULL;
    store_begin(s, 0, &t);
    store_timer_due(t, UINT64_MAX, all, 64, &n);
    store_abort(&t);
    for (size_t i = 0; i < n && mine < 8; i++)
        if (all[i].seq == seq)
            out[mine++] = all[i];
    return mine;
}

/* One timers entry per event, at its next deadline, moved by saving the
 * event; entries of a store written with one per deadline stay valid. */
static void timers_one_entry(store *s)
{
    store_txn *t = NULL;
    gl_arena arena = {0};
    gl_event ev = {.id = "timers-1", .kind = GL_KIND_REQUEST, .category = "repair",
                   .text = "漏水", .community = "heping", .grid = "heping-g1",
                   .created_ms = 1000, .updated_ms = 1000, .state = GL_EV_FILED,
                   .sign_by_ms = 3000, .remind_at_ms = 5000, .due_ms = 9000};
    store_timer tm[8];
    store_begin(s, 1, &t);
    gl_history h = {.at_ms = 1000, .who = "terminal", .what = "filed"};
    store_event_next_seq(t, &h.seq);
    store_history_add(t, &h);
    is_int(store_event_add(t, &ev), 0, "a request with three deadlines");
    is_int(store_commit(&t), 0, "commit");
    size_t n = timers_of(s, ev.seq, tm);
    ok(n == 1 && tm[0].at_ms == 3000 && tm[0].kind == TIMER_SIGN,
       "one timers entry: its sign-for time (%zu)", n);

    struct {
        const char *what;
        uint64_t sign, remind, due, close;
        const char *alarm;
        size_t n;
        uint64_t at;
        int kind;
    } steps[] = {
        {"signed for: the reminder is next", 0, 5000, 9000, 0, NULL, 1, 5000, TIMER_REMIND},
        {"reminded: the due time is next", 0, 0, 9000, 0, NULL, 1, 9000, TIMER_DUE},
        {"overdue: no deadline left", 0, 0, 9000, 0, "overdue", 0, 0, 0},
        {"a new due time, the alarm cleared", 0, 0, 12000, 0, NULL, 1, 12000, TIMER_DUE},
        {"the same time for two kinds: the lower kind", 0, 12000, 12000, 0, NULL, 1, 12000,
         TIMER_REMIND},
        {"resolved: waiting to close", 0, 0, 0, 20000, NULL, 1, 20000, TIMER_CLOSE},
    };
    /* Every other step through store_event_replace, with the record as
     * read: the same entries as store_event_put's. */
    for (size_t i = 0; i < GL_ARRAY_LEN(steps); i++) {
        store_begin(s, 1, &t);
        store_event_get(t, ev.seq, &ev, &arena);
        const gl_event as_read = ev;
        ev.sign_by_ms = steps[i].sign;
        ev.remind_at_ms = steps[i].remind;
        ev.due_ms = steps[i].due;
        ev.close_at_ms = steps[i].close;
        ev.alarm = steps[i].alarm;
        store_alarm_set(t, ev.seq, ev.alarm);
        int rc = i % 2 ? store_event_replace(t, &ev, &as_read) : store_event_put(t, &ev);
        rc = rc ? rc : store_commit(&t);
        store_abort(&t);
        n = timers_of(s, ev.seq, tm);
        ok(rc == 0 && n == steps[i].n &&
           (n == 0 || (tm[0].at_ms == steps[i].at && tm[0].kind == steps[i].kind)),
           "%s (%zu entries, %s)", steps[i].what, n, i % 2 ? "replace" : "put");
        is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent");
        arena_reset(&arena);
    }

    /* Replace cannot give the record another event's id, nor move it to
     * another grid's index without the grid changing in the record. */
    store_begin(s, 1, &t);
    store_event_get(t, ev.seq, &ev, &arena);
    gl_event as_read = ev, other = ev;
    other.id = "add-1";
    is_int(store_event_replace(t, &other, &as_read), GL_EBADFIELD,
           "store_event_replace cannot give a record another event's id");
    ev.grid = "heping-g2";
    is_int(store_event_replace(t, &ev, &as_read), 0, "it moves the event to heping-g2");
    is_int(store_commit(&t), 0, "commit");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: its grid entries moved with it");
    arena_reset(&arena);

    /* A store written before: an entry for every deadline. They stay until
     * they fire or the record stops naming them; saving moves only the
     * entry of the next one. */
    store_begin(s, 1, &t);
    store_event_get(t, ev.seq, &ev, &arena);
    ev.close_at_ms = 0;
    ev.sign_by_ms = 15000;
    ev.due_ms = 30000;
    store_event_put(t, &ev); /* the next: sign at 15000 */
    store_timer_move(t, TIMER_DUE, ev.seq, 0, 30000); /* as the old code wrote it */
    is_int(store_commit(&t), 0, "an old store's second entry");
    n = timers_of(s, ev.seq, tm);
    ok(n == 2 && tm[0].kind == TIMER_SIGN && tm[1].kind == TIMER_DUE, "two entries (%zu)", n);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: both name the record's times");
    store_begin(s, 1, &t);
    store_event_get(t, ev.seq, &ev, &arena);
    ev.sign_by_ms = 0;
    store_event_put(t, &ev);
    is_int(store_commit(&t), 0, "signed for");
    n = timers_of(s, ev.seq, tm);
    ok(n == 1 && tm[0].kind == TIMER_DUE && tm[0].at_ms == 30000,
       "the due entry is the next, once (%zu)", n);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent");
    arena_free(&arena);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/t_store_add.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    store *s = NULL;
    store_txn *t = NULL;
    is_int(store_open(dir, NULL, &s), 0, "open");

    const char *const two[] = {"heping-g1-team", "county-coordinators"};
    uint64_t seq1 = 0, seq2 = 0, counts[GL_DS_COUNT];
    is_int(store_begin(s, 1, &t), 0, "begin");
    uint64_t next = 0;
    is_int(store_event_next_seq(t, &next), 0, "next seq of an empty store");
    is_int((int)next, 1, "is 1");
    is_int(file_new(t, "add-1", 1000, two, 2, &seq1), 0, "file an event: dispatches before its record");
    is_int(file_new(t, "add-2", 2000, two, 1, &seq2), 0, "and another in the same transaction");
    ok(seq1 == 1 && seq2 == 2, "seqs follow each other (%llu, %llu)", (unsigned long long)seq1,
       (unsigned long long)seq2);
    is_int(store_dispatch_counts(t, counts), 0, "counts inside the transaction");
    is_int((int)counts[GL_DS_PENDING], 3, "see the 3 pending dispatches not written yet");

    /* A dispatch that exists already is refused, and nothing changes. */
    gl_dispatch again = {.seq = seq1, .event = "add-1", .team = "heping-g1-team", .role = "squad",
                         .state = GL_DS_ACKED, .attempts = 5};
    is_int(store_dispatch_add(t, &again, 1000), GL_EBADSTATE, "adding an existing dispatch is refused");
    gl_dispatch d;
    is_int(store_dispatch_get(t, seq1, "heping-g1-team", &d, NULL), 0, "its record is there");
    ok(d.state == GL_DS_PENDING && d.attempts == 1, "unchanged (pending, 1 attempt)");
    is_int(store_dispatch_counts(t, counts), 0, "counts");
    ok(counts[GL_DS_PENDING] == 3 && counts[GL_DS_ACKED] == 0, "unchanged by the refusal");
    is_int(store_commit(&t), 0, "the transaction stays usable and commits");

    is_int(store_begin(s, 0, &t), 0, "read");
    int n = 0;
    store_pending_list(t, "heping-g1-team", count_dispatch, &n);
    is_int(n, 2, "the team's pending list has both events");
    n = 0;
    store_due_list(t, 1000 + 30000, 10, count_dispatch, &n);
    is_int(n, 2, "the resend timers of the first event are due at 31 s");
    is_int(store_dispatch_counts(t, counts), 0, "counts after commit");
    is_int((int)counts[GL_DS_PENDING], 3, "3 pending, written at commit");
    seen got = {0};
    store_query q = {.team = "county-coordinators"};
    int dim = 0;
    is_int(store_query_events(t, &q, collect, &got, &dim, NULL, NULL), 0, "query by team");
    ok(got.n == 1 && got.seq[0] == seq1 && dim == IX_TEAM,
       "finds the one event dispatched to the coordinators, by the team index");
    gl_event ev;
    is_int(store_event_get(t, seq1, &ev, NULL), 0, "the event record");
    is_int(ev.state, GL_EV_DISPATCHED, "written once, with its final state");
    store_abort(&t);

    /* An aborted transaction leaves the counts as they were. */
    is_int(store_begin(s, 1, &t), 0, "begin");
    uint64_t seq3;
    is_int(file_new(t, "add-3", 3000, two, 2, &seq3), 0, "file a third event");
    store_abort(&t);
    is_int(store_begin(s, 0, &t), 0, "read");
    store_dispatch_counts(t, counts);
    is_int((int)counts[GL_DS_PENDING], 3, "after an abort the counts are unchanged");
    store_abort(&t);

    /* A dispatch changed in the same transaction as it was added. */
    is_int(store_begin(s, 1, &t), 0, "begin");
    is_int(file_new(t, "add-4", 4000, two, 2, &seq3), 0, "file a fourth event");
    gl_dispatch acked = {.seq = seq3, .event = "add-4", .team = "heping-g1-team", .role = "grid",
                         .state = GL_DS_ACKED, .attempts = 1, .created_ms = 4000,
                         .updated_ms = 4001};
    is_int(store_dispatch_put(t, &acked), 0, "acknowledge one of its dispatches at once");
    gl_dispatch was;
    is_int(store_dispatch_get(t, seq3, "county-coordinators", &was, NULL), 0, "read the other");
    gl_dispatch dead = was;
    dead.event = "add-4";
    dead.team = "county-coordinators";
    dead.role = "grid";
    dead.state = GL_DS_DEAD;
    dead.next_retry_ms = 0;
    is_int(store_dispatch_replace(t, &dead, &was), 0, "park it with the record as read (no second read)");
    is_int(store_commit(&t), 0, "commit");
    is_int(store_begin(s, 0, &t), 0, "read");
    store_dispatch_counts(t, counts);
    ok(counts[GL_DS_PENDING] == 3 && counts[GL_DS_ACKED] == 1 && counts[GL_DS_DEAD] == 1,
       "counts: 3 pending, 1 acked, 1 dead (%llu, %llu, %llu)",
       (unsigned long long)counts[GL_DS_PENDING], (unsigned long long)counts[GL_DS_ACKED],
       (unsigned long long)counts[GL_DS_DEAD]);
    n = 0;
    store_pending_list(t, "county-coordinators", count_dispatch, &n);
    is_int(n, 1, "the parked dispatch left the coordinators' pending list");
    is_int((int)store_dead_count(t), 1, "and is a dead letter");
    store_abort(&t);

    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck finds no problem");

    /* An event moved to another grid while its entry still waits. */
    is_int(store_begin(s, 1, &t), 0, "begin");
    gl_arena arena = {0};
    is_int(store_event_get(t, seq1, &ev, &arena), 0, "read add-1");
    ev.grid = "heping-g2";
    is_int(store_event_put(t, &ev), 0, "move it to heping-g2");
    is_int(store_commit(&t), 0, "commit");
    arena_free(&arena);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: its waiting grid entry went with it");
    seen g2 = {0}, g1 = {0};
    store_query q2 = {.grid = "heping-g2"}, q1 = {.grid = "heping-g1"};
    store_begin(s, 0, &t);
    store_query_events(t, &q2, collect_all, &g2, NULL, NULL, NULL);
    store_query_events(t, &q1, collect_all, &g1, NULL, NULL, NULL);
    store_abort(&t);
    ok(g2.n == 1 && g2.seq[0] == seq1 && g1.n == 2, "found under heping-g2 only (%d, %d)", g2.n, g1.n);
    team_entries(s);
    edge_puts(s);
    timers_one_entry(s);
    store_close(&s);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
