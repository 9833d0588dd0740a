/* batchmsg.c — a commit's replies and dispatches to the broker as one PACK
 * message instead of a DONE or DELIVER of five frames each (or a BATCH of
 * three frames per item): one message for the broker to receive and one
 * wake-up, four frames in all (proto/PROTOCOL.md §6, proto/pack.h).
 *
 *   "GL/1" "PACK" {} ITEMS
 *
 * An item is the last three frames of the DONE or DELIVER it stands for,
 * length-prefixed in the one ITEMS frame; its command tells which
 * (DISPATCH and NOTICE: a DELIVER). The DONEs go first, then the DELIVERs,
 * each in outbox order: a commit's replies reach the terminals without
 * waiting behind its fan-out to the teams (on the broker's connections and
 * in its I/O thread), so terminals send their next events sooner. (A
 * responder whose act also makes NOTICEs in the same commit gets its
 * RESULT first; PROTOCOL.md §6 says so.)
 *
 * The items' headers are packed first (into w->sbuf), which gives the
 * frame's size; the frame is then written straight into the one ZeroMQ
 * message sent: one allocation per PACK, where a BATCH had one per frame
 * over 33 bytes, and each body copied once, as before. */
#include "worker.h"

#include <errno.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../proto/pack.h"

/* A PACK is split above these: the broker takes a message whole, so a
 * bound keeps one from holding it (and its memory) for long. The bodies
 * of one PACK stay under 1 MiB (an item's header and command add at most
 * ~300 bytes, so its ITEMS frame stays well under PACK_MAX_BYTES). */
#define PACK_MSG_MAX_ITEMS PACK_MAX_ITEMS
#define PACK_MSG_MAX_BYTES (1u << 20)

/* Appends the item's header to w->sbuf, as proto_encode writes a DONE's or
 * DELIVER's (the values passed its checks when the JOB was decoded or the
 * inner body encoded). */
static int pack_header(gl_worker *w, const out_msg *o)
{
    msgpack_packer pk;
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

/* The queued messages in the order they go: the DONEs, then the
 * DELIVERs, each in outbox order. */
typedef struct cursor {
    int dones;  /* 1: at the DONEs, 0: at the DELIVERs */
    size_t i;   /* out->count: none left of this kind */
} cursor;

static int is_next(const out_msg *o, int dones)
{
    return o->queued && (o->kind == PROTO_DONE) == dones;
}

/* Moves c from index from on to the next message to send; 0 when none
 * is left. */
static int cursor_seek(const outbox *out, cursor *c, size_t from)
{
    for (;;) {
        for (c->i = from; c->i < out->count && !is_next(&out->msgs[c->i], c->dones); c->i++)
            ;
        if (c->i < out->count)
            return 1;
        if (!c->dones)
            return 0;
        c->dones = 0;
        from = 0;
    }
}

/* The item's command name ("ERROR" for none: cannot happen, the body was
 * encoded under it). */
static const char *item_name(const out_msg *o)
{
    const char *name = proto_cmd_name(o->cmd);
    return name ? name : "ERROR";
}

/* Appends the item's header to w->sbuf with its 4-byte length before it,
 * as it goes in the ITEMS frame; returns its length, 0 when out of
 * memory. */
static size_t append_header(gl_worker *w, const out_msg *o)
{
    static const char zeros[4] = {0};
    size_t start = w->sbuf.size;
    if (msgpack_sbuffer_write(&w->sbuf, zeros, 4) != 0)
        return 0;
    if (pack_header(w, o) != 0 || !proto_cmd_name(o->cmd)) {
        /* Cannot happen (the body was encoded, the JOB decoded): an empty
         * header the broker counts as bad keeps the item whole. */
        LOG_E("cannot encode the header of a %s", proto_cmd_name(o->kind));
        w->sbuf.size = start + 4;
    }
    pack_put_len((unsigned char *)w->sbuf.data + start, (uint32_t)(w->sbuf.size - start - 4));
    return w->sbuf.size - start;
}

/* Sends "GL/1" "PACK" {} and the ITEMS frame of the items messages from
 * c on, whose headers (with their lengths) are in w->sbuf, in total bytes;
 * unqueues them. The ITEMS frame is written straight into the message
 * ZeroMQ sends: each body is copied once, as zmq_send would copy it. */
static int send_pack(gl_worker *w, cursor c, size_t items, size_t total)
{
    static const unsigned char empty_map = 0x80;
    outbox *out = &w->out;
    zmq_msg_t msg;
    unsigned char *p = NULL;
    if (zmq_msg_init_size(&msg, total) == 0)
        p = zmq_msg_data(&msg);
    const unsigned char *h = (const unsigned char *)w->sbuf.data;
    for (size_t n = 0; n < items; n++, cursor_seek(out, &c, c.i + 1)) {
        out_msg *o = &out->msgs[c.i];
        o->queued = 0;
        if (!p)
            continue;
        size_t hlen = 4 + ((size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3]);
        memcpy(p, h, hlen);
        p += hlen;
        h += hlen;
        const char *name = item_name(o);
        size_t nlen = strlen(name);
        *p++ = (unsigned char)nlen;
        memcpy(p, name, nlen);
        p += nlen;
        pack_put_len(p, (uint32_t)o->body_len);
        p += 4;
        if (o->body_len)
            memcpy(p, o->body, o->body_len);
        p += o->body_len;
    }
    /* Blocking sends: a reply must not be dropped once its work is durable
     * (the broker's pipe to us has a high HWM). Only the first frame can
     * fail: ZeroMQ queues the rest of a multi-part message with it. */
    if (!p || zmq_send_const(w->sock, PROTO_SIGNATURE, PROTO_SIGNATURE_LEN, ZMQ_SNDMORE) < 0) {
        log_limited(LOG_ERROR, "batch-send", "cannot send a PACK of %zu items to the broker: %s",
                    items, p ? zmq_strerror(errno) : "out of memory");
        if (p)
            zmq_msg_close(&msg);
        return -1;
    }
    zmq_send_const(w->sock, "PACK", 4, ZMQ_SNDMORE);
    zmq_send_const(w->sock, &empty_map, 1, ZMQ_SNDMORE);
    if (zmq_msg_send(&msg, w->sock, 0) < 0)
        zmq_msg_close(&msg);
    return 0;
}

void worker_send_batch(gl_worker *w)
{
    outbox *out = &w->out;
    size_t sent = 0;
    cursor c = {1, 0};
    int more = cursor_seek(out, &c, 0);
    while (more) {
        /* The headers first, to know the frame's size; then the frame. */
        cursor first = c;
        size_t items = 0, bodies = 0, total = 0;
        w->sbuf.size = 0;
        do {
            const out_msg *o = &out->msgs[c.i];
            size_t hlen = append_header(w, o);
            if (!hlen) {
                LOG_E("out of memory packing a %s for the broker", proto_cmd_name(o->kind));
                break;
            }
            total += hlen + 1 + strlen(item_name(o)) + 4 + o->body_len;
            bodies += o->body_len;
            items++;
            more = cursor_seek(out, &c, c.i + 1);
        } while (more && items < PACK_MSG_MAX_ITEMS &&
                 bodies + out->msgs[c.i].body_len <= PACK_MSG_MAX_BYTES);
        if (!items) {
            out->msgs[c.i].queued = 0; /* not sent: out of memory */
            more = cursor_seek(out, &c, c.i + 1);
            continue;
        }
        sent += send_pack(w, first, items, total) == 0;
    }
    w->sbuf.size = 0;
    if (sent)
        w->last_sent_ms = clock_mono_ms();
}
