/* End to end: a responder that stops reading takes no more of the broker's
 * memory than --responder-queue messages, and loses nothing.
 *
 * A broker started with --responder-queue 20 and a worker on the demo
 * county. A raw responder says HELLO as heping-g1's grid team, keeps its
 * presence with HEARTBEATs, and reads nothing (its own ZeroMQ queue holds 5
 * messages). 3000 requests for heping-g1 are filed: each is dispatched to
 * that team. Asserted: every request is filed; the broker stopped queueing
 * for the stuck connection (STATUS counters.copies_not_sent) instead of
 * holding thousands of DISPATCHes for it; the county's coordinators, present
 * on a connection of their own, still get an alert at once; and once the
 * stuck responder reads again, the dispatches it was not sent come to it,
 * resent from the store (the worker's --retry-ms is 1 s here). */
#include "../proto/frame.h"
#include "support/raw.h"
#include "support/workflow.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <zmq.h>

#define TEAM "heping-g1-team"
#define COORD "county-coordinators"
#define EVENTS 3000
#define MAX_SEEN (EVENTS + 16)

static void *ctx, *term, *stuck;

static void send_simple(void *s, int cmd)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = cmd;
    m.team = TEAM;
    m.member = "卡住的手机";
    frame_send_msg(s, NULL, 0, &m, 0);
}

static char seen[MAX_SEEN][32];
static int nseen;

static int seen_has(const char *id)
{
    for (int i = 0; i < nseen; i++)
        if (strcmp(seen[i], id) == 0)
            return 1;
    return 0;
}

/* drain reads what the stuck responder has for up to ms (0: only what is
 * there), noting the DISPATCHes' event ids; returns how many new ones. */
static int drain(int ms)
{
    int fresh = 0;
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    for (;;) {
        proto_msg m;
        gl_arena a = {0};
        int left = (int)(until > clock_mono_ms() ? until - clock_mono_ms() : 0);
        int cmd = raw_recv(stuck, left, &m, &a);
        if (cmd == PROTO_DISPATCH && m.ev.id && !seen_has(m.ev.id) && nseen < MAX_SEEN) {
            snprintf(seen[nseen++], sizeof seen[0], "%s", m.ev.id);
            fresh++;
        }
        arena_free(&a);
        if (cmd == PROTO_NONE)
            return fresh;
    }
}

static uint64_t not_sent(void)
{
    gl_arena a = {0};
    proto_msg m;
    uint64_t v = UINT64_MAX;
    if (client_status(wf_terminal, &m, &a) == 0)
        wf_figure_u64(m.broker_figures, m.broker_figures_len, "counters.copies_not_sent", &v);
    arena_free(&a);
    return v;
}

int main(void)
{
    tl_setup(&wf_env, "stuckresp");
    static const char *const broker_extra[] = {"--responder-queue", "20", NULL};
    tl_broker(&wf_env, broker_extra);
    static const char *const worker_extra[] = {"--retry-ms", "1000", NULL};
    tl_worker(&wf_env, "w1", worker_extra);
    client_opts_init(&wf_opts);
    wf_opts.timeout_ms = 3000;
    if (tl_wait_workers(&wf_env, 10000) != 0 ||
        client_open(&wf_terminal, wf_env.intake, &wf_opts, NULL, 0) != 0 ||
        client_open(&wf_responder, wf_env.responders, &wf_opts, NULL, 0) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    ctx = zmq_ctx_new();
    term = raw_open(ctx, wf_env.intake);
    stuck = zmq_socket(ctx, ZMQ_DEALER);
    int small = 5, zero = 0;
    zmq_setsockopt(stuck, ZMQ_RCVHWM, &small, sizeof small);
    zmq_setsockopt(stuck, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(stuck, wf_env.responders);
    send_simple(stuck, PROTO_HELLO);
    ok(wf_listen(COORD, "值班长") == 0, "the coordinators listen on a connection of their own");
    is_int(drain(500), 0, "the stuck responder is present (nothing for it yet)");
    uint64_t not_sent0 = not_sent();
    ok(not_sent0 != UINT64_MAX, "STATUS counts copies not sent (%llu)",
       (unsigned long long)not_sent0);

    /* The flood: sent in windows of 200, replies read as they come; the
     * stuck responder only heartbeats. */
    int filed = 0, sent = 0;
    uint64_t until = clock_mono_ms() + 60000, next_hb = 0;
    while (filed < EVENTS && clock_mono_ms() < until) {
        while (sent < EVENTS && sent - filed < 200) {
            char id[32];
            snprintf(id, sizeof id, "stuck-%04d", sent);
            raw_submit(term, (uint64_t)sent + 1, id, GL_KIND_REQUEST, "repair", "楼道灯不亮");
            sent++;
        }
        proto_msg m;
        gl_arena a = {0};
        int cmd = raw_recv(term, 200, &m, &a);
        filed += cmd == PROTO_FILED;
        arena_free(&a);
        if (clock_mono_ms() >= next_hb) {
            send_simple(stuck, PROTO_HEARTBEAT);
            next_hb = clock_mono_ms() + 300;
        }
    }
    is_int(filed, EVENTS, "every request for heping-g1 is filed");
    uint64_t not_sent1 = not_sent();
    ok(not_sent1 != UINT64_MAX && not_sent1 - not_sent0 > EVENTS / 2,
       "the broker stopped queueing for the stuck connection (%llu DISPATCHes not sent)",
       (unsigned long long)(not_sent1 - not_sent0));

    client_filed f;
    is_int(wf_submit("stuck-fire", GL_KIND_ALERT, "fire", "heping", NULL, "heping-g1", &f), 0,
           "an alert is filed");
    WF_WAIT_FOR(wf_heard(COORD, PROTO_DISPATCH, "stuck-fire", NULL), 5000);
    ok(wf_heard(COORD, PROTO_DISPATCH, "stuck-fire", NULL) != NULL,
       "the coordinators get it at once");

    int first = drain(300);
    ok(first > 0 && first < EVENTS / 2,
       "the stuck responder had only a queue's worth waiting (%d DISPATCHes)", first);
    int later = 0;
    for (int round = 0; round < 20 && nseen < EVENTS; round++) {
        int n = drain(500);
        later += n;
        if (later > 0 && n == 0)
            break;
    }
    ok(later > 0, "reading again, it gets the ones not sent, resent from the store (%d more, %d of %d)",
       later, nseen, EVENTS + 1);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s/gridline-broker' --responder-queue 0 >/dev/null 2>&1",
             getenv("GRIDLINE_BIN") ? getenv("GRIDLINE_BIN") : "bin");
    int st = system(cmd);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 2, "--responder-queue 0 is refused (exit 2)");

    zmq_close(term);
    zmq_close(stuck);
    zmq_ctx_term(ctx);
    return wf_finish();
}
