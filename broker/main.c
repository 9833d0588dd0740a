/* gridline-broker — intake, worker and responder endpoints; lanes, credit,
 * heartbeats and presence. One zmq_poll loop; no durable state. */
#include "broker.h"
#include "auth.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/opts.h"
#include "../common/rtsched.h"

static volatile sig_atomic_t broker_stop_flag, broker_reload_flag;

static void broker_on_hup(int sig)
{
    (void)sig;
    broker_reload_flag = 1;
}

static void broker_on_signal(int sig)
{
    (void)sig;
    broker_stop_flag = 1;
}

void broker_reply(broker *b, void *sock, const void *ident, size_t ident_len, const proto_msg *m)
{
    b->sbuf.size = 0;
    if (proto_encode(m, &b->sbuf) != 0) {
        /* A reply the codec refuses is a bug of ours: the client hears an
         * error for its request instead of waiting for a reply that never
         * comes. */
        LOG_E("could not encode %s", proto_cmd_name(m->cmd));
        broker_metrics_error(b, GL_EINTERNAL);
        frame_send_error(sock, ident, ident_len, GL_EINTERNAL, "the broker could not encode its reply",
                         NULL, m->rid);
        return;
    }
    frame_send(sock, ident, ident_len, m->cmd, b->sbuf.data, b->sbuf.size, 0, NULL, 0,
               ZMQ_DONTWAIT);
}

void broker_reply_error(broker *b, void *sock, frame_msg *fm, int err, const char *reason,
                        const char *id, uint64_t rid)
{
    size_t len;
    const void *ident = frame_identity(fm, &len);
    broker_metrics_error(b, err);
    if (ident)
        frame_send_error(sock, ident, len, err, reason, id, rid);
}

int broker_decode(broker *b, void *sock, frame_msg *fm, proto_msg *m, const char *endpoint)
{
    size_t blen;
    const void *body = frame_body(fm, &blen);
    char reason[160];
    arena_reset(&b->scratch);
    /* The common flat bodies (every SUBMIT from our clients) the quick way;
     * anything else, and every error with its reason, from proto_decode. */
    if (proto_decode_flat(fm->cmd, body, blen, m, &b->scratch) == 0)
        return 0;
    int rc = proto_decode(fm->cmd, body, blen, m, &b->scratch, reason, sizeof reason);
    if (rc == 0)
        return 0;
    b->counters.bad_input++;
    log_limited(LOG_WARN, endpoint, "bad %s on %s: %s (%s)", proto_cmd_name(fm->cmd), endpoint,
                gl_errname(rc), reason);
    /* Echo what decoded of the id, so the client knows which request failed. */
    broker_reply_error(b, sock, fm, rc, reason, m->ev.id ? m->ev.id : m->event, m->rid);
    return rc;
}

void broker_reply_busy(broker *b, void *sock, const void *ident, size_t ident_len,
                       const char *id, uint64_t rid)
{
    proto_msg busy;
    memset(&busy, 0, sizeof busy);
    busy.cmd = PROTO_BUSY;
    busy.rid = rid;
    busy.ev.id = id;
    busy.retry_after_ms = broker_retry_after_ms(b);
    broker_reply(b, sock, ident, ident_len, &busy);
    b->counters.busy_replies++;
}

void broker_pong(broker *b, void *sock, const void *ident, size_t ident_len, uint64_t rid)
{
    proto_msg pong;
    memset(&pong, 0, sizeof pong);
    pong.cmd = PROTO_PONG;
    pong.rid = rid;
    broker_reply(b, sock, ident, ident_len, &pong);
}

void broker_send_heartbeat(broker *b, void *sock, const void *ident, size_t ident_len)
{
    static const unsigned char empty_map = 0x80;
    (void)b;
    frame_send(sock, ident, ident_len, PROTO_HEARTBEAT, &empty_map, 1, 0, NULL, 0, ZMQ_DONTWAIT);
}

static void on_intake_msg(broker *b, frame_msg *fm)
{
    size_t len;
    const void *ident = frame_identity(fm, &len);
    if (fm->cmd != PROTO_SUBMIT && fm->cmd != PROTO_SHOW && fm->cmd != PROTO_PING &&
        fm->cmd != PROTO_UPDATE && fm->cmd != PROTO_CANCEL && fm->cmd != PROTO_STATUS &&
        fm->cmd != PROTO_RATE && fm->cmd != PROTO_TRACK && fm->cmd != PROTO_BOARD &&
        fm->cmd != PROTO_LIST && fm->cmd != PROTO_REQUEUE && fm->cmd != PROTO_SCORES) {
        b->counters.bad_input++;
        broker_reply_error(b, b->intake, fm, GL_EUNKNOWNCMD,
                           "command not accepted on the intake endpoint", NULL, 0);
        return;
    }
    proto_msg m;
    int rc = broker_decode(b, b->intake, fm, &m, "intake");
    if (rc != 0 || broker_auth_allow(b, fm, &m, "intake") != 0)
        return;
    switch (fm->cmd) {
    case PROTO_SUBMIT:
    case PROTO_SHOW:
    case PROTO_RATE:
    case PROTO_TRACK:
    case PROTO_BOARD:
    case PROTO_LIST:    /* operators (issue 5): routine work */
    case PROTO_REQUEUE:
    case PROTO_SCORES: {
        /* Routine work (other kinds' SUBMITs, SHOW) is bounded: beyond
         * --max-queue the terminal is told to come back later. */
        int lane = fm->cmd == PROTO_SUBMIT && m.ev.kind == GL_KIND_ALERT ? LANE_ALERT : LANE_ROUTINE;
        if (lane == LANE_ROUTINE && broker_routine_full(b)) {
            broker_reply_busy(b, b->intake, ident, len, m.ev.id, m.rid);
            return;
        }
        rc = broker_enqueue(b, ORIGIN_INTAKE, lane, fm->cmd, fm);
        if (rc != 0)
            broker_reply_error(b, b->intake, fm, rc, NULL, m.ev.id, m.rid);
        return;
    }
    case PROTO_UPDATE:
    case PROTO_CANCEL:
        /* An update or a cancellation (a false alarm withdrawn) can stop an
         * escalation: it rides the alert lane and is never refused busy. */
        rc = broker_enqueue(b, ORIGIN_INTAKE, LANE_ALERT, fm->cmd, fm);
        if (rc != 0)
            broker_reply_error(b, b->intake, fm, rc, NULL, m.ev.id, m.rid);
        return;
    case PROTO_PING:
        broker_pong(b, b->intake, ident, len, m.rid);
        return;
    case PROTO_STATUS:
        broker_on_status(b, b->intake, ident, len, m.rid);
        return;
    }
}

/* Reads up to budget messages from one socket; a shape error is answered
 * (when the sender can be addressed) and counted, never fatal. Returns how
 * many messages were read. */
static int drain(broker *b, void *sock, void (*handle)(broker *, frame_msg *), int budget,
                 int reply_errors)
{
    int i;
    for (i = 0; i < budget; i++) {
        frame_msg fm;
        int rc = frame_recv(sock, 1, ZMQ_DONTWAIT, &fm);
        if (rc == GL_EUNAVAILABLE) {
            frame_close(&fm);
            return i;
        }
        if (rc != 0) {
            b->counters.bad_input++;
            log_limited(LOG_WARN, "bad-frame", "malformed message (%d parts): %s",
                        fm.total_parts, gl_strerror(rc));
            if (reply_errors)
                broker_reply_error(b, sock, &fm, rc, NULL, NULL, 0);
        } else
            handle(b, &fm);
        frame_close(&fm);
    }
    return i;
}

/* An ipc:// endpoint is a file: binding it again silently takes it from a
 * broker still running there (libzmq unlinks the file). Ask first: a PING
 * answered means another broker is alive on it; silence means a stale file
 * left by a broker that died, which the bind may replace. */
static int ipc_endpoint_taken(broker *b, const char *ep)
{
    if (strncmp(ep, "ipc://", 6) != 0 || access(ep + 6, F_OK) != 0)
        return 0;
    void *s = zmq_socket(b->ctx, ZMQ_DEALER);
    int zero = 0, taken = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(s, ep) == 0) {
        static const unsigned char empty_map = 0x80;
        frame_send(s, NULL, 0, PROTO_PING, &empty_map, 1, 0, NULL, 0, ZMQ_DONTWAIT);
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        taken = zmq_poll(&item, 1, 300) == 1;
    }
    zmq_close(s);
    return taken;
}

/* bind_router binds a ROUTER on ep; sndhwm bounds what is queued for each
 * peer (ZeroMQ's pipe per connection): a send beyond it fails at once. */
static void *bind_router(broker *b, const char *ep, const char *what, int sndhwm)
{
    void *s = zmq_socket(b->ctx, ZMQ_ROUTER);
    int one = 1, zero = 0, hwm = 100000;
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (broker_auth_socket(b->auth, s, ep, what) != 0 || zmq_bind(s, ep) != 0) {
        LOG_E("cannot bind the %s endpoint %s: %s", what, ep, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    LOG_I("%s endpoint on %s%s", what, ep,
          b->auth && strncmp(ep, "tcp://", 6) == 0 ? " (CURVE)" : "");
    return s;
}

static void log_counters(broker *b)
{
    broker_counters *c = &b->counters;
    LOG_I("lanes alert=%zu routine=%zu, in flight %zu, workers %d, responders %zu; "
          "received alert=%llu routine=%llu, completed %llu, busy %llu, requeued %llu, "
          "deliveries %llu (copies %llu, nobody connected %llu, not sent %llu), bad input %llu",
          b->lanes[LANE_ALERT].count, b->lanes[LANE_ROUTINE].count,
          hmap_count(b->jobs_in_flight), b->nworkers, hmap_count(b->responders_by_ident),
          (unsigned long long)c->received[LANE_ALERT],
          (unsigned long long)c->received[LANE_ROUTINE], (unsigned long long)c->completed,
          (unsigned long long)c->busy_replies, (unsigned long long)c->requeued,
          (unsigned long long)c->deliveries, (unsigned long long)c->delivered_copies,
          (unsigned long long)c->undeliverable, (unsigned long long)c->copies_not_sent,
          (unsigned long long)c->bad_input);
    broker_memory_log(b);
}

int main(int argc, char **argv)
{
    broker b;
    memset(&b, 0, sizeof b);
    const char *log_level = NULL, *keys_dir = NULL, *curve_secret = NULL, *http_addr = NULL;
    int insecure = 0, http_public = 0, log_syslog = 0;
    long realtime = 0;
    const opt_def defs[] = {
        {"intake", OPT_STR, "tcp://127.0.0.1:7401", "endpoint terminals connect to", &b.cfg.intake_ep, "GRIDLINE_INTAKE"},
        {"workers", OPT_STR, "tcp://127.0.0.1:7403", "endpoint routing workers connect to", &b.cfg.workers_ep, "GRIDLINE_WORKERS"},
        {"responders", OPT_STR, "tcp://127.0.0.1:7402", "endpoint responders connect to", &b.cfg.responders_ep, "GRIDLINE_RESPONDERS"},
        {"max-queue", OPT_INT, "20000", "routine jobs waiting before terminals are told BUSY", &b.cfg.max_queue, NULL},
        {"max-queue-bytes", OPT_INT, "67108864", "routine bytes waiting before BUSY", &b.cfg.max_queue_bytes, NULL},
        {"max-alert-queue", OPT_INT, "200000", "alert-lane jobs waiting (memory bound; alerts are never refused as busy below it)", &b.cfg.max_alert_queue, NULL},
        {"heartbeat-ms", OPT_INT, "1000", "heartbeat interval to workers and responders", &b.cfg.heartbeat_ms, NULL},
        {"liveness", OPT_INT, "3", "heartbeats missed before a worker or responder is dead", &b.cfg.liveness, NULL},
        {"alert-reserve", OPT_INT, "4", "credit per worker kept free for the alert lane", &b.cfg.alert_reserve, NULL},
        {"routine-window", OPT_INT, "32", "routine jobs a worker may hold at once: an alert waits for at most these (smaller: faster alerts, less batching; not applied while a --lanes alert worker is connected)", &b.cfg.routine_window, NULL},
        {"fence", OPT_FLAG, NULL, "SIGKILL a worker on this host that stops heartbeating, so a worker hung inside its write transaction cannot stall the store (use when a supervisor restarts workers)", &b.cfg.fence, NULL},
        {"stats-interval", OPT_INT, "60", "seconds between counter lines in the log (0: never)", &b.cfg.stats_interval_s, NULL},
        {"log-level", OPT_STR, "info", "error, warn, info or debug", &log_level, "GRIDLINE_LOG_LEVEL"},
        {"keys", OPT_STR, NULL, "keys directory (DIR/NAME.pub: public key, role, scope; see gridline keygen): CURVE on every tcp:// endpoint, only these keys admitted, roles enforced; reloaded on SIGHUP", &keys_dir, "GRIDLINE_KEYS"},
        {"curve-secret", OPT_STR, NULL, "the broker's key pair (a .secret file of role broker), with --keys", &curve_secret, "GRIDLINE_CURVE_SECRET"},
        {"insecure", OPT_FLAG, NULL, "allow plain (unauthenticated) tcp:// endpoints that are not loopback", &insecure, NULL},
        /* issue 5: operators' HTTP endpoint and syslog */
        {"http", OPT_STR, NULL, "serve the dashboard (/), Prometheus /metrics and /api/status, /api/scores on PORT or ADDR:PORT (ADDR defaults to 127.0.0.1; off when not given)", &http_addr, "GRIDLINE_HTTP"},
        {"http-public", OPT_FLAG, NULL, "allow --http on a non-loopback address (the pages have no access control: put a proxy with authentication in front)", &http_public, NULL},
        {"log-syslog", OPT_FLAG, NULL, "log to syslog (facility daemon) instead of stderr", &log_syslog, NULL},
        /* issue 3: the alert path woken at once on a busy machine */
        {"realtime", OPT_INT, "0", "run the broker and its ZeroMQ I/O threads under SCHED_RR at this priority (1..99; 0: ordinary scheduling), so an alert is not kept waiting for a CPU by routine work; needs CAP_SYS_NICE or RLIMIT_RTPRIO, else a warning and ordinary scheduling", &realtime, NULL},
        /* issue 7: memory flat under overload (broker/memory.c) */
        {"memory-trim-ms", OPT_INT, "1000", "milliseconds between giving the heap's free pages back to the system (malloc_trim), so that resident memory follows what is in use rather than creeping up to the largest the heap has been (0: never)", &b.cfg.memory_trim_ms, NULL},
        {"responder-queue", OPT_INT, "10000", "messages queued for one responder's connection at most: a responder that stops reading takes no more memory than this; DISPATCHes and NOTICEs beyond it are not sent (its dispatches stay pending in the store and are resent)", &b.cfg.responder_queue, NULL},
    };
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), argc, argv,
                        "gridline-broker [--intake EP] [--workers EP] [--responders EP] [options]",
                        "The gridline broker: terminals submit on --intake, routing workers take jobs\n"
                        "on --workers, teams listen and act on --responders. Alerts travel a lane\n"
                        "served before routine work. Holds no durable state.");
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    int level = log_level_parse(log_level);
    if (level < 0 || b.cfg.heartbeat_ms <= 0 || b.cfg.liveness <= 0 || b.cfg.max_queue <= 0 ||
        b.cfg.routine_window <= 0 || realtime < 0 || realtime > GL_RT_PRIO_MAX) {
        fprintf(stderr, "gridline-broker: bad --log-level, --heartbeat-ms, --liveness, --max-queue, --routine-window or --realtime\n");
        return 2;
    }
    if (b.cfg.memory_trim_ms < 0) {
        fprintf(stderr, "gridline-broker: --memory-trim-ms wants 0 (never) or more\n");
        return 2;
    }
    if (b.cfg.responder_queue < 1 || b.cfg.responder_queue > 1000000) {
        fprintf(stderr, "gridline-broker: --responder-queue wants 1 to 1000000 messages\n");
        return 2;
    }
    log_init("broker", level);
    const char *const tcp_eps[] = {b.cfg.intake_ep, b.cfg.responders_ep, b.cfg.workers_ep};
    char auth_err[512];
    if (!keys_dir != !curve_secret) {
        fprintf(stderr, "gridline-broker: --keys and --curve-secret go together\n");
        return 2;
    }
    if (broker_auth_check_endpoints(tcp_eps, GL_ARRAY_LEN(tcp_eps), keys_dir != NULL, insecure,
                                    auth_err, sizeof auth_err) != 0) {
        fprintf(stderr, "gridline-broker: %s\n", auth_err);
        return 2;
    }
    if (log_syslog)
        log_to_syslog("gridline-broker");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = broker_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sa.sa_handler = broker_on_hup;
    sigaction(SIGHUP, &sa, NULL);

    /* Before the first socket: ZeroMQ's I/O threads inherit it. */
    if (realtime > 0) {
        char why[256];
        if (sched_realtime((int)realtime, why, sizeof why) != 0)
            LOG_W("%s; running with ordinary scheduling", why);
        else
            LOG_I("running under SCHED_RR at priority %ld", realtime);
    }
    b.ctx = zmq_ctx_new();
    b.jobs_in_flight = hmap_new();
    b.responders_by_ident = hmap_new();
    b.teams = hmap_new();
    b.presence_pending = hmap_new();
    b.alerts_filing = hmap_new();
    msgpack_sbuffer_init(&b.sbuf);
    int status = 1;
    if (!b.ctx || !b.jobs_in_flight || !b.responders_by_ident || !b.teams || !b.presence_pending ||
        !b.alerts_filing)
        goto out;
    /* Check every endpoint before binding any: a refused start must leave
     * the broker already there untouched. */
    const char *const eps[][2] = {{b.cfg.intake_ep, "intake"},
                                  {b.cfg.responders_ep, "responders"},
                                  {b.cfg.workers_ep, "workers"}};
    for (size_t i = 0; i < GL_ARRAY_LEN(eps); i++)
        if (ipc_endpoint_taken(&b, eps[i][0])) {
            LOG_E("the %s endpoint %s is in use: another broker answers there", eps[i][1],
                  eps[i][0]);
            goto out;
        }
    if (keys_dir && broker_auth_start(b.ctx, keys_dir, curve_secret, &b.auth, auth_err,
                                      sizeof auth_err) != 0) {
        LOG_E("%s", auth_err);
        goto out;
    }
    b.intake = bind_router(&b, b.cfg.intake_ep, "intake", 100000);
    b.responders = bind_router(&b, b.cfg.responders_ep, "responders", (int)b.cfg.responder_queue);
    b.workers_sock = bind_router(&b, b.cfg.workers_ep, "workers", 100000);
    if (!b.intake || !b.responders || !b.workers_sock)
        goto out;
    b.metrics = broker_metrics_new();
    /* The HTTP server's threads serve people, not the alert path. */
    int rt = sched_is_realtime();
    if (rt)
        sched_ordinary();
    if (http_addr && broker_http_start(&b, http_addr, http_public) != 0)
        goto out;
    if (rt) {
        char why[256];
        if (sched_realtime(rt, why, sizeof why) != 0)
            LOG_W("%s", why);
    }

    uint64_t next_tick = clock_mono_ms() + (uint64_t)b.cfg.heartbeat_ms;
    uint64_t next_stats = clock_mono_ms() + (uint64_t)b.cfg.stats_interval_s * 1000;
    b.rate_window_start_ms = b.started_ms = b.minute_start_ms = clock_mono_ms();
    while (!broker_stop_flag) {
        if (broker_reload_flag) {
            broker_reload_flag = 0;
            broker_auth_reload(b.auth);
        }
        zmq_pollitem_t items[] = {
            {b.workers_sock, 0, ZMQ_POLLIN, 0},
            {b.responders, 0, ZMQ_POLLIN, 0},
            {b.intake, 0, ZMQ_POLLIN, 0},
        };
        uint64_t now = clock_mono_ms();
        long timeout = next_tick > now ? (long)(next_tick - now) : 0;
        if (zmq_poll(items, 3, timeout) < 0 && errno != EINTR) {
            LOG_E("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        /* The three sockets in small slices, round after round, with the
         * lanes pumped after each: an alert arriving on one socket waits
         * for at most a slice of another's backlog, not for all of it.
         * Workers first: their replies free credit and carry dispatches.
         * A socket is read until it says EAGAIN; another round asks every
         * socket again only while one of them filled its slice (has a
         * backlog). Otherwise back to zmq_poll: each empty read costs
         * libzmq a poll and a getpid, so no socket is asked for nothing. */
        int want_workers = items[0].revents & ZMQ_POLLIN, want_responders = items[1].revents & ZMQ_POLLIN,
            want_intake = items[2].revents & ZMQ_POLLIN;
        for (int round = 0; (want_workers | want_responders | want_intake) && round < 64; round++) {
            int backlog = 0;
            if (want_workers)
                backlog |= drain(&b, b.workers_sock, broker_on_worker_msg, 32, 0) == 32;
            if (want_responders)
                backlog |= drain(&b, b.responders, broker_on_responder_msg, 16, 1) == 16;
            if (want_intake)
                backlog |= drain(&b, b.intake, on_intake_msg, 16, 1) == 16;
            broker_pump(&b);
            want_workers = want_responders = want_intake = backlog;
        }
        broker_pump(&b);
        now = clock_mono_ms();
        if (now >= next_tick) {
            broker_worker_tick(&b, now);
            broker_responder_tick(&b, now);
            broker_minute_tick(&b, now);
            broker_auth_tick(&b);
            broker_memory_tick(&b, now);
            broker_pump(&b);
            next_tick = now + (uint64_t)b.cfg.heartbeat_ms / 2;
        }
        if (b.cfg.stats_interval_s > 0 && now >= next_stats) {
            log_counters(&b);
            next_stats = now + (uint64_t)b.cfg.stats_interval_s * 1000;
        }
    }
    LOG_I("stopping");
    log_counters(&b);
    status = 0;
out:
    broker_auth_stop(&b.auth, b.ctx);
    broker_http_stop(&b);
    broker_metrics_free(&b.metrics);
    broker_free_jobs(&b);
    if (b.responders_by_ident)
        broker_free_responders(&b);
    hmap_free(&b.jobs_in_flight);
    hmap_free(&b.responders_by_ident);
    hmap_free(&b.teams);
    hmap_free(&b.presence_pending);
    hmap_free(&b.alerts_filing);
    arena_free(&b.scratch);
    free(b.store_figures);
    msgpack_sbuffer_destroy(&b.sbuf);
    if (b.intake)
        zmq_close(b.intake);
    if (b.responders)
        zmq_close(b.responders);
    if (b.workers_sock)
        zmq_close(b.workers_sock);
    if (b.ctx)
        zmq_ctx_term(b.ctx);
    return status;
}
