#include "client.h"

#include "../common/clock.h"
#include "../common/ids.h"
#include "../common/log.h"
#include "frame.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "client_impl.h"

void client_errf(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* client_stopped: the caller's stop flag is set (a signal asked to stop). */
static int client_stopped(const client *c)
{
    return c->opts.stop && *c->opts.stop;
}

/* client_jitter adds up to 10% (at most 250 ms) to a wait, so that terminals
 * told to wait the same time do not all come back at once (PROTOCOL.md §11). */
static uint32_t client_jitter(client *c, uint32_t ms)
{
    uint32_t span = ms / 10 < 250 ? ms / 10 : 250;
    return span ? ms + (uint32_t)rand_r(&c->jitter_seed) % (span + 1) : ms;
}

/* Sleeps ms; returns nonzero when a signal set the stop flag meanwhile. */
static int client_sleep_ms(const client *c, uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        if (client_stopped(c))
            return 1;
    return 0;
}

int client_str_ok(const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    return n > 0 && n <= max;
}

/* Event ids are 1..GL_MAX_ID printable ASCII bytes without spaces
 * (PROTOCOL.md): checked here so a bad id is refused before anything is sent. */
static int client_id_ok(const char *s)
{
    if (!client_str_ok(s, GL_MAX_ID))
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            return 0;
    return 1;
}

/* An optional string: NULL and "" both mean absent. */
static const char *client_given(const char *s) { return s && *s ? s : NULL; }

void client_opts_init(client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = CLIENT_DEFAULT_TIMEOUT_MS;
    o->retries = CLIENT_DEFAULT_RETRIES;
    o->busy_retries = CLIENT_DEFAULT_BUSY_RETRIES;
    o->heartbeat_ms = CLIENT_DEFAULT_HEARTBEAT_MS;
}

/* Makes a DEALER connected to endpoint, with LINGER 0 so that closing it
 * never waits for a broker that is not there. */
int client_socket(void *ctx, const char *endpoint, const client_opts *o, void **out,
                  char *errbuf, size_t errlen)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    if (!s) {
        client_errf(errbuf, errlen, "cannot make a socket: %s", zmq_strerror(zmq_errno()));
        return GL_ESYS;
    }
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (o->curve_server_key[0] && strncmp(endpoint, "tcp://", 6) == 0 &&
        (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, o->curve_server_key, 40) != 0 ||
         zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, o->curve_public_key, 40) != 0 ||
         zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, o->curve_secret_key, 40) != 0)) {
        client_errf(errbuf, errlen, "cannot use CURVE: %s", zmq_strerror(zmq_errno()));
        zmq_close(s);
        return GL_ECONFIG;
    }
    if (zmq_connect(s, endpoint) != 0) {
        int e = zmq_errno();
        client_errf(errbuf, errlen, "cannot connect to '%s': %s", endpoint, zmq_strerror(e));
        zmq_close(s);
        return e == EMFILE || e == ENOMEM ? GL_ESYS : GL_ECONFIG;
    }
    *out = s;
    return 0;
}

void client_drop_socket(client *c)
{
    if (c->sock) {
        zmq_close(c->sock);
        c->sock = NULL;
    }
}

int client_open(client **out, const char *endpoint, const client_opts *opts, char *errbuf,
                size_t errlen)
{
    *out = NULL;
    client_opts o;
    if (opts)
        o = *opts;
    else
        client_opts_init(&o);
    if (!endpoint || !*endpoint) {
        client_errf(errbuf, errlen, "no endpoint given");
        return GL_ECONFIG;
    }
    if (o.timeout_ms <= 0 || o.retries < 0 || o.busy_retries < 0 || o.heartbeat_ms <= 0) {
        client_errf(errbuf, errlen, "bad client options (timeout %d ms, retries %d)",
                    o.timeout_ms, o.retries);
        return GL_ECONFIG;
    }
    client *c = calloc(1, sizeof *c);
    if (!c || !(c->endpoint = strdup(endpoint))) {
        free(c);
        client_errf(errbuf, errlen, "out of memory");
        return GL_EINTERNAL;
    }
    c->opts = o;
    c->jitter_seed = (unsigned)(clock_mono_us() ^ ((uint64_t)getpid() << 16));
    c->ctx = o.zmq_ctx;
    if (!c->ctx) {
        c->ctx = zmq_ctx_new();
        c->own_ctx = 1;
    }
    int rc = GL_ESYS;
    if (!c->ctx)
        client_errf(errbuf, errlen, "cannot make a ZeroMQ context: %s",
                    zmq_strerror(zmq_errno()));
    else
        rc = client_socket(c->ctx, endpoint, &c->opts, &c->sock, errbuf, errlen);
    if (rc) {
        client_close(&c);
        return rc;
    }
    *out = c;
    return 0;
}

void client_close(client **cp)
{
    client *c = *cp;
    if (!c)
        return;
    client_drop_socket(c);
    if (c->own_ctx && c->ctx)
        zmq_ctx_term(c->ctx);
    arena_free(&c->scratch);
    free(c->endpoint);
    free(c);
    *cp = NULL;
}

const char *client_reason(const client *c) { return c->reason; }

int client_attempts(const client *c) { return c->attempts; }

static int client_expects(const int *expect, int cmd)
{
    for (; *expect; expect++)
        if (*expect == cmd)
            return 1;
    return 0;
}

/* The event id a reply names, if it names one: lets a late answer about
 * another event be dropped even when it carries no rid. */
static const char *client_reply_id(const proto_msg *m)
{
    return m->cmd == PROTO_RESULT ? m->event : m->ev.id;
}

/* Waits until deadline (monotonic ms) for the reply to request rid. Returns
 * 0 with the reply decoded into *rep (strings in c->scratch) and its frames
 * still open in *fm for the caller to close; GL_EUNAVAILABLE when the
 * deadline passed; GL_ESYS if polling fails. Anything else that arrives —
 * stale rids, other commands, undecodable bodies — is dropped. */
static int client_wait(client *c, uint64_t rid, const char *id, const int *expect,
                       uint64_t deadline, proto_msg *rep, frame_msg *fm)
{
    for (;;) {
        uint64_t now = clock_mono_ms();
        zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, now < deadline ? (long)(deadline - now) : 0);
        if (n < 0) {
            if (zmq_errno() == EINTR && !client_stopped(c))
                continue;
            snprintf(c->reason, sizeof c->reason, "%s",
                     zmq_errno() == EINTR ? "interrupted" : zmq_strerror(zmq_errno()));
            return GL_ESYS;
        }
        if (n == 0) {
            if (clock_mono_ms() >= deadline)
                return GL_EUNAVAILABLE;
            continue;
        }
        int rc = frame_recv(c->sock, 0, ZMQ_DONTWAIT, fm);
        if (rc) {
            frame_close(fm);
            if (rc != GL_EUNAVAILABLE)
                LOG_D("dropped a malformed reply from %s: %s", c->endpoint, gl_errname(rc));
            continue;
        }
        size_t len;
        const void *body = frame_body(fm, &len);
        char err[200];
        arena_reset(&c->scratch);
        rc = proto_decode(fm->cmd, body, len, rep, &c->scratch, err, sizeof err);
        if (rc) {
            snprintf(c->reason, sizeof c->reason, "undecodable %s reply: %s",
                     proto_cmd_name(fm->cmd), err);
            LOG_D("%s", c->reason);
        } else if (!client_expects(expect, fm->cmd)) {
            LOG_D("dropped an unexpected %s from %s", proto_cmd_name(fm->cmd), c->endpoint);
        } else if (rep->rid && rep->rid != rid) {
            LOG_D("dropped a stale %s (rid %llu, waiting for %llu)", proto_cmd_name(fm->cmd),
                  (unsigned long long)rep->rid, (unsigned long long)rid);
        } else if (id && client_reply_id(rep) && strcmp(client_reply_id(rep), id) != 0) {
            LOG_D("dropped a %s about another event", proto_cmd_name(fm->cmd));
        } else {
            return 0;
        }
        frame_close(fm);
    }
}

int client_error_code(uint32_t code)
{
    return code >= 1 && code <= 999 ? -(int)code : GL_EINTERNAL;
}

/* client_call sends req (with a fresh rid) and waits for one of expect,
 * following the Lazy Pirate rules (PROTOCOL.md §11): silence → fresh socket
 * and the same bytes again; BUSY → sleep retry_after_ms (plus jitter) and
 * resend; ERROR 3xx → back off and resend, counted like silence; ERROR 1xx
 * and 2xx → -code at once. Returns 0
 * with the final reply in *rep and its frames open in *fm (caller closes), or
 * a GL_E* code with *fm closed and c->reason set. */
int client_call(client *c, const proto_msg *req_in, const char *id,
                       const int *expect, proto_msg *rep, frame_msg *fm)
{
    proto_msg req = *req_in;
    req.rid = ++c->next_rid;
    c->attempts = 0;
    c->reason[0] = '\0';
    memset(fm, 0, sizeof *fm);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    int rc = proto_encode(&req, &buf);
    if (rc) {
        snprintf(c->reason, sizeof c->reason, "cannot encode %s: %s",
                 proto_cmd_name(req.cmd), gl_strerror(rc));
        goto done;
    }
    int silences = 0, busies = 0;
    for (;;) {
        if (!c->sock) {
            rc = client_socket(c->ctx, c->endpoint, &c->opts, &c->sock, c->reason, sizeof c->reason);
            if (rc)
                goto done;
        }
        c->attempts++;
        /* A send that cannot even be queued is treated like silence. */
        if (frame_send(c->sock, NULL, 0, req.cmd, buf.data, buf.size, 0, NULL, 0,
                       ZMQ_DONTWAIT) != 0)
            LOG_D("could not queue %s to %s", proto_cmd_name(req.cmd), c->endpoint);
        rc = client_wait(c, req.rid, id, expect,
                         clock_mono_ms() + (uint64_t)c->opts.timeout_ms, rep, fm);
        if (rc == GL_EUNAVAILABLE) {
            /* The old socket may hold a wedged connection or a reply that is
             * now late: a fresh socket (new identity) leaves both behind. */
            client_drop_socket(c);
            if (silences++ >= c->opts.retries) {
                snprintf(c->reason, sizeof c->reason, "no reply from %s after %d attempts",
                         c->endpoint, c->attempts);
                goto done;
            }
            LOG_D("no reply from %s in %d ms, resending %s", c->endpoint, c->opts.timeout_ms,
                  proto_cmd_name(req.cmd));
            continue;
        }
        if (rc)
            goto done;
        if (rep->cmd == PROTO_BUSY) {
            uint32_t wait = rep->retry_after_ms;
            if (wait > CLIENT_MAX_BUSY_WAIT_MS)
                wait = CLIENT_MAX_BUSY_WAIT_MS;
            frame_close(fm);
            if (busies++ >= c->opts.busy_retries) {
                snprintf(c->reason, sizeof c->reason, "busy, retry after %u ms", wait);
                rc = GL_EBUSY;
                goto done;
            }
            if (client_sleep_ms(c, client_jitter(c, wait))) {
                snprintf(c->reason, sizeof c->reason, "interrupted");
                rc = GL_ESYS;
                goto done;
            }
            continue;
        }
        if (rep->cmd == PROTO_ERROR) {
            rc = client_error_code(rep->code);
            snprintf(c->reason, sizeof c->reason, "%s",
                     rep->reason && *rep->reason ? rep->reason : gl_strerror(rc));
            frame_close(fm);
            /* 3xx: the service cannot take it now; any code is judged by its
             * hundred, so unknown 3xx codes are retried too. */
            if (rc > -400 && rc <= -300 && silences++ < c->opts.retries) {
                int shift = silences < 8 ? silences - 1 : 7;
                uint32_t backoff = 100u << shift;
                if (backoff > (uint32_t)c->opts.timeout_ms)
                    backoff = (uint32_t)c->opts.timeout_ms;
                LOG_D("%s from %s, resending in %u ms", gl_errname(rc), c->endpoint, backoff);
                if (client_sleep_ms(c, client_jitter(c, backoff))) {
                    snprintf(c->reason, sizeof c->reason, "interrupted");
                    rc = GL_ESYS;
                    goto done;
                }
                continue;
            }
            goto done;
        }
        rc = 0;
        c->reason[0] = '\0'; /* forget replies dropped on the way */
        goto done;
    }
done:
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int client_submit(client *c, const gl_event *ev, client_filed *out)
{
    memset(out, 0, sizeof *out);
    if (ev->id) {
        if (!client_id_ok(ev->id)) {
            snprintf(c->reason, sizeof c->reason,
                     "event id must be 1..%d printable ASCII bytes, no spaces", GL_MAX_ID);
            return GL_EBADFIELD;
        }
        snprintf(out->id, sizeof out->id, "%s", ev->id);
    } else {
        ids_new(out->id);
    }
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_SUBMIT;
    req.ev = *ev;
    req.ev.id = out->id;
    /* What the store decides is not the terminal's to send. */
    req.ev.seq = 0;
    req.ev.state = 0;
    req.ev.team = NULL;
    req.ev.created_ms = req.ev.updated_ms = 0;
    static const int expect[] = {PROTO_FILED, PROTO_BUSY, PROTO_ERROR, 0};
    proto_msg rep;
    frame_msg fm;
    int rc = client_call(c, &req, out->id, expect, &rep, &fm);
    if (rc)
        return rc;
    out->seq = rep.ev.seq;
    out->kind = rep.ev.kind ? rep.ev.kind : ev->kind;
    out->state = rep.ev.state;
    out->duplicate = rep.duplicate;
    frame_close(&fm);
    return 0;
}

/* client_bad_id sets the reason for an event id that cannot be sent. */
static int client_bad_id(client *c, const char *what)
{
    snprintf(c->reason, sizeof c->reason,
             "%s must be 1..%d printable ASCII bytes, no spaces", what, GL_MAX_ID);
    return GL_EBADFIELD;
}

/* client_query sends req and waits for reply_cmd (or BUSY / ERROR, with
 * client_call's retries), then decodes the reply once more into the
 * caller's arena: *out stays valid after the next call on c. */
int client_query(client *c, const proto_msg *req, const char *id, int reply_cmd,
                 proto_msg *out, gl_arena *arena)
{
    const int expect[] = {reply_cmd, PROTO_BUSY, PROTO_ERROR, 0};
    proto_msg rep;
    frame_msg fm;
    int rc = client_call(c, req, id, expect, &rep, &fm);
    if (rc)
        return rc;
    size_t len;
    const void *body = frame_body(&fm, &len);
    char err[200];
    rc = proto_decode(reply_cmd, body, len, out, arena, err, sizeof err);
    if (rc)
        snprintf(c->reason, sizeof c->reason, "undecodable %s reply: %s",
                 proto_cmd_name(reply_cmd), err);
    frame_close(&fm);
    return rc;
}

int client_show(client *c, const char *id, proto_msg *out, gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    if (!client_id_ok(id))
        return client_bad_id(c, "event id");
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_SHOW;
    req.ev.id = id;
    return client_query(c, &req, id, PROTO_EVENT, out, arena);
}

int client_track(client *c, const char *id, proto_msg *out, gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    if (!client_id_ok(id))
        return client_bad_id(c, "event id");
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_TRACK;
    req.ev.id = id;
    return client_query(c, &req, id, PROTO_TRACKING, out, arena);
}

int client_board(client *c, const char *community, proto_msg *out, gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    if (!community || !*community) {
        snprintf(c->reason, sizeof c->reason, "BOARD needs a community");
        return GL_EMISSING;
    }
    if (!client_str_ok(community, GL_MAX_ID)) {
        snprintf(c->reason, sizeof c->reason, "community longer than %d bytes", GL_MAX_ID);
        return GL_EBADFIELD;
    }
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_BOARD;
    req.ev.community = community;
    return client_query(c, &req, NULL, PROTO_LISTING, out, arena);
}

int client_scores(client *c, uint64_t since_ms, uint64_t until_ms, proto_msg *out,
                  gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    if (until_ms <= since_ms) {
        snprintf(c->reason, sizeof c->reason, "the period must end after it starts");
        return GL_EBADFIELD;
    }
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_SCORES;
    req.since_ms = since_ms;
    req.until_ms = until_ms;
    return client_query(c, &req, NULL, PROTO_SCORECARD, out, arena);
}

int client_status(client *c, proto_msg *out, gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_STATUS;
    return client_query(c, &req, NULL, PROTO_FIGURES, out, arena);
}

int client_ping(client *c)
{
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_PING;
    static const int expect[] = {PROTO_PONG, PROTO_BUSY, PROTO_ERROR, 0};
    proto_msg rep;
    frame_msg fm;
    int rc = client_call(c, &req, NULL, expect, &rep, &fm);
    if (rc == 0)
        frame_close(&fm);
    return rc;
}

/* ---- acts on a dispatch ----------------------------------------------- */

/* The acts that carry nothing but event, team, member and note. */
static int client_plain_act(int cmd)
{
    switch (cmd) {
    case PROTO_ACK: case PROTO_ACCEPT: case PROTO_DECLINE: case PROTO_RESOLVE:
    case PROTO_CLAIM: case PROTO_RELEASE: case PROTO_RETURN: case PROTO_CONFIRM:
    case PROTO_DISPUTE: case PROTO_APPROVE:
        return 1;
    default:
        return 0;
    }
}

/* The acts whose note is their reason, and so required (PROTOCOL.md §5). */
static int client_note_required(int cmd)
{
    return cmd == PROTO_DECLINE || cmd == PROTO_RETURN || cmd == PROTO_DISPUTE ||
           cmd == PROTO_EXTEND;
}

/* client_act_prepare checks what every act carries and fills req; 0, or a
 * GL_E* with c->reason set (nothing is sent then). */
static int client_act_prepare(client *c, int cmd, const char *event, const char *team,
                              const char *member, const char *note, proto_msg *req,
                              client_result *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    c->reason[0] = '\0';
    c->attempts = 0;
    member = client_given(member);
    note = client_given(note);
    if (!event || !team || !*team || (client_note_required(cmd) && !note)) {
        snprintf(c->reason, sizeof c->reason, "%s needs %s", proto_cmd_name(cmd),
                 !event ? "an event" : !team || !*team ? "a team" : "a note (the reason)");
        return GL_EMISSING;
    }
    if (!client_id_ok(event) || !client_str_ok(team, GL_MAX_ID) ||
        (member && strlen(member) > GL_MAX_ID) || (note && strlen(note) > GL_MAX_TEXT)) {
        snprintf(c->reason, sizeof c->reason, "event, team or member longer than %d bytes "
                 "(or a malformed event id), or note longer than %d", GL_MAX_ID, GL_MAX_TEXT);
        return GL_EBADFIELD;
    }
    memset(req, 0, sizeof *req);
    req->cmd = cmd;
    req->event = event;
    req->team = team;
    req->member = member;
    req->note = note;
    return 0;
}

/* client_act_send sends a prepared act and waits for RESULT. */
static int client_act_send(client *c, const proto_msg *req, client_result *out)
{
    static const int expect[] = {PROTO_RESULT, PROTO_BUSY, PROTO_ERROR, 0};
    proto_msg rep;
    frame_msg fm;
    int rc = client_call(c, req, req->event, expect, &rep, &fm);
    if (rc)
        return rc;
    if (out) {
        out->state = rep.state;
        out->event_state = rep.event_state;
        out->until_ms = rep.until_ms;
    }
    frame_close(&fm);
    return 0;
}

int client_act(client *c, int cmd, const char *event, const char *team,
               const char *member, const char *note, client_result *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!client_plain_act(cmd)) {
        const char *name = proto_cmd_name(cmd);
        snprintf(c->reason, sizeof c->reason, "not an act: %s%s", name ? name : "?",
                 cmd == PROTO_REDIRECT || cmd == PROTO_MERGE || cmd == PROTO_EXTEND
                     ? " (it has a call of its own)" : "");
        return GL_EBADFIELD;
    }
    proto_msg req;
    int rc = client_act_prepare(c, cmd, event, team, member, note, &req, out);
    return rc ? rc : client_act_send(c, &req, out);
}

int client_redirect(client *c, const char *event, const char *team, const char *to,
                    const char *member, const char *note, client_result *out)
{
    proto_msg req;
    int rc = client_act_prepare(c, PROTO_REDIRECT, event, team, member, note, &req, out);
    if (rc)
        return rc;
    if (!to || !*to) {
        snprintf(c->reason, sizeof c->reason, "REDIRECT needs the team to give it to");
        return GL_EMISSING;
    }
    if (!client_str_ok(to, GL_MAX_ID)) {
        snprintf(c->reason, sizeof c->reason, "'to' longer than %d bytes", GL_MAX_ID);
        return GL_EBADFIELD;
    }
    req.to = to;
    return client_act_send(c, &req, out);
}

int client_merge(client *c, const char *event, const char *team, const char *into,
                 const char *member, const char *note, client_result *out)
{
    proto_msg req;
    int rc = client_act_prepare(c, PROTO_MERGE, event, team, member, note, &req, out);
    if (rc)
        return rc;
    if (!into || !*into) {
        snprintf(c->reason, sizeof c->reason, "MERGE needs the event it duplicates ('into')");
        return GL_EMISSING;
    }
    if (!client_id_ok(into))
        return client_bad_id(c, "'into'");
    req.into = into;
    return client_act_send(c, &req, out);
}

int client_extend(client *c, const char *event, const char *team, uint64_t until_ms,
                  const char *member, const char *note, client_result *out)
{
    proto_msg req;
    int rc = client_act_prepare(c, PROTO_EXTEND, event, team, member, note, &req, out);
    if (rc)
        return rc;
    if (!until_ms) {
        snprintf(c->reason, sizeof c->reason, "EXTEND needs the new due time (until_ms)");
        return GL_EMISSING;
    }
    req.until_ms = until_ms;
    return client_act_send(c, &req, out);
}

/* ---- UPDATE and CANCEL --------------------------------------------------- */

/* CAP 1.2 values, spelt as PROTOCOL.md §4 lists them: checked here so that a
 * misspelt value is refused with a reason before anything is sent. */
static const char *const client_cap_urgency[] = {"Immediate", "Expected", "Future", "Past",
                                                 "Unknown", NULL};
static const char *const client_cap_severity[] = {"Extreme", "Severe", "Moderate", "Minor",
                                                  "Unknown", NULL};
static const char *const client_cap_certainty[] = {"Observed", "Likely", "Possible",
                                                   "Unlikely", "Unknown", NULL};

static int client_cap_ok(client *c, const char *field, const char *const *values,
                         const char *value)
{
    if (!value)
        return 1;
    for (size_t i = 0; values[i]; i++)
        if (strcmp(values[i], value) == 0)
            return 1;
    size_t used = (size_t)snprintf(c->reason, sizeof c->reason, "%s must be one of ", field);
    for (size_t i = 0; values[i] && used < sizeof c->reason; i++)
        used += (size_t)snprintf(c->reason + used, sizeof c->reason - used, "%s%s",
                                 i ? "|" : "", values[i]);
    return 0;
}

/* client_change sends req (UPDATE or CANCEL, checked by the caller) and
 * waits for CHANGED, with client_call's retries. */
static int client_change(client *c, const proto_msg *req, client_filed *out)
{
    static const int expect[] = {PROTO_CHANGED, PROTO_BUSY, PROTO_ERROR, 0};
    proto_msg rep;
    frame_msg fm;
    int rc = client_call(c, req, req->ev.id, expect, &rep, &fm);
    if (rc)
        return rc;
    if (out) {
        out->seq = rep.ev.seq;
        out->kind = rep.ev.kind;
        out->state = rep.ev.state;
    }
    frame_close(&fm);
    return 0;
}

/* Checks what UPDATE and CANCEL share and fills the request; 0 or a GL_E*
 * with c->reason set (nothing is sent then). */
static int client_change_prepare(client *c, int cmd, const char *id, const char *terminal,
                                 const char *note, proto_msg *req, client_filed *out)
{
    if (out) {
        memset(out, 0, sizeof *out);
        if (id)
            snprintf(out->id, sizeof out->id, "%s", id);
    }
    c->reason[0] = '\0';
    c->attempts = 0;
    if (!client_id_ok(id)) {
        snprintf(c->reason, sizeof c->reason,
                 "event id must be 1..%d printable ASCII bytes, no spaces", GL_MAX_ID);
        return GL_EBADFIELD;
    }
    terminal = client_given(terminal);
    note = client_given(note);
    if ((terminal && strlen(terminal) > GL_MAX_ID) || (note && strlen(note) > GL_MAX_TEXT)) {
        snprintf(c->reason, sizeof c->reason, "terminal longer than %d bytes, or note longer "
                 "than %d", GL_MAX_ID, GL_MAX_TEXT);
        return GL_EBADFIELD;
    }
    memset(req, 0, sizeof *req);
    req->cmd = cmd;
    req->ev.id = id;
    req->ev.terminal = terminal;
    req->note = note;
    return 0;
}

int client_update(client *c, const char *id, const char *terminal, const char *text,
                  const char *urgency, const char *severity, const char *certainty,
                  const char *note, client_filed *out)
{
    proto_msg req;
    int rc = client_change_prepare(c, PROTO_UPDATE, id, terminal, note, &req, out);
    if (rc)
        return rc;
    req.ev.text = client_given(text);
    req.ev.urgency = client_given(urgency);
    req.ev.severity = client_given(severity);
    req.ev.certainty = client_given(certainty);
    if (!req.ev.text && !req.ev.urgency && !req.ev.severity && !req.ev.certainty) {
        snprintf(c->reason, sizeof c->reason,
                 "an update needs a new text, urgency, severity or certainty");
        return GL_EMISSING;
    }
    if (req.ev.text && strlen(req.ev.text) > GL_MAX_TEXT) {
        snprintf(c->reason, sizeof c->reason, "text longer than %d bytes", GL_MAX_TEXT);
        return GL_EBADFIELD;
    }
    if (!client_cap_ok(c, "urgency", client_cap_urgency, req.ev.urgency) ||
        !client_cap_ok(c, "severity", client_cap_severity, req.ev.severity) ||
        !client_cap_ok(c, "certainty", client_cap_certainty, req.ev.certainty))
        return GL_EBADFIELD;
    return client_change(c, &req, out);
}

int client_cancel(client *c, const char *id, const char *terminal, const char *note,
                  client_filed *out)
{
    proto_msg req;
    int rc = client_change_prepare(c, PROTO_CANCEL, id, terminal, note, &req, out);
    if (rc)
        return rc;
    return client_change(c, &req, out);
}

static const char *const client_ratings[] = {"satisfied", "unsatisfied", NULL};

int client_rate(client *c, const char *id, const char *terminal, const char *rating,
                const char *note, client_filed *out)
{
    proto_msg req;
    int rc = client_change_prepare(c, PROTO_RATE, id, terminal, note, &req, out);
    if (rc)
        return rc;
    if (!client_given(rating)) {
        snprintf(c->reason, sizeof c->reason, "a rating is needed: satisfied or unsatisfied");
        return GL_EMISSING;
    }
    if (!client_cap_ok(c, "rating", client_ratings, rating))
        return GL_EBADFIELD;
    req.ev.rating = rating;
    return client_change(c, &req, out);
}

/* ---- listener ---------------------------------------------------------- */

