/* jobpack_support.h — the hand-built messages the end-to-end tests of
 * packed messages share (t_e2e_jobpack, t_e2e_jobpack_mixed,
 * t_e2e_jobpack_reconnect, and through fakeworker.h t_e2e_batchmsg and
 * t_e2e_packmsg): raw DEALER sockets that
 * play a terminal or a worker, the SUBMIT and READY bodies they send, a
 * JOB's or DONE's header, a PACK's ITEMS frame, whole messages received,
 * and one figure of the broker's STATUS. Header only, like raw.h, and no
 * globals: the caller passes its ZeroMQ context. Nothing here asserts. */
#ifndef GL_TESTS_JOBPACK_SUPPORT_H
#define GL_TESTS_JOBPACK_SUPPORT_H

#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* jp_dealer makes a DEALER of ctx connected to ep: LINGER 0, receives time
 * out after timeout_ms, and its routing id is id when id is not NULL (a
 * named connection: the broker routes replies to that name, also on a new
 * connection after it restarted). */
static inline void *jp_dealer(void *ctx, const char *ep, const char *id, int timeout_ms)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    if (id)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
    zmq_connect(s, ep);
    return s;
}

/* send_frames sends the n frames parts[i] (lens[i] bytes each) as one
 * message. */
static inline void send_frames(void *s, const void *const *parts, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        zmq_send(s, parts[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0);
}

/* jp_recv_parts receives one whole message from s into part[0..max): the
 * number of its frames, which the caller closes; -1 when none came within
 * the socket's timeout, -2 when it had more than max frames (read to its
 * end and let go). */
static inline int jp_recv_parts(void *s, zmq_msg_t *part, int max)
{
    int np = 0, more = 1;
    while (more) {
        zmq_msg_t spare, *into = np < max ? &part[np] : &spare;
        zmq_msg_init(into);
        if (zmq_msg_recv(into, s, 0) < 0) {
            zmq_msg_close(into);
            for (int i = 0; i < np && i < max; i++)
                zmq_msg_close(&part[i]);
            return -1;
        }
        more = zmq_msg_more(into);
        if (into == &spare)
            zmq_msg_close(&spare);
        np++;
    }
    if (np > max) {
        for (int i = 0; i < max; i++)
            zmq_msg_close(&part[i]);
        return -2;
    }
    return np;
}

/* The sbuffer's bytes into out (at most cap); their count. Destroys sb. */
static inline size_t jp_take(msgpack_sbuffer *sb, char *out, size_t cap)
{
    size_t n = sb->size < cap ? sb->size : cap;
    memcpy(out, sb->data, n);
    msgpack_sbuffer_destroy(sb);
    return n;
}

/* jp_submit_body writes a SUBMIT body into out (at most cap bytes): the
 * keys rid, id, kind, category, grid, text in that order, in grid
 * heping-g1; category fire for an alert, repair for anything else. Its
 * length. */
static inline size_t jp_submit_body(char *out, size_t cap, const char *id, const char *kind,
                                    const char *text, uint64_t rid)
{
    int alert = strcmp(kind, "alert") == 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "rid", 3);
    msgpack_pack_uint64(&pk, rid);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, id, strlen(id));
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, kind, strlen(kind));
    msgpack_pack_str_with_body(&pk, "category", 8);
    msgpack_pack_str_with_body(&pk, alert ? "fire" : "repair", alert ? 4 : 6);
    msgpack_pack_str_with_body(&pk, "grid", 4);
    msgpack_pack_str_with_body(&pk, "heping-g1", 9);
    msgpack_pack_str_with_body(&pk, "text", 4);
    msgpack_pack_str_with_body(&pk, text, strlen(text));
    return jp_take(&sb, out, cap);
}

/* jp_send_submit sends s a SUBMIT of jp_submit_body. */
static inline void jp_send_submit(void *s, const char *id, const char *kind, const char *text,
                                  uint64_t rid)
{
    char body[512];
    size_t len = jp_submit_body(body, sizeof body, id, kind, text, rid);
    send_frames(s, (const void *[]){"GL/1", "SUBMIT", body}, (size_t[]){4, 6, len}, 3);
}

/* jp_send_ready sends READY from a fake worker named name: its credit, and
 * "pack": true when pack (else no "pack" key, as a worker of session 7). */
static inline void jp_send_ready(void *s, const char *name, unsigned credit, int pack)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, pack ? 3 : 2);
    msgpack_pack_str_with_body(&pk, "worker", 6);
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    msgpack_pack_str_with_body(&pk, "credit", 6);
    msgpack_pack_uint32(&pk, credit);
    if (pack) {
        msgpack_pack_str_with_body(&pk, "pack", 4);
        msgpack_pack_true(&pk);
    }
    send_frames(s, (const void *[]){"GL/1", "READY", sb.data}, (size_t[]){4, 5, sb.size}, 3);
    msgpack_sbuffer_destroy(&sb);
}

/* jp_header writes a JOB's or DONE's header into out: {job, client,
 * origin: intake, lane}, without client unless with_client, without lane
 * when lane is NULL (a DONE's). Its length. */
static inline size_t jp_header(char *out, size_t cap, uint64_t job, const char *client_id,
                               int with_client, const char *lane)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2u + (with_client != 0) + (lane != NULL));
    msgpack_pack_str_with_body(&pk, "job", 3);
    msgpack_pack_uint64(&pk, job);
    if (with_client) {
        msgpack_pack_str_with_body(&pk, "client", 6);
        msgpack_pack_bin_with_body(&pk, client_id, strlen(client_id));
    }
    msgpack_pack_str_with_body(&pk, "origin", 6);
    msgpack_pack_str_with_body(&pk, "intake", 6);
    if (lane) {
        msgpack_pack_str_with_body(&pk, "lane", 4);
        msgpack_pack_str_with_body(&pk, lane, strlen(lane));
    }
    return jp_take(&sb, out, cap);
}

/* jp_items: an ITEMS frame being built, as PROTOCOL.md §6 spells it: per
 * item a 4-byte big-endian header length, the header, a 1-byte command
 * length, the command, a 4-byte big-endian body length, the body. Start
 * from {0}; free(p) when done. */
typedef struct jp_items {
    unsigned char *p;
    size_t len, cap;
} jp_items;

/* jp_items_put appends n bytes as they are (for frames that are not
 * whole items). */
static inline void jp_items_put(jp_items *it, const void *bytes, size_t n)
{
    if (it->len + n > it->cap) {
        it->cap = (it->len + n) * 2;
        it->p = realloc(it->p, it->cap);
        if (!it->p)
            abort();
    }
    if (n)
        memcpy(it->p + it->len, bytes, n);
    it->len += n;
}

static inline void jp_items_u32(jp_items *it, uint32_t n)
{
    unsigned char b[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    jp_items_put(it, b, 4);
}

/* jp_item appends one item: header hdr (hl bytes), command cmd, body (bl
 * bytes). */
static inline void jp_item(jp_items *it, const void *hdr, size_t hl, const char *cmd,
                           const void *body, size_t bl)
{
    unsigned char clen = (unsigned char)strlen(cmd);
    jp_items_u32(it, (uint32_t)hl);
    jp_items_put(it, hdr, hl);
    jp_items_put(it, &clen, 1);
    jp_items_put(it, cmd, clen);
    jp_items_u32(it, (uint32_t)bl);
    jp_items_put(it, body, bl);
}

/* jp_figure reads the unsigned figure at path (keys joined by dots, e.g.
 * "counters.completed" or "lanes.routine.depth") in figures, the broker's
 * STATUS map (broker_figures); UINT64_MAX when absent. */
static inline uint64_t jp_figure(const void *figures, size_t len, const char *path)
{
    uint64_t v = UINT64_MAX;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (figures && msgpack_unpack_next(&u, figures, len, NULL) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *at = &u.data;
        for (const char *key = path; at && key;) {
            const char *dot = strchr(key, '.');
            size_t klen = dot ? (size_t)(dot - key) : strlen(key);
            const msgpack_object *next = NULL;
            for (uint32_t i = 0; at->type == MSGPACK_OBJECT_MAP && i < at->via.map.size; i++) {
                const msgpack_object_kv *kv = &at->via.map.ptr[i];
                if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
                    memcmp(kv->key.via.str.ptr, key, klen) == 0)
                    next = &kv->val;
            }
            at = next;
            key = dot ? dot + 1 : NULL;
        }
        if (at && at->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            v = at->via.u64;
    }
    msgpack_unpacked_destroy(&u);
    return v;
}

#endif
