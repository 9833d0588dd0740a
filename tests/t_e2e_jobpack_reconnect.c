/* End to end: the broker dies while a worker still holds JOBs the broker
 * sent it packed (session 8), and is started again on the same endpoints.
 *
 * A worker that takes its JOBs packed may hold part of a PACK between two
 * commits: a PACK larger than its --batch. That happens when the broker
 * hands it a backlog at once, e.g. when the worker connects while work
 * waits. If the broker then dies, the worker, once the broker has been
 * silent for liveness x heartbeat, connects anew and must let go of what
 * it holds (worker_carried_drop, workers/take.c): those jobs were numbered
 * by the dead broker, and a restarted broker numbers its jobs afresh, so
 * answering them on the new connection answers jobs the new broker never
 * handed out. Their terminals resend (PROTOCOL.md §11), and the resends
 * are filed, or found filed, under the same id.
 *
 * Here three terminals queue 240 SUBMITs in a broker with no worker; a
 * worker (--batch 4) connects and gets them as one PACK. Its commits are
 * made slow (tests/support/slowsync.c, at least 50 ms each), so it
 * provably still holds most of that PACK when the broker, killed with
 * SIGKILL at the first FILED, has been silent for 300 ms. What users
 * notice, checked:
 *
 * - the worker said it dropped the jobs of the old connection (the path
 *   ran), and survived; no error in its log;
 * - the new broker, before any terminal has resent anything, forwards no
 *   reply at all: nothing of the old broker's jobs comes through it. The
 *   terminals name their connections (ZMQ_ROUTING_ID), so such a reply
 *   would reach them and be counted, not dropped as one to a connection
 *   the new broker does not know;
 * - the terminals resend what was not answered (same id, same rid) until
 *   FILED: every one of the 240 is answered FILED, none with an error, and
 *   every answer for an id carries the seq of the first; those the worker
 *   filed after the broker died (their FILED died with it) come back as
 *   filed before, not filed again;
 * - the store holds each event exactly once, under the seq its terminal
 *   was told: 240 events, no second record. */
#include "../common/clock.h"
#include "../common/store.h"
#include "../proto/client.h"
#include "support/jobpack_support.h"
#include "support/preload.h"
#include "support/raw.h"
#include "support/testlib.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TERMINALS 3
#define PER_TERMINAL 80
#define TOTAL (TERMINALS * PER_TERMINAL)
#define SLOW_MS "50"

static tl_env env;
static void *zctx;

/* A terminal: its named connection and what it was told of each event. */
typedef struct terminal {
    void *sock;
    char name[32];
    uint64_t seq[PER_TERMINAL]; /* the seq of the first FILED; 0: not answered yet */
} terminal;

static terminal terms[TERMINALS];

/* What came back, besides the first FILED of each event. */
static struct {
    int filed_again, seq_differs, errors, busy, other;
    int first_as_duplicate; /* first FILEDs that said duplicate: filed, answer lost */
} seen;

static void event_id(char *out, size_t len, int t, int i)
{
    snprintf(out, len, "jr-%d-%03d", t, i);
}

/* The rid of event i of terminal t: one per event, kept when it is resent. */
static uint64_t event_rid(int t, int i)
{
    return (uint64_t)t * 1000 + (uint64_t)i + 1;
}

static int answered(void)
{
    int n = 0;
    for (int t = 0; t < TERMINALS; t++)
        for (int i = 0; i < PER_TERMINAL; i++)
            n += terms[t].seq[i] != 0;
    return n;
}

/* take_reply notes one reply to terminal t. */
static void take_reply(int t, int cmd, const proto_msg *m)
{
    int i = (int)(m->rid % 1000) - 1;
    if (cmd == PROTO_FILED && m->rid / 1000 == (uint64_t)t && i >= 0 && i < PER_TERMINAL) {
        uint64_t *seq = &terms[t].seq[i];
        if (*seq == 0) {
            *seq = m->ev.seq;
            seen.first_as_duplicate += m->duplicate != 0;
        } else if (*seq != m->ev.seq) {
            seen.seq_differs++;
        } else {
            seen.filed_again++;
        }
    } else if (cmd == PROTO_ERROR) {
        seen.errors++;
        diag("terminal %d: ERROR %u %s (rid %llu)", t, m->code, m->reason ? m->reason : "",
             (unsigned long long)m->rid);
    } else if (cmd == PROTO_BUSY) {
        seen.busy++;
    } else {
        seen.other++;
        diag("terminal %d: unexpected %s (rid %llu)", t, proto_cmd_name(cmd),
             (unsigned long long)m->rid);
    }
}

/* collect reads the terminals' replies for up to ms (or until every event
 * is answered, when until_all); how many replies came. */
static int collect(int ms, int until_all)
{
    gl_arena a = {0};
    int got = 0;
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    for (int n = 0; n < 100000 && clock_mono_ms() < until; n++) {
        if (until_all && answered() == TOTAL)
            break;
        zmq_pollitem_t items[TERMINALS];
        for (int t = 0; t < TERMINALS; t++)
            items[t] = (zmq_pollitem_t){terms[t].sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, TERMINALS, 20) <= 0)
            continue;
        for (int t = 0; t < TERMINALS; t++) {
            proto_msg m;
            int cmd;
            while (items[t].revents & ZMQ_POLLIN &&
                   (cmd = raw_recv(terms[t].sock, 0, &m, &a)) != PROTO_NONE) {
                take_reply(t, cmd, &m);
                got++;
                arena_reset(&a);
            }
        }
    }
    arena_free(&a);
    return got;
}

/* send_unanswered sends (again) the SUBMIT of every event not answered
 * yet, with its id and rid; how many. */
static int send_unanswered(void)
{
    int sent = 0;
    for (int t = 0; t < TERMINALS; t++)
        for (int i = 0; i < PER_TERMINAL; i++)
            if (terms[t].seq[i] == 0) {
                char id[32];
                event_id(id, sizeof id, t, i);
                jp_send_submit(terms[t].sock, id, "request", "楼道灯坏了", event_rid(t, i));
                sent++;
            }
    return sent;
}

/* routine_waiting: the broker's routine lane depth from STATUS, or
 * UINT64_MAX. */
static uint64_t routine_waiting(client *c)
{
    gl_arena a = {0};
    proto_msg m;
    uint64_t v = UINT64_MAX;
    if (client_status(c, &m, &a) == 0)
        v = jp_figure(m.broker_figures, m.broker_figures_len, "lanes.routine.depth");
    arena_free(&a);
    return v;
}

/* dropped_jobs: the jobs the worker said it let go of on a new connection
 * (the sum over its log lines of worker_carried_drop), or -1 for no line. */
static long dropped_jobs(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    long total = -1;
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "dropped ");
        long n;
        if (p && strstr(line, "before the reconnection") && sscanf(p, "dropped %ld job", &n) == 1)
            total = (total < 0 ? 0 : total) + n;
    }
    if (f)
        fclose(f);
    return total;
}

/* The worker, with slowsync.so preloaded and the slow file named in its
 * environment only: a batch smaller than the PACK, and the broker thought
 * silent after 3 x 100 ms. */
static pid_t start_slow_worker(const char *slow)
{
    char lib[4200];
    if (tl_lib_path(lib, sizeof lib, "slowsync.so") != 0) {
        printf("Bail out! slowsync.so is not next to the test (make builds it)\n");
        exit(1);
    }
    return tl_worker_preloaded(
        &env, "w1", lib, (const char *const[]){"GL_SLOWSYNC", slow, "GL_SLOWSYNC_MS", SLOW_MS, NULL},
        (const char *const[]){"--batch", "4", "--heartbeat-ms", "100", "--liveness", "3", NULL});
}

int main(void)
{
    tl_setup(&env, "jobpackreconnect");
    char slow[400], worker_log[400];
    snprintf(slow, sizeof slow, "%s/slow", env.dir);
    FILE *sf = fopen(slow, "w");
    if (!sf) {
        printf("Bail out! cannot write %s\n", slow);
        return 1;
    }
    fclose(sf);
    /* The old broker: its heartbeat far off, so that nothing it sends the
     * worker follows the PACK before it dies (a message waiting would keep
     * the worker from thinking it silent until the PACK was done); and a
     * routine window that lets the whole backlog go out at once. */
    pid_t b1 = tl_broker(&env, (const char *const[]){"--heartbeat-ms", "5000",
                                                     "--routine-window", "500", NULL});
    if (tl_wait_ready(&env, 10000) != 0) {
        printf("Bail out! the broker did not come up\n");
        return 1;
    }
    zctx = zmq_ctx_new();
    client *status = NULL;
    client_open(&status, env.intake, NULL, NULL, 0);

    /* 1. The terminals' work waits in the broker: no worker yet. */
    for (int t = 0; t < TERMINALS; t++) {
        snprintf(terms[t].name, sizeof terms[t].name, "jr-terminal-%d", t);
        terms[t].sock = jp_dealer(zctx, env.intake, terms[t].name, 2000);
    }
    is_int(send_unanswered(), TOTAL, "three terminals send %d SUBMITs", TOTAL);
    uint64_t waiting = 0;
    for (int i = 0; i < 250 && (waiting = routine_waiting(status)) != TOTAL; i++)
        tl_sleep_ms(20);
    is_int((long)waiting, TOTAL, "all %d wait in the broker's routine lane", TOTAL);

    /* 2. The worker connects and gets them as one PACK; at its first FILED
     * the broker is killed. */
    uint64_t t0 = clock_mono_ms();
    pid_t w = start_slow_worker(slow);
    snprintf(worker_log, sizeof worker_log, "%s/gridline-worker.2.log", env.dir);
    for (int i = 0; i < 1000 && answered() == 0; i++)
        collect(10, 0);
    tl_kill9(b1);
    int before = answered();
    diag("first FILED %llu ms after the worker started; broker killed",
         (unsigned long long)(clock_mono_ms() - t0));
    ok(before > 0 && before < TOTAL,
       "the broker is killed with SIGKILL mid-stream: %d of %d answered FILED", before, TOTAL);

    /* 3. The worker finds the broker silent and connects anew, dropping
     * what it still held of the PACK. */
    for (int i = 0; i < 250 && tl_log_count(env.dir, "gridline-worker", "broker silent", "") == 0;
         i++)
        collect(20, 0); /* what the old broker forwarded before it died */
    collect(100, 0);
    long dropped = dropped_jobs(worker_log);
    ok(dropped > 0, "the worker, connecting anew, let go of the %ld job(s) of the old broker "
                    "it still held in a PACK", dropped);
    int told = answered();
    diag("%d answered FILED before the old broker's connection went", told);

    /* 4. The broker again, on the same endpoints; nothing is resent yet. */
    pid_t b2 = tl_broker(&env, (const char *const[]){"--heartbeat-ms", "100", NULL});
    if (tl_wait_ready(&env, 10000) != 0) {
        printf("Bail out! the broker did not come up again\n");
        return 1;
    }
    int stray = collect(1000, 0);
    is_int(stray, 0, "before the terminals resend, the new broker forwards no reply: none for "
                     "a job of the old one");
    remove(slow);

    /* 5. The terminals resend what was not answered until it is FILED. */
    int rounds = 0;
    uint64_t until = clock_mono_ms() + 12000;
    while (answered() < TOTAL && rounds < 8 && clock_mono_ms() < until) {
        int sent = send_unanswered();
        rounds++;
        collect(2500, 1);
        diag("round %d: %d resent, %d of %d answered", rounds, sent, answered(), TOTAL);
    }
    diag("%d FILED again for events answered before (a resend crossing its reply)",
         seen.filed_again);
    is_int(answered(), TOTAL, "every event is answered FILED in the end (%d rounds of resends)",
           rounds);
    is_int(seen.errors, 0, "no ERROR reply");
    is_int(seen.seq_differs, 0, "every FILED of an id carries the seq of its first answer");
    ok(seen.first_as_duplicate > 0,
       "%d events the worker filed after the old broker died, their FILED lost with it, come "
       "back FILED as filed before (duplicate), not filed again", seen.first_as_duplicate);
    is_int(seen.other + seen.busy, 0, "no other reply");

    /* 6. The store: each event once, under the seq its terminal was told. */
    store *st = NULL;
    store_txn *txn = NULL;
    store_opts ro = {.read_only = 1};
    if (store_open(env.store, &ro, &st) != 0 || store_begin(st, 0, &txn) != 0) {
        printf("Bail out! cannot open the store\n");
        return 1;
    }
    int matched = 0;
    for (int t = 0; t < TERMINALS; t++)
        for (int i = 0; i < PER_TERMINAL; i++) {
            char id[32];
            uint64_t seq = 0;
            event_id(id, sizeof id, t, i);
            if (store_event_find(txn, id, &seq) == 0 && seq == terms[t].seq[i])
                matched++;
            else
                diag("%s: in the store under %llu, told %llu", id, (unsigned long long)seq,
                     (unsigned long long)terms[t].seq[i]);
        }
    store_stats stats;
    store_get_stats(txn, &stats);
    is_int(matched, TOTAL, "every event is in the store under the seq its terminal was told");
    is_int((long)stats.events, TOTAL, "the store holds exactly %d events: no second record",
           TOTAL);
    store_abort(&txn);
    store_close(&st);

    /* 7. The processes. */
    ok(tl_alive(w), "the worker is the one that started: it never died");
    ok(tl_alive(b2), "the new broker is alive");
    is_int(tl_log_count(env.dir, "gridline-worker", " ERROR ", ""), 0,
           "the worker logged no error");
    is_int(tl_log_count(env.dir, "gridline-worker", "from the broker", ""), 0,
           "nor anything bad from the broker");
    is_int(tl_log_count(env.dir, "gridline-broker", "from a worker", ""), 0,
           "and the brokers nothing bad from a worker");

    for (int t = 0; t < TERMINALS; t++)
        zmq_close(terms[t].sock);
    client_close(&status);
    zmq_ctx_term(zctx);
    return done_testing();
}
