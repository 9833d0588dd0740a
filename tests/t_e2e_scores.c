/* End to end: SCORES over a store larger than one read chunk (issue 5). The
 * test writes 5000 events straight into a fresh store (filed one every
 * 2 minutes over the last week, three communities in turn, some resolved,
 * some rated), starts the broker and a worker on it, and asks SCORES for
 * periods whose answers it computes itself: a period across many chunks,
 * one inside a chunk, one before everything, and the whole week — and
 * checks that an alert filed while the worker reads is answered. */
#include "support/workflow.h"

#include "../common/store.h"

#include <sys/wait.h>

#define N 5000
#define STEP_MS 120000ull

static const char *const communities[] = {"heping", "mingzhu", "xinsheng"};
static uint64_t base;

static int resolved_of(int i) { return i % 4 == 0; }
static const char *rating_of(int i) { return i % 10 == 0 ? (i % 20 == 0 ? "satisfied" : "unsatisfied") : NULL; }

static int fill(void)
{
    store *s = NULL;
    store_opts so = {.map_size = (size_t)256 << 20};
    if (store_open(wf_env.store, &so, &s) != 0)
        return -1;
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    for (int i = 0; rc == 0 && i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "sc-%05d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair",
                       .community = communities[i % 3], .text = "x",
                       .state = resolved_of(i) ? GL_EV_RESOLVED : GL_EV_DISPATCHED,
                       .rating = rating_of(i), .created_ms = base + (uint64_t)i * STEP_MS};
        ev.updated_ms = ev.created_ms;
        rc = store_event_add(t, &ev);
    }
    rc = rc == 0 ? store_commit(&t) : (store_abort(&t), rc);
    store_close(&s);
    return rc;
}

/* expect computes the figures of community c (NULL: all) for [since, until). */
static void expect(const char *c, uint64_t since, uint64_t until, long *events, long *resolved,
                   long *rated, long *satisfied)
{
    *events = *resolved = *rated = *satisfied = 0;
    for (int i = 0; i < N; i++) {
        uint64_t at = base + (uint64_t)i * STEP_MS;
        if (at < since || at >= until || (c && strcmp(c, communities[i % 3]) != 0))
            continue;
        (*events)++;
        *resolved += resolved_of(i);
        *rated += rating_of(i) != NULL;
        *satisfied += rating_of(i) && strcmp(rating_of(i), "satisfied") == 0;
    }
}

static long fig(const proto_msg *m, int total, const char *community, const char *key)
{
    char path[128];
    uint64_t v = 0;
    if (total) {
        if (wf_figure_u64(m->scores_total, m->scores_total_len, key, &v) != 0)
            return -1;
    } else {
        snprintf(path, sizeof path, "%s.%s", community, key);
        if (wf_figure_u64(m->scores, m->scores_len, path, &v) != 0)
            return -1;
    }
    return (long)v;
}

static void check_period(const char *what, uint64_t since, uint64_t until)
{
    proto_msg m;
    int rc = client_scores(wf_terminal, since, until, &m, &wf_arena);
    if (!ok(rc == 0, "%s: SCORES answers", what)) {
        diag("%s (%s)", gl_strerror(rc), client_reason(wf_terminal));
        return;
    }
    long e, r, ra, sa;
    expect(NULL, since, until, &e, &r, &ra, &sa);
    ok(fig(&m, 1, NULL, "events") == e && fig(&m, 1, NULL, "resolved") == r &&
           fig(&m, 1, NULL, "rated") == ra && fig(&m, 1, NULL, "satisfied") == sa,
       "%s: in all %ld events, %ld resolved, %ld of %ld rated satisfied (got %ld, %ld, %ld, %ld)",
       what, e, r, sa, ra, fig(&m, 1, NULL, "events"), fig(&m, 1, NULL, "resolved"),
       fig(&m, 1, NULL, "satisfied"), fig(&m, 1, NULL, "rated"));
    int all = 1;
    for (int c = 0; c < 3; c++) {
        expect(communities[c], since, until, &e, &r, &ra, &sa);
        long got = fig(&m, 0, communities[c], "events");
        all &= (e == 0 && got == -1) ||
               (got == e && fig(&m, 0, communities[c], "resolved") == r &&
                fig(&m, 0, communities[c], "rated") == ra &&
                fig(&m, 0, communities[c], "satisfied") == sa);
    }
    ok(all, "%s: and per community", what);
    ok(m.truncated == 0 && m.scanned == (uint64_t)fig(&m, 1, NULL, "events"),
       "%s: read to the end (%llu events read)", what, (unsigned long long)m.scanned);
}

int main(void)
{
    tl_setup(&wf_env, "scores");
    base = clock_wall_ms() - (uint64_t)N * STEP_MS;
    if (!ok(fill() == 0, "%d events written to a fresh store", N))
        return done_testing();
    if (wf_start(1, NULL) != 0) {
        printf("Bail out! broker and worker did not come up\n");
        return 1;
    }
    uint64_t now = clock_wall_ms();
    check_period("the whole week", base, now + 1);
    check_period("across chunks, [event 700, event 4300)", base + 700 * STEP_MS,
                 base + 4300 * STEP_MS);
    check_period("a few events inside a chunk", base + 10 * STEP_MS + 1, base + 14 * STEP_MS);
    check_period("before everything", base - 30 * 86400000ull, base - 86400000ull);

    /* An alert while the worker reads: answered, and the report too. */
    client *reader = NULL;
    proto_msg m;
    int rc = client_open(&reader, wf_env.intake, &wf_opts, NULL, 0);
    pid_t cli = rc == 0 ? tl_spawn(&wf_env, "gridline",
                                   (const char *const[]){"gridline", "--intake", wf_env.intake,
                                                         "scores", "--since", "8d", NULL})
                        : -1;
    client_filed f;
    gl_event alert = {.id = "sc-alert", .kind = GL_KIND_ALERT, .category = "fire",
                      .community = "heping", .grid = "heping-g1", .terminal = "desk",
                      .text = "火情", .urgency = "Immediate", .severity = "Severe"};
    is_int(client_submit(wf_terminal, &alert, &f), 0, "an alert filed while a report is read");
    is_int(client_scores(reader, base, now + 1, &m, &wf_arena), 0, "a second SCORES meanwhile");
    uint64_t until = clock_mono_ms() + 15000;
    int status = -1, reaped = 0;
    while (cli > 0 && !(reaped = waitpid(cli, &status, WNOHANG) == cli) &&
           clock_mono_ms() < until)
        tl_sleep_ms(20);
    if (reaped)
        tl_forget(cli);
    ok(reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "gridline scores --since 8d, run meanwhile, finished with exit 0");
    client_close(&reader);
    return wf_finish();
}
