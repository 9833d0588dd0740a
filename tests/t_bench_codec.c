/* Unit test for the load generator's own encoding and decoding
 * (bench/bench_submit.h, bench/bench_msgpack.h): bench_throughput's
 * terminals send SUBMIT bodies written by submit_encode and read replies
 * and DISPATCHes with mp_get, instead of the codec, and must stay the same
 * load and the same matching. Checked here against the codec itself:
 * submit_encode makes proto_encode's bytes for every kind of benchmark
 * event, text length and rid width; the ids are snprintf's; mp_get reads
 * the values proto_decode reads from FILED, BUSY, ERROR and DISPATCH bodies
 * made by proto_encode; and a body cut short anywhere gives no value or the
 * whole one, never a read past its end (SANITIZE=address shows the last). */
#include "../bench/bench_responders.h"
#include "../bench/bench_submit.h"
#include "../proto/proto.h"
#include "tap.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static msgpack_sbuffer sb;

static int encode(const proto_msg *m)
{
    sb.size = 0;
    return proto_encode(m, &sb);
}

/* A copy of the body in a buffer of exactly its size, so that ASan sees a
 * read past the end. */
static unsigned char *exact_copy(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    if (p && n)
        memcpy(p, sb.data, n);
    return p;
}

static void check_submits(void)
{
    static char text[GL_MAX_TEXT + 1];
    static unsigned char fast[SUBMIT_MAX_BODY];
    static const uint64_t rids[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffu,
                                    UINT64_C(0x100000000), UINT64_MAX};
    static const size_t lens[] = {0, 1, 31, 32, 255, 256, 600, 65535 < GL_MAX_TEXT ? 65535 : 4000};
    long cases = 0, same = 0;
    for (int kind = 0; kind < 3; kind++)
        for (size_t l = 0; l < GL_ARRAY_LEN(lens); l++)
            for (size_t r = 0; r < GL_ARRAY_LEN(rids); r++) {
                size_t n = lens[l] > GL_MAX_TEXT ? GL_MAX_TEXT : lens[l];
                memset(text, 'a' + (int)(l % 26), n);
                if (n >= 3)
                    memcpy(text, "楼", 3); /* a 3-byte character first */
                text[n] = '\0';
                proto_msg m;
                memset(&m, 0, sizeof m);
                m.cmd = PROTO_SUBMIT;
                m.rid = rids[r];
                m.ev.id = "0194a2b3c4d5-t07-123456";
                m.ev.text = text;
                m.ev.community = "heping";
                m.ev.terminal = "heping-g1-phone";
                m.ev.contact = "139-0952-0042";
                if (kind == 0) {
                    m.ev.kind = GL_KIND_REQUEST;
                    m.ev.category = "repair";
                    m.ev.grid = "heping-g1";
                } else if (kind == 1) {
                    m.ev.kind = GL_KIND_FEEDBACK;
                    m.ev.category = "elevator";
                    m.ev.compound = "heping-c1";
                } else {
                    m.ev.kind = GL_KIND_ALERT;
                    m.ev.category = "fire";
                    m.ev.grid = "heping-g1";
                    m.ev.urgency = "Immediate";
                    m.ev.severity = "Severe";
                    m.ev.certainty = "Observed";
                }
                if (encode(&m) != 0) /* e.g. an empty text the codec refuses */
                    continue;
                cases++;
                size_t len = submit_encode(fast, sizeof fast, m.rid, &m.ev);
                if (len == sb.size && memcmp(fast, sb.data, len) == 0)
                    same++;
                else
                    diag("kind %d, text %zu bytes, rid %" PRIu64 ": %zu bytes, codec %zu", kind,
                         n, m.rid, len, sb.size);
            }
    ok(cases > 100 && same == cases, "submit_encode makes proto_encode's bytes (%ld of %ld)",
       same, cases);

    proto_msg m;
    memset(&m, 0, sizeof m);
    m.ev.id = "x";
    m.ev.kind = GL_KIND_REQUEST;
    m.ev.text = "t";
    m.ev.has_coords = 1;
    ok(submit_encode(fast, sizeof fast, 5, &m.ev) == 0,
       "submit_encode leaves an event with coordinates to proto_encode");
    m.ev.has_coords = 0;
    ok(submit_encode(fast, 4, 5, &m.ev) == 0, "submit_encode refuses a buffer too small");
}

static void check_ids(void)
{
    static const uint64_t us[] = {0, 1, 0xabcdef, UINT64_C(0x1944f3a2b1c0),
                                  UINT64_C(0xffffffffffffff)};
    static const int idx[] = {0, 7, 10, 99, 1023};
    static const uint64_t no[] = {0, 9, 10, 123456789, UINT64_MAX};
    int same = 0, all = 0;
    for (size_t a = 0; a < GL_ARRAY_LEN(us); a++)
        for (size_t b = 0; b < GL_ARRAY_LEN(idx); b++)
            for (size_t c = 0; c < GL_ARRAY_LEN(no); c++) {
                char want[64], got[64];
                snprintf(want, sizeof want, "%012" PRIx64 "-t%02d-%" PRIu64, us[a], idx[b], no[c]);
                submit_format_id(got, us[a], idx[b], no[c]);
                all++;
                if (strcmp(want, got) == 0)
                    same++;
                else
                    diag("%s, not %s", got, want);
            }
    ok(same == all, "submit_format_id writes what snprintf writes (%d of %d)", same, all);
}

/* Reads key from every strict prefix of the body (each in a buffer of its
 * own size): a prefix that holds the whole value may give it, and it must
 * be the full body's value; any other must be refused. 1 when so. */
static int truncations_safe(const char *key, int as_str)
{
    size_t full = sb.size;
    const char *const keys[] = {key};
    const unsigned char *v[1];
    const char *ws = NULL, *s;
    size_t wn = 0, n;
    uint64_t wx = 0, x;
    unsigned char *whole = exact_copy(full);
    if (!whole || mp_get(whole, full, keys, v, 1) != 0 ||
        (as_str ? mp_str(v[0], whole + full, &ws, &wn) : mp_uint(v[0], whole + full, &wx)) != 0) {
        free(whole);
        return 0;
    }
    int good = 1;
    for (size_t cut = 0; cut < full && good; cut++) {
        unsigned char *p = exact_copy(cut);
        if (!p)
            return 0;
        if (mp_get(p, cut, keys, v, 1) == 0) {
            if (as_str && mp_str(v[0], p + cut, &s, &n) == 0)
                good = n == wn && memcmp(s, ws, n) == 0 && s + n <= (const char *)p + cut;
            else if (!as_str && mp_uint(v[0], p + cut, &x) == 0)
                good = x == wx;
        }
        free(p);
    }
    free(whole);
    return good;
}

static void check_replies(void)
{
    static const char *const keys[] = {"rid", "duplicate", "retry_after_ms", "code", "reason"};
    const unsigned char *v[5];
    uint64_t x = 0;
    const char *s;
    size_t n;
    proto_msg m;

    memset(&m, 0, sizeof m);
    m.cmd = PROTO_FILED;
    m.rid = UINT64_C(0x123456789);
    m.ev.id = "0194a2b3c4d5-t07-1";
    m.ev.seq = 77;
    m.ev.kind = GL_KIND_REQUEST;
    m.ev.state = GL_EV_FILED;
    m.duplicate = 1;
    ok(encode(&m) == 0, "FILED encodes");
    unsigned char *p = exact_copy(sb.size);
    const unsigned char *end = p + sb.size;
    ok(mp_get(p, sb.size, keys, v, 5) == 0 && mp_uint(v[0], end, &x) == 0 && x == m.rid,
       "FILED: the rid read in place is the rid sent");
    ok(v[1] && *v[1] == 0xc3 && !v[2] && !v[3], "FILED: duplicate true; no retry_after_ms, code");
    free(p);
    ok(truncations_safe("rid", 0), "FILED cut short anywhere: no rid, or the whole one");

    memset(&m, 0, sizeof m);
    m.cmd = PROTO_BUSY;
    m.rid = 300;
    m.retry_after_ms = 250;
    ok(encode(&m) == 0, "BUSY encodes");
    p = exact_copy(sb.size);
    end = p + sb.size;
    ok(mp_get(p, sb.size, keys, v, 5) == 0 && mp_uint(v[0], end, &x) == 0 && x == 300 &&
           mp_uint(v[2], end, &x) == 0 && x == 250,
       "BUSY: rid and retry_after_ms as sent");
    free(p);

    memset(&m, 0, sizeof m);
    m.cmd = PROTO_ERROR;
    m.rid = 70000;
    m.code = 301;
    m.reason = "the store is full: try again later (a reason longer than 31 bytes)";
    ok(encode(&m) == 0, "ERROR encodes");
    p = exact_copy(sb.size);
    end = p + sb.size;
    ok(mp_get(p, sb.size, keys, v, 5) == 0 && mp_uint(v[0], end, &x) == 0 && x == 70000 &&
           mp_uint(v[3], end, &x) == 0 && x == 301 && mp_str(v[4], end, &s, &n) == 0 &&
           n == strlen(m.reason) && memcmp(s, m.reason, n) == 0,
       "ERROR: rid, code and reason as sent");
    free(p);
    ok(truncations_safe("reason", 1), "ERROR cut short anywhere: no reason, or the whole one");

    const unsigned char not_map[] = {0x93, 1, 2, 3};
    ok(mp_get(not_map, sizeof not_map, keys, v, 5) != 0, "an array is not read as a map");
}

static void check_dispatch(void)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_DISPATCH;
    m.event = "0194a2b3c4d5-t07-99";
    m.ev.seq = 0;
    m.team = "heping-g1";
    m.role = "grid";
    m.state = GL_DS_PENDING;
    m.attempts = 1;
    m.ev.id = m.event;
    m.ev.kind = GL_KIND_ALERT;
    m.ev.category = "fire";
    m.ev.text = "三楼楼道冒烟，有焦糊味";
    m.ev.grid = "heping-g1";
    m.ev.state = GL_EV_FILED;
    ok(encode(&m) == 0, "DISPATCH with its detail encodes");
    unsigned char *p = exact_copy(sb.size);
    char event[GL_MAX_ID + 1];
    uint64_t seq = 42;
    ok(responders_event_id(p, sb.size, event, sizeof event, &seq) == 0 &&
           strcmp(event, m.event) == 0 && seq == 0,
       "a DISPATCH's event id and seq (0: an early alert DISPATCH) read in place");
    ok(responders_event_id(p, sb.size, event, 8, &seq) != 0,
       "an event id longer than the buffer is refused");
    free(p);
    ok(truncations_safe("event", 1), "a DISPATCH cut short anywhere: no event id, or the whole one");
}

int main(void)
{
    msgpack_sbuffer_init(&sb);
    check_submits();
    check_ids();
    check_replies();
    check_dispatch();
    msgpack_sbuffer_destroy(&sb);
    return done_testing();
}
