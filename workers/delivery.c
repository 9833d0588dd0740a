/* delivery.c — dispatch records and their delivery: first send, resend to a
 * team that (re)connects, and resend on the retry timer until acknowledged. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

int worker_notice(gl_worker *w, const char *team, const char *event, const char *what,
                  const char *note, const char *by)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_NOTICE;
    m.event = event;
    m.team = team;
    m.what = what;
    m.note = note;
    m.by = by;
    return worker_out_deliver(w, team, &m);
}

static uint64_t retry_interval(const gl_worker *w, uint32_t attempts)
{
    uint64_t ms = (uint64_t)w->cfg.retry_ms;
    for (uint32_t i = 1; i < attempts && ms < (uint64_t)w->cfg.retry_max_ms; i++)
        ms *= 2;
    return ms < (uint64_t)w->cfg.retry_max_ms ? ms : (uint64_t)w->cfg.retry_max_ms;
}

int worker_dispatch(gl_worker *w, store_txn *t, gl_event *ev, const char *team,
                    const char *role, const char *who, uint64_t now)
{
    (void)who;
    gl_dispatch d, old;
    int rc = store_dispatch_get(t, ev->seq, team, &d, &w->batch_arena);
    if (rc != 0 && rc != GL_ENOTFOUND)
        return rc;
    if (rc == 0)
        old = d; /* as read: store_dispatch_replace need not read it again */
    if (rc == 0 && live(d.state) && strcmp(d.role, role) == 0)
        return 0; /* already live for this team, in this role */
    if (rc == 0 && d.state == GL_DS_ACCEPTED) {
        /* The team has it already; only its role changes. */
        d.role = role;
        d.updated_ms = now;
        return store_dispatch_replace(t, &d, &old);
    }
    if (rc == GL_ENOTFOUND) {
        memset(&d, 0, sizeof d);
        memset(&old, 0, sizeof old);
        d.seq = ev->seq;
        d.event = ev->id;
        d.team = team;
        d.created_ms = now;
    }
    if (d.state == GL_DS_DEAD)
        d.attempts = 0; /* dispatched again: the delivery limit starts afresh */
    d.role = role;
    d.state = GL_DS_PENDING;
    d.note = NULL;
    d.attempts++;
    d.updated_ms = now;
    d.next_retry_ms = now + retry_interval(w, d.attempts);
    if ((rc = store_dispatch_replace(t, &d, &old)) != 0)
        return rc;
    w->counters.dispatches++;
    return w->dispatch_quiet ? 0 : worker_send_dispatch(w, &d, ev);
}

int worker_dispatch_new(gl_worker *w, store_txn *t, gl_event *ev, const char *team,
                        const char *role, uint64_t now)
{
    gl_dispatch d;
    memset(&d, 0, sizeof d);
    d.seq = ev->seq;
    d.event = ev->id;
    d.team = team;
    d.role = role;
    d.state = GL_DS_PENDING;
    d.attempts = 1;
    d.created_ms = d.updated_ms = now;
    d.next_retry_ms = now + retry_interval(w, d.attempts);
    int rc = store_dispatch_add(t, &d, ev->created_ms);
    if (rc == GL_EBADSTATE) /* the route names this team twice */
        return worker_dispatch(w, t, ev, team, role, "system", now);
    if (rc != 0)
        return rc;
    w->counters.dispatches++;
    return w->dispatch_quiet ? 0 : worker_send_dispatch(w, &d, ev);
}

/* --- resend to a team that said HELLO --- */

static int send_with_event(gl_worker *w, store_txn *t, const gl_dispatch *d)
{
    gl_event ev;
    int rc = store_event_get(t, d->seq, &ev, &w->batch_arena);
    if (rc == 0)
        rc = worker_send_dispatch(w, d, &ev);
    return rc;
}

void worker_on_presence(gl_worker *w, const char *team)
{
    store_txn *t = NULL;
    if (store_begin(w->st, 0, &t) != 0)
        return;
    /* Bounded: a team reconnecting with a huge backlog gets the oldest part
     * now and the rest from the retry timer. */
    dispatch_list p;
    dispatch_list_init(&p, &w->batch_arena, 4096);
    store_pending_list(t, team, dispatch_list_add, &p);
    for (size_t i = 0; i < p.n; i++)
        send_with_event(w, t, &p.items[i]);
    store_abort(&t);
    if (p.n)
        LOG_D("resent %zu pending dispatches to %s", p.n, team);
    w->counters.resent += p.n;
    worker_flush(w, 1, 0);
}

/* --- resend timer --- */

static int resend(gl_worker *w, store_txn *t, uint64_t now)
{
    dispatch_list p;
    dispatch_list_init(&p, &w->batch_arena, 256);
    int rc = store_due_list(t, now, 256, dispatch_list_add, &p);
    if (p.oom)
        return GL_EINTERNAL;
    rc = rc > 0 ? 0 : rc;
    for (size_t i = 0; rc == 0 && i < p.n; i++) {
        gl_dispatch *d = &p.items[i];
        gl_dispatch old = *d; /* as listed: the put need not read it again */
        if (d->state != GL_DS_PENDING) {
            d->next_retry_ms = 0;
        } else if (w->cfg.delivery_limit > 0 && d->attempts >= (uint32_t)w->cfg.delivery_limit) {
            /* Sent the limit's number of times (each send counted in the
             * store before it went out): park it. */
            char reason[GL_MAX_SHORT];
            snprintf(reason, sizeof reason, "not acknowledged after %u sends", d->attempts);
            rc = deadletter_park(w, t, d, arena_strdup(&w->batch_arena, reason), now);
            continue;
        } else {
            d->attempts++;
            d->next_retry_ms = now + retry_interval(w, d->attempts);
        }
        d->updated_ms = now;
        rc = store_dispatch_replace(t, d, &old);
        if (rc == 0 && d->state == GL_DS_PENDING)
            rc = send_with_event(w, t, d);
    }
    if (rc == 0)
        w->counters.resent += p.n;
    return rc;
}

uint64_t worker_resend_due(gl_worker *w, uint64_t now)
{
    return worker_timer_pass(w, now, "resend of due dispatches", store_next_due, resend);
}
