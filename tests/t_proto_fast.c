/* Unit tests for the hot paths of proto/ (issue 7): an event map encoded
 * once and spliced into DISPATCH bodies, the map cut without "contact",
 * PROTO_ENC_TRUSTED, and the decoder's faster UTF-8 check and key lookup.
 * What a responder receives must be the same bytes proto_encode makes, and
 * the checks that guard the wire must still refuse what they refused. */
#include "../proto/proto.h"
#include "tap.h"
#include "support/utf8_ref.h"

#include <stdlib.h>
#include <string.h>

static msgpack_sbuffer sb_plain, sb_splice, sb_map, sb_cut;

static gl_event event_full(void);
static proto_msg dispatch_of(const gl_event *ev, const char *team, const char *role);

static void reset(void)
{
    sb_plain.size = sb_splice.size = sb_map.size = sb_cut.size = 0;
}

static int same_bytes(const msgpack_sbuffer *a, const msgpack_sbuffer *b)
{
    return a->size == b->size && a->size > 0 && memcmp(a->data, b->data, a->size) == 0;
}

/* decoder_accepts: whether a SUBMIT whose text is s (n bytes, no NUL) gets
 * past the decoder's UTF-8 check. */
static msgpack_sbuffer sb_submit;

static int decoder_accepts(const unsigned char *s, size_t n)
{
    msgpack_sbuffer sb = sb_submit;
    sb.size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "u-1", 3);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "request", 7);
    msgpack_pack_str_with_body(&pk, "category", 8);
    msgpack_pack_str_with_body(&pk, "noise", 5);
    msgpack_pack_str_with_body(&pk, "text", 4);
    msgpack_pack_str_with_body(&pk, s, n);
    gl_arena arena = {0};
    proto_msg m;
    char err[160];
    int rc = proto_decode(PROTO_SUBMIT, sb.data, sb.size, &m, &arena, err, sizeof err);
    arena_free(&arena);
    if (rc && !strstr(err, "not valid UTF-8"))
        printf("# unexpected: %s\n", err);
    sb_submit = sb; /* it may have grown */
    return rc == 0;
}

/* check_utf8 compares decoder and reference on seq after each ASCII prefix
 * of 0..11 bytes (the word-at-a-time walk starts and stops at every place)
 * and before an ASCII tail; counts disagreements. */
static int check_utf8(const unsigned char *seq, size_t n)
{
    unsigned char buf[64];
    int wrong = 0;
    for (size_t pre = 0; pre < 12; pre += 1) {
        for (size_t tail = 0; tail < 10; tail += 9) {
            memset(buf, 'a', pre);
            memcpy(buf + pre, seq, n);
            memset(buf + pre + n, 'z', tail);
            size_t len = pre + n + tail;
            if (memchr(buf, 0, len))
                continue;
            wrong += decoder_accepts(buf, len) != utf8_reference(buf, len);
        }
    }
    return wrong;
}

static void test_utf8(void)
{
    static const unsigned char cont[] = {0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
    int wrong = 0;
    long tried = 0;
    unsigned char seq[4];
    for (unsigned a = 1; a < 256; a++) {
        seq[0] = (unsigned char)a;
        wrong += check_utf8(seq, 1), tried++;
        for (unsigned b = 1; b < 256; b++) {
            seq[1] = (unsigned char)b;
            if (a >= 0xc0 || b >= 0x80)
                wrong += check_utf8(seq, 2), tried++;
            if (a < 0xe0)
                continue;
            for (size_t c = 0; c < sizeof cont; c++) {
                seq[2] = cont[c];
                wrong += check_utf8(seq, 3), tried++;
                if (a < 0xf0)
                    continue;
                for (size_t d = 0; d < sizeof cont; d += 3) {
                    seq[3] = cont[d];
                    wrong += check_utf8(seq, 4), tried++;
                }
            }
        }
    }
    /* Random strings, mostly valid 3-byte text with a fault now and then. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        unsigned char s[40];
        size_t n = 0;
        while (n + 3 <= sizeof s) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (x % 5 == 0) {
                s[n++] = (unsigned char)(1 + x % 127);
            } else {
                uint32_t cp = 0x4e00 + (uint32_t)(x >> 8) % 0x5000;
                s[n++] = (unsigned char)(0xe0 | cp >> 12);
                s[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
                s[n++] = (unsigned char)(0x80 | (cp & 0x3f));
            }
        }
        if (x % 3 == 0)
            s[(x >> 20) % n] ^= (unsigned char)(1u << ((x >> 30) % 8));
        if (memchr(s, 0, n))
            continue;
        wrong += decoder_accepts(s, n) != utf8_reference(s, n), tried++;
    }
    is_int(wrong, 0, "the decoder's UTF-8 check agrees with the reference on %ld inputs", tried);
}

/* repacked_same: whether msgpack-c, unpacking body and packing it again,
 * makes the same bytes: the encoder chose msgpack-c's forms throughout. */
static int repacked_same(const msgpack_sbuffer *body)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int same = 0;
    if (msgpack_unpack_next(&u, body->data, body->size, &off) == MSGPACK_UNPACK_SUCCESS &&
        off == body->size) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, u.data);
        same = sb.size == body->size && memcmp(sb.data, body->data, sb.size) == 0;
        msgpack_sbuffer_destroy(&sb);
    }
    msgpack_unpacked_destroy(&u);
    return same;
}

/* Every form of every kind of value the encoder writes, at its bounds. */
static void test_forms(void)
{
    static const uint64_t uints[] = {1, 127, 128, 255, 256, 65535, 65536, 4294967295ull,
                                     4294967296ull, UINT64_MAX};
    /* each int form a coordinate can take, a float and doubles */
    static const double lats[] = {0, 1, -1, -32, -33, -90, 45, 90, 12.5, -0.25, 39.9042,
                                  -89.999999};
    static const double lons[] = {0, 127, 128, -128, -129, -180, 180, 0.75, 116.397128,
                                  -179.5, 33, -33};
    static const size_t lens[] = {1, 31, 32, 255, 256, 4000};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int bad = 0, n = 0;
    char *text = malloc(4001);
    memset(text, 'x', 4000);
    gl_event ev = event_full();
    for (size_t i = 0; i < GL_ARRAY_LEN(uints); i++)
        for (size_t c = 0; c < GL_ARRAY_LEN(lats); c++) {
            size_t len = lens[(i + c) % GL_ARRAY_LEN(lens)];
            text[len] = '\0';
            ev.text = text;
            ev.lat = lats[c];
            ev.lon = lons[(c + i) % GL_ARRAY_LEN(lons)];
            ev.created_ms = uints[i];
            ev.plan_step = (uint32_t)uints[(i + 3) % GL_ARRAY_LEN(uints)];
            proto_msg m = dispatch_of(&ev, "t", "grid");
            m.rid = uints[i];
            m.attempts = (uint32_t)uints[(i + 5) % GL_ARRAY_LEN(uints)];
            sb.size = 0;
            bad += proto_encode(&m, &sb) != 0 || !repacked_same(&sb), n++;
            text[len] = 'x';
        }
    /* arrays of 0, 15, 16 and 17 maps; a bin; booleans; a carried map */
    gl_event evs[17];
    for (size_t k = 0; k < 17; k++)
        evs[k] = event_full();
    static const size_t counts[] = {0, 15, 16, 17};
    for (size_t i = 0; i < GL_ARRAY_LEN(counts); i++) {
        proto_msg m;
        memset(&m, 0, sizeof m);
        m.cmd = PROTO_LISTING;
        m.events = evs;
        m.nevents = counts[i];
        m.next = "cursor";
        sb.size = 0;
        bad += proto_encode(&m, &sb) != 0 || !repacked_same(&sb), n++;
    }
    unsigned char client[255];
    memset(client, 7, sizeof client);
    for (size_t len = 1; len <= 255; len += 127) {
        proto_msg m;
        memset(&m, 0, sizeof m);
        m.cmd = PROTO_DONE;
        m.job = 300;
        m.client = client;
        m.client_len = len;
        m.origin = "intake";
        sb.size = 0;
        bad += proto_encode(&m, &sb) != 0 || !repacked_same(&sb), n++;
    }
    proto_msg f;
    memset(&f, 0, sizeof f);
    f.cmd = PROTO_FILED;
    f.ev.id = "x";
    f.ev.seq = 70000;
    f.ev.kind = GL_KIND_REQUEST;
    f.ev.state = GL_EV_FILED;
    f.duplicate = 1;
    sb.size = 0;
    bad += proto_encode(&f, &sb) != 0 || !repacked_same(&sb), n++;
    static const unsigned char figures[] = {0x82, 0xa1, 'a', 0xcd, 0x01, 0x00, 0xa1, 'b', 0x90};
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_REPORT;
    r.worker = "w1";
    r.store_figures = figures;
    r.store_figures_len = sizeof figures;
    sb.size = 0;
    bad += proto_encode(&r, &sb) != 0 || !repacked_same(&sb) ||
               memmem(sb.data, sb.size, figures, sizeof figures) == NULL, n++;
    free(text);
    msgpack_sbuffer_destroy(&sb);
    is_int(bad, 0, "the encoder writes msgpack-c's forms (%d bodies packed again alike)", n);
}

/* Keys in any order, unknown keys and repeated keys, with the lookup that
 * tries the next row first. */
static void test_key_order(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "text", 4);
    msgpack_pack_str_with_body(&pk, "t", 1);
    msgpack_pack_str_with_body(&pk, "zzz", 3);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "category", 8);
    msgpack_pack_str_with_body(&pk, "noise", 5);
    msgpack_pack_str_with_body(&pk, "id\0x", 4); /* not "id" */
    msgpack_pack_str_with_body(&pk, "u-9", 3);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "request", 7);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "u-1", 3);
    gl_arena arena = {0};
    proto_msg m;
    char err[160];
    is_int(proto_decode(PROTO_SUBMIT, sb.data, sb.size, &m, &arena, err, sizeof err), 0,
           "keys out of order decode");
    is_str(m.ev.id, "u-1", "a key with a NUL byte is not 'id'");
    is_str(m.ev.category, "noise", "category found out of order");
    /* The same key twice is still refused. */
    sb.size = 0;
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "u-1", 3);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "u-2", 3);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "request", 7);
    is_int(proto_decode(PROTO_SUBMIT, sb.data, sb.size, &m, &arena, err, sizeof err),
           GL_EBADFIELD, "a key given twice is refused (%s)", err);
    arena_free(&arena);
    msgpack_sbuffer_destroy(&sb);
}

static gl_event event_full(void)
{
    gl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.id = "t-42-0001";
    ev.seq = 42;
    ev.kind = GL_KIND_ALERT;
    ev.category = "fire";
    ev.text = "三楼厨房冒烟，楼道里有焦味。Smoke on the third floor.";
    ev.community = "heping";
    ev.compound = "heping-c3";
    ev.grid = "heping-g1";
    ev.terminal = "box-17";
    ev.address = "和平路 12 号";
    ev.has_coords = 1;
    ev.lat = 39.9042;
    ev.lon = 116.5;
    ev.contact = "138-0000-0000";
    ev.urgency = "Immediate";
    ev.severity = "Severe";
    ev.certainty = "Observed";
    ev.state = GL_EV_FILED;
    ev.team = "heping-grid-1";
    ev.created_ms = 1764300000000ull;
    ev.updated_ms = 1764300000123ull;
    ev.plan_step = 1;
    ev.escalate_at_ms = 1764300060000ull;
    ev.alarm = "unanswered";
    ev.sign_by_ms = 1764300600000ull;
    return ev;
}

static proto_msg dispatch_of(const gl_event *ev, const char *team, const char *role)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_DISPATCH;
    m.event = ev->id;
    m.team = team;
    m.role = role;
    m.state = GL_DS_PENDING;
    m.attempts = 3;
    m.ev = *ev;
    return m;
}

/* The DISPATCH of ev to one team, with and without the contact, both ways:
 * proto_encode of the whole message, and the map made once and spliced. */
static void check_splice(const gl_event *ev, const char *what)
{
    reset();
    is_int(proto_encode_event(ev, PROTO_ENC_TRUSTED, &sb_map), 0, "%s: the map encodes", what);
    is_int(proto_map_without(sb_map.data, sb_map.size, "contact", &sb_cut), 0,
           "%s: the map without contact is cut", what);

    proto_msg m = dispatch_of(ev, "heping-grid-1", "grid");
    is_int(proto_encode(&m, &sb_plain), 0, "%s: DISPATCH with contact encodes", what);
    proto_msg spliced = m;
    memset(&spliced.ev, 0, sizeof spliced.ev);
    spliced.ev.seq = ev->seq;
    is_int(proto_encode_ex(&spliced, PROTO_ENC_TRUSTED, sb_map.data, sb_map.size, &sb_splice), 0,
           "%s: DISPATCH with the map spliced encodes", what);
    ok(same_bytes(&sb_plain, &sb_splice), "%s: spliced DISPATCH is byte for byte proto_encode's",
       what);

    sb_plain.size = sb_splice.size = 0;
    m.role = "informed";
    m.ev.contact = NULL;
    is_int(proto_encode(&m, &sb_plain), 0, "%s: DISPATCH without contact encodes", what);
    spliced.role = "informed";
    is_int(proto_encode_ex(&spliced, 0, sb_cut.data, sb_cut.size, &sb_splice), 0,
           "%s: DISPATCH with the cut map encodes", what);
    ok(same_bytes(&sb_plain, &sb_splice),
       "%s: the cut map gives proto_encode's bytes without contact", what);

    /* What a responder decodes from the spliced body. */
    gl_arena arena = {0};
    proto_msg got;
    char err[160];
    is_int(proto_decode(PROTO_DISPATCH, sb_splice.data, sb_splice.size, &got, &arena, err,
                        sizeof err), 0, "%s: the spliced DISPATCH decodes", what);
    is_str(got.ev.text, ev->text, "%s: its detail has the text", what);
    ok(got.ev.contact == NULL, "%s: and no contact", what);
    is_int((long long)got.ev.seq, (long long)ev->seq, "%s: and the seq", what);
    arena_free(&arena);
}

int main(void)
{
    msgpack_sbuffer_init(&sb_plain);
    msgpack_sbuffer_init(&sb_splice);
    msgpack_sbuffer_init(&sb_map);
    msgpack_sbuffer_init(&sb_cut);

    /* 24 fields: a map16 header with the contact, and still one without. */
    gl_event full = event_full();
    check_splice(&full, "full event");

    /* 16 fields with the contact, 15 without: the header changes form
     * (map16 to fixmap) when the contact is cut. */
    gl_event sixteen = full;
    sixteen.alarm = NULL;
    sixteen.sign_by_ms = 0;
    sixteen.escalate_at_ms = 0;
    sixteen.plan_step = 0;
    sixteen.team = NULL;
    sixteen.urgency = sixteen.severity = sixteen.certainty = NULL;
    check_splice(&sixteen, "16-field event");
    ok((unsigned char)sb_map.data[0] == 0xde && sb_map.data[2] == 16 &&
       (unsigned char)sb_cut.data[0] == 0x8f,
       "16-field event: map16 with the contact, fixmap of 15 without");

    /* A small event without a contact: the cut map is the map itself. */
    gl_event small;
    memset(&small, 0, sizeof small);
    small.id = "r-1";
    small.kind = GL_KIND_REQUEST;
    small.category = "noise";
    small.text = "loud music";
    small.state = GL_EV_FILED;
    check_splice(&small, "small event");
    reset();
    proto_encode_event(&small, 0, &sb_map);
    proto_map_without(sb_map.data, sb_map.size, "contact", &sb_cut);
    ok(same_bytes(&sb_map, &sb_cut), "a map without the key is copied as it is");

    /* A detail given to a body that has no event map, or not a map. */
    reset();
    proto_msg notice;
    memset(&notice, 0, sizeof notice);
    notice.cmd = PROTO_NOTICE;
    notice.event = "r-1";
    notice.team = "t";
    notice.what = "taken";
    proto_encode_event(&small, 0, &sb_map);
    is_int(proto_encode_ex(&notice, 0, sb_map.data, sb_map.size, &sb_plain), GL_EBADFIELD,
           "an event map for a NOTICE is refused");
    proto_msg d = dispatch_of(&small, "t", "grid");
    static const unsigned char not_a_map[] = {0x92, 0x01, 0x02};
    is_int(proto_encode_ex(&d, 0, not_a_map, sizeof not_a_map, &sb_plain), GL_EBADFIELD,
           "a detail that is not a map is refused");
    is_int((long long)sb_plain.size, 0, "and nothing is written");

    /* proto_map_without refuses what is not one whole map. */
    reset();
    is_int(proto_map_without(not_a_map, sizeof not_a_map, "contact", &sb_cut), GL_EBADBODY,
           "map_without: an array is refused");
    proto_encode_event(&full, 0, &sb_map);
    is_int(proto_map_without(sb_map.data, sb_map.size - 1, "contact", &sb_cut), GL_EBADBODY,
           "map_without: a truncated map is refused");
    is_int(proto_map_without(sb_map.data, 0, "contact", &sb_cut), GL_EBADBODY,
           "map_without: nothing is refused");
    static const unsigned char lying[] = {0x83, 0xa1, 'a', 0x01}; /* 3 entries, 1 there */
    is_int(proto_map_without(lying, sizeof lying, "a", &sb_cut), GL_EBADBODY,
           "map_without: a map shorter than its count is refused");

    /* Trusted: UTF-8 is not walked again, but ids, lengths and value lists
     * still guard the wire; untrusted, bad UTF-8 is refused as before. */
    reset();
    gl_event bad = small;
    bad.text = "caf\xc3"; /* a cut character */
    is_int(proto_encode_event(&bad, 0, &sb_map), GL_EBADFIELD, "untrusted: bad UTF-8 is refused");
    d = dispatch_of(&bad, "t", "grid");
    is_int(proto_encode(&d, &sb_plain), GL_EBADFIELD, "proto_encode still refuses bad UTF-8");
    bad = small;
    bad.id = "has space";
    is_int(proto_encode_event(&bad, PROTO_ENC_TRUSTED, &sb_map), GL_EBADFIELD,
           "trusted: a bad id is still refused");
    bad = small;
    bad.urgency = "Soon";
    is_int(proto_encode_event(&bad, PROTO_ENC_TRUSTED, &sb_map), GL_EBADFIELD,
           "trusted: a value not in the list is still refused");
    bad = small;
    char *longtext = malloc(GL_MAX_TEXT + 2);
    memset(longtext, 'x', GL_MAX_TEXT + 1);
    longtext[GL_MAX_TEXT + 1] = '\0';
    bad.text = longtext;
    is_int(proto_encode_event(&bad, PROTO_ENC_TRUSTED, &sb_map), GL_EBADFIELD,
           "trusted: a text over the limit is still refused");
    free(longtext);
    is_int((long long)sb_map.size, 0, "nothing is written by a refused encode");

    /* The decoder keeps telling what is wrong, in the same words. */
    {
        static const unsigned char body[] = {0x84, 0xa2, 'i', 'd', 0xa1, 'x', 0xa4, 'k', 'i',
                                             'n', 'd', 0xa5, 'a', 'l', 'e', 'r', 't',
                                             0xa4, 't', 'e', 'x', 't', 0xa1, 'y',
                                             0xa7, 'u', 'r', 'g', 'e', 'n', 'c', 'y', 0xa2,
                                             0xc3, 0x28};
        gl_arena arena = {0};
        proto_msg got;
        char err[160];
        proto_decode(PROTO_SUBMIT, body, sizeof body, &got, &arena, err, sizeof err);
        ok(strstr(err, "'urgency' is not valid UTF-8") != NULL,
           "decoder: a listed field with bad UTF-8 is named as such (%s)", err);
        arena_free(&arena);
    }

    /* proto_event_same / proto_event_copy */
    gl_arena arena = {0};
    gl_event copy;
    is_int(proto_event_copy(&copy, &full, &arena), 0, "an event is copied");
    ok(copy.text != full.text && proto_event_same(&copy, &full), "the copy is the same event");
    char text[64];
    strcpy(text, "loud music");
    gl_event other = small;
    other.text = text;
    ok(proto_event_same(&other, &small), "strings are compared by content");
    text[0] = 'L';
    ok(!proto_event_same(&other, &small), "a changed string makes another event");
    other = small;
    other.seq = 7;
    ok(!proto_event_same(&other, &small), "another seq makes another event");
    other = small;
    other.contact = "x";
    ok(!proto_event_same(&other, &small), "a contact makes another event");
    other = full;
    other.lat = 1.5;
    ok(!proto_event_same(&other, &full), "other coordinates make another event");
    arena_free(&arena);

    test_forms();
    test_key_order();
    msgpack_sbuffer_init(&sb_submit);
    test_utf8();
    msgpack_sbuffer_destroy(&sb_submit);

    msgpack_sbuffer_destroy(&sb_plain);
    msgpack_sbuffer_destroy(&sb_splice);
    msgpack_sbuffer_destroy(&sb_map);
    msgpack_sbuffer_destroy(&sb_cut);
    return done_testing();
}
