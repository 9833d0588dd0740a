/* End to end: a worker decodes a JOB's inner body trusting only what the
 * broker vouches for (session 8, workers/jobbody.c).
 *
 * The worker skips the UTF-8 walk of a JOB's inner body, which the broker
 * has decoded with every check before it forwarded it. Everything else is
 * still checked. Here the test is the broker: a ROUTER on the workers'
 * endpoint, a real worker (--single-messages, so that each reply comes as a
 * DONE of its own) on a fresh store, and JOBs whose SUBMIT bodies no real
 * broker would forward:
 *
 *   (a) each malformed body (not msgpack, truncated, not a map, a field of
 *       the wrong type, a required field missing, an id with a space, a
 *       text over its limit, a NUL byte in a string, an urgency not in
 *       CAP's list, an unknown kind) is answered with the ERROR the full
 *       decoder gives it (bad_body, bad_field, missing_field,
 *       unknown_kind), the worker stays up, and nothing is filed;
 *   (b) a text that is not UTF-8 — what the broker checks — is answered
 *       (the worker relies on the broker there and files it) and the
 *       worker stays up;
 *   (c) a good SUBMIT after all of them is FILED, with seq 2: only (b)'s
 *       event was filed before it. */
#include "../proto/frame.h"
#include "../proto/proto.h"
#include "support/testlib.h"
#include "tap.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void *router;
static char worker_id[256];
static size_t worker_id_len;
static uint64_t next_job = 1;

/* wait_ready waits for the worker's READY and keeps its identity. */
static int wait_ready(int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 200) {
        frame_msg fm;
        int rc = frame_recv(router, 1, 0, &fm);
        if (rc == 0 && fm.cmd == PROTO_READY) {
            size_t len;
            const void *id = frame_identity(&fm, &len);
            if (id && len <= sizeof worker_id) {
                memcpy(worker_id, id, len);
                worker_id_len = len;
                frame_close(&fm);
                return 0;
            }
        }
        frame_close(&fm);
    }
    return -1;
}

/* job sends a JOB carrying a SUBMIT of body (len bytes), then waits for
 * its DONE: returns the inner command (PROTO_FILED, PROTO_ERROR) with the
 * decoded reply in *out, or PROTO_NONE when none came in time. */
static int job(const void *body, size_t len, proto_msg *out, gl_arena *arena)
{
    proto_msg hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.cmd = PROTO_JOB;
    uint64_t id = next_job++;
    hdr.job = id;
    hdr.client = "terminal-1";
    hdr.client_len = 10;
    hdr.origin = "intake";
    hdr.lane = "routine";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (proto_encode(&hdr, &sb) != 0 ||
        frame_send(router, worker_id, worker_id_len, PROTO_JOB, sb.data, sb.size, PROTO_SUBMIT,
                   body, len, 0) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return PROTO_NONE;
    }
    msgpack_sbuffer_destroy(&sb);
    /* At most 10 s (the receive timeout is 200 ms): HEARTBEATs and
     * REPORTs of the worker are skipped. */
    for (int tries = 0; tries < 50; tries++) {
        frame_msg fm;
        int rc = frame_recv(router, 1, 0, &fm);
        if (rc == 0 && fm.cmd == PROTO_DONE) {
            size_t hlen, blen;
            const void *h = frame_body(&fm, &hlen);
            const void *b = frame_inner_body(&fm, &blen);
            proto_msg done;
            int inner = fm.inner_cmd;
            if (proto_decode(PROTO_DONE, h, hlen, &done, arena, NULL, 0) == 0 && done.job == id &&
                proto_decode(inner, b, blen, out, arena, NULL, 0) == 0) {
                frame_close(&fm);
                return inner;
            }
        }
        frame_close(&fm);
    }
    return PROTO_NONE;
}

/* A SUBMIT body, packed by hand so that it can be wrong. Each field is
 * written unless its value is NULL; text_len: the text's bytes. */
typedef struct sub {
    const char *id, *kind, *category, *text, *urgency;
    size_t text_len;
    int text_as_int; /* "text": 7 */
} sub;

static void pack_sub(msgpack_sbuffer *sb, const sub *s)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    int n = 2; /* community, grid */
    n += !!s->id + !!s->kind + !!s->category + (s->text || s->text_as_int) + !!s->urgency;
    msgpack_pack_map(&pk, (size_t)n);
#define KV(k, v)                                                                                  \
    do {                                                                                          \
        msgpack_pack_str_with_body(&pk, k, strlen(k));                                            \
        msgpack_pack_str_with_body(&pk, v, strlen(v));                                            \
    } while (0)
    if (s->id)
        KV("id", s->id);
    if (s->kind)
        KV("kind", s->kind);
    if (s->category)
        KV("category", s->category);
    if (s->text_as_int) {
        msgpack_pack_str_with_body(&pk, "text", 4);
        msgpack_pack_int(&pk, 7);
    } else if (s->text) {
        msgpack_pack_str_with_body(&pk, "text", 4);
        msgpack_pack_str_with_body(&pk, s->text, s->text_len ? s->text_len : strlen(s->text));
    }
    KV("community", "heping");
    KV("grid", "heping-g1");
    if (s->urgency)
        KV("urgency", s->urgency);
#undef KV
}

int main(void)
{
    tl_env env;
    tl_setup(&env, "trustedjob");
    void *ctx = zmq_ctx_new();
    router = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0, timeout = 200;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind(router, env.workers) != 0) {
        printf("Bail out! cannot bind %s\n", env.workers);
        return 1;
    }
    static const char *const extra[] = {"--single-messages", NULL};
    pid_t w = tl_worker(&env, "w1", extra);
    if (wait_ready(20000) != 0) {
        printf("Bail out! the worker sent no READY\n");
        return 1;
    }

    gl_arena arena = {0};
    proto_msg out;
    static char long_text[GL_MAX_TEXT + 2];
    memset(long_text, 'a', sizeof long_text - 1);
    const char nul_text[] = "a\0b";
    const sub good = {"tj-good", "request", "repair", "水管漏水", NULL, 0, 0};

    /* (a) */
    struct {
        const char *what;
        sub s;
        const char *raw; /* sent as it is instead of s, raw_len bytes */
        size_t raw_len;
        const char *code; /* the ERROR's name */
    } bad[] = {
        {"not msgpack", {0}, "\xc1\xc1", 2, "bad_body"},
        {"a truncated map", {0}, "\x85\xa2id\xa7tj", 8, "bad_body"},
        {"not a map", {0}, "\x93\x01\x02\x03", 4, "bad_body"},
        {"text an integer", {"tj-a1", "request", "repair", NULL, NULL, 0, 1}, NULL, 0,
         "bad_field"},
        {"category missing", {"tj-a2", "request", NULL, "无类别", NULL, 0, 0}, NULL, 0,
         "missing_field"},
        {"an id with a space", {"tj a3", "request", "repair", "文本", NULL, 0, 0}, NULL, 0,
         "bad_field"},
        {"a text over its limit", {"tj-a4", "request", "repair", long_text, NULL, 0, 0}, NULL,
         0, "bad_field"},
        {"a NUL byte in the text", {"tj-a5", "request", "repair", nul_text, NULL, 3, 0}, NULL,
         0, "bad_field"},
        {"an urgency not in CAP's list", {"tj-a6", "request", "repair", "文本", "Soonish", 0, 0},
         NULL, 0, "bad_field"},
        {"an unknown kind", {"tj-a7", "rumour", "repair", "文本", NULL, 0, 0}, NULL, 0,
         "unknown_kind"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        if (!bad[i].raw)
            pack_sub(&sb, &bad[i].s);
        const void *body = bad[i].raw ? (const void *)bad[i].raw : sb.data;
        size_t len = bad[i].raw ? bad[i].raw_len : sb.size;
        arena_reset(&arena);
        int cmd = job(body, len, &out, &arena);
        ok(cmd == PROTO_ERROR && strcmp(gl_errname(-(int)out.code), bad[i].code) == 0,
           "(a) %s: ERROR %s (got %s %s: %s)", bad[i].what, bad[i].code,
           cmd ? proto_cmd_name(cmd) : "nothing",
           cmd == PROTO_ERROR ? gl_errname(-(int)out.code) : "",
           cmd == PROTO_ERROR && out.reason ? out.reason : "");
        ok(tl_alive(w), "(a) the worker is up after %s", bad[i].what);
        msgpack_sbuffer_destroy(&sb);
    }

    /* (b) a lone continuation byte and a surrogate */
    static const char not_utf8[] = "bad \x80 text \xed\xa0\x80";
    sub b = {"tj-b", "request", "repair", not_utf8, NULL, sizeof not_utf8 - 1, 0};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_sub(&sb, &b);
    arena_reset(&arena);
    int cmd = job(sb.data, sb.size, &out, &arena);
    ok(cmd == PROTO_FILED, "(b) a text that is not UTF-8 is answered: filed (%s)",
       cmd ? proto_cmd_name(cmd) : "nothing");
    ok(tl_alive(w), "(b) the worker is up");
    /* A worker that checked the UTF-8 again answers bad_field here, and
     * then files (c) with seq 1. */
    msgpack_sbuffer_destroy(&sb);

    /* (c) */
    msgpack_sbuffer_init(&sb);
    pack_sub(&sb, &good);
    arena_reset(&arena);
    cmd = job(sb.data, sb.size, &out, &arena);
    ok(cmd == PROTO_FILED && out.ev.id && strcmp(out.ev.id, "tj-good") == 0,
       "(c) a good SUBMIT after them is FILED (%s)", cmd ? proto_cmd_name(cmd) : "nothing");
    is_int(cmd == PROTO_FILED ? (int)out.ev.seq : -1, 2,
           "(c) with seq 2: of the bodies before it, only (b)'s was filed");
    msgpack_sbuffer_destroy(&sb);
    ok(tl_alive(w), "(c) the worker is up");

    arena_free(&arena);
    tl_stop(w);
    zmq_close(router);
    zmq_ctx_term(ctx);
    return done_testing();
}
