/* query.c — LIST: operators' history queries and the dead-letter listing
 * (issue 5), answered from a read transaction of their own through the
 * store's indexes (common/store_index.h), a page at a time. */
#include "worker.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/store_index.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000 /* the LISTING's array limit */

/* The history entries a monthly report needs from an event's history. */
static int milestone(const char *what)
{
    static const char *const names[] = {"acked", "accepted", "claimed", "resolved", "closed",
                                        "rated satisfied", "rated unsatisfied", "reopened",
                                        "cancelled", "merged", "dead-lettered", "requeued"};
    for (size_t i = 0; i < GL_ARRAY_LEN(names); i++)
        if (strcmp(what, names[i]) == 0)
            return 1;
    return 0;
}

typedef struct page {
    gl_worker *w;
    uint64_t *seqs, *ms;        /* the events found, in order */
    size_t n, cap, limit;
    gl_dispatch *dead;          /* dead mode: the dead letters of those events */
    size_t ndead, dead_cap;
    const proto_msg *filter;    /* dead mode: the event filters */
    store_txn *t;
    int oom;
    gl_history *hist;
    size_t nhist, hist_cap;
    uint64_t hist_seq;
} page;

static int page_add(page *p, uint64_t seq, uint64_t ms)
{
    if (p->n == p->limit)
        return 1; /* one more than fits: there is a next page */
    size_t cap = p->cap;
    uint64_t *s = arena_grow(&p->w->batch_arena, p->seqs, p->n, &cap, sizeof *s);
    uint64_t *m = s ? arena_grow(&p->w->batch_arena, p->ms, p->n, &p->cap, sizeof *m) : NULL;
    if (!s || !m) {
        p->oom = 1;
        return 1;
    }
    p->seqs = s;
    p->ms = m;
    p->seqs[p->n] = seq;
    p->ms[p->n++] = ms;
    return 0;
}

static int on_event(void *ctx, const gl_event *ev)
{
    return page_add(ctx, ev->seq, ev->created_ms);
}

/* Dead mode: the event filters, checked on the record. */
static int event_matches(const proto_msg *f, const gl_event *ev)
{
    if ((f->ev.kind && ev->kind != f->ev.kind) || (f->ev.state && ev->state != f->ev.state))
        return 0;
    if (f->ev.community && (!ev->community || strcmp(ev->community, f->ev.community) != 0))
        return 0;
    if (f->ev.grid && (!ev->grid || strcmp(ev->grid, f->ev.grid) != 0))
        return 0;
    if (f->overdue && (!ev->alarm || strcmp(ev->alarm, "overdue") != 0))
        return 0;
    if (ev->created_ms < f->since_ms || (f->until_ms && ev->created_ms >= f->until_ms))
        return 0;
    return 1;
}

static int on_dead(void *ctx, const gl_dispatch *d)
{
    page *p = ctx;
    if (p->filter->team && strcmp(d->team, p->filter->team) != 0)
        return 0;
    int same_event = p->n && p->seqs[p->n - 1] == d->seq;
    if (!same_event) {
        gl_event ev;
        gl_arena tmp = {0};
        int rc = store_event_get(p->t, d->seq, &ev, &tmp);
        int keep = rc == 0 && event_matches(p->filter, &ev);
        arena_free(&tmp);
        if (rc != 0 && rc != GL_ENOTFOUND)
            return rc;
        if (!keep)
            return 0;
        if (page_add(p, d->seq, d->seq))
            return 1;
    }
    if (p->ndead == LIST_MAX_LIMIT)
        return 1;
    gl_dispatch *items = arena_grow(&p->w->batch_arena, p->dead, p->ndead, &p->dead_cap,
                                    sizeof *items);
    if (!items) {
        p->oom = 1;
        return 1;
    }
    p->dead = items;
    dispatch_list l; /* a deep copy through the shared helper */
    dispatch_list_init(&l, &p->w->batch_arena, 1);
    dispatch_list_add(&l, d);
    if (l.oom || l.n != 1) {
        p->oom = 1;
        return 1;
    }
    p->dead[p->ndead++] = l.items[0];
    return 0;
}

static int on_history(void *ctx, const gl_history *h)
{
    page *p = ctx;
    if (!h->what || !milestone(h->what))
        return 0;
    gl_history *items = arena_grow(&p->w->batch_arena, p->hist, p->nhist, &p->hist_cap,
                                   sizeof *items);
    if (!items) {
        p->oom = 1;
        return 1;
    }
    p->hist = items;
    gl_history *c = &p->hist[p->nhist++];
    *c = *h;
    c->who = arena_strdup(&p->w->batch_arena, h->who);
    c->what = arena_strdup(&p->w->batch_arena, h->what);
    c->note = NULL; /* notes can be long; the report needs the times */
    return 0;
}

/* Cursor text: events "MS.SEQ" (after that filing time and seq), dead
 * letters "SEQ". */
static int parse_cursor(const char *s, int dead, uint64_t *ms, uint64_t *seq)
{
    char *end;
    *ms = *seq = 0;
    if (!s)
        return 0;
    if (dead) {
        *seq = strtoull(s, &end, 10);
        return *end == '\0' && end != s ? 0 : -1;
    }
    *ms = strtoull(s, &end, 10);
    if (end == s || *end != '.')
        return -1;
    const char *p = end + 1;
    *seq = strtoull(p, &end, 10);
    return *end == '\0' && end != p ? 0 : -1;
}

static const char *cursor_text(gl_worker *w, int dead, uint64_t ms, uint64_t seq)
{
    char buf[48];
    if (dead)
        snprintf(buf, sizeof buf, "%" PRIu64, seq);
    else
        snprintf(buf, sizeof buf, "%" PRIu64 ".%" PRIu64, ms, seq);
    return arena_strdup(&w->batch_arena, buf);
}

/* A query that could not be read is answered with the error; it never fails
 * the batch whose write transaction it runs beside. */
static int answer_failed(gl_worker *w, const wjob *j, int err)
{
    worker_out_error(w, j, err, NULL);
    return 0;
}

int worker_list(gl_worker *w, const wjob *j)
{
    const proto_msg *f = &j->msg;
    uint64_t after_ms, after_seq;
    if (parse_cursor(f->after, f->dead, &after_ms, &after_seq) != 0) {
        worker_out_error(w, j, GL_EBADFIELD,
                         f->dead ? "after: not a cursor of the dead-letter listing (SEQ)"
                                 : "after: not a cursor from a LISTING's next (MS.SEQ)");
        return 0;
    }
    if (f->until_ms && f->until_ms <= f->since_ms) {
        worker_out_error(w, j, GL_EBADFIELD, "until_ms must be after since_ms");
        return 0;
    }
    page p;
    memset(&p, 0, sizeof p);
    p.w = w;
    p.filter = f;
    p.limit = f->limit ? (f->limit < LIST_MAX_LIMIT ? f->limit : LIST_MAX_LIMIT) : LIST_DEFAULT_LIMIT;

    /* A read transaction of its own: a query never waits for the write
     * lock, and sees only what is committed. */
    store_txn *t = NULL;
    int rc = store_begin(w->st, 0, &t);
    if (rc)
        return answer_failed(w, j, rc);
    p.t = t;
    uint64_t resume_ms = 0, resume_seq = 0;
    int more = 0;
    if (f->dead) {
        rc = store_dead_list(t, after_seq, on_dead, &p);
        more = rc == 1;
    } else {
        store_query q;
        memset(&q, 0, sizeof q);
        q.kind = f->ev.kind;
        q.state = f->ev.state;
        q.community = f->ev.community;
        q.grid = f->ev.grid;
        q.team = f->team;
        q.alarm = f->overdue ? "overdue" : NULL;
        q.since_ms = f->since_ms;
        q.until_ms = f->until_ms;
        q.after_ms = after_ms;
        q.after_seq = after_seq;
        int dim = 0;
        rc = store_query_events(t, &q, on_event, &p, &dim, &resume_ms, &resume_seq);
        more = rc == 1;
        LOG_D("LIST answered from the %s index: %zu events", store_index_dim_name(dim), p.n);
    }
    if (rc == GL_EBADFIELD) {
        store_abort(&t);
        worker_out_error(w, j, GL_EBADFIELD, "a filter value is too long");
        return 0;
    }
    if (rc < 0 || p.oom) {
        store_abort(&t);
        return answer_failed(w, j, rc < 0 ? rc : GL_EINTERNAL);
    }

    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_LISTING;
    m.rid = f->rid;
    m.events = p.n ? arena_alloc(&w->batch_arena, p.n * sizeof *m.events) : NULL;
    if (p.n && !m.events) {
        store_abort(&t);
        return answer_failed(w, j, GL_EINTERNAL);
    }
    for (size_t i = 0; i < p.n && rc >= 0; i++) {
        gl_event *ev = &m.events[m.nevents];
        rc = store_event_get(t, p.seqs[i], ev, &w->batch_arena);
        if (rc == GL_ENOTFOUND) {
            rc = 0;
            continue;
        }
        ev->contact = NULL; /* the reporter's contact stays private */
        m.nevents++;
        if (rc == 0 && f->with_history)
            rc = store_history_list(t, p.seqs[i], on_history, &p);
    }
    store_abort(&t);
    if (rc < 0 || p.oom)
        return answer_failed(w, j, rc < 0 ? rc : GL_EINTERNAL);
    m.dispatches = p.dead;
    m.ndispatches = p.ndead;
    m.history = p.hist;
    m.nhistory = p.nhist;

    /* As many as fit in one body; the cursor says where the next page
     * starts. */
    size_t full = m.nevents;
    for (;;) {
        if (m.nevents < full)
            more = 1;
        const gl_event *last = m.nevents ? &m.events[m.nevents - 1] : NULL;
        if (more && last)
            m.next = cursor_text(w, f->dead, last->created_ms, last->seq);
        else if (resume_ms || resume_seq)
            m.next = cursor_text(w, 0, resume_ms, resume_seq);
        else
            m.next = NULL;
        if (last) { /* keep only the records of the events kept */
            while (m.ndispatches && m.dispatches[m.ndispatches - 1].seq > last->seq)
                m.ndispatches--;
            while (m.nhistory && m.history[m.nhistory - 1].seq > last->seq)
                m.nhistory--;
        }
        if (m.nevents <= 1)
            break;
        if (m.ndispatches <= LIST_MAX_LIMIT && m.nhistory <= LIST_MAX_LIMIT) {
            w->sbuf.size = 0;
            if (proto_encode(&m, &w->sbuf) != GL_ETOOLARGE)
                break;
        }
        m.nevents = m.nevents * 3 / 4;
    }
    return worker_out_reply(w, j, &m, 0);
}
