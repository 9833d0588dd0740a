/* deadletter.c — dead letters (issue 5): a dispatch nobody acknowledged
 * after the delivery limit, or an event nobody is left to route to, is
 * parked in state "dead" with its reason; an operator requeues it (sent
 * again with a fresh count) or closes it. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "../common/log.h"

int deadletter_park(gl_worker *w, store_txn *t, gl_dispatch *d, const char *reason, uint64_t now)
{
    d->state = GL_DS_DEAD;
    d->next_retry_ms = 0;
    d->updated_ms = now;
    d->note = reason;
    int rc = store_dispatch_put(t, d);
    if (rc)
        return rc;
    char note[GL_MAX_SHORT];
    snprintf(note, sizeof note, "%s: %s", d->team, reason);
    gl_utf8_trim(note);
    if ((rc = worker_history(t, d->seq, now, "system", "dead-lettered", note)) != 0)
        return rc;
    w->counters.dead_lettered++;
    LOG_W("event %s: dispatch to %s dead-lettered: %s", d->event, d->team, reason);
    return 0;
}

int deadletter_unrouted(gl_worker *w, store_txn *t, gl_event *ev, const char *reason,
                        uint64_t now)
{
    gl_dispatch d;
    int rc = store_dispatch_get(t, ev->seq, DIR_TEAM_TRIAGE, &d, &w->batch_arena);
    if (rc == GL_ENOTFOUND) {
        memset(&d, 0, sizeof d);
        d.seq = ev->seq;
        d.event = ev->id;
        d.team = DIR_TEAM_TRIAGE;
        d.role = "triage";
        d.created_ms = now;
    } else if (rc) {
        return rc;
    }
    if (d.state == GL_DS_DEAD)
        return 0;
    char why[GL_MAX_SHORT];
    snprintf(why, sizeof why, "unrouted: %s", reason);
    gl_utf8_trim(why);
    return deadletter_park(w, t, &d, why, now);
}

/* REQUEUE: the dead letters of an event (or only the one to team) are sent
 * again with a fresh count, or closed (close). */
int worker_requeue(gl_worker *w, store_txn *t, const wjob *j, uint64_t now)
{
    const proto_msg *m = &j->msg;
    uint64_t seq;
    gl_event ev;
    int rc = worker_find_event(w, t, j, m->ev.id, &seq, &ev);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (!m->close && (ev.state == GL_EV_CLOSED || ev.state == GL_EV_CANCELLED ||
                      ev.state == GL_EV_MERGED)) {
        worker_out_error(w, j, GL_EBADSTATE,
                         "the event is closed, cancelled or merged: close its dead letters");
        return 0;
    }
    dispatch_list all;
    dispatch_list_init(&all, &w->batch_arena, 0);
    if ((rc = dispatch_list_event(t, seq, &all)) != 0)
        return rc;
    gl_dispatch *done = arena_alloc(&w->batch_arena, (all.n ? all.n : 1) * sizeof *done);
    if (!done)
        return GL_EINTERNAL;
    size_t n = 0;
    for (size_t i = 0; i < all.n; i++) {
        gl_dispatch *d = &all.items[i];
        if (d->state != GL_DS_DEAD || (m->team && strcmp(d->team, m->team) != 0))
            continue;
        char note[GL_MAX_SHORT];
        if (m->close) {
            d->state = GL_DS_CANCELLED;
            d->next_retry_ms = 0;
            snprintf(note, sizeof note, "dead letter closed%s%s", m->note ? ": " : "",
                     m->note ? m->note : "");
            gl_utf8_trim(note);
            d->note = arena_strdup(&w->batch_arena, note);
        } else {
            /* A fresh count: the delivery limit starts again. */
            d->state = GL_DS_PENDING;
            d->attempts = 1;
            d->note = NULL;
            d->next_retry_ms = now + (uint64_t)w->cfg.retry_ms;
        }
        d->updated_ms = now;
        if ((rc = store_dispatch_put(t, d)) != 0)
            return rc;
        snprintf(note, sizeof note, "%s%s%s", d->team, m->note ? ": " : "", m->note ? m->note : "");
        gl_utf8_trim(note);
        if ((rc = worker_history(t, seq, now, "operator", m->close ? "dead letter closed" : "requeued",
                                 note)) != 0)
            return rc;
        if (!m->close && (rc = worker_send_dispatch(w, d, &ev)) != 0)
            return rc;
        LOG_I("event %s: dead letter to %s %s by an operator", ev.id, d->team,
              m->close ? "closed" : "requeued");
        done[n++] = *d;
    }
    if (n == 0) {
        char reason[200];
        snprintf(reason, sizeof reason, "event %s has no dead letter%s%s", ev.id,
                 m->team ? " to team " : "", m->team ? m->team : "");
        worker_out_error(w, j, GL_EBADSTATE, reason);
        return 0;
    }
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_LISTING;
    r.rid = m->rid;
    ev.contact = NULL;
    r.events = &ev;
    r.nevents = 1;
    r.dispatches = done;
    r.ndispatches = n;
    return worker_out_reply(w, j, &r, 1);
}
