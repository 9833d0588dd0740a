/* deadlines.c — a category's time limits (in the spirit of the service
 * hotlines' rules): sign for a dispatch within a limit, resolve within a
 * limit with a reminder before it, escalate to the community after it; a
 * claim's lease; a resolved event nobody rates closes after a while. The
 * times sit in the event record and in the store's timers index, so they
 * survive restarts and, taken in a write transaction, fire once. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

int set_timer(store_txn *t, gl_event *ev, int kind, uint64_t *field, uint64_t at)
{
    /* The record is the truth: saving the event moves its one entry in the
     * store's timers index to whichever deadline now comes first. */
    (void)t;
    (void)ev;
    (void)kind;
    *field = at;
    return 0;
}

int deadlines_start(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now)
{
    dir_policy p;
    dir_category_policy(w->dir, ev->kind, ev->category, &p);
    int rc = 0;
    if (p.sign_within_s)
        rc = set_timer(t, ev, TIMER_SIGN, &ev->sign_by_ms, now + p.sign_within_s * 1000ull);
    if (rc == 0 && p.resolve_within_s) {
        uint64_t due = now + p.resolve_within_s * 1000ull;
        rc = set_timer(t, ev, TIMER_DUE, &ev->due_ms, due);
        if (rc == 0 && p.remind_before_s)
            rc = set_timer(t, ev, TIMER_REMIND, &ev->remind_at_ms, due - p.remind_before_s * 1000ull);
    }
    return rc;
}

int deadlines_stop(store_txn *t, gl_event *ev)
{
    int rc = set_timer(t, ev, TIMER_SIGN, &ev->sign_by_ms, 0);
    if (rc == 0)
        rc = set_timer(t, ev, TIMER_DUE, &ev->due_ms, 0);
    if (rc == 0)
        rc = set_timer(t, ev, TIMER_REMIND, &ev->remind_at_ms, 0);
    return rc;
}

int escalate_to_community(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now,
                          const char *what, const char *note)
{
    const char *office = dir_community_office(w->dir, ev->community);
    const char *team = office ? office : DIR_TEAM_TRIAGE;
    int rc = worker_dispatch(w, t, ev, team, office ? "community" : "triage", "system", now);
    char text[GL_MAX_TEXT];
    snprintf(text, sizeof text, "%s; to %s", note, team);
    gl_utf8_trim(text);
    if (rc == 0)
        rc = worker_history(t, ev->seq, now, "system", what, text);
    if (rc == 0 && ev->team)
        rc = worker_notice(w, ev->team, ev->id, what, note, NULL);
    return rc;
}

/* The dispatches still waiting to be signed for, and who holds the event. */
static int unsigned_dispatches(gl_worker *w, store_txn *t, const gl_event *ev, int *n)
{
    dispatch_list l;
    dispatch_list_init(&l, &w->batch_arena, 0);
    int rc = dispatch_list_event(t, ev->seq, &l);
    *n = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        *n += actionable(l.items[i].role) && l.items[i].state == GL_DS_PENDING;
    return rc;
}

static int remind(gl_worker *w, store_txn *t, const gl_event *ev)
{
    char when[32], note[80];
    snprintf(note, sizeof note, "due at %s", clock_format_utc(ev->due_ms, when, sizeof when));
    if (ev->team)
        return worker_notice(w, ev->team, ev->id, "reminder", note, NULL);
    dispatch_list l;
    dispatch_list_init(&l, &w->batch_arena, 0);
    int rc = dispatch_list_event(t, ev->seq, &l);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        if (actionable(l.items[i].role) && live(l.items[i].state))
            rc = worker_notice(w, l.items[i].team, ev->id, "reminder", note, NULL);
    return rc;
}

static int finished_or_resolved(int state)
{
    return state == GL_EV_RESOLVED || state == GL_EV_CLOSED || state == GL_EV_CANCELLED ||
           state == GL_EV_MERGED;
}

static uint64_t *timer_field(gl_event *ev, int kind)
{
    switch (kind) {
    case TIMER_SIGN: return &ev->sign_by_ms;
    case TIMER_REMIND: return &ev->remind_at_ms;
    case TIMER_DUE: return &ev->due_ms;
    case TIMER_LEASE: return &ev->lease_until_ms;
    case TIMER_CLOSE: return &ev->close_at_ms;
    default: return NULL;
    }
}

static int fire(gl_worker *w, store_txn *t, const store_timer *tm, uint64_t now)
{
    gl_event ev;
    int rc = store_event_get(t, tm->seq, &ev, &w->batch_arena);
    uint64_t *field = rc == 0 ? timer_field(&ev, tm->kind) : NULL;
    if (rc == GL_ENOTFOUND || !field || *field != tm->at_ms)
        /* A timer the record no longer names: drop it. */
        return store_timer_move(t, tm->kind, tm->seq, tm->at_ms, 0);
    if (rc)
        return rc;
    char note[200];
    int n = 0;
    switch (tm->kind) {
    case TIMER_SIGN:
        if ((rc = set_timer(t, &ev, TIMER_SIGN, &ev.sign_by_ms, 0)) != 0 ||
            (rc = unsigned_dispatches(w, t, &ev, &n)) != 0 || n == 0 ||
            finished_or_resolved(ev.state) || ev.state == GL_EV_ACCEPTED)
            break;
        snprintf(note, sizeof note, "not signed for in time by %d team%s", n, n == 1 ? "" : "s");
        rc = escalate_to_community(w, t, &ev, now, "overdue", note);
        break;
    case TIMER_REMIND:
        if ((rc = set_timer(t, &ev, TIMER_REMIND, &ev.remind_at_ms, 0)) == 0 &&
            !finished_or_resolved(ev.state))
            rc = remind(w, t, &ev);
        break;
    case TIMER_DUE:
        if (finished_or_resolved(ev.state)) {
            rc = set_timer(t, &ev, TIMER_DUE, &ev.due_ms, 0);
            break;
        }
        /* Overdue: due_ms stays as the expected time that passed; the
         * operator alarm "overdue" is raised, which ends it as a deadline
         * (store_timer_next), and the community takes it. */
        if (!ev.alarm || strcmp(ev.alarm, "overdue") != 0) {
            ev.alarm = "overdue";
            rc = store_alarm_set(t, ev.seq, ev.alarm);
        }
        if (rc == 0)
            rc = escalate_to_community(w, t, &ev, now, "overdue", "not resolved by its due time");
        LOG_W("event %s is overdue", ev.id);
        break;
    case TIMER_LEASE:
        if ((rc = set_timer(t, &ev, TIMER_LEASE, &ev.lease_until_ms, 0)) == 0 &&
            ev.state == GL_EV_ACCEPTED && ev.team)
            rc = release_claim(w, t, &ev, now, "system", "lease expired");
        break;
    case TIMER_CLOSE:
        if ((rc = set_timer(t, &ev, TIMER_CLOSE, &ev.close_at_ms, 0)) != 0 ||
            ev.state != GL_EV_RESOLVED)
            break;
        ev.state = GL_EV_CLOSED;
        rc = worker_history(t, ev.seq, now, "system", "closed", "not rated in time");
        break;
    }
    if (rc == 0) {
        ev.updated_ms = now;
        rc = worker_save_event(w, t, &ev);
    }
    return rc;
}

static int fire_due(gl_worker *w, store_txn *t, uint64_t now)
{
    store_timer due[64];
    size_t n = 0;
    int rc = store_timer_due(t, now, due, GL_ARRAY_LEN(due), &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fire(w, t, &due[i], now);
    return rc;
}

uint64_t worker_deadlines_due(gl_worker *w, uint64_t now)
{
    return worker_timer_pass(w, now, "workflow timers", store_next_timer, fire_due);
}
