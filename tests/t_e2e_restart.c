/* End to end: stop everything with SIGTERM (clean exit), start again on the
 * same store, and a team that connects then receives what was still pending
 * — and not what it had already acknowledged. */
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define EVENTS 20
#define ACKED 5

int main(void)
{
    tl_env env;
    tl_setup(&env, "restart");
    pid_t b = tl_broker(&env, NULL);
    pid_t w1 = tl_worker(&env, "w1", NULL);
    pid_t w2 = tl_worker(&env, "w2", NULL);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! service did not come up\n");
        return 1;
    }
    client *c = NULL, *r = NULL;
    client_open(&c, env.intake, NULL, NULL, 0);
    client_open(&r, env.responders, NULL, NULL, 0);
    int filed = 0, acked = 0;
    for (int i = 0; i < EVENTS; i++) {
        char id[32];
        snprintf(id, sizeof id, "restart-%02d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "eldercare",
                       .community = "mingzhu", .grid = "mingzhu-g2", .text = "独居老人需要送餐"};
        client_filed f;
        filed += client_submit(c, &ev, &f) == 0;
        if (i < ACKED)
            acked += client_act(r, PROTO_ACK, id, "mingzhu-g2-team", "网格员", NULL, NULL) == 0;
    }
    is_int(filed, EVENTS, "%d requests filed while the team is not connected", EVENTS);
    is_int(acked, ACKED, "%d of them acknowledged (by a one-shot responder)", ACKED);
    client_close(&c);
    client_close(&r);

    int sb = tl_stop(b), s1 = tl_stop(w1), s2 = tl_stop(w2);
    ok(WIFEXITED(sb) && WEXITSTATUS(sb) == 0, "the broker exits 0 on SIGTERM");
    ok(WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && WIFEXITED(s2) && WEXITSTATUS(s2) == 0,
       "both workers exit 0 on SIGTERM");

    tl_broker(&env, NULL);
    tl_worker(&env, "w1", NULL);
    tl_worker(&env, "w2", NULL);
    ok(tl_wait_workers(&env, 10000) == 0, "the service starts again on the existing store");

    client_listener *l = NULL;
    ok(client_listen_open(&l, env.responders, "mingzhu-g2-team", "网格员", NULL, NULL, 0) == 0,
       "the team connects");
    int seen[EVENTS] = {0}, got = 0, wrong = 0;
    gl_arena a = {0};
    for (int waited = 0; waited < 3000; waited += 100) {
        proto_msg m;
        if (client_listen_next(l, 100, &m, &a) != 0 || m.cmd != PROTO_DISPATCH)
            continue;
        int i;
        if (sscanf(m.event, "restart-%d", &i) == 1 && i >= 0 && i < EVENTS) {
            if (i < ACKED)
                wrong++;
            else if (!seen[i]++)
                got++;
        }
    }
    is_int(got, EVENTS - ACKED, "every pending dispatch is delivered after the restart");
    is_int(wrong, 0, "none of the acknowledged ones is sent again");

    client_open(&c, env.intake, NULL, NULL, 0);
    proto_msg m;
    is_int(client_show(c, "restart-00", &m, &a), 0, "an event filed before the restart is shown");
    int has_ack = 0;
    for (size_t i = 0; i < m.nhistory; i++)
        has_ack |= strcmp(m.history[i].what, "acked") == 0;
    ok(has_ack && m.ndispatches == 1 && m.dispatches[0].state == GL_DS_ACKED,
       "with its dispatch still acknowledged and its history kept");
    client_close(&c);

    /* A second broker on the same ipc:// endpoints must not take them. */
    pid_t second = tl_broker(&env, NULL);
    int status = -1, exited = 0;
    for (int waited = 0; waited < 5000 && !exited; waited += 50) {
        exited = waitpid(second, &status, WNOHANG) == second;
        tl_sleep_ms(50);
    }
    if (exited)
        tl_forget(second);
    ok(exited && WIFEXITED(status) && WEXITSTATUS(status) != 0,
       "a second broker on the same endpoints refuses to start (exit %d)",
       exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    client_open(&c, env.intake, NULL, NULL, 0);
    is_int(client_show(c, "restart-00", &m, &a), 0, "and the running service still answers");
    client_close(&c);

    /* A worker of another service (another broker) on this service's store
     * is refused with a clear message; the store is untouched. */
    char other_ep[400];
    snprintf(other_ep, sizeof other_ep, "ipc://%s/other-workers.sock", env.dir);
    const char *const other_broker[] = {"--broker", other_ep, NULL};
    pid_t intruder = tl_worker(&env, "w-other", other_broker);
    exited = 0;
    for (int waited = 0; waited < 5000 && !exited; waited += 50) {
        exited = waitpid(intruder, &status, WNOHANG) == intruder;
        tl_sleep_ms(50);
    }
    if (exited)
        tl_forget(intruder);
    ok(exited && WIFEXITED(status) && WEXITSTATUS(status) == 1,
       "a worker of another broker on the same store refuses to start (exit %d)",
       exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    char cmd[700], said[600] = "";
    snprintf(cmd, sizeof cmd, "grep -h 'belongs to another service' '%s'/gridline-worker.*.log",
             env.dir);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(said, sizeof said, p))
            said[0] = '\0';
        pclose(p);
    }
    ok(strstr(said, "belongs to another service") && strstr(said, "workers.sock"),
       "its log says why, naming the service that has the store");
    client_open(&c, env.intake, NULL, NULL, 0);
    is_int(client_show(c, "restart-00", &m, &a), 0, "the service goes on with its store");
    client_close(&c);
    client_listen_close(&l);
    arena_free(&a);
    return done_testing();
}
