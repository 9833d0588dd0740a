/* bench_floor.h — the messages of the floor instrument (floor_broker.c,
 * floor_worker.h): a SUBMIT read in place, the FILED and DISPATCH bodies
 * gridline's worker would send for it, written from the SUBMIT's own
 * bytes, and the sends, as gridline-broker makes them.
 *
 * The floor carries gridline's message flow with no store and no decoding:
 * a SUBMIT's pairs are walked once (msgpack lengths only, no UTF-8 walk,
 * nothing allocated), the few values the routing needs are copied out, and
 * each DISPATCH's "detail" (the event record, PROTOCOL.md §7.1) is the
 * SUBMIT's pairs copied as they came, less "rid" (and "contact" for the
 * roles that may not see it), with the keys the worker sets appended:
 * the location the directory resolved, seq, state, created_ms,
 * updated_ms. So a DISPATCH has the size of the worker's for the same
 * event, and the FILED its very bytes (tests/t_bench_floor.c checks
 * both against proto_encode).
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_FLOOR_H
#define GL_BENCH_FLOOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zmq.h>

#include "../common/directory.h"
#include "../common/gl.h"
#include "../common/mpwrite.h"
#include "../common/records.h"
#include "../proto/pack.h"
#include "../proto/proto.h"
#include "bench_msgpack.h"
#include "bench_msgpack.h"

#define FLOOR_MAX_PAIRS 32

/* A SUBMIT as read in place: pointers into its body, and NUL-terminated
 * copies of the strings the directory's routing reads. */
typedef struct floor_submit {
    uint64_t rid;
    int has_rid;
    const char *id;
    size_t id_len;
    const unsigned char *kind; /* the kind's msgpack bytes, as they came */
    size_t kind_len;
    int kind_code;             /* enum gl_kind */
    char category[GL_MAX_ID + 1], community[GL_MAX_ID + 1], compound[GL_MAX_ID + 1],
        grid[GL_MAX_ID + 1], terminal[GL_MAX_ID + 1];
    size_t npairs;
    const unsigned char *pair[FLOOR_MAX_PAIRS + 1]; /* where each pair starts; [npairs]: the end */
    int rid_pair, contact_pair;                      /* their index, or -1 */
} floor_submit;

/* floor_copy copies the msgpack string at v into out (GL_MAX_ID + 1 bytes):
 * 0, or -1 when v is not a string of at most GL_MAX_ID bytes. */
static inline int floor_copy(const unsigned char *v, const unsigned char *end, char *out)
{
    const char *s;
    size_t n;
    if (mp_str(v, end, &s, &n) != 0 || n > GL_MAX_ID)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static inline int floor_key_is(const char *key, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(key, name, klen) == 0;
}

/* floor_submit_read walks the top-level pairs of a SUBMIT body (len bytes)
 * once: 0 with s filled in, or -1 when the body is not one whole map of at
 * most FLOOR_MAX_PAIRS pairs with an id, a kind and a category (strings of
 * at most GL_MAX_ID bytes). Nothing else is checked: the floor measures
 * the message flow, not the codec. */
static inline int floor_submit_read(const void *body, size_t len, floor_submit *s)
{
    const unsigned char *p = body, *end = p + len;
    uint64_t pairs;
    memset(s, 0, sizeof *s);
    s->rid_pair = s->contact_pair = -1;
    if (!(p = mp_map_open(p, len, &pairs)))
        return -1;
    if (pairs > FLOOR_MAX_PAIRS)
        return -1;
    for (uint64_t k = 0; k < pairs; k++) {
        const char *key;
        size_t klen;
        s->pair[k] = p;
        if (mp_str(p, end, &key, &klen) != 0)
            return -1;
        const unsigned char *v = (const unsigned char *)key + klen;
        if ((p = mp_skip(v, end, 1)) == NULL)
            return -1;
        int bad = 0;
        switch (klen) {
        case 2:
            if (floor_key_is(key, klen, "id"))
                bad = mp_str(v, end, &s->id, &s->id_len) != 0 || s->id_len == 0 ||
                      s->id_len > GL_MAX_ID;
            break;
        case 3:
            if (floor_key_is(key, klen, "rid")) {
                bad = mp_uint(v, end, &s->rid) != 0;
                s->has_rid = 1;
                s->rid_pair = (int)k;
            }
            break;
        case 4:
            if (floor_key_is(key, klen, "kind")) {
                const char *kind;
                size_t n;
                bad = mp_str(v, end, &kind, &n) != 0;
                s->kind = v;
                s->kind_len = (size_t)(p - v);
                s->kind_code = bad                                  ? GL_KIND_NONE
                               : floor_key_is(kind, n, "alert")    ? GL_KIND_ALERT
                               : floor_key_is(kind, n, "feedback") ? GL_KIND_FEEDBACK
                               : floor_key_is(kind, n, "request")  ? GL_KIND_REQUEST
                                                                   : GL_KIND_NONE;
            } else if (floor_key_is(key, klen, "grid"))
                bad = floor_copy(v, end, s->grid);
            break;
        case 7:
            if (floor_key_is(key, klen, "contact"))
                s->contact_pair = (int)k;
            break;
        case 8:
            if (floor_key_is(key, klen, "category"))
                bad = floor_copy(v, end, s->category);
            else if (floor_key_is(key, klen, "compound"))
                bad = floor_copy(v, end, s->compound);
            else if (floor_key_is(key, klen, "terminal"))
                bad = floor_copy(v, end, s->terminal);
            break;
        case 9:
            if (floor_key_is(key, klen, "community"))
                bad = floor_copy(v, end, s->community);
            break;
        default:
            break;
        }
        if (bad)
            return -1;
    }
    s->npairs = (size_t)pairs;
    s->pair[pairs] = p;
    if (p != end || !s->id || s->kind_code == GL_KIND_NONE || !s->category[0])
        return -1;
    return 0;
}

static inline const char *floor_or_null(const char *s) { return s[0] ? s : NULL; }

/* floor_route fills route with the teams the directory sends the SUBMIT
 * to, as the worker's routing does (dir_route_event). */
static inline void floor_route(const directory *d, const floor_submit *s, dir_route *route)
{
    gl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = s->kind_code;
    ev.category = s->category;
    ev.community = floor_or_null(s->community);
    ev.compound = floor_or_null(s->compound);
    ev.grid = floor_or_null(s->grid);
    ev.terminal = floor_or_null(s->terminal);
    dir_route_event(d, &ev, route);
}

static inline void floor_key(mp_writer *w, const char *key) { mpw_str(w, key, strlen(key)); }

/* floor_filed writes the FILED body of the SUBMIT filed as seq: rid, id,
 * seq, kind, state "dispatched" (the worker's reply to a new event). */
static inline void floor_filed(mp_writer *w, const floor_submit *s, uint64_t seq)
{
    mpw_count(w, 0x80, 0xde, s->has_rid ? 5 : 4);
    if (s->has_rid) {
        floor_key(w, "rid");
        mpw_uint(w, s->rid);
    }
    floor_key(w, "id");
    mpw_str(w, s->id, s->id_len);
    floor_key(w, "seq");
    mpw_uint(w, seq);
    floor_key(w, "kind");
    mpw_bytes(w, s->kind, s->kind_len);
    floor_key(w, "state");
    floor_key(w, "dispatched");
}

/* The roles that do not see the reporter's contact (PROTOCOL.md §5). */
static inline int floor_hides_contact(const char *role)
{
    return strcmp(role, "informed") == 0 || strcmp(role, "claim") == 0 ||
           strcmp(role, "owners") == 0;
}

/* floor_dispatch writes the DISPATCH body of the SUBMIT, filed as seq at
 * now_ms, to team in role: event, seq, team, role, state "pending",
 * attempts 1, and the detail map (the SUBMIT's pairs less rid, and less
 * contact where the role may not see it; then the location route resolved
 * that the SUBMIT left out, seq, state "filed", created_ms, updated_ms). */
static inline void floor_dispatch(mp_writer *w, const floor_submit *s, const dir_route *route,
                                  uint64_t seq, const char *team, const char *role,
                                  uint64_t now_ms)
{
    int drop_contact = s->contact_pair >= 0 && floor_hides_contact(role);
    size_t kept = s->npairs - (s->rid_pair >= 0) - (size_t)drop_contact;
    /* the location the directory resolved, where the SUBMIT left it out
     * (the worker keeps it in the record: a feedback's grid, ...) */
    const char *loc_key[3] = {"community", "compound", "grid"};
    const char *loc[3] = {s->community[0] ? NULL : route->community,
                          s->compound[0] ? NULL : route->compound,
                          s->grid[0] ? NULL : route->grid};
    for (int i = 0; i < 3; i++)
        kept += loc[i] != NULL;
    mpw_head(w, 0x87, 0, 0);
    floor_key(w, "event");
    mpw_str(w, s->id, s->id_len);
    floor_key(w, "seq");
    mpw_uint(w, seq);
    floor_key(w, "team");
    floor_key(w, team);
    floor_key(w, "role");
    floor_key(w, role);
    floor_key(w, "state");
    floor_key(w, "pending");
    floor_key(w, "attempts");
    mpw_uint(w, 1);
    floor_key(w, "detail");
    mpw_count(w, 0x80, 0xde, kept + 4);
    /* the pairs in runs between the ones left out */
    size_t from = 0;
    for (size_t k = 0; k <= s->npairs; k++) {
        int skip = k < s->npairs && ((int)k == s->rid_pair || (drop_contact && (int)k == s->contact_pair));
        if (k == s->npairs || skip) {
            if (k > from)
                mpw_bytes(w, s->pair[from], (size_t)(s->pair[k] - s->pair[from]));
            from = k + 1;
        }
    }
    for (int i = 0; i < 3; i++)
        if (loc[i]) {
            floor_key(w, loc_key[i]);
            floor_key(w, loc[i]);
        }
    floor_key(w, "seq");
    mpw_uint(w, seq);
    floor_key(w, "state");
    floor_key(w, "filed");
    floor_key(w, "created_ms");
    mpw_uint(w, now_ms);
    floor_key(w, "updated_ms");
    mpw_uint(w, now_ms);
}

/* ---- sending (floor_broker and its workers) ---- */

static inline int floor_part(void *sock, const void *data, size_t len, int more)
{
    return zmq_send(sock, data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0 ? -1 : 0;
}

static inline int floor_part_const(void *sock, const void *data, size_t len)
{
    return zmq_send_const(sock, data, len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0 ? -1 : 0;
}

/* floor_forward sends [ident] "GL/1" name body, the body a reference to msg (a
 * zmq_msg_copy: several members share one buffer), as gridline-broker's
 * broker_forward does. 0, or -1 when the peer is gone or its pipe full. */
static inline int floor_forward(void *sock, const void *ident, size_t ident_len,
                                const char *name, zmq_msg_t *msg)
{
    zmq_msg_t ref;
    zmq_msg_init(&ref);
    if (zmq_msg_copy(&ref, msg) != 0 || (ident && floor_part(sock, ident, ident_len, 1) != 0) ||
        floor_part_const(sock, PROTO_SIGNATURE, PROTO_SIGNATURE_LEN) != 0 ||
        floor_part_const(sock, name, strlen(name)) != 0 ||
        zmq_msg_send(&ref, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&ref);
        return -1;
    }
    return 0;
}

/* floor_forward_bytes sends body (len bytes) in a message of its own: one
 * allocation and copy, as gridline-broker makes of each item of a PACK. */
static inline int floor_forward_bytes(void *sock, const void *ident, size_t ident_len,
                                      const char *name, const void *body, size_t len)
{
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, len) != 0)
        return -1;
    memcpy(zmq_msg_data(&msg), body, len);
    int rc = floor_forward(sock, ident, ident_len, name, &msg);
    zmq_msg_close(&msg);
    return rc;
}

/* floor_send_pack sends [ident] "GL/1" "PACK" {} ITEMS, ITEMS the two runs of
 * items a and b back to back. */
static inline int floor_send_pack(void *sock, const void *ident, size_t ident_len,
                                  const msgpack_sbuffer *a, const msgpack_sbuffer *b)
{
    static const unsigned char empty_map = 0x80;
    size_t alen = a ? a->size : 0, blen = b ? b->size : 0;
    zmq_msg_t items;
    if (zmq_msg_init_size(&items, alen + blen) != 0)
        return -1;
    if (alen)
        memcpy(zmq_msg_data(&items), a->data, alen);
    if (blen)
        memcpy((char *)zmq_msg_data(&items) + alen, b->data, blen);
    if ((ident && floor_part(sock, ident, ident_len, 1) != 0) ||
        floor_part_const(sock, PROTO_SIGNATURE, PROTO_SIGNATURE_LEN) != 0 ||
        floor_part_const(sock, "PACK", 4) != 0 || floor_part_const(sock, &empty_map, 1) != 0 ||
        zmq_msg_send(&items, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&items);
        return -1;
    }
    return 0;
}

/* floor_item_put appends a PACK item (proto/pack.h) to w: header, command name,
 * body. */
static inline void floor_item_put(mp_writer *w, const void *header, size_t hlen,
                                  const char *name, const void *body, size_t blen)
{
    size_t clen = strlen(name);
    unsigned char *p = mpw_room(w, 4 + hlen + 1 + clen + 4 + blen);
    if (!p)
        return;
    pack_put_len(p, (uint32_t)hlen);
    memcpy(p + 4, header, hlen);
    p += 4 + hlen;
    *p++ = (unsigned char)clen;
    memcpy(p, name, clen);
    p += clen;
    pack_put_len(p, (uint32_t)blen);
    memcpy(p + 4, body, blen);
}

#endif
