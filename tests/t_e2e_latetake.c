/* End to end: alerts that arrive while the alert worker waits for the
 * store's writer are filed in the same commit (issue 7, group commit that
 * "takes whatever is waiting").
 *
 * A broker, a general worker and a worker kept for the alert lane (--lanes
 * alert), on a copy of the demo county. The test process opens the same LMDB store and holds
 * its one write lock, as another worker's routine commit would:
 *
 *   (a) one alert reaches the worker, which waits for the writer; five more
 *       arrive meanwhile. Once the writer is free all six are filed, in one
 *       commit (the store's write-transaction id moves by one, where one
 *       commit for the first and one for the rest were needed before), each
 *       answered once; the coordinators got each alert's DISPATCH once, with
 *       seq 0 (sent before the commit: the five taken late get theirs as
 *       soon as the worker holds the writer, before they are worked);
 *   (b) a responder who says HELLO while alerts wait behind the writer (the
 *       broker's PRESENCE comes after their JOBs) gets every one of them,
 *       the first resent only after its commit, and alerts sent after the
 *       HELLO are filed as well: the worker does not take past the PRESENCE
 *       into the open transaction, and handles it after the commit;
 *   (c) routine work is not taken late (measured no better: bench/README.md,
 *       session 6): a request waits at the general worker for the writer,
 *       five more arrive; all six are filed, the first in a commit of its
 *       own and the five in the next, as before;
 *   (d) the commit of alerts taken late fails (the worker may write
 *       nothing: a full disk): every terminal is answered storage_full,
 *       once; the coordinators, who had each DISPATCH, are told not_filed;
 *       the terminals' retries file them later;
 *   (e) with no alert worker, the general worker files alerts too: while
 *       its alert batch waits for the writer, a request and then another
 *       alert arrive. The batch takes neither (the request stops it): the
 *       first alert is committed alone, then the second alert, before the
 *       request that came ahead of it. */
#include "../common/store.h"
#include "../common/store_impl.h"
#include "support/workflow.h"

#include <pthread.h>
#include <sys/resource.h>

#define COORD "county-coordinators"
#define GRID_TEAM "heping-g1-team"
#define NALERTS 6

static store *test_store;
static store_txn *held;

/* ---- a terminal in its own thread ------------------------------------------ */

typedef struct submitter {
    pthread_t thread;
    char id[32];
    const char *category;
    int kind;
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
    o.timeout_ms = 15000;
    o.retries = 0; /* one SUBMIT: one answer, or the test fails */
    client *c = NULL;
    s->rc = client_open(&c, wf_env.intake, &o, NULL, 0);
    if (s->rc == 0) {
        gl_event ev = {.id = s->id, .kind = s->kind, .category = s->category,
                       .community = "heping", .grid = "heping-g1", .terminal = WF_TERMINAL,
                       .text = "测试：5 号楼燃气泄漏", .contact = WF_CONTACT};
        s->rc = client_submit(c, &ev, &s->filed);
    }
    client_close(&c);
    s->done_ms = clock_mono_ms();
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void submit_start(submitter *s, const char *prefix, int i)
{
    static const char *const categories[] = {"fire", "gas", "medical"};
    snprintf(s->id, sizeof s->id, "%s-%d", prefix, i);
    if (!s->kind) {
        s->kind = GL_KIND_ALERT;
        s->category = categories[i % 3];
    }
    s->done = 0;
    pthread_create(&s->thread, NULL, submit_thread, s);
}

static int submit_done(submitter *s)
{
    return __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
}

/* ---- listeners that keep each DISPATCH's seq -------------------------------- */

typedef struct heard {
    int cmd; /* PROTO_DISPATCH or PROTO_NOTICE */
    char event[32], what[32];
    uint64_t seq, at_ms;
} heard;

typedef struct listener {
    client_listener *l;
    heard log[64];
    int n;
} listener;

static void pump(listener *ls, int ms)
{
    static gl_arena a;
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    do {
        proto_msg m;
        arena_reset(&a);
        if (client_listen_next(ls->l, 20, &m, &a) != 0)
            return;
        if ((m.cmd == PROTO_DISPATCH || m.cmd == PROTO_NOTICE) && m.event &&
            ls->n < (int)GL_ARRAY_LEN(ls->log)) {
            heard *h = &ls->log[ls->n++];
            h->cmd = m.cmd;
            snprintf(h->event, sizeof h->event, "%s", m.event);
            snprintf(h->what, sizeof h->what, "%s", m.what ? m.what : "");
            h->seq = m.ev.seq;
            h->at_ms = clock_mono_ms();
        }
    } while (clock_mono_ms() < until);
}

/* DISPATCHes about event. */
static int heard_count(const listener *ls, const char *event)
{
    int n = 0;
    for (int i = 0; i < ls->n; i++)
        n += ls->log[i].cmd == PROTO_DISPATCH && strcmp(ls->log[i].event, event) == 0;
    return n;
}

static const heard *heard_first(const listener *ls, const char *event)
{
    for (int i = 0; i < ls->n; i++)
        if (ls->log[i].cmd == PROTO_DISPATCH && strcmp(ls->log[i].event, event) == 0)
            return &ls->log[i];
    return NULL;
}

/* NOTICEs about event that say what. */
static int notice_count(const listener *ls, const char *event, const char *what)
{
    int n = 0;
    for (int i = 0; i < ls->n; i++)
        n += ls->log[i].cmd == PROTO_NOTICE && strcmp(ls->log[i].event, event) == 0 &&
             strcmp(ls->log[i].what, what) == 0;
    return n;
}

static int set_fsize(pid_t pid, rlim_t soft)
{
    struct rlimit rl = {soft, RLIM_INFINITY};
    return prlimit(pid, RLIMIT_FSIZE, &rl, NULL);
}

static int open_listener(listener *ls, const char *team, const char *member)
{
    char err[256];
    memset(ls, 0, sizeof *ls);
    if (client_listen_open(&ls->l, wf_env.responders, team, member, &wf_opts, err,
                           sizeof err) != 0) {
        diag("%s cannot listen: %s", team, err);
        return -1;
    }
    return 0;
}

/* ---- the store, from the test --------------------------------------------- */

/* The id of the last committed write transaction: one more per commit. */
static uint64_t txnid(void)
{
    MDB_envinfo info;
    return mdb_env_info(test_store->env, &info) == 0 ? (uint64_t)info.me_last_txnid : 0;
}

/* The broker's figure at path (STATUS), or UINT64_MAX. */
static uint64_t broker_figure(const char *path)
{
    proto_msg st;
    uint64_t v;
    if (client_status(wf_terminal, &st, &wf_arena) != 0 ||
        wf_figure_u64(st.broker_figures, st.broker_figures_len, path, &v) != 0)
        return UINT64_MAX;
    return v;
}

/* Waits until the broker has handed n jobs to the workers that they have
 * not answered (the alerts wait at the worker). */
static int wait_in_flight(uint64_t n, listener *pumped)
{
    for (int i = 0; i < 100; i++) {
        if (broker_figure("in_flight") == n)
            return 1;
        pump(pumped, 100);
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
    tl_setup(&wf_env, "latetake");
    const char *const alert_only[] = {"--lanes", "alert", NULL};
    /* A general worker answers the routine SHOWs; the alerts go to the
     * worker kept for them while it has credit (PROTOCOL.md §6). */
    tl_worker(&wf_env, "w1", NULL);
    pid_t alert_worker = tl_worker(&wf_env, "walert", alert_only);
    if (wf_start(0, NULL) != 0)
        tl_bail("broker and workers did not come up");
    listener coord;
    if (open_listener(&coord, COORD, "值班员") != 0)
        tl_bail("no coordinator listener");
    /* wf_start waited for a worker to answer a SHOW (the general one): wait
     * for the alert worker too, or the first alerts go to the general one. */
    long nworkers = -1;
    for (int i = 0; i < 100 && nworkers != 2; i++) {
        proto_msg st;
        if (client_status(wf_terminal, &st, &wf_arena) == 0)
            nworkers = wf_figure_size(st.broker_figures, st.broker_figures_len, "workers");
        if (nworkers != 2)
            pump(&coord, 100);
    }
    if (nworkers != 2)
        tl_bail("the alert worker did not join");
    store_opts so = {.map_size = (size_t)4096 << 20};
    if (store_open(wf_env.store, &so, &test_store) != 0)
        tl_bail("cannot open the store from the test");

    /* (a) Six alerts, five of them while the worker waits for the writer. */
    uint64_t completed0 = broker_figure("counters.completed");
    is_int(store_begin(test_store, 1, &held), 0, "(a) the test holds the store's writer");
    submitter a[NALERTS];
    memset(a, 0, sizeof a);
    submit_start(&a[0], "late-a", 0);
    for (int i = 0; i < 120 && !heard_first(&coord, "late-a-0"); i++)
        pump(&coord, 50);
    ok(heard_first(&coord, "late-a-0") != NULL,
       "(a) the first alert's DISPATCH is out: the worker now waits for the writer");
    tl_sleep_ms(200); /* it is in the wait for the lock */
    uint64_t before = txnid();
    for (int i = 1; i < NALERTS; i++)
        submit_start(&a[i], "late-a", i);
    ok(wait_in_flight(NALERTS, &coord), "(a) the broker has handed all %d alerts to the worker",
       NALERTS);
    pump(&coord, 300);
    int waiting = 0;
    for (int i = 0; i < NALERTS; i++)
        waiting += !submit_done(&a[i]);
    is_int(waiting, NALERTS, "(a) no terminal has FILED while the writer is held");
    is_int(txnid(), before, "(a) nothing was committed meanwhile");

    uint64_t released = clock_mono_ms();
    store_abort(&held);
    for (int i = 0; i < NALERTS; i++)
        pthread_join(a[i].thread, NULL);
    int filed = 0, after_release = 0;
    for (int i = 0; i < NALERTS; i++) {
        filed += a[i].rc == 0 && a[i].filed.seq > 0 && !a[i].filed.duplicate;
        after_release += a[i].done_ms >= released;
    }
    is_int(filed, NALERTS, "(a) every alert is filed, as a new event");
    is_int(after_release, NALERTS, "(a) each FILED came after the writer was free");
    uint64_t commits = txnid() - before;
    is_int(commits, 1, "(a) all %d alerts were filed in one commit (%llu commits)", NALERTS,
           (unsigned long long)commits);
    uint64_t first = a[0].filed.seq, last = a[0].filed.seq;
    for (int i = 1; i < NALERTS; i++) {
        first = a[i].filed.seq < first ? a[i].filed.seq : first;
        last = a[i].filed.seq > last ? a[i].filed.seq : last;
    }
    is_int(last - first + 1, NALERTS, "(a) their seqs follow one another");
    is_int(broker_figure("counters.completed") - completed0, NALERTS,
           "(a) the broker counted one answer per alert");
    is_int(broker_figure("in_flight"), 0, "(a) no job is left in flight");
    is_int(broker_figure("counters.bad_worker_messages"), 0,
           "(a) no worker message was refused");
    pump(&coord, 500);
    int once = 0, early = 0;
    for (int i = 0; i < NALERTS; i++) {
        const heard *h = heard_first(&coord, a[i].id);
        once += heard_count(&coord, a[i].id) == 1;
        early += h && h->seq == 0;
    }
    is_int(once, NALERTS, "(a) the coordinators got each alert's DISPATCH once");
    is_int(early, NALERTS, "(a) each with seq 0: sent before the alert's commit");
    proto_msg m;
    int stored = 0;
    for (int i = 0; i < NALERTS; i++)
        stored += wf_show(a[i].id, &m) == 0 && wf_history_count(&m, "filed", NULL) == 1 &&
                  wf_dispatch(&m, COORD) && wf_dispatch(&m, COORD)->state == GL_DS_PENDING &&
                  wf_dispatch(&m, COORD)->attempts == 1;
    is_int(stored, NALERTS, "(a) each stored once, its coordinators' dispatch pending, sent once");

    /* (b) A responder says HELLO while alerts wait behind the writer. */
    is_int(store_begin(test_store, 1, &held), 0, "(b) the test holds the store's writer again");
    submitter b[4];
    memset(b, 0, sizeof b);
    submit_start(&b[0], "late-b", 0);
    for (int i = 0; i < 120 && !heard_first(&coord, "late-b-0"); i++)
        pump(&coord, 50);
    tl_sleep_ms(200);
    submit_start(&b[1], "late-b", 1);
    submit_start(&b[2], "late-b", 2);
    ok(wait_in_flight(3, &coord), "(b) three alerts wait at the worker");
    listener grid;
    if (open_listener(&grid, GRID_TEAM, "网格员小李") != 0)
        tl_bail("no grid team listener");
    pump(&grid, 300); /* the broker has its HELLO, and told the worker */
    submit_start(&b[3], "late-b", 3);
    ok(wait_in_flight(4, &coord), "(b) and a fourth, sent after the HELLO");
    pump(&grid, 200);
    is_int(heard_count(&grid, "late-b-0"), 0,
           "(b) the newcomer has nothing of the first alert while it is not committed");
    released = clock_mono_ms();
    store_abort(&held);
    for (int i = 0; i < 4; i++)
        pthread_join(b[i].thread, NULL);
    filed = 0;
    for (int i = 0; i < 4; i++)
        filed += b[i].rc == 0 && b[i].filed.seq > 0;
    is_int(filed, 4, "(b) all four alerts are filed");
    for (int i = 0; i < 50; i++) {
        int all = 1;
        for (int k = 0; k < 4; k++)
            all &= heard_count(&grid, b[k].id) > 0;
        if (all)
            break;
        pump(&grid, 100);
    }
    int got = 0;
    for (int i = 0; i < 4; i++)
        got += heard_count(&grid, b[i].id) > 0;
    is_int(got, 4, "(b) the newcomer has every one of them");
    const heard *h0 = heard_first(&grid, "late-b-0");
    ok(h0 && h0->seq > 0 && h0->at_ms >= released,
       "(b) the first one resent after its commit, with its seq");
    is_int(broker_figure("in_flight"), 0, "(b) no job is left in flight");

    /* (c) Routine work at the general worker is not taken late. */
    is_int(store_begin(test_store, 1, &held), 0, "(c) the test holds the store's writer again");
    submitter c[NALERTS];
    memset(c, 0, sizeof c);
    for (int i = 0; i < NALERTS; i++) {
        c[i].kind = GL_KIND_REQUEST;
        c[i].category = "repair";
    }
    submit_start(&c[0], "late-c", 0);
    ok(wait_in_flight(1, &coord), "(c) a request waits at the general worker");
    tl_sleep_ms(300); /* it is in the wait for the lock */
    before = txnid();
    for (int i = 1; i < NALERTS; i++)
        submit_start(&c[i], "late-c", i);
    ok(wait_in_flight(NALERTS, &coord), "(c) and %d more", NALERTS - 1);
    store_abort(&held);
    for (int i = 0; i < NALERTS; i++)
        pthread_join(c[i].thread, NULL);
    filed = 0;
    for (int i = 0; i < NALERTS; i++)
        filed += c[i].rc == 0 && c[i].filed.seq > 0 && !c[i].filed.duplicate;
    is_int(filed, NALERTS, "(c) every request is filed");
    commits = txnid() - before;
    is_int(commits, 2, "(c) in two commits: the first alone, the five that came during the "
           "wait in the next (%llu commits)", (unsigned long long)commits);
    is_int(broker_figure("in_flight"), 0, "(c) no job is left in flight");
    ok(tl_alive(alert_worker), "the alert worker is still running");

    /* (d) The commit of alerts taken late fails. */
    is_int(store_begin(test_store, 1, &held), 0, "(d) the test holds the store's writer again");
    submitter e[3];
    memset(e, 0, sizeof e);
    submit_start(&e[0], "late-e", 0);
    for (int i = 0; i < 120 && !heard_first(&coord, "late-e-0"); i++)
        pump(&coord, 50);
    tl_sleep_ms(200);
    submit_start(&e[1], "late-e", 1);
    submit_start(&e[2], "late-e", 2);
    ok(wait_in_flight(3, &coord), "(d) three alerts wait at the worker");
    /* As a full disk would: the worker may write nothing more. */
    is_int(set_fsize(alert_worker, 1), 0, "(d) the alert worker's file-size limit: nothing more");
    completed0 = broker_figure("counters.completed");
    store_abort(&held);
    for (int i = 0; i < 3; i++)
        pthread_join(e[i].thread, NULL);
    int refused = 0;
    for (int i = 0; i < 3; i++)
        refused += e[i].rc == GL_ESTORAGEFULL;
    is_int(refused, 3, "(d) each terminal is answered storage_full");
    is_int(broker_figure("counters.completed") - completed0, 3,
           "(d) the broker counted one answer per alert");
    is_int(broker_figure("in_flight"), 0, "(d) no job is left in flight");
    int told = 0;
    for (int r = 0; r < 50 && told < 3; r++) {
        pump(&coord, 100);
        told = 0;
        for (int i = 0; i < 3; i++)
            told += heard_count(&coord, e[i].id) == 1 &&
                    notice_count(&coord, e[i].id, "not_filed") == 1;
    }
    is_int(told, 3, "(d) the coordinators had each DISPATCH, then NOTICE not_filed, once");
    is_int(set_fsize(alert_worker, RLIM_INFINITY), 0, "(d) the limit is lifted");
    int refiled = 0;
    for (int i = 0; i < 3; i++) {
        e[i].done = 0;
        pthread_create(&e[i].thread, NULL, submit_thread, &e[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(e[i].thread, NULL);
        refiled += e[i].rc == 0 && e[i].filed.seq > 0 && !e[i].filed.duplicate;
    }
    is_int(refiled, 3, "(d) the terminals' retries file them, as new events: nothing was stored");
    ok(tl_alive(alert_worker), "(d) the alert worker lived through it");

    /* (e) No alert worker: the general worker's alert batch. */
    is_int(tl_stop(alert_worker), 0, "(e) the alert worker stops cleanly");
    tl_forget(alert_worker);
    nworkers = -1;
    for (int i = 0; i < 100 && nworkers != 1; i++) {
        proto_msg st;
        if (client_status(wf_terminal, &st, &wf_arena) == 0)
            nworkers = wf_figure_size(st.broker_figures, st.broker_figures_len, "workers");
        if (nworkers != 1)
            pump(&coord, 100); /* the coordinators stay present meanwhile */
    }
    is_int(nworkers, 1, "(e) the broker has the general worker only");
    is_int(store_begin(test_store, 1, &held), 0, "(e) the test holds the store's writer again");
    submitter d[3];
    memset(d, 0, sizeof d);
    d[1].kind = GL_KIND_REQUEST;
    d[1].category = "repair";
    submit_start(&d[0], "late-d", 0);
    for (int i = 0; i < 120 && !heard_first(&coord, "late-d-0"); i++)
        pump(&coord, 50);
    ok(heard_first(&coord, "late-d-0") != NULL,
       "(e) the alert's DISPATCH is out: the general worker waits for the writer");
    tl_sleep_ms(200);
    before = txnid();
    submit_start(&d[1], "late-d", 1);
    ok(wait_in_flight(2, &coord), "(e) a request waits behind it");
    submit_start(&d[2], "late-d", 2);
    ok(wait_in_flight(3, &coord), "(e) and then a second alert");
    store_abort(&held);
    for (int i = 0; i < 3; i++)
        pthread_join(d[i].thread, NULL);
    filed = 0;
    for (int i = 0; i < 3; i++)
        filed += d[i].rc == 0 && d[i].filed.seq > 0;
    is_int(filed, 3, "(e) all three are filed");
    ok(d[0].filed.seq < d[2].filed.seq && d[2].filed.seq < d[1].filed.seq,
       "(e) the first alert, then the second, then the request that came before it "
       "(seqs %llu, %llu, %llu)", (unsigned long long)d[0].filed.seq,
       (unsigned long long)d[2].filed.seq, (unsigned long long)d[1].filed.seq);
    commits = txnid() - before;
    is_int(commits, 3, "(e) each in a commit of its own (%llu commits)",
           (unsigned long long)commits);
    is_int(broker_figure("in_flight"), 0, "(e) no job is left in flight");

    client_listen_close(&grid.l);
    client_listen_close(&coord.l);
    store_close(&test_store);
    return wf_finish();
}
