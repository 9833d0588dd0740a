/* escalation.c — response plans for alerts ("一社(网格)一策").
 *
 * Each step of a plan names a squad and an acknowledgement deadline. When an
 * alert is filed its first squad is dispatched (by the route) and the first
 * deadline set; when a deadline passes with no squad acknowledging, the next
 * squad is dispatched and the coordinators told; when the plan is exhausted
 * the alert is marked unanswered and an operator alarm raised. Deadlines sit
 * in the store's escalations index, so they survive restarts, and are taken
 * inside a write transaction, so with several workers each fires once. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "../common/log.h"

#define PLAN_MAX_STEPS 16

static int plan_of(gl_worker *w, const gl_event *ev, dir_plan_step *steps)
{
    if (ev->kind != GL_KIND_ALERT || !ev->category)
        return 0;
    return dir_plan(w->dir, ev->community, ev->grid, ev->category, steps, PLAN_MAX_STEPS);
}

static int set_deadline(store_txn *t, gl_event *ev, uint64_t at)
{
    int rc = store_escalation_move(t, ev->seq, ev->escalate_at_ms, at);
    if (rc == 0)
        ev->escalate_at_ms = at;
    return rc;
}

int escalation_start(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now)
{
    dir_plan_step steps[PLAN_MAX_STEPS];
    int n = plan_of(w, ev, steps);
    if (n <= 0)
        return 0;
    ev->plan_step = 1;
    return set_deadline(t, ev, now + (uint64_t)steps[0].ack_within_s * 1000);
}

int escalation_stop(store_txn *t, gl_event *ev)
{
    int rc = ev->escalate_at_ms ? set_deadline(t, ev, 0) : 0;
    if (rc == 0 && ev->alarm) {
        /* Somebody answered after all (or the alert was withdrawn). */
        rc = store_alarm_set(t, ev->seq, NULL);
        if (rc == 0)
            ev->alarm = NULL;
    }
    return rc;
}

/* --- telling the coordinators --- */

int tell_coordinators(gl_worker *w, store_txn *t, const gl_event *ev, const char *what,
                      const char *note, const char *by)
{
    dispatch_list l;
    dispatch_list_init(&l, &w->batch_arena, 0);
    int rc = dispatch_list_event(t, ev->seq, &l);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const gl_dispatch *d = &l.items[i];
        if (d->role && strcmp(d->role, "coordinator") == 0 && (!by || strcmp(d->team, by) != 0))
            rc = worker_notice(w, d->team, ev->id, what, note, by);
    }
    return rc;
}

/* --- the deadline passing --- */

typedef struct squad_ack {
    int acknowledged;
} squad_ack;

static int find_squad_ack(void *ctx, const gl_dispatch *d)
{
    squad_ack *a = ctx;
    if (d->role && strcmp(d->role, "squad") == 0 &&
        (d->state == GL_DS_ACKED || d->state == GL_DS_ACCEPTED || d->state == GL_DS_RESOLVED))
        a->acknowledged = 1;
    return 0;
}

static int escalate_one(gl_worker *w, store_txn *t, const store_timer *due, uint64_t now)
{
    uint64_t seq = due->seq;
    gl_event ev;
    int rc = store_event_get(t, seq, &ev, &w->batch_arena);
    if ((rc == 0 && ev.escalate_at_ms != due->at_ms) || rc == GL_ENOTFOUND)
        /* A deadline the record no longer names: drop it, or every worker
         * would find it due on every pass. */
        return store_escalation_move(t, seq, due->at_ms, 0);
    if (rc)
        return rc;
    /* An acknowledgement may have come in without clearing the timer (from
     * an older worker): look before escalating. */
    squad_ack ack = {0};
    if ((rc = store_dispatch_list(t, seq, find_squad_ack, &ack)) != 0)
        return rc;
    int done = ack.acknowledged || ev.state == GL_EV_ACCEPTED || ev.state == GL_EV_RESOLVED ||
               ev.state == GL_EV_CLOSED || ev.state == GL_EV_CANCELLED || ev.state == GL_EV_MERGED;
    dir_plan_step steps[PLAN_MAX_STEPS];
    int n = done ? 0 : plan_of(w, &ev, steps);
    uint32_t late = ev.plan_step;
    char note[400];
    if (done) {
        rc = set_deadline(t, &ev, 0);
    } else if ((int)late < n) {
        /* plan_step >= 1 whenever a deadline is set (escalation_start). */
        const dir_plan_step *missed = &steps[late ? late - 1 : 0], *next = &steps[late];
        snprintf(note, sizeof note, "step %u: %s (no acknowledgement from %s within %us)",
                 late + 1, next->squad, missed->squad, missed->ack_within_s);
        ev.plan_step = late + 1;
        ev.updated_ms = now;
        if ((rc = worker_dispatch(w, t, &ev, next->squad, "squad", "system", now)) == 0 &&
            (rc = set_deadline(t, &ev, now + (uint64_t)next->ack_within_s * 1000)) == 0 &&
            (rc = worker_history(t, seq, now, "system", "escalated", note)) == 0)
            rc = tell_coordinators(w, t, &ev, "escalated", note, NULL);
        LOG_W("alert %s escalated: %s", ev.id, note);
    } else {
        snprintf(note, sizeof note, "response plan exhausted after %u step%s: no squad acknowledged",
                 late, late == 1 ? "" : "s");
        ev.alarm = "unanswered";
        ev.updated_ms = now;
        if ((rc = set_deadline(t, &ev, 0)) == 0 && (rc = store_alarm_set(t, seq, ev.alarm)) == 0 &&
            (rc = worker_history(t, seq, now, "system", "unanswered", note)) == 0)
            rc = tell_coordinators(w, t, &ev, "unanswered", note, NULL);
        LOG_E("ALARM: alert %s is unanswered: %s", ev.id, note);
    }
    if (rc == 0)
        rc = worker_save_event(w, t, &ev);
    return rc;
}

static int escalate(gl_worker *w, store_txn *t, uint64_t now)
{
    store_timer due[64];
    size_t n = 0;
    int rc = store_escalation_due(t, now, due, GL_ARRAY_LEN(due), &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = escalate_one(w, t, &due[i], now);
    return rc;
}

uint64_t worker_escalate_due(gl_worker *w, uint64_t now)
{
    return worker_timer_pass(w, now, "escalation of due alerts", store_next_escalation, escalate);
}
