/* End to end: a batch whose commit fails sends none of the DISPATCHes its
 * outbox kept for after the commit (workers/outbody.c, worker_flush), and
 * its FILED becomes the commit's error (guarantees 1 and 3: nothing is
 * told before the commit is durable, and what a failed commit queued is
 * dropped).
 *
 * The only worker, w1, runs with tests/support/failsync.c preloaded and
 * --meta-after-lock: when the test asks, the flush after its next commit
 * fails with EIO (as a failing disk would), and store_commit reports
 * GL_ESTORAGE. A listener for the grid team hears:
 *
 *   1. a request filed before: its FILED, and its DISPATCH at the grid
 *      team (the listener works);
 *   2. a request whose commit's flush fails: an ERROR storage to the
 *      terminal, never FILED, and no DISPATCH of it at the grid team while
 *      the test listens (the worker then leaves; no other worker is there
 *      to resend the dispatch record the commit wrote). */
#include "support/preload.h"
#include "support/raw.h"
#include "support/workflow.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define GRID_TEAM "heping-g1-team"

/* dispatch_of listens to team for up to ms: 1 when a DISPATCH of event id
 * arrived (other messages are skipped). */
static int dispatch_of(client_listener *l, const char *id, int ms, gl_arena *arena)
{
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    for (int n = 0; n < 10000 && clock_mono_ms() < until; n++) {
        proto_msg m;
        if (client_listen_next(l, 50, &m, arena) != 0)
            continue;
        if (m.cmd == PROTO_DISPATCH && m.event && strcmp(m.event, id) == 0)
            return 1;
    }
    return 0;
}

/* reply_to waits up to ms for the reply to rid on sock: its command
 * (*out filled in), or PROTO_NONE. */
static int reply_to(void *sock, uint64_t rid, int ms, proto_msg *out, gl_arena *arena)
{
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    for (int n = 0; n < 1000 && clock_mono_ms() < until; n++) {
        int cmd = raw_recv(sock, 100, out, arena);
        if (cmd != PROTO_NONE && out->rid == rid)
            return cmd;
    }
    return PROTO_NONE;
}

int main(void)
{
    char lib[PATH_MAX + 16], trigger[600];
    if (tl_lib_path(lib, sizeof lib, "failsync.so") != 0) {
        printf("Bail out! failsync.so is not next to the test (make builds it)\n");
        return 1;
    }
    tl_setup(&wf_env, "outbodyfail");
    snprintf(trigger, sizeof trigger, "%s/fail-next-sync", wf_env.dir);
    tl_broker(&wf_env, (const char *const[]){"--liveness", "30", NULL});
    tl_worker_preloaded(&wf_env, "w1", lib, (const char *const[]){"GL_FAILSYNC", trigger, NULL},
                        (const char *const[]){"--meta-after-lock", NULL});
    if (tl_wait_workers(&wf_env, 10000) != 0 || wf_open_clients(NULL) != 0) {
        printf("Bail out! the service did not come up\n");
        return 1;
    }
    client_listener *grid = NULL;
    char err[256] = "";
    ok(client_listen_open(&grid, wf_env.responders, GRID_TEAM, "网格员 钱静", &wf_opts, err,
                          sizeof err) == 0,
       "the grid team listens (%s)", err);
    void *ctx = zmq_ctx_new();
    void *raw = raw_open(ctx, wf_env.intake);
    gl_arena arena;
    memset(&arena, 0, sizeof arena);

    /* 1. A commit that holds. */
    proto_msg m;
    raw_submit(raw, 1, "obf-1", GL_KIND_REQUEST, "repair", NULL);
    int cmd = reply_to(raw, 1, 10000, &m, &arena);
    ok(cmd == PROTO_FILED && m.ev.seq > 0, "a request is filed (%s)", proto_cmd_name(cmd));
    ok(grid && dispatch_of(grid, "obf-1", 10000, &arena),
       "and its DISPATCH reaches the grid team");

    /* 2. A commit whose flush fails. */
    FILE *t = fopen(trigger, "w");
    ok(t != NULL, "the next flush after a commit is to fail");
    if (t)
        fclose(t);
    raw_submit(raw, 2, "obf-2", GL_KIND_REQUEST, "repair", NULL);
    cmd = reply_to(raw, 2, 10000, &m, &arena);
    ok(cmd == PROTO_ERROR && m.code == (uint32_t)-GL_ESTORAGE,
       "the request whose commit's flush failed is answered with a storage error, not FILED "
       "(%s %u)",
       proto_cmd_name(cmd), m.code);
    struct stat st;
    ok(stat(trigger, &st) != 0 && errno == ENOENT,
       "the failure was injected into that commit's flush");
    ok(grid && !dispatch_of(grid, "obf-2", 2000, &arena),
       "no DISPATCH of it reaches the grid team: the failed commit's outbox was dropped");

    client_listen_close(&grid);
    zmq_close(raw);
    zmq_ctx_term(ctx);
    arena_free(&arena);
    return wf_finish();
}
