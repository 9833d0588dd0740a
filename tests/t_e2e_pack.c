/* End to end: routine work packed onto one worker while a worker is kept for
 * alerts (issue 7, "one writer, whole batches"; PROTOCOL.md, READY). A real
 * broker, two general workers and one started with --lanes alert. What a
 * user would see in the workers' logs (each logs the events it files):
 *
 *   - a burst of routine SUBMITs, fewer than a worker's credit, is filed by
 *     one general worker; the other files none;
 *   - a burst above that credit spills over: both file some, every one is
 *     FILED once;
 *   - with the packing worker SIGKILLed, the other takes the next burst;
 *   - alerts still go to the alert worker.
 * Without a worker kept for alerts, the routine window keeps each worker's
 * share small and work is spread as before (t_e2e_backpressure). */
#include "support/raw.h"
#include "support/testlib.h"

#include "../common/clock.h"

static tl_env env;
static gl_arena arena;
static void *zctx;

/* filed_by: "event ... filed" lines in worker name's log whose id starts
 * with prefix. */
static int filed_by(const char *name, const char *prefix)
{
    char who[40], what[80];
    snprintf(who, sizeof who, "worker:%s: event %s", name, prefix);
    snprintf(what, sizeof what, " filed: ");
    return tl_log_count(env.dir, "gridline-worker", who, what);
}

/* total_filed waits (at most 5 s) until the workers' logs hold want "filed"
 * lines for ids starting with prefix (a worker writes its log lines just
 * before it sends the replies, so a FILED may arrive first), and returns
 * how many they hold. */
static int total_filed(const char *prefix, int want)
{
    int n = 0;
    for (int waited = 0; waited <= 5000; waited += 20) {
        n = filed_by("w1", prefix) + filed_by("w2", prefix) + filed_by("wa", prefix);
        if (n >= want)
            break;
        tl_sleep_ms(20);
    }
    return n;
}

/* burst sends n routine SUBMITs (ids PREFIX-k) at once on one socket and
 * reads replies for at most 30 s; returns how many were FILED. */
static int burst(const char *prefix, int n)
{
    void *s = raw_open(zctx, env.intake);
    char id[64];
    for (int k = 0; k < n; k++) {
        snprintf(id, sizeof id, "%s-%04d", prefix, k);
        raw_submit(s, (uint64_t)k + 1, id, GL_KIND_REQUEST, "repair", "楼道灯不亮了");
    }
    int filed = 0, other = 0;
    uint64_t until = clock_mono_ms() + 30000;
    while (filed + other < n && clock_mono_ms() < until) {
        proto_msg r;
        arena_reset(&arena);
        int cmd = raw_recv(s, 500, &r, &arena);
        if (cmd == PROTO_FILED)
            filed++;
        else if (cmd != PROTO_NONE)
            other++;
    }
    if (other)
        diag("%d replies to %s were not FILED", other, prefix);
    zmq_close(s);
    return filed;
}

/* Waits until the broker has logged worker name ready (at most 10 s). */
static int ready(const char *name)
{
    char what[64];
    snprintf(what, sizeof what, "worker %s ready", name);
    for (int waited = 0; waited < 10000; waited += 20) {
        if (tl_log_count(env.dir, "gridline-broker", what, ""))
            return 1;
        tl_sleep_ms(20);
    }
    return 0;
}

int main(void)
{
    tl_setup(&env, "pack");
    zctx = zmq_ctx_new();
    const char *const alert_only[] = {"--lanes", "alert", NULL};
    /* A small credit, so that a burst of 900 cannot fit in the first
     * worker's share however fast it files: with 300, a slow broker (the
     * sanitizer build on a loaded machine) could read the burst no faster
     * than the first worker filed it, and nothing spilled over. */
    const char *const credit[] = {"--credit", "32", NULL};
    tl_broker(&env, NULL);
    pid_t wa = tl_worker(&env, "wa", alert_only);
    ok(ready("wa"), "the alert worker is ready");
    pid_t w1 = tl_worker(&env, "w1", credit);
    ok(ready("w1"), "w1 is ready");
    pid_t w2 = tl_worker(&env, "w2", credit);
    ok(ready("w2"), "w2 is ready");

    /* 1. Under one worker's credit (32, less the alert reserve of 4): packed. */
    is_int(burst("pa", 20), 20, "a burst of 20 routine SUBMITs: every one FILED");
    total_filed("pa-", 20);
    int a1 = filed_by("w1", "pa-"), a2 = filed_by("w2", "pa-");
    ok((a1 == 20 && a2 == 0) || (a1 == 0 && a2 == 20),
       "one general worker filed all 20, the other none (w1 %d, w2 %d)", a1, a2);
    is_int(filed_by("wa", "pa-"), 0, "the alert worker filed no routine event");
    const char *first = a1 ? "w1" : "w2", *second = a1 ? "w2" : "w1";
    pid_t first_pid = a1 ? w1 : w2;

    /* 2. Above it: spill-over to the second. */
    is_int(burst("pb", 900), 900, "a burst of 900: every one FILED");
    total_filed("pb-", 900);
    int b1 = filed_by(first, "pb-"), b2 = filed_by(second, "pb-");
    ok(b1 > 0 && b2 > 0, "above the first worker's credit both file (%s %d, %s %d)", first, b1,
       second, b2);
    is_int(b1 + b2, 900, "each of the 900 filed once");

    /* 3. The packing worker gone: the other takes the work. */
    tl_kill9(first_pid);
    tl_forget(first_pid);
    is_int(burst("pc", 100), 100, "with the first worker killed, a burst of 100: every one FILED");
    total_filed("pc-", 100);
    is_int(filed_by(second, "pc-"), 100, "the standing-by worker filed them all");

    /* 4. Alerts still go to the worker kept for them. */
    void *s = raw_open(zctx, env.intake);
    raw_submit(s, 1, "pack-alert-1", GL_KIND_ALERT, "fire", "三楼冒烟");
    proto_msg r;
    is_int(raw_recv(s, 5000, &r, &arena), PROTO_FILED, "an alert is FILED");
    zmq_close(s);
    total_filed("pack-alert-1", 1);
    is_int(filed_by("wa", "pack-alert-1"), 1, "by the alert worker");

    (void)wa;
    zmq_ctx_term(zctx);
    arena_free(&arena);
    return done_testing();
}
