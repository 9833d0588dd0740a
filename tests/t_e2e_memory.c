/* End to end: the broker's memory under overload (issue 7: "no growth of
 * RSS under overload").
 *
 * Part 1 (sustained BUSY): a broker whose routine lane (--max-queue 50) is
 * full and has no worker. Eight terminals send 500 routine SUBMITs each per
 * round, twelve rounds: every one is answered BUSY, and the broker's
 * anonymous RSS, read from /proc after each round, stays flat from the
 * third round on (the first rounds take ZeroMQ's per-connection buffers to
 * their size). A refusal that left anything behind would show: 48,000 of
 * them.
 *
 * Part 2 (a burst given back): a broker with room for a burst takes 8,000
 * SUBMITs of 3 KB (about 30 MB waiting in its lane), then a worker files
 * them all. Once the lane is empty the broker's anonymous RSS must come back
 * down at least two thirds of the way to where it was before the burst: the
 * heap's free pages are given back (--memory-trim-ms), and few finished
 * jobs are kept for reuse, each of which would hold a page of the burst's
 * (about 3 MiB stay; 33 MiB without the trims, 16 MiB with 4096 jobs kept).
 *
 * A negative --memory-trim-ms is refused at start.
 *
 * Under a sanitizer build the allocator is the sanitizer's (freed memory
 * waits in a quarantine): the replies are checked, the memory figures only
 * reported. */
#include "../common/proc_status.h"
#include "../proto/frame.h"
#include "support/raw.h"
#include "support/testlib.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define LANE_MAX 50
#define TERMINALS 8
#define PER_ROUND 500
#define ROUNDS 12
#define FLAT_SLACK_KIB 3072 /* 3 MiB over ten rounds: generous */
#define BURST 8000
#define BURST_TEXT 3000

static tl_env env;
static gl_arena arena;
static void *zctx;

/* Waits (at most timeout_ms) for a PONG on sock after sending a PING: the
 * broker reads a connection's messages in order, so everything sent before
 * has been read. 0 or -1. */
static int ping_through(void *sock, uint64_t rid, int timeout_ms)
{
    proto_msg m, r;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_PING;
    m.rid = rid;
    if (frame_send_msg(sock, NULL, 0, &m, 0) != 0)
        return -1;
    for (int waited = 0; waited < timeout_ms;) {
        int cmd = raw_recv(sock, 100, &r, &arena);
        if (cmd == PROTO_PONG && r.rid == rid)
            return 0;
        if (cmd == PROTO_NONE)
            waited += 100;
    }
    return -1;
}

static void part_busy(void)
{
    char lane[16];
    snprintf(lane, sizeof lane, "%d", LANE_MAX);
    const char *const bx[] = {"--max-queue", lane, "--memory-trim-ms", "200", NULL};
    pid_t b = tl_broker(&env, bx);
    if (tl_wait_ready(&env, 10000) != 0) {
        printf("Bail out! the broker did not come up\n");
        exit(1);
    }
    void *held = raw_open(zctx, env.intake);
    for (int i = 0; i < LANE_MAX; i++) {
        char id[32];
        snprintf(id, sizeof id, "mem-held-%d", i);
        raw_submit(held, (uint64_t)(i + 1), id, GL_KIND_REQUEST, "repair", NULL);
    }
    ok(ping_through(held, 999999, 5000) == 0, "%d routine submits fill the lane (no worker)",
       LANE_MAX);

    void *term[TERMINALS];
    for (int t = 0; t < TERMINALS; t++)
        term[t] = raw_open(zctx, env.intake);
    long rss[ROUNDS];
    uint64_t busy = 0, other = 0, sent = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int t = 0; t < TERMINALS; t++)
            for (int i = 0; i < PER_ROUND; i++) {
                char id[48];
                snprintf(id, sizeof id, "mem-r%02d-t%d-%03d", round, t, i);
                raw_submit(term[t], ++sent, id, i % 5 ? GL_KIND_REQUEST : GL_KIND_FEEDBACK,
                           i % 5 ? "repair" : "elevator",
                           "楼道灯坏了，晚上很黑，老人上下楼不方便，请尽快派人维修。");
            }
        uint64_t want = (uint64_t)(round + 1) * TERMINALS * PER_ROUND;
        for (int waited = 0; busy + other < want && waited < 15000;) {
            int got = 0;
            for (int t = 0; t < TERMINALS; t++) {
                proto_msg r;
                int cmd;
                while ((cmd = raw_recv(term[t], 0, &r, &arena)) != PROTO_NONE) {
                    got = 1;
                    if (cmd == PROTO_BUSY)
                        busy++;
                    else
                        other++;
                }
            }
            if (!got) {
                tl_sleep_ms(10);
                waited += 10;
            }
        }
        tl_sleep_ms(300); /* a trim or so */
        rss[round] = gl_proc_status_kb(b, "RssAnon");
    }
    is_int((long)busy, (long)ROUNDS * TERMINALS * PER_ROUND,
           "%d rounds of %d routine submits from %d terminals are all answered BUSY", ROUNDS,
           PER_ROUND, TERMINALS);
    is_int((long)other, 0, "and nothing else");
    ok(tl_alive(b), "the broker is alive after %d BUSY replies", ROUNDS * TERMINALS * PER_ROUND);

    long lo = rss[2], hi = rss[2];
    char line[16 * ROUNDS], *p = line;
    for (int round = 0; round < ROUNDS; round++) {
        p += snprintf(p, (size_t)(line + sizeof line - p), " %.1f", (double)rss[round] / 1024.0);
        if (round >= 2 && rss[round] > hi)
            hi = rss[round];
        if (round >= 2 && rss[round] < lo)
            lo = rss[round];
    }
    diag("broker anonymous RSS after each round, MiB:%s", line);
    if (SANITIZED)
        ok(1, "memory figures # SKIP sanitizer build: its allocator keeps freed memory in a quarantine");
    else
        ok(lo > 0 && hi - rss[2] <= FLAT_SLACK_KIB && rss[ROUNDS - 1] - rss[2] <= FLAT_SLACK_KIB,
           "its anonymous RSS stays flat from round 3 to %d (%.1f MiB, at most +%.1f MiB; "
           "slack %d MiB)",
           ROUNDS, (double)rss[2] / 1024.0, (double)(hi - rss[2]) / 1024.0,
           FLAT_SLACK_KIB / 1024);
    for (int t = 0; t < TERMINALS; t++)
        zmq_close(term[t]);
    zmq_close(held);
    is_int(tl_stop(b), 0, "the broker stops cleanly");
}

static void part_burst(void)
{
    const char *const bx[] = {"--max-queue", "20000", "--max-queue-bytes", "268435456",
                              "--memory-trim-ms", "200", NULL};
    pid_t b = tl_broker(&env, bx);
    if (tl_wait_ready(&env, 10000) != 0) {
        printf("Bail out! the broker did not come up\n");
        exit(1);
    }
    void *sock = raw_open(zctx, env.intake);
    ping_through(sock, 1, 5000);
    tl_sleep_ms(300);
    long before = gl_proc_status_kb(b, "RssAnon");
    static char text[BURST_TEXT + 1];
    memset(text, 'x', BURST_TEXT);
    for (int i = 0; i < BURST; i++) {
        char id[32];
        snprintf(id, sizeof id, "mem-burst-%05d", i);
        raw_submit(sock, (uint64_t)(i + 10), id, GL_KIND_REQUEST, "repair", text);
    }
    ok(ping_through(sock, 2, 20000) == 0, "a burst of %d SUBMITs of %d bytes waits in the lane",
       BURST, BURST_TEXT);
    long full = gl_proc_status_kb(b, "RssAnon");
    diag("broker anonymous RSS: %.1f MiB before the burst, %.1f MiB with it waiting",
         (double)before / 1024.0, (double)full / 1024.0);

    pid_t w = tl_worker(&env, "w1", NULL);
    long filed = 0, other = 0;
    for (int waited = 0; filed + other < BURST && waited < 60000;) {
        proto_msg r;
        int cmd = raw_recv(sock, 100, &r, &arena);
        if (cmd == PROTO_FILED)
            filed++;
        else if (cmd != PROTO_NONE)
            other++;
        else
            waited += 100;
    }
    is_int(filed, BURST, "a worker files all %d", BURST);
    long after = full;
    for (int waited = 0; waited < 5000; waited += 100) {
        tl_sleep_ms(100);
        after = gl_proc_status_kb(b, "RssAnon");
        if (after <= before + (full - before) / 3)
            break;
    }
    diag("and %.1f MiB once they are filed", (double)after / 1024.0);
    if (SANITIZED)
        ok(1, "memory figures # SKIP sanitizer build: its allocator keeps freed memory in a quarantine");
    else
        ok(full - before > 16 * 1024 && after <= before + (full - before) / 3,
           "the broker gives the burst's memory back: %.1f -> %.1f -> %.1f MiB",
           (double)before / 1024.0, (double)full / 1024.0, (double)after / 1024.0);
    zmq_close(sock);
    tl_stop(w);
    is_int(tl_stop(b), 0, "the broker stops cleanly");
}

/* A negative interval is refused at start, before anything is bound. */
static void part_bad_option(void)
{
    char out[256];
    const char *argv[] = {"gridline-broker", "--intake", env.intake, "--workers", env.workers,
                          "--responders", env.responders, "--memory-trim-ms", "-5", NULL};
    is_int(tl_run(&env, "gridline-broker", argv, out, sizeof out, 10000), 2,
           "--memory-trim-ms -5 is refused (exit 2)");
}

int main(void)
{
    tl_setup(&env, "e2e-memory");
    zctx = zmq_ctx_new();
    part_bad_option();
    part_busy();
    part_burst();
    zmq_ctx_term(zctx);
    arena_free(&arena);
    return done_testing();
}
