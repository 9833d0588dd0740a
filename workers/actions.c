/* actions.c — what a worker does for each client command, inside the batch's
 * write transaction. Every precondition is checked before the first write,
 * so a refusal (not found, taken, bad state) changes nothing; only a storage
 * failure returns non-zero, and that aborts the whole batch. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "../common/log.h"

int worker_history(store_txn *t, uint64_t seq, uint64_t now, const char *who,
                   const char *what, const char *note)
{
    gl_history h = {.seq = seq, .at_ms = now, .who = who, .what = what, .note = note};
    return store_history_add(t, &h);
}

/* --- an event's history, copied out of its listing --- */

typedef struct history_list {
    gl_arena *arena;
    gl_history *items;
    size_t n, cap;
    int oom;
} history_list;

static int history_list_add(void *ctx, const gl_history *h)
{
    history_list *l = ctx;
    gl_history *items = arena_grow(l->arena, l->items, l->n, &l->cap, sizeof *items);
    if (!items) {
        l->oom = 1;
        return 1;
    }
    l->items = items;
    gl_history *c = &l->items[l->n++];
    *c = *h;
    c->who = arena_strdup(l->arena, h->who);
    c->what = arena_strdup(l->arena, h->what);
    c->note = arena_strdup(l->arena, h->note);
    return 0;
}

/* --- SUBMIT --- */

static void reply_filed(gl_worker *w, const wjob *j, const gl_event *ev, int duplicate)
{
    /* durable even for a duplicate: the first copy may be in this very
     * transaction, and must not be reported filed if it fails. The body is
     * made after the commit (outbody.c). */
    worker_out_filed(w, j, ev, duplicate);
}

static const char *submitter(gl_worker *w, const gl_event *ev)
{
    if (!ev->terminal)
        return "terminal";
    size_t n = strlen(ev->terminal);
    char *who = arena_alloc(&w->batch_arena, n + 10);
    if (!who)
        return "terminal";
    memcpy(who, "terminal:", 9); /* once per event: no snprintf */
    memcpy(who + 9, ev->terminal, n + 1);
    return who;
}

/* note_add appends the parts (NULL-terminated) to note[0..cap) holding used
 * bytes, as snprintf would: what fits is written, and used moves on only
 * when all of it did. Returns the new used. */
static size_t note_add(char *note, size_t cap, size_t used, const char *const *parts)
{
    size_t at = used;
    int whole = 1;
    for (; *parts; parts++) {
        size_t n = strlen(*parts), room = cap - at - 1;
        if (n > room) {
            n = room;
            whole = 0;
        }
        memcpy(note + at, *parts, n);
        at += n;
    }
    note[at] = '\0';
    return whole ? at : used;
}

void worker_route_new(gl_worker *w, const gl_event *in, uint64_t now, gl_event *ev,
                      dir_route *route)
{
    *ev = *in;
    ev->state = GL_EV_FILED;
    ev->team = NULL;
    ev->created_ms = ev->updated_ms = now;
    dir_route_event(w->dir, ev, route);
    /* Keep the location the directory resolved (a call box gives only its
     * terminal id; its grid and community are filled in here). */
    if (!ev->community)
        ev->community = route->community;
    if (!ev->grid)
        ev->grid = route->grid;
    if (!ev->compound)
        ev->compound = route->compound;
}

int worker_submit(gl_worker *w, store_txn *t, const wjob *j, uint64_t now)
{
    const gl_event *in = &j->msg.ev;
    uint64_t seq;
    int rc = store_event_find(t, in->id, &seq);
    if (rc == 0) {
        /* Guarantee 2: a repeated id gets the first answer back. */
        gl_event old;
        rc = store_event_get(t, seq, &old, &w->batch_arena);
        if (rc)
            return rc;
        w->counters.duplicates++;
        reply_filed(w, j, &old, 1);
        return 0;
    }
    if (rc != GL_ENOTFOUND)
        return rc;
    if (!dir_category_known(w->dir, in->kind, in->category)) {
        char reason[200];
        snprintf(reason, sizeof reason, "unknown category '%s' for a %s (see the directory)",
                 in->category, gl_kind_name(in->kind));
        worker_out_error(w, j, GL_EBADFIELD, reason);
        return 0;
    }

    gl_event ev;
    dir_route route;
    worker_route_new(w, in, now, &ev, &route);
    /* The record is written once, last, with its state and timers: the
     * dispatches, history and timers before it need only its seq. */
    if ((rc = store_event_next_seq(t, &ev.seq)) != 0)
        return rc;
    const char *who = submitter(w, &ev);
    if ((rc = worker_history(t, ev.seq, now, who, "filed",
                             route.located ? NULL : "location unknown: routed to county triage")))
        return rc;

    char note[GL_MAX_TEXT];
    size_t used = 0;
    note[0] = '\0';
    /* The DISPATCHes of an alert sent early (early.c) are not sent again;
     * the records written here are what is resent until acknowledged. */
    w->dispatch_quiet = j->early_dispatched;
    /* In team order: the dispatch records and their pending, resend and
     * team-index entries (keyed seq, team) then all grow at the right edge
     * of their databases, where a put needs no search (store_txn_put_edge).
     * The route's order stays in the note; the DISPATCHes go out together
     * in one PACK whatever their order. */
    int order[DIR_MAX_ROUTE];
    for (int i = 0; i < route.n; i++) {
        int k = i; /* stable insertion: a team named twice keeps its first role */
        while (k > 0 && strcmp(route.to[order[k - 1]].team, route.to[i].team) > 0) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    /* ev stays as it is while its DISPATCHes are made: one detail map for
     * all of them, not compared with a copy each time (detail.c). */
    worker_detail_pin(w, &ev);
    for (int k = 0; k < route.n && !rc; k++) {
        const dir_recipient *to = &route.to[order[k]];
        rc = worker_dispatch_new(w, t, &ev, to->team, to->role, now);
    }
    worker_detail_pin(w, NULL);
    w->dispatch_quiet = 0;
    if (rc)
        return rc;
    for (int i = 0; i < route.n; i++) {
        const char *const parts[] = {i ? ", " : "", route.to[i].team, " (", route.to[i].role, ")",
                                     NULL};
        used = note_add(note, sizeof note, used, parts);
    }
    /* The plan's deadlines run only when the route called its first squad
     * (an alert of unknown place goes to triage and the coordinators). */
    int squad_called = 0;
    for (int i = 0; i < route.n; i++)
        squad_called |= strcmp(route.to[i].role, "squad") == 0;
    if (ev.kind == GL_KIND_ALERT && squad_called && (rc = escalation_start(w, t, &ev, now)) != 0)
        return rc;
    if (ev.kind != GL_KIND_ALERT && (rc = deadlines_start(w, t, &ev, now)) != 0)
        return rc;
    if (route.n > 0)
        ev.state = GL_EV_DISPATCHED;
    if ((rc = worker_add_event(w, t, &ev)) != 0)
        return rc;
    if (route.n > 0 && (rc = worker_history(t, ev.seq, now, "system", "dispatched", note)) != 0)
        return rc;
    w->counters.filed++;
    reply_filed(w, j, &ev, 0);
    return 0;
}

int worker_find_event(gl_worker *w, store_txn *t, const wjob *j, const char *id, uint64_t *seq,
                      gl_event *ev)
{
    int rc = store_event_find(t, id, seq);
    if (rc == GL_ENOTFOUND) {
        worker_out_error(w, j, GL_ENOTFOUND, "no event with this id");
        return 1;
    }
    if (rc == 0 && ev)
        rc = store_event_get(t, *seq, ev, &w->batch_arena);
    return rc;
}

/* --- SHOW --- */

int worker_show(gl_worker *w, store_txn *t, const wjob *j)
{
    uint64_t seq;
    int rc = store_event_find(t, j->msg.ev.id, &seq);
    if (rc == GL_ENOTFOUND) {
        worker_out_error(w, j, GL_ENOTFOUND, "no event with this id");
        return 0;
    }
    if (rc)
        return rc;
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_EVENT;
    m.rid = j->msg.rid;
    dispatch_list dl;
    history_list hl = {.arena = &w->batch_arena};
    dispatch_list_init(&dl, &w->batch_arena, 0);
    if ((rc = store_event_get(t, seq, &m.ev, &w->batch_arena)) != 0 ||
        (rc = dispatch_list_event(t, seq, &dl)) != 0)
        return rc;
    if ((rc = store_history_list(t, seq, history_list_add, &hl)) < 0 || hl.oom)
        return rc < 0 ? rc : GL_EINTERNAL;
    m.dispatches = dl.items;
    m.ndispatches = dl.n;
    m.history = hl.items;
    m.nhistory = hl.n;
    if (!worker_auth_sees_contact(j, m.dispatches, m.ndispatches))
        m.ev.contact = NULL; /* private: only those who must reach the resident */
    worker_out_reply(w, j, &m, 0);
    return 0;
}

/* --- ACK / ACCEPT / DECLINE / RESOLVE --- */

int actionable(const char *role)
{
    return strcmp(role, "informed") != 0 && strcmp(role, "coordinator") != 0;
}

int live(int state)
{
    return state == GL_DS_PENDING || state == GL_DS_ACKED || state == GL_DS_ACCEPTED;
}

/* The first team to accept wins: every other live, actionable dispatch
 * becomes TAKEN, and every other team is told. */
int take_over(gl_worker *w, store_txn *t, const gl_event *ev, const char *team, uint64_t now)
{
    dispatch_list c;
    dispatch_list_init(&c, &w->batch_arena, 0);
    int rc = dispatch_list_event(t, ev->seq, &c);
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        gl_dispatch *o = &c.items[i];
        if (strcmp(o->team, team) == 0)
            continue;
        if (actionable(o->role) && live(o->state)) {
            o->state = GL_DS_TAKEN;
            o->next_retry_ms = 0;
            o->updated_ms = now;
            if ((rc = store_dispatch_put(t, o)) != 0)
                break;
        }
        if (o->state != GL_DS_DECLINED)
            rc = worker_notice(w, o->team, ev->id, "taken", NULL, team);
    }
    return rc;
}

/* After a decline: if no actionable dispatch is still live, the event goes
 * to the next candidate that has not had it — the route's other
 * recipients, then its fallbacks (community office, county triage). */
int redispatch(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now)
{
    dispatch_list c;
    dispatch_list_init(&c, &w->batch_arena, 0);
    int rc = dispatch_list_event(t, ev->seq, &c);
    if (rc)
        return rc;
    for (size_t i = 0; i < c.n; i++)
        if (actionable(c.items[i].role) && live(c.items[i].state))
            return 0;
    dir_route route;
    dir_route_event(w->dir, ev, &route);
    const char *candidates[DIR_MAX_ROUTE + 5];
    const char *roles[DIR_MAX_ROUTE + 5];
    int n = 0;
    for (int i = 0; i < route.n; i++)
        if (actionable(route.to[i].role)) {
            candidates[n] = route.to[i].team;
            roles[n++] = route.to[i].role;
        }
    for (int i = 0; i < route.nfallback; i++) {
        candidates[n] = route.fallback[i];
        roles[n++] = "community";
    }
    candidates[n] = DIR_TEAM_TRIAGE;
    roles[n++] = "triage";
    for (int i = 0; i < n; i++) {
        int had = 0;
        for (size_t k = 0; k < c.n; k++)
            had |= strcmp(c.items[k].team, candidates[i]) == 0;
        if (had)
            continue;
        const char *role = strcmp(candidates[i], DIR_TEAM_TRIAGE) == 0 ? "triage" : roles[i];
        if ((rc = worker_dispatch(w, t, ev, candidates[i], role, "system", now)) != 0)
            return rc;
        return worker_history(t, ev->seq, now, "system", "redispatched", candidates[i]);
    }
    LOG_W("event %s: every candidate declined it; nobody left to dispatch to", ev->id);
    rc = worker_history(t, ev->seq, now, "system", "unrouted", "every candidate team declined");
    return rc ? rc : deadletter_unrouted(w, t, ev, "every candidate team declined", now);
}

/* An alert's escalation stops once a plan squad acknowledges it or anyone
 * accepts it; a plan squad that declines brings the next step forward now. */
static int alert_acted(gl_worker *w, store_txn *t, gl_event *ev, const gl_dispatch *d,
                       uint64_t now)
{
    if (!ev->escalate_at_ms && !ev->alarm)
        return 0;
    int squad = d->role && strcmp(d->role, "squad") == 0;
    if (squad && d->state == GL_DS_DECLINED) {
        if (!ev->escalate_at_ms)
            return 0; /* the plan is exhausted: nothing to bring forward */
        int rc = store_escalation_move(t, ev->seq, ev->escalate_at_ms, now);
        if (rc == 0) {
            ev->escalate_at_ms = now;
            w->escalation_soon = 1;
        }
        return rc;
    }
    if (squad || ev->state == GL_EV_ACCEPTED || ev->state == GL_EV_RESOLVED)
        return escalation_stop(t, ev);
    return 0;
}

/* What an act does to the category's time limits: seen or taken is signed
 * for; resolved stops the clock and starts the wait for a rating; a holder
 * that declines gives up its lease. */
static int timers_acted(gl_worker *w, store_txn *t, gl_event *ev, const gl_dispatch *d, int cmd,
                        uint64_t now)
{
    int rc = 0;
    if (cmd != PROTO_DECLINE && actionable(d->role))
        rc = set_timer(t, ev, TIMER_SIGN, &ev->sign_by_ms, 0);
    if (rc == 0 && cmd == PROTO_ACCEPT && ev->state == GL_EV_ACCEPTED) {
        dir_policy p;
        dir_category_policy(w->dir, ev->kind, ev->category, &p);
        if (p.lease_s && dir_category_claimable(w->dir, ev->category))
            rc = set_timer(t, ev, TIMER_LEASE, &ev->lease_until_ms, now + p.lease_s * 1000ull);
    }
    if (rc == 0 && ev->state != GL_EV_ACCEPTED)
        rc = set_timer(t, ev, TIMER_LEASE, &ev->lease_until_ms, 0);
    if (rc == 0 && ev->state == GL_EV_RESOLVED) {
        rc = deadlines_stop(t, ev);
        if (rc == 0 && ev->alarm && strcmp(ev->alarm, "overdue") == 0 &&
            (rc = store_alarm_set(t, ev->seq, NULL)) == 0)
            ev->alarm = NULL;
        if (rc == 0 && w->cfg.close_unrated_s > 0)
            rc = set_timer(t, ev, TIMER_CLOSE, &ev->close_at_ms,
                           now + (uint64_t)w->cfg.close_unrated_s * 1000);
    }
    return rc;
}

static int finished(int state)
{
    return state == GL_EV_CLOSED || state == GL_EV_CANCELLED || state == GL_EV_MERGED;
}

/* who_of writes "team:TEAM" or "team:TEAM/MEMBER" into who (cut short to
 * fit, as snprintf would): the history entry's who, once per act. */
static void who_of(char *who, size_t size, const char *team, const char *member)
{
    size_t n = 0;
    const char *parts[] = {"team:", team, member ? "/" : NULL, member};
    for (size_t i = 0; i < GL_ARRAY_LEN(parts); i++) {
        size_t len = parts[i] ? strlen(parts[i]) : 0;
        if (len > size - 1 - n)
            len = size - 1 - n;
        memcpy(who + n, parts[i] ? parts[i] : "", len);
        n += len;
    }
    who[n] = '\0';
}

int worker_act(gl_worker *w, store_txn *t, const wjob *j, uint64_t now)
{
    const proto_msg *m = &j->msg;
    uint64_t seq;
    gl_event ev;
    gl_dispatch d;
    int rc = worker_find_event(w, t, j, m->event, &seq, &ev);
    if (rc)
        return rc > 0 ? 0 : rc;
    rc = store_dispatch_get(t, seq, m->team, &d, &w->batch_arena);
    if (rc == GL_ENOTFOUND) {
        char reason[200];
        snprintf(reason, sizeof reason, "event %s was not dispatched to team %s", m->event, m->team);
        worker_out_error(w, j, GL_ENOTYOURS, reason);
        return 0;
    }
    if (rc)
        return rc;
    const gl_dispatch as_read = d;
    const gl_event ev_as_read = ev;

    char who[2 * GL_MAX_ID + 8];
    who_of(who, sizeof who, m->team, m->member);
    const char *what = NULL;     /* history entry, when something changed */
    const char *refusal = NULL;
    int refuse = 0;
    int other_owner = ev.team && strcmp(ev.team, m->team) != 0 &&
                      (ev.state == GL_EV_ACCEPTED || ev.state == GL_EV_RESOLVED ||
                       ev.state == GL_EV_CLOSED);

    switch (j->cmd) {
    case PROTO_ACK:
        if (d.state == GL_DS_PENDING) {
            d.state = GL_DS_ACKED;
            what = "acked";
        }
        break;
    case PROTO_ACCEPT:
    case PROTO_RESOLVE:
        if ((j->cmd == PROTO_ACCEPT && (d.state == GL_DS_ACCEPTED || d.state == GL_DS_RESOLVED)) ||
            (j->cmd == PROTO_RESOLVE && d.state == GL_DS_RESOLVED))
            break; /* repeated: the same answer again */
        if (other_owner) {
            refuse = GL_ETAKEN;
            refusal = "already accepted by another team";
        } else if (finished(ev.state)) {
            refuse = GL_EBADSTATE;
            refusal = "the event is closed, cancelled or merged";
        } else if (!actionable(d.role)) {
            refuse = GL_EBADSTATE;
            refusal = "this team is informed of the event, it does not act on it";
        } else if (d.state == GL_DS_DECLINED && j->cmd == PROTO_RESOLVE) {
            refuse = GL_EBADSTATE;
            refusal = "this team declined the event";
        }
        if (refuse)
            break;
        if (ev.state != GL_EV_ACCEPTED && ev.state != GL_EV_RESOLVED &&
            (rc = take_over(w, t, &ev, m->team, now)) != 0)
            return rc;
        ev.team = m->team;
        if (j->cmd == PROTO_ACCEPT) {
            d.state = GL_DS_ACCEPTED;
            ev.state = GL_EV_ACCEPTED;
            what = "accepted";
        } else {
            d.state = GL_DS_RESOLVED;
            ev.state = GL_EV_RESOLVED;
            what = "resolved";
        }
        break;
    case PROTO_DECLINE:
        if (d.state == GL_DS_DECLINED)
            break;
        if (d.state == GL_DS_RESOLVED || finished(ev.state)) {
            refuse = GL_EBADSTATE;
            refusal = "the event is already resolved, closed, cancelled or merged";
            break;
        }
        if (ev.team && strcmp(ev.team, m->team) == 0) {
            ev.team = NULL;
            ev.state = GL_EV_DISPATCHED;
        }
        d.state = GL_DS_DECLINED;
        what = "declined";
        break;
    }
    if (refuse) {
        worker_out_error(w, j, refuse, refusal);
        return 0;
    }
    if (what) {
        d.next_retry_ms = 0;
        d.updated_ms = ev.updated_ms = now;
        if (m->member)
            d.member = m->member;
        if (m->note)
            d.note = m->note;
        if (ev.kind == GL_KIND_ALERT && (rc = alert_acted(w, t, &ev, &d, now)) != 0)
            return rc;
        if ((rc = timers_acted(w, t, &ev, &d, j->cmd, now)) != 0)
            return rc;
        /* An ACK writes neither this dispatch nor the event before this
         * (no take-over; an alert's plan and alarm are other indexes,
         * escalations and alarms): the records as read are still the
         * stored ones, and need not be read again. */
        int unread = j->cmd == PROTO_ACK;
        if ((rc = unread ? store_dispatch_replace(t, &d, &as_read) : store_dispatch_put(t, &d)) != 0 ||
            (rc = worker_replace_event(w, t, &ev, unread ? &ev_as_read : NULL)) != 0 ||
            (rc = worker_history(t, seq, now, who, what, m->note)) != 0)
            return rc;
        if (j->cmd == PROTO_DECLINE && (rc = redispatch(w, t, &ev, now)) != 0)
            return rc;
        /* Coordinators see every acknowledgement of an alert as it happens. */
        if (ev.kind == GL_KIND_ALERT && (rc = tell_coordinators(w, t, &ev, what, m->note, m->team)) != 0)
            return rc;
    }
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_RESULT;
    r.rid = m->rid;
    r.event = ev.id;
    r.team = m->team;
    r.state = d.state;
    r.event_state = ev.state;
    return worker_out_reply(w, j, &r, what != NULL);
}
