/* bench_throughput — how many events gridline files durably per second, how
 * fast the dispatches reach the teams, and what that costs in CPU, memory
 * and store bytes (issue 7).
 *
 * It starts the real broker and --workers workers on a fresh store in a
 * temporary directory (tcp on 127.0.0.1, or ipc://), connects responders
 * present as every team of the county, and drives the service with
 * --terminals simulated terminals (a raw DEALER socket each, bench_flood.h,
 * all driven by one thread: --terminal-threads, bench_flood_group.h), each
 * keeping --inflight SUBMITs in flight: requests,
 * property feedback and a few alerts, in every grid and compound of the demo
 * county, with SUBMIT bodies of --payload bytes. After --warmup seconds it
 * measures for --duration seconds:
 *
 *   - FILED replies received (each is durable: FILED follows the commit), and
 *     the time from an event's first SUBMIT to its FILED;
 *   - DISPATCHes arriving at the teams' responders, and the time from the
 *     event's first SUBMIT to each of them; with --ack, the ACKs the
 *     responders send for each and the RESULTs and ERRORs they get back;
 *   - LMDB write transactions committed (the environment's txnid), so the
 *     events per commit;
 *   - CPU time of the broker, each worker and this program (schedstat, with
 *     the user/system split from /proc/PID/stat), and of the machine;
 *   - peak RSS (VmHWM) of the broker and workers;
 *   - then, with the processes stopped, the store's size per event, file and
 *     pages in use, database by database (bench_store.h).
 *
 * It prints a table and one JSON line (also written to --json FILE). With
 * --perf DIR, `perf record` samples the broker and workers during the
 * measured window. With --floor direct|hop it starts floor_broker (from
 * its own folder) instead of gridline-broker and gridline-worker: the same
 * message flow with no store and no decoding, under the same load, so the
 * table, less its store lines, is the floor of the topology
 * (floor_broker.c; bench/README.md, Session 9). Exit status: 0 once the figures are printed, good or bad;
 * 1 if the service did not come up or nothing was filed; 2 for bad options. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/clock.h"
#include "../common/gl.h"
#include "../common/opts.h"
#include "../proto/frame.h"
#include "../proto/proto.h"
#include "../tests/support/testlib.h"
#include "bench_county.h"
#include "bench_flood.h"
#include "bench_flood_group.h"
#include "bench_responders.h"
#include "bench_store.h"
#include "bench_submit.h"
#include "bench_util.h"

#define MAX_WORKERS 8
#define MAX_TERMINALS 1024
#define BODY_SAMPLE 2000

typedef struct bench_cfg {
    long workers, alert_workers, terminals, inflight, duration_s, warmup_s, alert_pct, feedback_pct;
    long terminal_threads, io_threads;
    long body_min, body_max;
    int no_responders, quick, ack;
    const char *payload, *transport, *worker_transport, *broker_args, *worker_args, *json_path, *perf_dir,
        *perf_args;
    const char *floor; /* NULL, or floor_broker's mode: "direct" or "hop" */
} bench_cfg;

static bench_cfg cfg;
static tl_env env;
static bench_county county;
static mix_cfg mix;

/* ---- processes ---- */

typedef struct proc_ref {
    const char *name;
    pid_t pid; /* 0: this process */
} proc_ref;

static proc_ref procs[2 + MAX_WORKERS];
static int nprocs; /* broker, workers, then this program */

typedef struct usage_snap {
    bu_usage u[2 + MAX_WORKERS];
    double user_s[2 + MAX_WORKERS], sys_s[2 + MAX_WORKERS];
    bu_io io[2 + MAX_WORKERS];
    bu_machine machine;
    uint64_t mono_us;
} usage_snap;

static void usage_take(usage_snap *s)
{
    for (int i = 0; i < nprocs; i++) {
        bu_proc_usage(procs[i].pid, &s->u[i]);
        if (bu_proc_times(procs[i].pid, &s->user_s[i], &s->sys_s[i]) != 0)
            s->user_s[i] = s->sys_s[i] = 0;
        if (bu_proc_io(procs[i].pid, &s->io[i]) != 0)
            memset(&s->io[i], 0, sizeof s->io[i]);
    }
    bu_machine_sample(&s->machine);
    s->mono_us = clock_mono_us();
}

/* ---- results ---- */

typedef struct results {
    /* the load */
    uint64_t sent, filed, window_filed, busy, errors, dups, resends, stale, unanswered;
    uint32_t first_err;
    char first_reason[200];
    bu_hist filed_lat;
    double window_s;
    /* bodies */
    size_t body_min, body_max;
    double body_mean;
    /* dispatches */
    uint64_t dispatches, window_dispatches, notices, rehellos;
    /* --ack: ACKs sent, RESULTs and ERRORs back (all, and in the window) */
    uint64_t acks_sent, ack_results, window_ack_results, ack_errors, window_ack_errors, ack_unsent,
        ack_errors_early;
    uint32_t first_ack_err;
    char first_ack_reason[200];
    int teams_present;
    bu_hist dispatch_lat;
    /* commits */
    uint64_t txn_start, txn_end;
    /* CPU and memory */
    usage_snap start, end;
    long hwm_kb[2 + MAX_WORKERS], anon_kb[2 + MAX_WORKERS];
    int exit_status[2 + MAX_WORKERS];
    bs_figures store;
} results;

static results res;
static MDB_env *store_env; /* the workers' store, opened read-only */
static int fast_submit;    /* submit_encode makes proto_encode's bytes (measure_bodies) */

static double per_s(uint64_t n) { return res.window_s > 0 ? (double)n / res.window_s : 0; }
static double ms(uint64_t us) { return (double)us / 1000.0; }

static double cpu_s(int i)
{
    bu_usage d = bu_usage_delta(&res.end.u[i], &res.start.u[i]);
    return (double)d.cpu_ns / 1e9;
}

static double pct_core(int i)
{
    double wall_s = (double)(res.end.mono_us - res.start.mono_us) / 1e6;
    return wall_s > 0 ? 100.0 * cpu_s(i) / wall_s : 0;
}

static double per_10k(double seconds)
{
    return res.window_filed ? seconds * 10000.0 / (double)res.window_filed : 0;
}

static double workers_cpu_s(void)
{
    double s = 0;
    for (int i = 1; i < nprocs - 1; i++)
        s += cpu_s(i);
    return s;
}

/* What the workers passed to write calls over the window (bu_proc_io):
 * LMDB's page writes, which are most of it, their log lines and eventfd
 * wake-ups. */
static void workers_writes(uint64_t *bytes, uint64_t *calls)
{
    *bytes = *calls = 0;
    for (int i = 1; i < nprocs - 1; i++) {
        *bytes += res.end.io[i].wchar - res.start.io[i].wchar;
        *calls += res.end.io[i].syscw - res.start.io[i].syscw;
    }
}

static double machine_busy(void)
{
    unsigned long long busy = res.end.machine.busy - res.start.machine.busy;
    unsigned long long total = res.end.machine.total - res.start.machine.total;
    return total ? 100.0 * (double)busy / (double)total : 0;
}

static double others_pct_core(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double ours = 0;
    for (int i = 0; i < nprocs; i++)
        ours += pct_core(i);
    double others = machine_busy() * (double)(ncpu > 0 ? ncpu : 1) - ours;
    return others > 0 ? others : 0;
}

static uint64_t commits(void) { return res.txn_end - res.txn_start; }

/* ---- memory over time (--rss-every) ---- */

/* With --rss-every S, the anonymous RSS (RssAnon: the heap and the other
 * private memory, without the store's mapped pages) of the broker and every
 * worker is read from /proc at the start of the measured window (after the
 * warm-up), every S seconds, and at its end. The growth reported is the
 * last sample minus the first: under a steady overload a process whose
 * memory is bounded shows about 0. */
#define RSS_MAX_SAMPLES 602 /* --duration 600 / 1 s, plus the first and the last */

static long rss_every_s;
static int rss_nsamples;
static double rss_at_s[RSS_MAX_SAMPLES];
static long rss_kib[RSS_MAX_SAMPLES][1 + MAX_WORKERS];

static void rss_sample(uint64_t from_us)
{
    if (rss_nsamples == RSS_MAX_SAMPLES)
        return;
    rss_at_s[rss_nsamples] = (double)(clock_mono_us() - from_us) / 1e6;
    for (int i = 0; i < nprocs - 1; i++)
        rss_kib[rss_nsamples][i] = gl_proc_status_kb(procs[i].pid, "RssAnon");
    rss_nsamples++;
}

/* rss_sleep_until sleeps until end_us (mono), sampling on the way when
 * --rss-every is given; now_us is the start of the measured window. */
static void rss_sleep_until(uint64_t now_us, uint64_t end_us)
{
    if (rss_every_s <= 0) {
        bu_sleep_us(end_us - now_us);
        return;
    }
    uint64_t from = now_us, step = (uint64_t)rss_every_s * 1000000u;
    rss_sample(from);
    for (uint64_t next = from + step; next < end_us; next += step) {
        uint64_t now = clock_mono_us();
        if (next > now)
            bu_sleep_us(next - now);
        rss_sample(from);
    }
    uint64_t now = clock_mono_us();
    if (end_us > now)
        bu_sleep_us(end_us - now);
    rss_sample(from);
}

static long rss_growth_kib(int proc)
{
    long first = rss_kib[0][proc], last = rss_kib[rss_nsamples - 1][proc];
    return first < 0 || last < 0 ? 0 : last - first;
}

static void rss_print_table(void)
{
    if (rss_nsamples < 2)
        return;
    printf("%-34s", "anonymous RSS over the window MiB");
    printf(" every %ld s from %.0f s to %.0f s; last - first\n", rss_every_s, rss_at_s[0],
           rss_at_s[rss_nsamples - 1]);
    for (int i = 0; i < nprocs - 1; i++) {
        char label[64];
        snprintf(label, sizeof label, "  %s", procs[i].name);
        printf("%-34s %+7.1f   (", label, (double)rss_growth_kib(i) / 1024.0);
        for (int k = 0; k < rss_nsamples; k++)
            printf("%s%.1f", k ? " " : "", (double)rss_kib[k][i] / 1024.0);
        printf(")\n");
    }
}

static void rss_add_json(json_t *j)
{
    if (rss_nsamples < 2)
        return;
    json_t *o = json_object(), *at = json_array(), *samples = json_object(), *growth = json_object();
    for (int k = 0; k < rss_nsamples; k++)
        json_array_append_new(at, json_real(rss_at_s[k]));
    for (int i = 0; i < nprocs - 1; i++) {
        json_t *a = json_array();
        for (int k = 0; k < rss_nsamples; k++)
            json_array_append_new(a, json_integer(rss_kib[k][i]));
        json_object_set_new(samples, procs[i].name, a);
        json_object_set_new(growth, procs[i].name, json_integer(rss_growth_kib(i)));
    }
    json_object_set_new(o, "every_s", json_integer(rss_every_s));
    json_object_set_new(o, "at_s", at);
    json_object_set_new(o, "kib", samples);
    json_object_set_new(j, "rss_anon_samples", o);
    json_object_set_new(j, "rss_anon_growth_kib", growth);
}

/* rss_option_bad: --rss-every is 0 (off) or 1..--duration seconds. */
static int rss_option_bad(long duration_s)
{
    if (rss_every_s >= 0 && rss_every_s <= duration_s)
        return 0;
    fprintf(stderr, "bench_throughput: --rss-every wants 0 (off) or 1..%ld seconds\n", duration_s);
    return 1;
}

/* ---- output ---- */

/* The pending dispatches left in the store at the end (not yet ACKed). */
static uint64_t store_pending(void)
{
    uint64_t n = 0;
    for (int i = 0; i < res.store.ndb; i++)
        if (strcmp(res.store.db[i].name, "pending") == 0 ||
            strcmp(res.store.db[i].name, "pending_recent") == 0)
            n += res.store.db[i].entries;
    return n;
}

static uint64_t store_dispatches(void)
{
    for (int i = 0; i < res.store.ndb; i++)
        if (strcmp(res.store.db[i].name, "dispatches") == 0)
            return res.store.db[i].entries;
    return 0;
}

/* --ack: the acknowledgements and what they left pending. */
static void print_acks(void)
{
    printf("%-34s %14.0f /s   (%.2f per dispatch delivered; %" PRIu64 " errors, %" PRIu64
           " unsent)\n",
           "acks answered RESULT", per_s(res.window_ack_results),
           res.window_dispatches ? (double)res.window_ack_results / (double)res.window_dispatches
                                 : 0,
           res.window_ack_errors, res.ack_unsent);
    if (res.store.ok)
        printf("%-34s %14" PRIu64 "     (of %" PRIu64 " dispatches in the store)\n",
               "pending dispatches at the end", store_pending(), store_dispatches());
    if (res.ack_errors)
        printf("ack errors: %" PRIu64 " in all, %" PRIu64
               " of them to early alert DISPATCHes (seq 0); first code %u: %s\n",
               res.ack_errors, res.ack_errors_early, res.first_ack_err, res.first_ack_reason);
}

static void print_table(void)
{
    char x[160];
    if (cfg.floor)
        printf("\nbench_throughput --floor %s: floor_broker, no store, no decoding; ", cfg.floor);
    else
        printf("\nbench_throughput: ");
    if (cfg.floor && strcmp(cfg.floor, "direct") == 0)
        printf("no workers, ");
    else
        printf("%ld worker%s + %ld alert-lane, ", cfg.workers, cfg.workers == 1 ? "" : "s",
               cfg.alert_workers);
    printf("%ld terminals x %ld in flight, SUBMIT bodies %zu-%zu B (mean %.0f),\n", cfg.terminals,
           cfg.inflight, res.body_min, res.body_max, res.body_mean);
    printf("  %ld%% alerts, %ld%% feedback, the rest requests, over %zu grids and %zu compounds;\n",
           cfg.alert_pct, cfg.feedback_pct, county.ngrids, county.ncompounds);
    printf("  terminals and responders on %s, workers on %s, store on %s (%s), %ld s warm-up, %ld s measured\n\n",
           strcmp(cfg.transport, "tcp") == 0 ? "tcp 127.0.0.1" : "ipc://",
           strcmp(cfg.worker_transport, "tcp") == 0 ? "tcp 127.0.0.1" : "ipc://", env.dir,
           bs_fs_name(env.dir), cfg.warmup_s, cfg.duration_s);

    printf("%-34s %14.0f /s   (%" PRIu64 " in %.1f s)\n",
           cfg.floor ? "filed (the floor: no store)" : "filed, durable", per_s(res.window_filed),
           res.window_filed, res.window_s);
    snprintf(x, sizeof x, "%.2f / %.2f / %.2f", ms(bu_hist_percentile(&res.filed_lat, 50)),
             ms(bu_hist_percentile(&res.filed_lat, 99)), ms(res.filed_lat.max_us));
    printf("%-34s %22s ms\n", "filed latency p50 / p99 / max", x);
    snprintf(x, sizeof x, "%" PRIu64 " / %" PRIu64 " / %" PRIu64, res.busy, res.errors,
             res.unanswered);
    printf("%-34s %22s\n", "busy / errors / in flight at end", x);
    if (!cfg.no_responders) {
        printf("%-34s %14.0f /s   (%.2f per event filed, %d teams present)\n",
               "dispatches delivered", per_s(res.window_dispatches),
               res.window_filed ? (double)res.window_dispatches / (double)res.window_filed : 0,
               res.teams_present);
        snprintf(x, sizeof x, "%.2f / %.2f / %.2f", ms(bu_hist_percentile(&res.dispatch_lat, 50)),
                 ms(bu_hist_percentile(&res.dispatch_lat, 99)), ms(res.dispatch_lat.max_us));
        printf("%-34s %22s ms\n", "submit->dispatch p50 / p99 / max", x);
        if (cfg.ack)
            print_acks();
    }
    if (!cfg.floor)
        printf("%-34s %14.0f /s   (%.1f events per commit)\n", "LMDB write transactions",
               per_s(commits()), commits() ? (double)res.window_filed / (double)commits() : 0);
    uint64_t wbytes, wcalls;
    workers_writes(&wbytes, &wcalls);
    if (commits())
        printf("%-34s %14.0f KiB (%.0f write calls; %.0f B per event filed)\n",
               "  workers' writes per commit", (double)wbytes / 1024.0 / (double)commits(),
               (double)wcalls / (double)commits(),
               res.window_filed ? (double)wbytes / (double)res.window_filed : 0);
    printf("%-34s %14s\n", "CPU s per 10k events filed", "(user + sys; % of a core)");
    for (int i = 0; i < nprocs; i++) {
        double u = res.end.user_s[i] - res.start.user_s[i], s = res.end.sys_s[i] - res.start.sys_s[i];
        char label[64];
        snprintf(label, sizeof label, "  %s", procs[i].name);
        printf("%-34s %14.3f     (%.2f + %.2f s; %.0f%%)\n", label, per_10k(cpu_s(i)),
               per_10k(u), per_10k(s), pct_core(i));
    }
    printf("%-34s %14.3f\n", "  broker + workers", per_10k(cpu_s(0) + workers_cpu_s()));
    printf("%-34s %13.0f%%    (others: %.0f%% of a core)\n", "machine busy", machine_busy(),
           others_pct_core());
    printf("%-34s", "peak RSS (VmHWM) MiB");
    for (int i = 0; i < nprocs - 1; i++)
        printf("  %s %.1f", procs[i].name, (double)res.hwm_kb[i] / 1024.0);
    printf("\n%-34s", "  anonymous RSS at the end MiB");
    for (int i = 0; i < nprocs - 1; i++)
        printf("  %s %.1f", procs[i].name, (double)res.anon_kb[i] / 1024.0);
    printf("\n");
    const bs_figures *f = &res.store;
    if (f->ok && f->events) {
        printf("%-34s %14.0f B   (data.mdb %.1f MiB / %" PRIu64 " events)\n",
               "store bytes per event, file", (double)f->file_bytes / (double)f->events,
               (double)f->file_bytes / 1048576.0, f->events);
        printf("%-34s %14.0f B   (%" PRIu64 " pages of %u B up to the last in use)\n",
               "  pages in use", bs_used_bytes(&res.store) / (double)f->events, f->last_pgno + 1,
               f->page_size);
        printf("%-34s", "  by database, B/event");
        for (int i = 0; i < f->ndb; i++)
            if (f->db[i].pages)
                printf(" %s %.0f", f->db[i].name,
                       (double)f->db[i].pages * f->page_size / (double)f->events);
        printf("\n");
    }
    if (res.errors)
        printf("errors: first code %u: %s\n", res.first_err, res.first_reason);
    if (res.dups || res.resends || res.stale)
        printf("load: %" PRIu64 " duplicates, %" PRIu64 " resent after silence, %" PRIu64
               " stale replies\n",
               res.dups, res.resends, res.stale);
    for (int i = 0; i < nprocs - 1; i++)
        if (res.exit_status[i] != 0)
            printf("%s did not exit cleanly on SIGTERM (status %d)\n", procs[i].name,
                   res.exit_status[i]);
    rss_print_table();
    printf("\n");
}

static json_t *lat_json(const bu_hist *h)
{
    return json_pack("{s:f,s:f,s:f}", "p50", ms(bu_hist_percentile(h, 50)), "p99",
                     ms(bu_hist_percentile(h, 99)), "max", ms(h->max_us));
}

static json_t *make_json(void)
{
    json_t *j = json_object();
    json_object_set_new(j, "bench", json_string("throughput"));
    if (cfg.floor)
        json_object_set_new(j, "floor", json_string(cfg.floor));
    json_object_set_new(j, "workers", json_integer(cfg.workers));
    json_object_set_new(j, "alert_workers", json_integer(cfg.alert_workers));
    json_object_set_new(j, "terminals", json_integer(cfg.terminals));
    json_object_set_new(j, "inflight", json_integer(cfg.inflight));
    json_object_set_new(j, "terminal_threads", json_integer(cfg.terminal_threads));
    json_object_set_new(j, "duration_s", json_integer(cfg.duration_s));
    json_object_set_new(j, "warmup_s", json_integer(cfg.warmup_s));
    json_object_set_new(j, "alert_pct", json_integer(cfg.alert_pct));
    json_object_set_new(j, "feedback_pct", json_integer(cfg.feedback_pct));
    json_object_set_new(j, "transport", json_string(cfg.transport));
    json_object_set_new(j, "worker_transport", json_string(cfg.worker_transport));
    json_object_set_new(j, "filesystem", json_string(bs_fs_name(env.dir)));
    json_object_set_new(j, "body_bytes", json_pack("{s:I,s:f,s:I}", "min", (json_int_t)res.body_min,
                                                   "mean", res.body_mean, "max",
                                                   (json_int_t)res.body_max));
    json_object_set_new(j, "filed_per_s", json_real(per_s(res.window_filed)));
    json_object_set_new(j, "filed", json_integer((json_int_t)res.window_filed));
    json_object_set_new(j, "filed_ms", lat_json(&res.filed_lat));
    json_object_set_new(j, "busy_replies", json_integer((json_int_t)res.busy));
    json_object_set_new(j, "errors", json_integer((json_int_t)res.errors));
    json_object_set_new(j, "in_flight_at_end", json_integer((json_int_t)res.unanswered));
    if (!cfg.no_responders) {
        json_object_set_new(j, "dispatches_per_s", json_real(per_s(res.window_dispatches)));
        json_object_set_new(j, "dispatches", json_integer((json_int_t)res.window_dispatches));
        json_object_set_new(j, "dispatch_ms", lat_json(&res.dispatch_lat));
        json_object_set_new(j, "teams_present", json_integer(res.teams_present));
        if (cfg.ack) {
            json_object_set_new(j, "acks_per_s", json_real(per_s(res.window_ack_results)));
            json_object_set_new(j, "acks", json_integer((json_int_t)res.window_ack_results));
            json_object_set_new(j, "ack_errors", json_integer((json_int_t)res.window_ack_errors));
            json_object_set_new(j, "acks_sent", json_integer((json_int_t)res.acks_sent));
            json_object_set_new(j, "acks_unsent", json_integer((json_int_t)res.ack_unsent));
            json_object_set_new(j, "ack_errors_early",
                                json_integer((json_int_t)res.ack_errors_early));
            if (res.store.ok)
                json_object_set_new(j, "pending_at_end", json_integer((json_int_t)store_pending()));
        }
    }
    if (!cfg.floor) {
        json_object_set_new(j, "commits_per_s", json_real(per_s(commits())));
        json_object_set_new(j, "events_per_commit",
                            json_real(commits() ? (double)res.window_filed / (double)commits() : 0));
    }
    json_t *c10k = json_object(), *pct = json_object(), *hwm = json_object(),
           *anon = json_object();
    for (int i = 0; i < nprocs; i++) {
        json_object_set_new(c10k, procs[i].name, json_real(per_10k(cpu_s(i))));
        json_object_set_new(pct, procs[i].name, json_real(pct_core(i)));
        if (i < nprocs - 1) {
            json_object_set_new(hwm, procs[i].name, json_integer(res.hwm_kb[i]));
            json_object_set_new(anon, procs[i].name, json_integer(res.anon_kb[i]));
        }
    }
    json_object_set_new(c10k, "workers", json_real(per_10k(workers_cpu_s())));
    json_object_set_new(c10k, "service", json_real(per_10k(cpu_s(0) + workers_cpu_s())));
    json_object_set_new(pct, "others", json_real(others_pct_core()));
    json_object_set_new(pct, "machine_busy", json_real(machine_busy()));
    json_object_set_new(j, "cpu_s_per_10k", c10k);
    if (!cfg.floor) {
        uint64_t wbytes, wcalls;
        workers_writes(&wbytes, &wcalls);
        json_t *w = json_object();
        json_object_set_new(w, "bytes_per_commit",
                            json_real(commits() ? (double)wbytes / (double)commits() : 0));
        json_object_set_new(w, "calls_per_commit",
                            json_real(commits() ? (double)wcalls / (double)commits() : 0));
        json_object_set_new(w, "bytes_per_event",
                            json_real(res.window_filed ? (double)wbytes / (double)res.window_filed : 0));
        json_object_set_new(j, "workers_writes", w);
    }
    json_object_set_new(j, "cpu_pct", pct);
    json_object_set_new(j, "peak_rss_kib", hwm);
    json_object_set_new(j, "rss_anon_kib", anon);
    rss_add_json(j);
    const bs_figures *f = &res.store;
    if (f->ok) {
        json_t *s = json_object(), *dbs = json_object();
        double ev = f->events ? (double)f->events : 1;
        json_object_set_new(s, "events", json_integer((json_int_t)f->events));
        json_object_set_new(s, "file_bytes", json_integer(f->file_bytes));
        json_object_set_new(s, "used_bytes", json_integer((json_int_t)bs_used_bytes(&res.store)));
        json_object_set_new(s, "page_size", json_integer(f->page_size));
        json_object_set_new(s, "bytes_per_event", json_real((double)f->file_bytes / ev));
        json_object_set_new(s, "used_bytes_per_event", json_real(bs_used_bytes(&res.store) / ev));
        json_object_set_new(s, "write_txns", json_integer((json_int_t)f->last_txnid));
        for (int i = 0; i < f->ndb; i++)
            json_object_set_new(dbs, f->db[i].name,
                                json_pack("{s:I,s:I,s:I,s:f}", "entries",
                                          (json_int_t)f->db[i].entries, "pages",
                                          (json_int_t)f->db[i].pages, "depth",
                                          (json_int_t)f->db[i].depth, "bytes_per_event",
                                          (double)f->db[i].pages * f->page_size / ev));
        json_object_set_new(s, "databases", dbs);
        json_object_set_new(j, "store", s);
    }
    return j;
}

/* ---- setup ---- */


/* The SUBMIT bodies the mix makes, measured with the codec itself. */
static int measure_bodies(void)
{
    mix_scratch sc = {.cfg = &mix};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t total = 0, worst_miss = 0, differ = 0;
    res.body_min = SIZE_MAX;
    int rc = 0;
    static unsigned char fast[SUBMIT_MAX_BODY];
    for (uint64_t k = 0; k < BODY_SAMPLE; k++) {
        proto_msg m;
        char id[48];
        memset(&m, 0, sizeof m);
        m.cmd = PROTO_SUBMIT;
        m.rid = (k / 64 + 1) << 16 | (k % 64);
        uint64_t us = wall_us();
        char id2[48];
        snprintf(id, sizeof id, "%012" PRIx64 "-t%02d-%" PRIu64, us, (int)(k % 64), k);
        submit_format_id(id2, us, (int)(k % 64), k);
        if (strcmp(id, id2) != 0) {
            fprintf(stderr, "bench_throughput: submit_format_id makes %s, not %s\n", id2, id);
            rc = -1;
            break;
        }
        mix_event(&sc, k, id, m.rid, &m.ev);
        sb.size = 0;
        if ((rc = proto_encode(&m, &sb)) != 0) {
            fprintf(stderr, "bench_throughput: the codec refuses a benchmark event: %s\n",
                    gl_strerror(rc));
            break;
        }
        size_t flen = submit_encode(fast, sizeof fast, m.rid, &m.ev);
        if (flen != sb.size || memcmp(fast, sb.data, flen) != 0)
            differ++;
        size_t est = mix_body_size(&m.ev, m.rid);
        size_t miss = est > sb.size ? est - sb.size : sb.size - est;
        if (miss > worst_miss)
            worst_miss = miss;
        total += sb.size;
        if (sb.size < res.body_min)
            res.body_min = sb.size;
        if (sb.size > res.body_max)
            res.body_max = sb.size;
    }
    /* rids of every msgpack width, as slot generations grow */
    static const uint64_t rids[] = {1, 127, 128, 255, 256, 65535, 65536, 0xffffffffu,
                                    UINT64_C(0x100000000), UINT64_C(0xffffffffffff0001)};
    for (size_t r = 0; rc == 0 && r < GL_ARRAY_LEN(rids); r++) {
        proto_msg m;
        memset(&m, 0, sizeof m);
        m.cmd = PROTO_SUBMIT;
        m.rid = rids[r];
        mix_event(&sc, r * 7919, "0000deadbeef-t03-17", m.rid, &m.ev);
        sb.size = 0;
        size_t flen = submit_encode(fast, sizeof fast, m.rid, &m.ev);
        if (proto_encode(&m, &sb) != 0 || flen != sb.size || memcmp(fast, sb.data, flen) != 0)
            differ++;
    }
    msgpack_sbuffer_destroy(&sb);
    fast_submit = rc == 0 && differ == 0;
    if (rc == 0 && differ)
        fprintf(stderr, "bench_throughput: submit_encode differs from proto_encode on %zu of %d "
                        "bodies: the terminals use proto_encode\n", differ, BODY_SAMPLE);
    res.body_mean = (double)total / BODY_SAMPLE;
    if (rc == 0 && worst_miss > 2)
        fprintf(stderr, "bench_throughput: body sizes are off their target by up to %zu bytes\n",
                worst_miss);
    return rc;
}

static int run_load(void)
{
    int m = (int)cfg.terminals;
    flood_term *terms = calloc((size_t)m, sizeof *terms);
    mix_scratch *scratch = calloc((size_t)m, sizeof *scratch);
    /* --terminal-threads 0: the terminals on the responders' thread */
    int on_responders = cfg.terminal_threads == 0 && !cfg.no_responders;
    int ngroups = cfg.terminal_threads < 1   ? 1
                  : cfg.terminal_threads < m ? (int)cfg.terminal_threads
                                             : m;
    flood_group *groups = calloc((size_t)ngroups, sizeof *groups);
    char *started = calloc((size_t)ngroups, 1);
    void *ctx = zmq_ctx_new();
    bench_responders resp;
    memset(&resp, 0, sizeof resp);
    int resp_started = 0, rc = 0;
    pid_t perf = 0;
    atomic_int done = 0, release = 0;
    if (!terms || !scratch || !groups || !started || !ctx) {
        fprintf(stderr, "bench_throughput: out of memory\n");
        rc = -1;
        goto out;
    }
    if (zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)(county.nteams + (size_t)m + 64)) != 0)
        fprintf(stderr, "bench_throughput: cannot raise ZMQ_MAX_SOCKETS\n");
    if (zmq_ctx_set(ctx, ZMQ_IO_THREADS, (int)cfg.io_threads) != 0)
        fprintf(stderr, "bench_throughput: cannot set ZMQ_IO_THREADS\n");

    if (!cfg.no_responders) {
        resp.ctx = ctx;
        resp.endpoint = env.responders;
        resp.teams = county.teams;
        resp.nteams = county.nteams;
        resp.ack = cfg.ack;
        atomic_store(&resp.from_us, UINT64_MAX);
        atomic_store(&resp.end_us, 0);
        if (pthread_create(&resp.thread, NULL, responders_main, &resp) != 0) {
            fprintf(stderr, "bench_throughput: cannot start the responders' thread\n");
            rc = -1;
            goto out;
        }
        resp_started = 1;
        for (int waited = 0; waited < 15000; waited += 10) {
            if (atomic_load(&resp.nwelcomed) >= (int)county.nteams || resp.failed)
                break;
            tl_sleep_ms(10);
        }
        res.teams_present = atomic_load(&resp.nwelcomed);
        if (res.teams_present < (int)county.nteams)
            fprintf(stderr, "bench_throughput: only %d of %zu teams were welcomed\n",
                    res.teams_present, county.nteams);
    }

    uint64_t start = clock_mono_us() + 20000u; /* every thread begins together */
    uint64_t from = start + (uint64_t)cfg.warmup_s * 1000000u;
    uint64_t end = from + (uint64_t)cfg.duration_s * 1000000u;
    atomic_store(&resp.from_us, from);
    atomic_store(&resp.end_us, end);
    for (int i = 0; i < m; i++) {
        flood_term *t = &terms[i];
        scratch[i].cfg = &mix;
        t->index = i;
        t->ctx = ctx;
        t->endpoint = env.intake;
        t->inflight = cfg.inflight;
        t->stride = cfg.terminals;
        t->text = NULL; /* the mix makes every text */
        t->start_us = start;
        t->end_us = end;
        t->measure_from_us = from;
        t->make_event = mix_flood_event;
        t->event_arg = &scratch[i];
        t->done = &done;
        t->release = &release;
        t->next_k = (uint64_t)i;
        t->fast_submit = fast_submit;
        t->seed = (unsigned)(i * 7919 + 17);
        snprintf(t->terminal, sizeof t->terminal, "bench-%d", i);
    }
    /* The terminals in ngroups contiguous runs, one thread each. */
    for (int g = 0; g < ngroups; g++) {
        int first = (int)((long)m * g / ngroups), last = (int)((long)m * (g + 1) / ngroups);
        groups[g].terms = &terms[first];
        groups[g].n = last - first;
        if (on_responders) {
            atomic_store(&resp.group, &groups[g]); /* that thread opens and runs them */
            continue;
        }
        if (pthread_create(&groups[g].thread, NULL, flood_group_main, &groups[g]) != 0) {
            fprintf(stderr, "bench_throughput: cannot start terminal thread %d\n", g);
            for (int i = first; i < last; i++)
                terms[i].failed = 1;
            atomic_fetch_add(&done, last - first);
            continue;
        }
        started[g] = 1;
    }
    uint64_t now = clock_mono_us();
    if (from > now)
        bu_sleep_us(from - now);
    if (cfg.perf_dir) {
        pid_t pids[1 + MAX_WORKERS];
        for (int i = 0; i < nprocs - 1; i++)
            pids[i] = procs[i].pid;
        perf = bu_perf_start(cfg.perf_dir, cfg.perf_args, pids, nprocs - 1);
    }
    usage_take(&res.start);
    res.txn_start = bs_txnid(store_env);
    now = clock_mono_us();
    if (end > now)
        rss_sleep_until(now, end);
    usage_take(&res.end);
    res.txn_end = bs_txnid(store_env);
    if (perf && bu_perf_stop(perf, cfg.perf_dir) != 0)
        fprintf(stderr, "bench_throughput: perf record failed (see %s/perf-record.log)\n",
                cfg.perf_dir);
    res.window_s = (double)(end - from) / 1e6;

    uint64_t give_up = end + 10000000u;
    while (atomic_load(&done) < m && clock_mono_us() < give_up)
        tl_sleep_ms(2);
    atomic_store(&release, 1);
    for (int g = 0; g < ngroups; g++)
        if (started[g])
            pthread_join(groups[g].thread, NULL);
    for (int i = 0; i < m; i++) {
        flood_term *t = &terms[i];
        res.sent += t->sent;
        res.filed += t->filed;
        res.window_filed += t->window_filed;
        res.busy += t->busy;
        res.errors += t->errors;
        res.dups += t->dups;
        res.resends += t->resends;
        res.stale += t->stale;
        res.unanswered += t->unanswered;
        if (!res.first_err && t->first_err) {
            res.first_err = t->first_err;
            snprintf(res.first_reason, sizeof res.first_reason, "%s", t->first_reason);
        }
        if (t->failed)
            fprintf(stderr, "bench_throughput: terminal %d failed\n", i);
        bu_hist_merge(&res.filed_lat, &t->lat);
    }
out:
    if (resp_started) {
        atomic_store(&resp.stop, 1);
        pthread_join(resp.thread, NULL);
        res.dispatches = resp.dispatches;
        res.window_dispatches = resp.window_dispatches;
        res.notices = resp.notices;
        res.rehellos = resp.rehellos;
        res.dispatch_lat = resp.lat;
        res.acks_sent = resp.acks_sent;
        res.ack_results = resp.ack_results;
        res.window_ack_results = resp.window_ack_results;
        res.ack_errors = resp.ack_errors;
        res.window_ack_errors = resp.window_ack_errors;
        res.ack_unsent = resp.ack_unsent;
        res.ack_errors_early = resp.ack_errors_early;
        res.first_ack_err = resp.first_ack_err;
        memcpy(res.first_ack_reason, resp.first_ack_reason, sizeof res.first_ack_reason);
        if (resp.failed)
            fprintf(stderr, "bench_throughput: the responders' thread failed\n");
    }
    if (ctx)
        zmq_ctx_term(ctx);
    free(terms);
    free(scratch);
    free(groups);
    free(started);
    return rc;
}

/* start_gridline starts gridline-broker, --workers workers and
 * --alert-workers workers kept for the alert lane, then this program's
 * entry in procs. */
static void start_gridline(const char *const *bextra, const char *const *wextra)
{
    static char names[MAX_WORKERS][24];
    procs[nprocs++] = (proc_ref){"broker", tl_broker(&env, bextra)};
    for (long i = 0; i < cfg.workers; i++) {
        snprintf(names[i], sizeof names[i], "w%ld", i + 1);
        procs[nprocs++] = (proc_ref){names[i], tl_worker(&env, names[i], wextra)};
    }
    /* Workers kept for the alert lane: the deployment make run shows. */
    const char *aextra[34] = {"--lanes", "alert"};
    for (int i = 0; i < 31 && wextra[i]; i++)
        aextra[i + 2] = wextra[i];
    for (long i = 0; i < cfg.alert_workers; i++) {
        snprintf(names[cfg.workers + i], sizeof names[0], "wa%ld", i + 1);
        procs[nprocs++] = (proc_ref){names[cfg.workers + i],
                                     tl_worker(&env, names[cfg.workers + i], aextra)};
    }
    procs[nprocs++] = (proc_ref){"bench", 0};
}

/* floor_spawn starts floor_broker from this program's folder with args
 * (NULL-terminated after the first n) and extra. */
static pid_t floor_spawn(const char **args, int n, const char *const *extra)
{
    static tl_env fenv;
    if (!fenv.bin[0]) {
        char self[sizeof fenv.bin];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        fenv = env;
        if (len > 0) {
            self[len] = '\0';
            char *slash = strrchr(self, '/');
            if (slash)
                *slash = '\0';
            snprintf(fenv.bin, sizeof fenv.bin, "%s", self);
        } else
            snprintf(fenv.bin, sizeof fenv.bin, ".");
    }
    for (int i = 0; extra && extra[i] && n < 62; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return tl_spawn(&fenv, "floor_broker", args);
}

/* start_floor starts floor_broker in mode --floor and, in mode hop, its
 * workers (named as gridline's: w1.., wa1..), then this program's entry in
 * procs. 0, or -1 when floor_broker is not next to this program. */
static int start_floor(const char *const *bextra, const char *const *wextra)
{
    static char names[MAX_WORKERS][24];
    const char *b[64] = {"floor_broker", "--mode", cfg.floor, "--intake", env.intake,
                         "--responders", env.responders, "--workers", env.workers,
                         "--directory", env.directory};
    procs[nprocs++] = (proc_ref){"broker", floor_spawn(b, 11, bextra)};
    long nworkers = strcmp(cfg.floor, "hop") == 0 ? cfg.workers + cfg.alert_workers : 0;
    for (long i = 0; i < nworkers; i++) {
        int alert = i >= cfg.workers;
        snprintf(names[i], sizeof names[i], alert ? "wa%ld" : "w%ld",
                 alert ? i - cfg.workers + 1 : i + 1);
        const char *w[64] = {"floor_broker", "--worker", "--broker", env.workers,
                             "--directory", env.directory, "--name", names[i],
                             "--lanes", alert ? "alert" : "all"};
        procs[nprocs++] = (proc_ref){names[i], floor_spawn(w, 10, wextra)};
    }
    procs[nprocs++] = (proc_ref){"bench", 0};
    tl_sleep_ms(50);
    if (!tl_alive(procs[0].pid)) {
        fprintf(stderr, "bench_throughput: floor_broker did not start: it is built with make "
                        "build/rel/bench/floor_broker, next to bench_throughput (%s)\n",
                bu_logs_hint(env.dir));
        return -1;
    }
    return 0;
}

/* ---- --floor compare (make bench-floor) ---- */

/* compare_run runs this program again with argv less --floor and --json,
 * plus mode's --floor (none for gridline) and --json path; its output goes
 * to ours. Returns its exit status, or -1. */
static int compare_run(int argc, char **argv, const char *mode, const char *path)
{
    const char *args[128];
    int n = 0;
    args[n++] = argv[0];
    for (int i = 1; i < argc && n < 120; i++) {
        if (strcmp(argv[i], "--floor") == 0 || strcmp(argv[i], "--json") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--floor=", 8) == 0 || strncmp(argv[i], "--json=", 7) == 0)
            continue;
        args[n++] = argv[i];
    }
    if (mode) {
        args[n++] = "--floor";
        args[n++] = mode;
    }
    args[n++] = "--json";
    args[n++] = path;
    args[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv("/proc/self/exe", (char *const *)args);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static double jnum(json_t *j, const char *a, const char *b)
{
    json_t *v = j ? json_object_get(j, a) : NULL;
    if (v && b)
        v = json_object_get(v, b);
    return v ? json_number_value(v) : 0;
}

/* floor_compare runs the defaults (with the options given) as --floor
 * direct, --floor hop and gridline, one after another, and prints the
 * three side by side, then one JSON line (also to --json FILE). Exit
 * status: 0 when all three ran, else 1. */
/* print_json prints j as one line, also to --json FILE, and frees it. */
static void print_json(json_t *j)
{
    char *line = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (line) {
        printf("%s\n", line);
        if (cfg.json_path)
            bu_save_line(cfg.json_path, line, "bench_throughput");
        free(line);
    }
    json_decref(j);
}

static int floor_compare(int argc, char **argv)
{
    static const char *const modes[3] = {"direct", "hop", NULL};
    static const char *const names[3] = {"floor direct", "floor hop", "gridline"};
    json_t *runs[3] = {NULL, NULL, NULL};
    const char *tmp = getenv("TMPDIR");
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/gl-floor-compare-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        int fd = mkstemp(path);
        if (fd < 0) {
            fprintf(stderr, "bench_throughput: cannot make a temporary file: %s\n", strerror(errno));
            return 1;
        }
        close(fd);
        printf("\n== %s ==\n", names[k]);
        int st = compare_run(argc, argv, modes[k], path);
        runs[k] = st == 0 ? json_load_file(path, 0, NULL) : NULL;
        unlink(path);
        if (!runs[k]) {
            fprintf(stderr, "bench_throughput: the %s run failed (status %d)\n", names[k], st);
            rc = 1;
        }
    }
    printf("\nmake bench-floor: the same load (%s) against the floor and gridline, one after "
           "another\n\n",
           argc > 3 ? "bench_throughput with the options given" : "bench_throughput's defaults");
    printf("%-36s %14s %14s %14s\n", "", names[0], names[1], names[2]);
    printf("%-36s", "events/s filed");
    for (int k = 0; k < 3; k++)
        printf(" %14.0f", jnum(runs[k], "filed_per_s", NULL));
    printf("\n%-36s", "filed p50 / p99 ms");
    for (int k = 0; k < 3; k++) {
        char x[40];
        snprintf(x, sizeof x, "%.2f / %.2f", jnum(runs[k], "filed_ms", "p50"),
                 jnum(runs[k], "filed_ms", "p99"));
        printf(" %14s", x);
    }
    printf("\n%-36s", "dispatches delivered /s");
    for (int k = 0; k < 3; k++)
        printf(" %14.0f", jnum(runs[k], "dispatches_per_s", NULL));
    printf("\n%-36s\n", "CPU s per 10k events");
    static const char *const rows[4][2] = {{"  broker", "broker"},
                                           {"  workers", "workers"},
                                           {"  service (broker + workers)", "service"},
                                           {"  load generator (bench)", "bench"}};
    for (int r = 0; r < 4; r++) {
        printf("%-36s", rows[r][0]);
        for (int k = 0; k < 3; k++)
            printf(" %14.3f", jnum(runs[k], "cpu_s_per_10k", rows[r][1]));
        printf("\n");
    }
    printf("%-36s", "machine busy %");
    for (int k = 0; k < 3; k++)
        printf(" %14.0f", jnum(runs[k], "cpu_pct", "machine_busy"));
    printf("\n%-36s", "others (% of a core)");
    for (int k = 0; k < 3; k++)
        printf(" %14.0f", jnum(runs[k], "cpu_pct", "others"));
    printf("\n\n");
    json_t *j = json_object();
    json_object_set_new(j, "bench", json_string("floor_compare"));
    static const char *const keys[3] = {"floor_direct", "floor_hop", "gridline"};
    for (int k = 0; k < 3; k++) {
        json_t *o = json_object();
        json_object_set_new(o, "filed_per_s", json_real(jnum(runs[k], "filed_per_s", NULL)));
        json_object_set_new(o, "filed_ms", json_pack("{s:f,s:f}", "p50", jnum(runs[k], "filed_ms", "p50"), "p99", jnum(runs[k], "filed_ms", "p99")));
        json_object_set_new(o, "dispatches_per_s", json_real(jnum(runs[k], "dispatches_per_s", NULL)));
        json_t *c = json_object_get(runs[k], "cpu_s_per_10k"), *pct = json_object_get(runs[k], "cpu_pct");
        json_object_set(o, "cpu_s_per_10k", c ? c : json_null());
        json_object_set(o, "cpu_pct", pct ? pct : json_null());
        json_object_set_new(j, keys[k], o);
        json_decref(runs[k]);
    }
    print_json(j);
    return rc;
}

int main(int argc, char **argv)
{
    const opt_def defs[] = {
        {"workers", OPT_INT, "2", "gridline-worker processes sharing the store (N)", &cfg.workers, NULL},
        {"alert-workers", OPT_INT, "1", "more workers started with --lanes alert, as make run does (0: none)", &cfg.alert_workers, NULL},
        {"terminals", OPT_INT, "16", "simulated terminals, a DEALER socket each (M)", &cfg.terminals, NULL},
        {"inflight", OPT_INT, "16", "SUBMITs each terminal keeps in flight (K)", &cfg.inflight, NULL},
        {"terminal-threads", OPT_INT, "1", "threads driving the terminals, each serving its share of the sockets with epoll (0: on the responders' thread; at most M)", &cfg.terminal_threads, NULL},
        {"io-threads", OPT_INT, "1", "ZeroMQ I/O threads of this program (terminals and responders)", &cfg.io_threads, NULL},
        {"duration", OPT_INT, "8", "seconds measured, after the warm-up (at most 600)", &cfg.duration_s, NULL},
        {"warmup", OPT_INT, "2", "seconds of load before measuring (at most 60)", &cfg.warmup_s, NULL},
        {"payload", OPT_STR, "300-600", "SUBMIT body bytes, MIN-MAX or one size (the text fills it up)", &cfg.payload, NULL},
        {"alert-pct", OPT_INT, "1", "% of events that are alerts", &cfg.alert_pct, NULL},
        {"feedback-pct", OPT_INT, "20", "% of events that are property feedback (the rest: requests)", &cfg.feedback_pct, NULL},
        {"transport", OPT_STR, "tcp", "terminals' and responders' endpoints: tcp (127.0.0.1, free ports) or ipc (sockets in the temporary directory)", &cfg.transport, NULL},
        {"worker-transport", OPT_STR, "ipc", "the workers' endpoint: ipc (the workers run on the broker's host, as make run starts them) or tcp", &cfg.worker_transport, NULL},
        {"no-responders", OPT_FLAG, NULL, "connect no responders (dispatches are not delivered or counted)", &cfg.no_responders, NULL},
        {"ack", OPT_FLAG, NULL, "responders ACK every DISPATCH they receive (alert-lane acts the broker routes to the workers); acks/s and ack errors are reported", &cfg.ack, NULL},
        {"broker-args", OPT_STR, "", "extra broker arguments, space-separated (\"--max-queue 500\")", &cfg.broker_args, NULL},
        {"worker-args", OPT_STR, "", "extra arguments for every worker (\"--batch 64\")", &cfg.worker_args, NULL},
        {"json", OPT_STR, NULL, "also write the JSON figures to this file", &cfg.json_path, NULL},
        {"perf", OPT_STR, NULL, "profile broker and workers with perf record during the measured window; perf.data goes to this directory", &cfg.perf_dir, NULL},
        {"perf-args", OPT_STR, "-F 299 --call-graph dwarf,8192", "perf record options with --perf", &cfg.perf_args, NULL},
        {"rss-every", OPT_INT, "0", "sample the anonymous RSS of the broker and the workers every S seconds of the measured window and print the samples and the growth from the first to the last (0: off)", &rss_every_s, NULL},
        {"quick", OPT_FLAG, NULL, "a smoke test: 4 x 8 in flight, 1 s warm-up, 2 s measured (options given explicitly win)", &cfg.quick, NULL},
        {"floor", OPT_STR, NULL, "direct, hop or compare: run the same load against floor_broker (from this program's folder) instead of gridline: the same messages with no store and no decoding; direct: the broker answers and dispatches itself; hop: through --workers + --alert-workers floor workers (--broker-args and --worker-args go to floor_broker; no store lines; not with --ack); compare: direct, hop and gridline one after another, then side by side (make bench-floor)", &cfg.floor, NULL},
    };
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), argc, argv,
                        "bench_throughput [--workers N] [--terminals M] [--inflight K] "
                        "[--duration S] [--payload MIN-MAX] [--json FILE] [options]",
                        "Durable filing throughput of gridline: starts the real broker and workers on\n"
                        "a fresh store in a temporary directory (binaries from $GRIDLINE_BIN, the demo\n"
                        "county from $GRIDLINE_DATA), responders present as every team, and M\n"
                        "terminals keeping K SUBMITs in flight each. Measures events filed per second,\n"
                        "filed latency, dispatches delivered, commits, CPU per 10k events, peak RSS and\n"
                        "store bytes per event. Prints a table and one JSON line.");
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    if (cfg.quick) {
        if (!bu_given(argc, argv, "terminals"))
            cfg.terminals = 4;
        if (!bu_given(argc, argv, "inflight"))
            cfg.inflight = 8;
        if (!bu_given(argc, argv, "warmup"))
            cfg.warmup_s = 1;
        if (!bu_given(argc, argv, "duration"))
            cfg.duration_s = 2;
    }
    if (bu_parse_range(cfg.payload, &cfg.body_min, &cfg.body_max) != 0 || cfg.body_min < 100 ||
        cfg.body_max < cfg.body_min || cfg.body_max > GL_MAX_TEXT) {
        fprintf(stderr, "bench_throughput: --payload wants MIN-MAX or one size in 100..%d bytes\n",
                GL_MAX_TEXT);
        return 2;
    }
    if (cfg.workers < 1 || cfg.alert_workers < 0 || cfg.workers + cfg.alert_workers > MAX_WORKERS ||
        cfg.terminals < 1 ||
        cfg.terminals > MAX_TERMINALS || cfg.inflight < 1 || cfg.inflight > MAX_INFLIGHT ||
        cfg.terminal_threads < 0 || cfg.io_threads < 1 || cfg.io_threads > 16 ||
        cfg.duration_s < 1 || cfg.duration_s > 600 || cfg.warmup_s < 0 || cfg.warmup_s > 60 ||
        cfg.alert_pct < 0 || cfg.feedback_pct < 0 || cfg.alert_pct + cfg.feedback_pct > 100 ||
        (strcmp(cfg.transport, "tcp") != 0 && strcmp(cfg.transport, "ipc") != 0) ||
        (strcmp(cfg.worker_transport, "tcp") != 0 && strcmp(cfg.worker_transport, "ipc") != 0)) {
        fprintf(stderr, "bench_throughput: an option is out of range (see --help)\n");
        return 2;
    }
    if (cfg.floor && strcmp(cfg.floor, "direct") != 0 && strcmp(cfg.floor, "hop") != 0 &&
        strcmp(cfg.floor, "compare") != 0) {
        fprintf(stderr, "bench_throughput: --floor wants direct, hop or compare\n");
        return 2;
    }
    if (cfg.floor && cfg.ack) {
        fprintf(stderr, "bench_throughput: --ack needs the real service: the floor answers no ACK\n");
        return 2;
    }
    if (rss_option_bad(cfg.duration_s))
        return 2;
    if (cfg.floor && strcmp(cfg.floor, "compare") == 0)
        return floor_compare(argc, argv);
    if (cfg.perf_dir && mkdir(cfg.perf_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_throughput: cannot make %s: %s\n", cfg.perf_dir, strerror(errno));
        return 2;
    }
    /* One socket per team and per terminal, on both sides. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    tl_setup(&env, "bench-throughput");
    char err[600];
    if (county_load(&county, env.directory, err, sizeof err) != 0) {
        fprintf(stderr, "bench_throughput: %s\n", err);
        return 1;
    }
    if (mix_init(&mix, &county, cfg.alert_pct, cfg.feedback_pct, cfg.body_min, cfg.body_max) != 0 ||
        measure_bodies() != 0)
        return 1;
    if (bu_endpoints(cfg.transport, cfg.worker_transport, env.intake, env.workers,
                     env.responders, sizeof env.intake) != 0) {
        fprintf(stderr, "bench_throughput: no free port on 127.0.0.1\n");
        return 1;
    }

    char bbuf[1024], wbuf[1024];
    const char *bextra[32], *wextra[32];
    bu_split_args(cfg.broker_args, bbuf, sizeof bbuf, bextra, 32);
    bu_split_args(cfg.worker_args, wbuf, sizeof wbuf, wextra, 32);
    if (cfg.floor) {
        if (start_floor(bextra, wextra) != 0)
            return 1;
    } else
        start_gridline(bextra, wextra);
    if (tl_wait_workers(&env, 15000) != 0) {
        fprintf(stderr, "bench_throughput: the broker and workers did not come up (%s)\n",
                bu_logs_hint(env.dir));
        return 1;
    }
    if (!cfg.floor && bs_open(env.store, &store_env) != 0)
        fprintf(stderr, "bench_throughput: cannot open the store read-only: no commit count\n");

    rc = run_load();
    for (int i = 0; i < nprocs - 1; i++) {
        res.hwm_kb[i] = gl_proc_status_kb(procs[i].pid, "VmHWM");
        res.anon_kb[i] = gl_proc_status_kb(procs[i].pid, "RssAnon");
        if (!tl_alive(procs[i].pid))
            fprintf(stderr, "bench_throughput: %s exited during the run (%s)\n", procs[i].name,
                    bu_logs_hint(env.dir));
    }
    /* Workers first: SIGTERM finishes the transaction in progress. */
    for (int i = nprocs - 2; i >= 0; i--)
        res.exit_status[i] = tl_stop(procs[i].pid);
    bs_measure(store_env, env.store, &res.store);
    if (store_env)
        mdb_env_close(store_env);
    if (rc != 0) {
        fprintf(stderr, "bench_throughput: the load could not run (%s)\n", bu_logs_hint(env.dir));
        return 1;
    }
    print_table();
    json_t *j = make_json();
    print_json(j);
    fflush(stdout);
    if (cfg.perf_dir)
        printf("perf data: perf report -i %s/perf.data --no-children --sort comm,dso,symbol\n",
               cfg.perf_dir);
    mix_free(&mix);
    county_free(&county);
    if (res.window_filed == 0) {
        fprintf(stderr, "bench_throughput: nothing was filed (%s)\n", bu_logs_hint(env.dir));
        return 1;
    }
    return 0;
}
