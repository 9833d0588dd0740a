/* outbody.c — the bodies of DISPATCH and FILED made after the commit.
 *
 * The filing worker holds LMDB's writer lock for the whole of its batch's
 * transaction, and every instruction spent there lengthens the batch cycle
 * and so every event's latency. A new event's DISPATCHes (about two, each
 * carrying the whole event as its "detail" map) and its FILED were encoded
 * in that transaction, though nothing is sent before the commit is durable.
 * So the outbox keeps what each of those bodies is made of, and
 * worker_flush makes them once the commit is durable, outside the lock (and
 * not at all when it failed: a FILED then becomes the commit's ERROR, a
 * DISPATCH is dropped).
 *
 * What a deferred body is made of must outlive the transaction: nothing
 * may point into the store's pages (a dirty page is freed or reused by the
 * commit) or into a caller's locals. The event is copied into the batch
 * arena, which lives until the flush: a shallow copy for a pinned event
 * (worker_detail_pin: its strings are the decoded SUBMIT's, in that arena,
 * and the directory's), a copy of its strings too for any other. A NOTICE
 * and every other reply are still encoded when queued. */
#include "worker.h"

#include <string.h>

#include "../common/log.h"

/* Reporter contact is private: only the roles that must reach the resident
 * see it. */
static int sees_contact(const char *role)
{
    return strcmp(role, "informed") != 0 && strcmp(role, "claim") != 0 &&
           strcmp(role, "owners") != 0;
}

/* event_pinned: ev is the event whose dispatches are being made now
 * (worker_detail_pin). */
static int event_pinned(const gl_worker *w, const gl_event *ev)
{
    return ev == w->details.pinned && ev->seq == w->details.pinned_seq;
}

/* The copy of ev the DISPATCH keeps: shared with the message queued last
 * when that is a DISPATCH of the same event (an event goes to a few teams
 * one after the other). NULL when memory runs out. */
static const gl_event *event_kept(gl_worker *w, const gl_event *ev)
{
    detail_cache *c = &w->details;
    int pinned = event_pinned(w, ev);
    if (pinned && c->pinned_copy)
        return c->pinned_copy;
    const out_msg *last = w->out.count ? &w->out.msgs[w->out.count - 1] : NULL;
    if (!pinned && last && last->deferred == OUT_DEFER_DISPATCH && proto_event_same(last->of, ev))
        return last->of;
    gl_event *copy = arena_alloc(&w->batch_arena, sizeof *copy);
    if (!copy)
        return NULL;
    if (pinned) {
        *copy = *ev;
        c->pinned_copy = copy;
    } else if (proto_event_copy(copy, ev, &w->batch_arena) != 0) {
        return NULL;
    }
    return copy;
}

int worker_send_dispatch(gl_worker *w, const gl_dispatch *d, const gl_event *ev)
{
    int pinned = event_pinned(w, ev);
    const gl_event *of = event_kept(w, ev);
    out_msg *o = of ? worker_out_new(w) : NULL;
    if (!o)
        return GL_EINTERNAL;
    o->kind = PROTO_DELIVER;
    o->cmd = PROTO_DISPATCH;
    o->deferred = OUT_DEFER_DISPATCH;
    o->of = of;
    /* A pinned event's dispatches name the directory's team and role and
     * the event's own id; any other's are copied. */
    o->team = pinned ? d->team : arena_strdup(&w->batch_arena, d->team);
    o->role = pinned ? d->role : arena_strdup(&w->batch_arena, d->role);
    o->event = pinned && d->event == ev->id ? of->id : arena_strdup(&w->batch_arena, d->event);
    o->dispatch_seq = d->seq;
    o->dispatch_state = d->state;
    o->attempts = d->attempts;
    if (!o->team || !o->role || (d->event && !o->event)) {
        w->out.count--;
        return GL_EINTERNAL;
    }
    return 0;
}

int worker_out_filed(gl_worker *w, const wjob *j, const gl_event *ev, int duplicate)
{
    gl_event *of = arena_alloc(&w->batch_arena, sizeof *of);
    out_msg *o = of ? worker_out_new(w) : NULL;
    if (!o)
        return GL_EINTERNAL;
    memset(of, 0, sizeof *of);
    of->id = ev->id; /* the decoded SUBMIT's, or read into the batch arena */
    of->seq = ev->seq;
    of->kind = ev->kind;
    of->state = ev->state;
    o->kind = PROTO_DONE;
    o->job = j->id;
    o->client = j->client;
    o->client_len = j->client_len;
    o->origin = j->origin;
    o->cmd = PROTO_FILED;
    o->durable = 1;
    o->rid = j->msg.rid;
    o->id = ev->id;
    o->deferred = OUT_DEFER_FILED;
    o->of = of;
    o->duplicate = duplicate;
    if (!duplicate)
        o->filed = of; /* what the log line says once it is on disk (batch.c) */
    return 0;
}

static int make_dispatch(gl_worker *w, out_msg *o)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_DISPATCH;
    m.event = o->event;
    m.team = o->team;
    m.role = o->role;
    m.state = o->dispatch_state;
    m.attempts = o->attempts;
    m.ev = *o->of;
    m.ev.seq = o->dispatch_seq;
    /* The event's map is made once for all its teams (detail.c): the copy
     * stays as it is until the flush ends. Its strings came from decoded
     * messages, the directory and the store. */
    if (w->details.pinned != o->of)
        worker_detail_pin(w, o->of);
    size_t len, detail_len;
    int contact = sees_contact(o->role);
    const void *detail = worker_detail_of(w, o->of, &m.ev, contact, &detail_len);
    if (!contact)
        m.ev.contact = NULL;
    /* Without the map, the whole body the checked way: it says why it
     * cannot be encoded. */
    o->body = detail ? worker_encode_body(w, &m, PROTO_ENC_TRUSTED, detail, detail_len, &len)
                     : worker_encode_body(w, &m, 0, NULL, 0, &len);
    if (!o->body)
        return GL_EINTERNAL; /* the store holds the truth, a resend follows */
    o->body_len = len;
    return 0;
}

static int make_filed(gl_worker *w, out_msg *o)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_FILED;
    m.rid = o->rid;
    m.ev.id = o->of->id;
    m.ev.seq = o->of->seq;
    m.ev.kind = o->of->kind;
    m.ev.state = o->of->state;
    m.duplicate = o->duplicate;
    size_t len;
    int cmd;
    o->body = worker_reply_body(w, &m, &cmd, &len);
    if (!o->body)
        return GL_EINTERNAL;
    o->cmd = cmd;
    o->body_len = len;
    return 0;
}

int worker_out_make(gl_worker *w, out_msg *o)
{
    int rc = o->deferred == OUT_DEFER_DISPATCH ? make_dispatch(w, o)
             : o->deferred == OUT_DEFER_FILED  ? make_filed(w, o)
                                               : 0;
    o->deferred = 0;
    return rc;
}

void worker_out_made(gl_worker *w)
{
    if (w->details.pinned)
        worker_detail_pin(w, NULL);
}
