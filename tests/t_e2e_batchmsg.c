/* End to end: a worker's BATCH (issue 7), the replies and dispatches of one
 * commit in one message. What users notice is unchanged: every SUBMIT of a
 * burst is answered FILED, every present member of the team gets every
 * DISPATCH, and STATUS counts the same `completed` and `deliveries` as for
 * a worker sending DONE and DELIVER one by one (--single-messages). Then a
 * fake worker sends hand-made BATCHes: the good items are acted on in
 * order, each malformed one is skipped and counted as a bad worker
 * message, a BATCH with a bad body is dropped whole, one on intake is
 * refused without being acted on, and after hundreds of
 * random ones the broker is alive, in step, and the service files and
 * dispatches. */
#include "../common/clock.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define BURST 40

#include "support/fakeworker.h"

int main(void)
{
    tl_env env;
    pid_t b, w1;
    if (fakeworker_start(&env, "batchmsg", &b, &w1) != 0)
        return 1;

    /* 1. A worker batching its messages (the default; it sends PACKs since
     * session 7, t_e2e_packmsg.c: the hand-made BATCHes below are the
     * older form, which the broker still takes). The members' PRESENCE
     * first: a worker that reads it in the same batch as the burst's jobs
     * resends the team's pending dispatches after that batch, and the
     * copies would be counted as deliveries too (the members ignore them). */
    settle();
    uint64_t completed0 = counter("completed"), deliveries0 = counter("deliveries");
    uint64_t bad0 = counter("bad_worker_messages");
    int filed, heard[2];
    burst(env.intake, "batched", &filed, heard);
    is_int(filed, BURST, "BATCH: every SUBMIT of a burst of %d is answered FILED", BURST);
    is_int(heard[0], BURST, "BATCH: the first member of the team gets every DISPATCH");
    is_int(heard[1], BURST, "BATCH: the second member of the team gets every DISPATCH");
    uint64_t completed1 = counter("completed"), deliveries1 = counter("deliveries");
    is_int((long)(completed1 - completed0), BURST, "BATCH: STATUS counts %d completed", BURST);
    is_int((long)(deliveries1 - deliveries0), BURST, "BATCH: STATUS counts %d deliveries (one team per event)", BURST);

    /* 2. The same burst through a worker sending DONE and DELIVER. */
    uint64_t left = counter("workers_left");
    tl_stop(w1);
    for (int i = 0; i < 40 && counter("workers_left") == left; i++)
        pump(250); /* until the broker has dropped w1 */
    pid_t w2 = tl_worker(&env, "w2", (const char *const[]){"--single-messages", NULL});
    tl_wait_workers(&env, 10000);
    settle();
    completed1 = counter("completed");
    deliveries1 = counter("deliveries");
    burst(env.intake, "single", &filed, heard);
    is_int(filed, BURST, "DONE: every SUBMIT of the burst is answered FILED");
    ok(heard[0] == BURST && heard[1] == BURST, "DELIVER: both members get every DISPATCH");
    uint64_t completed2 = counter("completed"), deliveries2 = counter("deliveries");
    is_int((long)(completed2 - completed1), BURST, "DONE: STATUS counts %d completed", BURST);
    is_int((long)(deliveries2 - deliveries1), BURST,
           "DELIVER: STATUS counts as many deliveries as for the BATCH worker");
    is_int((long)counter("bad_worker_messages"), (long)bad0, "no bad worker message so far");

    /* 3. A fake worker's hand-made BATCH: good items around bad ones. */
    void *fake = dealer(env.workers, NULL);
    void *resp = dealer(env.responders, NULL);
    void *cli = dealer(env.intake, "batch-client");
    char hello[128];
    size_t hl;
    {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "team", 4);
        msgpack_pack_str_with_body(&pk, "batch-test-team", 15);
        msgpack_pack_str_with_body(&pk, "member", 6);
        msgpack_pack_str_with_body(&pk, "raw", 3);
        memcpy(hello, sb.data, sb.size);
        hl = sb.size;
        msgpack_sbuffer_destroy(&sb);
    }
    send_frames(resp, (const void *[]){"GL/1", "HELLO", hello}, (size_t[]){4, 5, hl}, 3);
    char cmd[32], buf[256];
    size_t blen;
    recv_msg(resp, cmd, sizeof cmd, buf, sizeof buf, &blen);
    is_str(cmd, "WELCOME", "raw responder is welcomed");
    send_frames(cli, (const void *[]){"GL/1", "PING", "\x80"}, (size_t[]){4, 4, 1}, 3);
    recv_msg(cli, cmd, sizeof cmd, buf, sizeof buf, &blen);
    is_str(cmd, "PONG", "raw terminal is known to the broker");

    char team_hdr[64], long_hdr[128], done_hdr[128], noclient_hdr[128];
    size_t th = pack_map_str(team_hdr, sizeof team_hdr, "team", "batch-test-team", 15);
    char longteam[90];
    memset(longteam, 'a', sizeof longteam);
    size_t lh = pack_map_str(long_hdr, sizeof long_hdr, "team", longteam, 90);
    size_t dh = jp_header(done_hdr, sizeof done_hdr, 999999, "batch-client", 1, NULL);
    size_t nh = jp_header(noclient_hdr, sizeof noclient_hdr, 999998, "batch-client", 0, NULL);
    static char huge[70000];
    memset(huge, 0x80, sizeof huge);
    const char *body_a = "\x81\xa4note\xa1" "A", *body_b = "\x81\xa4note\xa1" "B",
               *body_c = "\x81\xa4note\xa1" "C";
    const void *parts[] = {
        "GL/1", "BATCH", "\x80",
        team_hdr, "DISPATCH", body_a,        /* good */
        "\xc1", "DISPATCH", "\x80",          /* header not msgpack */
        team_hdr, "EXPLODE", "\x80",         /* unknown command */
        noclient_hdr, "FILED", "\x80",       /* DONE without client */
        long_hdr, "NOTICE", "\x80",          /* team too long */
        team_hdr, "DISPATCH", huge,          /* body too large */
        done_hdr, "FILED", body_b,           /* good */
        team_hdr, "NOTICE", body_c,          /* good */
        team_hdr, "DISPATCH",                /* truncated */
    };
    size_t lens[] = {4, 5, 1, th, 8, 8, 1, 8, 1, th, 7, 1, nh, 5, 1, lh, 6, 1,
                     th, 8, sizeof huge, dh, 5, 8, th, 6, 8, th, 8};
    uint64_t bad1 = counter("bad_worker_messages");
    send_frames(fake, parts, lens, (int)(sizeof lens / sizeof lens[0]));
    ok(next_is(resp, "DISPATCH", body_a, 8), "BATCH: the good DISPATCH before the bad items arrives");
    ok(next_is(resp, "NOTICE", body_c, 8), "BATCH: then the good NOTICE after them");
    ok(next_is(cli, "FILED", body_b, 8), "BATCH: the good reply reaches its terminal");
    is_int((long)(counter("bad_worker_messages") - bad1), 6,
           "BATCH: each of the 6 bad items counts as a bad worker message");

    /* A BATCH with a bad body is dropped whole; the next one is read in step. */
    bad1 = counter("bad_worker_messages");
    send_frames(fake, (const void *[]){"GL/1", "BATCH", "\xc1", team_hdr, "DISPATCH", body_a},
                (size_t[]){4, 5, 1, th, 8, 8}, 6);
    send_frames(fake, (const void *[]){"GL/1", "BATCH", "\x80", team_hdr, "NOTICE", body_c},
                (size_t[]){4, 5, 1, th, 6, 8}, 6);
    ok(next_is(resp, "NOTICE", body_c, 8),
       "a BATCH with a bad body is not acted on; the one after it is");
    is_int((long)(counter("bad_worker_messages") - bad1), 1, "and it counts once");

    /* A BATCH is a worker's message: on intake it is refused, not acted on,
     * and the terminal's next request is answered in step. */
    send_frames(cli, (const void *[]){"GL/1", "BATCH", "\x80", done_hdr, "FILED", body_b},
                (size_t[]){4, 5, 1, dh, 5, 8}, 6);
    recv_msg(cli, cmd, sizeof cmd, buf, sizeof buf, &blen);
    is_str(cmd, "ERROR", "a BATCH on intake gets an ERROR");
    send_frames(cli, (const void *[]){"GL/1", "PING", "\x80"}, (size_t[]){4, 4, 1}, 3);
    recv_msg(cli, cmd, sizeof cmd, buf, sizeof buf, &blen);
    is_str(cmd, "PONG", "and its items are not acted on: the next reply is the PING's");

    /* Random BATCHes. */
    srand(7);
    for (int i = 0; i < 300; i++) {
        int n = 3 + rand() % 12;
        const void *rp[15];
        size_t rl[15];
        static char junk[15][64];
        for (int p = 0; p < n; p++) {
            rl[p] = (size_t)(rand() % 64);
            for (size_t k = 0; k < rl[p]; k++)
                junk[p][k] = (char)rand();
            rp[p] = junk[p];
        }
        rp[0] = "GL/1", rl[0] = 4, rp[1] = "BATCH", rl[1] = 5;
        if (rand() % 2)
            rp[2] = "\x80", rl[2] = 1;
        for (int p = 4; p < n; p += 3)
            if (rand() % 2)
                rp[p] = rand() % 2 ? "DISPATCH" : "FILED", rl[p] = strlen(rp[p]);
        send_frames(fake, rp, rl, n);
    }
    send_frames(fake, (const void *[]){"GL/1", "BATCH", "\x80", team_hdr, "DISPATCH", body_b},
                (size_t[]){4, 5, 1, th, 8, 8}, 6);
    ok(fakeworker_dispatch_arrives(resp, body_b, 8, 400), "after 300 random BATCHes a good one is still acted on");
    ok(tl_alive(b) && tl_alive(w2), "broker and worker are still running");

    fakeworker_serves(&env);

    zmq_close(fake);
    zmq_close(resp);
    zmq_close(cli);
    client_listen_close(&l[0]);
    client_listen_close(&l[1]);
    client_close(&term);
    zmq_ctx_term(ctx);
    return done_testing();
}
