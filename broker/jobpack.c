/* jobpack.c — JOBs to a worker that takes them packed (session 8): the
 * mirror of a worker's PACK (pack.c). The jobs the broker hands one
 * worker in one slice go as one message,
 *
 *   IDENTITY "GL/1" "PACK" {} ITEMS
 *
 * ITEMS the jobs back to back, each as proto/pack.h lays out an item: the
 * JOB's header, its inner command, its inner body (the client's request
 * as it came), instead of six frames per job. The worker receives four
 * frames per slice instead of five per job (PROTOCOL.md §6).
 *
 * The frame is one zmq_msg_t the size of its items, written in place: the
 * headers first into a scratch buffer (which gives their lengths), then
 * header, command and body of each item straight into the message. A job
 * keeps its body (a reference to the client's frame) as before, for a
 * requeue. */
#include "broker.h"

#include <stdlib.h>
#include <string.h>

#include "../proto/pack.h"

/* The headers of the PACK being built, back to back, and the length of
 * each. One broker per process, one PACK at a time: a file static, grown
 * once to what the largest PACK needed and kept. */
static struct {
    unsigned char *buf;
    size_t cap;
    uint32_t len[PACK_MAX_ITEMS];
} scratch;

static int scratch_room(size_t need)
{
    if (need <= scratch.cap)
        return 0;
    size_t cap = scratch.cap ? scratch.cap : 16384;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(scratch.buf, cap);
    if (!p)
        return -1;
    scratch.buf = p;
    scratch.cap = cap;
    return 0;
}

static int part(void *sock, const void *data, size_t len, int flags)
{
    return zmq_send(sock, data, len, ZMQ_DONTWAIT | flags) < 0 ? -1 : 0;
}

static int part_const(void *sock, const void *data, size_t len)
{
    return zmq_send_const(sock, data, len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0 ? -1 : 0;
}

int broker_send_jobs(broker *b, worker *w, job *first, size_t *n)
{
    size_t count = 0, used = 0, total = 0;
    *n = 0;
    for (job *j = first; j && count < PACK_MAX_ITEMS; j = j->next) {
        unsigned char plain[JOB_HEADER_MAX];
        size_t hlen;
        const void *head = broker_job_header(b, j, plain, &hlen);
        const char *name = proto_cmd_name(j->cmd);
        if (!head || !name || hlen > GL_MAX_BODY)
            break; /* the caller's JOB will say why, if it is the first */
        size_t item = PACK_ITEM_OVERHEAD + hlen + strlen(name) + j->body_len;
        if (total + item > PACK_MAX_BYTES || scratch_room(used + hlen) != 0)
            break;
        memcpy(scratch.buf + used, head, hlen);
        scratch.len[count++] = (uint32_t)hlen;
        used += hlen;
        total += item;
    }
    if (count < 2) {
        *n = 1;
        return 1;
    }
    zmq_msg_t items;
    if (zmq_msg_init_size(&items, total) != 0)
        return GL_EINTERNAL;
    unsigned char *p = zmq_msg_data(&items);
    const unsigned char *h = scratch.buf;
    job *j = first;
    for (size_t i = 0; i < count; i++, j = j->next) {
        const char *name = proto_cmd_name(j->cmd);
        size_t clen = strlen(name);
        pack_put_len(p, scratch.len[i]);
        memcpy(p + 4, h, scratch.len[i]);
        p += 4 + scratch.len[i];
        h += scratch.len[i];
        *p++ = (unsigned char)clen;
        memcpy(p, name, clen);
        p += clen;
        pack_put_len(p, (uint32_t)j->body_len);
        memcpy(p + 4, zmq_msg_data(&j->body), j->body_len);
        p += 4 + j->body_len;
    }
    static const unsigned char empty_map = 0x80;
    /* ZeroMQ queues a multi-part message whole or not at all: only the
     * first part can fail for a peer gone or a full pipe. */
    if (part(b->workers_sock, w->ident, w->ident_len, ZMQ_SNDMORE) != 0 ||
        part_const(b->workers_sock, PROTO_SIGNATURE, PROTO_SIGNATURE_LEN) != 0 ||
        part_const(b->workers_sock, "PACK", 4) != 0 ||
        part_const(b->workers_sock, &empty_map, 1) != 0 ||
        zmq_msg_send(&items, b->workers_sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&items);
        return GL_EUNAVAILABLE;
    }
    *n = count;
    b->counters.job_packs++;
    b->counters.jobs_packed += count;
    return 0;
}
