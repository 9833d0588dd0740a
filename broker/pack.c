/* pack.c — a worker's PACK: the replies and deliveries of one commit as
 * items packed into one frame (proto/pack.h), where a BATCH has three
 * frames per item (batch.c). The broker receives one frame per commit
 * instead of three per item.
 *
 * The whole ITEMS frame is walked by its lengths first: a frame that is
 * not a whole sequence of 1 to PACK_MAX_ITEMS items is not from a working
 * worker, nothing in it can be trusted, and it is dropped whole, counted
 * once as a bad worker message. Then the items are acted on in order,
 * each exactly as a BATCH's item (and so as the DONE or DELIVER it stands
 * for); an item that fails its checks (unknown command, header or body
 * over 65536 bytes, a body that is not a map, a bad header) is skipped
 * and counted, the others are still acted on, as in a BATCH.
 *
 * A body forwarded to a terminal or to the members of a team is a slice of
 * the received frame, and a ZeroMQ message cannot share part of another's
 * buffer: each gets a message of its own, its bytes copied in
 * (zmq_msg_init_size and memcpy: one allocation, as zmq_msg_init_data's
 * would be too, and no buffer kept alive by a count across threads). A
 * DISPATCH's copies to several members share that one message. */
#include "broker.h"

#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../proto/pack.h"

/* A msgpack map starts with a fixmap (0x80-0x8f), map 16 (0xde) or map 32
 * (0xdf) byte. */
static int starts_map(const unsigned char *p, size_t len)
{
    return len > 0 && ((p[0] & 0xf0) == 0x80 || p[0] == 0xde || p[0] == 0xdf);
}

/* The item's command, or PROTO_NONE; the previous item's is tried first (a
 * PACK's items come in runs of one command: the FILEDs, then the
 * DISPATCHes). */
static int item_cmd(const pack_item *it, int *prev)
{
    const char *name = *prev != PROTO_NONE ? proto_cmd_name(*prev) : NULL;
    if (name && strlen(name) == it->cmd_len && memcmp(name, it->cmd, it->cmd_len) == 0)
        return *prev;
    return *prev = proto_cmd_parse(it->cmd, it->cmd_len);
}

static void bad_item(broker *b, size_t n, const char *reason)
{
    b->counters.bad_worker_msgs++;
    log_limited(LOG_WARN, "bad-worker-msg", "bad item %zu of a PACK from a worker: %s", n, reason);
}

void broker_on_pack(broker *b, frame_msg *fm)
{
    zmq_msg_t *items = frame_part_msg(fm, 3);
    const void *data = items ? zmq_msg_data(items) : NULL;
    size_t len = items ? zmq_msg_size(items) : 0;
    if (!data || pack_count(data, len) == 0) {
        b->counters.bad_worker_msgs++;
        log_limited(LOG_WARN, "bad-worker-msg",
                    "bad PACK from a worker: its %zu-byte items frame is not 1 to %d whole items",
                    len, PACK_MAX_ITEMS);
        return;
    }
    char reason[160], team[GL_MAX_ID + 1];
    int prev = PROTO_NONE;
    pack_item it;
    size_t pos = 0;
    for (size_t n = 0; pack_next(data, len, &pos, &it); n++) {
        int cmd = item_cmd(&it, &prev);
        if (cmd == PROTO_NONE) {
            bad_item(b, n, gl_strerror(GL_EUNKNOWNCMD));
            continue;
        }
        if (it.header_len > GL_MAX_BODY || it.body_len > GL_MAX_BODY) {
            bad_item(b, n, gl_strerror(GL_ETOOLARGE));
            continue;
        }
        if (!starts_map(it.body, it.body_len)) {
            bad_item(b, n, "the body is not a msgpack map");
            continue;
        }
        int kind = cmd == PROTO_DISPATCH || cmd == PROTO_NOTICE ? PROTO_DELIVER : PROTO_DONE;
        proto_msg m;
        if (broker_worker_envelope(kind, it.header, it.header_len, &m, team, reason,
                                   sizeof reason) != 0) {
            bad_item(b, n, reason);
            continue;
        }
        zmq_msg_t body;
        if (zmq_msg_init_size(&body, it.body_len) != 0) {
            bad_item(b, n, "out of memory");
            continue;
        }
        memcpy(zmq_msg_data(&body), it.body, it.body_len);
        if (kind == PROTO_DONE)
            broker_on_done(b, &m, cmd, &body);
        else
            broker_on_deliver(b, m.team, cmd, &body);
        zmq_msg_close(&body);
    }
}
