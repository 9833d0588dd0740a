/* End to end: the flush after a commit fails (store.c, store_sync), and the
 * worker leaves (workers/main.c, worker_leave). The alert-lane worker w1
 * runs with tests/support/failsync.c preloaded, which makes that one
 * fdatasync fail with EIO when the test asks (as a failing disk would),
 * after LMDB has committed the transaction, and holds it inside that flush
 * until the test lets go. A general worker w2, without the preload, shares
 * the store and the broker. The broker's liveness is 30 s, so that only
 * the worker's BYE can hand its jobs over within the test's time.
 *
 *   1. an alert filed before is answered FILED;
 *   2. the alert whose commit's flush fails is answered with a storage
 *      error, never FILED (the terminal retries); an alert sent while w1
 *      was inside that flush, in flight at w1, is handed back by w1's BYE
 *      and filed by w2;
 *   3. w1 exits with status 75, promptly, and its log says why;
 *   4. with no alert-lane worker left, the next alert and the next request
 *      are filed by the general worker;
 *   5. restarted (without the failure), w1 answers the retry of the failed
 *      alert with the first answer (duplicate, the seq after the first
 *      event's: the transaction was committed), and `gridline fsck` finds
 *      the store consistent. */
#include "support/preload.h"
#include "support/raw.h"
#include "support/workflow.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_STORE_FAILED 75 /* gridline-worker's status after a failed flush */

static client *strict; /* a terminal that does not retry: every error shows */
static char trigger[600], hold[600], worker_log[600];

static int submit(const char *id, int kind, client_filed *f)
{
    gl_event ev = {.id = id, .kind = kind, .category = kind == GL_KIND_ALERT ? "fall" : "repair",
                   .community = "heping", .grid = "heping-g1", .terminal = WF_TERMINAL,
                   .text = "楼道灯坏了", .contact = WF_CONTACT};
    memset(f, 0, sizeof *f);
    return client_submit(strict, &ev, f);
}

static int log_has(const char *needle)
{
    FILE *f = fopen(worker_log, "r");
    char line[2048];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* start_failing_worker starts w1, the alert-lane worker, with failsync.so
 * preloaded, the trigger and hold files named by GL_FAILSYNC and
 * GL_FAILSYNC_HOLD (in the environment of that process only). */
static pid_t start_failing_worker(const char *lib)
{
    /* The flush after the lock is --meta-after-lock's (by default LMDB's
     * full sync flushes the meta page under the lock). */
    const char *const args[] = {"--meta-after-lock", "--lanes", "alert", NULL};
    pid_t pid = tl_worker_preloaded(
        &wf_env, "w1", lib,
        (const char *const[]){"GL_FAILSYNC", trigger, "GL_FAILSYNC_HOLD", hold, NULL}, args);
    /* testlib numbers the logs: the broker 1, this worker 2. */
    snprintf(worker_log, sizeof worker_log, "%s/gridline-worker.2.log", wf_env.dir);
    return pid;
}

/* wait_ready waits until the broker has logged READY from worker name n
 * times (at most timeout_ms); 0 or -1. */
static int wait_ready(const char *name, int n, int timeout_ms)
{
    char needle[64];
    snprintf(needle, sizeof needle, "worker %s ready", name);
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (tl_log_count(wf_env.dir, "gridline-broker", needle, "") >= n)
            return 0;
        tl_sleep_ms(20);
    }
    return -1;
}

/* broker_figure reads a figure of the broker's STATUS (dotted path); 0 or -1. */
static int broker_figure(const char *path, uint64_t *v)
{
    proto_msg m;
    if (client_status(wf_terminal, &m, &wf_arena) != 0)
        return -1;
    return wf_figure_u64(m.broker_figures, m.broker_figures_len, path, v);
}

/* wait_exit reaps pid within timeout_ms: its wait status, or -1 if it is
 * still running. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        tl_sleep_ms(10);
    }
    return -1;
}

/* The replies to the two SUBMITs sent raw: rid 1 and rid 2. */
static int reply_cmd[3];
static proto_msg reply[3];

static void read_replies(void *sock, gl_arena *arena, int timeout_ms)
{
    uint64_t until = clock_mono_ms() + (uint64_t)timeout_ms;
    while ((!reply_cmd[1] || !reply_cmd[2]) && clock_mono_ms() < until) {
        proto_msg m;
        int cmd = raw_recv(sock, (int)(until - clock_mono_ms()) + 1, &m, arena);
        if (cmd != PROTO_NONE && m.rid >= 1 && m.rid <= 2 && !reply_cmd[m.rid]) {
            reply_cmd[m.rid] = cmd;
            reply[m.rid] = m;
        }
    }
}

int main(void)
{
    char lib[PATH_MAX + 16];
    if (tl_lib_path(lib, sizeof lib, "failsync.so") != 0) {
        printf("Bail out! failsync.so is not next to the test (make builds it)\n");
        return 1;
    }
    tl_setup(&wf_env, "syncfail");
    snprintf(trigger, sizeof trigger, "%s/fail-next-sync", wf_env.dir);
    snprintf(hold, sizeof hold, "%s/inside-the-failing-sync", wf_env.dir);
    const char *const broker_args[] = {"--liveness", "30", NULL};
    tl_broker(&wf_env, broker_args);
    pid_t worker = start_failing_worker(lib);
    tl_worker(&wf_env, "w2", NULL);
    if (tl_wait_workers(&wf_env, 10000) != 0 || wait_ready("w1", 1, 10000) != 0) {
        printf("Bail out! the workers did not come up\n");
        return 1;
    }
    if (wf_open_clients(&strict) != 0) {
        printf("Bail out! cannot open the clients\n");
        return 1;
    }

    client_filed f;
    is_int(submit("syncfail-1", GL_KIND_ALERT, &f), 0, "an alert is filed");
    uint64_t first = f.seq;
    ok(first > 0, "with a seq (%llu)", (unsigned long long)first);

    /* 2. The failing flush, and an alert in flight at w1 meanwhile. */
    void *ctx = zmq_ctx_new();
    void *raw = raw_open(ctx, wf_env.intake);
    gl_arena arena;
    memset(&arena, 0, sizeof arena);
    FILE *t = fopen(trigger, "w");
    ok(t != NULL, "the next flush after a commit is to fail");
    if (t)
        fclose(t);
    raw_submit(raw, 1, "syncfail-2", GL_KIND_ALERT, "fall", NULL);
    struct stat st;
    int inside = 0;
    for (int waited = 0; waited < 10000 && !inside; waited += 10) {
        inside = stat(hold, &st) == 0;
        if (!inside)
            tl_sleep_ms(10);
    }
    ok(inside, "the alert-lane worker is inside the flush of that alert's commit");
    raw_submit(raw, 2, "syncfail-3", GL_KIND_ALERT, "fall", NULL);
    uint64_t in_flight = 0;
    for (int waited = 0; waited < 10000 && in_flight < 2; waited += 20) {
        if (broker_figure("in_flight", &in_flight) != 0 || in_flight < 2)
            tl_sleep_ms(20);
    }
    is_int((int)in_flight, 2, "the next alert is in flight at that worker too");
    unlink(hold);
    read_replies(raw, &arena, 15000);
    ok(reply_cmd[1] == PROTO_ERROR && reply[1].code == (uint32_t)-GL_ESTORAGE,
       "the alert whose flush failed is answered with a storage error, not FILED (%s %u)",
       proto_cmd_name(reply_cmd[1]), reply[1].code);
    ok(stat(trigger, &st) != 0 && errno == ENOENT, "the failure was injected into that commit's flush");
    ok(reply_cmd[2] == PROTO_FILED && !reply[2].duplicate && reply[2].ev.seq > first,
       "the alert in flight at it is filed by the other worker (%s, seq %llu)",
       proto_cmd_name(reply_cmd[2]), (unsigned long long)reply[2].ev.seq);

    /* 3. The worker left, with its status. */
    int status = wait_exit(worker, 10000);
    ok(status != -1, "the worker exits within 10 s of the failed flush");
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == EXIT_STORE_FAILED,
       "with exit status %d (wait status %d)", EXIT_STORE_FAILED, status);
    if (status != -1)
        tl_forget(worker);
    ok(log_has("the flush after a commit failed: Input/output error"), "its log says why");
    ok(log_has("leaving with exit status 75"), "and that it leaves");
    ok(tl_log_count(wf_env.dir, "gridline-broker", "worker w1 left (it said BYE)",
                    "1 in-flight jobs handed back") == 1,
       "the broker handed its unanswered job over at its BYE");

    /* 4. No alert-lane worker: the general worker takes the alerts. */
    is_int(submit("syncfail-4", GL_KIND_ALERT, &f), 0, "the next alert is filed");
    ok(!f.duplicate && f.seq > first, "as new (seq %llu)", (unsigned long long)f.seq);
    is_int(submit("syncfail-5", GL_KIND_REQUEST, &f), 0, "and so is the next request");
    uint64_t left = 0, lost = 1;
    ok(broker_figure("counters.workers_left", &left) == 0 && left == 1 &&
           broker_figure("counters.workers_lost", &lost) == 0 && lost == 0,
       "the broker counts the worker as having left, not lost (%llu, %llu)",
       (unsigned long long)left, (unsigned long long)lost);

    /* 5. Restarted without the failure. */
    const char *const alert_lane[] = {"--lanes", "alert", NULL};
    tl_worker(&wf_env, "w1", alert_lane);
    ok(wait_ready("w1", 2, 10000) == 0, "the alert-lane worker restarted without the failure comes up");
    int rc = submit("syncfail-2", GL_KIND_ALERT, &f);
    is_int(rc, 0, "the retry of the failed alert is answered FILED");
    ok(f.duplicate && f.seq == first + 1,
       "with the first answer: duplicate, seq %llu (the transaction was committed; got %d, %llu)",
       (unsigned long long)(first + 1), f.duplicate, (unsigned long long)f.seq);
    rc = wf_cli((const char *[]){"fsck", "--data", wf_env.store, NULL});
    ok(rc == 0 && wf_out_has("consistent"), "gridline fsck finds the store consistent");
    zmq_close(raw);
    zmq_ctx_term(ctx);
    arena_free(&arena);
    client_close(&strict);
    return wf_finish();
}
