/* Unit test for broker/peek: the few keys the broker counts are read from
 * the replies it forwards (FILED, ERROR, DISPATCH) as proto_decode reads
 * them, and a truncated or garbled body is refused without reading outside
 * it. */
#include "../broker/peek.c"
#include "../proto/proto.h"
#include "tap.h"

#include <stdlib.h>

static msgpack_sbuffer buf;

static void encode(const proto_msg *m)
{
    buf.size = 0;
    if (proto_encode(m, &buf) != 0)
        printf("Bail out! could not encode %s\n", proto_cmd_name(m->cmd));
}

int main(void)
{
    msgpack_sbuffer_init(&buf);
    static const char *const keys[] = {"code", "duplicate", "kind", "attempts", "id"};
    peek_value v[5];

    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_FILED;
    m.ev.id = "evt-1";
    m.ev.seq = 70000;
    m.ev.kind = GL_KIND_FEEDBACK;
    m.ev.state = GL_EV_FILED;
    m.duplicate = 1;
    m.rid = 1u << 20;
    encode(&m);
    is_int(peek_map(buf.data, buf.size, keys, v, 5), 0, "FILED: read");
    ok(v[1].type == PEEK_BOOL && v[1].u == 1, "FILED: duplicate is true");
    ok(v[2].type == PEEK_STR && v[2].len == 8 && memcmp(v[2].str, "feedback", 8) == 0,
       "FILED: kind is feedback");
    ok(v[0].type == PEEK_ABSENT && v[3].type == PEEK_ABSENT, "FILED: no code, no attempts");
    ok(v[4].type == PEEK_STR && v[4].len == 5, "FILED: the id");

    memset(&m, 0, sizeof m);
    m.cmd = PROTO_ERROR;
    m.code = 109;
    m.reason = "no such event";
    encode(&m);
    is_int(peek_map(buf.data, buf.size, keys, v, 5), 0, "ERROR: read");
    ok(v[0].type == PEEK_UINT && v[0].u == 109, "ERROR: code 109");

    /* A DONE header: the client's identity is binary. */
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_DONE;
    m.job = 1ull << 40;
    m.client = "\0\x80\x01\x02\x03";
    m.client_len = 5;
    m.origin = "responders";
    encode(&m);
    static const char *const done_keys[] = {"job", "client", "origin"};
    is_int(peek_map(buf.data, buf.size, done_keys, v, 3), 0, "DONE: read");
    ok(v[0].type == PEEK_UINT && v[0].u == 1ull << 40, "DONE: job 2^40");
    ok(v[1].type == PEEK_BIN && v[1].len == 5 && memcmp(v[1].str, "\0\x80\x01\x02\x03", 5) == 0,
       "DONE: client, 5 bytes of binary");
    ok(v[2].type == PEEK_STR && v[2].len == 10, "DONE: origin");

    /* A DISPATCH's detail map is skipped whole, nested keys included. */
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_DISPATCH;
    m.event = "evt-2";
    m.team = "heping-g1";
    m.role = "grid";
    m.state = GL_DS_PENDING;
    m.attempts = 300;
    m.ev.id = "evt-2";
    m.ev.kind = GL_KIND_ALERT;
    m.ev.category = "fire";
    m.ev.text = "厨房起火 kitchen fire";
    m.ev.seq = 5;
    m.ev.state = GL_EV_DISPATCHED;
    encode(&m);
    int rc = peek_map(buf.data, buf.size, keys, v, 5);
    ok(rc == 0 && v[3].type == PEEK_UINT && v[3].u == 300, "DISPATCH: attempts 300");
    ok(v[2].type == PEEK_ABSENT, "DISPATCH: the detail map's kind is not a top-level key");

    uint64_t attempts = 0;
    ok(peek_uint(buf.data, buf.size, "attempts", &attempts) == 1 && attempts == 300,
       "peek_uint: DISPATCH attempts 300");
    ok(peek_uint(buf.data, buf.size, "seq", &attempts) == 1 && attempts == 5,
       "peek_uint: DISPATCH seq 5");
    ok(peek_uint(buf.data, buf.size, "team", &attempts) == 0, "peek_uint: a string is no uint");
    ok(peek_uint(buf.data, buf.size, "kind", &attempts) == 0,
       "peek_uint: the detail map's keys are not top-level keys");

    int refused = 1, same = 1;
    static const char *const attempts_key[] = {"attempts"};
    for (size_t n = 0; n < buf.size; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, buf.data, n);
        refused &= peek_map(copy, n, keys, v, 5) == -1;
        uint64_t u = 0;
        int found = peek_uint(copy, n, "attempts", &u);
        int want = peek_map(copy, n, attempts_key, v, 1) == 0 && v[0].type == PEEK_UINT;
        same &= found == want && (!found || u == v[0].u);
        free(copy);
    }
    ok(refused, "every truncation of a DISPATCH is refused");
    ok(same, "peek_uint finds attempts in a truncated DISPATCH exactly when peek_map does");
    static const char *const attempts_only[] = {"attempts"};
    size_t cut = buf.size - 20; /* inside the detail map, after attempts */
    ok(peek_map(buf.data, cut, attempts_only, v, 1) == 0 && v[0].u == 300,
       "reading stops once every key is found: the detail map is not read");
    ok(peek_map("\x93\x01\x02\x03", 4, keys, v, 5) == -1, "an array is not a map");
    ok(peek_map("\x81\xa4" "code\x05\x00", 8, keys, v, 5) == -1, "trailing bytes are refused");
    ok(peek_map("\x81\xa4" "code\xdd\xff\xff\xff\xff", 10, keys, v, 5) == -1,
       "an array claiming 4G elements in 4 bytes is refused");

    static const char *const code_only[] = {"code"};
    ok(peek_map("\x81\xd9\x04" "code\x05", 8, code_only, v, 1) == 0 && v[0].type == PEEK_UINT &&
           v[0].u == 5,
       "a key in the str8 form is found too");
    ok(peek_map("\x82\xa1x\xd9\x03" "abc\xa4" "code\x07", 14, code_only, v, 1) == 0 &&
           v[0].u == 7,
       "a str8 value of another key is passed over");
    ok(peek_map("\x82\xa1x\xd9\x09" "abc\xa4" "code\x07", 14, code_only, v, 1) == -1,
       "a str8 value longer than the body is refused");
    static const char *const nine[] = {"a", "b", "c", "d", "e", "f", "g", "h", "code"};
    peek_value v9[9];
    ok(peek_map("\x81\xa4" "code\x05", 7, nine, v9, 9) == -1,
       "more than PEEK_MAX_KEYS keys at once are refused");

    /* Random bodies: never read outside (run under ASan: make check SANITIZE=...). */
    srand(7);
    unsigned char junk[64];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(rand() % 64);
        for (size_t k = 0; k < n; k++)
            junk[k] = (unsigned char)rand();
        if (n)
            junk[0] = (unsigned char)(0x80 | (rand() % 16));
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, junk, n);
        (void)peek_map(copy, n, keys, v, 5);
        uint64_t u = 0;
        int found = peek_uint(copy, n, "code", &u);
        int want = peek_map(copy, n, code_only, v, 1) == 0 && v[0].type == PEEK_UINT;
        same &= found == want && (!found || u == v[0].u);
        free(copy);
    }
    ok(1, "20000 random bodies read without a crash");
    ok(same, "on them peek_uint agrees with peek_map");
    msgpack_sbuffer_destroy(&buf);
    return done_testing();
}
