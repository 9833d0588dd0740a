/* gridline-worker — files events with group commit, routes them by the
 * county directory, keeps dispatch records and history in the shared LMDB
 * store. Several workers may share one store. */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/keys.h"
#include "../common/opts.h"
#include "../common/rtsched.h"
#include "../common/store_members.h"

static volatile sig_atomic_t worker_stop_flag, worker_reload_flag;

static void on_stop(int sig)
{
    (void)sig;
    worker_stop_flag = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    worker_reload_flag = 1;
}

static void send_ready(gl_worker *w)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    char host[256] = "";
    m.cmd = PROTO_READY;
    m.worker = w->cfg.name;
    m.credit = (uint32_t)w->cfg.credit;
    m.pid = (uint32_t)getpid();
    m.lane = w->cfg.lanes;
    m.pack = !w->cfg.single_messages; /* JOBs packed (jobpack.c) */
    if (gethostname(host, sizeof host - 1) == 0 && host[0])
        m.host = host;
    if (frame_send_msg(w->sock, NULL, 0, &m, ZMQ_DONTWAIT) == 0)
        w->last_sent_ms = clock_mono_ms();
}

static int worker_connect(gl_worker *w)
{
    if (w->sock)
        zmq_close(w->sock);
    worker_carried_drop(w);
    w->sock = zmq_socket(w->ctx, ZMQ_DEALER);
    int zero = 0, hwm = 100000;
    zmq_setsockopt(w->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(w->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(w->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (worker_curve_socket(w->sock, w->cfg.broker_ep) != 0 ||
        zmq_connect(w->sock, w->cfg.broker_ep) != 0) {
        LOG_E("cannot connect to %s: %s", w->cfg.broker_ep, zmq_strerror(errno));
        return GL_EUNAVAILABLE;
    }
    w->last_heard_ms = clock_mono_ms();
    send_ready(w);
    return 0;
}
static void reload_directory(gl_worker *w)
{
    directory *nd = NULL;
    char err[512];
    if (dir_load(w->cfg.directory_path, &nd, err, sizeof err) != 0) {
        LOG_E("directory reload failed, keeping the current one: %s", err);
        return;
    }
    dir_free(&w->dir);
    w->dir = nd;
    LOG_I("directory reloaded from %s", w->cfg.directory_path);
}

/* Guarantee 4: an alert never waits behind routine work. Alert-lane jobs
 * (alerts, responders' acts, updates, cancellations) go first, in their own
 * small transaction; the routine jobs of the same read follow in one group
 * commit. The order within each lane is kept. */
static void run_alerts_first(gl_worker *w, wjob *jobs, size_t n)
{
    size_t nalert = 0;
    for (size_t i = 0; i < n; i++)
        nalert += jobs[i].lane_alert != 0;
    if (nalert == 0 || nalert == n) {
        worker_run_batch(w, jobs, n);
        return;
    }
    /* Stable partition, in place: rotate each alert job down into place. */
    size_t front = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].lane_alert) {
            wjob alert = jobs[i];
            memmove(&jobs[front + 1], &jobs[front], (i - front) * sizeof *jobs);
            jobs[front++] = alert;
        }
    worker_run_batch(w, jobs, nalert);
    if (store_failed(w->st))
        return; /* the routine jobs go back to the broker unanswered (worker_leave) */
    worker_run_batch(w, jobs + nalert, n - nalert);
}

static int run(gl_worker *w)
{
    wjob *jobs = calloc((size_t)w->cfg.batch, sizeof *jobs);
    if (!jobs)
        return GL_EINTERNAL;
    uint64_t next_due_wall = clock_wall_ms();
    uint64_t next_stats = clock_mono_ms() + 60000;
    int poll_failed = 0;
    while (!worker_stop_flag && !store_failed(w->st)) {
        watchdog_progress();
        if (worker_reload_flag) {
            worker_reload_flag = 0;
            reload_directory(w);
        }
        uint64_t now = clock_mono_ms(), wall = clock_wall_ms();
        long timeout = w->cfg.heartbeat_ms / 2;
        if (next_due_wall <= wall || worker_scores_pending(w))
            timeout = 0;
        else if ((long)(next_due_wall - wall) < timeout)
            timeout = (long)(next_due_wall - wall);
        if (timeout > 0 && !worker_carried(w))
            worker_grow_idle(w); /* --grow-ahead-mb: zeros ahead while nothing waits */
        zmq_pollitem_t item = {w->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, worker_carried(w) ? 0 : timeout) < 0 && errno != EINTR) {
            LOG_E("waiting for the broker: %s; stopping", zmq_strerror(errno));
            poll_failed = 1; /* not a stop: exit status 1, no BYE */
            break;
        }
        if (worker_carried(w)) /* a message the last batch read and did not take (take.c) */
            item.revents |= ZMQ_POLLIN;

        /* Group commit: whatever is waiting, up to the batch bound. */
        arena_reset(&w->batch_arena);
        size_t njobs = 0;
        /* Teams that said HELLO, once each, in the order they came. */
        struct team_seen {
            const char *team;
            struct team_seen *next;
        } *presence = NULL, **presence_tail = &presence;
        int reready = 0;
        while (item.revents & ZMQ_POLLIN && njobs < (size_t)w->cfg.batch) {
            if (worker_pack_take(w, &jobs[njobs], 0)) { /* what a PACK has left first */
                njobs++;
                continue;
            }
            frame_msg fm;
            int rc = worker_recv(w, &fm);
            if (rc == GL_EUNAVAILABLE) {
                frame_close(&fm);
                break;
            }
            w->last_heard_ms = clock_mono_ms();
            proto_msg m;
            char reason[160];
            size_t blen;
            const void *body = rc == 0 ? frame_body(&fm, &blen) : NULL;
            if (rc == 0)
                rc = worker_decode(fm.cmd, body, blen, &m, &w->batch_arena, reason, sizeof reason);
            if (rc != 0) {
                log_limited(LOG_WARN, "broker-msg", "bad message from the broker: %s",
                            gl_strerror(rc));
            } else if (fm.cmd == PROTO_JOB) {
                worker_take_job(w, &fm, &m, &jobs[njobs++]);
            } else if (fm.cmd == PROTO_PACK) {
                worker_pack_start(w, &fm); /* JOBs packed: taken above (jobpack.c) */
            } else if (fm.cmd == PROTO_PRESENCE) {
                int seen = 0;
                for (struct team_seen *s = presence; s && !seen; s = s->next)
                    seen = strcmp(s->team, m.team) == 0;
                struct team_seen *s = seen ? NULL : arena_alloc(&w->batch_arena, sizeof *s);
                if (s) {
                    s->team = m.team; /* decoded into the batch arena */
                    s->next = NULL;
                    *presence_tail = s;
                    presence_tail = &s->next;
                }
            } else if (fm.cmd == PROTO_ERROR) {
                reready = 1; /* the broker does not know us (it restarted) */
            }
            frame_close(&fm);
        }
        if (njobs)
            njobs = worker_answer_queries(w, jobs, njobs);
        if (njobs)
            run_alerts_first(w, jobs, njobs);
        if (store_failed(w->st))
            break; /* answered; take nothing more (worker_leave) */
        if (njobs)
            worker_index_settle(w); /* after the batch, never before an alert */
        for (struct team_seen *s = presence; s; s = s->next)
            worker_on_presence(w, s->team);
        worker_scores_step(w); /* a chunk of a report, between batches */
        if (reready)
            send_ready(w);

        /* Resend timers live in the store and any worker may have set an
         * earlier one, so look at least once per heartbeat interval. */
        wall = clock_wall_ms();
        if (next_due_wall <= wall || w->escalation_soon) {
            w->escalation_soon = 0;
            arena_reset(&w->batch_arena);
            uint64_t next = worker_resend_due(w, wall);
            uint64_t later[] = {worker_escalate_due(w, wall), worker_deadlines_due(w, wall)};
            for (size_t i = 0; i < GL_ARRAY_LEN(later); i++)
                if (later[i] && (!next || later[i] < next))
                    next = later[i];
            uint64_t horizon = wall + (uint64_t)w->cfg.heartbeat_ms;
            next_due_wall = next && next < horizon ? next : horizon;
        }

        now = clock_mono_ms();
        zmq_pollitem_t waiting = {w->sock, 0, ZMQ_POLLIN, 0};
        /* The broker is silent only if nothing of its is waiting unread
         * (this worker may itself have been stalled, e.g. on the lock). */
        if (now - w->last_heard_ms > (uint64_t)(w->cfg.heartbeat_ms * w->cfg.liveness) &&
            zmq_poll(&waiting, 1, 0) == 0) {
            LOG_W("broker silent for %ld ms: reconnecting", (long)(now - w->last_heard_ms));
            worker_connect(w);
        } else if (now - w->last_report_ms >= (uint64_t)w->cfg.heartbeat_ms) {
            /* The report is the heartbeat: any message from a worker is a
             * sign of life to the broker. */
            if (worker_report(w) != 0) {
                static const unsigned char empty_map = 0x80;
                frame_send(w->sock, NULL, 0, PROTO_HEARTBEAT, &empty_map, 1, 0, NULL, 0,
                           ZMQ_DONTWAIT);
            }
            w->last_report_ms = now;
        }
        if (now >= next_stats) {
            worker_counters *c = &w->counters;
            LOG_I("batches %llu, jobs %llu, filed %llu, duplicates %llu, errors %llu, "
                  "dispatches %llu, resent %llu, failed commits %llu, dead-lettered %llu, "
                  "bad from the broker %llu",
                  (unsigned long long)c->batches, (unsigned long long)c->jobs,
                  (unsigned long long)c->filed, (unsigned long long)c->duplicates,
                  (unsigned long long)c->errors, (unsigned long long)c->dispatches,
                  (unsigned long long)c->resent, (unsigned long long)c->commits_failed,
                  (unsigned long long)c->dead_lettered, (unsigned long long)c->bad_from_broker);
            next_stats = now + 60000;
        }
    }
    free(jobs);
    worker_scores_free(w);
    worker_grow_stop(w);
    return store_failed(w->st) ? GL_ESTORAGE : poll_failed ? GL_EINTERNAL : 0;
}

int main(int argc, char **argv)
{
    gl_worker w;
    memset(&w, 0, sizeof w);
    uint64_t started_us = clock_mono_us(); /* start-up time, logged once the store is open */
    const char *log_level = NULL, *key_file = NULL, *server_key = NULL;
    int log_syslog = 0;
    char default_name[32];
    snprintf(default_name, sizeof default_name, "worker-%ld", (long)getpid());
    const opt_def defs[] = {
        {"broker", OPT_STR, "tcp://127.0.0.1:7403", "the broker's workers endpoint", &w.cfg.broker_ep, "GRIDLINE_WORKERS"},
        {"store", OPT_STR, "var/store", "directory of the LMDB store (shared by the workers of one broker; a worker of another broker is refused)", &w.cfg.store_dir, "GRIDLINE_STORE"},
        {"directory", OPT_STR, "data/demo-county.json", "the county directory file (reloaded on SIGHUP)", &w.cfg.directory_path, "GRIDLINE_DIRECTORY"},
        {"name", OPT_STR, NULL, "worker name in logs and history (default worker-PID)", &w.cfg.name, NULL},
        {"credit", OPT_INT, "512", "jobs the broker may have in flight at this worker (twice --batch: while a worker is kept for alerts, routine work spills to a second worker only once the first holds a whole batch more than it is committing)", &w.cfg.credit, NULL},
        {"batch", OPT_INT, "256", "most jobs committed in one transaction", &w.cfg.batch, NULL},
        {"retry-ms", OPT_INT, "30000", "first resend of an unacknowledged dispatch", &w.cfg.retry_ms, NULL},
        {"retry-max-ms", OPT_INT, "600000", "ceiling of the doubling resend interval", &w.cfg.retry_max_ms, NULL},
        {"heartbeat-ms", OPT_INT, "1000", "heartbeat interval to the broker", &w.cfg.heartbeat_ms, NULL},
        {"liveness", OPT_INT, "3", "heartbeats missed before the broker is thought gone", &w.cfg.liveness, NULL},
        {"map-mb", OPT_INT, "4096", "initial LMDB map size in MiB (grows up to --map-max-mb)", &w.cfg.map_mb, NULL},
        {"close-unrated-s", OPT_INT, "604800", "a resolved event nobody rates closes after this many seconds (0: never)", &w.cfg.close_unrated_s, NULL},
        {"nice", OPT_INT, "0", "change this process's nice value by N (-20..19; below 0 needs CAP_SYS_NICE): 10 for workers of routine work, so they give way to the broker and an alert-lane worker on a busy machine", &w.cfg.nice, NULL},
        {"realtime", OPT_INT, "0", "run every thread of the worker under SCHED_RR at this priority (1..99; 0: ordinary scheduling), for a --lanes alert worker: woken at once on a busy machine; needs CAP_SYS_NICE or RLIMIT_RTPRIO, else a warning and ordinary scheduling", &w.cfg.realtime, NULL},
        {"lanes", OPT_STR, "all", "lanes the broker sends here: all, alert (a worker kept free for alerts and acts) or routine", &w.cfg.lanes, NULL},
        {"delivery-limit", OPT_INT, "50", "sends of an unacknowledged dispatch before it becomes a dead letter (0: no limit)", &w.cfg.delivery_limit, NULL},
        {"log-level", OPT_STR, "info", "error, warn, info or debug", &log_level, "GRIDLINE_LOG_LEVEL"},
        {"key", OPT_STR, NULL, "this worker's key pair (a .secret file of role worker, gridline keygen): CURVE to a tcp:// --broker, with --server-key", &key_file, "GRIDLINE_KEY"},
        {"server-key", OPT_STR, NULL, "the broker's public key: 40 characters of Z85, or its .pub file", &server_key, "GRIDLINE_SERVER_KEY"},
        {"map-max-mb", OPT_INT, "65536", "ceiling in MiB the map grows to (doubling from --map-mb) when it fills (address space only: the file grows as it is used)", &w.cfg.map_max_mb, NULL},
        {"alert-reserve-mb", OPT_INT, "64", "MiB of map and disk kept for alerts: below it, routine work is refused as storage_full", &w.cfg.alert_reserve_mb, NULL},
        {"log-syslog", OPT_FLAG, NULL, "log to syslog (facility daemon) instead of stderr", &log_syslog, NULL},
        {"single-messages", OPT_FLAG, NULL, "send each reply and dispatch as a DONE or DELIVER of its own instead of one PACK per commit (for a broker older than PACK), and take JOBs one by one instead of packed", &w.cfg.single_messages, NULL},
        {"meta-after-lock", OPT_FLAG, NULL, "flush each commit's meta page after releasing the store's writer lock (LMDB's MDB_NOMETASYNC, then a flush before any reply) instead of under it: the lock is held about 0.15 ms less per commit, but an alert's commit may then wait on this worker's flush (measured: no throughput gained, alert FILED p99 under a routine flood 2.5 -> 7 ms)", &w.cfg.meta_after_lock, NULL},
        {"grow-ahead-mb", OPT_INT, "0", "when idle, write the store's data file with zeros up to N MiB past its pages in use (0..65536; 0: off), so that a commit's flush need not also record the file's growth. Costs every page the store grows by written twice, and a file up to N MiB larger than its pages in use", &w.cfg.grow_ahead_mb, NULL},
    };
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), argc, argv,
                        "gridline-worker [--broker EP] [--store DIR] [--directory FILE] [options]",
                        "A gridline routing worker: takes jobs from the broker, files events durably\n"
                        "in the LMDB store with group commit (the terminal hears \"filed\" only after\n"
                        "the commit), routes them by the county directory and keeps their dispatches\n"
                        "and history. Run two or more against one store.\n"
                        "When the map reaches --map-max-mb less --alert-reserve-mb, or the disk has\n"
                        "less than --alert-reserve-mb free, routine work is refused (storage_full)\n"
                        "while alerts and acknowledgements are still stored from the reserve.\n"
                        "Exit status: 0 stopped (SIGTERM, SIGINT), 1 could not start (or failed),\n"
                        "2 bad options, 75 a flush of the store failed: that commit's jobs were\n"
                        "answered with storage_error, the rest handed back to the broker (BYE). Run\n"
                        "it under a supervisor that restarts it (systemd Restart=on-failure):\n"
                        "restarted, it reads the store as it is on disk.");
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    if (!w.cfg.name)
        w.cfg.name = default_name;
    int level = log_level_parse(log_level);
    if (strcmp(w.cfg.lanes, "all") != 0 && strcmp(w.cfg.lanes, "alert") != 0 &&
        strcmp(w.cfg.lanes, "routine") != 0) {
        fprintf(stderr, "gridline-worker: --lanes must be all, alert or routine\n");
        return 2;
    }
    if (level < 0 || w.cfg.credit < 1 || w.cfg.batch < 1 || w.cfg.retry_ms < 1 ||
        w.cfg.heartbeat_ms < 1 || w.cfg.liveness < 1 || w.cfg.map_mb < 1 ||
        w.cfg.delivery_limit < 0 || w.cfg.nice < -20 || w.cfg.nice > 19 || w.cfg.realtime < 0 ||
        w.cfg.realtime > GL_RT_PRIO_MAX ||
        strlen(w.cfg.name) > GL_MAX_ID || w.cfg.alert_reserve_mb < 0 ||
        w.cfg.grow_ahead_mb < 0 || w.cfg.grow_ahead_mb > 65536 ||
        w.cfg.alert_reserve_mb >= (w.cfg.map_max_mb > w.cfg.map_mb ? w.cfg.map_max_mb : w.cfg.map_mb)) {
        fprintf(stderr, "gridline-worker: an option is out of range (see --help)\n");
        return 2;
    }
    if (w.cfg.retry_max_ms < w.cfg.retry_ms)
        w.cfg.retry_max_ms = w.cfg.retry_ms;
    char component[80];
    snprintf(component, sizeof component, "worker:%s", w.cfg.name);
    log_init(component, level);
    if (log_syslog)
        log_to_syslog("gridline-worker");
    /* Every thread of the process, ZeroMQ's I/O thread included, inherits
     * it: set before the context is made. */
    errno = 0;
    if (w.cfg.nice != 0 && nice((int)w.cfg.nice) == -1 && errno != 0)
        LOG_W("cannot change the nice value by %ld: %s", w.cfg.nice, strerror(errno));
    if (w.cfg.realtime > 0) {
        char why[256];
        if (sched_realtime((int)w.cfg.realtime, why, sizeof why) != 0)
            LOG_W("%s; running with ordinary scheduling", why);
        else
            LOG_I("running under SCHED_RR at priority %ld", w.cfg.realtime);
    }

    char err[512];
    if (worker_curve_init(key_file, server_key, err, sizeof err) != 0) {
        fprintf(stderr, "gridline-worker: %s\n", err);
        return 2;
    }
    if (dir_load(w.cfg.directory_path, &w.dir, err, sizeof err) != 0) {
        LOG_E("cannot load the directory: %s", err);
        return 1;
    }
    uint64_t open_us = clock_mono_us();
    store_opts so = {.map_size = (size_t)w.cfg.map_mb << 20,
                     .map_max = (size_t)w.cfg.map_max_mb << 20,
                     .reserve = (size_t)w.cfg.alert_reserve_mb << 20,
                     .meta_after_lock = w.cfg.meta_after_lock};
    if ((rc = store_open(w.cfg.store_dir, &so, &w.st)) != 0) {
        LOG_E("cannot open the store in %s: %s", w.cfg.store_dir, gl_strerror(rc));
        dir_free(&w.dir);
        return 1;
    }
    /* A store belongs to one service: the workers of one broker. */
    char other[400] = "";
    if ((rc = store_join(w.st, w.cfg.broker_ep, other, sizeof other)) != 0) {
        if (rc == GL_EBADSTATE)
            LOG_E("the store in %s belongs to another service: it is in use by the worker %s. "
                  "A store serves the workers of one broker; give this service a store of its "
                  "own (--store)", w.cfg.store_dir, other);
        else
            LOG_E("cannot register in the store in %s: %s", w.cfg.store_dir, gl_strerror(rc));
        store_leave(w.st);
    store_close(&w.st);
        dir_free(&w.dir);
        return 1;
    }
    /* How long a restart takes before the worker can answer (bench_scale
     * reads this line): it must not grow with the store. */
    uint64_t joined_us = clock_mono_us();
    LOG_I("store %s opened in %.1f ms (%.1f ms since the worker started)", w.cfg.store_dir,
          (double)(joined_us - open_us) / 1000.0, (double)(joined_us - started_us) / 1000.0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A file-size limit (ulimit -f) must fail the store's write with EFBIG,
     * which is storage full, rather than kill the worker. */
    signal(SIGXFSZ, SIG_IGN);

    msgpack_sbuffer_init(&w.sbuf);
    w.ctx = zmq_ctx_new();
    int status = 1;
    if (w.ctx && worker_connect(&w) == 0) {
        LOG_I("connected to %s, store %s, directory %s", w.cfg.broker_ep, w.cfg.store_dir,
              w.cfg.directory_path);
        if (watchdog_start(w.ctx, w.cfg.broker_ep, w.cfg.heartbeat_ms, w.cfg.liveness) != 0)
            LOG_W("no watchdog thread: a wait for the store's lock may look like a stall");
        rc = run(&w);
        if (rc == GL_ESTORAGE)
            worker_leave(&w);
        else if (rc == 0)
            worker_say_bye(&w); /* stopped: what it read and did not work goes on at once */
        status = rc == 0 ? 0 : rc == GL_ESTORAGE ? WORKER_EXIT_STORE_FAILED : 1;
        watchdog_stop();
    }
    LOG_I("stopping: %llu events filed in this run", (unsigned long long)w.counters.filed);
    if (w.sock)
        zmq_close(w.sock);
    if (w.ctx)
        zmq_ctx_term(w.ctx);
    free(w.out.msgs);
    arena_free(&w.batch_arena);
    arena_free(&w.scratch);
    worker_detail_free(&w);
    msgpack_sbuffer_destroy(&w.sbuf);
    store_close(&w.st);
    dir_free(&w.dir);
    return status;
}
