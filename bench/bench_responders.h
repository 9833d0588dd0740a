/* bench_responders.h — responders for benchmarks: one thread present as
 * many teams at once, one raw DEALER socket per team on the responders
 * endpoint, counting the DISPATCHes that arrive.
 *
 * Each socket says HELLO as its team (member "bench") and sends HEARTBEAT
 * every heartbeat interval (PROTOCOL.md §10); an ERROR without a rid
 * (bad_state: the broker forgot us) makes it say HELLO again. By default
 * DISPATCHes are not acknowledged: an ACK is a write in the alert lane, a
 * load of its own, and within a run shorter than the workers' --retry-ms
 * (30 s) no dispatch is resent, so each arrival is a first delivery. With
 * `ack` set, every DISPATCH is answered at once with an ACK on the same
 * socket (as the team, member "bench", a rid of its own), as a gridline
 * responder SHOULD do (PROTOCOL.md §5); the RESULTs and ERRORs that come
 * back are counted, the ERRORs to ACKs of an alert's early DISPATCH (seq 0)
 * also apart.
 *
 * Only the event id is read from a DISPATCH (a scan of the body's top-level
 * map, not a full decode of the event record it carries): with hundreds of
 * sockets and two dispatches per event filed, decoding and validating every
 * record cost this thread about a fifth of its CPU.
 *
 * The delivery latency of a dispatch is taken from its event id when the id
 * starts with the wall-clock µs in hex (as flood terminals make them):
 * the time from the event's first SUBMIT to the DISPATCH's arrival.
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_RESPONDERS_H
#define GL_BENCH_RESPONDERS_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/arena.h"
#include "../common/clock.h"
#include "../common/gl.h"
#include "../proto/frame.h"
#include "../proto/proto.h"
#include "bench_flood.h"
#include "bench_flood_group.h"
#include "bench_msgpack.h"
#include "bench_util.h"

typedef struct bench_responders {
    /* set by the caller */
    void *ctx;                   /* a ZeroMQ context */
    const char *endpoint;        /* the broker's responders endpoint */
    const char *const *teams;    /* one socket per team */
    size_t nteams;
    _Atomic uint64_t from_us, end_us; /* CLOCK_MONOTONIC window for the counts */
    int ack;                     /* ACK every DISPATCH */
    /* optional: terminals to drive on this thread too (bench_throughput
     * --terminal-threads 0), handed over once filled in; the thread opens
     * them, runs them until their end_us and closes them when it stops */
    _Atomic(flood_group *) group;
    atomic_int stop;
    pthread_t thread;
    /* the thread's own */
    void **socks;
    char *welcomed;
    uint64_t *last_sent_us;
    uint64_t heartbeat_us;
    gl_arena arena;
    /* results (read after the thread is joined, welcomed any time) */
    atomic_int nwelcomed;
    int failed;
    uint64_t dispatches, window_dispatches, notices, errors, rehellos, undecodable;
    bu_hist lat;                 /* first SUBMIT → DISPATCH, in the window */
    /* with ack: ACKs sent; RESULTs and ERRORs received (and in the window) */
    uint64_t acks_sent, ack_results, window_ack_results, ack_errors, window_ack_errors,
        ack_unsent, next_rid, ack_errors_early;
    uint32_t first_ack_err;
    char first_ack_reason[200];
} bench_responders;

static inline int responders_hello(bench_responders *r, size_t i)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_HELLO;
    m.team = r->teams[i];
    m.member = "bench";
    r->last_sent_us[i] = clock_mono_us();
    return frame_send_msg(r->socks[i], NULL, 0, &m, ZMQ_DONTWAIT);
}

/* The wall-clock µs an event id starts with (hex digits, then '-'), or 0. */
static inline uint64_t responders_id_us(const char *id)
{
    uint64_t v = 0;
    int i = 0;
    for (; id && i < 16; i++) {
        char ch = id[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0)
            break;
        v = v << 4 | (uint64_t)d;
    }
    return i >= 12 && id[i] == '-' ? v : 0;
}

/* responders_event_id copies the top-level "event" string of a DISPATCH
 * body into out (outlen bytes, NUL-terminated) and sets *seq to its "seq"
 * (UINT64_MAX when absent): 0, or -1 when the body is not a map or has no
 * "event" string that fits. */
static inline int responders_event_id(const void *body, size_t len, char *out, size_t outlen,
                                      uint64_t *seq)
{
    static const char *const keys[] = {"event", "seq"};
    const unsigned char *v[2], *end = (const unsigned char *)body + len;
    const char *s;
    size_t n;
    if (!body || mp_get(body, len, keys, v, 2) != 0 || mp_str(v[0], end, &s, &n) != 0 ||
        n >= outlen)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    if (mp_uint(v[1], end, seq) != 0)
        *seq = UINT64_MAX;
    return 0;
}

/* The rid of an ACK of an alert's early DISPATCH (seq 0, sent before its
 * filing committed, PROTOCOL.md §12) has this bit set, so that the errors
 * such ACKs get are counted apart. */
#define RESPONDERS_RID_EARLY (UINT64_C(1) << 62)

/* Sends an ACK of event as socket i's team. */
static inline void responders_ack(bench_responders *r, size_t i, const char *event, int early)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_ACK;
    m.rid = ++r->next_rid | (early ? RESPONDERS_RID_EARLY : 0);
    m.event = event;
    m.team = r->teams[i];
    m.member = "bench";
    if (frame_send_msg(r->socks[i], NULL, 0, &m, ZMQ_DONTWAIT) == 0)
        r->acks_sent++;
    else
        r->ack_unsent++;
}

static inline void responders_msg(bench_responders *r, size_t i, frame_msg *fm)
{
    size_t len;
    const void *body = frame_body(fm, &len);
    uint64_t now = clock_mono_us();
    switch (fm->cmd) {
    case PROTO_DISPATCH: {
        r->dispatches++;
        int in_window = now >= atomic_load(&r->from_us) && now <= atomic_load(&r->end_us);
        if (in_window)
            r->window_dispatches++;
        char event[GL_MAX_ID + 1];
        uint64_t seq;
        if (responders_event_id(body, len, event, sizeof event, &seq) != 0) {
            r->undecodable++;
            return;
        }
        uint64_t sent = responders_id_us(event), wall = wall_us();
        if (in_window && sent && wall >= sent)
            bu_hist_add(&r->lat, wall - sent);
        if (r->ack)
            responders_ack(r, i, event, seq == 0);
        return;
    }
    case PROTO_RESULT: {
        uint64_t end = atomic_load(&r->end_us);
        r->ack_results++;
        if (now >= atomic_load(&r->from_us) && now <= end)
            r->window_ack_results++;
        return;
    }
    case PROTO_WELCOME: {
        proto_msg m;
        arena_reset(&r->arena);
        if (!r->welcomed[i] && proto_decode(fm->cmd, body, len, &m, &r->arena, NULL, 0) == 0) {
            r->welcomed[i] = 1;
            if (m.heartbeat_ms)
                r->heartbeat_us = (uint64_t)m.heartbeat_ms * 1000u;
            atomic_fetch_add(&r->nwelcomed, 1);
        }
        return;
    }
    case PROTO_NOTICE:
        r->notices++;
        return;
    case PROTO_ERROR: {
        proto_msg m;
        arena_reset(&r->arena);
        if (proto_decode(fm->cmd, body, len, &m, &r->arena, NULL, 0) == 0 && m.rid) {
            /* the answer to an ACK (HELLO and HEARTBEAT carry no rid) */
            r->ack_errors++;
            if (m.rid & RESPONDERS_RID_EARLY)
                r->ack_errors_early++;
            if (now >= atomic_load(&r->from_us) && now <= atomic_load(&r->end_us))
                r->window_ack_errors++;
            if (!r->first_ack_err) {
                r->first_ack_err = m.code;
                snprintf(r->first_ack_reason, sizeof r->first_ack_reason, "%s",
                         m.reason ? m.reason : "");
            }
            return;
        }
        r->errors++;
        r->rehellos++;
        responders_hello(r, i);
        return;
    }
    default:
        return; /* HEARTBEAT: any message is a sign of life; we need none */
    }
}

/* Reads what socket i has, until nothing is left (or a budget, then the
 * next round comes back to it: epoll is level-triggered). */
static inline void responders_drain(bench_responders *r, size_t i)
{
    for (int budget = 0; budget < 4096; budget++) {
        frame_msg fm;
        int rc = frame_recv(r->socks[i], 0, ZMQ_DONTWAIT, &fm);
        if (rc == 0)
            responders_msg(r, i, &fm);
        frame_close(&fm);
        if (rc == GL_EUNAVAILABLE)
            return;
    }
}

/* The thread waits on the sockets' ZMQ_FDs with epoll rather than zmq_poll:
 * zmq_poll asks every socket for its state on every call, which with
 * hundreds of sockets and a stream of dispatches costs this process more
 * than the broker spends delivering them. A ZMQ_FD only says "look at the
 * socket", and a send may hide pending input, so every socket is drained
 * after it is written to and at every heartbeat round. */
static inline void *responders_main(void *arg)
{
    bench_responders *r = arg;
    size_t n = r->nteams;
    flood_group *g = NULL;
    pthread_setname_np(pthread_self(), "bench-responder"); /* for perf --sort comm */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    r->heartbeat_us = 1000000u;
    r->socks = calloc(n, sizeof *r->socks);
    r->welcomed = calloc(n, 1);
    r->last_sent_us = calloc(n, sizeof *r->last_sent_us);
    if (ep < 0 || !r->socks || !r->welcomed || !r->last_sent_us) {
        r->failed = 1;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        int zero = 0, hwm = 100000, fd;
        size_t fdlen = sizeof fd;
        r->socks[i] = zmq_socket(r->ctx, ZMQ_DEALER);
        if (!r->socks[i]) {
            r->failed = 1;
            goto done;
        }
        zmq_setsockopt(r->socks[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(r->socks[i], ZMQ_RCVHWM, &hwm, sizeof hwm);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
        if (zmq_connect(r->socks[i], r->endpoint) != 0 ||
            zmq_getsockopt(r->socks[i], ZMQ_FD, &fd, &fdlen) != 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            r->failed = 1;
            goto done;
        }
        responders_hello(r, i);
        responders_drain(r, i);
    }
    uint64_t next_beat = clock_mono_us() + r->heartbeat_us / 2;
    while (!atomic_load(&r->stop)) {
        long timeout = 20;
        if (!g && (g = atomic_load(&r->group)) != NULL) {
            pthread_setname_np(pthread_self(), "bench-load"); /* responders and terminals */
            flood_group_open(g, ep);
        }
        if (g && !g->over) {
            long t = flood_group_prepare(g, clock_mono_us());
            if (t < 0)
                flood_group_finish(g, ep);
            else if (t < timeout)
                timeout = t;
        }
        struct epoll_event ready[64];
        int nready = epoll_wait(ep, ready, (int)GL_ARRAY_LEN(ready), (int)timeout);
        if (nready < 0 && errno != EINTR) {
            r->failed = 1;
            break;
        }
        for (int k = 0; k < nready; k++) {
            uint64_t tag = ready[k].data.u64;
            if (tag >= FLOOD_TAG)
                flood_group_ready(g, (uint32_t)(tag - FLOOD_TAG));
            else
                responders_drain(r, (size_t)tag);
        }
        uint64_t now = clock_mono_us();
        if (now < next_beat)
            continue;
        /* HEARTBEAT (the empty map) on every socket; HELLO again where no
         * WELCOME came within a heartbeat interval. */
        static const unsigned char empty_map = 0x80;
        for (size_t i = 0; i < n; i++) {
            if (!r->welcomed[i]) {
                if (now - r->last_sent_us[i] >= r->heartbeat_us) {
                    r->rehellos++;
                    responders_hello(r, i);
                }
            } else {
                frame_send(r->socks[i], NULL, 0, PROTO_HEARTBEAT, &empty_map, 1, 0, NULL, 0,
                           ZMQ_DONTWAIT);
                r->last_sent_us[i] = now;
            }
            responders_drain(r, i);
        }
        next_beat = now + r->heartbeat_us / 2;
    }
done:
    if (!g)
        g = atomic_load(&r->group);
    if (g) {
        if (!g->over) {
            g->failed |= r->failed;
            flood_group_finish(g, -1);
        }
        flood_group_close(g);
    }
    for (size_t i = 0; r->socks && i < n; i++)
        if (r->socks[i])
            zmq_close(r->socks[i]);
    if (ep >= 0)
        close(ep);
    free(r->socks);
    free(r->welcomed);
    free(r->last_sent_us);
    r->socks = NULL;
    r->welcomed = NULL;
    r->last_sent_us = NULL;
    arena_free(&r->arena);
    return NULL;
}

#endif
