/* listener.c — a responder's presence on the responders endpoint: HELLO,
 * WELCOME, the stream of DISPATCH and NOTICE, heartbeats both ways, and
 * Paranoid Pirate reconnection (client.h, client_listener). */
#include "client_impl.h"

#include "../common/clock.h"
#include "../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static void client_listen_hello_msg(const client_listener *l, proto_msg *m)
{
    memset(m, 0, sizeof *m);
    m->cmd = PROTO_HELLO;
    m->team = l->team;
    m->member = l->member;
}

int client_listen_open(client_listener **out, const char *endpoint, const char *team,
                       const char *member, const client_opts *opts, char *errbuf,
                       size_t errlen)
{
    *out = NULL;
    if (!client_str_ok(team, GL_MAX_ID) || (member && strlen(member) > GL_MAX_ID)) {
        client_errf(errbuf, errlen, "team must be 1..%d bytes, member at most %d",
                    GL_MAX_ID, GL_MAX_ID);
        return GL_EBADFIELD;
    }
    client_listener *l = calloc(1, sizeof *l);
    if (!l) {
        client_errf(errbuf, errlen, "out of memory");
        return GL_EINTERNAL;
    }
    snprintf(l->team, sizeof l->team, "%s", team);
    if (member && *member) {
        snprintf(l->member, sizeof l->member, "%s", member);
    } else {
        /* HELLO names a member: a listener that gave none is this process. */
        char host[GL_MAX_ID - 12] = "host";
        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "host");
        host[sizeof host - 1] = '\0';
        snprintf(l->member, sizeof l->member, "%s-%ld", host, (long)getpid());
    }
    int rc = client_open(&l->conn, endpoint, opts, errbuf, errlen);
    if (rc)
        goto fail;
    proto_msg hello, rep;
    frame_msg fm;
    client_listen_hello_msg(l, &hello);
    static const int expect[] = {PROTO_WELCOME, PROTO_BUSY, PROTO_ERROR, 0};
    rc = client_call(l->conn, &hello, NULL, expect, &rep, &fm);
    if (rc) {
        client_errf(errbuf, errlen, "%s", l->conn->reason);
        goto fail;
    }
    l->heartbeat_ms = rep.heartbeat_ms ? (int)rep.heartbeat_ms : l->conn->opts.heartbeat_ms;
    frame_close(&fm);
    l->last_heard = l->last_sent = l->last_hello = clock_mono_ms();
    *out = l;
    return 0;
fail:
    client_listen_close(&l);
    return rc;
}

/* Paranoid Pirate: the broker has said nothing for too long, so this
 * connection is presumed dead; a fresh socket and a new HELLO make the broker
 * register us again and resend our team's pending dispatches. */
static int client_listen_rehello(client_listener *l)
{
    client *c = l->conn;
    client_drop_socket(c);
    int rc = client_socket(c->ctx, c->endpoint, &c->opts, &c->sock, c->reason, sizeof c->reason);
    if (rc)
        return rc;
    proto_msg hello;
    client_listen_hello_msg(l, &hello);
    hello.rid = ++c->next_rid;
    if (frame_send_msg(c->sock, NULL, 0, &hello, ZMQ_DONTWAIT) != 0)
        LOG_D("could not queue HELLO to %s", c->endpoint);
    l->reconnects++;
    l->hello_due = 0;
    l->last_heard = l->last_sent = l->last_hello = clock_mono_ms();
    LOG_I("no word from %s for %d ms: reconnected, HELLO again as %s",
          c->endpoint, CLIENT_SILENT_BEATS * l->heartbeat_ms, l->team);
    return 0;
}

/* The broker forgot us but the connection is fine: HELLO on the same socket. */
static void client_listen_hello_again(client_listener *l, uint64_t now)
{
    proto_msg hello;
    client_listen_hello_msg(l, &hello);
    hello.rid = ++l->conn->next_rid;
    if (frame_send_msg(l->conn->sock, NULL, 0, &hello, ZMQ_DONTWAIT) != 0)
        LOG_D("could not queue HELLO to %s", l->conn->endpoint);
    l->hello_due = 0;
    l->reconnects++;
    l->last_hello = l->last_sent = now;
    LOG_I("%s does not know us (bad_state): HELLO again as %s", l->conn->endpoint, l->team);
}

static void client_listen_beat(client_listener *l, uint64_t now)
{
    proto_msg hb;
    memset(&hb, 0, sizeof hb);
    hb.cmd = PROTO_HEARTBEAT;
    if (frame_send_msg(l->conn->sock, NULL, 0, &hb, ZMQ_DONTWAIT) != 0)
        LOG_D("could not queue HEARTBEAT to %s", l->conn->endpoint);
    l->last_sent = now;
}

/* Handles one message read from the broker. Returns 1 when it was a DISPATCH
 * or NOTICE now decoded into *out, else 0. */
static int client_listen_take(client_listener *l, frame_msg *fm, proto_msg *out,
                              gl_arena *arena)
{
    client *c = l->conn;
    size_t len;
    const void *body = frame_body(fm, &len);
    char err[200];
    proto_msg m;
    switch (fm->cmd) {
    case PROTO_HEARTBEAT:
        return 0;
    case PROTO_DISPATCH:
    case PROTO_NOTICE:
        if (proto_decode(fm->cmd, body, len, out, arena, err, sizeof err) == 0)
            return 1;
        log_limited(LOG_WARN, "client-listen-decode", "dropped an undecodable %s: %s",
                    proto_cmd_name(fm->cmd), err);
        memset(out, 0, sizeof *out);
        return 0;
    case PROTO_WELCOME:
        arena_reset(&c->scratch);
        if (proto_decode(fm->cmd, body, len, &m, &c->scratch, err, sizeof err) == 0 &&
            m.heartbeat_ms)
            l->heartbeat_ms = (int)m.heartbeat_ms;
        return 0;
    case PROTO_ERROR:
        arena_reset(&c->scratch);
        if (proto_decode(fm->cmd, body, len, &m, &c->scratch, err, sizeof err) != 0)
            return 0;
        /* bad_state to our HEARTBEAT: the broker restarted or dropped our
         * presence, so we say HELLO again (PROTOCOL.md §10). */
        if (client_error_code(m.code) == GL_EBADSTATE)
            l->hello_due = 1;
        else
            log_limited(LOG_WARN, "client-listen-error", "broker said %s (%u): %s",
                        gl_errname(client_error_code(m.code)), m.code,
                        m.reason ? m.reason : "");
        return 0;
    default:
        LOG_D("listener ignored %s", proto_cmd_name(fm->cmd));
        return 0;
    }
}

int client_listen_next(client_listener *l, int timeout_ms, proto_msg *out, gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    uint64_t until = timeout_ms < 0 ? UINT64_MAX : clock_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (!l->conn->sock) { /* an earlier re-HELLO could not make its socket */
            int rc = client_listen_rehello(l);
            if (rc)
                return rc;
        }
        uint64_t now = clock_mono_ms();
        uint64_t beat = (uint64_t)l->heartbeat_ms;
        /* At most one HELLO per interval, however many bad_states come. */
        if (l->hello_due && now >= l->last_hello + beat)
            client_listen_hello_again(l, now);
        if (now >= l->last_sent + beat)
            client_listen_beat(l, now);
        uint64_t next = l->last_sent + beat;
        uint64_t dead = l->last_heard + CLIENT_SILENT_BEATS * beat;
        if (dead < next)
            next = dead;
        if (l->hello_due && l->last_hello + beat < next)
            next = l->last_hello + beat;
        if (until < next)
            next = until;
        zmq_pollitem_t item = {l->conn->sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, next > now ? (long)(next - now) : 0);
        if (n < 0) {
            if (zmq_errno() == EINTR)
                return 0;
            snprintf(l->conn->reason, sizeof l->conn->reason, "poll failed: %s",
                     zmq_strerror(zmq_errno()));
            return GL_ESYS;
        }
        if (n > 0) {
            frame_msg fm;
            int rc = frame_recv(l->conn->sock, 0, ZMQ_DONTWAIT, &fm);
            if (rc != GL_EUNAVAILABLE)
                l->last_heard = clock_mono_ms(); /* even a malformed message is a sign of life */
            int got = rc == 0 && client_listen_take(l, &fm, out, arena);
            if (rc && rc != GL_EUNAVAILABLE)
                log_limited(LOG_WARN, "client-listen-frame", "dropped a malformed message: %s",
                            gl_errname(rc));
            frame_close(&fm);
            if (got)
                return 0;
            continue;
        }
        /* Only a poll that found nothing may declare the broker silent:
         * messages that queued while the caller was busy count as heard. */
        now = clock_mono_ms();
        if (now >= l->last_heard + CLIENT_SILENT_BEATS * (uint64_t)l->heartbeat_ms) {
            int rc = client_listen_rehello(l);
            if (rc)
                return rc;
        }
        if (now >= until)
            return 0;
    }
}

int client_listen_act(client_listener *l, int cmd, const char *event, const char *note,
                      client_result *out)
{
    if (!l->actor) {
        client_opts o = l->conn->opts;
        o.zmq_ctx = l->conn->ctx;
        int rc = client_open(&l->actor, l->conn->endpoint, &o, l->conn->reason,
                             sizeof l->conn->reason);
        if (rc)
            return rc;
    }
    return client_act(l->actor, cmd, event, l->team, l->member, note, out);
}

const char *client_listen_reason(const client_listener *l)
{
    if (l->actor && l->actor->reason[0])
        return l->actor->reason;
    return l->conn ? l->conn->reason : "";
}

int client_listen_heartbeat_ms(const client_listener *l) { return l->heartbeat_ms; }

int client_listen_reconnects(const client_listener *l) { return l->reconnects; }

void client_listen_close(client_listener **lp)
{
    client_listener *l = *lp;
    if (!l)
        return;
    if (l->conn && l->conn->sock && l->heartbeat_ms) {
        proto_msg bye;
        memset(&bye, 0, sizeof bye);
        bye.cmd = PROTO_BYE;
        frame_send_msg(l->conn->sock, NULL, 0, &bye, ZMQ_DONTWAIT);
    }
    /* The actor shares conn's context: it must be closed first. */
    client_close(&l->actor);
    client_close(&l->conn);
    free(l);
    *lp = NULL;
}
