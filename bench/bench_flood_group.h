/* bench_flood_group.h — several flood terminals driven by one thread.
 *
 * Each terminal keeps what bench_flood.h gives it: its own DEALER socket
 * (its own connection and identity), its own K slots, the same events, the
 * same reply matching, BUSY waits, resends and latency. Only the driving
 * changes: one thread waits on the terminals' ZMQ_FDs with epoll instead of
 * one thread per terminal in zmq_poll. With a thread per terminal every
 * burst of FILED replies wakes each terminal's thread in turn (a context
 * switch each, and each thread pays its own zmq_poll). Here one wake-up
 * serves every terminal with replies waiting.
 *
 * A ZMQ_FD only says "look at the socket", and a send may process the
 * command that would have signalled pending input, so a terminal's socket
 * is read until it is empty after every batch of sends (flood_serve).
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_FLOOD_GROUP_H
#define GL_BENCH_FLOOD_GROUP_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/clock.h"
#include "bench_flood.h"
#include "bench_util.h"

/* A group: n terminals, each filled in by the caller as for flood_main
 * (done and release are taken from terms[0]; done counts terminals). */
typedef struct flood_group {
    flood_term *terms;
    int n;
    pthread_t thread;
    int failed; /* epoll could not be set up: every terminal failed */
} flood_group;

/* flood_serve reads t's replies and refills the slots they free, until a
 * read finds nothing after the last sends. Returns 1 when the send queue
 * was full (try again shortly), else 0. */
static inline int flood_serve(flood_term *t, uint64_t now)
{
    for (int round = 0; round < 64; round++) {
        flood_drain(t);
        if (!t->nidle)
            return 0;
        if (flood_fill(t, now))
            return 1;
        now = clock_mono_us();
    }
    return 0;
}

static inline void flood_group_loop(flood_group *g, int ep)
{
    uint64_t start = g->terms[0].start_us, end = g->terms[0].end_us;
    uint64_t now = clock_mono_us();
    if (start > now)
        bu_sleep_us(start - now);
    now = clock_mono_us();
    for (int i = 0; i < g->n; i++)
        g->terms[i].next_scan = now + 1000000u;
    int blocked = 1; /* fill every terminal on the first round */
    for (;;) {
        now = clock_mono_us();
        if (now >= end)
            break;
        uint64_t wake = end;
        int still_blocked = 0;
        for (int i = 0; i < g->n; i++) {
            flood_term *t = &g->terms[i];
            if (t->failed)
                continue;
            int touched = 0;
            if (now >= t->next_scan) {
                flood_scan(t, now); /* may resend: read afterwards */
                touched = 1;
            }
            if (touched || (blocked && t->nidle))
                still_blocked |= flood_serve(t, now);
            if (t->next_scan < wake)
                wake = t->next_scan;
        }
        blocked = still_blocked;
        now = clock_mono_us();
        long timeout_ms = wake > now ? (long)((wake - now + 999) / 1000) : 0;
        if (timeout_ms > 100)
            timeout_ms = 100;
        if (blocked && timeout_ms > 1)
            timeout_ms = 1;
        struct epoll_event ready[64];
        int nready = epoll_wait(ep, ready, (int)GL_ARRAY_LEN(ready), (int)timeout_ms);
        if (nready < 0 && errno != EINTR) {
            g->failed = 1;
            break;
        }
        now = clock_mono_us();
        for (int k = 0; k < nready; k++)
            blocked |= flood_serve(&g->terms[ready[k].data.u32], now);
    }
    for (int i = 0; i < g->n; i++)
        if (!g->terms[i].failed)
            flood_count_unanswered(&g->terms[i]);
}

/* flood_group_main runs g's terminals on this thread until their end_us,
 * then waits (30 s at most) for *release, as flood_main does. */
static inline void *flood_group_main(void *arg)
{
    flood_group *g = arg;
    atomic_int *done = g->terms[0].done, *release = g->terms[0].release;
    pthread_setname_np(pthread_self(), "bench-terminals"); /* for perf --sort comm */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        g->failed = 1;
    for (int i = 0; i < g->n && !g->failed; i++) {
        flood_term *t = &g->terms[i];
        int fd;
        size_t fdlen = sizeof fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (flood_open(t) != 0 || zmq_getsockopt(t->sock, ZMQ_FD, &fd, &fdlen) != 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            t->failed = 1;
    }
    if (!g->failed)
        flood_group_loop(g, ep);
    for (int i = 0; i < g->n; i++) {
        if (g->failed)
            g->terms[i].failed = 1;
        atomic_fetch_add(done, 1);
    }
    /* Stay alive (and counted in /proc) until the phase's usage is read. */
    for (int waited = 0; waited < 30000 && !atomic_load(release); waited += 5)
        bu_sleep_us(5000);
    for (int i = 0; i < g->n; i++)
        flood_close(&g->terms[i]);
    if (ep >= 0)
        close(ep);
    return NULL;
}

#endif
