/* followup.c — the resident's side: the rating after resolution (satisfied
 * closes; unsatisfied reopens to the same team with the reason), and what a
 * terminal may ask: the status of one event (Open311 GeoReport style: state,
 * responsible team, expected time, latest note) and the claim board. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

int worker_rate(gl_worker *w, store_txn *t, const wjob *j, uint64_t now)
{
    const proto_msg *m = &j->msg;
    uint64_t seq;
    gl_event ev;
    int rc = worker_find_event(w, t, j, m->ev.id, &seq, &ev);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (m->ev.terminal && ev.terminal && strcmp(m->ev.terminal, ev.terminal) != 0) {
        worker_out_error(w, j, GL_ENOTYOURS, "the event was filed by another terminal");
        return 0;
    }
    int satisfied = strcmp(m->ev.rating, "satisfied") == 0;
    if (ev.rating && strcmp(ev.rating, m->ev.rating) == 0 && ev.state != GL_EV_RESOLVED) {
        /* rated already (closed, or reopened and not yet resolved again):
         * the same answer — durable, the first copy may be in this batch */
        worker_reply_changed(w, j, &ev, 1);
        return 0;
    }
    if (ev.state != GL_EV_RESOLVED) {
        worker_out_error(w, j, GL_EBADSTATE, "only a resolved event can be rated");
        return 0;
    }
    char who[GL_MAX_ID + 16];
    snprintf(who, sizeof who, "terminal%s%s", ev.terminal ? ":" : "", ev.terminal ? ev.terminal : "");
    ev.rating = m->ev.rating;
    ev.updated_ms = now;
    if ((rc = set_timer(t, &ev, TIMER_CLOSE, &ev.close_at_ms, 0)) != 0 ||
        (rc = worker_history(t, seq, now, who, satisfied ? "rated satisfied" : "rated unsatisfied",
                             m->note)) != 0)
        return rc;
    if (satisfied) {
        ev.state = GL_EV_CLOSED;
    } else {
        /* Reopened to the team that resolved it, with the resident's reason;
         * the category's time limits start again. */
        const char *team = ev.team;
        gl_dispatch d;
        const char *role = "grid";
        if (team && store_dispatch_get(t, seq, team, &d, &w->batch_arena) == 0)
            role = d.role;
        ev.state = GL_EV_DISPATCHED;
        ev.team = NULL;
        if ((rc = deadlines_start(w, t, &ev, now)) != 0 ||
            (rc = worker_history(t, seq, now, "system", "reopened", m->note)) != 0)
            return rc;
        if (team && ((rc = worker_dispatch(w, t, &ev, team, role, "system", now)) != 0 ||
                     (rc = worker_notice(w, team, ev.id, "reopened", m->note, NULL)) != 0))
            return rc;
        if (!team && (rc = redispatch(w, t, &ev, now)) != 0)
            return rc;
    }
    if ((rc = worker_save_event(w, t, &ev)) != 0)
        return rc;
    worker_reply_changed(w, j, &ev, 1);
    return 0;
}

/* --- queries --- */

typedef struct latest_note {
    gl_arena *arena;
    const char *note;
} latest_note;

static int keep_note(void *ctx, const gl_history *h)
{
    latest_note *l = ctx;
    if (h->note)
        l->note = arena_strdup(l->arena, h->note);
    return 0;
}

static int track(gl_worker *w, store_txn *t, const wjob *j)
{
    uint64_t seq;
    int rc = store_event_find(t, j->msg.ev.id, &seq);
    if (rc == GL_ENOTFOUND) {
        worker_out_error(w, j, GL_ENOTFOUND, "no event with this id");
        return 0;
    }
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_TRACKING;
    m.rid = j->msg.rid;
    if (rc || (rc = store_event_get(t, seq, &m.ev, &w->batch_arena)) != 0)
        return rc;
    /* A duplicate follows its original: both reporters see the same work. */
    uint64_t follow = seq, oseq;
    gl_event orig;
    if (m.ev.duplicate_of && store_event_find(t, m.ev.duplicate_of, &oseq) == 0 &&
        store_event_get(t, oseq, &orig, &w->batch_arena) == 0) {
        m.ev.state = orig.state;
        m.ev.team = orig.team;
        m.ev.due_ms = orig.due_ms;
        m.ev.updated_ms = orig.updated_ms;
        follow = oseq;
    }
    latest_note l = {&w->batch_arena, NULL};
    if ((rc = store_history_list(t, follow, keep_note, &l)) < 0)
        return rc;
    m.note = l.note;
    m.ev.contact = NULL; /* private: a status query does not repeat it */
    return worker_out_reply(w, j, &m, 0);
}

static int board(gl_worker *w, store_txn *t, const wjob *j)
{
    uint64_t seqs[1000];
    size_t n = 0;
    int rc = store_board_list(t, j->msg.ev.community, seqs, GL_ARRAY_LEN(seqs), &n);
    if (rc == GL_EBADFIELD) {
        worker_out_error(w, j, GL_EBADFIELD, "bad community id");
        return 0;
    }
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_LISTING;
    m.rid = j->msg.rid;
    m.events = n ? arena_alloc(&w->batch_arena, n * sizeof *m.events) : NULL;
    if (rc || (n && !m.events))
        return rc ? rc : GL_EINTERNAL;
    for (size_t i = 0; i < n; i++) {
        gl_event *ev = &m.events[m.nevents];
        if (store_event_get(t, seqs[i], ev, &w->batch_arena) != 0)
            continue;
        ev->contact = NULL; /* volunteers see the wish, not the resident's number */
        m.nevents++;
    }
    /* The oldest first, as many as fit in one body. */
    while (m.nevents > 0) {
        w->sbuf.size = 0;
        if (proto_encode(&m, &w->sbuf) != GL_ETOOLARGE)
            break;
        m.nevents = m.nevents * 3 / 4;
    }
    return worker_out_reply(w, j, &m, 0);
}

int worker_query(gl_worker *w, store_txn *t, const wjob *j)
{
    return j->cmd == PROTO_TRACK ? track(w, t, j) : board(w, t, j);
}
