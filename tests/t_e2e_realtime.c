/* End to end: --realtime (issue 3, "strict priority end to end"). On two
 * busy cores every thread an alert wakes waits for a CPU behind routine work;
 * the broker and a worker kept for the alert lane may run under SCHED_RR so
 * that they are woken at once. The test starts them so, with a general
 * worker beside them, and checks from /proc what a user would check with
 * `chrt -p` or `ps -L -o cls`: every thread of the broker (ZeroMQ's I/O
 * threads included) and of the alert worker is SCHED_RR at the priority
 * asked for, except the broker's HTTP server, which serves people, and the
 * general worker stays ordinary; an alert still reaches the coordinators and
 * is filed. Where the test may not use SCHED_RR itself (no CAP_SYS_NICE),
 * it checks instead that the service starts anyway, ordinary, and says why
 * in its log. Out-of-range priorities are refused. */
#include "support/http.h"
#include "support/raw.h"
#include "support/workflow.h"

#include <dirent.h>
#include <sched.h>

#include "../common/rtsched.h"

#define COORD "county-coordinators"

typedef struct thread_classes {
    int threads, rr_at_prio, ordinary, other;
} thread_classes;

/* Reads the policy (field 41) and rt_priority (field 40) of every thread of
 * pid from /proc/PID/task/TID/stat. */
static thread_classes classes_of(pid_t pid, int prio)
{
    thread_classes c = {0};
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return c;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char stat_path[400], buf[1024];
        snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, e->d_name);
        FILE *f = fopen(stat_path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')'); /* the name may hold spaces */
        if (!p)
            continue;
        /* p + 2 is field 3; walk to field 40. */
        long field = 3, rt_prio = -1, policy = -1;
        for (const char *q = p + 2; *q; q++) {
            if (field == 40 && rt_prio < 0)
                rt_prio = strtol(q, NULL, 10);
            if (field == 41) {
                policy = strtol(q, NULL, 10);
                break;
            }
            if (*q == ' ')
                field++;
        }
        c.threads++;
        if (policy == SCHED_RR && rt_prio == prio)
            c.rr_at_prio++;
        else if (policy == SCHED_OTHER)
            c.ordinary++;
        else
            c.other++;
    }
    closedir(d);
    return c;
}

static int refused(const char *prog, const char *opt, const char *value)
{
    char out[2048];
    const char *const argv[] = {prog, opt, value, NULL};
    return tl_run(&wf_env, prog, argv, out, sizeof out, 5000);
}

static void tl_bail(const char *why)
{
    printf("Bail out! %s\n", why);
    exit(1);
}

int main(void)
{
    tl_setup(&wf_env, "realtime");
    is_int(refused("gridline-broker", "--realtime", "100"), 2, "broker: --realtime 100 is refused");
    is_int(refused("gridline-worker", "--realtime", "-1"), 2, "worker: --realtime -1 is refused");

    /* May this test itself run real-time? Then so may the service. */
    char why[256];
    int permitted = sched_realtime(7, why, sizeof why) == 0;
    sched_ordinary();

    char addr[32];
    ht_port = ht_free_port();
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ht_port);
    const char *const broker_extra[] = {"--realtime", "7", "--http", addr, NULL};
    const char *const alert_extra[] = {"--lanes", "alert", "--realtime", "7", NULL};
    pid_t broker = tl_broker(&wf_env, broker_extra);
    pid_t general = tl_worker(&wf_env, "w1", NULL);
    pid_t alert_worker = tl_worker(&wf_env, "walert", alert_extra);
    if (tl_wait_workers(&wf_env, 10000) != 0)
        tl_bail("broker and workers did not come up");
    client_opts_init(&wf_opts);
    wf_opts.timeout_ms = 3000;
    if (client_open(&wf_terminal, wf_env.intake, &wf_opts, NULL, 0) != 0 ||
        client_open(&wf_responder, wf_env.responders, &wf_opts, NULL, 0) != 0)
        tl_bail("no terminal");
    if (wf_listen(COORD, "值班员") < 0)
        tl_bail("no coordinator listener");
    /* The HTTP server starts its threads when it starts; ask a page so that
     * every thread is there before the count. */
    ht_reply r;
    int got = ht_request("GET", "/api/status", &r, 5000);
    ok(got == 0 && r.status == 200, "the broker serves its HTTP pages (%d)", r.status);
    ht_reply_free(&r);

    thread_classes b = classes_of(broker, 7), a = classes_of(alert_worker, 7),
                   g = classes_of(general, 7);
    if (permitted) {
        ok(b.threads >= 3 && b.rr_at_prio >= 2 && b.other == 0,
           "broker: its main and ZeroMQ threads run SCHED_RR at priority 7 (%d of %d threads)",
           b.rr_at_prio, b.threads);
        ok(b.ordinary >= 1, "broker: its HTTP server's threads stay ordinary (%d)", b.ordinary);
        ok(a.threads >= 2 && a.rr_at_prio == a.threads,
           "alert worker: every thread SCHED_RR at priority 7 (%d of %d)", a.rr_at_prio,
           a.threads);
        ok(g.threads >= 1 && g.ordinary == g.threads,
           "general worker: every thread ordinary (%d of %d)", g.ordinary, g.threads);
    } else {
        diag("this test may not use SCHED_RR (%s): checking the fallback", why);
        ok(b.rr_at_prio == 0 && a.rr_at_prio == 0, "broker and alert worker run ordinary");
        ok(tl_log_count(wf_env.dir, "gridline-broker", "running with ordinary scheduling", ""),
           "the broker's log says it runs with ordinary scheduling, and why");
    }

    client_filed f;
    is_int(wf_submit("rt-alert-1", GL_KIND_ALERT, "fire", "heping", NULL, "heping-g1", &f), 0,
           "an alert is filed");
    WF_WAIT_FOR(wf_heard(COORD, PROTO_DISPATCH, "rt-alert-1", NULL), 3000);
    ok(wf_heard(COORD, PROTO_DISPATCH, "rt-alert-1", NULL) != NULL,
       "the coordinators have the alert");
    is_int(tl_stop(alert_worker), 0, "the real-time alert worker stops cleanly on SIGTERM");
    is_int(tl_stop(broker), 0, "the real-time broker stops cleanly on SIGTERM");
    tl_forget(alert_worker);
    tl_forget(broker);
    (void)general;
    return done_testing();
}
