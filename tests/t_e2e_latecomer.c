/* End to end: a team that says HELLO while an alert is being filed, after
 * the alert's early DISPATCH (PROTOCOL.md §12) found nobody of it present,
 * gets the DISPATCH as soon as the filing commits, not on the retry timer.
 *
 * A broker and two workers (retry timer 60 s, so only a resend on HELLO
 * can deliver within the test's limits) on the demo county. The test holds
 * the store's one write lock, as a long commit of another worker would: the
 * worker that takes the alert sends its DISPATCHes early (the squad, present,
 * gets one with seq 0; the coordinators, absent, get nothing) and then waits
 * for the lock. Now the coordinators say HELLO: the broker tells a worker
 * (PRESENCE), and the one it picks is the idle worker, which finds nothing
 * pending for them in the store, since the alert's records are not
 * committed yet. The lock is released: the alert is filed and the
 * coordinators must have its DISPATCH within a few seconds.
 *
 * This was t_e2e_cancel's intermittent failure ("gridline listen --team
 * county-coordinators prints it"): the listener's HELLO came just after the
 * warm-up alert's early DISPATCH and before its commit, and the DISPATCH
 * then waited 30 s for the retry timer. */
#include "../common/store.h"
#include "../proto/frame.h"
#include "support/workflow.h"

#include <zmq.h>

#define COORD "county-coordinators"
#define SQUAD "sq-heping-rescue-1-team"

static store *test_store;
static store_txn *held;

/* A terminal's raw DEALER: SUBMIT now, FILED read later, so that the test
 * can act while the filing waits. */
static void *term_ctx, *term;

static int submit_alert(const char *id)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SUBMIT;
    m.rid = 1;
    m.ev.id = id;
    m.ev.kind = GL_KIND_ALERT;
    m.ev.category = "fire";
    m.ev.community = "heping";
    m.ev.grid = "heping-g1";
    m.ev.terminal = WF_TERMINAL;
    m.ev.text = "测试：3 号楼厨房起火";
    return frame_send_msg(term, NULL, 0, &m, 0);
}

/* filed_seq waits up to ms for the FILED reply; its seq, or 0. */
static uint64_t filed_seq(int ms)
{
    zmq_pollitem_t item = {term, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, ms) != 1)
        return 0;
    frame_msg fm;
    proto_msg r;
    gl_arena a = {0};
    uint64_t seq = 0;
    if (frame_recv(term, 0, 0, &fm) == 0) {
        size_t len = 0;
        const void *body = frame_body(&fm, &len);
        if (fm.cmd == PROTO_FILED && proto_decode(PROTO_FILED, body, len, &r, &a, NULL, 0) == 0)
            seq = r.ev.seq;
        else
            diag("the terminal got %s instead of FILED", proto_cmd_name(fm.cmd));
        frame_close(&fm);
    }
    arena_free(&a);
    return seq;
}

int main(void)
{
    tl_setup(&wf_env, "latecomer");
    static const char *const slow_retry[] = {"--retry-ms", "60000", NULL};
    if (wf_start(2, slow_retry) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    store_opts so = {.map_size = (size_t)4096 << 20};
    if (store_open(wf_env.store, &so, &test_store) != 0) {
        printf("Bail out! cannot open the store from the test\n");
        return 1;
    }
    term_ctx = zmq_ctx_new();
    term = zmq_socket(term_ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(term, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(term, wf_env.intake);

    ok(wf_listen(SQUAD, "测试") == 0, "the first squad is listening; the coordinators are not");
    is_int(store_begin(test_store, 1, &held), 0, "the test holds the store's write lock");
    ok(submit_alert("late-1") == 0, "a fire alert is submitted");
    /* The worker sends the route's DISPATCHes early in one go, the
     * coordinators' first and the squad's last (as in the history's
     * 'dispatched' note): once the squad has its DISPATCH, the broker has
     * dropped the coordinators' for want of anyone present. */
    WF_WAIT_FOR(wf_heard(SQUAD, PROTO_DISPATCH, "late-1", NULL), 5000);
    ok(wf_heard(SQUAD, PROTO_DISPATCH, "late-1", NULL) != NULL,
       "the squad has the alert's early DISPATCH while the filing waits for the lock");
    is_int(filed_seq(0), 0, "the terminal has no FILED yet");

    ok(wf_listen(COORD, "值班长") == 1, "now the coordinators say HELLO (and are welcomed)");
    /* Time for the worker told of their presence to look in the store. */
    wf_pump(1000);
    ok(!wf_heard(COORD, PROTO_DISPATCH, "late-1", NULL),
       "before the commit there is no record to resend to them");

    uint64_t released = clock_mono_ms();
    store_abort(&held);
    uint64_t seq = filed_seq(10000);
    ok(seq > 0, "once the lock is free the alert is filed (seq %llu)", (unsigned long long)seq);
    WF_WAIT_FOR(wf_heard(COORD, PROTO_DISPATCH, "late-1", NULL), 5000);
    const wf_msg *h = wf_heard(COORD, PROTO_DISPATCH, "late-1", NULL);
    ok(h != NULL, "the coordinators, present since before the commit, get the DISPATCH");
    if (h)
        diag("%llu ms after the lock was released", (unsigned long long)(h->at_ms - released));
    else
        diag("not within 5 s: it waits for the 60 s retry timer");
    proto_msg m;
    ok(wf_show("late-1", &m) == 0 && wf_dispatch(&m, COORD) &&
           wf_dispatch(&m, COORD)->state == GL_DS_PENDING,
       "the stored dispatch to the coordinators is pending (they have not acknowledged)");
    client_result r;
    is_int(wf_act(PROTO_ACK, "late-1", COORD, NULL, &r), 0, "they acknowledge it");

    zmq_close(term);
    zmq_ctx_term(term_ctx);
    store_close(&test_store);
    return wf_finish();
}
