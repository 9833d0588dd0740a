/* bench_responders.h — responders for benchmarks: one thread present as
 * many teams at once, one raw DEALER socket per team on the responders
 * endpoint, counting the DISPATCHes that arrive.
 *
 * Each socket says HELLO as its team (member "bench"), answers nothing, and
 * sends HEARTBEAT every heartbeat interval (PROTOCOL.md §10); an ERROR
 * (bad_state: the broker forgot us) makes it say HELLO again. DISPATCHes are
 * not acknowledged: an ACK is a write in the alert lane, a load of its own,
 * and within a run shorter than the workers' --retry-ms (30 s) no dispatch
 * is resent, so each arrival is a first delivery.
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
#include "bench_util.h"

typedef struct bench_responders {
    /* set by the caller */
    void *ctx;                   /* a ZeroMQ context */
    const char *endpoint;        /* the broker's responders endpoint */
    const char *const *teams;    /* one socket per team */
    size_t nteams;
    _Atomic uint64_t from_us, end_us; /* CLOCK_MONOTONIC window for the counts */
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
        proto_msg m;
        arena_reset(&r->arena);
        if (proto_decode(fm->cmd, body, len, &m, &r->arena, NULL, 0) != 0) {
            r->undecodable++;
            return;
        }
        uint64_t sent = responders_id_us(m.event), wall = wall_us();
        if (in_window && sent && wall >= sent)
            bu_hist_add(&r->lat, wall - sent);
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
    case PROTO_ERROR:
        r->errors++;
        r->rehellos++;
        responders_hello(r, i);
        return;
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
        struct epoll_event ready[64];
        int nready = epoll_wait(ep, ready, (int)GL_ARRAY_LEN(ready), 20);
        if (nready < 0 && errno != EINTR) {
            r->failed = 1;
            break;
        }
        for (int k = 0; k < nready; k++)
            responders_drain(r, (size_t)ready[k].data.u64);
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
