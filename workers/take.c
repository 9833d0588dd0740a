/* take.c — receiving JOBs, and a batch that takes what arrived while it
 * waited for the store's writer (issue 7: group commit "takes whatever is
 * waiting").
 *
 * The store has one writer. A worker that has read its batch then waits in
 * store_begin for the lock (another worker's batch and its flushes), and
 * what reaches its socket meanwhile used to wait for the next round: each
 * alert that came during the wait got a commit, and two device flushes, of
 * its own. Now, once the write transaction is held and before anything is
 * worked in it, the batch reads without blocking what is waiting (at most
 * up to --batch jobs in all) and works it in the same transaction.
 *
 * What an alert batch takes: alert-lane JOBs only (never routine work);
 * the broker's HEARTBEATs between them it handles as the loop does (a sign
 * of life, nothing more). The first message it will not take — a routine
 * JOB, PRESENCE, ERROR or a malformed message — is kept as it came (the one "carried"
 * message) and taking stops there, so nothing after it is read: the main
 * loop receives it first (worker_recv) and handles it exactly as if it had
 * just arrived, in order. A PRESENCE read after an alert's JOB thus still
 * comes after that alert's commit (PROTOCOL.md §6). The alerts it takes get
 * their early DISPATCHes at once, before they are worked (batch.c).
 *
 * Only alert-lane batches take late (bench/README.md, session 6). The
 * alert worker's commits were one or two alerts each, so an alert that
 * came during the wait cost a commit, and its flushes, of its own: now one
 * alert in seven joins the commit of the one before (alerts per commit
 * 1.7-1.9 -> 2.0-2.2). A routine batch took one job in eight late, but its
 * jobs per commit and the routine replies' latency did not move measurably
 * (the terminals keep a fixed number in flight, so what a batch takes late
 * the next one lacks), while each late job lengthens the batch's hold of
 * the writer the alert worker waits for: routine batches are as before. */
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/keys.h"
#include "../common/log.h"

/* The broker sends a worker one HEARTBEAT a second: a few between the
 * JOBs that came during one wait for the writer at most. */
#define TAKE_MAX_HEARTBEATS 8

int worker_decode(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena,
                  char *reason, size_t reason_len)
{
    if (proto_decode_flat(cmd, body, len, m, arena) == 0)
        return 0;
    return proto_decode(cmd, body, len, m, arena, reason, reason_len);
}

void worker_take_job(gl_worker *w, frame_msg *fm, const proto_msg *hdr, wjob *j)
{
    size_t len;
    const void *body = frame_inner_body(fm, &len);
    worker_take_job_parts(w, hdr, fm->inner_cmd, body, len, j);
}

void worker_take_job_parts(gl_worker *w, const proto_msg *hdr, int cmd, const void *body,
                           size_t len, wjob *j)
{
    memset(j, 0, sizeof *j);
    j->id = hdr->job;
    void *client = arena_alloc(&w->batch_arena, hdr->client_len ? hdr->client_len : 1);
    if (client)
        memcpy(client, hdr->client, hdr->client_len);
    j->client = client;
    j->client_len = client ? hdr->client_len : 0;
    j->origin = arena_strdup(&w->batch_arena, hdr->origin);
    j->lane_alert = hdr->lane && strcmp(hdr->lane, "alert") == 0;
    j->principal_role = hdr->role ? keys_role_parse(hdr->role) : 0;
    j->principal_scope = hdr->scope;
    j->cmd = cmd;
    j->decode_err = worker_decode_job(j->cmd, body, len, &j->msg, &w->batch_arena, j->reason,
                                      sizeof j->reason);
}

/* The message a batch read and did not take. One worker, one socket: a
 * file static, so that one kept when the worker stops is not a leak. */
static struct {
    int full, rc; /* rc: frame_recv's */
    frame_msg fm;
} carry;

int worker_carried(const gl_worker *w)
{
    (void)w;
    return carry.full || worker_pack_held(); /* or a PACK's items left (jobpack.c) */
}

int worker_recv(gl_worker *w, frame_msg *fm)
{
    if (!carry.full)
        return frame_recv(w->sock, 0, ZMQ_DONTWAIT, fm);
    /* Hand the kept message over whole: its scalars, then each part moved
     * (libzmq's messages are not to be copied as bytes). */
    frame_msg *c = &carry.fm;
    *fm = *c;
    for (int i = 0; i < c->nparts; i++) {
        zmq_msg_init(&fm->part[i]);
        zmq_msg_move(&fm->part[i], &c->part[i]);
        zmq_msg_close(&c->part[i]);
    }
    c->nparts = 0;
    c->sock = NULL;
    carry.full = 0;
    return carry.rc;
}

void worker_carried_drop(gl_worker *w)
{
    size_t items = worker_pack_drop();
    if (carry.full || items)
        LOG_W("dropped %zu job(s) the broker sent before the reconnection: it hands them out "
              "again, or, restarted, no longer knows them (their clients retry)",
              items + (size_t)carry.full);
    (void)w;
    if (carry.full)
        frame_close(&carry.fm);
    carry.full = 0;
}

size_t worker_take_late(gl_worker *w, int lane_alert, size_t room)
{
    size_t taken = 0;
    if (carry.full || !lane_alert)
        return 0;
    if (room > (size_t)w->cfg.batch)
        room = (size_t)w->cfg.batch;
    /* Made once, kept for the life of the process (a file static, so
     * that nobody has to free it at exit). */
    static wjob *late_jobs;
    if (!late_jobs && !(late_jobs = calloc((size_t)w->cfg.batch, sizeof *late_jobs)))
        return 0;
    w->late.jobs = late_jobs;
    /* The alert-lane items left in a PACK come first (jobpack.c); a
     * routine one stops the taking there, in the PACK. */
    while (w->late.n < room && worker_pack_take(w, &w->late.jobs[w->late.n], 1)) {
        w->late.n++;
        taken++;
    }
    if (worker_pack_held())
        return taken;
    /* Bounded: at most room jobs and TAKE_MAX_HEARTBEATS heartbeats; it
     * stops at the first message it does not take, or when nothing is
     * waiting. */
    size_t heartbeats = 0;
    while (w->late.n < room && heartbeats < TAKE_MAX_HEARTBEATS) {
        frame_msg *fm = &carry.fm;
        int rc = frame_recv(w->sock, 0, ZMQ_DONTWAIT, fm);
        if (rc == GL_EUNAVAILABLE) {
            frame_close(fm);
            break;
        }
        w->last_heard_ms = clock_mono_ms();
        proto_msg m;
        char reason[160];
        size_t blen;
        const void *body = rc == 0 ? frame_body(fm, &blen) : NULL;
        int ok = rc == 0 &&
                 (fm->cmd == PROTO_JOB || fm->cmd == PROTO_HEARTBEAT || fm->cmd == PROTO_PACK) &&
                 worker_decode(fm->cmd, body, blen, &m, &w->batch_arena, reason,
                               sizeof reason) == 0;
        if (ok && fm->cmd == PROTO_PACK) {
            /* JOBs packed (jobpack.c): its alert-lane items, up to the
             * first routine one, which stays in it for the main loop. A
             * malformed one is dropped (logged, counted) and counts here
             * as a heartbeat does, to bound the taking. */
            if (worker_pack_start(w, fm) != 0)
                heartbeats++;
            frame_close(fm);
            while (w->late.n < room && worker_pack_take(w, &w->late.jobs[w->late.n], 1)) {
                w->late.n++;
                taken++;
            }
            if (worker_pack_held())
                break;
            continue;
        }
        if (ok && fm->cmd == PROTO_HEARTBEAT) {
            frame_close(fm); /* as the loop does: a sign of life, no more */
            heartbeats++;
            continue;
        }
        if (ok && m.lane && strcmp(m.lane, "alert") == 0) {
            worker_take_job(w, fm, &m, &w->late.jobs[w->late.n++]);
            frame_close(fm);
            taken++;
            continue;
        }
        /* Not for this batch: the main loop gets it next, as it came. */
        carry.rc = rc;
        carry.full = 1;
        break;
    }
    return taken;
}
