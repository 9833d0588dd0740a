/* End to end: a worker stops promptly on SIGTERM, however long its
 * heartbeat. A restart is a stop and a start: the stop used to wait for the
 * watchdog thread's sleep (a whole heartbeat, 1 s by default), and a
 * SIGTERM taken by that thread left the main loop asleep until its poll
 * timed out (half a heartbeat). With a 10 s heartbeat either made the
 * stop take seconds. */
#include "../common/clock.h"
#include "support/testlib.h"
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

int main(void)
{
    tl_env env;
    tl_setup(&env, "stop");
    const char *slow[] = {"--heartbeat-ms", "10000", NULL};
    pid_t b = tl_broker(&env, NULL);
    pid_t w1 = tl_worker(&env, "w1", slow);
    pid_t w2 = tl_worker(&env, "w2", slow);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! service did not come up\n");
        return 1;
    }
    /* Both are now in their loops, the watchdog threads asleep for 10 s. */
    tl_sleep_ms(300);
    int s1 = -1, s2 = -1;
    long ms1 = stop_ms(w1, &s1), ms2 = stop_ms(w2, &s2);
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
