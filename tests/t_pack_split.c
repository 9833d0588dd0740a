/* The worker's side of PACK (workers/batchmsg.c): a commit's outbox sent as
 * PACKs split at 1024 items and at 1 MiB of bodies. What the broker would
 * notice: every queued reply and dispatch arrives exactly once, none that
 * was not queued; the DONEs all come before the DELIVERs, each kind in
 * outbox order, also across the PACKs a split makes; every ITEMS frame is
 * one the broker accepts (1 to 1024 whole items, within PACK_MAX_BYTES);
 * each item's header names its job or team and its body is its own; and the
 * outbox is left unqueued. batchmsg.c is compiled into this test, its
 * socket one end of an inproc pair. */
#include "../workers/batchmsg.c"

#include <stdio.h>
#include <stdlib.h>

#include "../proto/pack.h"
#include "tap.h"

static gl_worker w;
static void *reader;

/* fill makes an outbox of n messages: DONEs and DELIVERs interleaved
 * (every third a DELIVER), each body body_len bytes that carry its index;
 * every seventh is not queued. */
static void fill(size_t n, size_t body_len)
{
    static const char client[] = "\x00\x6b\x8b\x45\x67";
    w.out.count = 0;
    for (size_t i = 0; i < n; i++) {
        if (w.out.count == w.out.cap) {
            w.out.cap = w.out.cap ? 2 * w.out.cap : 64;
            w.out.msgs = realloc(w.out.msgs, w.out.cap * sizeof *w.out.msgs);
        }
        out_msg *o = &w.out.msgs[w.out.count++];
        memset(o, 0, sizeof *o);
        unsigned char *body = calloc(1, body_len);
        body[0] = 0xde; /* a map 16 */
        memcpy(body + 1, &i, sizeof i);
        o->body = body;
        o->body_len = body_len;
        o->queued = i % 7 != 3;
        if (i % 3 == 2) {
            o->kind = PROTO_DELIVER;
            o->cmd = i % 2 ? PROTO_DISPATCH : PROTO_NOTICE;
            o->team = "split-team";
        } else {
            o->kind = PROTO_DONE;
            o->cmd = PROTO_FILED;
            o->job = 1000000 + i;
            o->client = client;
            o->client_len = sizeof client - 1;
            o->origin = "intake";
        }
    }
}

static void release(void)
{
    for (size_t i = 0; i < w.out.count; i++)
        free(w.out.msgs[i].body);
}

/* header_job reads the job of a DONE's header, or the team's length
 * (as 1) of a DELIVER's; UINT64_MAX when it does not decode. */
static uint64_t header_job(const pack_item *it, int deliver)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    uint64_t v = UINT64_MAX;
    if (msgpack_unpack_next(&u, (const char *)it->header, it->header_len, NULL) ==
            MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *m = &u.data.via.map;
        for (uint32_t k = 0; k < m->size; k++) {
            const msgpack_object *key = &m->ptr[k].key, *val = &m->ptr[k].val;
            if (key->type != MSGPACK_OBJECT_STR)
                continue;
            if (!deliver && key->via.str.size == 3 && memcmp(key->via.str.ptr, "job", 3) == 0 &&
                val->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                v = val->via.u64;
            if (deliver && key->via.str.size == 4 && memcmp(key->via.str.ptr, "team", 4) == 0 &&
                val->type == MSGPACK_OBJECT_STR && val->via.str.size == 10 &&
                memcmp(val->via.str.ptr, "split-team", 10) == 0)
                v = 1;
        }
    }
    msgpack_unpacked_destroy(&u);
    return v;
}

struct result {
    size_t packs, items, bad_frames, bad_items, max_items, max_bytes;
    size_t *order; /* the outbox index of each item received, in order */
};

/* drain reads every PACK waiting on the reader. */
static void drain(struct result *r, size_t body_len)
{
    memset(r, 0, sizeof *r);
    r->order = calloc(w.out.count + 1, sizeof *r->order);
    for (;;) {
        zmq_msg_t part[4];
        int n = 0, more = 1;
        while (more && n < 4) {
            zmq_msg_init(&part[n]);
            if (zmq_msg_recv(&part[n], reader, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&part[n]);
                break;
            }
            more = zmq_msg_more(&part[n]);
            n++;
        }
        if (n == 0)
            return;
        r->packs++;
        if (n != 4 || more || zmq_msg_size(&part[1]) != 4 ||
            memcmp(zmq_msg_data(&part[1]), "PACK", 4) != 0) {
            r->bad_frames++;
        } else {
            const void *data = zmq_msg_data(&part[3]);
            size_t len = zmq_msg_size(&part[3]), count = pack_count(data, len), pos = 0;
            pack_item it;
            if (count == 0 || len > PACK_MAX_BYTES)
                r->bad_frames++;
            if (count > r->max_items)
                r->max_items = count;
            if (len > r->max_bytes)
                r->max_bytes = len;
            while (pack_next(data, len, &pos, &it)) {
                size_t index;
                int deliver = it.cmd_len != 5 || memcmp(it.cmd, "FILED", 5) != 0;
                memcpy(&index, it.body + 1, sizeof index);
                const out_msg *o = index < w.out.count ? &w.out.msgs[index] : NULL;
                uint64_t job = header_job(&it, deliver);
                if (!o || it.body_len != body_len || (o->kind == PROTO_DELIVER) != deliver ||
                    job != (deliver ? 1 : o->job) ||
                    strlen(proto_cmd_name(o->cmd)) != it.cmd_len ||
                    memcmp(proto_cmd_name(o->cmd), it.cmd, it.cmd_len) != 0)
                    r->bad_items++;
                if (r->items < w.out.count)
                    r->order[r->items] = index;
                r->items++;
            }
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&part[i]);
    }
}

/* check sends an outbox of n messages of body_len bytes and checks what
 * arrives; expect_packs: how many PACKs the bounds make. */
static void check(const char *what, size_t n, size_t body_len, size_t expect_packs)
{
    fill(n, body_len);
    size_t queued_dones = 0, queued = 0;
    for (size_t i = 0; i < w.out.count; i++) {
        queued += w.out.msgs[i].queued;
        queued_dones += w.out.msgs[i].queued && w.out.msgs[i].kind == PROTO_DONE;
    }
    worker_send_batch(&w);
    struct result r;
    drain(&r, body_len);
    size_t left = 0;
    for (size_t i = 0; i < w.out.count; i++)
        left += w.out.msgs[i].queued;
    /* The expected order: the queued DONEs, then the queued DELIVERs. */
    size_t k = 0, wrong = 0;
    for (int dones = 1; dones >= 0; dones--)
        for (size_t i = 0; i < w.out.count; i++) {
            if (i % 7 == 3 || (w.out.msgs[i].kind == PROTO_DONE) != dones)
                continue; /* not queued, or not of this kind */
            wrong += k >= r.items || r.order[k] != i;
            k++;
        }
    is_int(r.items, queued, "%s: every queued message arrives (%zu of %zu), none other", what,
           r.items, w.out.count);
    is_int(wrong, 0, "%s: each once, the %zu DONEs first, then the DELIVERs, in outbox order",
           what, queued_dones);
    is_int(r.bad_frames + r.bad_items, 0, "%s: every PACK and item is well formed", what);
    is_int(r.packs, expect_packs, "%s: in %zu PACKs (at most %zu items, %zu bytes each)", what,
           expect_packs, r.max_items, r.max_bytes);
    is_int(left, 0, "%s: the outbox is left unqueued", what);
    free(r.order);
    release();
}

int main(void)
{
    w.ctx = zmq_ctx_new();
    w.sock = zmq_socket(w.ctx, ZMQ_PAIR);
    reader = zmq_socket(w.ctx, ZMQ_PAIR);
    int hwm = 0;
    zmq_setsockopt(w.sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(reader, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind(reader, "inproc://pack-split") != 0 ||
        zmq_connect(w.sock, "inproc://pack-split") != 0) {
        printf("Bail out! no inproc pair\n");
        return 1;
    }
    msgpack_sbuffer_init(&w.sbuf);

    /* 10 messages: 9 queued, one PACK. */
    check("a small commit", 10, 16, 1);
    /* 2800 messages of 16 bytes, 2400 queued: split at 1024 items into
     * three, the second with the last DONEs and the first DELIVERs. */
    check("2800 small messages", 2800, 16, 3);
    /* 100 messages of 60000 bytes, 86 queued: at most 17 bodies (1,020,000
     * bytes) a PACK, 6 PACKs. */
    check("100 large messages", 100, 60000, 6);
    /* Exactly 1024 queued (1195 less the 171 not queued): one PACK; one
     * more, two. */
    check("1024 queued messages", 1195, 16, 1);
    check("1025 queued messages", 1196, 16, 2);

    free(w.out.msgs);
    msgpack_sbuffer_destroy(&w.sbuf);
    zmq_close(reader);
    zmq_close(w.sock);
    zmq_ctx_term(w.ctx);
    return done_testing();
}
