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

#define RAW_TEAM "pack-test-team"
#define BURST 40

#include "support/fakeworker.h"

/* Sends "GL/1" "PACK" body items from the fake worker. */
static void send_pack(void *s, const char *body, const void *items, size_t len)
{
    send_frames(s, (const void *[]){"GL/1", "PACK", body, items},
                (size_t[]){4, 4, strlen(body), len}, 4);
}

int main(void)
{
    tl_env env;
    pid_t b, w1;
    if (fakeworker_start(&env, "packmsg", &b, &w1) != 0)
        return 1;

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
    size_t dh = jp_header(done_hdr, sizeof done_hdr, 999999, "pack-client", 1, NULL);
    size_t nh = jp_header(noclient_hdr, sizeof noclient_hdr, 999998, "pack-client", 0, NULL);
    static char huge[70000];
    memset(huge, 0x80, sizeof huge);
    const char *body_a = "\x81\xa4note\xa1" "A", *body_b = "\x81\xa4note\xa1" "B",
               *body_c = "\x81\xa4note\xa1" "C", *body_d = "\x81\xa4note\xa1" "D";

    /* A good PACK: a reply and two deliveries, each where it belongs, the
     * deliveries in their order. */
    jp_items it = {0};
    jp_item(&it, done_hdr, dh, "FILED", body_b, 8);
    jp_item(&it, team_hdr, th, "DISPATCH", body_a, 8);
    jp_item(&it, team_hdr, th, "NOTICE", body_c, 8);
    uint64_t bad1 = counter("bad_worker_messages"), deliv1 = counter("deliveries");
    send_pack(fake, "\x80", it.p, it.len);
    ok(next_is(cli, "FILED", body_b, 8), "PACK: the reply reaches its terminal");
    ok(next_is(resp, "DISPATCH", body_a, 8), "PACK: the DISPATCH reaches the team's member");
    ok(next_is(resp, "NOTICE", body_c, 8), "PACK: then the NOTICE, in the items' order");
    is_int((long)(counter("deliveries") - deliv1), 2, "PACK: STATUS counts its 2 deliveries");
    is_int((long)(counter("bad_worker_messages") - bad1), 0, "and no bad worker message");

    /* Malformed items around good ones: each skipped and counted. */
    it.len = 0;
    jp_item(&it, team_hdr, th, "DISPATCH", body_a, 8);        /* good */
    jp_item(&it, "\xc1", 1, "DISPATCH", "\x80", 1);           /* header not msgpack */
    jp_item(&it, team_hdr, th, "EXPLODE", "\x80", 1);         /* unknown command */
    jp_item(&it, team_hdr, th, "", "\x80", 1);                /* empty command */
    jp_item(&it, noclient_hdr, nh, "FILED", "\x80", 1);       /* DONE without client */
    jp_item(&it, long_hdr, lh, "NOTICE", "\x80", 1);          /* team too long */
    jp_item(&it, team_hdr, th, "DISPATCH", huge, sizeof huge); /* body too large */
    jp_item(&it, team_hdr, th, "DISPATCH", "\xa1x", 2);       /* body not a map */
    jp_item(&it, team_hdr, th, "NOTICE", "", 0);              /* body empty */
    jp_item(&it, done_hdr, dh, "FILED", body_b, 8);           /* good */
    jp_item(&it, team_hdr, th, "NOTICE", body_c, 8);          /* good */
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
    jp_items good = {0};
    jp_item(&good, team_hdr, th, "DISPATCH", body_d, 8);
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
    jp_items many = {0};
    for (int i = 0; i < 1025; i++)
        jp_item(&many, team_hdr, th, "DISPATCH", body_d, 8);
    send_pack(fake, "\x80", many.p, many.len); /* too many items */
    sent++;
    /* Then a good one: the next message the member gets. */
    it.len = 0;
    jp_item(&it, team_hdr, th, "NOTICE", body_c, 8);
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
    jp_item(&it, done_hdr, dh, "FILED", body_b, 8);
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
    jp_item(&it, done_hdr, dh, "FILED", body_b, 8);
    jp_item(&it, team_hdr, th, "DISPATCH", body_a, 8);
    jp_item(&it, team_hdr, th, "NOTICE", body_c, 8);
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
    jp_item(&it, team_hdr, th, "DISPATCH", body_d, 8);
    send_pack(fake, "\x80", it.p, it.len);
    ok(fakeworker_dispatch_arrives(resp, body_d, 8, 1000), "after 300 random PACKs a good one is still acted on");
    ok(tl_alive(b) && tl_alive(w1), "broker and worker are still running");

    fakeworker_serves(&env);

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
