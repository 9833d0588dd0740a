/* End to end: the flush after a commit fails (store.c, store_sync). The
 * worker runs with tests/support/failsync.c preloaded, which makes that one
 * fdatasync fail with EIO when the test asks (as a failing disk would), after
 * LMDB has committed the transaction:
 *
 *   1. an event filed before is answered FILED;
 *   2. the SUBMIT whose commit's flush fails is answered with a storage
 *      error, not FILED (the terminal retries), and so is the next one: the
 *      worker's store refuses all work once a flush failed; the worker
 *      lives and logs why;
 *   3. restarted (without the failure), the worker answers the retry with
 *      the first answer (duplicate, the seq after the first event's: the
 *      transaction was committed), the next event gets the next seq, and
 *      `gridline fsck` finds the store consistent. */
#include "support/workflow.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static client *strict; /* a terminal that does not retry: every error shows */
static char trigger[600], worker_log[600];

static gl_event request(const char *id)
{
    gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair",
                   .community = "heping", .grid = "heping-g1", .terminal = WF_TERMINAL,
                   .text = "楼道灯坏了", .contact = WF_CONTACT};
    return ev;
}

static int submit(const char *id, client_filed *f)
{
    gl_event ev = request(id);
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

/* failsync_path finds failsync.so next to this test's program. */
static int failsync_path(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(out, len, "%s/failsync.so", self) >= len)
        return -1;
    return access(out, R_OK);
}

/* start_failing_worker starts w1 with failsync.so preloaded, the trigger
 * file named by GL_FAILSYNC (in the environment of that process only). */
static pid_t start_failing_worker(const char *lib)
{
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_opts[512];
    /* A sanitized worker wants its runtime first among the libraries. */
    snprintf(asan_opts, sizeof asan_opts, "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("LD_PRELOAD", lib, 1);
    setenv("GL_FAILSYNC", trigger, 1);
    setenv("ASAN_OPTIONS", asan_opts, 1);
    /* The flush after the lock is --meta-after-lock's (by default LMDB's
     * full sync flushes the meta page under the lock). */
    const char *const args[] = {"--meta-after-lock", NULL};
    pid_t pid = tl_worker(&wf_env, "w1", args);
    unsetenv("LD_PRELOAD");
    unsetenv("GL_FAILSYNC");
    if (asan)
        setenv("ASAN_OPTIONS", asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    /* testlib numbers the logs: the broker 1, this worker 2. */
    snprintf(worker_log, sizeof worker_log, "%s/gridline-worker.2.log", wf_env.dir);
    return pid;
}

int main(void)
{
    char lib[PATH_MAX + 16];
    if (failsync_path(lib, sizeof lib) != 0) {
        printf("Bail out! failsync.so is not next to the test (make builds it)\n");
        return 1;
    }
    tl_setup(&wf_env, "syncfail");
    snprintf(trigger, sizeof trigger, "%s/fail-next-sync", wf_env.dir);
    tl_broker(&wf_env, NULL);
    pid_t worker = start_failing_worker(lib);
    if (tl_wait_workers(&wf_env, 10000) != 0) {
        printf("Bail out! the worker did not come up\n");
        return 1;
    }
    if (wf_open_clients(&strict) != 0) {
        printf("Bail out! cannot open the clients\n");
        return 1;
    }

    client_filed f;
    is_int(submit("syncfail-1", &f), 0, "an event is filed");
    uint64_t first = f.seq;
    ok(first > 0, "with a seq (%llu)", (unsigned long long)first);

    FILE *t = fopen(trigger, "w");
    ok(t != NULL, "the next flush after a commit is to fail");
    if (t)
        fclose(t);
    int rc = submit("syncfail-2", &f);
    is_int(rc, GL_ESTORAGE, "the SUBMIT whose flush failed is answered with a storage error, not FILED");
    diag("reason: %s", client_reason(strict));
    struct stat st;
    ok(stat(trigger, &st) != 0 && errno == ENOENT, "the failure was injected into that commit's flush");
    is_int(submit("syncfail-3", &f), GL_ESTORAGE, "so is the next SUBMIT: the worker's store refuses all work");
    ok(tl_alive(worker), "the worker lives");
    ok(log_has("the flush after a commit failed: Input/output error"), "and its log says why");

    is_int(tl_stop(worker), 0, "the worker stops cleanly");
    tl_worker(&wf_env, "w2", NULL);
    ok(tl_wait_workers(&wf_env, 10000) == 0, "a worker restarted without the failure comes up");
    rc = submit("syncfail-2", &f);
    is_int(rc, 0, "the retry is answered FILED");
    ok(f.duplicate && f.seq == first + 1,
       "with the first answer: duplicate, seq %llu (the transaction was committed; got %d, %llu)",
       (unsigned long long)(first + 1), f.duplicate, (unsigned long long)f.seq);
    is_int(submit("syncfail-3", &f), 0, "the next event is filed");
    ok(!f.duplicate && f.seq == first + 2, "as new, with the next seq (%llu)", (unsigned long long)f.seq);
    rc = wf_cli((const char *[]){"fsck", "--data", wf_env.store, NULL});
    ok(rc == 0 && wf_out_has("consistent"), "gridline fsck finds the store consistent");
    client_close(&strict);
    return wf_finish();
}
