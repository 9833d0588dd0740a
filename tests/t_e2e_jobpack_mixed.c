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
#include "support/jobpack_support.h"
#include "support/testlib.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static void *ctx;

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
        int np = jp_recv_parts(s, part, 8), found = 0, failed = np < 0;
        if (failed)
            np = 0;
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
        if (failed || ms >= within_ms)
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
    void *dead = jp_dealer(ctx, env.workers, "dead-b", 2000);
    jp_send_ready(dead, "dead-b", 8, 0);
    tl_sleep_ms(300);
    zmq_close(dead);
    tl_sleep_ms(500); /* the broker's ROUTER has dropped its pipe */

    /* Two alerts: the broker cannot send them to dead-b; they wait. */
    void *cli = jp_dealer(ctx, env.intake, "mixed-client", 2000);
    jp_send_submit(cli, "mixed-alert-1", "alert", "test", 1);
    jp_send_submit(cli, "mixed-alert-2", "alert", "test", 2);
    tl_sleep_ms(500);

    /* A packing worker with more credit: the first alert is its. */
    void *live = jp_dealer(ctx, env.workers, "live-a", 4000);
    jp_send_ready(live, "live-a", 9, 1);
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
