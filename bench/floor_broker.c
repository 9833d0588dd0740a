/* floor_broker — the floor of gridline's message topology: the same
 * messages, on the same sockets, between the same processes as
 * gridline-broker and gridline-worker, with no store and no decoding
 * (bench/README.md, "Session 9: the floor of the message topology").
 * bench_throughput --floor MODE runs its load generator against it.
 *
 * As a broker it binds the intake and responders ROUTERs (and, in mode
 * hop, the workers ROUTER) with gridline-broker's socket options and runs
 * its loop: one zmq_poll, then slices of at most 32 worker, 16 responder
 * and 16 intake messages, the jobs of each slice sent at its end.
 *
 *   - a responder's HELLO gets WELCOME and makes it present for its team;
 *     a HEARTBEAT from a responder it does not know gets ERROR bad_state;
 *     a present responder sent nothing for a heartbeat interval gets a
 *     HEARTBEAT. No liveness, no PRESENCE to workers.
 *   - mode direct: a SUBMIT is answered at once with the FILED gridline's
 *     worker would send (bench_floor.h) and its DISPATCHes go to the teams
 *     the county directory routes it to (dir_route_event, as the worker's
 *     routing), one message per present member, as gridline-broker
 *     delivers them.
 *   - mode hop: a SUBMIT goes to a worker as an item of a PACK (PROTOCOL.md
 *     §6, "PACK: broker -> worker"): alerts to a worker started with
 *     --lanes alert when there is one, routine work to the first other
 *     worker with credit left (the most-free one when all are full: there
 *     is no queue in the floor). The worker (this program with --worker,
 *     floor_worker.h) takes what has arrived, up to --batch jobs, and
 *     answers with one PACK: the FILEDs first, then the DISPATCHes, which
 *     the broker sends on as gridline-broker sends a worker's PACK items.
 *   - SHOW (the readiness probe) gets ERROR not_found (in mode hop, from a
 *     worker); PING gets PONG; anything else ERROR unknown_command.
 *
 * A SUBMIT's body is read in place (its pairs walked once), never decoded
 * or checked beyond its msgpack lengths; there is no deduplication, no
 * record, no history, no timer, no fsync. It is a measuring instrument,
 * not a broker: nothing here is for production. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/clock.h"
#include "../common/directory.h"
#include "../common/gl.h"
#include "../common/hmap.h"
#include "../common/log.h"
#include "../common/mpwrite.h"
#include "../common/opts.h"
#include "../proto/frame.h"
#include "../proto/pack.h"
#include "../proto/proto.h"
#include "bench_floor.h"
#include "bench_msgpack.h"
#include "floor_worker.h"

#define FLOOR_MAX_WORKERS 16
#define FLOOR_MAX_MEMBERS 8
#define IDENT_MAX 255

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

typedef struct floor_cfg {
    const char *intake_ep, *responders_ep, *workers_ep, *mode, *directory, *broker_ep, *name,
        *lanes;
    long heartbeat_ms, credit, batch;
    int worker;
} floor_cfg;

static floor_cfg cfg;

/* The rid of a body, or 0. */
static uint64_t body_rid(frame_msg *fm)
{
    static const char *const keys[] = {"rid"};
    const unsigned char *v[1];
    size_t len;
    const void *body = frame_body(fm, &len);
    uint64_t rid = 0;
    if (body && mp_get(body, len, keys, v, 1) == 0)
        mp_uint(v[0], (const unsigned char *)body + len, &rid);
    return rid;
}

/* send_pong answers a PING (fm) from ident on sock, as gridline-broker
 * does on either client endpoint. */
static void send_pong(void *sock, const unsigned char *ident, size_t ident_len, frame_msg *fm)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_PONG;
    m.rid = body_rid(fm);
    frame_send_msg(sock, ident, ident_len, &m, ZMQ_DONTWAIT);
}

/* ---- the broker ---- */

typedef struct floor_resp {
    unsigned char ident[IDENT_MAX];
    size_t ident_len;
    uint64_t last_sent_ms;
    char team[GL_MAX_ID + 1];
} floor_resp;

typedef struct floor_team {
    floor_resp *member[FLOOR_MAX_MEMBERS];
    int n;
} floor_team;

typedef struct floor_worker {
    unsigned char ident[IDENT_MAX];
    size_t ident_len;
    int alert_only;
    long credit, outstanding;
    msgpack_sbuffer pending; /* the items of the PACK being gathered */
    size_t npending;
} floor_worker;

typedef struct floor_broker {
    void *ctx, *intake, *responders, *workers;
    directory *dir;
    int hop;
    hmap *teams, *resps;
    floor_worker worker[FLOOR_MAX_WORKERS];
    int nworkers;
    uint64_t seq, job;
    msgpack_sbuffer scratch, head;
    /* counters, logged at exit */
    uint64_t submits, filed, dispatches, copies, undeliverable, not_sent, packs_out, packs_in;
} floor_broker;

static void deliver(floor_broker *b, const char *team, const void *body, size_t len)
{
    b->dispatches++;
    floor_team *t = hmap_get(b->teams, team, strlen(team));
    if (!t || t->n == 0) {
        b->undeliverable++;
        return;
    }
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, len) != 0)
        return;
    memcpy(zmq_msg_data(&msg), body, len);
    uint64_t now = clock_mono_ms();
    for (int i = 0; i < t->n; i++) {
        floor_resp *r = t->member[i];
        if (floor_forward(b->responders, r->ident, r->ident_len, "DISPATCH", &msg) == 0) {
            b->copies++;
            r->last_sent_ms = now;
        } else
            b->not_sent++;
    }
    zmq_msg_close(&msg);
}

/* Mode direct: the worker's answer, made here. */
static void submit_direct(floor_broker *b, frame_msg *fm, const void *ident, size_t ident_len)
{
    size_t len;
    const void *body = frame_body(fm, &len);
    floor_submit s;
    if (floor_submit_read(body, len, &s) != 0) {
        frame_send_error(b->intake, ident, ident_len, GL_EBADBODY,
                         "the floor reads a SUBMIT with id, kind and category only", NULL,
                         body_rid(fm));
        return;
    }
    dir_route route;
    floor_route(b->dir, &s, &route);
    uint64_t seq = ++b->seq, now = clock_wall_ms();
    mp_writer w = {&b->scratch, 0};
    b->scratch.size = 0;
    floor_filed(&w, &s, seq);
    if (!w.failed && floor_forward_bytes(b->intake, ident, ident_len, "FILED", b->scratch.data,
                                         b->scratch.size) == 0)
        b->filed++;
    for (int i = 0; i < route.n; i++) {
        b->scratch.size = 0;
        floor_dispatch(&w, &s, &route, seq, route.to[i].team, route.to[i].role, now);
        if (!w.failed)
            deliver(b, route.to[i].team, b->scratch.data, b->scratch.size);
    }
}

/* The worker a job goes to: for an alert a worker of the alert lane with
 * credit left, else the first other worker (in READY order) with credit
 * left, else the one with the most credit left. NULL when none is there. */
static floor_worker *pick_worker(floor_broker *b, int alert)
{
    floor_worker *best = NULL;
    if (alert)
        for (int i = 0; i < b->nworkers; i++)
            if (b->worker[i].alert_only && b->worker[i].outstanding < b->worker[i].credit)
                return &b->worker[i];
    for (int i = 0; i < b->nworkers; i++) {
        floor_worker *w = &b->worker[i];
        if (w->alert_only)
            continue;
        if (w->outstanding < w->credit)
            return w;
        if (!best || w->credit - w->outstanding > best->credit - best->outstanding)
            best = w;
    }
    if (!best && b->nworkers) /* only alert-lane workers */
        best = &b->worker[0];
    return best;
}

static void flush_worker(floor_broker *b, floor_worker *w)
{
    if (!w->npending)
        return;
    if (floor_send_pack(b->workers, w->ident, w->ident_len, &w->pending, NULL) == 0)
        b->packs_out++;
    else
        LOG_W("a PACK of %zu jobs could not be sent to a worker", w->npending);
    w->pending.size = 0;
    w->npending = 0;
}

static void flush_jobs(floor_broker *b)
{
    for (int i = 0; i < b->nworkers; i++)
        flush_worker(b, &b->worker[i]);
}

/* Mode hop: the request as an item of the worker's next PACK. */
static void job_hop(floor_broker *b, frame_msg *fm, const void *ident, size_t ident_len)
{
    size_t len;
    const void *body = frame_body(fm, &len);
    static const char *const keys[] = {"rid", "id", "kind"};
    const unsigned char *v[3], *end = (const unsigned char *)body + len;
    uint64_t rid = 0;
    const char *kind = "", *id = NULL;
    size_t klen = 0, idlen = 0;
    if (body && mp_get(body, len, keys, v, 3) == 0) {
        mp_uint(v[0], end, &rid);
        mp_str(v[1], end, &id, &idlen);
        mp_str(v[2], end, &kind, &klen);
    }
    int alert = fm->cmd == PROTO_SUBMIT && floor_key_is(kind, klen, "alert");
    floor_worker *w = pick_worker(b, alert);
    if (!w) {
        frame_send_error(b->intake, ident, ident_len, GL_EUNAVAILABLE, "no worker connected",
                         NULL, rid);
        return;
    }
    msgpack_sbuffer *hb = &b->head;
    mp_writer hw = {hb, 0};
    hb->size = 0;
    mpw_head(&hw, 0x84, 0, 0);
    floor_key(&hw, "job");
    mpw_uint(&hw, ++b->job);
    floor_key(&hw, "client");
    mpw_bin(&hw, ident, ident_len);
    floor_key(&hw, "origin");
    floor_key(&hw, "intake");
    floor_key(&hw, "lane");
    floor_key(&hw, alert ? "alert" : "routine");
    mp_writer pw = {&w->pending, 0};
    if (hw.failed)
        return;
    floor_item_put(&pw, hb->data, hb->size, proto_cmd_name(fm->cmd), body, len);
    if (pw.failed)
        return;
    w->npending++;
    w->outstanding++;
    if (w->npending == PACK_MAX_ITEMS || w->pending.size > PACK_MAX_BYTES / 2)
        flush_worker(b, w);
}

static void on_intake(floor_broker *b, frame_msg *fm)
{
    size_t ident_len;
    const void *ident = frame_identity(fm, &ident_len);
    switch (fm->cmd) {
    case PROTO_SUBMIT:
        b->submits++;
        if (b->hop)
            job_hop(b, fm, ident, ident_len);
        else
            submit_direct(b, fm, ident, ident_len);
        return;
    case PROTO_SHOW:
        if (b->hop)
            job_hop(b, fm, ident, ident_len);
        else
            frame_send_error(b->intake, ident, ident_len, GL_ENOTFOUND, "no event with this id",
                             NULL, body_rid(fm));
        return;
    case PROTO_PING:
        send_pong(b->intake, ident, ident_len, fm);
        return;
    default:
        frame_send_error(b->intake, ident, ident_len, GL_EUNKNOWNCMD,
                         "command not taken by the floor broker", NULL, body_rid(fm));
    }
}

static void team_leave(floor_broker *b, floor_resp *r)
{
    floor_team *t = hmap_get(b->teams, r->team, strlen(r->team));
    for (int i = 0; t && i < t->n; i++)
        if (t->member[i] == r) {
            t->member[i] = t->member[--t->n];
            break;
        }
}

static void on_hello(floor_broker *b, frame_msg *fm, const void *ident, size_t ident_len)
{
    size_t len;
    const void *body = frame_body(fm, &len);
    static const char *const keys[] = {"team", "member", "rid"};
    const unsigned char *v[3], *end = (const unsigned char *)body + len;
    char team[GL_MAX_ID + 1], member[GL_MAX_ID + 1];
    uint64_t rid = 0;
    if (!body || mp_get(body, len, keys, v, 3) != 0 || floor_copy(v[0], end, team) != 0 ||
        floor_copy(v[1], end, member) != 0 || ident_len > IDENT_MAX) {
        frame_send_error(b->responders, ident, ident_len, GL_EBADBODY,
                         "HELLO wants team and member", NULL, body_rid(fm));
        return;
    }
    mp_uint(v[2], end, &rid);
    floor_resp *r = hmap_get(b->resps, ident, ident_len);
    if (r)
        team_leave(b, r);
    else {
        r = calloc(1, sizeof *r);
        if (!r || hmap_put(b->resps, ident, ident_len, r) != 0) {
            free(r);
            return;
        }
        memcpy(r->ident, ident, ident_len);
        r->ident_len = ident_len;
    }
    memcpy(r->team, team, sizeof team);
    floor_team *t = hmap_get(b->teams, team, strlen(team));
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || hmap_put(b->teams, team, strlen(team), t) != 0) {
            free(t);
            return;
        }
    }
    if (t->n < FLOOR_MAX_MEMBERS)
        t->member[t->n++] = r;
    r->last_sent_ms = clock_mono_ms();
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_WELCOME;
    m.rid = rid;
    m.team = team;
    m.member = member;
    m.heartbeat_ms = (uint32_t)cfg.heartbeat_ms;
    frame_send_msg(b->responders, ident, ident_len, &m, ZMQ_DONTWAIT);
}

static void on_responder(floor_broker *b, frame_msg *fm)
{
    size_t ident_len;
    const void *ident = frame_identity(fm, &ident_len);
    switch (fm->cmd) {
    case PROTO_HELLO:
        on_hello(b, fm, ident, ident_len);
        return;
    case PROTO_HEARTBEAT:
        if (!hmap_get(b->resps, ident, ident_len))
            frame_send_error(b->responders, ident, ident_len, GL_EBADSTATE,
                             "unknown responder: send HELLO", NULL, 0);
        return;
    case PROTO_BYE: {
        floor_resp *r = hmap_del(b->resps, ident, ident_len);
        if (r)
            team_leave(b, r);
        free(r);
        return;
    }
    case PROTO_PING:
        send_pong(b->responders, ident, ident_len, fm);
        return;
    default:
        frame_send_error(b->responders, ident, ident_len, GL_EUNKNOWNCMD,
                         "command not taken by the floor broker", NULL, body_rid(fm));
    }
}

static floor_worker *worker_find(floor_broker *b, const void *ident, size_t len)
{
    for (int i = 0; i < b->nworkers; i++)
        if (b->worker[i].ident_len == len && memcmp(b->worker[i].ident, ident, len) == 0)
            return &b->worker[i];
    return NULL;
}

static void on_ready(floor_broker *b, frame_msg *fm, const void *ident, size_t ident_len)
{
    size_t len;
    const void *body = frame_body(fm, &len);
    proto_msg m;
    gl_arena a = {0};
    if (proto_decode(fm->cmd, body, len, &m, &a, NULL, 0) != 0 || ident_len > IDENT_MAX) {
        arena_free(&a);
        return;
    }
    floor_worker *w = worker_find(b, ident, ident_len);
    if (!w && b->nworkers < FLOOR_MAX_WORKERS) {
        w = &b->worker[b->nworkers++];
        memset(w, 0, sizeof *w);
        msgpack_sbuffer_init(&w->pending);
        memcpy(w->ident, ident, ident_len);
        w->ident_len = ident_len;
    }
    if (w) {
        w->alert_only = m.lane && strcmp(m.lane, "alert") == 0;
        w->credit = m.credit ? m.credit : 1;
        w->outstanding = 0;
        LOG_I("worker %s ready (credit %u%s)", m.worker ? m.worker : "?", m.credit,
              w->alert_only ? ", alert lane" : "");
    }
    arena_free(&a);
}

/* A worker's PACK: its FILEDs (and ERRORs) to the terminals, its
 * DISPATCHes to the teams' present members. */
static void on_worker_pack(floor_broker *b, frame_msg *fm, floor_worker *w)
{
    zmq_msg_t *items = fm->nparts == 5 ? &fm->part[4] : NULL;
    const void *data = items ? zmq_msg_data(items) : NULL;
    size_t len = items ? zmq_msg_size(items) : 0;
    if (!data || pack_count(data, len) == 0)
        return;
    b->packs_in++;
    pack_item it;
    size_t pos = 0;
    while (pack_next(data, len, &pos, &it)) {
        const unsigned char *hend = it.header + it.header_len;
        if (it.cmd_len == 8 && memcmp(it.cmd, "DISPATCH", 8) == 0) {
            static const char *const keys[] = {"team"};
            const unsigned char *v[1];
            char team[GL_MAX_ID + 1];
            if (mp_get(it.header, it.header_len, keys, v, 1) == 0 &&
                floor_copy(v[0], hend, team) == 0)
                deliver(b, team, it.body, it.body_len);
            continue;
        }
        uint64_t job;
        const unsigned char *client;
        size_t client_len;
        int cmd = proto_cmd_parse(it.cmd, it.cmd_len);
        if (cmd == PROTO_NONE ||
            !pack_peek_job_client(it.header, hend, 3, 0, &job, &client, &client_len))
            continue;
        if (w && w->outstanding > 0)
            w->outstanding--;
        if (floor_forward_bytes(b->intake, client, client_len, proto_cmd_name(cmd), it.body,
                                it.body_len) == 0 &&
            cmd == PROTO_FILED)
            b->filed++;
    }
}

static void on_worker(floor_broker *b, frame_msg *fm)
{
    size_t ident_len;
    const void *ident = frame_identity(fm, &ident_len);
    switch (fm->cmd) {
    case PROTO_READY:
        on_ready(b, fm, ident, ident_len);
        return;
    case PROTO_PACK:
        on_worker_pack(b, fm, worker_find(b, ident, ident_len));
        return;
    default:
        return; /* HEARTBEAT, BYE: nothing to do here */
    }
}

static int drain(floor_broker *b, void *sock, void (*handle)(floor_broker *, frame_msg *),
                 int budget)
{
    int i;
    for (i = 0; i < budget; i++) {
        frame_msg fm;
        int rc = frame_recv(sock, 1, ZMQ_DONTWAIT, &fm);
        if (rc == GL_EUNAVAILABLE) {
            frame_close(&fm);
            return i;
        }
        if (rc == 0)
            handle(b, &fm);
        frame_close(&fm);
    }
    return i;
}

struct beat_ctx {
    floor_broker *b;
    uint64_t now;
};

static int beat_one(void *c, const void *key, size_t len, void *value)
{
    (void)key;
    (void)len;
    struct beat_ctx *ctx = c;
    floor_resp *r = value;
    static const unsigned char empty_map = 0x80;
    if (ctx->now - r->last_sent_ms >= (uint64_t)cfg.heartbeat_ms) {
        frame_send(ctx->b->responders, r->ident, r->ident_len, PROTO_HEARTBEAT, &empty_map, 1, 0,
                   NULL, 0, ZMQ_DONTWAIT);
        r->last_sent_ms = ctx->now;
    }
    return 0;
}

static int free_value(void *ctx, const void *key, size_t len, void *value)
{
    (void)ctx;
    (void)key;
    (void)len;
    free(value);
    return 0;
}

static void *bind_router(void *ctx, const char *ep, int sndhwm)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, zero = 0, hwm = 100000;
    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind(s, ep) != 0) {
        LOG_E("cannot bind %s: %s", ep, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int run_broker(void)
{
    floor_broker b;
    char err[512];
    int status = 1;
    memset(&b, 0, sizeof b);
    msgpack_sbuffer_init(&b.scratch);
    msgpack_sbuffer_init(&b.head);
    b.hop = strcmp(cfg.mode, "hop") == 0;
    b.ctx = zmq_ctx_new();
    b.teams = hmap_new();
    b.resps = hmap_new();
    if (!b.ctx || !b.teams || !b.resps)
        goto out;
    if (!b.hop && dir_load(cfg.directory, &b.dir, err, sizeof err) != 0) {
        LOG_E("%s", err);
        goto out;
    }
    b.intake = bind_router(b.ctx, cfg.intake_ep, 100000);
    b.responders = bind_router(b.ctx, cfg.responders_ep, 10000);
    if (b.hop)
        b.workers = bind_router(b.ctx, cfg.workers_ep, 100000);
    if (!b.intake || !b.responders || (b.hop && !b.workers))
        goto out;
    LOG_I("floor broker, mode %s: intake %s, responders %s%s%s", cfg.mode, cfg.intake_ep,
          cfg.responders_ep, b.hop ? ", workers " : "", b.hop ? cfg.workers_ep : "");
    uint64_t next_tick = clock_mono_ms() + (uint64_t)cfg.heartbeat_ms / 2;
    while (!stop_flag) {
        zmq_pollitem_t items[] = {
            {b.responders, 0, ZMQ_POLLIN, 0},
            {b.intake, 0, ZMQ_POLLIN, 0},
            {b.workers, 0, ZMQ_POLLIN, 0},
        };
        uint64_t now = clock_mono_ms();
        long timeout = next_tick > now ? (long)(next_tick - now) : 0;
        if (zmq_poll(items, b.hop ? 3 : 2, timeout) < 0 && errno != EINTR) {
            LOG_E("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        /* gridline-broker's slices: workers, responders, intake, and the
         * jobs handed out in a slice sent at its end. */
        int want_workers = items[2].revents & ZMQ_POLLIN,
            want_responders = items[0].revents & ZMQ_POLLIN,
            want_intake = items[1].revents & ZMQ_POLLIN;
        for (int round = 0; (want_workers | want_responders | want_intake) && round < 64; round++) {
            int backlog = 0;
            if (want_workers)
                backlog |= drain(&b, b.workers, on_worker, 32) == 32;
            if (want_responders)
                backlog |= drain(&b, b.responders, on_responder, 16) == 16;
            if (want_intake)
                backlog |= drain(&b, b.intake, on_intake, 16) == 16;
            flush_jobs(&b);
            want_workers = want_responders = want_intake = backlog;
        }
        now = clock_mono_ms();
        if (now >= next_tick) {
            struct beat_ctx ctx = {&b, now};
            hmap_each(b.resps, beat_one, &ctx);
            next_tick = now + (uint64_t)cfg.heartbeat_ms / 2;
        }
    }
    LOG_I("stopping: %llu SUBMITs, %llu FILED sent, %llu dispatches (%llu copies sent, %llu to "
          "teams not present, %llu not sent), %llu PACKs to workers, %llu from them",
          (unsigned long long)b.submits, (unsigned long long)b.filed,
          (unsigned long long)b.dispatches, (unsigned long long)b.copies,
          (unsigned long long)b.undeliverable, (unsigned long long)b.not_sent,
          (unsigned long long)b.packs_out, (unsigned long long)b.packs_in);
    status = 0;
out:
    for (int i = 0; i < b.nworkers; i++)
        msgpack_sbuffer_destroy(&b.worker[i].pending);
    if (b.resps)
        hmap_each(b.resps, free_value, NULL);
    if (b.teams)
        hmap_each(b.teams, free_value, NULL);
    hmap_free(&b.resps);
    hmap_free(&b.teams);
    dir_free(&b.dir);
    msgpack_sbuffer_destroy(&b.scratch);
    msgpack_sbuffer_destroy(&b.head);
    if (b.intake)
        zmq_close(b.intake);
    if (b.responders)
        zmq_close(b.responders);
    if (b.workers)
        zmq_close(b.workers);
    if (b.ctx)
        zmq_ctx_term(b.ctx);
    return status;
}

int main(int argc, char **argv)
{
    const opt_def defs[] = {
        {"mode", OPT_STR, "direct", "direct: the broker answers and dispatches itself; hop: through --worker processes", &cfg.mode, NULL},
        {"intake", OPT_STR, "tcp://127.0.0.1:7401", "the terminals' endpoint (broker)", &cfg.intake_ep, NULL},
        {"responders", OPT_STR, "tcp://127.0.0.1:7402", "the responders' endpoint (broker)", &cfg.responders_ep, NULL},
        {"workers", OPT_STR, "tcp://127.0.0.1:7403", "the workers' endpoint (broker, mode hop)", &cfg.workers_ep, NULL},
        {"directory", OPT_STR, "data/demo-county.json", "the county directory the teams are routed by", &cfg.directory, NULL},
        {"heartbeat-ms", OPT_INT, "1000", "heartbeat interval told to responders (WELCOME) and kept", &cfg.heartbeat_ms, NULL},
        {"worker", OPT_FLAG, NULL, "run as a floor worker connected to --broker (mode hop)", &cfg.worker, NULL},
        {"broker", OPT_STR, "tcp://127.0.0.1:7403", "the floor broker's workers endpoint (worker)", &cfg.broker_ep, NULL},
        {"name", OPT_STR, "floor-worker", "the worker's name in its READY (worker)", &cfg.name, NULL},
        {"lanes", OPT_STR, "all", "all, or alert: a worker kept for alerts, as gridline-worker --lanes alert (worker)", &cfg.lanes, NULL},
        {"credit", OPT_INT, "512", "jobs the worker announces it takes at once (worker)", &cfg.credit, NULL},
        {"batch", OPT_INT, "256", "jobs the worker answers in one PACK at most (worker)", &cfg.batch, NULL},
    };
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), argc, argv,
                        "floor_broker [--mode direct|hop] [--intake EP] [--responders EP] "
                        "[--workers EP] | floor_broker --worker [--broker EP] [options]",
                        "The floor of gridline's message topology (bench/README.md, Session 9):\n"
                        "gridline-broker's sockets and loop, and gridline-worker's PACKs in mode hop,\n"
                        "with no store and no decoding. A SUBMIT gets the FILED the worker would send\n"
                        "and its DISPATCHes go to the teams the directory routes it to. For\n"
                        "bench_throughput --floor MODE; nothing here is for production.");
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    if ((strcmp(cfg.mode, "direct") != 0 && strcmp(cfg.mode, "hop") != 0) ||
        (strcmp(cfg.lanes, "all") != 0 && strcmp(cfg.lanes, "alert") != 0) ||
        cfg.heartbeat_ms < 2 || cfg.credit < 1 || cfg.credit > 4096 || cfg.batch < 1) {
        fprintf(stderr, "floor_broker: --mode wants direct or hop, --lanes all or alert, "
                        "--heartbeat-ms 2 or more, --credit 1..4096, --batch 1 or more\n");
        return 2;
    }
    log_init(cfg.worker ? "floor-worker" : "floor-broker", LOG_INFO);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!cfg.worker)
        return run_broker();
    floor_worker_cfg wc = {cfg.broker_ep, cfg.directory, cfg.name, cfg.lanes,
                           cfg.heartbeat_ms, cfg.credit, cfg.batch};
    return floor_worker_run(&wc, &stop_flag);
}
