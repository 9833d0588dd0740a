/* End to end: a worker's PACK (session 7), the replies and dispatches of
 * one commit as items packed into one frame (proto/PROTOCOL.md §6). What
 * users notice: a worker sending PACKs (the default) gets every SUBMIT of
 * a burst answered FILED and every DISPATCH to every present member, with
 * no bad worker message. Then a fake worker sends hand-made PACKs: a good
 * one delivers every reply and dispatch in order; each malformed item is
 * skipped and counted, the items around it acted on; a malformed ITEMS
 * frame (no items, a length cut short or past the frame, bytes after the
 * last item, too many items) or a PACK whose body is not a map is dropped
 * whole — nothing of it delivered — and counted once; a PACK of the wrong
 * shape is refused as a malformed message. The old three-frame BATCH still
 * works, a PACK on intake is refused, and after hundreds of random PACKs
 * the broker is alive, in step, and the service files and dispatches. */
#include "../common/clock.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define TEAM "heping-g1-team"
#define RAW_TEAM "pack-test-team"
#define BURST 40

static void *ctx;
static client *term;
static client_listener *l[2];

static void *dealer(const char *ep, const char *id)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, timeout = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (id)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
    zmq_connect(s, ep);
    return s;
}

static void send_frames(void *s, const void *const *parts, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        zmq_send(s, parts[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0);
}

/* Sends "GL/1" "PACK" body items from the fake worker. */
static void send_pack(void *s, const char *body, const void *items, size_t len)
{
    send_frames(s, (const void *[]){"GL/1", "PACK", body, items},
                (size_t[]){4, 4, strlen(body), len}, 4);
}

/* Receives one whole message: its command in cmd, its last frame in body;
 * the frame count, or -1 for none within the socket's timeout. */
static int recv_msg(void *s, char *cmd, size_t cmdlen, char *body, size_t bodylen, size_t *blen)
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
static int next_is(void *s, const char *cmd, const void *body, size_t len)
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
static uint64_t counter(const char *name)
{
    gl_arena a = {0};
    proto_msg m;
    uint64_t v = UINT64_MAX;
    if (client_status(term, &m, &a) == 0 && m.broker_figures) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, m.broker_figures, m.broker_figures_len, NULL) ==
                MSGPACK_UNPACK_SUCCESS &&
            u.data.type == MSGPACK_OBJECT_MAP) {
            const msgpack_object_map *top = &u.data.via.map;
            for (uint32_t i = 0; i < top->size; i++) {
                const msgpack_object_kv *kv = &top->ptr[i];
                if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size != 8 ||
                    memcmp(kv->key.via.str.ptr, "counters", 8) != 0 ||
                    kv->val.type != MSGPACK_OBJECT_MAP)
                    continue;
                for (uint32_t k = 0; k < kv->val.via.map.size; k++) {
                    const msgpack_object_kv *c = &kv->val.via.map.ptr[k];
                    if (c->key.type == MSGPACK_OBJECT_STR && c->key.via.str.size == strlen(name) &&
                        memcmp(c->key.via.str.ptr, name, strlen(name)) == 0 &&
                        c->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                        v = c->val.via.u64;
                }
            }
        }
        msgpack_unpacked_destroy(&u);
    }
    arena_free(&a);
    return v;
}

/* Reads the listeners for ms, keeping them present (heartbeats). */
static void pump(int ms)
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
static void settle(void)
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

static size_t pack_submit(char *out, size_t cap, const char *id, uint64_t rid)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "rid", 3);
    msgpack_pack_uint64(&pk, rid);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, id, strlen(id));
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "request", 7);
    msgpack_pack_str_with_body(&pk, "category", 8);
    msgpack_pack_str_with_body(&pk, "repair", 6);
    msgpack_pack_str_with_body(&pk, "grid", 4);
    msgpack_pack_str_with_body(&pk, "heping-g1", 9);
    msgpack_pack_str_with_body(&pk, "text", 4);
    msgpack_pack_str_with_body(&pk, "楼道灯坏了", strlen("楼道灯坏了"));
    size_t n = sb.size < cap ? sb.size : cap;
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

/* A burst of SUBMITs in flight at once from one raw terminal (so the
 * worker commits several per batch): how many were answered FILED, and
 * how many distinct events of the burst each listener got a DISPATCH of. */
static void burst(const char *ep, const char *prefix, int *filed, int heard[2])
{
    void *s = dealer(ep, NULL);
    for (int i = 0; i < BURST; i++) {
        char id[64], body[512];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        size_t len = pack_submit(body, sizeof body, id, (uint64_t)i + 1);
        send_frames(s, (const void *[]){"GL/1", "SUBMIT", body}, (size_t[]){4, 6, len}, 3);
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

static size_t pack_map_str(char *out, size_t cap, const char *key, const char *val, size_t vlen)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, key, strlen(key));
    msgpack_pack_str_with_body(&pk, val, vlen);
    size_t n = sb.size < cap ? sb.size : cap;
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

static size_t pack_done_header(char *out, size_t cap, uint64_t job, const char *client_id,
                               int with_client)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, with_client ? 3 : 2);
    msgpack_pack_str_with_body(&pk, "job", 3);
    msgpack_pack_uint64(&pk, job);
    if (with_client) {
        msgpack_pack_str_with_body(&pk, "client", 6);
        msgpack_pack_bin_with_body(&pk, client_id, strlen(client_id));
    }
    msgpack_pack_str_with_body(&pk, "origin", 6);
    msgpack_pack_str_with_body(&pk, "intake", 6);
    size_t n = sb.size < cap ? sb.size : cap;
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

/* An ITEMS frame being built, as PROTOCOL.md §6 spells it: per item a
 * 4-byte big-endian header length, the header, a 1-byte command length,
 * the command, a 4-byte big-endian body length, the body. */
typedef struct items {
    unsigned char *p;
    size_t len, cap;
} items;

static void put_u32(items *it, uint32_t n)
{
    unsigned char b[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    memcpy(it->p + it->len, b, 4);
    it->len += 4;
}

static void item(items *it, const void *hdr, size_t hl, const char *cmd, const void *body,
                 size_t bl)
{
    size_t need = it->len + 9 + hl + strlen(cmd) + bl;
    if (need > it->cap) {
        it->cap = need * 2;
        it->p = realloc(it->p, it->cap);
        if (!it->p)
            abort();
    }
    put_u32(it, (uint32_t)hl);
    memcpy(it->p + it->len, hdr, hl);
    it->len += hl;
    it->p[it->len++] = (unsigned char)strlen(cmd);
    memcpy(it->p + it->len, cmd, strlen(cmd));
    it->len += strlen(cmd);
    put_u32(it, (uint32_t)bl);
    if (bl)
        memcpy(it->p + it->len, body, bl);
    it->len += bl;
}

int main(void)
{
    tl_env env;
    tl_setup(&env, "packmsg");
    pid_t b = tl_broker(&env, NULL);
    pid_t w1 = tl_worker(&env, "w1", NULL);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! service did not come up\n");
        return 1;
    }
    ctx = zmq_ctx_new();
    client_open(&term, env.intake, NULL, NULL, 0);
    client_listen_open(&l[0], env.responders, TEAM, "member-a", NULL, NULL, 0);
    client_listen_open(&l[1], env.responders, TEAM, "member-b", NULL, NULL, 0);
    if (!term || !l[0] || !l[1]) {
        printf("Bail out! cannot connect\n");
        return 1;
    }

    /* 1. A worker sending PACKs (the default). */
    settle();
    uint64_t completed0 = counter("completed"), deliveries0 = counter("deliveries");
    uint64_t bad0 = counter("bad_worker_messages");
    int filed, heard[2];
    burst(env.intake, "packed", &filed, heard);
    is_int(filed, BURST, "PACK: every SUBMIT of a burst of %d is answered FILED", BURST);
    ok(heard[0] == BURST && heard[1] == BURST,
       "PACK: both members of the team get every DISPATCH (%d, %d)", heard[0], heard[1]);
    is_int((long)(counter("completed") - completed0), BURST, "PACK: STATUS counts %d completed",
           BURST);
    is_int((long)(counter("deliveries") - deliveries0), BURST,
           "PACK: STATUS counts %d deliveries (one team per event)", BURST);
    is_int((long)(counter("bad_worker_messages") - bad0), 0,
           "the worker's PACKs have no bad item");

    /* 2. A fake worker's hand-made PACKs to a raw responder and terminal. */
    void *fake = dealer(env.workers, NULL);
    void *resp = dealer(env.responders, NULL);
    void *cli = dealer(env.intake, "pack-client");
    char hello[128], cmd[32], buf[256];
    size_t hl, blen;
    {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "team", 4);
        msgpack_pack_str_with_body(&pk, RAW_TEAM, strlen(RAW_TEAM));
        msgpack_pack_str_with_body(&pk, "member", 6);
        msgpack_pack_str_with_body(&pk, "raw", 3);
        memcpy(hello, sb.data, sb.size);
        hl = sb.size;
        msgpack_sbuffer_destroy(&sb);
    }
    send_frames(resp, (const void *[]){"GL/1", "HELLO", hello}, (size_t[]){4, 5, hl}, 3);
    recv_msg(resp, cmd, sizeof cmd, buf, sizeof buf, &blen);
    is_str(cmd, "WELCOME", "raw responder is welcomed");
    send_frames(cli, (const void *[]){"GL/1", "PING", "\x80"}, (size_t[]){4, 4, 1}, 3);
    recv_msg(cli, cmd, sizeof cmd, buf, sizeof buf, &blen);
    is_str(cmd, "PONG", "raw terminal is known to the broker");

    char team_hdr[64], long_hdr[128], done_hdr[128], noclient_hdr[128];
    size_t th = pack_map_str(team_hdr, sizeof team_hdr, "team", RAW_TEAM, strlen(RAW_TEAM));
    char longteam[90];
    memset(longteam, 'a', sizeof longteam);
    size_t lh = pack_map_str(long_hdr, sizeof long_hdr, "team", longteam, 90);
    size_t dh = pack_done_header(done_hdr, sizeof done_hdr, 999999, "pack-client", 1);
    size_t nh = pack_done_header(noclient_hdr, sizeof noclient_hdr, 999998, "pack-client", 0);
    static char huge[70000];
    memset(huge, 0x80, sizeof huge);
    const char *body_a = "\x81\xa4note\xa1" "A", *body_b = "\x81\xa4note\xa1" "B",
               *body_c = "\x81\xa4note\xa1" "C", *body_d = "\x81\xa4note\xa1" "D";

    /* A good PACK: a reply and two deliveries, each where it belongs, the
     * deliveries in their order. */
    items it = {0};
    item(&it, done_hdr, dh, "FILED", body_b, 8);
    item(&it, team_hdr, th, "DISPATCH", body_a, 8);
    item(&it, team_hdr, th, "NOTICE", body_c, 8);
    uint64_t bad1 = counter("bad_worker_messages"), deliv1 = counter("deliveries");
    send_pack(fake, "\x80", it.p, it.len);
    ok(next_is(cli, "FILED", body_b, 8), "PACK: the reply reaches its terminal");
    ok(next_is(resp, "DISPATCH", body_a, 8), "PACK: the DISPATCH reaches the team's member");
    ok(next_is(resp, "NOTICE", body_c, 8), "PACK: then the NOTICE, in the items' order");
    is_int((long)(counter("deliveries") - deliv1), 2, "PACK: STATUS counts its 2 deliveries");
    is_int((long)(counter("bad_worker_messages") - bad1), 0, "and no bad worker message");

    /* Malformed items around good ones: each skipped and counted. */
    it.len = 0;
    item(&it, team_hdr, th, "DISPATCH", body_a, 8);        /* good */
    item(&it, "\xc1", 1, "DISPATCH", "\x80", 1);           /* header not msgpack */
    item(&it, team_hdr, th, "EXPLODE", "\x80", 1);         /* unknown command */
    item(&it, team_hdr, th, "", "\x80", 1);                /* empty command */
    item(&it, noclient_hdr, nh, "FILED", "\x80", 1);       /* DONE without client */
    item(&it, long_hdr, lh, "NOTICE", "\x80", 1);          /* team too long */
    item(&it, team_hdr, th, "DISPATCH", huge, sizeof huge); /* body too large */
    item(&it, team_hdr, th, "DISPATCH", "\xa1x", 2);       /* body not a map */
    item(&it, team_hdr, th, "NOTICE", "", 0);              /* body empty */
    item(&it, done_hdr, dh, "FILED", body_b, 8);           /* good */
    item(&it, team_hdr, th, "NOTICE", body_c, 8);          /* good */
    bad1 = counter("bad_worker_messages");
    send_pack(fake, "\x80", it.p, it.len);
    ok(next_is(resp, "DISPATCH", body_a, 8), "PACK: the good DISPATCH before the bad items arrives");
    ok(next_is(resp, "NOTICE", body_c, 8), "PACK: then the good NOTICE after them");
    ok(next_is(cli, "FILED", body_b, 8), "PACK: the good reply reaches its terminal");
    is_int((long)(counter("bad_worker_messages") - bad1), 8,
           "PACK: each of the 8 bad items counts as a bad worker message");

    /* Malformed ITEMS frames, and a body that is not a map: dropped whole,
     * each counted once; each holds a good DISPATCH of body_d that must
     * never arrive. */
    items good = {0};
    item(&good, team_hdr, th, "DISPATCH", body_d, 8);
    unsigned char frame[256];
    int sent = 0;
    bad1 = counter("bad_worker_messages");
    deliv1 = counter("deliveries");
    send_pack(fake, "\x80", "", 0); /* zero items */
    sent++;
    send_pack(fake, "\x80", "\x00\x00", 2); /* a header length cut short */
    sent++;
    memcpy(frame, good.p, good.len);
    send_pack(fake, "\x80", frame, good.len - 3); /* the body cut short */
    sent++;
    memcpy(frame, good.p, good.len);
    frame[3] = (unsigned char)(th + 100); /* header length past the frame */
    send_pack(fake, "\x80", frame, good.len);
    sent++;
    memcpy(frame, good.p, good.len);
    frame[good.len - 9] = 9; /* body length one past the frame */
    send_pack(fake, "\x80", frame, good.len);
    sent++;
    memcpy(frame, good.p, good.len);
    frame[0] = 0xff; /* a header length of ~4 GB */
    send_pack(fake, "\x80", frame, good.len);
    sent++;
    memcpy(frame, good.p, good.len);
    frame[good.len] = 0; /* a byte after the last item */
    send_pack(fake, "\x80", frame, good.len + 1);
    sent++;
    memcpy(frame, good.p, good.len);
    memcpy(frame + good.len, good.p, 7); /* a good item, then one cut short */
    send_pack(fake, "\x80", frame, good.len + 7);
    sent++;
    send_pack(fake, "\xc1", good.p, good.len); /* a body that is not msgpack */
    sent++;
    send_pack(fake, "\x91\x01", good.p, good.len); /* a body that is an array */
    sent++;
    items many = {0};
    for (int i = 0; i < 1025; i++)
        item(&many, team_hdr, th, "DISPATCH", body_d, 8);
    send_pack(fake, "\x80", many.p, many.len); /* too many items */
    sent++;
    /* Then a good one: the next message the member gets. */
    it.len = 0;
    item(&it, team_hdr, th, "NOTICE", body_c, 8);
    send_pack(fake, "\x80", it.p, it.len);
    ok(next_is(resp, "NOTICE", body_c, 8),
       "no malformed PACK delivers anything; the good one after them is acted on");
    is_int((long)(counter("bad_worker_messages") - bad1), sent,
           "each of the %d malformed PACKs counts once as a bad worker message", sent);
    is_int((long)(counter("deliveries") - deliv1), 1, "and only the good one's delivery is counted");

    /* A PACK of the wrong shape is a malformed message, counted as bad
     * input like any other: without its ITEMS frame, with a frame too
     * many, with an ITEMS frame over 2 MiB. */
    uint64_t badin = counter("bad_input");
    bad1 = counter("bad_worker_messages");
    send_frames(fake, (const void *[]){"GL/1", "PACK", "\x80"}, (size_t[]){4, 4, 1}, 3);
    send_frames(fake, (const void *[]){"GL/1", "PACK", "\x80", good.p, good.p},
                (size_t[]){4, 4, 1, good.len, good.len}, 5);
    size_t big_len = (2u << 20) + 1;
    char *big = calloc(1, big_len);
    send_pack(fake, "\x80", big, big_len);
    free(big);
    send_pack(fake, "\x80", it.p, it.len);
    ok(next_is(resp, "NOTICE", body_c, 8), "a PACK of the wrong shape delivers nothing");
    is_int((long)(counter("bad_input") - badin), 3, "the 3 PACKs of the wrong shape are refused");
    is_int((long)(counter("bad_worker_messages") - bad1), 0, "(not as bad worker messages)");

    /* 3. The old three-frame BATCH still works. */
    deliv1 = counter("deliveries");
    send_frames(fake,
                (const void *[]){"GL/1", "BATCH", "\x80", done_hdr, "FILED", body_b, team_hdr,
                                 "DISPATCH", body_a},
                (size_t[]){4, 5, 1, dh, 5, 8, th, 8, 8}, 9);
    ok(next_is(cli, "FILED", body_b, 8), "BATCH: its reply reaches its terminal");
    ok(next_is(resp, "DISPATCH", body_a, 8), "BATCH: its DISPATCH reaches the member");
    is_int((long)(counter("deliveries") - deliv1), 1, "BATCH: its delivery is counted");

    /* 4. A PACK is a worker's message: on intake it is refused, not acted
     * on, and the terminal's next request is answered in step. */
    it.len = 0;
    item(&it, done_hdr, dh, "FILED", body_b, 8);
    send_pack(cli, "\x80", it.p, it.len);
    recv_msg(cli, cmd, sizeof cmd, buf, sizeof buf, &blen);
    is_str(cmd, "ERROR", "a PACK on intake gets an ERROR");
    send_frames(cli, (const void *[]){"GL/1", "PING", "\x80"}, (size_t[]){4, 4, 1}, 3);
    recv_msg(cli, cmd, sizeof cmd, buf, sizeof buf, &blen);
    is_str(cmd, "PONG", "and its items are not acted on: the next reply is the PING's");

    /* 5. Random PACKs: random bytes, and good frames with random bytes
     * changed. */
    srand(7);
    it.len = 0;
    item(&it, done_hdr, dh, "FILED", body_b, 8);
    item(&it, team_hdr, th, "DISPATCH", body_a, 8);
    item(&it, team_hdr, th, "NOTICE", body_c, 8);
    static unsigned char junk[512];
    for (int i = 0; i < 300; i++) {
        size_t n;
        if (i % 2) {
            n = (size_t)(rand() % 200);
            for (size_t k = 0; k < n; k++)
                junk[k] = (unsigned char)rand();
        } else {
            n = it.len;
            memcpy(junk, it.p, n);
            for (int k = 0; k < 1 + rand() % 4; k++)
                junk[(size_t)rand() % n] = (unsigned char)rand();
            if (rand() % 4 == 0)
                n = (size_t)rand() % n;
        }
        send_pack(fake, "\x80", junk, n);
    }
    it.len = 0;
    item(&it, team_hdr, th, "DISPATCH", body_d, 8);
    send_pack(fake, "\x80", it.p, it.len);
    int found = 0;
    for (int i = 0; i < 1000 && !found; i++) {
        if (recv_msg(resp, cmd, sizeof cmd, buf, sizeof buf, &blen) < 0)
            break;
        found = strcmp(cmd, "DISPATCH") == 0 && blen == 8 && memcmp(buf, body_d, 8) == 0;
    }
    ok(found, "after 300 random PACKs a good one is still acted on");
    ok(tl_alive(b) && tl_alive(w1), "broker and worker are still running");

    /* The service still files and dispatches (the listeners, silent
     * meanwhile, may have been dropped: they say HELLO again). */
    client_listen_close(&l[0]);
    client_listen_close(&l[1]);
    client_listen_open(&l[0], env.responders, TEAM, "member-a", NULL, NULL, 0);
    client_listen_open(&l[1], env.responders, TEAM, "member-b", NULL, NULL, 0);
    burst(env.intake, "after", &filed, heard);
    ok(filed == BURST && heard[0] == BURST && heard[1] == BURST,
       "the service files and dispatches afterwards (%d filed, %d and %d dispatches)", filed,
       heard[0], heard[1]);

    free(it.p);
    free(good.p);
    free(many.p);
    zmq_close(fake);
    zmq_close(resp);
    zmq_close(cli);
    client_listen_close(&l[0]);
    client_listen_close(&l[1]);
    client_close(&term);
    zmq_ctx_term(ctx);
    return done_testing();
}
