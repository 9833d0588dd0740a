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
 * (start_us, end_us, done and release are taken from terms[0]; done counts
 * terminals). */
typedef struct flood_group {
    flood_term *terms;
    int n;
    pthread_t thread;
    int failed;  /* epoll failed: every terminal failed */
    int blocked; /* a send queue was full: serve every terminal again soon */
    int over;    /* end_us passed: the terminals are finished */
} flood_group;

/* The epoll tag of terminal i of a group (responders use tags below it). */
#define FLOOD_TAG (UINT64_C(1) << 32)

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

/* flood_group_open opens g's terminals and adds their ZMQ_FDs to ep (data:
 * FLOOD_TAG | index). A terminal that cannot open is marked failed. */
static inline void flood_group_open(flood_group *g, int ep)
{
    for (int i = 0; i < g->n; i++) {
        flood_term *t = &g->terms[i];
        int fd;
        size_t fdlen = sizeof fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = FLOOD_TAG | (uint64_t)i};
        if (flood_open(t) != 0 || zmq_getsockopt(t->sock, ZMQ_FD, &fd, &fdlen) != 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            t->failed = 1;
        t->next_scan = t->start_us + 1000000u;
    }
    g->blocked = 1; /* fill every terminal on the first round */
}

/* flood_group_prepare does what is due before waiting: resends (BUSY
 * waits over, silent requests), and refills after a full send queue.
 * Returns how long to wait for input at most, in ms; -1 once end_us has
 * passed (then call flood_group_finish). */
static inline long flood_group_prepare(flood_group *g, uint64_t now)
{
    uint64_t start = g->terms[0].start_us, end = g->terms[0].end_us;
    if (now >= end)
        return -1;
    if (now < start)
        return (long)((start - now + 999) / 1000);
    uint64_t wake = end;
    int blocked = 0;
    for (int i = 0; i < g->n; i++) {
        flood_term *t = &g->terms[i];
        if (t->failed)
            continue;
        int touched = 0;
        if (now >= t->next_scan) {
            flood_scan(t, now); /* may resend: read afterwards */
            touched = 1;
        }
        if (touched || (g->blocked && t->nidle))
            blocked |= flood_serve(t, now);
        if (t->next_scan < wake)
            wake = t->next_scan;
    }
    g->blocked = blocked;
    now = clock_mono_us();
    long timeout_ms = wake > now ? (long)((wake - now + 999) / 1000) : 0;
    if (timeout_ms > 100)
        timeout_ms = 100;
    if (blocked && timeout_ms > 1)
        timeout_ms = 1;
    return timeout_ms;
}

/* flood_group_ready serves terminal i, whose ZMQ_FD epoll reported. */
static inline void flood_group_ready(flood_group *g, uint32_t i)
{
    if (!g->over && i < (uint32_t)g->n && !g->terms[i].failed)
        g->blocked |= flood_serve(&g->terms[i], clock_mono_us());
}

/* flood_group_finish counts what is left unanswered, takes the terminals'
 * fds out of ep and adds them to *done. The sockets stay open (closed by
 * flood_group_close once the phase's usage is read). */
static inline void flood_group_finish(flood_group *g, int ep)
{
    for (int i = 0; i < g->n; i++) {
        flood_term *t = &g->terms[i];
        int fd;
        size_t fdlen = sizeof fd;
        if (g->failed || !t->sock)
            t->failed = 1;
        if (!t->failed) {
            flood_count_unanswered(t);
            if (ep >= 0 && zmq_getsockopt(t->sock, ZMQ_FD, &fd, &fdlen) == 0)
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        }
    }
    g->over = 1;
    atomic_fetch_add(g->terms[0].done, g->n);
}

static inline void flood_group_close(flood_group *g)
{
    for (int i = 0; i < g->n; i++)
        flood_close(&g->terms[i]);
}

/* flood_group_main runs g's terminals on this thread until their end_us,
 * then waits (30 s at most) for *release, as flood_main does. */
static inline void *flood_group_main(void *arg)
{
    flood_group *g = arg;
    pthread_setname_np(pthread_self(), "bench-terminals"); /* for perf --sort comm */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        g->failed = 1;
    else
        flood_group_open(g, ep);
    for (long timeout; !g->failed && (timeout = flood_group_prepare(g, clock_mono_us())) >= 0;) {
        struct epoll_event ready[64];
        int nready = epoll_wait(ep, ready, (int)GL_ARRAY_LEN(ready), (int)timeout);
        if (nready < 0 && errno != EINTR) {
            g->failed = 1;
            break;
        }
        for (int k = 0; k < nready; k++)
            flood_group_ready(g, (uint32_t)(ready[k].data.u64 & 0xffffffffu));
    }
    flood_group_finish(g, ep);
    /* Stay alive (and counted in /proc) until the phase's usage is read. */
    for (int waited = 0; waited < 30000 && !atomic_load(g->terms[0].release); waited += 5)
        bu_sleep_us(5000);
    flood_group_close(g);
    if (ep >= 0)
        close(ep);
    return NULL;
}

#endif
