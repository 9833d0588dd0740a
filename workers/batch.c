/* batch.c — group commit: a batch of jobs in one write transaction, replies
 * and dispatches sent only after it is durable. */
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

out_msg *worker_out_new(gl_worker *w)
{
    outbox *o = &w->out;
    if (o->count == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        out_msg *m = realloc(o->msgs, cap * sizeof *m);
        if (!m)
            return NULL;
        o->msgs = m;
        o->cap = cap;
    }
    out_msg *m = &o->msgs[o->count++];
    memset(m, 0, sizeof *m);
    return m;
}

void *worker_encode_body(gl_worker *w, const proto_msg *m, int flags, const void *event_map,
                         size_t event_map_len, size_t *len)
{
    w->sbuf.size = 0;
    int rc = proto_encode_ex(m, flags, event_map, event_map_len, &w->sbuf);
    if (rc != 0) {
        LOG_E("cannot encode %s: %s", proto_cmd_name(m->cmd), gl_strerror(rc));
        return NULL;
    }
    void *p = arena_alloc(&w->batch_arena, w->sbuf.size);
    if (p)
        memcpy(p, w->sbuf.data, w->sbuf.size);
    *len = w->sbuf.size;
    return p;
}

static void *encode_body(gl_worker *w, const proto_msg *m, size_t *len)
{
    return worker_encode_body(w, m, 0, NULL, 0, len);
}

void *worker_reply_body(gl_worker *w, const proto_msg *m, int *cmd, size_t *len)
{
    *cmd = m->cmd;
    void *body = encode_body(w, m, len);
    if (!body && *cmd != PROTO_ERROR) {
        /* A reply the codec refuses is a bug here, not the client's: tell
         * the client so, rather than abort the whole batch. */
        proto_msg e;
        memset(&e, 0, sizeof e);
        e.cmd = *cmd = PROTO_ERROR;
        e.code = (uint32_t)-GL_EINTERNAL;
        e.reason = "the reply could not be encoded";
        e.rid = m->rid;
        body = encode_body(w, &e, len);
    }
    return body;
}

int worker_out_reply(gl_worker *w, const wjob *j, const proto_msg *m, int durable)
{
    size_t len;
    int cmd;
    void *body = worker_reply_body(w, m, &cmd, &len);
    out_msg *o = body ? worker_out_new(w) : NULL;
    if (!o)
        return GL_EINTERNAL;
    o->kind = PROTO_DONE;
    o->job = j->id;
    o->client = j->client;
    o->client_len = j->client_len;
    o->origin = j->origin;
    o->cmd = cmd;
    o->body = body;
    o->body_len = len;
    o->durable = durable;
    o->rid = m->rid;
    o->id = m->ev.id;
    return 0;
}

void worker_reply_changed(gl_worker *w, const wjob *j, const gl_event *ev, int durable)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_CHANGED;
    m.rid = j->msg.rid;
    m.ev.id = ev->id;
    m.ev.seq = ev->seq;
    m.ev.kind = ev->kind;
    m.ev.state = ev->state;
    worker_out_reply(w, j, &m, durable);
}

void worker_out_error(gl_worker *w, const wjob *j, int err, const char *reason)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_ERROR;
    m.code = (uint32_t)-err;
    m.reason = reason ? reason : gl_strerror(err);
    m.rid = j->msg.rid;
    m.ev.id = j->msg.ev.id ? j->msg.ev.id : j->msg.event; /* intake commands name "id" */
    w->counters.errors++;
    worker_out_reply(w, j, &m, 0);
}

int worker_out_deliver(gl_worker *w, const char *team, const proto_msg *m)
{
    return worker_out_deliver_ex(w, team, m, 0, NULL, 0);
}

int worker_out_deliver_ex(gl_worker *w, const char *team, const proto_msg *m, int flags,
                          const void *event_map, size_t event_map_len)
{
    size_t len;
    void *body = worker_encode_body(w, m, flags, event_map, event_map_len, &len);
    if (!body)
        return 0; /* logged by encode_body; the store holds the truth, a resend follows */
    out_msg *o = worker_out_new(w);
    if (!o)
        return GL_EINTERNAL;
    o->kind = PROTO_DELIVER;
    o->team = arena_strdup(&w->batch_arena, team);
    o->cmd = m->cmd;
    o->body = body;
    o->body_len = len;
    return o->team ? 0 : GL_EINTERNAL;
}

static void send_out(gl_worker *w, out_msg *o)
{
    if (!w->cfg.single_messages) {
        o->queued = 1; /* one PACK at the end of worker_flush */
        return;
    }
    proto_msg hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.cmd = o->kind;
    if (o->kind == PROTO_DONE) {
        hdr.job = o->job;
        hdr.client = o->client;
        hdr.client_len = o->client_len;
        hdr.origin = o->origin;
    } else
        hdr.team = o->team;
    w->sbuf.size = 0;
    /* The team and origin passed the checks of the inner body's encoding,
     * or of the JOB's decoding. */
    if (proto_encode_ex(&hdr, PROTO_ENC_TRUSTED, NULL, 0, &w->sbuf) != 0)
        return;
    /* Blocking send: the broker's pipe to us has a high HWM, and a reply
     * must not be dropped once its work is durable. */
    if (frame_send(w->sock, NULL, 0, o->kind, w->sbuf.data, w->sbuf.size, o->cmd, o->body,
                   o->body_len, 0) == 0)
        w->last_sent_ms = clock_mono_ms();
}

/* One log line per event filed, once it is on disk (a resent SUBMIT's
 * duplicate FILED is not a filing). */
static void log_filed(const out_msg *o)
{
    const gl_event *ev = o->filed;
    if (!ev || o->cmd != PROTO_FILED || LOG_INFO > log_threshold)
        return;
    /* "event ID filed: KIND, seq N, STATE", joined by hand: a printf of
     * the whole line cost 2k instructions an event, a tenth of a DISPATCH. */
    char line[GL_MAX_ID + 96], digits[24];
    size_t n = 0, d = 0;
    const char *const parts[] = {"event ", ev->id, " filed: ", gl_kind_name(ev->kind), ", seq ",
                                 NULL, ", ", gl_event_state_name(ev->state)};
    uint64_t seq = ev->seq;
    do
        digits[sizeof digits - 1 - d++] = (char)('0' + seq % 10);
    while ((seq /= 10) && d < sizeof digits - 1);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *p = parts[i] ? parts[i] : digits + sizeof digits - d;
        size_t len = parts[i] ? strlen(p) : d;
        if (len > sizeof line - 1 - n)
            len = sizeof line - 1 - n;
        memcpy(line + n, p, len);
        n += len;
    }
    line[n] = '\0';
    LOG_I("%s", line);
}

void worker_flush(gl_worker *w, int ok, int err)
{
    log_gather(1); /* a batch's "event filed" lines in one write */
    for (size_t i = 0; i < w->out.count; i++) {
        out_msg *o = &w->out.msgs[i];
        if (ok) {
            /* A body left for now is made now the commit is durable
             * (outbody.c); one that cannot be is not sent (logged). */
            if (o->deferred && worker_out_make(w, o) != 0)
                continue;
            send_out(w, o);
            log_filed(o);
            continue;
        }
        if (o->kind != PROTO_DONE)
            continue; /* nothing was stored, so nothing is dispatched */
        if (o->durable) {
            /* Rewrite the reply as the commit's error: nothing was stored. */
            proto_msg m;
            memset(&m, 0, sizeof m);
            m.cmd = PROTO_ERROR;
            m.code = (uint32_t)-err;
            m.reason = gl_strerror(err);
            m.rid = o->rid; /* a terminal matches the ERROR to its request (§3.4) */
            m.ev.id = o->id;
            size_t len;
            void *body = encode_body(w, &m, &len);
            if (!body)
                continue;
            o->cmd = PROTO_ERROR;
            o->body = body;
            o->body_len = len;
            o->deferred = 0;
        } else if (o->deferred && worker_out_make(w, o) != 0) {
            continue;
        }
        send_out(w, o);
    }
    worker_out_made(w);
    log_gather(0); /* the log says what was filed before the terminals hear it */
    worker_send_batch(w);
    w->out.count = 0;
}

/* Works one job in t: 0, or a storage failure that aborts the batch.
 * *routine_written counts the routine writes worked. */
static int work_job(gl_worker *w, store_txn *t, wjob *j, uint64_t now, size_t *routine_written)
{
    if (j->decode_err) {
        worker_out_error(w, j, j->decode_err, j->reason);
        return 0;
    }
    int refused = worker_auth_refuse(w, t, j);
    if (refused)
        return refused < 0 ? refused : 0;
    if (worker_space_refuse(w, t, j))
        return 0;
    /* While refusing, what passes is a repeated SUBMIT: no write. */
    *routine_written += !w->space.refusing && worker_space_routine_write(j);
    switch (j->cmd) {
    case PROTO_SUBMIT:
        return worker_submit(w, t, j, now);
    case PROTO_SHOW:
        return worker_show(w, t, j);
    case PROTO_UPDATE:
    case PROTO_CANCEL:
        return worker_change(w, t, j, now);
    case PROTO_CLAIM:
    case PROTO_RELEASE:
    case PROTO_RETURN:
    case PROTO_REDIRECT:
    case PROTO_CONFIRM:
    case PROTO_DISPUTE:
    case PROTO_EXTEND:
    case PROTO_APPROVE:
    case PROTO_MERGE:
        return worker_workflow(w, t, j, now);
    case PROTO_RATE:
        return worker_rate(w, t, j, now);
    case PROTO_TRACK:
    case PROTO_BOARD:
        return worker_query(w, t, j);
    case PROTO_ACK:
    case PROTO_ACCEPT:
    case PROTO_DECLINE:
    case PROTO_RESOLVE:
        return worker_act(w, t, j, now);
    case PROTO_LIST: /* issue 5: from a read transaction of its own */
        return worker_list(w, j);
    case PROTO_REQUEUE:
        return worker_requeue(w, t, j, now);
    default:
        worker_out_error(w, j, GL_EUNKNOWNCMD, "command not handled by workers");
        return 0;
    }
}

/* Works the batch once: 0 once committed, else the failure (the outbox
 * then holds what the attempt queued). *routine_written counts the
 * routine writes worked. Once it holds the writer, before it works
 * anything, an alert-lane batch takes the alert-lane jobs that arrived
 * while it waited (take.c) into w->late, up to --batch jobs in all; the
 * alerts among them get their early DISPATCHes at once. */
static int run_once(gl_worker *w, wjob *jobs, size_t n, size_t *routine_written)
{
    uint64_t now = clock_wall_ms();
    store_txn *t = NULL;
    *routine_written = 0;
    watchdog_waiting(1);
    int rc = store_begin(w->st, 1, &t);
    watchdog_waiting(0);
    if (rc == 0 && n > 0 && n < (size_t)w->cfg.batch) {
        size_t from = w->late.n;
        if (worker_take_late(w, jobs[0].lane_alert, (size_t)w->cfg.batch - n) &&
            w->out.count == 0)
            worker_early_dispatch_in(w, t, w->late.jobs + from, w->late.n - from);
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = work_job(w, t, &jobs[i], now, routine_written);
    for (size_t i = 0; i < w->late.n && rc == 0; i++)
        rc = work_job(w, t, &w->late.jobs[i], now, routine_written);
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    return rc;
}

/* Every job of jobs[0..n) gets an answer after a failed commit, also those
 * the failure stopped before: a job without a DONE would hold the broker's
 * credit for ever. */
static void answer_failed(gl_worker *w, const wjob *jobs, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++) {
        int answered = 0;
        for (size_t k = 0; k < w->out.count && !answered; k++)
            answered = w->out.msgs[k].kind == PROTO_DONE && w->out.msgs[k].job == jobs[i].id;
        if (!answered)
            worker_out_error(w, &jobs[i], rc, NULL);
    }
}

/* Growing the map doubles it, so a few tries reach any ceiling from a
 * reasonable start; the loop is bounded all the same. */
#define BATCH_GROW_TRIES 8

void worker_run_batch(gl_worker *w, wjob *jobs, size_t n)
{
    /* Before the wait for the store's one writer: an alert's people are
     * told now, the alert is filed next (once, whatever the retries). */
    worker_early_dispatch(w, jobs, n);
    worker_space_check(w);
    w->late.n = 0;
    worker_counters before = w->counters;
    size_t routine_written = 0;
    int rc = run_once(w, jobs, n, &routine_written);
    for (int tries = 0; rc == GL_ESTORAGEFULL && tries < BATCH_GROW_TRIES && store_can_grow(w->st);
         tries++) {
        /* The map was full below its ceiling: forget what the attempt
         * queued; the next begin grows the map, and the batch runs again
         * (with the jobs it took late, and any more that came). */
        w->out.count = 0;
        w->counters = before;
        rc = run_once(w, jobs, n, &routine_written);
    }
    w->counters.batches++;
    w->counters.jobs += n + w->late.n;
    if (rc != 0) {
        w->counters.commits_failed++;
        log_limited(LOG_ERROR, "commit", "batch of %zu jobs not stored: %s", n + w->late.n,
                    gl_strerror(rc));
        answer_failed(w, jobs, n, rc);
        answer_failed(w, w->late.jobs, w->late.n, rc);
    }
    worker_flush(w, rc == 0, rc);
    if (rc != 0) {
        worker_early_withdraw(w, jobs, n, rc);
        worker_early_withdraw(w, w->late.jobs, w->late.n, rc);
    }
    worker_space_after(w, rc, routine_written != 0);
}
