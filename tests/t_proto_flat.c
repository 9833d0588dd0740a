/* Unit test for proto_decode_flat, the broker's quick decoder: whatever it
 * accepts, proto_decode accepts too, with the same result; it takes the
 * bodies our clients send; and for the rest (errors included) it steps
 * aside, so the reply to bad input is proto_decode's, word for word.
 * Checked on hand-made edge cases and on many random mutations of real
 * SUBMITs and other commands. */
#include "../proto/proto.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static gl_arena arena_flat, arena_full;
static long accepted, agreed, disagreed, flat_took;

/* same_result: m_flat and m_full encode to the same bytes (the codec's own
 * notion of equal messages). */
static int same_result(const proto_msg *a, const proto_msg *b)
{
    msgpack_sbuffer x, y;
    msgpack_sbuffer_init(&x);
    msgpack_sbuffer_init(&y);
    int same = proto_encode(a, &x) == 0 && proto_encode(b, &y) == 0 && x.size == y.size &&
               memcmp(x.data, y.data, x.size) == 0 && a->ev.has_coords == b->ev.has_coords;
    msgpack_sbuffer_destroy(&x);
    msgpack_sbuffer_destroy(&y);
    return same;
}

/* check compares the two decoders on one body; returns whether flat took it. */
static int check(int cmd, const void *body, size_t len)
{
    proto_msg a, b;
    arena_reset(&arena_flat);
    arena_reset(&arena_full);
    int flat = proto_decode_flat(cmd, body, len, &a, &arena_flat);
    int full = proto_decode(cmd, body, len, &b, &arena_full, NULL, 0);
    if (full == 0)
        accepted++;
    if (flat != 0)
        return 0;
    flat_took++;
    if (full == 0 && same_result(&a, &b))
        agreed++;
    else {
        disagreed++;
        if (disagreed <= 5)
            diag("disagree on %s body of %zu bytes: proto_decode %d", proto_cmd_name(cmd), len,
                 full);
    }
    return 1;
}

static size_t encode(const proto_msg *m, unsigned char *out, size_t cap)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t n = 0;
    if (proto_encode(m, &sb) == 0 && sb.size <= cap) {
        memcpy(out, sb.data, sb.size);
        n = sb.size;
    }
    msgpack_sbuffer_destroy(&sb);
    return n;
}

/* A map packed by hand: key/value pairs, values given as raw msgpack. */
static size_t hand(unsigned char *out, int npairs, ...)
{
    va_list ap;
    va_start(ap, npairs);
    size_t n = 0;
    out[n++] = (unsigned char)(0x80 | npairs);
    for (int i = 0; i < npairs; i++) {
        const char *k = va_arg(ap, const char *);
        const char *v = va_arg(ap, const char *);
        size_t vlen = va_arg(ap, size_t);
        out[n++] = (unsigned char)(0xa0 | strlen(k));
        memcpy(out + n, k, strlen(k));
        n += strlen(k);
        memcpy(out + n, v, vlen);
        n += vlen;
    }
    va_end(ap);
    return n;
}

int main(void)
{
    static unsigned char body[8192], mut[8192];
    proto_msg m;

    /* Real SUBMITs as the client API writes them. */
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SUBMIT;
    m.rid = 77;
    m.ev.id = "01J9ZK3V8N-heping-7";
    m.ev.kind = GL_KIND_ALERT;
    m.ev.category = "fire";
    m.ev.text = "和平社区3号楼厨房起火，老人被困 kitchen fire, an old man inside";
    m.ev.community = "heping";
    m.ev.compound = "heping-c1";
    m.ev.grid = "heping-g1";
    m.ev.terminal = "desk-1";
    m.ev.address = "3-2-501";
    m.ev.lat = 38.47;
    m.ev.lon = 106.27;
    m.ev.has_coords = 1;
    m.ev.contact = "138 0000 0000";
    m.ev.urgency = "Immediate";
    m.ev.severity = "Severe";
    m.ev.certainty = "Observed";
    size_t alert_len = encode(&m, body, sizeof body);
    ok(alert_len > 0 && check(PROTO_SUBMIT, body, alert_len),
       "a full alert SUBMIT (every field, coordinates as float64) takes the quick way");
    ok(agreed == 1 && disagreed == 0, "with the same result as proto_decode");
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SUBMIT;
    m.ev.id = "r-1";
    m.ev.kind = GL_KIND_REQUEST;
    m.ev.category = "repair";
    m.ev.text = "x";
    unsigned char small[256];
    size_t small_len = encode(&m, small, sizeof small);
    ok(check(PROTO_SUBMIT, small, small_len), "a minimal request takes the quick way");

    /* Other flat commands the broker decodes. */
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_HELLO;
    m.rid = 1;
    m.team = "heping-g1";
    m.member = "li";
    unsigned char hello[256];
    size_t hello_len = encode(&m, hello, sizeof hello);
    ok(check(PROTO_HELLO, hello, hello_len), "HELLO takes the quick way");
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_DONE;
    m.job = 1ull << 33;
    m.client = "\x00\x6b\x8b\x45\x67";
    m.client_len = 5;
    m.origin = "intake";
    unsigned char done[256];
    size_t done_len = encode(&m, done, sizeof done);
    ok(check(PROTO_DONE, done, done_len), "a DONE header (binary client) takes the quick way");
    ok(!check(PROTO_EVENT, body, alert_len), "a command with maps in its table is left to proto_decode");
    /* Keys out of table order: each found wherever the search starts. */
    unsigned char rev[256];
    size_t rev_len = hand(rev, 4, "text", "\xa1x", (size_t)2, "category", "\xa6repair", (size_t)7,
                          "kind", "\xa7request", (size_t)8, "id", "\xa3r-1", (size_t)4);
    long agreed_before = agreed;
    ok(check(PROTO_SUBMIT, rev, rev_len) && agreed == agreed_before + 1,
       "a SUBMIT with its keys in reverse order takes the quick way, with the same result");
    size_t twice_len = hand(rev, 5, "id", "\xa3r-1", (size_t)4, "kind", "\xa7request", (size_t)8,
                            "category", "\xa6repair", (size_t)7, "text", "\xa1x", (size_t)2, "id",
                            "\xa3r-2", (size_t)4);
    ok(!check(PROTO_SUBMIT, rev, twice_len), "a key seen twice is left to proto_decode");

    /* Edge cases: each is left to proto_decode, which accepts or refuses. */
    struct {
        const char *what;
        unsigned char b[128];
        size_t n;
    } edge[24];
    size_t ne = 0;
#define EDGE(w, ...) (edge[ne].what = (w), edge[ne].n = hand(edge[ne].b, __VA_ARGS__), ne++)
    EDGE("a duplicate key", 4, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
         "category", "\xa1" "c", (size_t)2, "id", "\xa1y", (size_t)2);
    EDGE("an unknown key", 5, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
         "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2, "zz", "\x01", (size_t)1);
    EDGE("rid as int8", 5, "rid", "\xd0\x05", (size_t)2, "id", "\xa1x", (size_t)2, "kind",
         "\xa5" "alert", (size_t)6, "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("rid negative", 5, "rid", "\xff", (size_t)1, "id", "\xa1x", (size_t)2, "kind",
         "\xa5" "alert", (size_t)6, "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("lat without lon", 5, "lat", "\x10", (size_t)1, "id", "\xa1x", (size_t)2, "kind",
         "\xa5" "alert", (size_t)6, "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("lat NaN", 6, "lat", "\xcb\x7f\xf8\0\0\0\0\0\0", (size_t)9, "lon", "\x10", (size_t)1,
         "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6, "category", "\xa1" "c",
         (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("lat 91", 6, "lat", "\x5b", (size_t)1, "lon", "\x10", (size_t)1, "id", "\xa1x",
         (size_t)2, "kind", "\xa5" "alert", (size_t)6, "category", "\xa1" "c", (size_t)2, "text",
         "\xa1t", (size_t)2);
    EDGE("lat negative fixint", 6, "lat", "\xf0", (size_t)1, "lon", "\x10", (size_t)1, "id",
         "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6, "category", "\xa1" "c",
         (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("lat and lon as float32", 6, "lat", "\xca\x42\x19\xe1\x48", (size_t)5, "lon",
         "\xca\x42\xd4\x8a\x3d", (size_t)5, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert",
         (size_t)6, "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("an id with a space", 4, "id", "\xa3" "a b", (size_t)4, "kind", "\xa5" "alert",
         (size_t)6, "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("a NUL in the text", 4, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
         "category", "\xa1" "c", (size_t)2, "text", "\xa3t\0t", (size_t)4);
    EDGE("invalid UTF-8 in the text", 4, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert",
         (size_t)6, "category", "\xa1" "c", (size_t)2, "text", "\xa2\xc0\xaf", (size_t)3);
    EDGE("a surrogate in the text", 4, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert",
         (size_t)6, "category", "\xa1" "c", (size_t)2, "text", "\xa3\xed\xa0\x80", (size_t)4);
    EDGE("an unknown kind", 4, "id", "\xa1x", (size_t)2, "kind", "\xa6rumour", (size_t)7,
         "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("kind as a number", 4, "id", "\xa1x", (size_t)2, "kind", "\x07", (size_t)1,
         "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("urgency not in CAP", 5, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
         "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2, "urgency", "\xa3now",
         (size_t)4);
    EDGE("the text as bin", 4, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
         "category", "\xa1" "c", (size_t)2, "text", "\xc4\x01t", (size_t)3);
    EDGE("the text as str8", 4, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
         "category", "\xa1" "c", (size_t)2, "text", "\xd9\x01t", (size_t)3);
    EDGE("the text nil", 4, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
         "category", "\xa1" "c", (size_t)2, "text", "\xc0", (size_t)1);
    EDGE("no text", 3, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
         "category", "\xa1" "c", (size_t)2);
    EDGE("rid above 2^32 (a uint64 field)", 5, "rid", "\xcf\0\0\0\x01\0\0\0\0", (size_t)9,
         "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6, "category", "\xa1" "c",
         (size_t)2, "text", "\xa1t", (size_t)2);
    EDGE("an empty map", 0);
    int ok_edges = 1;
    for (size_t i = 0; i < ne; i++) {
        long before = disagreed;
        check(PROTO_SUBMIT, edge[i].b, edge[i].n);
        if (disagreed != before) {
            ok_edges = 0;
            diag("edge case: %s", edge[i].what);
        }
        /* with a byte after the map, too */
        edge[i].b[edge[i].n] = 0xc0;
        check(PROTO_SUBMIT, edge[i].b, edge[i].n + 1);
        ok_edges &= disagreed == before;
    }
    ok(ok_edges, "%zu edge cases: never accepted where proto_decode refuses or differs", ne);
    {
        unsigned char b[64];
        size_t n = hand(b, 4, "id", "\xa1x", (size_t)2, "kind", "\xa5" "alert", (size_t)6,
                        "category", "\xa1" "c", (size_t)2, "text", "\xa1t", (size_t)2);
        proto_msg fm;
        gl_arena a = {0};
        ok(proto_decode_flat(PROTO_SUBMIT, b, n, &fm, &a) == 0 &&
               strcmp(fm.ev.text, "t") == 0 && fm.ev.kind == GL_KIND_ALERT,
           "a hand-packed SUBMIT decodes: text and kind");
        ok(proto_decode_flat(PROTO_SUBMIT, b, n - 1, &fm, &a) == 1, "one byte short: left to proto_decode");
        arena_free(&a);
    }

    /* Random mutations of real bodies: flips, truncations, insertions. */
    srand(20261128);
    const struct {
        int cmd;
        const unsigned char *b;
        size_t n;
    } seeds[] = {{PROTO_SUBMIT, body, alert_len}, {PROTO_SUBMIT, small, small_len},
                 {PROTO_HELLO, hello, hello_len}, {PROTO_DONE, done, done_len}};
    long took_before = flat_took;
    for (int i = 0; i < 200000; i++) {
        int s = rand() % 4;
        size_t n = seeds[s].n;
        memcpy(mut, seeds[s].b, n);
        int edits = 1 + rand() % 3;
        for (int e = 0; e < edits; e++) {
            int how = rand() % 4;
            size_t at = n ? (size_t)rand() % n : 0;
            if (how == 0 && n)
                mut[at] = (unsigned char)rand();
            else if (how == 1 && n)
                mut[at] ^= (unsigned char)(1u << (rand() % 8));
            else if (how == 2 && n)
                n = at;
            else if (n + 1 < sizeof mut) {
                memmove(mut + at + 1, mut + at, n - at);
                mut[at] = (unsigned char)rand();
                n++;
            }
        }
        /* a copy of the exact size, so that ASan sees any read past it */
        unsigned char *exact = malloc(n ? n : 1);
        memcpy(exact, mut, n);
        check(seeds[s].cmd, exact, n);
        free(exact);
    }
    diag("mutations: proto_decode accepted %ld of all bodies; the quick way took %ld mutants",
         accepted, flat_took - took_before);
    ok(flat_took - took_before > 1000, "the quick way took many mutants (the test is not vacuous)");
    is_int(disagreed, 0, "never accepted what proto_decode refuses, never decoded differently");
    arena_free(&arena_flat);
    arena_free(&arena_full);
    return done_testing();
}
