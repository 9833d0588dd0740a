/* bench_peer — gridline next to Redis Streams under the same load, in one
 * invocation so the ratio holds on a noisy machine (issue 7, point 2).
 *
 * Each round runs, one after the other:
 *
 *   gridline  bench_throughput (found next to this program) with the load
 *             options given here; its figures are read from its --json file;
 *   Redis     a fresh redis-server on a free 127.0.0.1 port in a temporary
 *             directory, `appendonly yes`, `appendfsync always` (a reply
 *             only after the AOF's fsync), no RDB snapshots. --terminals
 *             client threads (hiredis, one connection each) keep --inflight
 *             XADDs pipelined each, with the same events as gridline's
 *             terminals (bench_county.h: the same kinds, places, categories,
 *             ids and texts); --consumers threads of one consumer group read
 *             them with XREADGROUP and XACK them.
 *
 * It prints both columns and their ratio (gridline / Redis): durable events
 * per second and their latency, deliveries per second (gridline's
 * DISPATCHes reaching the teams; the entries Redis hands the group), server
 * CPU per 10k events, server peak RSS, bytes on disk per event. One JSON
 * line follows (also written to --json FILE).
 *
 * Redis is measured as gridline is: a reply counts when it arrives within
 * the measured window; latency runs from the moment a command is handed to
 * the connection to its reply; delivery latency from the wall-clock µs the
 * event id starts with to the entry's arrival at a consumer.
 *
 * Built apart from the other benchmarks because it links hiredis: `make
 * bench-peer` installs redis-server and libhiredis-dev, builds and runs it.
 * Exit status: 0 once the figures are printed; 1 when a side could not be
 * measured; 2 for bad options. */
#include <dirent.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/clock.h"
#include "../../common/gl.h"
#include "../../common/opts.h"
#include "../bench_county.h"
#include "../bench_responders.h"
#include "../bench_util.h"
#include "bench_redis.h"

#define MAX_ROUNDS 20
#define MAX_CLIENTS 1024
#define MAX_CONSUMERS 64
#define READ_COUNT 512 /* entries per XREADGROUP */

typedef struct peer_cfg {
    long workers, terminals, inflight, duration_s, warmup_s, alert_pct, feedback_pct, consumers,
        rounds;
    long body_min, body_max;
    const char *payload, *transport, *gridline_args, *json_path, *redis_server, *gridline_bench;
} peer_cfg;

static peer_cfg cfg;
static bench_county county;
static mix_cfg mix;
static char tmp_dir[512];
static pid_t redis_pid;
static char redis_version[64] = "?";

/* ---- cleanup: what this program started is stopped at exit ---- */

static void peer_cleanup(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
    if (!tmp_dir[0])
        return;
    if (getenv("GRIDLINE_KEEP_TMP")) {
        printf("# kept %s\n", tmp_dir);
        return;
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_peer: could not remove %s\n", tmp_dir);
}

/* ---- gridline: bench_throughput as a child, its JSON read back ---- */

/* Makes bench_throughput's argv from the load options given here (extra
 * --gridline-args last, so they win). Strings live in buf. */
static void gridline_argv(const char *json_out, const char **argv, char *buf, size_t buflen)
{
    int n = 0;
    size_t used = 0;
    const struct {
        const char *flag;
        long v;
    } nums[] = {
        {"--workers", cfg.workers},     {"--terminals", cfg.terminals},
        {"--inflight", cfg.inflight},   {"--duration", cfg.duration_s},
        {"--warmup", cfg.warmup_s},     {"--alert-pct", cfg.alert_pct},
        {"--feedback-pct", cfg.feedback_pct},
    };
    argv[n++] = cfg.gridline_bench;
    for (size_t i = 0; i < GL_ARRAY_LEN(nums); i++) {
        int w = snprintf(buf + used, buflen - used, "%ld", nums[i].v);
        argv[n++] = nums[i].flag;
        argv[n++] = buf + used;
        used += (size_t)w + 1;
    }
    argv[n++] = "--payload";
    argv[n++] = cfg.payload;
    argv[n++] = "--transport";
    argv[n++] = cfg.transport;
    argv[n++] = "--json";
    argv[n++] = json_out;
    char *extra = buf + used;
    snprintf(extra, buflen - used, "%s", cfg.gridline_args);
    for (char *save = NULL, *tok = strtok_r(extra, " ", &save); tok && n < 62;
         tok = strtok_r(NULL, " ", &save))
        argv[n++] = tok;
    argv[n] = NULL;
}

static json_t *run_gridline(int round)
{
    char json_out[600], log_path[600], buf[2048];
    const char *argv[64];
    snprintf(json_out, sizeof json_out, "%s/gridline-%d.json", tmp_dir, round);
    snprintf(log_path, sizeof log_path, "%s/gridline-%d.out", tmp_dir, round);
    gridline_argv(json_out, argv, buf, sizeof buf);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return NULL;
    if (pid == 0) {
        if (!freopen(log_path, "w", stdout))
            _exit(127);
        execv(cfg.gridline_bench, (char *const *)argv);
        fprintf(stderr, "bench_peer: exec %s: %s\n", cfg.gridline_bench, strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    json_error_t je;
    json_t *j = json_load_file(json_out, 0, &je);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !j) {
        fprintf(stderr, "bench_peer: gridline's run failed (exit %d); its output: %s\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1, log_path);
        if (j)
            json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- Redis: producers and consumers ---- */

typedef struct redis_run redis_run;

typedef struct producer {
    int index;
    redis_run *run;
    pthread_t thread;
    mix_scratch sc;
    int failed;
    char err[200];
    uint64_t added, window_added, errors, in_flight_at_end;
    bu_hist lat;
} producer;

typedef struct consumer {
    int index;
    redis_run *run;
    pthread_t thread;
    int failed;
    char err[200];
    uint64_t delivered, window_delivered, ack_errors;
    bu_hist lat;
} consumer;

struct redis_run {
    int port;
    uint64_t start_us, from_us, end_us;
    atomic_int stop_consumers;
    producer *producers;
    consumer *consumers;
    /* results */
    bu_usage u_start, u_end, self_start, self_end; /* redis-server; this program's clients */
    double user_start, sys_start, user_end, sys_end;
    uint64_t added, window_added, errors, in_flight_at_end, delivered, window_delivered,
        ack_errors;
    bu_hist lat, deliver_lat;
    long hwm_kb, anon_kb;
    long long xlen, aof_bytes;
    char first_error[200];
};

/* Appends XADD of event k (fields as the SUBMIT's keys) to c's output. */
static int xadd_append(redisContext *c, mix_scratch *sc, uint64_t k, const char *id)
{
    gl_event ev;
    mix_event(sc, k, id, 0, &ev);
    const char *argv[40] = {"XADD", STREAM, "*"};
    int n = 3;
#define FIELD(name, val)                                                                   \
    if (val) {                                                                             \
        argv[n++] = (name);                                                                \
        argv[n++] = (val);                                                                 \
    }
    FIELD("id", ev.id);
    FIELD("kind", gl_kind_name(ev.kind));
    FIELD("category", ev.category);
    FIELD("text", ev.text);
    FIELD("community", ev.community);
    FIELD("compound", ev.compound);
    FIELD("grid", ev.grid);
    FIELD("terminal", ev.terminal);
    FIELD("contact", ev.contact);
    FIELD("urgency", ev.urgency);
    FIELD("severity", ev.severity);
    FIELD("certainty", ev.certainty);
#undef FIELD
    size_t lens[40];
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    return redisAppendCommandArgv(c, n, argv, lens);
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    redis_run *run = p->run;
    size_t k_max = (size_t)cfg.inflight, head = 0, count = 0;
    uint64_t *sent_at = calloc(k_max, sizeof *sent_at);
    redisContext *c = redis_connect(run->port, p->err, sizeof p->err);
    if (!c || !sent_at) {
        p->failed = 1;
        goto out;
    }
    uint64_t now = clock_mono_us();
    if (run->start_us > now)
        bu_sleep_us(run->start_us - now);
    uint64_t k = (uint64_t)p->index, no = 0;
    int past_end = 0;
    char id[48];
    for (;;) {
        now = clock_mono_us();
        /* Keep K in flight until the end of the window. */
        while (count < k_max && now < run->end_us) {
            snprintf(id, sizeof id, "%012" PRIx64 "-t%02d-%" PRIu64, wall_us(), p->index, no++);
            if (xadd_append(c, &p->sc, k, id) != REDIS_OK) {
                snprintf(p->err, sizeof p->err, "%s", c->errstr);
                p->failed = 1;
                goto out;
            }
            k += (uint64_t)cfg.terminals;
            sent_at[(head + count) % k_max] = now;
            count++;
        }
        if (count == 0)
            break;
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
            snprintf(p->err, sizeof p->err, "%s", c->errstr);
            p->failed = 1;
            break;
        }
        now = clock_mono_us();
        /* After the window, the replies still due are read, not counted. */
        if (now > run->end_us && !past_end) {
            past_end = 1;
            p->in_flight_at_end = count;
        }
        uint64_t t0 = sent_at[head];
        head = (head + 1) % k_max;
        count--;
        if (r->type == REDIS_REPLY_ERROR) {
            if (!p->errors++)
                snprintf(p->err, sizeof p->err, "%s", r->str);
        } else {
            p->added++;
            if (now >= run->from_us && now <= run->end_us) {
                p->window_added++;
                bu_hist_add(&p->lat, now - t0);
            }
        }
        freeReplyObject(r);
    }
out:
    if (c)
        redisFree(c);
    free(sent_at);
    return NULL;
}

static void *consumer_main(void *arg)
{
    consumer *cs = arg;
    redis_run *run = cs->run;
    redisContext *c = redis_connect(run->port, cs->err, sizeof cs->err);
    const char **ack = calloc(READ_COUNT + 3, sizeof *ack);
    size_t *ack_len = calloc(READ_COUNT + 3, sizeof *ack_len);
    if (!c || !ack || !ack_len) {
        cs->failed = 1;
        goto out;
    }
    char name[32];
    snprintf(name, sizeof name, "c%d", cs->index);
    while (!atomic_load(&run->stop_consumers)) {
        redisReply *r = redisCommand(c, "XREADGROUP GROUP %s %s COUNT %d BLOCK 100 STREAMS %s >",
                                     GROUP, name, READ_COUNT, STREAM);
        if (!r) {
            snprintf(cs->err, sizeof cs->err, "%s", c->errstr);
            cs->failed = 1;
            break;
        }
        uint64_t now = clock_mono_us(), wall = wall_us();
        int in_window = now >= run->from_us && now <= run->end_us;
        size_t n = 0;
        ack[0] = "XACK";
        ack[1] = STREAM;
        ack[2] = GROUP;
        /* [[stream, [[entry-id, [field, value, ...]], ...]]] */
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
            redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
                redisReply *e = entries->element[i];
                if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
                    continue;
                cs->delivered++;
                if (in_window)
                    cs->window_delivered++;
                ack[3 + n] = e->element[0]->str;
                ack_len[3 + n] = e->element[0]->len;
                n++;
                redisReply *f = e->element[1];
                for (size_t j = 0; in_window && f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements;
                     j += 2)
                    if (strcmp(f->element[j]->str, "id") == 0) {
                        uint64_t sent = responders_id_us(f->element[j + 1]->str);
                        if (sent && wall >= sent)
                            bu_hist_add(&cs->lat, wall - sent);
                        break;
                    }
            }
        }
        if (n) {
            for (int i = 0; i < 3; i++)
                ack_len[i] = strlen(ack[i]);
            redisReply *a = redisCommandArgv(c, (int)n + 3, ack, ack_len);
            if (!a || a->type == REDIS_REPLY_ERROR)
                cs->ack_errors++;
            freeReplyObject(a);
        }
        freeReplyObject(r);
    }
out:
    if (c)
        redisFree(c);
    free(ack);
    free(ack_len);
    return NULL;
}

static int run_redis(int round, redis_run *run)
{
    memset(run, 0, sizeof *run);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/redis-%d", tmp_dir, round);
    if (mkdir(dir, 0700) != 0 || (run->port = bu_free_tcp_port()) < 0 ||
        redis_start(cfg.redis_server, dir, run->port, &redis_pid, redis_version,
                    sizeof redis_version) != 0)
        return -1;
    int m = (int)cfg.terminals, nc = (int)cfg.consumers, rc = 0;
    run->producers = calloc((size_t)m, sizeof *run->producers);
    run->consumers = calloc((size_t)nc, sizeof *run->consumers);
    char *p_started = calloc((size_t)m, 1), *c_started = calloc((size_t)nc, 1);
    if (!run->producers || !run->consumers || !p_started || !c_started) {
        rc = -1;
        goto out;
    }
    run->start_us = clock_mono_us() + 20000u;
    run->from_us = run->start_us + (uint64_t)cfg.warmup_s * 1000000u;
    run->end_us = run->from_us + (uint64_t)cfg.duration_s * 1000000u;
    for (int i = 0; i < nc; i++) {
        run->consumers[i].index = i;
        run->consumers[i].run = run;
        c_started[i] = pthread_create(&run->consumers[i].thread, NULL, consumer_main,
                                      &run->consumers[i]) == 0;
    }
    for (int i = 0; i < m; i++) {
        run->producers[i].index = i;
        run->producers[i].run = run;
        run->producers[i].sc.cfg = &mix;
        p_started[i] = pthread_create(&run->producers[i].thread, NULL, producer_main,
                                      &run->producers[i]) == 0;
    }
    uint64_t now = clock_mono_us();
    if (run->from_us > now)
        bu_sleep_us(run->from_us - now);
    bu_proc_usage(redis_pid, &run->u_start);
    bu_proc_usage(0, &run->self_start);
    bu_proc_times(redis_pid, &run->user_start, &run->sys_start);
    now = clock_mono_us();
    if (run->end_us > now)
        bu_sleep_us(run->end_us - now);
    bu_proc_usage(redis_pid, &run->u_end);
    bu_proc_usage(0, &run->self_end);
    bu_proc_times(redis_pid, &run->user_end, &run->sys_end);
    for (int i = 0; i < m; i++) {
        producer *p = &run->producers[i];
        if (!p_started[i])
            continue;
        pthread_join(p->thread, NULL);
        run->added += p->added;
        run->window_added += p->window_added;
        run->errors += p->errors;
        run->in_flight_at_end += p->in_flight_at_end;
        bu_hist_merge(&run->lat, &p->lat);
        if ((p->failed || p->errors) && !run->first_error[0])
            snprintf(run->first_error, sizeof run->first_error, "%s", p->err);
    }
    atomic_store(&run->stop_consumers, 1);
    for (int i = 0; i < nc; i++) {
        consumer *cs = &run->consumers[i];
        if (!c_started[i])
            continue;
        pthread_join(cs->thread, NULL);
        run->delivered += cs->delivered;
        run->window_delivered += cs->window_delivered;
        run->ack_errors += cs->ack_errors;
        bu_hist_merge(&run->deliver_lat, &cs->lat);
        if (cs->failed && !run->first_error[0])
            snprintf(run->first_error, sizeof run->first_error, "consumer: %.180s", cs->err);
    }
    run->hwm_kb = gl_proc_status_kb(redis_pid, "VmHWM");
    run->anon_kb = gl_proc_status_kb(redis_pid, "RssAnon");
    char err[200];
    redisContext *c = redis_connect(run->port, err, sizeof err);
    if (c) {
        redisReply *r = redisCommand(c, "XLEN " STREAM);
        if (r && r->type == REDIS_REPLY_INTEGER)
            run->xlen = r->integer;
        freeReplyObject(r);
        redisFree(c);
    }
out:
    redis_stop(&redis_pid);
    run->aof_bytes = aof_bytes(dir);
    free(p_started);
    free(c_started);
    free(run->producers);
    free(run->consumers);
    run->producers = NULL;
    run->consumers = NULL;
    return rc;
}

/* ---- figures side by side ---- */

typedef struct side {
    double per_s, p50, p99, max, deliveries_per_s, dp50, dp99, cpu_10k, rss_mib, anon_mib,
        disk_per_event, client_10k;
} side;

static double jnum(json_t *j, const char *path)
{
    /* "a.b.c" */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *x = j;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && x;
         tok = strtok_r(NULL, ".", &save))
        x = json_object_get(x, tok);
    return x ? json_number_value(x) : 0;
}

static side gridline_side(json_t *g)
{
    side s;
    s.per_s = jnum(g, "filed_per_s");
    s.p50 = jnum(g, "filed_ms.p50");
    s.p99 = jnum(g, "filed_ms.p99");
    s.max = jnum(g, "filed_ms.max");
    s.deliveries_per_s = jnum(g, "dispatches_per_s");
    s.dp50 = jnum(g, "dispatch_ms.p50");
    s.dp99 = jnum(g, "dispatch_ms.p99");
    s.cpu_10k = jnum(g, "cpu_s_per_10k.service");
    s.client_10k = jnum(g, "cpu_s_per_10k.bench");
    s.rss_mib = s.anon_mib = 0;
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(g, "peak_rss_kib"), key, v)
        s.rss_mib += json_number_value(v) / 1024.0;
    json_object_foreach(json_object_get(g, "rss_anon_kib"), key, v)
        s.anon_mib += json_number_value(v) / 1024.0;
    s.disk_per_event = jnum(g, "store.bytes_per_event");
    return s;
}

static side redis_side_of(const redis_run *r)
{
    side s;
    double window = (double)cfg.duration_s;
    s.per_s = (double)r->window_added / window;
    s.p50 = bu_hist_percentile(&r->lat, 50) / 1000.0;
    s.p99 = bu_hist_percentile(&r->lat, 99) / 1000.0;
    s.max = r->lat.max_us / 1000.0;
    s.deliveries_per_s = (double)r->window_delivered / window;
    s.dp50 = bu_hist_percentile(&r->deliver_lat, 50) / 1000.0;
    s.dp99 = bu_hist_percentile(&r->deliver_lat, 99) / 1000.0;
    bu_usage d = bu_usage_delta(&r->u_end, &r->u_start);
    s.cpu_10k = r->window_added ? (double)d.cpu_ns / 1e9 * 10000.0 / (double)r->window_added : 0;
    bu_usage c = bu_usage_delta(&r->self_end, &r->self_start);
    s.client_10k = r->window_added ? (double)c.cpu_ns / 1e9 * 10000.0 / (double)r->window_added : 0;
    s.rss_mib = (double)r->hwm_kb / 1024.0;
    s.anon_mib = (double)r->anon_kb / 1024.0;
    s.disk_per_event = r->xlen ? (double)r->aof_bytes / (double)r->xlen : 0;
    return s;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

static void print_round(int round, const side *g, const side *r, const redis_run *rr)
{
    printf("\nround %d of %ld\n", round + 1, cfg.rounds);
    printf("%-40s %12s %12s %10s\n", "", "gridline", "redis", "ratio g/r");
#define ROW(label, fmt, field)                                                             \
    printf("%-40s %12" fmt " %12" fmt " %10.2f\n", label, g->field, r->field,               \
           ratio(g->field, r->field))
    ROW("durable events/s (filed / XADD acked)", ".0f", per_s);
    ROW("  latency p50 ms", ".2f", p50);
    ROW("  latency p99 ms", ".2f", p99);
    ROW("  latency max ms", ".2f", max);
    ROW("deliveries/s (DISPATCH / XREADGROUP)", ".0f", deliveries_per_s);
    ROW("  submit->delivery p50 ms", ".2f", dp50);
    ROW("  submit->delivery p99 ms", ".2f", dp99);
    ROW("server CPU s per 10k events", ".3f", cpu_10k);
    ROW("  load generator's (clients) CPU s", ".3f", client_10k);
    ROW("server peak RSS (VmHWM) MiB", ".1f", rss_mib);
    ROW("  anonymous RSS at the end MiB", ".1f", anon_mib);
    ROW("bytes on disk per event", ".0f", disk_per_event);
#undef ROW
    if (rr->errors || rr->ack_errors || rr->first_error[0])
        printf("redis: %" PRIu64 " XADD errors, %" PRIu64 " XACK errors; first: %s\n", rr->errors,
               rr->ack_errors, rr->first_error);
}

static json_t *side_json(const side *s)
{
    return json_pack("{s:f,s:{s:f,s:f,s:f},s:f,s:{s:f,s:f},s:f,s:f,s:f,s:f,s:f}", "events_per_s",
                     s->per_s, "latency_ms", "p50", s->p50, "p99", s->p99, "max", s->max,
                     "deliveries_per_s", s->deliveries_per_s, "delivery_ms", "p50", s->dp50, "p99",
                     s->dp99, "cpu_s_per_10k", s->cpu_10k, "peak_rss_mib", s->rss_mib,
                     "anon_rss_mib", s->anon_mib, "disk_bytes_per_event", s->disk_per_event,
                     "client_cpu_s_per_10k", s->client_10k);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    static char default_bench[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", default_bench, sizeof default_bench - 32);
    if (len > 0) {
        default_bench[len] = '\0';
        char *slash = strrchr(default_bench, '/');
        snprintf(slash ? slash + 1 : default_bench, 32, "bench_throughput");
    } else
        snprintf(default_bench, sizeof default_bench, "bench_throughput");
    const opt_def defs[] = {
        {"workers", OPT_INT, "2", "gridline workers (N)", &cfg.workers, NULL},
        {"terminals", OPT_INT, "16", "terminals: gridline DEALERs and Redis connections (M)", &cfg.terminals, NULL},
        {"inflight", OPT_INT, "16", "SUBMITs / pipelined XADDs each keeps in flight (K)", &cfg.inflight, NULL},
        {"duration", OPT_INT, "8", "seconds measured per side, after the warm-up (at most 600)", &cfg.duration_s, NULL},
        {"warmup", OPT_INT, "2", "seconds of load before measuring (at most 60)", &cfg.warmup_s, NULL},
        {"payload", OPT_STR, "300-600", "SUBMIT body bytes, MIN-MAX or one size (Redis gets the same fields)", &cfg.payload, NULL},
        {"alert-pct", OPT_INT, "1", "% of events that are alerts", &cfg.alert_pct, NULL},
        {"feedback-pct", OPT_INT, "20", "% of events that are property feedback", &cfg.feedback_pct, NULL},
        {"consumers", OPT_INT, "2", "Redis consumer-group readers (XREADGROUP + XACK)", &cfg.consumers, NULL},
        {"rounds", OPT_INT, "1", "rounds of gridline then Redis; the medians are printed at the end", &cfg.rounds, NULL},
        {"transport", OPT_STR, "tcp", "gridline's terminals and responders: tcp (127.0.0.1, as Redis's clients) or ipc; its workers are on ipc, on the broker's host (--gridline-args \"--worker-transport tcp\" to change)", &cfg.transport, NULL},
        {"gridline-args", OPT_STR, "", "more bench_throughput options, space-separated (a value with spaces: put it in a --config file)", &cfg.gridline_args, NULL},
        {"gridline-bench", OPT_STR, default_bench, "the bench_throughput program", &cfg.gridline_bench, NULL},
        {"redis-server", OPT_STR, "redis-server", "the redis-server program", &cfg.redis_server, NULL},
        {"json", OPT_STR, NULL, "also write the JSON figures to this file", &cfg.json_path, NULL},
    };
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), argc, argv,
                        "bench_peer [--terminals M] [--inflight K] [--duration S] [--rounds R] [options]",
                        "gridline next to Redis Streams (appendonly yes, appendfsync always) under the\n"
                        "same load, in one invocation: M clients keeping K events in flight each, as\n"
                        "SUBMITs to gridline (bench_throughput) and as pipelined XADDs to a stream read\n"
                        "by a consumer group (XREADGROUP, XACK). Prints both sides and the ratio.");
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    if (bu_parse_range(cfg.payload, &cfg.body_min, &cfg.body_max) != 0 || cfg.body_min < 100 ||
        cfg.body_max < cfg.body_min || cfg.body_max > GL_MAX_TEXT || cfg.workers < 1 ||
        cfg.terminals < 1 || cfg.terminals > MAX_CLIENTS || cfg.inflight < 1 ||
        cfg.inflight > MAX_INFLIGHT || cfg.duration_s < 1 || cfg.duration_s > 600 ||
        cfg.warmup_s < 0 || cfg.warmup_s > 60 || cfg.consumers < 1 ||
        cfg.consumers > MAX_CONSUMERS || cfg.rounds < 1 || cfg.rounds > MAX_ROUNDS ||
        cfg.alert_pct < 0 || cfg.feedback_pct < 0 || cfg.alert_pct + cfg.feedback_pct > 100) {
        fprintf(stderr, "bench_peer: an option is out of range (see --help)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    const char *data = getenv("GRIDLINE_DATA"), *tmp = getenv("TMPDIR");
    char path[600], err[600];
    snprintf(path, sizeof path, "%s/demo-county.json", data ? data : "data");
    if (county_load(&county, path, err, sizeof err) != 0) {
        fprintf(stderr, "bench_peer: %s\n", err);
        return 1;
    }
    if (mix_init(&mix, &county, cfg.alert_pct, cfg.feedback_pct, cfg.body_min, cfg.body_max) != 0)
        return 1;
    snprintf(tmp_dir, sizeof tmp_dir, "%s/gl-bench-peer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        fprintf(stderr, "bench_peer: mkdtemp: %s\n", strerror(errno));
        tmp_dir[0] = '\0';
        return 1;
    }
    atexit(peer_cleanup);

    printf("bench_peer: gridline (%ld workers, %s) and Redis Streams (appendonly yes, "
           "appendfsync always),\n",
           cfg.workers, strcmp(cfg.transport, "tcp") == 0 ? "tcp on 127.0.0.1" : "ipc://");
    printf("  each with %ld clients x %ld in flight, bodies %s B, %ld%% alerts, %ld%% feedback,\n"
           "  %ld s warm-up, %ld s measured; Redis: %ld consumers of one group; temporary "
           "directory %s\n",
           cfg.terminals, cfg.inflight, cfg.payload, cfg.alert_pct, cfg.feedback_pct,
           cfg.warmup_s, cfg.duration_s, cfg.consumers, tmp_dir);
    fflush(stdout);

    json_t *out = json_object(), *rounds = json_array();
    double g_rate[MAX_ROUNDS], r_rate[MAX_ROUNDS], q_rate[MAX_ROUNDS], q_p99[MAX_ROUNDS];
    int done = 0, status = 0;
    for (int round = 0; round < cfg.rounds; round++) {
        json_t *g = run_gridline(round);
        redis_run rr;
        if (!g || run_redis(round, &rr) != 0 || rr.window_added == 0) {
            fprintf(stderr, "bench_peer: round %d could not be measured\n", round + 1);
            if (g)
                json_decref(g);
            status = 1;
            continue;
        }
        side gs = gridline_side(g), rs = redis_side_of(&rr);
        print_round(round, &gs, &rs, &rr);
        fflush(stdout);
        g_rate[done] = gs.per_s;
        r_rate[done] = rs.per_s;
        q_rate[done] = ratio(gs.per_s, rs.per_s);
        q_p99[done] = ratio(gs.p99, rs.p99);
        done++;
        json_t *jr = json_pack("{s:o,s:o,s:{s:f,s:f,s:f,s:f,s:f},s:o}", "gridline", side_json(&gs),
                               "redis", side_json(&rs), "ratio", "events_per_s",
                               ratio(gs.per_s, rs.per_s), "latency_p50", ratio(gs.p50, rs.p50),
                               "latency_p99", ratio(gs.p99, rs.p99), "deliveries_per_s",
                               ratio(gs.deliveries_per_s, rs.deliveries_per_s), "cpu_s_per_10k",
                               ratio(gs.cpu_10k, rs.cpu_10k), "gridline_run", g);
        json_object_set_new(jr, "redis_errors", json_integer((json_int_t)(rr.errors + rr.ack_errors)));
        json_array_append_new(rounds, jr);
    }
    if (done > 1) {
        printf("\nmedians of %d rounds: gridline %.0f events/s, redis %.0f events/s, ratio %.2f "
               "(p99 latency ratio %.2f)\n",
               done, median(g_rate, done), median(r_rate, done), median(q_rate, done),
               median(q_p99, done));
    }
    printf("\n");
    json_object_set_new(out, "bench", json_string("peer"));
    json_object_set_new(out, "redis_version", json_string(redis_version));
    json_object_set_new(out, "terminals", json_integer(cfg.terminals));
    json_object_set_new(out, "inflight", json_integer(cfg.inflight));
    json_object_set_new(out, "workers", json_integer(cfg.workers));
    json_object_set_new(out, "consumers", json_integer(cfg.consumers));
    json_object_set_new(out, "duration_s", json_integer(cfg.duration_s));
    json_object_set_new(out, "payload", json_string(cfg.payload));
    json_object_set_new(out, "rounds", rounds);
    if (done) {
        json_object_set_new(out, "median", json_pack("{s:f,s:f,s:f,s:f}", "gridline_events_per_s",
                                                     median(g_rate, done), "redis_events_per_s",
                                                     median(r_rate, done), "ratio_events_per_s",
                                                     median(q_rate, done), "ratio_latency_p99",
                                                     median(q_p99, done)));
    }
    char *line = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (line) {
        /* The full gridline runs make the line long; the file has them, the
         * terminal gets the summary. */
        json_t *brief = json_deep_copy(out);
        json_t *r;
        size_t i;
        json_array_foreach(json_object_get(brief, "rounds"), i, r)
            json_object_del(r, "gridline_run");
        char *short_line = json_dumps(brief, JSON_COMPACT | JSON_REAL_PRECISION(6));
        if (short_line)
            printf("%s\n", short_line);
        free(short_line);
        json_decref(brief);
        if (cfg.json_path)
            bu_save_line(cfg.json_path, line, "bench_peer");
        free(line);
    }
    json_decref(out);
    mix_free(&mix);
    county_free(&county);
    return done ? status : 1;
}
