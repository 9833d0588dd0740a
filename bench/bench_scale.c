/* bench_scale — how gridline scales (issue 7, point 4): throughput and
 * latency as the terminals grow, and as the store grows, with the restart
 * time of a large store.
 *
 * 1. Terminals sweep: one service as make run deploys it (the broker,
 *    --workers general workers at --nice 10, --alert-workers kept for the
 *    alert lane) on a fresh store. For each M of --terminals, M flood
 *    terminals keep --inflight routine SUBMITs each in flight for --warmup
 *    then --duration seconds (bench_flood.h, the county mix of
 *    bench_county.h): durable filed/s, filed latency p50/p99/max, BUSY
 *    replies, events per commit, CPU and memory of the service.
 * 2. Store size: a fresh store filled through the store API (bench_fill.h)
 *    up to each of --store-sizes events. At each size: evict the store's
 *    pages from the page cache, start the broker, then the workers, and
 *    time from spawning the workers until a worker answers a SHOW (sent
 *    every 5 ms; bench_restart.h): the cold start; each worker also logs
 *    its own open time. Then a flood of --size-terminals x --size-inflight
 *    for --warmup and --size-duration seconds on that service, with the
 *    workers' bytes written and read, CPU (user and kernel) and page
 *    faults per event and the store's staged entries, freelist and cached
 *    share before and after; SIGTERM to everything (the workers' stop is
 *    timed), and the same start again with the pages in the cache (warm).
 *    Then the next fill.
 *
 * Prints a table per part and one JSON line. Exit status: 0 once the
 * figures are printed; 1 when the service did not come up or could not be
 * measured; 2 for bad options. */
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
#include <unistd.h>
#include <zmq.h>

#include "../common/clock.h"
#include "../common/directory.h"
#include "../common/gl.h"
#include "../common/opts.h"
#include "../proto/frame.h"
#include "../proto/proto.h"
#include "../tests/support/testlib.h"
#include "bench_county.h"
#include "bench_fill.h"
#include "bench_flood.h"
#include "bench_restart.h"
#include "bench_store.h"
#include "bench_util.h"

#define MAX_WORKERS 8
#define MAX_LIST 32
#define RESTART_TIMEOUT_MS 120000
#define DEFAULT_MAP_MAX_MB 65536 /* the workers' default --map-max-mb */

typedef struct bench_cfg {
    long workers, alert_workers, routine_nice, realtime, inflight, duration_s, warmup_s;
    long size_terminals, size_inflight, size_duration_s, fill_batch, alert_pct, feedback_pct;
    long body_min, body_max;
    int quick, no_sweep, no_sizes, no_cold;
    const char *terminals, *store_sizes, *payload, *transport, *worker_transport, *broker_args, *worker_args,
        *json_path;
    long term_list[MAX_LIST];
    uint64_t size_list[MAX_LIST];
    int nterms, nsizes;
} bench_cfg;

static bench_cfg cfg;
static tl_env env;
static bench_county county;
static mix_cfg mix;
static directory *dir;
static volatile sig_atomic_t interrupted;
static int spawns; /* tl_spawn's log number of the last process started */

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- the service ---- */

typedef struct service {
    pid_t broker, workers[MAX_WORKERS];
    int log_no[MAX_WORKERS];
    char names[MAX_WORKERS][24];
    int nworkers;
    MDB_env *store_env; /* read-only, for the commit count */
} service;

/* worker_logged: what worker i logged of its start-up. */
static rs_logged worker_logged(const service *s, int i)
{
    char path[600];
    snprintf(path, sizeof path, "%s/gridline-worker.%d.log", env.dir, s->log_no[i]);
    return rs_worker_logged(path);
}

/* service_broker starts the broker and waits until it answers a PING. */
static int service_broker(service *s)
{
    static char rt[16], bbuf[1024];
    const char *extra[32], *args[40];
    int n = 0;
    bu_split_args(cfg.broker_args, bbuf, sizeof bbuf, extra, 32);
    snprintf(rt, sizeof rt, "%ld", cfg.realtime);
    if (cfg.realtime > 0) {
        args[n++] = "--realtime";
        args[n++] = rt;
    }
    for (int i = 0; extra[i] && n < 38; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    memset(s, 0, sizeof *s);
    s->broker = tl_broker(&env, args);
    spawns++;
    return tl_wait_ready(&env, 15000);
}

/* service_workers spawns the workers (general ones at --routine-nice, then
 * the alert-lane ones at --realtime), with map_max_mb when not 0. */
static void service_workers(service *s, long map_max_mb)
{
    static char nice_arg[16], rt[16], mapmax[24], wbuf[1024];
    const char *extra[32], *gen[52], *alert[52];
    int ng = 0, na = 0;
    bu_split_args(cfg.worker_args, wbuf, sizeof wbuf, extra, 32);
    snprintf(nice_arg, sizeof nice_arg, "%ld", cfg.routine_nice);
    snprintf(rt, sizeof rt, "%ld", cfg.realtime);
    snprintf(mapmax, sizeof mapmax, "%ld", map_max_mb);
    if (cfg.routine_nice > 0) {
        gen[ng++] = "--nice";
        gen[ng++] = nice_arg;
    }
    alert[na++] = "--lanes";
    alert[na++] = "alert";
    if (cfg.realtime > 0) {
        alert[na++] = "--realtime";
        alert[na++] = rt;
    }
    if (map_max_mb > 0) {
        gen[ng++] = alert[na++] = "--map-max-mb";
        gen[ng++] = alert[na++] = mapmax;
    }
    /* No responder acknowledges: every dispatch stays pending, and from
     * 30 s on (--retry-ms) the workers would resend what the earlier steps
     * filed, reading and rewriting it, while they file the later steps
     * (the sweep's 32 and 64, about 35 s in). Not within this run. Given
     * first, so a --worker-args --retry-ms wins. */
    gen[ng++] = alert[na++] = "--retry-ms";
    gen[ng++] = alert[na++] = "3600000";
    for (int i = 0; extra[i]; i++)
        gen[ng++] = alert[na++] = extra[i];
    gen[ng] = alert[na] = NULL;
    for (long i = 0; i < cfg.workers + cfg.alert_workers; i++) {
        int kept = i >= cfg.workers;
        snprintf(s->names[i], sizeof s->names[i], kept ? "wa%ld" : "w%ld",
                 (kept ? i - cfg.workers : i) + 1);
        s->workers[i] = tl_worker(&env, s->names[i], kept ? alert : gen);
        s->log_no[i] = ++spawns;
        s->nworkers++;
    }
}

/* service_stop sends SIGTERM to the workers, then the broker, and waits for
 * each; returns the ms the workers took to stop, and counts unclean exits. */
static double service_stop(service *s, int *unclean)
{
    if (s->store_env) {
        mdb_env_close(s->store_env);
        s->store_env = NULL;
    }
    uint64_t t0 = clock_mono_us();
    /* All at once: the time is that of the slowest, as when a host stops. */
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i] > 0)
            kill(s->workers[i], SIGTERM);
    for (int i = s->nworkers - 1; i >= 0; i--)
        if (s->workers[i] > 0 && tl_stop(s->workers[i]) != 0 && unclean)
            (*unclean)++;
    double ms = (double)(clock_mono_us() - t0) / 1000.0;
    if (s->broker > 0 && tl_stop(s->broker) != 0 && unclean)
        (*unclean)++;
    s->nworkers = 0;
    s->broker = 0;
    return ms;
}

/* ---- restart: from spawning the workers until one answers ---- */

/* service_restart spawns the workers and returns the ms from just before
 * the first spawn to a worker's first answer (rs_probe_wait), or -1. */
static double service_restart(service *s, long map_max_mb)
{
    rs_probe p;
    if (rs_probe_open(&p, env.intake) != 0) {
        fprintf(stderr, "bench_scale: cannot connect the restart probe to %s\n", env.intake);
        return -1;
    }
    uint64_t t0 = clock_mono_us();
    service_workers(s, map_max_mb);
    double ms = rs_probe_wait(&p, t0, RESTART_TIMEOUT_MS, &interrupted);
    rs_probe_close(&p);
    return ms;
}

/* ---- a flood of M terminals x K in flight ---- */

typedef struct usage_snap {
    bu_usage broker, workers, bench;
    bu_machine machine;
    uint64_t mono_us;
    uint64_t written, read; /* the workers' bytes written and read (rs_proc_io) */
    uint64_t minflt, majflt, user_ticks, sys_ticks; /* the workers' (rs_proc_stat) */
} usage_snap;

static void usage_take(const service *s, usage_snap *u)
{
    memset(u, 0, sizeof *u);
    bu_proc_usage(s->broker, &u->broker);
    for (int i = 0; i < s->nworkers; i++) {
        bu_usage w;
        if (bu_proc_usage(s->workers[i], &w) == 0) {
            u->workers.cpu_ns += w.cpu_ns;
            u->workers.wait_ns += w.wait_ns;
        }
        rs_proc_io(s->workers[i], &u->written, &u->read);
        rs_proc_stat(s->workers[i], &u->minflt, &u->majflt, &u->user_ticks, &u->sys_ticks);
    }
    bu_proc_usage(0, &u->bench);
    bu_machine_sample(&u->machine);
    u->mono_us = clock_mono_us();
}

typedef struct phase_res {
    long terminals, inflight;
    double window_s;
    uint64_t filed, busy, errors, unanswered, commits;
    uint32_t first_err;
    char first_reason[200];
    bu_hist lat;
    double service_pct, bench_pct, machine_pct;   /* CPU: % of a core; machine: % busy */
    double service_us_per_event;                   /* CPU of the broker and workers */
    uint64_t written, read;                        /* the workers' (rs_proc_io) */
    uint64_t minflt, majflt;                       /* the workers' page faults */
    double worker_user_s, worker_sys_s;            /* the workers' CPU, user and kernel */
    long broker_anon_kb, worker_anon_kb, broker_hwm_kb, worker_hwm_kb; /* workers: the largest */
} phase_res;

static double pct_of(uint64_t ns, const usage_snap *a, const usage_snap *b)
{
    double wall_ns = (double)(b->mono_us - a->mono_us) * 1000.0;
    return wall_ns > 0 ? 100.0 * (double)ns / wall_ns : 0;
}

/* run_flood drives the service with m terminals of k in flight for
 * --warmup then duration_s seconds and fills r. 0, or -1 if it could not. */
static int run_flood(service *s, long m, long k, long duration_s, phase_res *r)
{
    memset(r, 0, sizeof *r);
    r->terminals = m;
    r->inflight = k;
    flood_term *terms = calloc((size_t)m, sizeof *terms);
    mix_scratch *scratch = calloc((size_t)m, sizeof *scratch);
    char *started = calloc((size_t)m, 1);
    void *ctx = zmq_ctx_new();
    atomic_int done = 0, release = 0;
    int rc = 0;
    if (!terms || !scratch || !started || !ctx) {
        fprintf(stderr, "bench_scale: out of memory\n");
        rc = -1;
        goto out;
    }
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)m + 64);
    uint64_t start = clock_mono_us() + 20000u;
    uint64_t from = start + (uint64_t)cfg.warmup_s * 1000000u;
    uint64_t end = from + (uint64_t)duration_s * 1000000u;
    static uint64_t next_k; /* event numbers go on from phase to phase */
    for (long i = 0; i < m; i++) {
        flood_term *t = &terms[i];
        scratch[i].cfg = &mix;
        t->index = (int)i;
        t->ctx = ctx;
        t->endpoint = env.intake;
        t->inflight = k;
        t->stride = m;
        t->start_us = start;
        t->end_us = end;
        t->measure_from_us = from;
        t->make_event = mix_flood_event;
        t->event_arg = &scratch[i];
        t->done = &done;
        t->release = &release;
        t->next_k = next_k + (uint64_t)i;
        t->seed = (unsigned)(i * 7919 + 17);
        snprintf(t->terminal, sizeof t->terminal, "bench-%ld", i);
        if (pthread_create(&t->thread, NULL, flood_main, t) != 0) {
            fprintf(stderr, "bench_scale: cannot start terminal %ld\n", i);
            atomic_fetch_add(&done, 1);
            continue;
        }
        started[i] = 1;
    }
    usage_snap a, b;
    uint64_t now = clock_mono_us();
    if (from > now)
        bu_sleep_us(from - now);
    usage_take(s, &a);
    uint64_t txn0 = bs_txnid(s->store_env);
    now = clock_mono_us();
    if (end > now)
        bu_sleep_us(end - now);
    usage_take(s, &b);
    r->commits = bs_txnid(s->store_env) - txn0;
    r->window_s = (double)(end - from) / 1e6;
    r->service_pct = pct_of(b.broker.cpu_ns - a.broker.cpu_ns + b.workers.cpu_ns - a.workers.cpu_ns,
                            &a, &b);
    r->bench_pct = pct_of(b.bench.cpu_ns - a.bench.cpu_ns, &a, &b);
    r->written = b.written - a.written;
    r->read = b.read - a.read;
    r->minflt = b.minflt - a.minflt;
    r->majflt = b.majflt - a.majflt;
    long hz = sysconf(_SC_CLK_TCK);
    r->worker_user_s = hz > 0 ? (double)(b.user_ticks - a.user_ticks) / (double)hz : 0;
    r->worker_sys_s = hz > 0 ? (double)(b.sys_ticks - a.sys_ticks) / (double)hz : 0;
    unsigned long long busy = b.machine.busy - a.machine.busy, total = b.machine.total - a.machine.total;
    r->machine_pct = total ? 100.0 * (double)busy / (double)total : 0;
    r->broker_anon_kb = gl_proc_status_kb(s->broker, "RssAnon");
    r->broker_hwm_kb = gl_proc_status_kb(s->broker, "VmHWM");
    for (int i = 0; i < s->nworkers; i++) {
        long anon = gl_proc_status_kb(s->workers[i], "RssAnon");
        long hwm = gl_proc_status_kb(s->workers[i], "VmHWM");
        r->worker_anon_kb = anon > r->worker_anon_kb ? anon : r->worker_anon_kb;
        r->worker_hwm_kb = hwm > r->worker_hwm_kb ? hwm : r->worker_hwm_kb;
    }
    uint64_t give_up = end + 10000000u;
    while (atomic_load(&done) < m && clock_mono_us() < give_up)
        tl_sleep_ms(2);
    atomic_store(&release, 1);
    for (long i = 0; i < m; i++) {
        flood_term *t = &terms[i];
        if (!started[i])
            continue;
        pthread_join(t->thread, NULL);
        r->filed += t->window_filed;
        r->busy += t->busy;
        r->errors += t->errors;
        r->unanswered += t->unanswered;
        if (!r->first_err && t->first_err) {
            r->first_err = t->first_err;
            snprintf(r->first_reason, sizeof r->first_reason, "%s", t->first_reason);
        }
        if (t->failed)
            fprintf(stderr, "bench_scale: terminal %ld failed\n", i);
        bu_hist_merge(&r->lat, &t->lat);
        if (t->next_k > next_k)
            next_k = t->next_k;
    }
    r->service_us_per_event =
        r->filed ? (double)(b.broker.cpu_ns - a.broker.cpu_ns + b.workers.cpu_ns - a.workers.cpu_ns) /
                       1000.0 / (double)r->filed
                 : 0;
out:
    if (ctx)
        zmq_ctx_term(ctx);
    free(terms);
    free(scratch);
    free(started);
    return rc;
}

/* ---- part 1: the terminals sweep ---- */

static phase_res sweep[MAX_LIST];
static int nsweep;
static int unclean_exits;

/* lat_str: "p50/p99/max" of h in ms. */
static const char *lat_str(const bu_hist *h, char *buf, size_t len)
{
    snprintf(buf, len, "%.2f/%.2f/%.2f", (double)bu_hist_percentile(h, 50) / 1000.0,
             (double)bu_hist_percentile(h, 99) / 1000.0, (double)h->max_us / 1000.0);
    return buf;
}

static double filed_per_s(const phase_res *r)
{
    return r->window_s > 0 ? (double)r->filed / r->window_s : 0;
}

static double per_event(uint64_t n, const phase_res *r)
{
    return r->filed ? (double)n / (double)r->filed : 0;
}

/* us_per_event: seconds of CPU per event filed in r, in µs. */
static double us_per_event(double seconds, const phase_res *r)
{
    return r->filed ? seconds * 1e6 / (double)r->filed : 0;
}

/* pages_per_commit: the workers' bytes written over the write
 * transactions of the window, in 4 KiB pages (LMDB writes whole pages). */
static double pages_per_commit(const phase_res *r)
{
    return r->commits ? (double)r->written / 4096.0 / (double)r->commits : 0;
}

static void print_phase_row(const phase_res *r)
{
    char first[32], lat[64], cpu[32], rss[32];
    snprintf(first, sizeof first, "%ld x %ld", r->terminals, r->inflight);
    snprintf(cpu, sizeof cpu, "%.0f/%.0f/%.0f", r->service_pct, r->bench_pct, r->machine_pct);
    snprintf(rss, sizeof rss, "%.1f/%.1f", (double)r->broker_anon_kb / 1024.0,
             (double)r->worker_anon_kb / 1024.0);
    printf("%-10s %8.0f %20s %6" PRIu64 " %6.1f %6.0f %6.1f %13s %11s\n", first, filed_per_s(r),
           lat_str(&r->lat, lat, sizeof lat), r->busy,
           r->commits ? (double)r->filed / (double)r->commits : 0, r->service_us_per_event,
           per_event(r->written, r) / 1024.0, cpu, rss);
    if (r->errors)
        printf("  %" PRIu64 " errors: the first %u: %s\n", r->errors, r->first_err, r->first_reason);
}

static void print_phase_header(void)
{
    printf("%-10s %8s %20s %6s %6s %6s %6s %13s %11s\n", "terminals", "filed/s",
           "filed ms", "busy", "ev/txn", "CPU", "KiB", "CPU %", "RssAnon MiB");
    printf("%-10s %8s %20s %6s %6s %6s %6s %13s %11s\n", "x inflight", "durable",
           "p50/p99/max", "", "", "us/ev", "wr/ev", "svc/bench/all", "brk/worker");
}

static int run_sweep(void)
{
    service s;
    char store_dir[400];
    snprintf(store_dir, sizeof store_dir, "%s/store", env.dir);
    if (service_broker(&s) != 0) {
        fprintf(stderr, "bench_scale: the broker did not answer (%s)\n", bu_logs_hint(env.dir));
        return -1;
    }
    double ms = service_restart(&s, 0);
    if (ms < 0) {
        fprintf(stderr, "bench_scale: no worker answered (%s)\n", bu_logs_hint(env.dir));
        service_stop(&s, &unclean_exits);
        return -1;
    }
    bs_open(store_dir, &s.store_env);
    printf("\nbench_scale: terminals sweep, %ld workers (nice %ld) + %ld alert-lane, %ld in "
           "flight per terminal,\n  %ld s warm-up + %ld s measured per step, %s, store on %s "
           "(%s); first answer %.1f ms after spawning the workers\n\n",
           cfg.workers, cfg.routine_nice, cfg.alert_workers, cfg.inflight, cfg.warmup_s,
           cfg.duration_s, strcmp(cfg.transport, "tcp") == 0 ? "tcp on 127.0.0.1 (workers: ipc unless --worker-transport tcp)" : "ipc://",
           env.dir, bs_fs_name(env.dir), ms);
    print_phase_header();
    fflush(stdout);
    for (int i = 0; i < cfg.nterms && !interrupted; i++) {
        phase_res *r = &sweep[nsweep];
        if (run_flood(&s, cfg.term_list[i], cfg.inflight, cfg.duration_s, r) != 0)
            break;
        nsweep++;
        print_phase_row(r);
        fflush(stdout);
        for (int w = 0; w < s.nworkers; w++)
            if (!tl_alive(s.workers[w]))
                fprintf(stderr, "bench_scale: worker %s exited (%s)\n", s.names[w],
                        bu_logs_hint(env.dir));
    }
    service_stop(&s, &unclean_exits);
    return 0; /* each store size starts from an empty store of its own */
}

/* ---- part 2: the store's size ---- */

/* What a flood at a store size starts from, besides the size. */
typedef struct store_shape {
    uint64_t staged;        /* index_recent + team_recent + pending_recent + board_recent entries: work for a settle */
    uint64_t timers;        /* timers entries */
    uint64_t free_records, free_pages; /* LMDB's freelist */
    double cached_pct;      /* of data.mdb in the page cache */
} store_shape;

typedef struct size_res {
    uint64_t target;
    int skipped; /* 1: not enough disk; 2: interrupted during the fill */
    fill_result fill;
    bs_figures store;
    double cached_before_cold, restart_cold_ms, restart_warm_ms, stop_ms;
    rs_logged logged_cold, logged_warm; /* the slowest worker's own figures */
    long map_max_mb;
    phase_res flood;
    store_shape before, after; /* before the warm restart, at the flood's end */
} size_res;

static size_res sizes[MAX_LIST];

/* shape_take reads what waits to be settled, LMDB's freelist and the share
 * of the store's file in the page cache, from store_env (opened
 * read-only). */
static void shape_take(MDB_env *store_env, const char *store_dir, store_shape *sh)
{
    memset(sh, 0, sizeof *sh);
    sh->staged = bs_entries(store_env, "index_recent") + bs_entries(store_env, "team_recent") +
                 bs_entries(store_env, "pending_recent") + bs_entries(store_env, "board_recent");
    sh->timers = bs_entries(store_env, "timers");
    bs_freelist(store_env, &sh->free_records, &sh->free_pages);
    sh->cached_pct = rs_cached_pct(store_dir);
}
static int nsizes_done;
static uint64_t fill_last_us;

static int fill_progress(const fill_result *r, uint64_t target)
{
    uint64_t now = clock_mono_us();
    if (interrupted)
        return 1;
    if (now - fill_last_us < 10000000u && r->after < target)
        return 0;
    fill_last_us = now;
    fprintf(stderr, "bench_scale: filled %" PRIu64 " of %" PRIu64 " events (%.0f/s)\n", r->after,
            target, r->seconds > 0 ? (double)r->added / r->seconds : 0);
    return 0;
}

/* slowest_logged: the largest of each figure over the workers. */
static void slowest_logged(const service *s, rs_logged *worst)
{
    worst->open_ms = worst->start_ms = -1;
    for (int i = 0; i < s->nworkers; i++) {
        rs_logged l = {-1, -1};
        /* The line is written before the worker connects: it is there. */
        for (int tries = 0; tries < 100 && (l = worker_logged(s, i)).open_ms < 0; tries++)
            tl_sleep_ms(10);
        if (l.open_ms > worst->open_ms)
            worst->open_ms = l.open_ms;
        if (l.start_ms > worst->start_ms)
            worst->start_ms = l.start_ms;
    }
}

/* remove_store deletes the store in store_dir, if any. */
static void remove_store(const char *store_dir)
{
    char cmd[500];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", store_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_scale: could not remove %s\n", store_dir);
}

static int measure_size(fill_cfg *fc, const char *store_dir, size_res *z, double est_bytes)
{
    /* Each size on a store of its own, filled from empty: a smaller size's
     * flood leaves a few hundred thousand events nobody acknowledged, and
     * their resends (30 s, then doubling) and deadlines came due during
     * the next size's flood, reading and rewriting them (at 3M: 17 KiB
     * read and 54 us of user CPU per event filed, against 0.3 and 15 at
     * 1M). That is a backlog's cost, not the store's size. */
    MDB_env *e = NULL;
    remove_store(store_dir);
    fc->next = 0;
    fc->total = z->target;
    /* Room for the fill on the disk, and a margin for the floods. */
    uint64_t need = (uint64_t)((double)z->target * est_bytes * 1.2);
    uint64_t avail = rs_disk_free(env.dir);
    if (need + (1ull << 30) > avail) {
        fprintf(stderr, "bench_scale: %" PRIu64 " events need about %.1f GiB more on %s, "
                        "%.1f GiB are free: stopping here\n",
                z->target, (double)need / (1 << 30), env.dir, (double)avail / (1 << 30));
        z->skipped = 1;
        return 0;
    }
    fill_last_us = clock_mono_us();
    int rc = fill_store(store_dir, fc, z->target, &z->fill, fill_progress);
    if (rc) {
        fprintf(stderr, "bench_scale: the fill failed: %s\n", gl_strerror(rc));
        return -1;
    }
    if (interrupted) {
        z->skipped = 2;
        return 0;
    }
    if (bs_open(store_dir, &e) == 0) {
        bs_measure(e, store_dir, &z->store);
        shape_take(e, store_dir, &z->before);
        mdb_env_close(e);
    }
    /* The map's ceiling: the default, or twice the store when that is more. */
    long used_mb = (long)(bs_used_bytes(&z->store) / 1048576.0);
    z->map_max_mb = DEFAULT_MAP_MAX_MB;
    while (z->map_max_mb < 2 * used_mb + 1024)
        z->map_max_mb *= 2;

    /* Cold first: the store's pages evicted from the page cache, as after
     * a reboot, and the flood on the service that started so, which reads
     * what it needs as it goes. Not on the pages as the fill left them:
     * writing into page-cache pages the fill has just written cost the
     * workers' kernel time several times what it costs in a service's own
     * pages (bench/README.md), a cost of the fill, not of the store's
     * size. Then warm: the same start again, its pages now in the cache.
     * With --no-cold, nothing is evicted: the first start and the flood
     * run on the fill's pages. */
    service s;
    z->restart_cold_ms = -1;
    if (!cfg.no_cold && rs_evict(store_dir) != 0)
        fprintf(stderr, "bench_scale: cannot evict the store from the page cache\n");
    if (service_broker(&s) != 0)
        goto no_broker;
    z->cached_before_cold = rs_cached_pct(store_dir);
    double first_ms = service_restart(&s, z->map_max_mb);
    if (!cfg.no_cold) {
        z->restart_cold_ms = first_ms;
        slowest_logged(&s, &z->logged_cold);
    }
    if (first_ms < 0) {
        service_stop(&s, &unclean_exits);
        goto no_worker;
    }
    bs_open(store_dir, &s.store_env);
    rc = run_flood(&s, cfg.size_terminals, cfg.size_inflight, cfg.size_duration_s, &z->flood);
    shape_take(s.store_env, store_dir, &z->after);
    z->stop_ms = service_stop(&s, &unclean_exits);
    if (rc != 0 || interrupted)
        return rc;
    if (service_broker(&s) != 0)
        goto no_broker;
    z->restart_warm_ms = service_restart(&s, z->map_max_mb);
    slowest_logged(&s, &z->logged_warm);
    service_stop(&s, &unclean_exits);
    if (z->restart_warm_ms < 0)
        goto no_worker;
    return 0;
no_broker:
    fprintf(stderr, "bench_scale: the broker did not answer (%s)\n", bu_logs_hint(env.dir));
    service_stop(&s, &unclean_exits);
    return -1;
no_worker:
    fprintf(stderr, "bench_scale: no worker answered within %d s (%s)\n",
            RESTART_TIMEOUT_MS / 1000, bu_logs_hint(env.dir));
    return -1;
}

/* db_depth: the B-tree depth of the database named name after the fill. */
static uint64_t db_depth(const bs_figures *f, const char *name)
{
    for (int d = 0; d < f->ndb; d++)
        if (strcmp(f->db[d].name, name) == 0)
            return f->db[d].depth;
    return 0;
}

static json_t *shape_json(const store_shape *sh)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:f}", "staged", (json_int_t)sh->staged, "timers",
                     (json_int_t)sh->timers, "freelist_records", (json_int_t)sh->free_records,
                     "freelist_pages", (json_int_t)sh->free_pages, "cached_pct", sh->cached_pct);
}

static void print_size_table(void)
{
    printf("\nbench_scale: store size, settled events filled through the store API (%ld per "
           "transaction),\n  then a cold start and a flood of %ld x %ld for %ld s (after %ld s warm-up)\n\n",
           cfg.fill_batch, cfg.size_terminals, cfg.size_inflight, cfg.size_duration_s, cfg.warmup_s);
    printf("%-9s %6s %8s %6s %5s %13s %11s %5s %8s %20s %5s %6s %5s %5s\n", "events", "fill",
           "data", "B/ev", "depth", "restart ms", "open ms", "stop", "filed/s", "filed ms", "busy",
           "ev/txn", "CPU", "KiB");
    printf("%-9s %6s %8s %6s %5s %13s %11s %5s %8s %20s %5s %6s %5s %5s\n", "", "s", "MiB", "",
           "", "cold/warm", "cold/warm", "ms", "durable", "p50/p99/max", "", "", "us/ev", "wr/ev");
    for (int i = 0; i < nsizes_done; i++) {
        const size_res *z = &sizes[i];
        if (z->skipped) {
            printf("%-9" PRIu64 " skipped: %s\n", z->target,
                   z->skipped == 1 ? "not enough free disk" : "interrupted");
            continue;
        }
        const bs_figures *f = &z->store;
        int depth = 0;
        for (int d = 0; d < f->ndb; d++)
            if ((int)f->db[d].depth > depth)
                depth = (int)f->db[d].depth;
        char restart[48], logged[48], lat[64], cold[16] = "-", cold_open[16] = "-";
        if (!cfg.no_cold) {
            snprintf(cold, sizeof cold, "%.1f", z->restart_cold_ms);
            snprintf(cold_open, sizeof cold_open, "%.1f", z->logged_cold.open_ms);
        }
        snprintf(restart, sizeof restart, "%s/%.1f", cold, z->restart_warm_ms);
        snprintf(logged, sizeof logged, "%s/%.1f", cold_open, z->logged_warm.open_ms);
        const phase_res *r = &z->flood;
        printf("%-9" PRIu64 " %6.1f %8.1f %6.0f %5d %13s %11s %5.0f %8.0f %20s %5" PRIu64
               " %6.1f %5.0f %5.1f\n",
               f->events, z->fill.seconds, (double)f->file_bytes / 1048576.0,
               f->events ? (double)f->file_bytes / (double)f->events : 0, depth, restart, logged,
               z->stop_ms, filed_per_s(r), lat_str(&r->lat, lat, sizeof lat), r->busy,
               r->commits ? (double)r->filed / (double)r->commits : 0, r->service_us_per_event,
               per_event(r->written, r) / 1024.0);
    }
    printf("events: filled into a store of its own for each size. fill: seconds to fill it. "
           "depth: the\ndeepest B-tree. restart: from spawning the workers to a first answer; "
           "open: the slowest\nworker's own figure for store_open and store_join. cold: the "
           "store's pages evicted from the\npage cache after the fill; then the flood; then "
           "warm: the same start again. stop: the workers,\non SIGTERM, after the flood.\n");
    printf("\n%-9s %13s %13s %9s %6s %5s %5s %11s %6s %13s\n", "events", "staged",
           "free pages", "cached %", "pages", "KiB", "KiB", "worker CPU", "faults",
           "depth");
    printf("%-9s %13s %13s %9s %6s %5s %5s %11s %6s %13s\n", "", "after fill/end",
           "after fill/end", "start/end", "/txn", "wr/ev", "rd/ev", "usr/sys us", "/ev",
           "ev/ids/ix/hs");
    for (int i = 0; i < nsizes_done; i++) {
        const size_res *z = &sizes[i];
        if (z->skipped)
            continue;
        const phase_res *r = &z->flood;
        char staged[40], freep[40], cached[40], cpu[40], depth[40];
        snprintf(staged, sizeof staged, "%" PRIu64 "/%" PRIu64, z->before.staged, z->after.staged);
        snprintf(freep, sizeof freep, "%" PRIu64 "/%" PRIu64, z->before.free_pages,
                 z->after.free_pages);
        snprintf(cached, sizeof cached, "%.0f/%.0f", z->cached_before_cold, z->after.cached_pct);
        snprintf(cpu, sizeof cpu, "%.1f/%.1f", us_per_event(r->worker_user_s, r),
                 us_per_event(r->worker_sys_s, r));
        snprintf(depth, sizeof depth, "%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64,
                 db_depth(&z->store, "events"), db_depth(&z->store, "event_ids"),
                 db_depth(&z->store, "event_index"), db_depth(&z->store, "history"));
        printf("%-9" PRIu64 " %13s %13s %9s %6.1f %5.1f %5.1f %11s %6.2f %13s\n", z->store.events,
               staged, freep, cached, pages_per_commit(r), per_event(r->written, r) / 1024.0,
               per_event(r->read, r) / 1024.0, cpu, per_event(r->minflt + r->majflt, r), depth);
    }
    printf("staged: index_recent + team_recent + pending_recent + board_recent entries waiting "
           "for a settle, "
           "after the fill and at the\nflood's end. free pages: LMDB's freelist. cached: the store's file in "
           "the page cache at the\nfirst start and at the flood's end. Per event filed in the "
           "flood, of the workers: pages per\nwrite transaction (bytes written / 4 KiB), KiB "
           "written and read, CPU user/kernel, page faults.\ndepth: of the events, event_ids, "
           "event_index and history B-trees.\n");
}

/* ---- JSON ---- */

static json_t *lat_json(const bu_hist *h)
{
    return json_pack("{s:f,s:f,s:f}", "p50", (double)bu_hist_percentile(h, 50) / 1000.0, "p99",
                     (double)bu_hist_percentile(h, 99) / 1000.0, "max", (double)h->max_us / 1000.0);
}

static json_t *phase_json(const phase_res *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "terminals", json_integer(r->terminals));
    json_object_set_new(j, "inflight", json_integer(r->inflight));
    json_object_set_new(j, "filed_per_s", json_real(filed_per_s(r)));
    json_object_set_new(j, "filed", json_integer((json_int_t)r->filed));
    json_object_set_new(j, "filed_ms", lat_json(&r->lat));
    json_object_set_new(j, "busy_replies", json_integer((json_int_t)r->busy));
    json_object_set_new(j, "errors", json_integer((json_int_t)r->errors));
    json_object_set_new(j, "in_flight_at_end", json_integer((json_int_t)r->unanswered));
    json_object_set_new(j, "events_per_commit",
                        json_real(r->commits ? (double)r->filed / (double)r->commits : 0));
    json_object_set_new(j, "service_cpu_us_per_event", json_real(r->service_us_per_event));
    json_object_set_new(j, "workers_written_bytes_per_event", json_real(per_event(r->written, r)));
    json_object_set_new(j, "workers_read_bytes_per_event", json_real(per_event(r->read, r)));
    json_object_set_new(j, "workers_written_pages_per_commit", json_real(pages_per_commit(r)));
    json_object_set_new(j, "workers_minor_faults_per_event", json_real(per_event(r->minflt, r)));
    json_object_set_new(j, "workers_major_faults_per_event", json_real(per_event(r->majflt, r)));
    json_object_set_new(j, "workers_user_us_per_event", json_real(us_per_event(r->worker_user_s, r)));
    json_object_set_new(j, "workers_sys_us_per_event", json_real(us_per_event(r->worker_sys_s, r)));
    json_object_set_new(j, "cpu_pct", json_pack("{s:f,s:f,s:f}", "service", r->service_pct,
                                                "bench", r->bench_pct, "machine_busy",
                                                r->machine_pct));
    json_object_set_new(j, "rss_anon_kib", json_pack("{s:I,s:I}", "broker",
                                                     (json_int_t)r->broker_anon_kb, "worker_max",
                                                     (json_int_t)r->worker_anon_kb));
    json_object_set_new(j, "peak_rss_kib", json_pack("{s:I,s:I}", "broker",
                                                     (json_int_t)r->broker_hwm_kb, "worker_max",
                                                     (json_int_t)r->worker_hwm_kb));
    return j;
}

static void print_json(void)
{
    json_t *j = json_object();
    json_object_set_new(j, "bench", json_string("scale"));
    json_object_set_new(j, "workers", json_integer(cfg.workers));
    json_object_set_new(j, "alert_workers", json_integer(cfg.alert_workers));
    json_object_set_new(j, "routine_nice", json_integer(cfg.routine_nice));
    json_object_set_new(j, "realtime", json_integer(cfg.realtime));
    json_object_set_new(j, "duration_s", json_integer(cfg.duration_s));
    json_object_set_new(j, "size_duration_s", json_integer(cfg.size_duration_s));
    json_object_set_new(j, "warmup_s", json_integer(cfg.warmup_s));
    json_object_set_new(j, "transport", json_string(cfg.transport));
    json_object_set_new(j, "worker_transport", json_string(cfg.worker_transport));
    json_object_set_new(j, "filesystem", json_string(bs_fs_name(env.dir)));
    json_t *sw = json_array();
    for (int i = 0; i < nsweep; i++)
        json_array_append_new(sw, phase_json(&sweep[i]));
    json_object_set_new(j, "sweep", sw);
    json_t *sz = json_array();
    for (int i = 0; i < nsizes_done; i++) {
        const size_res *z = &sizes[i];
        json_t *o = json_object();
        json_object_set_new(o, "target", json_integer((json_int_t)z->target));
        if (z->skipped) {
            json_object_set_new(o, "skipped", json_string(z->skipped == 1 ? "disk" : "interrupted"));
            json_array_append_new(sz, o);
            continue;
        }
        json_object_set_new(o, "events", json_integer((json_int_t)z->store.events));
        json_object_set_new(o, "fill", json_pack("{s:I,s:I,s:I,s:I,s:f,s:f}", "added",
                                                 (json_int_t)z->fill.added, "dispatches",
                                                 (json_int_t)z->fill.dispatches, "history",
                                                 (json_int_t)z->fill.history, "commits",
                                                 (json_int_t)z->fill.commits, "seconds",
                                                 z->fill.seconds, "events_per_s",
                                                 z->fill.seconds > 0 ? (double)z->fill.added / z->fill.seconds : 0));
        json_object_set_new(o, "file_bytes", json_integer(z->store.file_bytes));
        json_object_set_new(o, "used_bytes", json_integer((json_int_t)bs_used_bytes(&z->store)));
        json_t *depth = json_object();
        for (int d = 0; d < z->store.ndb; d++)
            json_object_set_new(depth, z->store.db[d].name,
                                json_integer((json_int_t)z->store.db[d].depth));
        json_object_set_new(o, "btree_depth", depth);
        json_t *pages = json_object();
        for (int d = 0; d < z->store.ndb; d++)
            json_object_set_new(pages, z->store.db[d].name,
                                json_integer((json_int_t)z->store.db[d].pages));
        json_object_set_new(o, "btree_pages", pages);
        json_object_set_new(o, "map_max_mb", json_integer(z->map_max_mb));
        if (!cfg.no_cold) {
            json_object_set_new(o, "cached_pct_before_cold", json_real(z->cached_before_cold));
            json_object_set_new(o, "restart_cold_ms", json_real(z->restart_cold_ms));
            json_object_set_new(o, "store_open_cold_ms", json_real(z->logged_cold.open_ms));
            json_object_set_new(o, "worker_start_cold_ms", json_real(z->logged_cold.start_ms));
        }
        json_object_set_new(o, "restart_warm_ms", json_real(z->restart_warm_ms));
        json_object_set_new(o, "store_open_warm_ms", json_real(z->logged_warm.open_ms));
        json_object_set_new(o, "worker_start_warm_ms", json_real(z->logged_warm.start_ms));
        json_object_set_new(o, "workers_stop_ms", json_real(z->stop_ms));
        json_object_set_new(o, "flood", phase_json(&z->flood));
        json_object_set_new(o, "before_flood", shape_json(&z->before));
        json_object_set_new(o, "after_flood", shape_json(&z->after));
        json_array_append_new(sz, o);
    }
    json_object_set_new(j, "sizes", sz);
    char *line = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (line) {
        printf("%s\n", line);
        if (cfg.json_path)
            bu_save_line(cfg.json_path, line, "bench_scale");
        free(line);
    }
    json_decref(j);
}

/* ---- options ---- */

/* parse_list reads "1,2,4" into out (at most MAX_LIST), each in [lo, hi];
 * the count, or -1. */
static int parse_list(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || end == p || v < lo || v > hi || n == MAX_LIST || *p == '-')
            return -1;
        out[n++] = v;
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return n;
}

int main(int argc, char **argv)
{
    const opt_def defs[] = {
        {"terminals", OPT_STR, "1,2,4,8,16,32,64", "the terminals sweep: numbers of flood terminals (M), comma-separated", &cfg.terminals, NULL},
        {"inflight", OPT_INT, "16", "SUBMITs each terminal of the sweep keeps in flight (K)", &cfg.inflight, NULL},
        {"duration", OPT_INT, "5", "seconds measured per step of the sweep (at most 120)", &cfg.duration_s, NULL},
        {"warmup", OPT_INT, "1", "seconds of load before each step's measurement (at most 30)", &cfg.warmup_s, NULL},
        {"store-sizes", OPT_STR, "0,1000000,3000000,10000000", "store sizes in events, comma-separated, rising: fill to each, restart, flood", &cfg.store_sizes, NULL},
        {"size-terminals", OPT_INT, "16", "flood terminals at each store size", &cfg.size_terminals, NULL},
        {"size-inflight", OPT_INT, "16", "SUBMITs each of them keeps in flight", &cfg.size_inflight, NULL},
        {"size-duration", OPT_INT, "10", "seconds measured at each store size (at most 120)", &cfg.size_duration_s, NULL},
        {"fill-batch", OPT_INT, "50000", "events per write transaction when filling", &cfg.fill_batch, NULL},
        {"workers", OPT_INT, "2", "general gridline-worker processes", &cfg.workers, NULL},
        {"alert-workers", OPT_INT, "1", "more workers with --lanes alert, as make run starts them (0: none)", &cfg.alert_workers, NULL},
        {"routine-nice", OPT_INT, "10", "--nice of the general workers, as make run does (0: none)", &cfg.routine_nice, NULL},
        {"realtime", OPT_INT, "10", "--realtime of the broker and the alert-lane workers, as make run does (0: ordinary scheduling)", &cfg.realtime, NULL},
        {"payload", OPT_STR, "300-600", "SUBMIT body bytes, MIN-MAX or one size (also the filled events' size)", &cfg.payload, NULL},
        {"alert-pct", OPT_INT, "1", "% of events that are alerts", &cfg.alert_pct, NULL},
        {"feedback-pct", OPT_INT, "20", "% of events that are property feedback (the rest: requests)", &cfg.feedback_pct, NULL},
        {"transport", OPT_STR, "tcp", "terminals' and responders' endpoints: tcp (127.0.0.1, free ports) or ipc (sockets in the temporary directory)", &cfg.transport, NULL},
        {"worker-transport", OPT_STR, "ipc", "the workers' endpoint: ipc (the workers run on the broker's host, as make run starts them) or tcp", &cfg.worker_transport, NULL},
        {"no-sweep", OPT_FLAG, NULL, "leave out the terminals sweep", &cfg.no_sweep, NULL},
        {"no-sizes", OPT_FLAG, NULL, "leave out the store sizes", &cfg.no_sizes, NULL},
        {"no-cold", OPT_FLAG, NULL, "leave the store's pages in the page cache after each fill: no cold restart, and the flood runs on the pages as the fill wrote them", &cfg.no_cold, NULL},
        {"broker-args", OPT_STR, "", "extra broker arguments, space-separated", &cfg.broker_args, NULL},
        {"worker-args", OPT_STR, "", "extra arguments for every worker", &cfg.worker_args, NULL},
        {"json", OPT_STR, NULL, "also write the JSON figures to this file", &cfg.json_path, NULL},
        {"quick", OPT_FLAG, NULL, "a smoke test in well under a minute: terminals 1,4,16, sizes 0,50000,200000, 1 s warm-up, 2 s measured (options given explicitly win)", &cfg.quick, NULL},
    };
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), argc, argv,
                        "bench_scale [--terminals M,M,...] [--inflight K] [--store-sizes N,N,...] "
                        "[--duration S] [--quick] [options]",
                        "How gridline scales: filing throughput and latency as the terminals grow\n"
                        "(one service, M terminals x K in flight for each M), and as the store grows\n"
                        "(filled through the store API to each size; at each, the time from spawning\n"
                        "the workers to a first answer, cold and warm, then a flood). Binaries from\n"
                        "$GRIDLINE_BIN, the demo county from $GRIDLINE_DATA, the store in a temporary\n"
                        "directory under $TMPDIR (removed at the end unless GRIDLINE_KEEP_TMP=1).\n"
                        "Prints a table per part and one JSON line.");
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    if (cfg.quick) {
        if (!bu_given(argc, argv, "terminals"))
            cfg.terminals = "1,4,16";
        if (!bu_given(argc, argv, "store-sizes"))
            cfg.store_sizes = "0,50000,200000";
        if (!bu_given(argc, argv, "duration"))
            cfg.duration_s = 2;
        if (!bu_given(argc, argv, "size-duration"))
            cfg.size_duration_s = 2;
        if (!bu_given(argc, argv, "warmup"))
            cfg.warmup_s = 1;
    }
    uint64_t list[MAX_LIST];
    cfg.nterms = parse_list(cfg.terminals, 1, 1024, list);
    for (int i = 0; i < cfg.nterms; i++)
        cfg.term_list[i] = (long)list[i];
    cfg.nsizes = parse_list(cfg.store_sizes, 0, 1000000000ull, cfg.size_list);
    int rising = 1;
    for (int i = 1; i < cfg.nsizes; i++)
        rising &= cfg.size_list[i] > cfg.size_list[i - 1];
    if (cfg.nterms < 1 || cfg.nsizes < 1 || !rising) {
        fprintf(stderr, "bench_scale: --terminals and --store-sizes want numbers separated by "
                        "commas (sizes rising), at most %d\n", MAX_LIST);
        return 2;
    }
    if (bu_parse_range(cfg.payload, &cfg.body_min, &cfg.body_max) != 0 || cfg.body_min < 100 ||
        cfg.body_max < cfg.body_min || cfg.body_max > GL_MAX_TEXT) {
        fprintf(stderr, "bench_scale: --payload wants MIN-MAX or one size in 100..%d bytes\n",
                GL_MAX_TEXT);
        return 2;
    }
    if (cfg.workers < 1 || cfg.alert_workers < 0 || cfg.workers + cfg.alert_workers > MAX_WORKERS ||
        cfg.inflight < 1 || cfg.inflight > MAX_INFLIGHT || cfg.size_terminals < 1 ||
        cfg.size_terminals > 1024 || cfg.size_inflight < 1 || cfg.size_inflight > MAX_INFLIGHT ||
        cfg.duration_s < 1 || cfg.duration_s > 120 || cfg.size_duration_s < 1 ||
        cfg.size_duration_s > 120 || cfg.warmup_s < 0 || cfg.warmup_s > 30 ||
        cfg.fill_batch < 1 || cfg.fill_batch > 1000000 || cfg.routine_nice < 0 ||
        cfg.routine_nice > 19 || cfg.realtime < 0 || cfg.realtime > 99 || cfg.alert_pct < 0 ||
        cfg.feedback_pct < 0 || cfg.alert_pct + cfg.feedback_pct > 100 ||
        (strcmp(cfg.transport, "tcp") != 0 && strcmp(cfg.transport, "ipc") != 0) ||
        (strcmp(cfg.worker_transport, "tcp") != 0 && strcmp(cfg.worker_transport, "ipc") != 0)) {
        fprintf(stderr, "bench_scale: an option is out of range (see --help)\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Interrupted, the program still stops the service and removes its
     * temporary directory (a filled store is gigabytes). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    tl_setup(&env, "bench-scale");
    char err[600];
    if (county_load(&county, env.directory, err, sizeof err) != 0 ||
        dir_load(env.directory, &dir, err, sizeof err) != 0) {
        fprintf(stderr, "bench_scale: %s\n", err);
        return 1;
    }
    if (mix_init(&mix, &county, cfg.alert_pct, cfg.feedback_pct, cfg.body_min, cfg.body_max) != 0)
        return 1;
    if (bu_endpoints(cfg.transport, cfg.worker_transport, env.intake, env.workers,
                     env.responders, sizeof env.intake) != 0) {
        fprintf(stderr, "bench_scale: no free port on 127.0.0.1\n");
        return 1;
    }

    int failed = 0;
    if (!cfg.no_sweep && run_sweep() != 0)
        failed = 1;
    if (!cfg.no_sizes && !interrupted && !failed) {
        uint64_t top = cfg.size_list[cfg.nsizes - 1];
        fill_cfg fc = {.mix = &mix, .dir = dir, .total = top,
                       .end_ms = clock_wall_ms() - 3 * FILL_DAY_MS, .span_ms = 365 * FILL_DAY_MS,
                       .per_txn = cfg.fill_batch,
                       .so = {.map_size = (size_t)1 << 30, .map_max = (size_t)1 << 40}};
        uint64_t avail = rs_disk_free(env.dir);
        printf("\nbench_scale: store sizes up to %" PRIu64 " events in %s (%s, %.1f GiB free; "
               "about %.1f GiB needed)\n",
               top, env.dir, bs_fs_name(env.dir), (double)avail / (1 << 30),
               (double)top * 2400.0 / (1 << 30));
        fflush(stdout);
        double est = 3000; /* bytes per event, until measured */
        for (int i = 0; i < cfg.nsizes && !interrupted; i++) {
            size_res *z = &sizes[nsizes_done++];
            z->target = cfg.size_list[i];
            if (measure_size(&fc, env.store, z, est) != 0) {
                failed = 1;
                break;
            }
            if (z->skipped)
                break;
            if (z->store.events > 1000)
                est = (double)z->store.file_bytes / (double)z->store.events;
            fprintf(stderr, "bench_scale: %" PRIu64 " events: restart %.1f ms cold, %.1f ms warm; "
                            "%.0f filed/s\n",
                    z->store.events, z->restart_cold_ms, z->restart_warm_ms,
                    z->flood.window_s > 0 ? (double)z->flood.filed / z->flood.window_s : 0);
        }
        print_size_table();
    }
    if (unclean_exits)
        printf("%d process(es) did not exit cleanly on SIGTERM (%s)\n", unclean_exits,
               bu_logs_hint(env.dir));
    print_json();
    fflush(stdout);
    mix_free(&mix);
    county_free(&county);
    dir_free(&dir);
    if (interrupted) {
        fprintf(stderr, "bench_scale: interrupted\n");
        return 1;
    }
    return failed ? 1 : 0;
}
