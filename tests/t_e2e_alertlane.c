/* End to end: the alert lane's own worker and early dispatch (issue 3).
 *
 * A broker, one worker for every lane and one worker kept for the alert lane
 * (--lanes alert), on a copy of the demo county. The test process opens the
 * same LMDB store and holds its one write lock, as a long routine commit of
 * another worker would, to show what an alert does meanwhile:
 *
 *   (a) the dedicated worker takes alerts and no routine work: with the
 *       general worker stopped, an alert is still filed while a request
 *       waits; the request is filed once when a general worker is back;
 *   (b) while the store's writer is busy, the coordinators already have the
 *       alert's DISPATCH (seq 0: not filed yet) and the terminal has no
 *       FILED yet; once the writer is free the alert is filed, with its
 *       dispatch records, and nobody gets the DISPATCH a second time;
 *   (c) the worker is SIGKILLed after the early DISPATCH and before the
 *       commit: the terminal's retry files the alert once, under the same
 *       event id, and its dispatches are pending in the store. */
#include "../common/store.h"
#include "support/workflow.h"

#include <pthread.h>

#define COORD "county-coordinators"

static store *test_store;

/* ---- a terminal in its own thread ------------------------------------------ */

typedef struct submitter {
    pthread_t thread;
    const char *id, *category, *grid, *community;
    int kind;
    int retries, timeout_ms;
    volatile int done; /* set when client_submit returned */
    int rc;
    client_filed filed;
    uint64_t done_ms;
} submitter;

static void *submit_thread(void *arg)
{
    submitter *s = arg;
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = s->timeout_ms;
    o.retries = s->retries;
    client *c = NULL;
    s->rc = client_open(&c, wf_env.intake, &o, NULL, 0);
    if (s->rc == 0) {
        gl_event ev = {.id = s->id, .kind = s->kind, .category = s->category,
                       .community = s->community, .grid = s->grid, .terminal = WF_TERMINAL,
                       .text = "测试：3 号楼厨房起火", .contact = WF_CONTACT};
        s->rc = client_submit(c, &ev, &s->filed);
    }
    client_close(&c);
    s->done_ms = clock_mono_ms();
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void submit_start(submitter *s)
{
    s->done = 0;
    pthread_create(&s->thread, NULL, submit_thread, s);
}

static int submit_done(submitter *s)
{
    return __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
}

/* ---- the store's one writer, held by the test ------------------------------ */

static store_txn *held;

static int hold_writer(void)
{
    return store_begin(test_store, 1, &held);
}

static void release_writer(void)
{
    store_abort(&held);
}

static const char *worker_lanes(const proto_msg *st, const char *name)
{
    static char lanes[32];
    long n = wf_figure_size(st->broker_figures, st->broker_figures_len, "workers");
    msgpack_unpacked u;
    const msgpack_object *ws =
        wf_figure_find(&u, st->broker_figures, st->broker_figures_len, "workers");
    lanes[0] = '\0';
    for (long i = 0; ws && i < n; i++) {
        const msgpack_object *w = &ws->via.array.ptr[i];
        const char *nm = NULL, *ln = NULL;
        size_t nlen = 0, llen = 0;
        for (uint32_t k = 0; w->type == MSGPACK_OBJECT_MAP && k < w->via.map.size; k++) {
            const msgpack_object *key = &w->via.map.ptr[k].key, *val = &w->via.map.ptr[k].val;
            if (key->type != MSGPACK_OBJECT_STR || val->type != MSGPACK_OBJECT_STR)
                continue;
            if (key->via.str.size == 4 && memcmp(key->via.str.ptr, "name", 4) == 0) {
                nm = val->via.str.ptr;
                nlen = val->via.str.size;
            } else if (key->via.str.size == 5 && memcmp(key->via.str.ptr, "lanes", 5) == 0) {
                ln = val->via.str.ptr;
                llen = val->via.str.size;
            }
        }
        if (nm && ln && nlen == strlen(name) && memcmp(nm, name, nlen) == 0 &&
            llen < sizeof lanes) {
            memcpy(lanes, ln, llen);
            lanes[llen] = '\0';
        }
    }
    msgpack_unpacked_destroy(&u);
    return lanes;
}

/* The seq of the first DISPATCH about event that team heard: the log keeps
 * no seq, so listen here on a listener of our own. */
static client_listener *seq_listener;

static int early_seq_seen(const char *event, uint64_t *seq, int ms)
{
    static gl_arena a;
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    while (clock_mono_ms() < until) {
        proto_msg m;
        arena_reset(&a);
        if (client_listen_next(seq_listener, 50, &m, &a) != 0)
            return -1;
        if (m.cmd == PROTO_DISPATCH && m.event && strcmp(m.event, event) == 0) {
            *seq = m.ev.seq;
            return 0;
        }
    }
    return -1;
}

static int status_lanes(const char *name, const char *want, proto_msg *st)
{
    for (int i = 0; i < 50; i++) {
        if (client_status(wf_terminal, st, &wf_arena) == 0 &&
            strcmp(worker_lanes(st, name), want) == 0)
            return 1;
        tl_sleep_ms(100);
    }
    return 0;
}

static void tl_bail(const char *why)
{
    printf("Bail out! %s\n", why);
    exit(1);
}

int main(void)
{
    tl_setup(&wf_env, "alertlane");
    const char *const alert_only[] = {"--lanes", "alert", NULL};
    /* Workers first: they connect before the broker binds, and wf_start
     * (with no workers of its own) starts the broker and waits for them. */
    pid_t general = tl_worker(&wf_env, "w1", NULL);
    pid_t alert_worker = tl_worker(&wf_env, "walert", alert_only);
    if (wf_start(0, NULL) != 0)
        tl_bail("broker and workers did not come up");
    int coord = wf_listen(COORD, "值班员");
    char err[256];
    if (coord < 0 || client_listen_open(&seq_listener, wf_env.responders, COORD, "值班员二",
                                        &wf_opts, err, sizeof err) != 0)
        tl_bail("no coordinator listener");
    store_opts so = {.map_size = (size_t)4096 << 20};
    if (store_open(wf_env.store, &so, &test_store) != 0)
        tl_bail("cannot open the store from the test");

    proto_msg st;
    ok(status_lanes("walert", "alert", &st), "status: the dedicated worker takes the alert lane only");
    ok(status_lanes("w1", "all", &st), "status: the other worker takes every lane");

    /* (a) Only the alert worker left: alerts are filed, routine work waits. */
    is_int(tl_stop(general), 0, "(a) the general worker stops cleanly");
    tl_forget(general);
    submitter req = {.id = "lane-req-1", .kind = GL_KIND_REQUEST, .category = "repair",
                     .community = "heping", .grid = "heping-g1", .retries = 0,
                     .timeout_ms = 1500};
    submit_start(&req);
    submitter al = {.id = "lane-alert-1", .kind = GL_KIND_ALERT, .category = "fire",
                    .community = "heping", .grid = "heping-g1", .retries = 2,
                    .timeout_ms = 3000};
    submit_start(&al);
    pthread_join(al.thread, NULL);
    pthread_join(req.thread, NULL);
    ok(al.rc == 0 && al.filed.seq > 0, "(a) an alert is filed by the alert worker alone (%s)",
       gl_strerror(al.rc));
    is_int(req.rc, GL_EUNAVAILABLE, "(a) a request gets no answer while only the alert worker runs");
    WF_WAIT_FOR(wf_heard(COORD, PROTO_DISPATCH, "lane-alert-1", NULL), 3000);
    ok(wf_heard(COORD, PROTO_DISPATCH, "lane-alert-1", NULL) != NULL,
       "(a) the coordinators have the alert");
    general = tl_worker(&wf_env, "w1", NULL);
    req.retries = 5;
    req.timeout_ms = 3000;
    submit_start(&req);
    pthread_join(req.thread, NULL);
    ok(req.rc == 0 && req.filed.duplicate == 1,
       "(a) back with a general worker, the waiting request was filed, once: the retry is "
       "told duplicate (%s)", gl_strerror(req.rc));
    proto_msg m;
    ok(wf_show("lane-req-1", &m) == 0 && wf_history_count(&m, "filed", NULL) == 1,
       "(a) the request has one record, filed once");

    /* (b) The store's writer is busy: the alert reaches the coordinators
     * before it is filed, and the terminal hears FILED only after. */
    uint64_t seq = 99;
    while (early_seq_seen("lane-alert-1", &seq, 100) == 0)
        ; /* drain what (a) left on our own listener */
    is_int(hold_writer(), 0, "(b) the test holds the store's write lock");
    submitter al2 = {.id = "lane-alert-2", .kind = GL_KIND_ALERT, .category = "gas",
                     .community = "heping", .grid = "heping-g1", .retries = 0,
                     .timeout_ms = 8000};
    submit_start(&al2);
    ok(early_seq_seen("lane-alert-2", &seq, 3000) == 0,
       "(b) the coordinators have the alert while the store's writer is busy");
    is_int(seq, 0, "(b) its DISPATCH says seq 0: not filed yet");
    tl_sleep_ms(300);
    ok(!submit_done(&al2), "(b) the terminal has no FILED while the commit cannot happen");
    uint64_t released = clock_mono_ms();
    release_writer();
    pthread_join(al2.thread, NULL);
    ok(al2.rc == 0 && al2.filed.seq > 0 && al2.done_ms >= released,
       "(b) FILED comes after the commit, with the seq (%s)", gl_strerror(al2.rc));
    ok(wf_show("lane-alert-2", &m) == 0 && wf_dispatch(&m, COORD) &&
           wf_dispatch(&m, COORD)->state == GL_DS_PENDING &&
           wf_dispatch(&m, COORD)->attempts == 1,
       "(b) the stored dispatch to the coordinators: pending, sent once");
    ok(wf_dispatch(&m, "heping-g1-team") != NULL, "(b) and to the grid team");
    wf_pump(500);
    is_int(wf_heard_count(COORD, PROTO_DISPATCH, "lane-alert-2", NULL), 1,
       "(b) the coordinators got the DISPATCH once, not again after the commit");
    ok(wf_show("lane-alert-2", &m) == 0 && wf_history_count(&m, "filed", NULL) == 1,
       "(b) the alert was filed once");

    /* (c) Killed between the early DISPATCH and the commit. */
    is_int(hold_writer(), 0, "(c) the test holds the store's write lock again");
    submitter al3 = {.id = "lane-alert-3", .kind = GL_KIND_ALERT, .category = "medical",
                     .community = "heping", .grid = "heping-g1", .retries = 6,
                     .timeout_ms = 1500};
    submit_start(&al3);
    ok(early_seq_seen("lane-alert-3", &seq, 3000) == 0 && seq == 0,
       "(c) the coordinators have the alert before it is filed");
    tl_kill9(alert_worker);
    tl_forget(alert_worker);
    release_writer();
    alert_worker = tl_worker(&wf_env, "walert", alert_only);
    pthread_join(al3.thread, NULL);
    ok(al3.rc == 0 && al3.filed.seq > 0, "(c) the terminal's retry files the alert (%s)",
       gl_strerror(al3.rc));
    ok(wf_show("lane-alert-3", &m) == 0, "(c) SHOW finds it under the same event id");
    is_int(wf_history_count(&m, "filed", NULL), 1, "(c) one record, filed once");
    ok(wf_dispatch(&m, COORD) && wf_dispatch(&m, COORD)->state == GL_DS_PENDING,
       "(c) its dispatch to the coordinators is pending in the store");
    WF_WAIT_FOR(wf_heard(COORD, PROTO_DISPATCH, "lane-alert-3", NULL), 3000);
    ok(wf_heard(COORD, PROTO_DISPATCH, "lane-alert-3", NULL) != NULL,
       "(c) the coordinators' listener has it");
    client_result r;
    is_int(wf_act(PROTO_ACK, "lane-alert-3", COORD, NULL, &r), 0,
       "(c) the coordinators acknowledge it by its event id");
    ok(status_lanes("walert", "alert", &st), "(c) the restarted alert worker is back on its lane");

    client_listen_close(&seq_listener);
    store_close(&test_store);
    (void)alert_worker;
    return done_testing();
}
