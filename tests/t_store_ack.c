/* Acknowledgements as the store writes them (issue 7, "make it fast"): a
 * batch's ACKs read an event and a dispatch and rewrite both through the
 * cursor that read them (store_txn_point_put), delete the pending and due
 * entries through a cursor that stays near them (store_txn_point_del), and
 * number the history entry through the cursor that found the last one.
 * What a user would see after a batch of ACKs in random order, some with
 * other reads and writes between the read and the rewrite, some with notes
 * long enough to move the record to another page: every dispatch acked with
 * its note, no longer pending or scheduled; every event's record as
 * written; every history numbered 1..n in order; the pending lists and the
 * STATUS counts empty; a clean fsck; and, acknowledged again, nothing
 * changed. */
#include "../common/arena.h"
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_pending.h"
#include "tap.h"
#include "support/store_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS 400
#define TEAMS 5

static char dir[256];
static const char *teams[TEAMS] = {"a-team", "b-team", "c-team", "d-team",
                                   "e-team-with-a-longer-name"};
static char long_note[1800];

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x ^= x >> 29;
    return x;
}

static void event_id(char *id, size_t n, uint64_t seq)
{
    snprintf(id, n, "ack-%04llu", (unsigned long long)seq);
}

/* The two teams of event seq (different ones). */
static int team_of(uint64_t seq, int k)
{
    int a = (int)(mix(seq) % TEAMS);
    return k == 0 ? a : (a + 1 + (int)(mix(seq + 7777) % (TEAMS - 1))) % TEAMS;
}

static const char *note_of(uint64_t seq, int k)
{
    uint64_t h = mix(seq * 3 + (uint64_t)k);
    return h % 7 == 0 ? long_note : h % 3 == 0 ? "收到，马上处理" : NULL;
}

static int file_events(store *s)
{
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    for (uint64_t seq = 1; rc == 0 && seq <= EVENTS; seq++) {
        char id[32];
        event_id(id, sizeof id, seq);
        gl_event ev = {.id = id, .seq = seq, .kind = GL_KIND_REQUEST, .category = "repair",
                       .community = "heping", .grid = "heping-g1", .text = "楼道灯坏了",
                       .created_ms = 1000 + seq, .updated_ms = 1000 + seq,
                       .sign_by_ms = 900000 + seq, .due_ms = 990000 + seq,
                       .state = GL_EV_DISPATCHED};
        for (int k = 0; rc == 0 && k < 2; k++) {
            gl_dispatch d = {.seq = seq, .event = id, .team = teams[team_of(seq, k)],
                             .role = "grid", .state = GL_DS_PENDING, .attempts = 1,
                             .created_ms = 1000 + seq, .updated_ms = 1000 + seq,
                             .next_retry_ms = 50000 + seq};
            rc = store_dispatch_add(t, &d, ev.created_ms);
        }
        if (rc == 0)
            rc = store_event_add(t, &ev);
        gl_history h = {.seq = seq, .at_ms = 1000 + seq, .who = "terminal:t1", .what = "filed"};
        if (rc == 0)
            rc = store_history_add(t, &h);
    }
    if (rc)
        store_abort(&t);
    return rc ? rc : store_commit(&t);
}

/* One ACK as worker_act writes it: the event found by id, its record and
 * the dispatch read, both rewritten from the records as read, a history
 * entry. With other_seq, another event and another dispatch are read
 * between the read and the rewrite (the point cursors moved). */
static int ack(store_txn *t, gl_arena *arena, uint64_t seq, int k, uint64_t other_seq,
               uint64_t now)
{
    char id[32];
    event_id(id, sizeof id, seq);
    uint64_t found = 0;
    gl_event ev, other;
    gl_dispatch d, od;
    int rc = store_event_find(t, id, &found);
    if (rc == 0 && found != seq)
        rc = -1000;
    if (rc == 0)
        rc = store_event_get(t, seq, &ev, arena);
    if (rc == 0)
        rc = store_dispatch_get(t, seq, teams[team_of(seq, k)], &d, arena);
    if (rc == 0 && other_seq) {
        rc = store_event_get(t, other_seq, &other, arena);
        if (rc == 0)
            rc = store_dispatch_get(t, other_seq, teams[team_of(other_seq, 0)], &od, arena);
    }
    if (rc)
        return rc;
    const gl_event ev_as_read = ev;
    const gl_dispatch as_read = d;
    if (d.state != GL_DS_PENDING)
        return 0; /* acknowledged before: nothing changes */
    d.state = GL_DS_ACKED;
    d.next_retry_ms = 0;
    d.updated_ms = ev.updated_ms = now;
    d.member = "测试员";
    d.note = note_of(seq, k);
    ev.sign_by_ms = 0;
    gl_history h = {.seq = seq, .at_ms = now, .who = "team:x", .what = "acked", .note = d.note};
    if ((rc = store_dispatch_replace(t, &d, &as_read)) != 0 ||
        (rc = store_event_replace(t, &ev, &ev_as_read)) != 0)
        return rc;
    return store_history_add(t, &h);
}

/* The batch: every dispatch, in a shuffled order, in a few transactions;
 * every third ACK with other reads between; the pending entries of the
 * first half settled into "pending" first, so both parts are taken from. */
static int ack_all(store *s, gl_arena *arena, uint64_t now)
{
    static uint32_t order[2 * EVENTS];
    for (uint32_t i = 0; i < 2 * EVENTS; i++)
        order[i] = i;
    for (uint32_t i = 2 * EVENTS - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(mix(i + 99) % (i + 1)), x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    int rc = 0;
    for (uint32_t at = 0; rc == 0 && at < 2 * EVENTS; at += 100) {
        store_txn *t = NULL;
        if ((rc = store_begin(s, 1, &t)) != 0)
            break;
        for (uint32_t i = at; rc == 0 && i < at + 100 && i < 2 * EVENTS; i++) {
            uint64_t seq = order[i] / 2 + 1;
            uint64_t other = i % 3 == 0 ? (seq % EVENTS) + 1 : 0;
            rc = ack(t, arena, seq, (int)(order[i] % 2), other, now + i);
        }
        if (rc) {
            store_abort(&t);
            break;
        }
        rc = store_commit(&t);
        arena_reset(arena);
    }
    return rc;
}

typedef struct hist_check {
    uint32_t n;
    int bad;
} hist_check;

static int check_history(void *ctx, const gl_history *h)
{
    hist_check *c = ctx;
    c->n++;
    if (h->no != c->n || strcmp(h->what, c->n == 1 ? "filed" : "acked") != 0)
        c->bad++;
    return 0;
}

static int count_pending(void *ctx, const gl_dispatch *d)
{
    (void)d;
    (*(int *)ctx)++;
    return 0;
}

/* What the store says now against what the ACKs wrote. */
static int differences(store *s, gl_arena *arena, uint64_t now)
{
    store_txn *t = NULL;
    int bad = 0;
    if (store_begin(s, 0, &t) != 0)
        return -1;
    for (uint64_t seq = 1; seq <= EVENTS; seq++) {
        gl_event ev;
        char id[32];
        event_id(id, sizeof id, seq);
        if (store_event_get(t, seq, &ev, arena) != 0 || strcmp(ev.id, id) != 0 ||
            ev.state != GL_EV_DISPATCHED || ev.sign_by_ms != 0 || ev.due_ms != 990000 + seq ||
            ev.updated_ms < now || strcmp(ev.text, "楼道灯坏了") != 0 ||
            strcmp(ev.grid, "heping-g1") != 0) {
            if (bad++ < 5)
                diag("  event %s not as written", id);
            continue;
        }
        for (int k = 0; k < 2; k++) {
            gl_dispatch d;
            const char *want = note_of(seq, k);
            if (store_dispatch_get(t, seq, teams[team_of(seq, k)], &d, arena) != 0 ||
                d.state != GL_DS_ACKED || d.next_retry_ms != 0 || d.updated_ms < now ||
                strcmp(d.event, id) != 0 || !d.member || strcmp(d.member, "测试员") != 0 ||
                (want ? !d.note || strcmp(d.note, want) != 0 : d.note != NULL)) {
                if (bad++ < 5)
                    diag("  dispatch %s/%s not as written", id, teams[team_of(seq, k)]);
            }
        }
        hist_check c = {0, 0};
        if (store_history_list(t, seq, check_history, &c) != 0 || c.bad || c.n != 3) {
            if (bad++ < 5)
                diag("  history of %s: %u entries, %d out of order", id, c.n, c.bad);
        }
    }
    store_abort(&t);
    arena_reset(arena);
    return bad;
}

static int pending_left(store *s)
{
    store_txn *t = NULL;
    int n = 0;
    if (store_begin(s, 0, &t) != 0)
        return -1;
    for (int i = 0; i < TEAMS; i++)
        if (store_pending_list(t, teams[i], count_pending, &n) != 0)
            n = -1000;
    store_stats st;
    if (store_get_stats(t, &st) != 0 || st.pending != 0 || st.scheduled != 0)
        n += 100000;
    store_abort(&t);
    return n;
}

int main(void)
{
    memset(long_note, 'n', sizeof long_note - 1);
    store *s = tl_store_open_temp(dir, sizeof dir, "t_store_ack");
    if (!s)
        return 1;
    gl_arena arena;
    memset(&arena, 0, sizeof arena);

    is_int(file_events(s), 0, "%d events filed with two pending dispatches each", EVENTS);
    size_t moved = 0;
    is_int(store_pending_settle(s, 1, EVENTS, &moved), 0, "half the pending entries settled");
    ok(moved == EVENTS, "%zu moved into \"pending\"", moved);
    is_int(pending_left(s), 2 * EVENTS + 100000, "%d dispatches pending before the ACKs",
           2 * EVENTS);

    uint64_t now = 2000000;
    is_int(ack_all(s, &arena, now), 0,
           "every dispatch acknowledged, shuffled, some with other reads between read and rewrite");
    is_int(differences(s, &arena, now), 0,
           "every dispatch acked with its note, every event and history as written");
    is_int(pending_left(s), 0, "no pending list holds a dispatch; pending and scheduled are 0");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck finds nothing wrong");

    is_int(ack_all(s, &arena, now + 100000), 0, "every dispatch acknowledged again");
    is_int(differences(s, &arena, now), 0, "which changed nothing");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck still finds nothing wrong");

    arena_free(&arena);
    store_close(&s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
