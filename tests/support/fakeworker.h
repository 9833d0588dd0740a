/* fakeworker.h — for the end-to-end tests of what a worker sends the
 * broker in one message (t_e2e_batchmsg: BATCH; t_e2e_packmsg: PACK): raw
 * DEALER sockets that play a worker or a terminal, a burst of SUBMITs
 * through the real worker, the broker's STATUS counters, and msgpack
 * bodies built by hand (those the jobpack tests share too are in
 * jobpack_support.h). The including test owns the globals below: the
 * ZeroMQ context, a terminal (client API) and two listeners of TEAM, and
 * defines BURST (SUBMITs in a burst) before including this. */
#ifndef GL_TESTS_FAKEWORKER_H
#define GL_TESTS_FAKEWORKER_H

#include "../../common/clock.h"
#include "../../proto/client.h"
#include "../tap.h"
#include "jobpack_support.h"
#include "testlib.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#ifndef BURST
#error "define BURST before including fakeworker.h"
#endif

#define TEAM "heping-g1-team"

static void *ctx;
static client *term;
static client_listener *l[2];

/* dealer: a DEALER of ctx to ep (named id, unless NULL), receives timing
 * out after 5 s. */
static inline void *dealer(const char *ep, const char *id)
{
    return jp_dealer(ctx, ep, id, 5000);
}

/* Receives one whole message: its command in cmd, its last frame in body;
 * the frame count, or -1 for none within the socket's timeout. */
static inline int recv_msg(void *s, char *cmd, size_t cmdlen, char *body, size_t bodylen, size_t *blen)
{
    int n = 0, more = 1;
    cmd[0] = '\0';
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s, 0) < 0) {
            zmq_msg_close(&part);
            return n ? n : -1;
        }
        size_t len = zmq_msg_size(&part);
        if (n == 1)
            snprintf(cmd, cmdlen, "%.*s", (int)len, (const char *)zmq_msg_data(&part));
        if (len <= bodylen) {
            memcpy(body, zmq_msg_data(&part), len);
            *blen = len;
        }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
        n++;
    }
    return n;
}

/* The next message on s is cmd with exactly body. */
static inline int next_is(void *s, const char *cmd, const void *body, size_t len)
{
    char got[32], buf[256];
    size_t blen = 0;
    if (recv_msg(s, got, sizeof got, buf, sizeof buf, &blen) < 0) {
        diag("nothing arrived, %s expected", cmd);
        return 0;
    }
    if (strcmp(got, cmd) != 0 || blen != len || memcmp(buf, body, len) != 0) {
        diag("%s arrived, %s expected", got, cmd);
        return 0;
    }
    return 1;
}

/* The broker's counter name from STATUS, or UINT64_MAX. */
static inline uint64_t counter(const char *name)
{
    gl_arena a = {0};
    proto_msg m;
    char path[96];
    uint64_t v = UINT64_MAX;
    snprintf(path, sizeof path, "counters.%s", name);
    if (client_status(term, &m, &a) == 0)
        v = jp_figure(m.broker_figures, m.broker_figures_len, path);
    arena_free(&a);
    return v;
}

/* Reads the listeners for ms, keeping them present (heartbeats). */
static inline void pump(int ms)
{
    gl_arena a = {0};
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    for (int i = 0; i < 100000 && clock_mono_ms() < until; i++) {
        proto_msg m;
        client_listen_next(l[i % 2], 20, &m, &a);
        arena_reset(&a);
    }
    arena_free(&a);
}

/* Waits (at most 10 s) until completed and deliveries stay the same for
 * half a second: resends of pending dispatches by a starting worker done. */
static inline void settle(void)
{
    uint64_t c = counter("completed"), d = counter("deliveries");
    for (int i = 0; i < 20; i++) {
        pump(500);
        uint64_t c2 = counter("completed"), d2 = counter("deliveries");
        if (c2 == c && d2 == d)
            return;
        c = c2;
        d = d2;
    }
}

/* A burst of SUBMITs in flight at once from one raw terminal (so the
 * worker commits several per batch): how many were answered FILED, and
 * how many distinct events of the burst each listener got a DISPATCH of. */
static inline void burst(const char *ep, const char *prefix, int *filed, int heard[2])
{
    void *s = dealer(ep, NULL);
    for (int i = 0; i < BURST; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        jp_send_submit(s, id, "request", "楼道灯坏了", (uint64_t)i + 1);
    }
    *filed = 0;
    for (int i = 0; i < BURST; i++) {
        char cmd[32], body[4096];
        size_t blen = 0;
        if (recv_msg(s, cmd, sizeof cmd, body, sizeof body, &blen) < 0)
            break;
        *filed += strcmp(cmd, "FILED") == 0;
    }
    zmq_close(s);
    for (int k = 0; k < 2; k++) {
        char seen[BURST] = {0};
        heard[k] = 0;
        gl_arena a = {0};
        uint64_t until = clock_mono_ms() + 10000;
        for (int n = 0; n < 100000 && heard[k] < BURST && clock_mono_ms() < until; n++) {
            proto_msg m;
            int i;
            if (client_listen_next(l[k], 100, &m, &a) == 0 && m.cmd == PROTO_DISPATCH && m.event &&
                strncmp(m.event, prefix, strlen(prefix)) == 0 && m.event[strlen(prefix)] == '-' &&
                (i = atoi(m.event + strlen(prefix) + 1)) >= 0 && i < BURST && !seen[i]) {
                seen[i] = 1;
                heard[k]++;
            }
            arena_reset(&a);
        }
        if (heard[k] < BURST)
            diag("%s: listener %d heard %d of %d", prefix, k, heard[k], BURST);
        arena_free(&a);
    }
}

static inline size_t pack_map_str(char *out, size_t cap, const char *key, const char *val, size_t vlen)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, key, strlen(key));
    msgpack_pack_str_with_body(&pk, val, vlen);
    return jp_take(&sb, out, cap);
}

/* fakeworker_start sets up env (named name), starts the broker and a
 * worker w1 (*broker, *worker), the context, the terminal and the two
 * listeners of TEAM; 0, or -1 after printing "Bail out!". */
static inline int fakeworker_start(tl_env *env, const char *name, pid_t *broker, pid_t *worker)
{
    tl_setup(env, name);
    *broker = tl_broker(env, NULL);
    *worker = tl_worker(env, "w1", NULL);
    if (tl_wait_workers(env, 10000) != 0) {
        printf("Bail out! service did not come up\n");
        return -1;
    }
    ctx = zmq_ctx_new();
    client_open(&term, env->intake, NULL, NULL, 0);
    client_listen_open(&l[0], env->responders, TEAM, "member-a", NULL, NULL, 0);
    client_listen_open(&l[1], env->responders, TEAM, "member-b", NULL, NULL, 0);
    if (!term || !l[0] || !l[1]) {
        printf("Bail out! cannot connect\n");
        return -1;
    }
    return 0;
}


/* fakeworker_dispatch_arrives reads s (a responder's raw socket) for at
 * most tries messages until a DISPATCH whose body is exactly body[0..len)
 * arrives: 1, or 0 when none did. */
static inline int fakeworker_dispatch_arrives(void *s, const void *body, size_t len, int tries)
{
    char cmd[32], buf[4096];
    size_t blen = 0;
    for (int i = 0; i < tries; i++) {
        if (recv_msg(s, cmd, sizeof cmd, buf, sizeof buf, &blen) < 0)
            return 0;
        if (strcmp(cmd, "DISPATCH") == 0 && blen == len && memcmp(buf, body, len) == 0)
            return 1;
    }
    return 0;
}

/* fakeworker_serves checks the service still files and dispatches: the
 * listeners (silent meanwhile, so perhaps dropped) say HELLO again, and a
 * burst of BURST SUBMITs must be FILED and reach both. */
static inline void fakeworker_serves(tl_env *env)
{
    int filed, heard[2];
    client_listen_close(&l[0]);
    client_listen_close(&l[1]);
    client_listen_open(&l[0], env->responders, TEAM, "member-a", NULL, NULL, 0);
    client_listen_open(&l[1], env->responders, TEAM, "member-b", NULL, NULL, 0);
    burst(env->intake, "after", &filed, heard);
    ok(filed == BURST && heard[0] == BURST && heard[1] == BURST,
       "the service files and dispatches afterwards (%d filed, %d and %d dispatches)", filed,
       heard[0], heard[1]);
}

#endif
