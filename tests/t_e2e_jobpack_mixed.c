/* End to end: JOBs packed beside a worker that takes them one by one
 * (session 8 review). What users notice:
 *
 * An alert handed to a worker that takes its JOBs packed goes out at once
 * (DESIGN.md §4, guarantee 4), also when the same pass of the broker then
 * fails to send a JOB to another worker — one of an earlier version, or
 * started with --single-messages — whose connection is gone and which the
 * broker has not yet declared lost. The broker's pump stops at such a
 * failure; the jobs it had handed to packing workers before it must still
 * be sent then, not at the next heartbeat tick (here 20 s away).
 *
 * Fake workers on raw sockets: "dead-b" says READY without "pack" (credit
 * 8) and closes its connection; two alerts wait in the broker's alert lane
 * for it; "live-a" says READY with "pack" (credit 9). The broker hands the
 * first alert to live-a (more free credit), the second to dead-b, whose
 * JOB cannot be sent. live-a must receive the first alert within a few
 * seconds. */
#include "../proto/pack.h"
#include "support/testlib.h"
#include "tap.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static void *ctx;

static void *dealer(const char *ep, const char *id, int timeout_ms)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
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

static void send_ready(void *s, const char *name, unsigned credit, int pack)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, pack ? 3 : 2);
    msgpack_pack_str_with_body(&pk, "worker", 6);
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    msgpack_pack_str_with_body(&pk, "credit", 6);
    msgpack_pack_uint32(&pk, credit);
    if (pack) {
        msgpack_pack_str_with_body(&pk, "pack", 4);
        msgpack_pack_true(&pk);
    }
    send_frames(s, (const void *[]){"GL/1", "READY", sb.data}, (size_t[]){4, 5, sb.size}, 3);
    msgpack_sbuffer_destroy(&sb);
}

static void send_alert(void *s, const char *id, uint64_t rid)
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
    msgpack_pack_str_with_body(&pk, "alert", 5);
    msgpack_pack_str_with_body(&pk, "category", 8);
    msgpack_pack_str_with_body(&pk, "fire", 4);
    msgpack_pack_str_with_body(&pk, "grid", 4);
    msgpack_pack_str_with_body(&pk, "heping-g1", 9);
    msgpack_pack_str_with_body(&pk, "text", 4);
    msgpack_pack_str_with_body(&pk, "test", 4);
    send_frames(s, (const void *[]){"GL/1", "SUBMIT", sb.data}, (size_t[]){4, 6, sb.size}, 3);
    msgpack_sbuffer_destroy(&sb);
}

/* Whether the SUBMIT body (data, len) names event id. */
static int body_names(const void *data, size_t len, const char *id)
{
    char want[64];
    int n = snprintf(want, sizeof want, "\xa2id%c%s", (char)(0xa0 | strlen(id)), id);
    return n > 0 && memmem(data, len, want, (size_t)n) != NULL;
}

/* Reads s until a job (a JOB, or an item of a PACK) for event id arrives
 * or within_ms pass: the ms it took, or -1. HEARTBEATs skipped. */
static long job_arrives(void *s, const char *id, long within_ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int n = 0; n < 100; n++) {
        zmq_msg_t part[8];
        int np = 0, more = 1, found = 0;
        while (more && np < 8) {
            zmq_msg_init(&part[np]);
            if (zmq_msg_recv(&part[np], s, 0) < 0) {
                zmq_msg_close(&part[np]);
                more = -1;
                break;
            }
            more = zmq_msg_more(&part[np]);
            np++;
        }
        if (np >= 5 && zmq_msg_size(&part[1]) == 3 && memcmp(zmq_msg_data(&part[1]), "JOB", 3) == 0)
            found = body_names(zmq_msg_data(&part[4]), zmq_msg_size(&part[4]), id);
        if (np == 4 && zmq_msg_size(&part[1]) == 4 && memcmp(zmq_msg_data(&part[1]), "PACK", 4) == 0) {
            pack_item it;
            size_t pos = 0;
            while (!found && pack_next(zmq_msg_data(&part[3]), zmq_msg_size(&part[3]), &pos, &it))
                found = body_names(it.body, it.body_len, id);
        }
        for (int i = 0; i < np; i++)
            zmq_msg_close(&part[i]);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (found)
            return ms;
        if (more < 0 || ms >= within_ms)
            return -1;
    }
    return -1;
}

int main(void)
{
    tl_env env;
    tl_setup(&env, "jobpackmixed");
    /* The first heartbeat tick (which sends what a pass left unsent) 20 s
     * after start, and workers declared lost after 60 s: neither within
     * the test. */
    pid_t b = tl_broker(&env, (const char *const[]){"--heartbeat-ms", "20000", NULL});
    if (tl_wait_ready(&env, 10000) != 0) {
        printf("Bail out! the broker did not come up\n");
        return 1;
    }
    ctx = zmq_ctx_new();

    /* A worker taking single JOBs, gone without a BYE. */
    void *dead = dealer(env.workers, "dead-b", 2000);
    send_ready(dead, "dead-b", 8, 0);
    tl_sleep_ms(300);
    zmq_close(dead);
    tl_sleep_ms(500); /* the broker's ROUTER has dropped its pipe */

    /* Two alerts: the broker cannot send them to dead-b; they wait. */
    void *cli = dealer(env.intake, "mixed-client", 2000);
    send_alert(cli, "mixed-alert-1", 1);
    send_alert(cli, "mixed-alert-2", 2);
    tl_sleep_ms(500);

    /* A packing worker with more credit: the first alert is its. */
    void *live = dealer(env.workers, "live-a", 4000);
    send_ready(live, "live-a", 9, 1);
    long ms = job_arrives(live, "mixed-alert-1", 4000);
    ok(ms >= 0, "an alert handed to a packing worker goes out at once although the same pass "
                "could not send a JOB to a worker that is gone (%ld ms)", ms);
    ok(tl_alive(b), "the broker is alive");

    zmq_close(live);
    zmq_close(cli);
    tl_stop(b);
    zmq_ctx_term(ctx);
    return done_testing();
}
