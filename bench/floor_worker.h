/* floor_worker.h — floor_broker's worker role (floor_broker --worker,
 * mode hop): gridline-worker's messages with no store.
 *
 * It connects a DEALER to the floor broker's workers endpoint and says
 * READY (credit, lanes, pack: true), then in one loop takes what has
 * arrived, up to `batch` jobs of the broker's PACKs, and answers them in
 * one PACK: a FILED (a DONE item, the job's header less its lane) for each
 * SUBMIT, then its DISPATCHes (DELIVER items, `{team}`) to the teams the
 * directory routes it to, as gridline-worker's PACK after a commit
 * (bench_floor.h writes the bodies). Anything but a SUBMIT gets ERROR
 * not_found, a SUBMIT it cannot read ERROR bad_body. No store, no fsync.
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_FLOOR_WORKER_H
#define GL_FLOOR_WORKER_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/clock.h"
#include "../common/directory.h"
#include "../common/log.h"
#include "../proto/frame.h"
#include "../proto/pack.h"
#include "../proto/proto.h"
#include "bench_floor.h"

typedef struct floor_worker_cfg {
    const char *broker_ep, *directory, *name, *lanes; /* lanes: "all" or "alert" */
    long heartbeat_ms, credit, batch;
} floor_worker_cfg;

typedef struct floor_wk {
    const floor_worker_cfg *cfg;
    void *sock;
    directory *dir;
    uint64_t seq;
    msgpack_sbuffer done, deliver, body, head, team_head;
    size_t ndone, ndeliver;
    uint64_t jobs, packs;
} floor_wk;

static inline int floor_wk_ready(floor_wk *k)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_READY;
    m.worker = k->cfg->name;
    m.credit = (uint32_t)k->cfg->credit;
    m.pid = (uint32_t)getpid();
    m.lane = strcmp(k->cfg->lanes, "alert") == 0 ? "alert" : NULL;
    m.pack = 1;
    return frame_send_msg(k->sock, NULL, 0, &m, 0);
}

static inline void floor_wk_flush(floor_wk *k)
{
    if (!k->ndone && !k->ndeliver)
        return;
    if (floor_send_pack(k->sock, NULL, 0, &k->done, &k->deliver) == 0)
        k->packs++;
    else
        LOG_W("a PACK of %zu items could not be sent", k->ndone + k->ndeliver);
    k->done.size = k->deliver.size = 0;
    k->ndone = k->ndeliver = 0;
}

/* floor_wk_job works one item of a broker's PACK: a SUBMIT gets its FILED (a
 * DONE item) and its DISPATCHes (DELIVER items); anything else ERROR
 * not_found. */
static inline void floor_wk_job(floor_wk *k, const pack_item *it)
{
    const unsigned char *hend = it->header + it->header_len, *client, *after;
    uint64_t job;
    size_t client_len;
    /* {job, client, origin, lane}: the DONE's header is its first three */
    if ((after = pack_peek_job_client(it->header, hend, 4, 0, &job, &client, &client_len)) == NULL)
        return;
    const unsigned char *origin_end = mp_skip(mp_skip(after, hend, 1), hend, 1);
    if (!origin_end)
        return;
    /* Room for the most one job adds: its items stay under PACK's limits. */
    if (k->ndone + k->ndeliver + 1 + DIR_MAX_ROUTE > PACK_MAX_ITEMS ||
        k->done.size + k->deliver.size + (1 + DIR_MAX_ROUTE) * (GL_MAX_BODY + 512) > PACK_MAX_BYTES)
        floor_wk_flush(k);
    msgpack_sbuffer *hb = &k->head;
    mp_writer hw = {hb, 0};
    hb->size = 0;
    size_t head_len = (size_t)(after - it->header);
    mpw_head(&hw, 0x83, 0, 0);
    mpw_bytes(&hw, it->header + 1, head_len - 1); /* job and client, as they came */
    mpw_bytes(&hw, after, (size_t)(origin_end - after));
    if (hw.failed)
        return;
    mp_writer dw = {&k->done, 0}, bw = {&k->body, 0};
    k->body.size = 0;
    floor_submit s;
    k->jobs++;
    int submit = it->cmd_len == 6 && memcmp(it->cmd, "SUBMIT", 6) == 0;
    if (!submit || floor_submit_read(it->body, it->body_len, &s) != 0) {
        proto_msg m;
        memset(&m, 0, sizeof m);
        static const char *const keys[] = {"rid"};
        const unsigned char *v[1];
        m.cmd = PROTO_ERROR;
        if (mp_get(it->body, it->body_len, keys, v, 1) == 0)
            mp_uint(v[0], it->body + it->body_len, &m.rid);
        m.code = (uint32_t)-(submit ? GL_EBADBODY : GL_ENOTFOUND);
        m.reason = submit ? "the floor reads a SUBMIT with id, kind and category only"
                          : "no event with this id";
        if (proto_encode(&m, &k->body) != 0)
            return;
        floor_item_put(&dw, hb->data, hb->size, "ERROR", k->body.data, k->body.size);
        k->ndone++;
        return;
    }
    dir_route route;
    floor_route(k->dir, &s, &route);
    uint64_t seq = ++k->seq, now = clock_wall_ms();
    floor_filed(&bw, &s, seq);
    floor_item_put(&dw, hb->data, hb->size, "FILED", k->body.data, k->body.size);
    k->ndone++;
    mp_writer lw = {&k->deliver, 0};
    for (int i = 0; i < route.n; i++) {
        k->body.size = 0;
        floor_dispatch(&bw, &s, &route, seq, route.to[i].team, route.to[i].role, now);
        msgpack_sbuffer *tb = &k->team_head;
        mp_writer tw = {tb, 0};
        tb->size = 0;
        mpw_head(&tw, 0x81, 0, 0);
        floor_key(&tw, "team");
        floor_key(&tw, route.to[i].team);
        if (tw.failed || bw.failed)
            continue;
        floor_item_put(&lw, tb->data, tb->size, "DISPATCH", k->body.data, k->body.size);
        k->ndeliver++;
    }
}

/* floor_worker_run connects to the floor broker, says READY and answers
 * its PACKs until *stop is set; 0, or 1 when it cannot start. */
static inline int floor_worker_run(const floor_worker_cfg *c, volatile sig_atomic_t *stop)
{
    floor_wk k;
    char err[512];
    int status = 1;
    memset(&k, 0, sizeof k);
    k.cfg = c;
    msgpack_sbuffer_init(&k.done);
    msgpack_sbuffer_init(&k.deliver);
    msgpack_sbuffer_init(&k.body);
    msgpack_sbuffer_init(&k.head);
    msgpack_sbuffer_init(&k.team_head);
    void *ctx = zmq_ctx_new();
    if (!ctx)
        goto out;
    if (dir_load(c->directory, &k.dir, err, sizeof err) != 0) {
        LOG_E("%s", err);
        goto out;
    }
    k.sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, hwm = 100000;
    zmq_setsockopt(k.sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(k.sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(k.sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(k.sock, c->broker_ep) != 0 || floor_wk_ready(&k) != 0) {
        LOG_E("cannot reach the floor broker on %s", c->broker_ep);
        goto out;
    }
    LOG_I("floor worker %s on %s", c->name, c->broker_ep);
    while (!*stop) {
        zmq_pollitem_t item = {k.sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, c->heartbeat_ms);
        if (n < 0 && errno != EINTR) {
            LOG_E("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        if (n == 0) { /* a sign of life, as the worker's main connection sends */
            static const unsigned char empty_map = 0x80;
            frame_send(k.sock, NULL, 0, PROTO_HEARTBEAT, &empty_map, 1, 0, NULL, 0,
                       ZMQ_DONTWAIT);
            continue;
        }
        /* A batch: what has arrived, up to --batch jobs, then one PACK. */
        for (uint64_t taken = 0; taken < (uint64_t)c->batch;) {
            frame_msg fm;
            int rc = frame_recv(k.sock, 0, ZMQ_DONTWAIT, &fm);
            if (rc == GL_EUNAVAILABLE) {
                frame_close(&fm);
                break;
            }
            if (rc == 0 && fm.cmd == PROTO_PACK && fm.nparts == 4) {
                const void *data = zmq_msg_data(&fm.part[3]);
                size_t len = zmq_msg_size(&fm.part[3]), pos = 0;
                pack_item it;
                if (pack_count(data, len))
                    while (pack_next(data, len, &pos, &it)) {
                        floor_wk_job(&k, &it);
                        taken++;
                    }
            }
            frame_close(&fm);
        }
        floor_wk_flush(&k);
    }
    LOG_I("stopping: %llu jobs, %llu PACKs sent", (unsigned long long)k.jobs,
          (unsigned long long)k.packs);
    static const unsigned char empty_map = 0x80;
    frame_send(k.sock, NULL, 0, PROTO_BYE, &empty_map, 1, 0, NULL, 0, ZMQ_DONTWAIT);
    status = 0;
out:
    if (k.sock)
        zmq_close(k.sock);
    if (ctx)
        zmq_ctx_term(ctx);
    dir_free(&k.dir);
    msgpack_sbuffer_destroy(&k.done);
    msgpack_sbuffer_destroy(&k.deliver);
    msgpack_sbuffer_destroy(&k.body);
    msgpack_sbuffer_destroy(&k.head);
    msgpack_sbuffer_destroy(&k.team_head);
    return status;
}

#endif
