/* workflow.c — the county's workflows (issue 4): the claim board with
 * leases, returns to triage (退单) and triage's re-routing, the property
 * three-party office (the owners' committee confirms or disputes), deadline
 * extensions a coordinator approves, duplicates, the resident's rating, and
 * what a terminal may ask about its event. Like actions.c, every check comes
 * before the first write: a refusal changes nothing. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

static int claimable_open(const gl_worker *w, const gl_event *ev)
{
    return ev->kind == GL_KIND_REQUEST && ev->state == GL_EV_DISPATCHED && ev->community &&
           dir_category_claimable(w->dir, ev->category);
}

int worker_save_event(gl_worker *w, store_txn *t, const gl_event *ev)
{
    return worker_replace_event(w, t, ev, NULL);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* board_unchanged: the record as read and ev agree on everything
 * claimable_open looks at, so the board already says what ev would. */
static int board_unchanged(const gl_event *as_read, const gl_event *ev)
{
    return as_read && as_read->kind == ev->kind && as_read->state == ev->state &&
           same_str(as_read->community, ev->community) &&
           same_str(as_read->category, ev->category);
}

int worker_replace_event(gl_worker *w, store_txn *t, const gl_event *ev, const gl_event *as_read)
{
    int rc = as_read ? store_event_replace(t, ev, as_read) : store_event_put(t, ev);
    /* An ACK leaves the board as it is: no put of the same entry again. */
    if (rc == 0 && ev->kind == GL_KIND_REQUEST && ev->community && !board_unchanged(as_read, ev) &&
        dir_category_claimable(w->dir, ev->category))
        rc = store_board_set(t, ev->community, ev->seq, claimable_open(w, ev));
    return rc;
}

int worker_add_event(gl_worker *w, store_txn *t, gl_event *ev)
{
    uint64_t reserved = ev->seq;
    int rc = store_event_add(t, ev);
    if (rc == 0 && ev->seq != reserved) {
        LOG_E("event %s: filed as seq %llu, its dispatches name %llu", ev->id,
              (unsigned long long)ev->seq, (unsigned long long)reserved);
        return GL_EINTERNAL; /* aborts the batch: nothing half-written */
    }
    if (rc == 0 && claimable_open(w, ev))
        rc = store_board_set(t, ev->community, ev->seq, 1);
    return rc;
}

/* --- replies --- */

static int reply_result(gl_worker *w, const wjob *j, const gl_event *ev, const gl_dispatch *d,
                        int durable)
{
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_RESULT;
    r.rid = j->msg.rid;
    r.event = ev->id;
    r.team = j->msg.team;
    r.state = d ? d->state : GL_DS_ACKED;
    r.event_state = ev->state;
    r.until_ms = ev->lease_until_ms;
    return worker_out_reply(w, j, &r, durable);
}

static int refuse(gl_worker *w, const wjob *j, int err, const char *reason)
{
    worker_out_error(w, j, err, reason);
    return 0;
}

static const char *who_of(gl_worker *w, const proto_msg *m)
{
    size_t len = 2 * GL_MAX_ID + 8;
    char *who = arena_alloc(&w->batch_arena, len);
    if (who)
        snprintf(who, len, "team:%s%s%s", m->team, m->member ? "/" : "", m->member ? m->member : "");
    return who ? who : "team";
}

/* The county's coordinators and the community's office and duty officer may
 * approve extensions and merge duplicates without a dispatch of their own. */
static int coordinates(const gl_worker *w, const gl_event *ev, const char *team)
{
    const char *office = dir_community_office(w->dir, ev->community);
    const char *duty = dir_community_duty(w->dir, ev->community);
    return strcmp(team, DIR_TEAM_COORDINATORS) == 0 || strcmp(team, DIR_TEAM_TRIAGE) == 0 ||
           (office && strcmp(team, office) == 0) || (duty && strcmp(team, duty) == 0);
}

static int finished(int state)
{
    return state == GL_EV_CLOSED || state == GL_EV_CANCELLED || state == GL_EV_MERGED;
}

/* The last history entry of an event: a resent act finds its first copy
 * there and gets the same answer instead of acting twice. */
typedef struct last_entry {
    gl_arena *arena;
    const char *what, *who, *note;
} last_entry;

static int keep_last(void *ctx, const gl_history *h)
{
    last_entry *l = ctx;
    l->what = arena_strdup(l->arena, h->what);
    l->who = arena_strdup(l->arena, h->who);
    l->note = arena_strdup(l->arena, h->note);
    return 0;
}

/* already_done: the event's last history entry is what, by this team's who,
 * with this note (NULL: any note). */
static int already_done(gl_worker *w, store_txn *t, const gl_event *ev, const char *what,
                        const char *who, const char *note)
{
    last_entry l = {.arena = &w->batch_arena};
    if (store_history_list(t, ev->seq, keep_last, &l) < 0 || !l.what)
        return 0;
    return strcmp(l.what, what) == 0 && same_str(l.who, who) && (!note || same_str(l.note, note));
}

/* --- claims --- */

int release_claim(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now, const char *who,
                  const char *why)
{
    dispatch_list l;
    dispatch_list_init(&l, &w->batch_arena, 0);
    int rc = dispatch_list_event(t, ev->seq, &l);
    const char *holder = ev->team;
    ev->state = GL_EV_DISPATCHED;
    ev->team = NULL;
    if (rc == 0)
        rc = set_timer(t, ev, TIMER_LEASE, &ev->lease_until_ms, 0);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        gl_dispatch *d = &l.items[i];
        int held = holder && strcmp(d->team, holder) == 0;
        if (!(held && d->state == GL_DS_ACCEPTED) && d->state != GL_DS_TAKEN)
            continue;
        /* Back on the board: the holder has seen it, the others may claim. */
        d->state = held ? GL_DS_ACKED : GL_DS_PENDING;
        d->updated_ms = now;
        if ((rc = store_dispatch_put(t, d)) == 0)
            rc = worker_notice(w, d->team, ev->id, "open", why, holder);
    }
    if (rc == 0)
        rc = worker_history(t, ev->seq, now, who, "released", why);
    return rc;
}

static int on_claim(gl_worker *w, store_txn *t, const wjob *j, gl_event *ev, gl_dispatch *d,
                    uint64_t now)
{
    const proto_msg *m = &j->msg;
    if (ev->kind != GL_KIND_REQUEST)
        return refuse(w, j, GL_EBADSTATE, "only requests are claimed; accept an alert or feedback");
    dir_policy p;
    dir_category_policy(w->dir, ev->kind, ev->category, &p);
    int mine = ev->team && strcmp(ev->team, m->team) == 0;
    if (!mine && ev->team && (ev->state == GL_EV_ACCEPTED || ev->state == GL_EV_RESOLVED))
        return refuse(w, j, GL_ETAKEN, "already claimed by another team");
    if (finished(ev->state) || ev->state == GL_EV_RESOLVED)
        return refuse(w, j, GL_EBADSTATE, "the event is resolved, closed, cancelled or merged");
    if (!actionable(d->role))
        return refuse(w, j, GL_EBADSTATE, "this team is informed of the event, it does not act on it");
    const char *who = who_of(w, m);
    int rc = 0;
    if (!mine) {
        if ((rc = take_over(w, t, ev, m->team, now)) != 0)
            return rc;
        ev->state = GL_EV_ACCEPTED;
        ev->team = m->team;
        d->state = GL_DS_ACCEPTED;
        d->member = m->member;
        d->next_retry_ms = 0;
        d->updated_ms = now;
        if ((rc = store_dispatch_put(t, d)) != 0)
            return rc;
    }
    /* A claim holds a lease (a visibility timeout); claiming again extends it. */
    if (p.lease_s && (rc = set_timer(t, ev, TIMER_LEASE, &ev->lease_until_ms,
                                     now + p.lease_s * 1000ull)) != 0)
        return rc;
    /* Claimed is signed for. */
    if ((rc = set_timer(t, ev, TIMER_SIGN, &ev->sign_by_ms, 0)) != 0)
        return rc;
    char note[64] = "", when[32];
    if (ev->lease_until_ms)
        snprintf(note, sizeof note, "lease until %s",
                 clock_format_utc(ev->lease_until_ms, when, sizeof when));
    if ((rc = worker_history(t, ev->seq, now, who, mine ? "claim extended" : "claimed",
                             note[0] ? note : NULL)) != 0)
        return rc;
    ev->updated_ms = now;
    if ((rc = worker_save_event(w, t, ev)) != 0)
        return rc;
    return reply_result(w, j, ev, d, 1);
}

static int on_release(gl_worker *w, store_txn *t, const wjob *j, gl_event *ev, gl_dispatch *d,
                      uint64_t now)
{
    if (ev->state != GL_EV_ACCEPTED || !ev->team || strcmp(ev->team, j->msg.team) != 0) {
        if (d->state == GL_DS_ACKED && !ev->team)
            return reply_result(w, j, ev, d, 0); /* released already */
        return refuse(w, j, GL_EBADSTATE, "this team does not hold the event");
    }
    int rc = release_claim(w, t, ev, now, who_of(w, &j->msg),
                           j->msg.note ? j->msg.note : "released by the claimer");
    ev->updated_ms = now;
    if (rc == 0)
        rc = worker_save_event(w, t, ev);
    if (rc == 0) {
        d->state = GL_DS_ACKED;
        rc = reply_result(w, j, ev, d, 1);
    }
    return rc;
}

/* --- 退单: return to triage, and triage's re-routing --- */

static int on_return(gl_worker *w, store_txn *t, const wjob *j, gl_event *ev, gl_dispatch *d,
                     uint64_t now)
{
    const proto_msg *m = &j->msg;
    if (d->state == GL_DS_RETURNED)
        return reply_result(w, j, ev, d, 0);
    if (finished(ev->state) || ev->state == GL_EV_RESOLVED || !live(d->state))
        return refuse(w, j, GL_EBADSTATE, "only a live dispatch of an open event can be returned");
    if (strcmp(d->role, "triage") == 0)
        return refuse(w, j, GL_EBADSTATE, "triage re-routes with REDIRECT instead");
    d->state = GL_DS_RETURNED;
    d->note = m->note;
    d->member = m->member ? m->member : d->member;
    d->next_retry_ms = 0;
    d->updated_ms = now;
    int rc = 0;
    if (ev->team && strcmp(ev->team, m->team) == 0) {
        /* The holder gives it back: the other claimants may take it. */
        if (ev->state == GL_EV_ACCEPTED)
            rc = release_claim(w, t, ev, now, who_of(w, m), "returned by the team that held it");
        ev->team = NULL;
        ev->state = GL_EV_DISPATCHED;
        if (rc == 0)
            rc = set_timer(t, ev, TIMER_LEASE, &ev->lease_until_ms, 0);
    }
    if (rc != 0 || (rc = store_dispatch_put(t, d)) != 0 ||
        (rc = worker_history(t, ev->seq, now, who_of(w, m), "returned", m->note)) != 0 ||
        (rc = worker_dispatch(w, t, ev, DIR_TEAM_TRIAGE, "triage", "system", now)) != 0)
        return rc;
    ev->updated_ms = now;
    if ((rc = worker_save_event(w, t, ev)) != 0)
        return rc;
    return reply_result(w, j, ev, d, 1);
}

static int on_redirect(gl_worker *w, store_txn *t, const wjob *j, gl_event *ev, gl_dispatch *d,
                       uint64_t now)
{
    const proto_msg *m = &j->msg;
    if (strcmp(d->role, "triage") != 0 && strcmp(d->role, "community") != 0 &&
        strcmp(d->role, "coordinator") != 0)
        return refuse(w, j, GL_EBADSTATE, "only triage, the community office or coordinators re-route");
    if (finished(ev->state) || ev->state == GL_EV_RESOLVED)
        return refuse(w, j, GL_EBADSTATE, "the event is resolved, closed, cancelled or merged");
    if (!dir_has_team(w->dir, m->to)) {
        char reason[160];
        snprintf(reason, sizeof reason, "unknown team '%s'", m->to);
        return refuse(w, j, GL_EBADFIELD, reason);
    }
    char note[GL_MAX_TEXT];
    snprintf(note, sizeof note, "to %s%s%s", m->to, m->note ? ": " : "", m->note ? m->note : "");
    gl_utf8_trim(note);
    if (already_done(w, t, ev, "redirected", who_of(w, m), note))
        return reply_result(w, j, ev, d, 0); /* a resend: the same answer */
    int rc;
    if ((rc = worker_dispatch(w, t, ev, m->to, "assigned", "system", now)) != 0 ||
        (rc = worker_history(t, ev->seq, now, who_of(w, m), "redirected", note)) != 0)
        return rc;
    /* Triage's part is done once it has found the right team. */
    if (strcmp(d->role, "triage") == 0) {
        d->state = GL_DS_RESOLVED;
        d->note = note;
        d->next_retry_ms = 0;
        d->updated_ms = now;
        if ((rc = store_dispatch_put(t, d)) != 0)
            return rc;
    }
    ev->updated_ms = now;
    if ((rc = worker_save_event(w, t, ev)) != 0)
        return rc;
    return reply_result(w, j, ev, d, 1);
}

/* --- 三方联动: the owners' committee confirms or disputes --- */

static int on_confirm_or_dispute(gl_worker *w, store_txn *t, const wjob *j, gl_event *ev,
                                 gl_dispatch *d, uint64_t now)
{
    const proto_msg *m = &j->msg;
    int dispute = j->cmd == PROTO_DISPUTE;
    if (strcmp(d->role, "owners") != 0)
        return refuse(w, j, GL_EBADSTATE, "only the owners' committee confirms or disputes");
    const char *who = who_of(w, m);
    if (already_done(w, t, ev, dispute ? "escalated" : "confirmed", dispute ? "system" : who,
                     dispute ? NULL : m->note) ||
        (dispute && already_done(w, t, ev, "disputed", who, m->note)))
        return reply_result(w, j, ev, d, 0); /* a resend: the same answer */
    if (ev->state != GL_EV_RESOLVED)
        return refuse(w, j, GL_EBADSTATE, "the property side has not resolved it yet");
    int rc;
    if (!dispute) {
        d->state = GL_DS_RESOLVED;
        d->note = m->note;
        d->updated_ms = now;
        if ((rc = store_dispatch_put(t, d)) != 0 ||
            (rc = worker_history(t, ev->seq, now, who, "confirmed", m->note)) != 0)
            return rc;
        const char *office = dir_community_office(w->dir, ev->community);
        if (office && (rc = worker_notice(w, office, ev->id, "confirmed", m->note, m->team)) != 0)
            return rc;
        return reply_result(w, j, ev, d, 1);
    }
    /* Disputed: reopened, the property side asked again, the community
     * takes over the coordination. */
    const char *resolver = ev->team;
    ev->state = GL_EV_DISPATCHED;
    ev->team = NULL;
    /* The reopened feedback is timed again like a new one. */
    if ((rc = set_timer(t, ev, TIMER_CLOSE, &ev->close_at_ms, 0)) != 0 ||
        (rc = deadlines_start(w, t, ev, now)) != 0 ||
        (rc = worker_history(t, ev->seq, now, who, "disputed", m->note)) != 0)
        return rc;
    if (resolver && ((rc = worker_dispatch(w, t, ev, resolver, "property", "system", now)) != 0 ||
                     (rc = worker_notice(w, resolver, ev->id, "disputed", m->note, m->team)) != 0))
        return rc;
    if ((rc = escalate_to_community(w, t, ev, now, "escalated", "disputed by the owners' committee")) != 0)
        return rc;
    ev->updated_ms = now;
    if ((rc = worker_save_event(w, t, ev)) != 0)
        return rc;
    return reply_result(w, j, ev, d, 1);
}

/* --- extensions --- */

static int on_extend(gl_worker *w, store_txn *t, const wjob *j, gl_event *ev, gl_dispatch *d,
                     uint64_t now)
{
    const proto_msg *m = &j->msg;
    if (!actionable(d->role) || !live(d->state))
        return refuse(w, j, GL_EBADSTATE, "only a team working the event asks for more time");
    if (finished(ev->state) || ev->state == GL_EV_RESOLVED)
        return refuse(w, j, GL_EBADSTATE, "the event is resolved, closed, cancelled or merged");
    if (ev->extension_ms == m->until_ms)
        return reply_result(w, j, ev, d, 0); /* asked for already: the same answer */
    if (m->until_ms <= now || (ev->due_ms && m->until_ms <= ev->due_ms))
        return refuse(w, j, GL_EBADFIELD, "until_ms must be later than now and than the due time");
    ev->extension_ms = m->until_ms;
    char when[32], note[GL_MAX_TEXT];
    snprintf(note, sizeof note, "until %s: %s", clock_format_utc(m->until_ms, when, sizeof when),
             m->note);
    gl_utf8_trim(note);
    int rc = worker_history(t, ev->seq, now, who_of(w, m), "extension requested", note);
    const char *office = dir_community_office(w->dir, ev->community);
    if (rc == 0)
        rc = worker_notice(w, office ? office : DIR_TEAM_COORDINATORS, ev->id,
                           "extension requested", note, m->team);
    ev->updated_ms = now;
    if (rc == 0)
        rc = worker_save_event(w, t, ev);
    return rc ? rc : reply_result(w, j, ev, d, 1);
}

static int on_approve(gl_worker *w, store_txn *t, const wjob *j, gl_event *ev, gl_dispatch *d,
                      uint64_t now)
{
    const proto_msg *m = &j->msg;
    if (!coordinates(w, ev, m->team))
        return refuse(w, j, GL_ENOTYOURS, "only the community office or the county's coordinators approve");
    if (!ev->extension_ms) {
        if (already_done(w, t, ev, "extension approved", who_of(w, m), NULL))
            return reply_result(w, j, ev, d, 0); /* a resend: the same answer */
        return refuse(w, j, GL_EBADSTATE, "no extension was asked for");
    }
    dir_policy p;
    dir_category_policy(w->dir, ev->kind, ev->category, &p);
    uint64_t due = ev->extension_ms;
    int rc = set_timer(t, ev, TIMER_DUE, &ev->due_ms, due);
    if (rc == 0 && p.remind_before_s && due - p.remind_before_s * 1000ull > now)
        rc = set_timer(t, ev, TIMER_REMIND, &ev->remind_at_ms, due - p.remind_before_s * 1000ull);
    if (rc == 0 && ev->alarm && strcmp(ev->alarm, "overdue") == 0 &&
        (rc = store_alarm_set(t, ev->seq, NULL)) == 0)
        ev->alarm = NULL;
    ev->extension_ms = 0;
    char when[32], note[200];
    snprintf(note, sizeof note, "new due time %s", clock_format_utc(due, when, sizeof when));
    if (rc == 0)
        rc = worker_history(t, ev->seq, now, who_of(w, m), "extension approved", note);
    if (rc == 0 && ev->team)
        rc = worker_notice(w, ev->team, ev->id, "extended", note, m->team);
    ev->updated_ms = now;
    if (rc == 0)
        rc = worker_save_event(w, t, ev);
    return rc ? rc : reply_result(w, j, ev, d, 1);
}

/* --- duplicates --- */

static int on_merge(gl_worker *w, store_txn *t, const wjob *j, gl_event *ev, gl_dispatch *d,
                    uint64_t now)
{
    const proto_msg *m = &j->msg;
    if (ev->state == GL_EV_MERGED && ev->duplicate_of && strcmp(ev->duplicate_of, m->into) == 0)
        return reply_result(w, j, ev, d, 0); /* merged already */
    if (finished(ev->state))
        return refuse(w, j, GL_EBADSTATE, "the event is closed, cancelled or merged");
    if (strcmp(m->into, ev->id) == 0)
        return refuse(w, j, GL_EBADFIELD, "an event cannot be a duplicate of itself");
    uint64_t oseq;
    gl_event orig;
    int rc = store_event_find(t, m->into, &oseq);
    if (rc == GL_ENOTFOUND)
        return refuse(w, j, GL_ENOTFOUND, "no event with the id given in 'into'");
    if (rc || (rc = store_event_get(t, oseq, &orig, &w->batch_arena)) != 0)
        return rc;
    if (orig.state == GL_EV_MERGED || orig.state == GL_EV_CANCELLED)
        return refuse(w, j, GL_EBADSTATE, "merge into the original event, not a merged or cancelled one");
    dispatch_list l;
    dispatch_list_init(&l, &w->batch_arena, 0);
    if ((rc = dispatch_list_event(t, ev->seq, &l)) != 0)
        return rc;
    char note[160];
    snprintf(note, sizeof note, "duplicate of %s", orig.id);
    ev->state = GL_EV_MERGED;
    ev->duplicate_of = orig.id;
    if ((rc = deadlines_stop(t, ev)) != 0 || (rc = escalation_stop(t, ev)) != 0 ||
        (rc = set_timer(t, ev, TIMER_LEASE, &ev->lease_until_ms, 0)) != 0 ||
        (rc = set_timer(t, ev, TIMER_CLOSE, &ev->close_at_ms, 0)) != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        gl_dispatch *x = &l.items[i];
        if (live(x->state) || x->state == GL_DS_DEAD) {
            x->state = GL_DS_CANCELLED;
            x->next_retry_ms = 0;
            x->updated_ms = now;
            rc = store_dispatch_put(t, x);
        }
        if (rc == 0)
            rc = worker_notice(w, x->team, ev->id, "merged", note, m->team);
    }
    char back[160];
    snprintf(back, sizeof back, "duplicate %s merged in", ev->id);
    if (rc == 0)
        rc = worker_history(t, ev->seq, now, who_of(w, m), "merged", note);
    if (rc == 0)
        rc = worker_history(t, oseq, now, who_of(w, m), "duplicate", back);
    ev->updated_ms = now;
    if (rc == 0)
        rc = worker_save_event(w, t, ev);
    if (rc == 0 && d)
        d->state = GL_DS_CANCELLED;
    return rc ? rc : reply_result(w, j, ev, d, 1);
}

/* --- the responders' workflow commands --- */

int worker_workflow(gl_worker *w, store_txn *t, const wjob *j, uint64_t now)
{
    const proto_msg *m = &j->msg;
    uint64_t seq;
    gl_event ev;
    gl_dispatch d, *dp = &d;
    int rc = store_event_find(t, m->event, &seq);
    if (rc == GL_ENOTFOUND)
        return refuse(w, j, GL_ENOTFOUND, "no event with this id");
    if (rc || (rc = store_event_get(t, seq, &ev, &w->batch_arena)) != 0)
        return rc;
    rc = store_dispatch_get(t, seq, m->team, &d, &w->batch_arena);
    if (rc == GL_ENOTFOUND) {
        /* Coordinators approve and merge without a dispatch of their own. */
        if ((j->cmd != PROTO_APPROVE && j->cmd != PROTO_MERGE) || !coordinates(w, &ev, m->team)) {
            char reason[200];
            snprintf(reason, sizeof reason, "event %s was not dispatched to team %s", m->event,
                     m->team);
            return refuse(w, j, GL_ENOTYOURS, reason);
        }
        dp = NULL;
    } else if (rc) {
        return rc;
    }
    switch (j->cmd) {
    case PROTO_CLAIM: return on_claim(w, t, j, &ev, dp, now);
    case PROTO_RELEASE: return on_release(w, t, j, &ev, dp, now);
    case PROTO_RETURN: return on_return(w, t, j, &ev, dp, now);
    case PROTO_REDIRECT: return on_redirect(w, t, j, &ev, dp, now);
    case PROTO_CONFIRM:
    case PROTO_DISPUTE: return on_confirm_or_dispute(w, t, j, &ev, dp, now);
    case PROTO_EXTEND: return on_extend(w, t, j, &ev, dp, now);
    case PROTO_APPROVE: return on_approve(w, t, j, &ev, dp, now);
    case PROTO_MERGE: return on_merge(w, t, j, &ev, dp, now);
    default: return refuse(w, j, GL_EUNKNOWNCMD, "command not handled by workers");
    }
}
