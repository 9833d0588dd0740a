/* End to end: a responder that ACKs an alert's early DISPATCH (seq 0,
 * PROTOCOL.md §5 and §12) at once, before the alert's filing has committed,
 * gets RESULT, not "no event with this id".
 *
 * A broker and two general workers on the demo county. The test holds the
 * store's one write lock, as a long commit of another worker would: the
 * worker that takes the alert sends its DISPATCHes early and waits for the
 * lock. The test stops that worker (SIGSTOP: it is the one waiting on a
 * futex), releases the lock, and the squad ACKs. The other worker, idle and
 * with more free credit, took the ACK and answered at once that there was
 * no such event: the alert was not filed yet. The broker now sends an act
 * on an alert whose SUBMIT is in flight to the worker filing it, which
 * works it after the filing: nothing answers while that worker is stopped,
 * and once it runs again the alert is filed and the ACK gets RESULT. */
#include "../common/store.h"
#include "../proto/frame.h"
#include "support/raw.h"
#include "support/workflow.h"

#include <signal.h>
#include <zmq.h>

#define SQUAD "sq-heping-rescue-1-team"
#define ROUNDS 3

static store *test_store;
static void *ctx, *term, *squad;

static int send_ack(const char *id)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_ACK;
    m.rid = 2;
    m.event = id;
    m.team = SQUAD;
    m.member = "队长";
    return frame_send_msg(squad, NULL, 0, &m, 0);
}

/* reply waits up to ms for one message on s: its command (PROTO_NONE for
 * none), and the reason of an ERROR into reason. */
static int reply(void *s, int ms, char *reason, size_t len)
{
    proto_msg m;
    gl_arena a = {0};
    int cmd = raw_recv(s, ms, &m, &a);
    snprintf(reason, len, "%s", cmd == PROTO_ERROR && m.reason ? m.reason : "");
    arena_free(&a);
    return cmd;
}

/* waiting_on_lock: 1 if pid's main thread sleeps on a futex (the store's
 * write lock), not in zmq_poll. */
static int waiting_on_lock(pid_t pid)
{
    char path[64], wchan[128] = "";
    snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(wchan, sizeof wchan, f))
            wchan[0] = '\0';
        fclose(f);
    }
    return strstr(wchan, "futex") != NULL;
}

int main(void)
{
    tl_setup(&wf_env, "earlyack");
    pid_t workers[2];
    tl_broker(&wf_env, NULL);
    workers[0] = tl_worker(&wf_env, "w1", NULL);
    workers[1] = tl_worker(&wf_env, "w2", NULL);
    client_opts_init(&wf_opts);
    wf_opts.timeout_ms = 3000;
    if (tl_wait_workers(&wf_env, 10000) != 0 ||
        client_open(&wf_terminal, wf_env.intake, &wf_opts, NULL, 0) != 0 ||
        client_open(&wf_responder, wf_env.responders, &wf_opts, NULL, 0) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    store_opts so = {.map_size = (size_t)4096 << 20};
    if (store_open(wf_env.store, &so, &test_store) != 0) {
        printf("Bail out! cannot open the store from the test\n");
        return 1;
    }
    ctx = zmq_ctx_new();
    term = raw_open(ctx, wf_env.intake);
    squad = raw_open(ctx, wf_env.responders);
    ok(wf_listen(SQUAD, "测试") == 0, "the first squad is listening");

    for (int round = 1; round <= ROUNDS; round++) {
        char id[32], reason[200];
        snprintf(id, sizeof id, "early-ack-%d", round);
        store_txn *held = NULL;
        is_int(store_begin(test_store, 1, &held), 0, "round %d: the test holds the write lock", round);
        raw_submit(term, 1, id, GL_KIND_ALERT, "fire", "测试：3 号楼厨房起火");
        WF_WAIT_FOR(wf_heard(SQUAD, PROTO_DISPATCH, id, NULL), 5000);
        ok(wf_heard(SQUAD, PROTO_DISPATCH, id, NULL) != NULL,
           "the squad has its early DISPATCH while the filing waits for the lock");
        pid_t filing = 0;
        for (int tries = 0; tries < 100 && !filing; tries++) {
            for (int i = 0; i < 2 && !filing; i++)
                if (waiting_on_lock(workers[i]))
                    filing = workers[i];
            if (!filing)
                wf_pump(20);
        }
        ok(filing != 0, "the worker filing it waits for the lock");
        if (filing)
            kill(filing, SIGSTOP);
        store_abort(&held);
        ok(send_ack(id) == 0, "the squad ACKs at once");
        int early = reply(squad, 1000, reason, sizeof reason);
        is_int(early, 0, "no answer while the worker filing the alert is stopped (got %s %s)",
               early ? proto_cmd_name(early) : "nothing", reason);
        if (filing)
            kill(filing, SIGCONT);
        is_int(reply(term, 10000, reason, sizeof reason), PROTO_FILED, "the alert is filed");
        int acked = early ? early : reply(squad, 10000, reason, sizeof reason);
        is_int(acked, PROTO_RESULT, "the ACK gets RESULT %s", reason);
    }

    proto_msg m;
    ok(wf_show("early-ack-1", &m) == 0 && wf_dispatch(&m, SQUAD) &&
           wf_dispatch(&m, SQUAD)->state == GL_DS_ACKED,
       "the squad's stored dispatch is acknowledged");
    ok(wf_history(&m, "acked", NULL) != NULL, "and the history says so");

    zmq_close(term);
    zmq_close(squad);
    zmq_ctx_term(ctx);
    store_close(&test_store);
    return wf_finish();
}
