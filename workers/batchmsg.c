/* batchmsg.c — a commit's replies and dispatches to the broker as one
 * BATCH message instead of a DONE or DELIVER of five frames each: one
 * message for the broker to receive and one wake-up, three frames per item
 * instead of five (proto/PROTOCOL.md §6).
 *
 *   "GL/1" "BATCH" {} (HEADER COMMAND BODY)...
 *
 * An item is the last three frames of the DONE or DELIVER it stands for;
 * its command tells which (DISPATCH and NOTICE: a DELIVER). The DONEs go
 * first, then the DELIVERs, each in outbox order: a commit's replies reach
 * the terminals without waiting behind its fan-out to the teams (on the
 * broker's connections and in its I/O thread), so terminals send their next
 * events sooner. (A responder whose act also makes NOTICEs in the same
 * commit gets its RESULT first; PROTOCOL.md §6 says so.) */
#include "worker.h"

#include <errno.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

/* A BATCH is split above these: the broker takes a message whole, so a
 * bound keeps one from holding it (and its memory) for long. */
#define BATCH_MSG_MAX_ITEMS 1024
#define BATCH_MSG_MAX_BYTES (1u << 20)

/* The item's header, as proto_encode writes a DONE's or DELIVER's (the
 * values passed its checks when the JOB was decoded or the inner body
 * encoded), packed directly into w->sbuf. */
static int pack_header(gl_worker *w, const out_msg *o)
{
    msgpack_packer pk;
    w->sbuf.size = 0;
    msgpack_packer_init(&pk, &w->sbuf, msgpack_sbuffer_write);
    if (o->kind == PROTO_DELIVER)
        return o->team && !msgpack_pack_map(&pk, 1) &&
                       !msgpack_pack_str_with_body(&pk, "team", 4) &&
                       !msgpack_pack_str_with_body(&pk, o->team, strlen(o->team))
                   ? 0
                   : -1;
    return o->origin && !msgpack_pack_map(&pk, 3) && !msgpack_pack_str_with_body(&pk, "job", 3) &&
                   !msgpack_pack_uint64(&pk, o->job) &&
                   !msgpack_pack_str_with_body(&pk, "client", 6) &&
                   !msgpack_pack_bin_with_body(&pk, o->client, o->client_len) &&
                   !msgpack_pack_str_with_body(&pk, "origin", 6) &&
                   !msgpack_pack_str_with_body(&pk, o->origin, strlen(o->origin))
               ? 0
               : -1;
}

/* The next message from index i on still to send: with dones_only, the
 * next DONE. */
static size_t next_queued(const outbox *out, size_t i, int dones_only)
{
    while (i < out->count &&
           (!out->msgs[i].queued || (dones_only && out->msgs[i].kind != PROTO_DONE)))
        i++;
    return i;
}

/* Sends the queued messages from index i on as one BATCH, up to the
 * bounds; returns the index after the last one it took. */
static size_t send_one(gl_worker *w, size_t i, int dones_only)
{
    static const unsigned char empty_map = 0x80;
    outbox *out = &w->out;
    /* Blocking sends: a reply must not be dropped once its work is durable
     * (the broker's pipe to us has a high HWM). Only the first frame can
     * fail: ZeroMQ queues the rest of a multi-part message with it. */
    if (zmq_send(w->sock, PROTO_SIGNATURE, PROTO_SIGNATURE_LEN, ZMQ_SNDMORE) < 0) {
        log_limited(LOG_ERROR, "batch-send", "cannot send a BATCH to the broker: %s",
                    zmq_strerror(errno));
        size_t n = 0;
        for (; i < out->count && n < BATCH_MSG_MAX_ITEMS; i = next_queued(out, i + 1, dones_only), n++)
            out->msgs[i].queued = 0;
        return i;
    }
    zmq_send(w->sock, "BATCH", 5, ZMQ_SNDMORE);
    zmq_send(w->sock, &empty_map, 1, ZMQ_SNDMORE);
    size_t items = 0, bytes = 0;
    for (;;) {
        out_msg *o = &out->msgs[i];
        size_t next = next_queued(out, i + 1, dones_only);
        items++;
        bytes += o->body_len;
        int last = next == out->count || items == BATCH_MSG_MAX_ITEMS ||
                   bytes + out->msgs[next].body_len > BATCH_MSG_MAX_BYTES;
        const char *name = proto_cmd_name(o->cmd);
        if (pack_header(w, o) != 0 || !name) {
            /* Cannot happen (the body was encoded, the JOB decoded): an
             * empty header the broker counts as bad keeps the frames whole. */
            LOG_E("cannot encode the header of a %s", proto_cmd_name(o->kind));
            w->sbuf.size = 0;
            name = name ? name : "ERROR";
        }
        zmq_send(w->sock, w->sbuf.data, w->sbuf.size, ZMQ_SNDMORE);
        zmq_send(w->sock, name, strlen(name), ZMQ_SNDMORE);
        zmq_send(w->sock, o->body, o->body_len, last ? 0 : ZMQ_SNDMORE);
        o->queued = 0;
        i = next;
        if (last)
            return i;
    }
}

void worker_send_batch(gl_worker *w)
{
    size_t sent = 0;
    for (int dones_only = 1; dones_only >= 0; dones_only--)
        for (size_t i = next_queued(&w->out, 0, dones_only); i < w->out.count; sent++)
            i = send_one(w, i, dones_only);
    if (sent)
        w->last_sent_ms = clock_mono_ms();
}
