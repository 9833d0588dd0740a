/* bench_status — issue 5: "`gridline status` answers in under 50 ms with a
 * million events filed (a benchmark prints it)".
 *
 * Fills a fresh store with 1,000,000 events straight through the store API
 * (50,000 per transaction; filing times spread over the last 30 days, one
 * in 2,000 an alert left unanswered so the alarm index has entries), starts
 * the broker and a worker on it, waits until the worker's REPORT says a
 * million, then times `gridline status` run as an operator runs it (a new
 * process each time, connect, STATUS, print) over 50 calls, the STATUS round
 * trip alone in-process, and SCORES for the last day (~33,000 events read)
 * and the last 7 days, and alerts filed while a worker reads 30 days for
 * SCORES. Prints p50 / p99 / max.
 *
 *   GRIDLINE_BIN=$PWD/bin GRIDLINE_DATA=$PWD/data build/rel/bench/bench_status [--events N]
 */
#include "../common/clock.h"
#include "../common/store.h"
#include "../proto/client.h"
#include "../tests/support/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALLS 50
#define PER_TXN 50000
#define DAY_MS 86400000ull

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *us, size_t n)
{
    qsort(us, n, sizeof *us, cmp_u64);
    size_t p99 = (size_t)((double)n * 0.99 + 0.999999) - 1;
    printf("%-44s p50 %8.2f ms   p99 %8.2f ms   max %8.2f ms   (%zu calls)\n", what,
           (double)us[(n - 1) / 2] / 1000.0, (double)us[p99 < n ? p99 : n - 1] / 1000.0,
           (double)us[n - 1] / 1000.0, n);
}

/* run_status runs bin/gridline status as an operator would and reads its
 * output until it exits (blocking reads: no polling delay in the figure).
 * Returns the exit status, or -1. */
static int run_status(const tl_env *env, char *out, size_t len)
{
    char prog[512];
    snprintf(prog, sizeof prog, "%s/gridline", env->bin);
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(prog, "gridline", "--intake", env->intake, "status", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while ((n = read(fds[0], out + used, len - 1 - used)) > 0 && used + (size_t)n < len - 1)
        used += (size_t)n;
    if (n > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static int fill(const char *dir, long total)
{
    store *s = NULL;
    store_opts so = {.map_size = (size_t)4096 << 20};
    int rc = store_open(dir, &so, &s);
    if (rc != 0) {
        fprintf(stderr, "store_open: %s\n", gl_strerror(rc));
        return rc;
    }
    static const char *const communities[] = {"heping", "mingzhu", "xinsheng"};
    uint64_t now = clock_wall_ms(), start = now - 30 * DAY_MS, t0 = clock_mono_ms();
    for (long done = 0; done < total && rc == 0;) {
        store_txn *t = NULL;
        if ((rc = store_begin(s, 1, &t)) != 0)
            break;
        for (long i = 0; i < PER_TXN && done < total && rc == 0; i++, done++) {
            char id[32];
            /* time-ordered ids, as gridline's own clients make them */
            snprintf(id, sizeof id, "bench-%010ld", done);
            int alert = done % 2000 == 0;
            gl_event ev = {.id = id, .kind = alert ? GL_KIND_ALERT : GL_KIND_REQUEST,
                           .category = alert ? "fall" : "repair",
                           .community = communities[done % 3], .grid = NULL,
                           .terminal = "bench-desk",
                           .text = "楼道灯不亮了，麻烦尽快来修一下。The stair light is out.",
                           .contact = "139-0000-0000", .state = GL_EV_DISPATCHED,
                           .created_ms = start + (uint64_t)((double)done / (double)total * 30 * DAY_MS)};
            ev.updated_ms = ev.created_ms;
            if (alert)
                ev.alarm = "unanswered";
            rc = store_event_add(t, &ev);
            if (rc == 0 && alert)
                rc = store_alarm_set(t, ev.seq, "unanswered");
        }
        if (rc == 0)
            rc = store_commit(&t);
        else
            store_abort(&t);
    }
    store_close(&s);
    printf("filled %ld events in %.1f s (%d per transaction)\n", total,
           (double)(clock_mono_ms() - t0) / 1000.0, PER_TXN);
    return rc;
}

int main(int argc, char **argv)
{
    long total = 1000000;
    if (argc == 3 && strcmp(argv[1], "--events") == 0)
        total = atol(argv[2]);
    if (total < 1) {
        fprintf(stderr, "usage: bench_status [--events N]\n");
        return 2;
    }
    tl_env env;
    tl_setup(&env, "bench-status");
    if (fill(env.store, total) != 0)
        return 1;
    tl_broker(&env, NULL);
    tl_worker(&env, "w1", NULL);
    if (tl_wait_workers(&env, 30000) != 0) {
        fprintf(stderr, "the broker and worker did not come up\n");
        return 1;
    }
    client *c = NULL;
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 10000;
    gl_arena arena = {0};
    if (client_open(&c, env.intake, &o, NULL, 0) != 0)
        return 1;
    /* Wait for the REPORT that counts them all. */
    uint64_t until = clock_mono_ms() + 30000, events = 0;
    while (clock_mono_ms() < until) {
        proto_msg m;
        arena_reset(&arena);
        if (client_status(c, &m, &arena) == 0 && m.store_figures) {
            msgpack_unpacked u;
            msgpack_unpacked_init(&u);
            size_t off = 0;
            if (msgpack_unpack_next(&u, m.store_figures, m.store_figures_len, &off) ==
                    MSGPACK_UNPACK_SUCCESS &&
                u.data.type == MSGPACK_OBJECT_MAP)
                for (uint32_t i = 0; i < u.data.via.map.size; i++) {
                    msgpack_object_kv *kv = &u.data.via.map.ptr[i];
                    if (kv->key.via.str.size == 6 && memcmp(kv->key.via.str.ptr, "events", 6) == 0)
                        events = kv->val.via.u64;
                }
            msgpack_unpacked_destroy(&u);
            if (events == (uint64_t)total)
                break;
        }
        tl_sleep_ms(200);
    }
    printf("the workers report %llu events filed\n", (unsigned long long)events);
    if (events != (uint64_t)total)
        return 1;

    uint64_t us[CALLS];
    static char out[1 << 16];
    for (int i = 0; i < CALLS; i++) {
        uint64_t t0 = clock_mono_us();
        int rc = run_status(&env, out, sizeof out);
        us[i] = clock_mono_us() - t0;
        if (rc != 0) {
            fprintf(stderr, "gridline status failed (%d): %.300s\n", rc, out);
            return 1;
        }
    }
    const char *line = strstr(out, "events");
    printf("gridline status says: %.*s\n", line ? (int)strcspn(line, "\n") : 0, line ? line : "");
    report("`gridline status` (a new process each call)", us, CALLS);
    for (int i = 0; i < CALLS; i++) {
        proto_msg m;
        arena_reset(&arena);
        uint64_t t0 = clock_mono_us();
        client_status(c, &m, &arena);
        us[i] = clock_mono_us() - t0;
    }
    report("STATUS round trip (client API)", us, CALLS);
    static const struct {
        const char *what;
        uint64_t span;
    } periods[] = {{"SCORES, last day (~1/30 of the events)", DAY_MS},
                   {"SCORES, last 7 days", 7 * DAY_MS}};
    for (size_t p = 0; p < 2; p++) {
        uint64_t sus[5];
        proto_msg m;
        for (int i = 0; i < 5; i++) {
            arena_reset(&arena);
            uint64_t now = clock_wall_ms(), t0 = clock_mono_us();
            int rc = client_scores(c, now - periods[p].span, now + 1, &m, &arena);
            sus[i] = clock_mono_us() - t0;
            if (rc != 0) {
                fprintf(stderr, "SCORES: %s (%s)\n", gl_strerror(rc), client_reason(c));
                return 1;
            }
        }
        char what[96];
        snprintf(what, sizeof what, "%s: %llu read", periods[p].what,
                 (unsigned long long)m.scanned);
        report(what, sus, 5);
    }

    /* Alerts while a worker reads a month for SCORES: it reads in chunks
     * between which its loop goes round, so an alert waits for one chunk at
     * most. With one worker every alert lands on the worker reading. */
    char since[32];
    snprintf(since, sizeof since, "%llu", (unsigned long long)(clock_wall_ms() - 30 * DAY_MS));
    pid_t reader = tl_spawn(&env, "gridline",
                            (const char *const[]){"gridline", "--intake", env.intake, "scores",
                                                  "--since", "30d", "--timeout", "30000",
                                                  "--retries", "0", NULL});
    tl_sleep_ms(100);
    uint64_t alert_us[40];
    size_t nalerts = 0;
    for (int i = 0; i < 40; i++) {
        char id[32];
        snprintf(id, sizeof id, "bench-alert-%d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_ALERT, .category = "fire",
                       .community = "heping", .grid = "heping-g1", .terminal = "bench-desk",
                       .text = "fire", .urgency = "Immediate", .severity = "Severe"};
        client_filed f;
        uint64_t t0 = clock_mono_us();
        if (client_submit(c, &ev, &f) == 0)
            alert_us[nalerts++] = clock_mono_us() - t0;
        tl_sleep_ms(20);
    }
    int reader_status = tl_stop(reader);
    (void)reader_status;
    if (nalerts)
        report("alert SUBMIT→FILED during a 30-day SCORES", alert_us, nalerts);
    client_close(&c);
    arena_free(&arena);
    return 0;
}
