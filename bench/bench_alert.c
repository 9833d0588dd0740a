/* bench_alert — how long an emergency alert takes from a terminal's SUBMIT
 * to the county coordinators' listener, with no load and during a flood of
 * routine requests (DESIGN.md §4 guarantee 4, "Emergencies first").
 *
 * It starts the real broker and workers on ipc:// endpoints in a fresh
 * temporary store with the demo county, then:
 *
 *   phase 1, no load:  one alert terminal submits --alerts alerts, one at a
 *                      time, one every --pace-ms;
 *   phase 2, flood:    --terminals routine terminals each keep --inflight
 *                      SUBMITs in flight for --duration seconds (raw DEALER
 *                      sockets, replies matched by rid, BUSY honoured), and
 *                      meanwhile the alert terminal submits the same number
 *                      of alerts, spread over the flood.
 *
 * For every alert it takes the time just before the SUBMIT, when FILED came
 * back, and when the DISPATCH reached a listener present as team
 * "county-coordinators" (a thread of this process with its own ZeroMQ
 * context: one monotonic clock for all three). It prints a table and one
 * JSON line. Exit status: 0 once the figures are printed, good or bad; 1 if
 * the service did not come up or a phase saw no alert reach the
 * coordinators; 2 for bad options. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/clock.h"
#include "../common/gl.h"
#include "../common/opts.h"
#include "../common/rtsched.h"
#include "../proto/client.h"
#include "../proto/frame.h"
#include "../proto/proto.h"
#include "../tests/support/testlib.h"
#include "bench_flood.h"
#include "bench_util.h"

#define COORD_TEAM "county-coordinators"
#define WARMUP_ALERTS 20
#define MAX_WORKERS 8
#define RECEIPT_WAIT_MS 3000   /* after the last FILED, for stragglers */

typedef struct bench_cfg {
    long alerts, terminals, inflight, duration_s, payload, pace_ms, workers, alert_workers, routine_nice, realtime, client_realtime;
    int quick;
    const char *broker_args, *worker_args, *trace_path;
} bench_cfg;

static tl_env env;
static bench_cfg cfg;
/* Whether --realtime took: the broker and every alert-lane worker. */
static char rt_state[160] = "ordinary scheduling";
static int rt_in_effect;
static char payload_text[GL_MAX_TEXT + 1];

/* ---- alerts: one record each, shared with the listener thread ---- */

typedef struct alert_rec {
    char id[40];                /* the event id (time-ordered: wall µs first) */
    uint64_t sent_us, filed_us; /* written by the alert terminal only */
    _Atomic uint64_t coord_us;  /* the listener: first DISPATCH to the coordinators */
    int rc;                     /* client_submit's result; 1 = never sent */
} alert_rec;

static alert_rec *alert_recs;
static long alert_total;

/* ---- the coordinator listener thread ---- */

typedef struct listener_state {
    atomic_int ready; /* 1 welcomed, -1 failed */
    atomic_int stop;
    char err[256];
    uint64_t dispatches, repeats, foreign, notices;
    int reconnects;
} listener_state;

static listener_state listener;

static void listener_on_dispatch(const proto_msg *m, uint64_t now)
{
    const char *p = m->event ? strstr(m->event, "-alert-") : NULL;
    if (!p || !m->team || strcmp(m->team, COORD_TEAM) != 0) {
        listener.foreign++;
        return;
    }
    char *end;
    unsigned long index = strtoul(p + 7, &end, 10);
    if (*end || (long)index >= alert_total) {
        listener.foreign++;
        return;
    }
    uint64_t zero = 0;
    listener.dispatches++;
    if (!atomic_compare_exchange_strong(&alert_recs[index].coord_us, &zero, now))
        listener.repeats++; /* a resend: at least once, not exactly once */
}

/* With --client-realtime the alert terminal and the coordinator listener, with
 * their ZeroMQ I/O threads, run real-time too: they stand for devices on
 * other machines, so their own wait for one of these two busy CPUs is not
 * the service's latency. The routine flood terminals stay ordinary. */
static void bench_client_rt(void)
{
    char why[256];
    if (cfg.client_realtime > 0 &&
        sched_realtime((int)cfg.client_realtime, why, sizeof why) != 0)
        fprintf(stderr, "bench_alert: %s\n", why);
}

static void *listener_main(void *arg)
{
    (void)arg;
    bench_client_rt();
    client_opts o;
    client_opts_init(&o); /* a private ZeroMQ context for this thread */
    o.timeout_ms = 2000;
    o.retries = 3;
    client_listener *l = NULL;
    if (client_listen_open(&l, env.responders, COORD_TEAM, "bench-coordinator", &o,
                           listener.err, sizeof listener.err) != 0) {
        atomic_store(&listener.ready, -1);
        return NULL;
    }
    atomic_store(&listener.ready, 1);
    gl_arena arena = {0};
    while (!atomic_load(&listener.stop)) {
        proto_msg m;
        arena_reset(&arena);
        int rc = client_listen_next(l, 50, &m, &arena);
        uint64_t now = clock_mono_us();
        if (rc != 0) {
            tl_sleep_ms(10);
            continue;
        }
        if (m.cmd == PROTO_DISPATCH)
            listener_on_dispatch(&m, now);
        else if (m.cmd == PROTO_NOTICE)
            listener.notices++;
    }
    listener.reconnects = client_listen_reconnects(l);
    client_listen_close(&l);
    arena_free(&arena);
    return NULL;
}

/* ---- process accounting around a phase ---- */

typedef struct proc_ref {
    const char *name;
    pid_t pid; /* 0: this process */
} proc_ref;

static proc_ref procs[2 + 2 * MAX_WORKERS];
static int nprocs;

typedef struct usage_snap {
    bu_usage u[2 + 2 * MAX_WORKERS];
    bu_machine machine;
    uint64_t mono_us;
} usage_snap;

static void usage_take(usage_snap *s)
{
    for (int i = 0; i < nprocs; i++)
        bu_proc_usage(procs[i].pid, &s->u[i]);
    bu_machine_sample(&s->machine);
    s->mono_us = clock_mono_us();
}

/* ---- results of one phase ---- */

typedef struct lat3 {
    uint64_t p50, p99, max; /* µs */
    size_t n;
} lat3;

typedef struct phase_result {
    const char *name;
    int flood;
    long first, planned, sent, filed, at_coord, failed;
    lat3 coord, filed_lat;
    int first_err;
    char first_reason[200];
    double wall_s;
    usage_snap start, end;
    /* routine flood */
    uint64_t r_sent, r_filed, r_window_filed, r_busy, r_errors, r_dups, r_resends, r_stale,
        r_unanswered;
    uint32_t r_first_err;
    char r_first_reason[200];
    double r_per_s, r_window_s;
    bu_hist r_lat, r_busy_hint;
} phase_result;

static lat3 summarize(uint64_t *v, size_t n)
{
    lat3 l = {0, 0, 0, n};
    qsort(v, n, sizeof *v, bu_cmp_u64);
    l.p50 = bu_percentile(v, n, 50);
    l.p99 = bu_percentile(v, n, 99);
    l.max = n ? v[n - 1] : 0;
    return l;
}

/* ---- the alert terminal (main thread) ---- */

static void alert_event(long index, gl_event *ev, char *id, size_t idlen, char *term,
                        size_t termlen)
{
    const place *pl = &places[index % NPLACES];
    int k = (int)(index % (long)GL_ARRAY_LEN(alert_kinds));
    snprintf(id, idlen, "%012" PRIx64 "-alert-%ld", wall_us(), index);
    snprintf(term, termlen, "%s-phone", pl->grid);
    memset(ev, 0, sizeof *ev);
    ev->id = id;
    ev->kind = GL_KIND_ALERT;
    ev->category = alert_kinds[k].category;
    ev->text = alert_kinds[k].text;
    ev->community = pl->community;
    ev->grid = pl->grid;
    ev->terminal = term;
    ev->contact = "139-0952-0000";
    ev->urgency = "Immediate";
    ev->severity = "Severe";
    ev->certainty = "Observed";
}

/* Submits alerts first..first+count-1 one at a time, the n-th no earlier
 * than start + n * interval_us, none once stop_at (0: no limit) has passed. */
static int alert_run(long first, long count, uint64_t interval_us, uint64_t stop_at,
                     phase_result *r)
{
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 2500;
    o.retries = 2;
    client *c = NULL;
    char err[256];
    bench_client_rt();
    if (client_open(&c, env.intake, &o, err, sizeof err) != 0) {
        fprintf(stderr, "bench_alert: cannot open the alert terminal: %s\n", err);
        sched_ordinary();
        return -1;
    }
    uint64_t start = clock_mono_us();
    for (long n = 0; n < count; n++) {
        uint64_t due = start + (uint64_t)n * interval_us, now = clock_mono_us();
        if (stop_at && now >= stop_at)
            break;
        if (due > now)
            bu_sleep_us(due - now);
        alert_rec *a = &alert_recs[first + n];
        gl_event ev;
        char term[GL_MAX_ID + 1];
        alert_event(first + n, &ev, a->id, sizeof a->id, term, sizeof term);
        client_filed f;
        a->sent_us = clock_mono_us();
        a->rc = client_submit(c, &ev, &f);
        a->filed_us = clock_mono_us();
        r->sent++;
        if (a->rc == 0)
            r->filed++;
        else if (r->failed++ == 0) {
            r->first_err = a->rc;
            snprintf(r->first_reason, sizeof r->first_reason, "%s", client_reason(c));
        }
    }
    client_close(&c);
    sched_ordinary();
    return 0;
}

/* The DISPATCH leaves after the same commit as FILED but travels another
 * path: waits up to RECEIPT_WAIT_MS for the coordinator's last copies. */
static void alert_wait_receipts(const phase_result *r)
{
    uint64_t give_up = clock_mono_us() + RECEIPT_WAIT_MS * 1000u;
    for (;;) {
        long missing = 0;
        for (long n = 0; n < r->sent; n++)
            if (alert_recs[r->first + n].rc == 0 &&
                !atomic_load(&alert_recs[r->first + n].coord_us))
                missing++;
        if (!missing || clock_mono_us() >= give_up)
            return;
        tl_sleep_ms(5);
    }
}

static void alert_summarize(phase_result *r)
{
    uint64_t *coord = calloc((size_t)r->sent + 1, sizeof *coord);
    uint64_t *filed = calloc((size_t)r->sent + 1, sizeof *filed);
    size_t nc = 0, nf = 0;
    for (long n = 0; coord && filed && n < r->sent; n++) {
        alert_rec *a = &alert_recs[r->first + n];
        uint64_t at = atomic_load(&a->coord_us);
        if (a->rc == 0)
            filed[nf++] = a->filed_us - a->sent_us;
        if (at)
            coord[nc++] = at - a->sent_us;
    }
    r->at_coord = (long)nc;
    r->coord = summarize(coord, nc);
    r->filed_lat = summarize(filed, nf);
    free(coord);
    free(filed);
}

/* ---- the phases ---- */

static int phase_no_load(phase_result *r)
{
    r->name = "no load";
    r->first = WARMUP_ALERTS;
    r->planned = cfg.alerts;
    usage_take(&r->start);
    if (alert_run(r->first, cfg.alerts, (uint64_t)cfg.pace_ms * 1000u, 0, r) != 0)
        return -1;
    usage_take(&r->end);
    alert_wait_receipts(r);
    alert_summarize(r);
    return 0;
}

static int phase_flood(phase_result *r)
{
    r->name = "routine flood";
    r->flood = 1;
    r->first = WARMUP_ALERTS + cfg.alerts;
    r->planned = cfg.alerts;
    int m = (int)cfg.terminals;
    flood_term *terms = calloc((size_t)m, sizeof *terms);
    char *started = calloc((size_t)m, 1);
    void *ctx = zmq_ctx_new();
    atomic_int done = 0, release = 0;
    if (!terms || !started || !ctx) {
        free(terms);
        free(started);
        if (ctx)
            zmq_ctx_term(ctx);
        return -1;
    }
    usage_take(&r->start);
    uint64_t start = clock_mono_us() + 20000u; /* every thread begins together */
    uint64_t end = start + (uint64_t)cfg.duration_s * 1000000u;
    for (int i = 0; i < m; i++) {
        flood_term *t = &terms[i];
        t->index = i;
        t->ctx = ctx;
        t->endpoint = env.intake;
        t->inflight = cfg.inflight;
        t->stride = cfg.terminals;
        t->text = payload_text;
        t->start_us = start;
        t->end_us = end;
        t->done = &done;
        t->release = &release;
        t->next_k = (uint64_t)i;
        t->seed = (unsigned)(i * 7919 + 17);
        snprintf(t->terminal, sizeof t->terminal, "%s-desk", places[(i * 3) % NPLACES].community);
        if (pthread_create(&t->thread, NULL, flood_main, t) != 0) {
            fprintf(stderr, "bench_alert: cannot start flood terminal %d\n", i);
            t->failed = 1;
            atomic_fetch_add(&done, 1);
            continue;
        }
        started[i] = 1;
    }
    /* Let the flood reach its steady state, then spread the alerts over
     * the rest of it. */
    uint64_t warmup = (uint64_t)cfg.duration_s * 1000000u / 5;
    if (warmup > 1000000u)
        warmup = 1000000u;
    uint64_t now = clock_mono_us();
    if (start + warmup > now)
        bu_sleep_us(start + warmup - now);
    uint64_t interval = (end - (start + warmup)) / (uint64_t)cfg.alerts;
    if (interval < (uint64_t)cfg.pace_ms * 1000u)
        interval = (uint64_t)cfg.pace_ms * 1000u;
    int rc = alert_run(r->first, cfg.alerts, interval, end, r);

    uint64_t give_up = end + 10000000u;
    while (atomic_load(&done) < m && clock_mono_us() < give_up)
        tl_sleep_ms(2);
    usage_take(&r->end);
    atomic_store(&release, 1);
    for (int i = 0; i < m; i++) {
        flood_term *t = &terms[i];
        if (!started[i])
            continue;
        pthread_join(t->thread, NULL);
        r->r_sent += t->sent;
        r->r_filed += t->filed;
        r->r_window_filed += t->window_filed;
        r->r_busy += t->busy;
        r->r_errors += t->errors;
        r->r_dups += t->dups;
        r->r_resends += t->resends;
        r->r_stale += t->stale;
        r->r_unanswered += t->unanswered;
        if (!r->r_first_err && t->first_err) {
            r->r_first_err = t->first_err;
            snprintf(r->r_first_reason, sizeof r->r_first_reason, "%s", t->first_reason);
        }
        if (t->failed)
            fprintf(stderr, "bench_alert: flood terminal %d failed\n", i);
        bu_hist_merge(&r->r_lat, &t->lat);
        bu_hist_merge(&r->r_busy_hint, &t->busy_hint);
    }
    free(started);
    zmq_ctx_term(ctx);
    free(terms);
    r->r_window_s = (double)(end - start) / 1e6;
    r->r_per_s = (double)r->r_window_filed / r->r_window_s;
    alert_wait_receipts(r);
    alert_summarize(r);
    return rc;
}

/* ---- output ---- */

static double ms(uint64_t us) { return (double)us / 1000.0; }

static double pct_core(const phase_result *r, int i)
{
    bu_usage d = bu_usage_delta(&r->end.u[i], &r->start.u[i]);
    double wall_ns = (double)(r->end.mono_us - r->start.mono_us) * 1000.0;
    return wall_ns > 0 ? 100.0 * (double)d.cpu_ns / wall_ns : 0;
}

static double runq_ms_per_s(const phase_result *r, int i)
{
    bu_usage d = bu_usage_delta(&r->end.u[i], &r->start.u[i]);
    double wall_s = (double)(r->end.mono_us - r->start.mono_us) / 1e6;
    return wall_s > 0 ? (double)d.wait_ns / 1e6 / wall_s : 0;
}

/* Mean run-queue wait each time a thread of process i got a CPU, in µs:
 * roughly what every hop through that process paid for a CPU. */
static double runq_us_per_run(const phase_result *r, int i)
{
    bu_usage d = bu_usage_delta(&r->end.u[i], &r->start.u[i]);
    return d.slices ? (double)d.wait_ns / 1e3 / (double)d.slices : 0;
}

static double machine_busy(const phase_result *r)
{
    unsigned long long busy = r->end.machine.busy - r->start.machine.busy;
    unsigned long long total = r->end.machine.total - r->start.machine.total;
    return total ? 100.0 * (double)busy / (double)total : 0;
}

/* CPU used by everything else — other programs, and kernel threads such as
 * the journal's — in % of one core: the machine's busy time (clock ticks, so
 * coarse over a short phase) less ours. A large figure means the run shared
 * the machine and its latencies are suspect. */
static double others_pct_core(const phase_result *r)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double ours = 0;
    for (int i = 0; i < nprocs; i++)
        ours += pct_core(r, i);
    double others = machine_busy(r) * (double)(ncpu > 0 ? ncpu : 1) - ours;
    return others > 0 ? others : 0;
}

static void print_table(const phase_result *p)
{
    const phase_result *a = &p[0], *b = &p[1];
    printf("\nbench_alert: %ld workers (nice %ld) + %ld alert-lane workers, demo county, fresh "
           "store in %s\n",
           cfg.workers, cfg.routine_nice, cfg.alert_workers, env.dir);
    printf("  broker and alert-lane workers: %s; alert terminal and coordinator listener: ",
           rt_state);
    if (cfg.client_realtime > 0)
        printf("SCHED_RR priority %ld\n", cfg.client_realtime);
    else
        printf("ordinary scheduling\n");
    printf("  no load: %ld alerts, one every %ld ms\n", cfg.alerts, cfg.pace_ms);
    printf("  flood:   %ld terminals x %ld routine SUBMITs in flight, %ld-byte text, %ld s;\n"
           "           %ld alerts spread over it after a warm-up\n\n",
           cfg.terminals, cfg.inflight, cfg.payload, cfg.duration_s, cfg.alerts);
    printf("%-38s %16s %16s\n", "", "no load", "routine flood");
    char x[64], y[64];
    snprintf(x, sizeof x, "%ld/%ld/%ld", a->sent, a->filed, a->at_coord);
    snprintf(y, sizeof y, "%ld/%ld/%ld", b->sent, b->filed, b->at_coord);
    printf("%-38s %16s %16s\n", "alerts sent/filed/at coordinator", x, y);
    printf("%-38s %16.3f %16.3f\n", "alert submit->coordinator p50 ms", ms(a->coord.p50), ms(b->coord.p50));
    printf("%-38s %16.3f %16.3f\n", "                          p99 ms", ms(a->coord.p99), ms(b->coord.p99));
    printf("%-38s %16.3f %16.3f\n", "                          max ms", ms(a->coord.max), ms(b->coord.max));
    printf("%-38s %16.3f %16.3f\n", "alert submit->filed       p50 ms", ms(a->filed_lat.p50), ms(b->filed_lat.p50));
    printf("%-38s %16.3f %16.3f\n", "                          p99 ms", ms(a->filed_lat.p99), ms(b->filed_lat.p99));
    printf("%-38s %16.3f %16.3f\n", "                          max ms", ms(a->filed_lat.max), ms(b->filed_lat.max));
    printf("%-38s %16s %16.1f\n", "routine filed/s (durable)", "-", b->r_per_s);
    snprintf(y, sizeof y, "%" PRIu64 "/%" PRIu64 "/%" PRIu64, b->r_window_filed, b->r_busy, b->r_errors);
    printf("%-38s %16s %16s\n", "routine filed/busy/errors", "-", y);
    snprintf(y, sizeof y, "%.1f/%.1f/%.1f", ms(bu_hist_percentile(&b->r_lat, 50)),
             ms(bu_hist_percentile(&b->r_lat, 99)), ms(b->r_lat.max_us));
    printf("%-38s %16s %16s\n", "routine submit->filed p50/p99/max ms", "-", y);
    if (b->r_busy) {
        snprintf(y, sizeof y, "%.0f/%.0f/%.0f", ms(bu_hist_percentile(&b->r_busy_hint, 50)),
                 ms(bu_hist_percentile(&b->r_busy_hint, 99)), ms(b->r_busy_hint.max_us));
        printf("%-38s %16s %16s\n", "BUSY retry_after_ms p50/p99/max", "-", y);
    }
    printf("%-38s\n", "CPU: % of a core / run-queue wait ms/s / µs per run");
    for (int i = 0; i < nprocs; i++) {
        char label[64];
        snprintf(label, sizeof label, "  %s", procs[i].name);
        snprintf(x, sizeof x, "%.1f/%.0f/%.0f", pct_core(a, i), runq_ms_per_s(a, i),
                 runq_us_per_run(a, i));
        snprintf(y, sizeof y, "%.1f/%.0f/%.0f", pct_core(b, i), runq_ms_per_s(b, i),
                 runq_us_per_run(b, i));
        printf("%-38s %16s %16s\n", label, x, y);
    }
    printf("%-38s %16.1f %16.1f\n", "  other processes and kernel", others_pct_core(a),
           others_pct_core(b));
    snprintf(x, sizeof x, "machine busy (%ld CPUs)", sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-38s %15.1f%% %15.1f%%\n", x, machine_busy(a), machine_busy(b));
    for (int i = 0; i < 2; i++)
        if (p[i].failed)
            printf("%s: %ld alerts failed, first: %s (%s)\n", p[i].name, p[i].failed,
                   gl_errname(p[i].first_err), p[i].first_reason);
    if (b->r_errors)
        printf("routine errors: first code %u: %s\n", b->r_first_err, b->r_first_reason);
    if (b->r_dups || b->r_resends || b->r_stale || b->r_unanswered)
        printf("routine: %" PRIu64 " duplicates, %" PRIu64 " resent after silence, %" PRIu64
               " stale replies, %" PRIu64 " unanswered at the end\n",
               b->r_dups, b->r_resends, b->r_stale, b->r_unanswered);
    if (listener.repeats || listener.foreign || listener.reconnects)
        printf("coordinator listener: %" PRIu64 " repeated dispatches, %" PRIu64
               " not ours, %d reconnects\n",
               listener.repeats, listener.foreign, listener.reconnects);
    printf("\n");
}

static void json_lat(const char *key, const lat3 *l)
{
    printf("\"%s\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}", key, ms(l->p50), ms(l->p99),
           ms(l->max));
}

static void json_phase(const char *key, const phase_result *r)
{
    printf("\"%s\":{\"alerts_sent\":%ld,\"alerts_filed\":%ld,\"alerts_at_coordinator\":%ld,", key,
           r->sent, r->filed, r->at_coord);
    json_lat("alert_coordinator_ms", &r->coord);
    printf(",");
    json_lat("alert_filed_ms", &r->filed_lat);
    printf(",\"routine_filed_per_s\":%.1f,\"routine_filed\":%" PRIu64 ",\"busy_replies\":%" PRIu64
           ",\"routine_errors\":%" PRIu64,
           r->r_per_s, r->r_window_filed, r->r_busy, r->r_errors);
    if (r->flood)
        printf(",\"routine_filed_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
               ms(bu_hist_percentile(&r->r_lat, 50)), ms(bu_hist_percentile(&r->r_lat, 99)),
               ms(r->r_lat.max_us));
    if (r->r_busy)
        printf(",\"busy_retry_after_ms\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f}",
               ms(bu_hist_percentile(&r->r_busy_hint, 50)),
               ms(bu_hist_percentile(&r->r_busy_hint, 99)), ms(r->r_busy_hint.max_us));
    printf(",\"cpu_pct\":{");
    for (int i = 0; i < nprocs; i++)
        printf("%s\"%s\":%.1f", i ? "," : "", procs[i].name, pct_core(r, i));
    printf(",\"others\":%.1f,\"machine_busy\":%.1f},\"runq_ms_per_s\":{", others_pct_core(r),
           machine_busy(r));
    for (int i = 0; i < nprocs; i++)
        printf("%s\"%s\":%.1f", i ? "," : "", procs[i].name, runq_ms_per_s(r, i));
    printf("},\"runq_us_per_run\":{");
    for (int i = 0; i < nprocs; i++)
        printf("%s\"%s\":%.1f", i ? "," : "", procs[i].name, runq_us_per_run(r, i));
    printf("}}");
}

static void print_json(const phase_result *p)
{
    printf("{\"bench\":\"alert\",\"workers\":%ld,\"routine_nice\":%ld,\"realtime\":%ld,\"realtime_in_effect\":%s,\"client_realtime\":%ld,\"alert_workers\":%ld,\"alerts\":%ld,\"pace_ms\":%ld,\"terminals\":%ld,"
           "\"inflight\":%ld,\"duration_s\":%ld,\"payload\":%ld,",
           cfg.workers, cfg.routine_nice, cfg.realtime, rt_in_effect ? "true" : "false", cfg.client_realtime, cfg.alert_workers, cfg.alerts, cfg.pace_ms, cfg.terminals, cfg.inflight,
           cfg.duration_s, cfg.payload);
    json_phase("no_load", &p[0]);
    printf(",");
    json_phase("flood", &p[1]);
    printf("}\n");
}

static void write_trace(const phase_result *p)
{
    FILE *f = fopen(cfg.trace_path, "w");
    if (!f) {
        fprintf(stderr, "bench_alert: cannot write %s: %s\n", cfg.trace_path, strerror(errno));
        return;
    }
    fprintf(f, "phase,alert,id,sent_us,filed_us,coordinator_us,result\n");
    for (int i = 0; i < 2; i++)
        for (long n = 0; n < p[i].sent; n++) {
            const alert_rec *a = &alert_recs[p[i].first + n];
            uint64_t at = atomic_load(&a->coord_us);
            fprintf(f, "%s,%ld,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%s\n",
                    p[i].flood ? "flood" : "no_load", p[i].first + n, a->id, a->sent_us,
                    a->filed_us, at, a->rc ? gl_errname(a->rc) : "filed");
        }
    fclose(f);
}

/* ---- setup ---- */


int main(int argc, char **argv)
{
    const opt_def defs[] = {
        {"alerts", OPT_INT, "1000", "alerts per phase", &cfg.alerts, NULL},
        {"pace-ms", OPT_INT, "5", "gap between alerts with no load (and the least gap in the flood)", &cfg.pace_ms, NULL},
        {"terminals", OPT_INT, "4", "routine flood terminals (threads, one DEALER each)", &cfg.terminals, NULL},
        {"inflight", OPT_INT, "32", "routine SUBMITs each flood terminal keeps in flight", &cfg.inflight, NULL},
        {"duration", OPT_INT, "10", "seconds of routine flood", &cfg.duration_s, NULL},
        {"payload", OPT_INT, "400", "bytes of text in each routine event (UTF-8)", &cfg.payload, NULL},
        {"workers", OPT_INT, "2", "gridline-worker processes sharing the store", &cfg.workers, NULL},
        {"alert-workers", OPT_INT, "1", "more workers started with --lanes alert (kept free for alerts)", &cfg.alert_workers, NULL},
        {"routine-nice", OPT_INT, "10", "--nice of the --workers (not of the alert-lane workers), as make run does; 0: none", &cfg.routine_nice, NULL},
        {"realtime", OPT_INT, "10", "--realtime of the broker and the alert-lane workers (SCHED_RR priority), as make run does; 0: ordinary scheduling", &cfg.realtime, NULL},
        {"client-realtime", OPT_INT, "-1", "SCHED_RR priority of the benchmark's alert terminal and coordinator listener, which stand for devices on other machines (-1: as --realtime; 0: ordinary)", &cfg.client_realtime, NULL},
        {"broker-args", OPT_STR, "", "extra broker arguments, space-separated (\"--max-queue 500\")", &cfg.broker_args, NULL},
        {"worker-args", OPT_STR, "", "extra arguments for every worker (\"--batch 64\")", &cfg.worker_args, NULL},
        {"trace", OPT_STR, NULL, "write every alert's timestamps (CLOCK_MONOTONIC µs) as CSV to this file", &cfg.trace_path, NULL},
        {"quick", OPT_FLAG, NULL, "small run for a smoke test: 30 alerts, 2 x 8 in flight, 2 s (options given explicitly win)", &cfg.quick, NULL},
    };
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), argc, argv,
                        "bench_alert [--alerts N] [--terminals M] [--inflight K] [--duration S] "
                        "[--payload BYTES] [--quick] [options]",
                        "Alert latency of gridline with no load and during a routine flood: starts\n"
                        "the real broker and workers on ipc:// in a temporary directory (binaries\n"
                        "from $GRIDLINE_BIN, the demo county from $GRIDLINE_DATA), measures each\n"
                        "alert from SUBMIT to FILED and to the county coordinators' listener, and\n"
                        "the routine throughput. Prints a table and one JSON line.");
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    if (cfg.quick) {
        if (!bu_given(argc, argv, "alerts"))
            cfg.alerts = 30;
        if (!bu_given(argc, argv, "terminals"))
            cfg.terminals = 2;
        if (!bu_given(argc, argv, "inflight"))
            cfg.inflight = 8;
        if (!bu_given(argc, argv, "duration"))
            cfg.duration_s = 2;
    }
    if (cfg.alerts < 1 || cfg.alerts > 1000000 || cfg.terminals < 1 || cfg.terminals > 256 ||
        cfg.inflight < 1 || cfg.inflight > MAX_INFLIGHT || cfg.duration_s < 1 ||
        cfg.duration_s > 3600 || cfg.payload < 1 || cfg.payload > GL_MAX_TEXT ||
        cfg.pace_ms < 0 || cfg.pace_ms > 60000 || cfg.workers < 1 || cfg.workers > MAX_WORKERS ||
        cfg.alert_workers < 0 || cfg.alert_workers > MAX_WORKERS || cfg.routine_nice < 0 ||
        cfg.routine_nice > 19 || cfg.realtime < 0 || cfg.realtime > 99 ||
        cfg.client_realtime < -1 || cfg.client_realtime > 99) {
        fprintf(stderr, "bench_alert: an option is out of range (see --help)\n");
        return 2;
    }
    if (cfg.client_realtime < 0)
        cfg.client_realtime = cfg.realtime;
    make_payload(payload_text, cfg.payload);
    alert_total = WARMUP_ALERTS + 2 * cfg.alerts;
    alert_recs = calloc((size_t)alert_total, sizeof *alert_recs);
    if (!alert_recs) {
        fprintf(stderr, "bench_alert: out of memory\n");
        return 1;
    }
    for (long i = 0; i < alert_total; i++) {
        atomic_init(&alert_recs[i].coord_us, 0);
        alert_recs[i].rc = 1;
    }

    tl_setup(&env, "bench-alert");
    char bbuf[1024], wbuf[1024];
    const char *bextra[32], *wextra[32];
    bu_split_args(cfg.broker_args, bbuf, sizeof bbuf, bextra, 32);
    bu_split_args(cfg.worker_args, wbuf, sizeof wbuf, wextra, 32);
    /* The general workers give way to the broker and the alert-lane
     * workers on a busy machine (--nice), as make run starts them. */
    const char *gextra[34];
    char nice_arg[16];
    int ng = 0;
    snprintf(nice_arg, sizeof nice_arg, "%ld", cfg.routine_nice);
    if (cfg.routine_nice > 0) {
        gextra[ng++] = "--nice";
        gextra[ng++] = nice_arg;
    }
    for (int i = 0; i < 31 && wextra[i]; i++)
        gextra[ng++] = wextra[i];
    gextra[ng] = NULL;
    /* The broker and the alert-lane workers run real-time, as make run
     * starts them: on two busy cores, each wake-up on the alert path would
     * otherwise wait for a CPU. */
    char rt_arg[16];
    snprintf(rt_arg, sizeof rt_arg, "%ld", cfg.realtime);
    const char *brt[35] = {0};
    int nb = 0;
    if (cfg.realtime > 0) {
        brt[nb++] = "--realtime";
        brt[nb++] = rt_arg;
    }
    for (int i = 0; i < 31 && bextra[i]; i++)
        brt[nb++] = bextra[i];
    static char names[MAX_WORKERS][24];
    procs[nprocs++] = (proc_ref){"broker", tl_broker(&env, brt)};
    for (long i = 0; i < cfg.workers; i++) {
        snprintf(names[i], sizeof names[i], "w%ld", i + 1);
        procs[nprocs++] = (proc_ref){names[i], tl_worker(&env, names[i], gextra)};
    }
    static char alert_names[MAX_WORKERS][24];
    const char *aextra[36] = {"--lanes", "alert"};
    int na = 2;
    if (cfg.realtime > 0) {
        aextra[na++] = "--realtime";
        aextra[na++] = rt_arg;
    }
    for (int i = 0; i < 31 && wextra[i]; i++)
        aextra[na++] = wextra[i];
    for (long i = 0; i < cfg.alert_workers; i++) {
        snprintf(alert_names[i], sizeof alert_names[i], "wa%ld", i + 1);
        procs[nprocs++] = (proc_ref){alert_names[i], tl_worker(&env, alert_names[i], aextra)};
    }
    procs[nprocs++] = (proc_ref){"bench", 0};
    if (tl_wait_workers(&env, 15000) != 0) {
        fprintf(stderr, "bench_alert: the broker and workers did not come up (%s)\n", bu_logs_hint(env.dir));
        return 1;
    }
    if (cfg.realtime > 0) {
        int rt = 0, want = 0;
        for (int i = 0; i < nprocs; i++)
            if (strcmp(procs[i].name, "broker") == 0 || strncmp(procs[i].name, "wa", 2) == 0) {
                want++;
                rt += sched_getscheduler(procs[i].pid) == SCHED_RR;
            }
        rt_in_effect = rt == want;
        snprintf(rt_state, sizeof rt_state, "SCHED_RR priority %ld in %d of %d processes%s",
                 cfg.realtime, rt, want,
                 rt_in_effect ? "" : " (not permitted here: see the logs)");
    }
    pthread_t lt;
    if (pthread_create(&lt, NULL, listener_main, NULL) != 0) {
        fprintf(stderr, "bench_alert: cannot start the listener thread\n");
        return 1;
    }
    for (int waited = 0; waited < 15000 && !atomic_load(&listener.ready); waited += 5)
        tl_sleep_ms(5);
    if (atomic_load(&listener.ready) != 1) {
        fprintf(stderr, "bench_alert: the coordinator listener was not welcomed: %s\n",
                listener.err[0] ? listener.err : "timeout");
        atomic_store(&listener.stop, 1);
        pthread_join(lt, NULL);
        return 1;
    }
    for (int i = 0; i < nprocs - 1; i++)
        if (!tl_alive(procs[i].pid)) {
            fprintf(stderr, "bench_alert: %s exited (%s)\n", procs[i].name, bu_logs_hint(env.dir));
            return 1;
        }

    /* Warm-up: first transactions grow the store's files and fault pages in. */
    phase_result warm, phases[2];
    memset(&warm, 0, sizeof warm);
    memset(phases, 0, sizeof phases);
    warm.first = 0;
    rc = alert_run(0, WARMUP_ALERTS, 2000, 0, &warm);
    if (rc == 0)
        alert_wait_receipts(&warm);
    if (rc == 0)
        rc = phase_no_load(&phases[0]);
    if (rc == 0)
        rc = phase_flood(&phases[1]);
    atomic_store(&listener.stop, 1);
    pthread_join(lt, NULL);
    if (rc != 0) {
        fprintf(stderr, "bench_alert: a phase could not run (%s)\n", bu_logs_hint(env.dir));
        return 1;
    }
    print_table(phases);
    print_json(phases);
    fflush(stdout);
    if (cfg.trace_path)
        write_trace(phases);
    free(alert_recs);
    if (phases[0].at_coord == 0 || phases[1].at_coord == 0) {
        fprintf(stderr, "bench_alert: no alert reached the coordinators in the %s phase\n",
                phases[0].at_coord == 0 ? "no-load" : "flood");
        return 1;
    }
    return 0;
}
