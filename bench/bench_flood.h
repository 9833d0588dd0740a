/* bench_flood.h — a routine flood terminal for benchmarks, and the demo
 * county's places and categories that benchmark events use.
 *
 * A flood terminal is one thread with one DEALER socket on the intake that
 * keeps `inflight` routine SUBMITs in flight until end_us: requests in every
 * category, one in five property feedback, spread over real grids and
 * compounds. Replies are matched by rid (slot index in the low 16 bits, a
 * per-slot generation above), so stale ones never match; a reply's rid,
 * duplicate, retry_after_ms, code and reason are read in place
 * (bench_msgpack.h), not decoded whole. FILED frees the
 * slot for a new event; BUSY waits retry_after_ms plus up to 10% jitter, then
 * resends the same SUBMIT (PROTOCOL.md §11); a 3xx ERROR waits 100 ms, a
 * 1xx/2xx ERROR drops the event; a request silent for 10 s is resent.
 * A caller may supply the events (make_event: the same event for the same
 * slot k and id, since a resend calls it again) and a start of the
 * measuring window (measure_from_us) before which FILED is not counted.
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_FLOOD_H
#define GL_BENCH_FLOOD_H

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "../common/arena.h"
#include "../common/clock.h"
#include "../common/gl.h"
#include "../common/records.h"
#include "../proto/frame.h"
#include "../proto/proto.h"
#include "bench_msgpack.h"
#include "bench_submit.h"
#include "bench_util.h"

#define MAX_INFLIGHT 16384 /* the slot index must fit 16 bits of the rid */
#define SILENCE_RESEND_US 10000000u

/* ---- the demo county: real places and categories ---- */

typedef struct place {
    const char *community, *grid, *compound;
} place;

static const place places[] __attribute__((unused)) = {
    {"heping", "heping-g1", "heping-c1"},       {"heping", "heping-g2", "heping-c2"},
    {"heping", "heping-g3", "heping-c3"},       {"mingzhu", "mingzhu-g1", "mingzhu-c1"},
    {"mingzhu", "mingzhu-g2", "mingzhu-c2"},    {"xinsheng", "xinsheng-g1", "xinsheng-c1"},
    {"xinsheng", "xinsheng-g2", "xinsheng-c2"}, {"xijie", "xijie-g1", "xijie-c1"},
    {"xijie", "xijie-g2", "xijie-c2"},          {"xinshiji", "xinshiji-g1", "xinshiji-c1"},
    {"xinshiji", "xinshiji-g3", "xinshiji-c3"}, {"yinmahu", "yinmahu-g2", "yinmahu-c2"},
};
#define NPLACES ((int)GL_ARRAY_LEN(places))

static const char *const request_categories[] __attribute__((unused)) = {
    "repair", "dispute", "eldercare", "paperwork", "micro-wish",
    "service-order", "daily-help", "environment", "consultation"};
static const char *const feedback_categories[] __attribute__((unused)) = {
    "elevator", "leak", "parking", "cleaning", "fees"};
static const struct {
    const char *category, *text;
} alert_kinds[] __attribute__((unused)) = {
    {"fire", "三楼楼道冒烟，有焦糊味"},
    {"medical", "老人突发胸痛，呼吸困难"},
    {"gas", "厨房燃气味很重，已开窗"},
};

static inline uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* make_payload writes a routine text of exactly `bytes` bytes of valid UTF-8
 * (Chinese, then ASCII padding) and a NUL into out (bytes + 1 long). */
static inline void make_payload(char *out, long bytes)
{
    static const char phrase[] = "楼道灯坏了一个多月，晚上老人上下楼看不清，请尽快派人维修。";
    size_t n = 0, plen = strlen(phrase);
    while (n + 3 <= (size_t)bytes) {
        /* phrase is all 3-byte characters: copy whole characters only */
        size_t off = n % plen;
        memcpy(out + n, phrase + off, 3);
        n += 3;
    }
    while (n < (size_t)bytes)
        out[n++] = '.';
    out[n] = '\0';
}

/* ---- routine flood terminals ---- */

enum { SLOT_IDLE, SLOT_SENT, SLOT_WAIT };

typedef struct slot {
    char id[48];
    uint64_t gen;   /* rid = gen << 16 | slot index, so a stale reply never matches */
    uint64_t k;     /* which event: its kind, category and place derive from k */
    int state;
    uint64_t first_us, sent_us, retry_at;
} slot;

/* One flood terminal: the caller fills the first block and runs flood_main
 * on a thread of its own; the results are valid once the thread is joined. */
typedef struct flood_term {
    /* set by the caller */
    int index;                    /* this terminal's number, in its ids */
    void *ctx;                    /* a ZeroMQ context, shared by the terminals */
    const char *endpoint;         /* the broker's intake */
    long inflight;                /* SUBMITs kept in flight, 1..MAX_INFLIGHT */
    long stride;                  /* terminals in all: events k, k+stride, ... */
    const char *text;             /* every event's text */
    char terminal[GL_MAX_ID + 1]; /* terminal id sent with each event */
    uint64_t start_us, end_us;    /* CLOCK_MONOTONIC: when to begin and stop */
    atomic_int *done;             /* incremented when the loop is over; */
    atomic_int *release;          /* then the thread waits (30 s at most) for this */
    uint64_t next_k;              /* the first event's number k: index */
    unsigned seed;                /* jitter of BUSY waits */
    /* optional, zero for routine_event's mix and counting from the start: */
    void (*make_event)(const struct flood_term *t, const slot *s, gl_event *ev);
    void *event_arg;              /* make_event's own (per-terminal scratch, ...) */
    uint64_t measure_from_us;     /* FILED before this: not in window_filed nor lat */
    int fast_submit;              /* bodies by submit_encode (the caller checked it) */
    pthread_t thread;
    /* the thread's own */
    void *sock;
    uint64_t next_no;
    slot *slots;
    uint32_t *idle;
    size_t nidle;
    uint64_t next_scan;
    gl_arena arena;
    unsigned char *body;          /* with fast_submit: SUBMIT_MAX_BODY bytes */
    /* results */
    int failed;
    uint64_t sent, filed, window_filed, busy, errors, dups, resends, stale, unanswered;
    uint32_t first_err;
    char first_reason[200];
    bu_hist lat; /* first send → FILED, BUSY waits included */
    bu_hist busy_hint; /* retry_after_ms of each BUSY, in µs */
} flood_term;

static inline void routine_event(const flood_term *t, const slot *s, gl_event *ev)
{
    const place *pl = &places[s->k % NPLACES];
    memset(ev, 0, sizeof *ev);
    ev->id = s->id;
    ev->text = t->text;
    ev->terminal = t->terminal;
    ev->contact = "139-0952-1234";
    ev->community = pl->community;
    if (s->k % 5 == 4) { /* one in five is property feedback */
        ev->kind = GL_KIND_FEEDBACK;
        ev->category = feedback_categories[(s->k / 5) % GL_ARRAY_LEN(feedback_categories)];
        ev->compound = pl->compound;
    } else {
        ev->kind = GL_KIND_REQUEST;
        ev->category = request_categories[s->k % GL_ARRAY_LEN(request_categories)];
        ev->grid = pl->grid;
    }
}

/* Sends the slot's SUBMIT (a resend is the same id and rid). 0 or GL_E*. */
static inline int flood_send(flood_term *t, uint32_t i, uint64_t now)
{
    slot *s = &t->slots[i];
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SUBMIT;
    m.rid = s->gen << 16 | i;
    /* A resend must be the same event: make_event depends on s->k, s->id. */
    if (t->make_event)
        t->make_event(t, s, &m.ev);
    else
        routine_event(t, s, &m.ev);
    size_t len = t->body ? submit_encode(t->body, SUBMIT_MAX_BODY, m.rid, &m.ev) : 0;
    int rc = len ? frame_send(t->sock, NULL, 0, PROTO_SUBMIT, t->body, len, 0, NULL, 0,
                              ZMQ_DONTWAIT)
                 : frame_send_msg(t->sock, NULL, 0, &m, ZMQ_DONTWAIT);
    if (rc == 0) {
        s->state = SLOT_SENT;
        s->sent_us = now;
    }
    return rc;
}

static inline void flood_reply(flood_term *t, frame_msg *fm, uint64_t at)
{
    size_t len;
    const void *body = frame_body(fm, &len);
    /* Only what the matching needs, read in place (bench_msgpack.h). */
    static const char *const keys[] = {"rid", "duplicate", "retry_after_ms", "code", "reason"};
    const unsigned char *v[5], *end = (const unsigned char *)body + len;
    uint64_t rid = 0;
    if (!body || mp_get(body, len, keys, v, 5) != 0 || mp_uint(v[0], end, &rid) != 0) {
        t->stale++;
        return;
    }
    uint32_t i = (uint32_t)(rid & 0xffff);
    if (!rid || i >= (uint32_t)t->inflight || t->slots[i].gen != rid >> 16 ||
        t->slots[i].state != SLOT_SENT) {
        t->stale++;
        return;
    }
    slot *s = &t->slots[i];
    uint64_t wait_us = 0;
    switch (fm->cmd) {
    case PROTO_FILED:
        t->filed++;
        if (at <= t->end_us && at >= t->measure_from_us)
            t->window_filed++;
        if (v[1] && *v[1] == 0xc3) /* duplicate: true */
            t->dups++;
        if (at >= t->measure_from_us)
            bu_hist_add(&t->lat, at - s->first_us);
        s->state = SLOT_IDLE;
        t->idle[t->nidle++] = i;
        return;
    case PROTO_BUSY: {
        uint64_t retry_after_ms = 0;
        mp_uint(v[2], end, &retry_after_ms);
        t->busy++;
        wait_us = retry_after_ms * 1000u;
        bu_hist_add(&t->busy_hint, wait_us);
        break;
    }
    case PROTO_ERROR: {
        uint64_t code = 0;
        const char *reason = "";
        size_t rlen = 0;
        mp_uint(v[3], end, &code);
        if (mp_str(v[4], end, &reason, &rlen) != 0)
            rlen = 0;
        t->errors++;
        if (!t->first_err) {
            t->first_err = (uint32_t)code;
            snprintf(t->first_reason, sizeof t->first_reason, "%.*s", (int)rlen, reason);
        }
        if (code < 300) { /* final for this content: move on to a new event */
            s->state = SLOT_IDLE;
            t->idle[t->nidle++] = i;
            return;
        }
        wait_us = 100000; /* service trouble: back off, resend the same */
        break;
    }
    default:
        t->stale++;
        return;
    }
    /* PROTOCOL.md §11: wait retry_after_ms plus a little jitter, resend the
     * same SUBMIT. */
    s->state = SLOT_WAIT;
    s->retry_at = at + wait_us + wait_us * (uint64_t)(rand_r(&t->seed) % 11) / 100;
    if (s->retry_at < t->next_scan)
        t->next_scan = s->retry_at;
}

/* Resends BUSY slots whose wait is over and requests silent for too long;
 * sets next_scan to the earliest retry, at most a second away. */
static inline void flood_scan(flood_term *t, uint64_t now)
{
    t->next_scan = now + 1000000u;
    for (uint32_t i = 0; i < (uint32_t)t->inflight; i++) {
        slot *s = &t->slots[i];
        if (s->state == SLOT_WAIT) {
            if (s->retry_at > now) {
                if (s->retry_at < t->next_scan)
                    t->next_scan = s->retry_at;
            } else if (flood_send(t, i, now) != 0)
                t->next_scan = now + 1000u;
        } else if (s->state == SLOT_SENT && now - s->sent_us > SILENCE_RESEND_US) {
            /* Lost (a worker died?): resend the same; the id makes it safe. */
            if (flood_send(t, i, now) == 0)
                t->resends++;
        }
    }
}

/* Counts the slots still waiting for an answer when the load stops. */
static inline void flood_count_unanswered(flood_term *t)
{
    if (!t->slots)
        return;
    for (uint32_t i = 0; i < (uint32_t)t->inflight; i++)
        if (t->slots[i].state != SLOT_IDLE)
            t->unanswered++;
}

/* Sends new events in the idle slots until none is left or the send queue
 * is full: 1 when it is full (try again shortly), else 0. */
static inline int flood_fill(flood_term *t, uint64_t now)
{
    while (t->nidle) {
        uint32_t i = t->idle[t->nidle - 1];
        slot *s = &t->slots[i];
        s->gen++;
        s->k = t->next_k;
        submit_format_id(s->id, wall_us(), t->index, t->next_no); /* "%012x-t%02d-%u" */
        s->first_us = now;
        if (flood_send(t, i, now) != 0)
            return 1; /* send queue full: try again shortly */
        t->nidle--;
        t->next_k += (uint64_t)t->stride;
        t->next_no++;
        t->sent++;
    }
    return 0;
}

/* Reads and handles the replies waiting on t's socket, until none is left
 * (or a budget of 4096). 0, or -1 when the socket fails. */
static inline int flood_drain(flood_term *t)
{
    for (int budget = 0; budget < 4096; budget++) {
        frame_msg fm;
        int rc = frame_recv(t->sock, 0, ZMQ_DONTWAIT, &fm);
        if (rc == GL_EUNAVAILABLE) {
            frame_close(&fm);
            return 0;
        }
        if (rc == 0)
            flood_reply(t, &fm, clock_mono_us());
        else
            t->stale++;
        frame_close(&fm);
    }
    return 0;
}

static inline void flood_loop(flood_term *t)
{
    uint64_t now = clock_mono_us();
    if (t->start_us > now)
        bu_sleep_us(t->start_us - now);
    t->next_scan = clock_mono_us() + 1000000u;
    for (;;) {
        now = clock_mono_us();
        if (now >= t->end_us)
            break;
        if (now >= t->next_scan)
            flood_scan(t, now);
        int blocked = flood_fill(t, now);
        uint64_t wake = t->next_scan < t->end_us ? t->next_scan : t->end_us;
        now = clock_mono_us();
        long timeout_ms = wake > now ? (long)((wake - now + 999) / 1000) : 0;
        if (timeout_ms > 100)
            timeout_ms = 100;
        if (blocked && timeout_ms > 1)
            timeout_ms = 1;
        zmq_pollitem_t item = {t->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, timeout_ms) < 0 && errno != EINTR) {
            t->failed = 1;
            break;
        }
        if (item.revents & ZMQ_POLLIN)
            flood_drain(t);
    }
    flood_count_unanswered(t);
}

/* flood_open gives t its slots and its socket, connected: 0, or -1 (and
 * t->failed) when it cannot. */
static inline int flood_open(flood_term *t)
{
    uint32_t k = (uint32_t)t->inflight;
    t->slots = calloc(k, sizeof *t->slots);
    t->idle = calloc(k, sizeof *t->idle);
    t->sock = zmq_socket(t->ctx, ZMQ_DEALER);
    if (t->fast_submit)
        t->body = malloc(SUBMIT_MAX_BODY);
    if (!t->slots || !t->idle || !t->sock || (t->fast_submit && !t->body)) {
        t->failed = 1;
        return -1;
    }
    int zero = 0, hwm = (int)k * 2 + 64;
    zmq_setsockopt(t->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(t->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(t->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(t->sock, t->endpoint) != 0) {
        t->failed = 1;
        return -1;
    }
    for (uint32_t i = 0; i < k; i++)
        t->idle[t->nidle++] = k - 1 - i;
    return 0;
}

/* flood_close releases what flood_open took (safe after a failed open). */
static inline void flood_close(flood_term *t)
{
    if (t->sock)
        zmq_close(t->sock);
    t->sock = NULL;
    free(t->slots);
    free(t->idle);
    free(t->body);
    t->body = NULL;
    t->slots = NULL;
    t->idle = NULL;
    arena_free(&t->arena);
}

static inline void *flood_main(void *arg)
{
    flood_term *t = arg;
    if (flood_open(t) == 0)
        flood_loop(t);
    /* Stay alive (and counted in /proc) until the phase's usage is read. */
    atomic_fetch_add(t->done, 1);
    for (int waited = 0; waited < 30000 && !atomic_load(t->release); waited += 5)
        bu_sleep_us(5000);
    flood_close(t);
    return NULL;
}

#endif
