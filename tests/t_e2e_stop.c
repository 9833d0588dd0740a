/* End to end: a worker stops promptly on SIGTERM, however long its
 * heartbeat. A restart is a stop and a start: the stop used to wait for the
 * watchdog thread's sleep (a whole heartbeat, 1 s by default), and a
 * SIGTERM taken by that thread left the main loop asleep until its poll
 * timed out (half a heartbeat). With a 10 s heartbeat either made the
 * stop take seconds. A stopped worker says BYE: the broker forgets it at
 * once, not after liveness heartbeats of silence (30 s here), so the jobs
 * it had not read go to the other workers at once. */
#include "../common/clock.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "support/workflow.h"
#include "tap.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

/* stop_ms sends SIGTERM to pid and waits for it (at most 8 s); returns the
 * ms it took, or -1 when it had to be killed. *status gets its status. */
static long stop_ms(pid_t pid, int *status)
{
    uint64_t t0 = clock_mono_ms();
    kill(pid, SIGTERM);
    for (int waited = 0; waited < 8000; waited += 5) {
        if (waitpid(pid, status, WNOHANG) == pid) {
            tl_forget(pid);
            return (long)(clock_mono_ms() - t0);
        }
        tl_sleep_ms(5);
    }
    tl_kill9(pid);
    return -1;
}

/* counter reads a broker's STATUS counter; UINT64_MAX when it cannot. */
static uint64_t counter(client *term, const char *path)
{
    gl_arena arena = {0};
    proto_msg m;
    uint64_t v = UINT64_MAX;
    if (client_status(term, &m, &arena) == 0 &&
        wf_figure_u64(m.broker_figures, m.broker_figures_len, path, &v) != 0)
        v = UINT64_MAX;
    arena_free(&arena);
    return v;
}

int main(void)
{
    tl_env env;
    tl_setup(&env, "stop");
    const char *slow[] = {"--heartbeat-ms", "10000", NULL};
    /* The broker's liveness too is 3 × 10 s: only a BYE makes it forget a
     * worker within the test. */
    const char *broker_slow[] = {"--heartbeat-ms", "10000", NULL};
    pid_t b = tl_broker(&env, broker_slow);
    pid_t w1 = tl_worker(&env, "w1", slow);
    pid_t w2 = tl_worker(&env, "w2", slow);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! service did not come up\n");
        return 1;
    }
    /* Both are now in their loops, the watchdog threads asleep for 10 s. */
    tl_sleep_ms(300);
    client *term = NULL;
    client_open(&term, env.intake, NULL, NULL, 0);
    ok(term && counter(term, "counters.workers_left") == 0, "no worker has left yet");
    int s1 = -1, s2 = -1;
    long ms1 = stop_ms(w1, &s1);
    /* Only w1's BYE can make the broker count it lost within 2 s. */
    uint64_t left = UINT64_MAX;
    for (int i = 0; i < 100 && (left = counter(term, "counters.workers_left")) != 1; i++)
        tl_sleep_ms(20);
    is_int((int)left, 1, "the broker forgets the stopped worker at once (it said BYE)");
    is_int((int)counter(term, "counters.workers_lost"), 0,
           "and counts it as having left, not as lost: a stop raises no alarm");
    client_close(&term);
    long ms2 = stop_ms(w2, &s2);
    diag("the workers stopped in %ld and %ld ms", ms1, ms2);
    ok(ms1 >= 0 && WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && ms2 >= 0 && WIFEXITED(s2) &&
           WEXITSTATUS(s2) == 0,
       "both workers exit 0 on SIGTERM");
    /* Generous for a loaded machine; the old wait was about 9.7 s. */
    ok(ms1 >= 0 && ms1 < 3000 && ms2 >= 0 && ms2 < 3000,
       "each stops within 3 s although its heartbeat is 10 s");
    tl_stop(b);
    return done_testing();
}
