/* jobpack.c — JOBs that come packed (session 8): the broker sends a worker
 * that said "pack" in READY the jobs of one slice as one PACK,
 *
 *   "GL/1" "PACK" {} ITEMS
 *
 * each item a JOB's last three frames (header, inner command, inner body)
 * laid out as proto/pack.h says (PROTOCOL.md §6). The worker takes the
 * items one by one, each exactly as the JOB it stands for, in order.
 *
 * The PACK is held while its items are taken: a batch full before the
 * PACK is done (the broker's credit is larger than --batch) leaves the
 * rest for the next batch, and an alert batch taking late (take.c) takes
 * its alert-lane items up to the first routine one, which waits in it.
 * The loop takes what a held PACK has left before it reads anything else
 * from the socket: the order the broker sent is kept, items and messages.
 *
 * Zero-copy: the items are read in place, in the received frame, which
 * stays whole while it is held; each job's body is decoded from it as a
 * JOB's is (strings into the batch arena), and its header, when laid out
 * as the broker writes it, is read straight from the bytes.
 *
 * A PACK from the broker that is not a whole sequence of 1 to
 * PACK_MAX_ITEMS items is dropped whole, logged and counted; an item whose
 * header or command is bad is skipped, logged and counted (it names no
 * job that could be answered); an item whose body does not decode is
 * answered with the error, as a JOB's would be. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../proto/pack.h"

/* One worker, one socket: the PACK being taken is a file static, as the
 * carried message of take.c. */
static struct {
    int held;
    frame_msg fm;
    const unsigned char *data;
    size_t len, pos, n;
} pk;

/* The items frame of a received PACK (its fourth frame). */
static const void *items_of(frame_msg *fm, size_t *len)
{
    int i = 3 + (fm->has_identity ? 1 : 0);
    if (i >= fm->nparts)
        return NULL;
    *len = zmq_msg_size(&fm->part[i]);
    return zmq_msg_data(&fm->part[i]);
}

int worker_pack_held(void)
{
    return pk.held;
}

static void pack_release(void)
{
    frame_close(&pk.fm);
    pk.held = 0;
    pk.data = NULL;
    pk.len = pk.pos = pk.n = 0;
}

size_t worker_pack_drop(void)
{
    size_t left = pk.held && pk.pos < pk.len ? pack_count(pk.data + pk.pos, pk.len - pk.pos) : 0;
    if (pk.held)
        pack_release();
    return left;
}

static void bad_from_broker(gl_worker *w, const char *what, size_t n, const char *reason)
{
    w->counters.bad_from_broker++;
    log_limited(LOG_WARN, "broker-pack", "bad %s of a PACK from the broker (item %zu): %s", what,
                n, reason);
}

/* The value of a fixstr at p (before end) that is one of names: that
 * name (a constant), or NULL. Moves *p past it. */
static const char *fixstr_of(const unsigned char **p, const unsigned char *end,
                             const char *const names[2])
{
    if (*p >= end || (**p & 0xe0) != 0xa0)
        return NULL;
    size_t len = **p & 0x1fu;
    if ((size_t)(end - *p - 1) < len)
        return NULL;
    for (int i = 0; i < 2; i++)
        if (strlen(names[i]) == len && memcmp(*p + 1, names[i], len) == 0) {
            *p += 1 + len;
            return names[i];
        }
    return NULL;
}

/* header_as_sent reads a JOB header laid out exactly as the broker writes
 * one without a principal (broker/lanes.c job_header_plain: job, client,
 * origin, lane, in that order, each in its smallest form), straight from
 * the bytes, with the decoder's checks of each value; -1 for anything else,
 * which then goes the general way (and gets its reason there). The client
 * points into the frame; origin and lane are constants. */
static int header_as_sent(const unsigned char *p, size_t n, proto_msg *m)
{
    static const char *const origins[2] = {"intake", "responders"},
                             *const lanes[2] = {"alert", "routine"};
    const unsigned char *end = p + n, *client;
    uint64_t id;
    size_t client_len;
    p = pack_peek_job_client(p, end, 4, 7, &id, &client, &client_len);
    if (!p || memcmp(p, "\xa6origin", 7) != 0)
        return -1;
    p += 7;
    const char *origin = fixstr_of(&p, end, origins);
    if (!origin || (size_t)(end - p) < 5 || memcmp(p, "\xa4lane", 5) != 0)
        return -1;
    p += 5;
    const char *lane = fixstr_of(&p, end, lanes);
    if (!lane || p != end)
        return -1;
    memset(m, 0, sizeof *m);
    m->cmd = PROTO_JOB;
    m->job = id;
    m->client = client;
    m->client_len = client_len;
    m->origin = origin;
    m->lane = lane;
    return 0;
}

int worker_pack_start(gl_worker *w, frame_msg *fm)
{
    if (pk.held) /* never: the loop takes a held PACK's items first */
        pack_release();
    size_t len = 0;
    const void *data = items_of(fm, &len);
    if (!data || pack_count(data, len) == 0) {
        w->counters.bad_from_broker++;
        log_limited(LOG_WARN, "broker-pack",
                    "bad PACK from the broker: its %zu-byte items frame is not 1 to %d whole "
                    "items; dropped",
                    len, PACK_MAX_ITEMS);
        return GL_EBADFRAME;
    }
    /* Held whole, its parts moved (libzmq's messages are not copied as
     * bytes): the items point into the last one. */
    pk.fm = *fm;
    for (int i = 0; i < fm->nparts; i++) {
        zmq_msg_init(&pk.fm.part[i]);
        zmq_msg_move(&pk.fm.part[i], &fm->part[i]);
    }
    fm->sock = NULL;
    pk.data = items_of(&pk.fm, &pk.len);
    pk.pos = pk.n = 0;
    pk.held = 1;
    return 0;
}

int worker_pack_take(gl_worker *w, wjob *j, int alert_only)
{
    while (pk.held) {
        pack_item it;
        size_t pos = pk.pos;
        if (!pack_next(pk.data, pk.len, &pos, &it)) {
            pack_release(); /* all taken */
            return 0;
        }
        size_t n = pk.n;
        int cmd = proto_cmd_parse(it.cmd, it.cmd_len);
        proto_msg hdr;
        char reason[160];
        int rc = cmd == PROTO_NONE                  ? GL_EUNKNOWNCMD
                 : it.header_len > GL_MAX_BODY || it.body_len > GL_MAX_BODY ? GL_ETOOLARGE
                                                                             : 0;
        if (rc != 0)
            snprintf(reason, sizeof reason, "%s", gl_strerror(rc));
        else if (header_as_sent(it.header, it.header_len, &hdr) != 0)
            rc = worker_decode(PROTO_JOB, it.header, it.header_len, &hdr, &w->batch_arena, reason,
                               sizeof reason);
        if (rc != 0) {
            pk.pos = pos;
            pk.n++;
            bad_from_broker(w, "JOB", n, reason);
            continue;
        }
        int alert = hdr.lane && strcmp(hdr.lane, "alert") == 0;
        if (alert_only && !alert)
            return 0; /* it waits here, for the loop */
        pk.pos = pos;
        pk.n++;
        worker_take_job_parts(w, &hdr, cmd, it.body, it.body_len, j);
        if (pk.pos == pk.len) /* the last: j holds nothing of the frame (all in the arena) */
            pack_release();
        return 1;
    }
    return 0;
}
