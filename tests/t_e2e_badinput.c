/* End to end: hostile and malformed input on every endpoint. Each bad
 * message on intake and responders gets an ERROR with the right code; the
 * workers endpoint drops them; nothing is stored; no process dies; and the
 * service then files and dispatches as before. */
#include "../common/store.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void *ctx;

static void *dealer(const char *ep)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, timeout = 3000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_connect(s, ep);
    return s;
}

static void send_frames(void *s, const void *const *parts, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        zmq_send(s, parts[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0);
}

/* Receives one reply; returns the ERROR code, 0 for another command, -1 for
 * no reply. */
static int reply_code(void *s)
{
    char sig[8], cmd[32];
    static char body[70000];
    int n1 = zmq_recv(s, sig, sizeof sig, 0);
    if (n1 < 0)
        return -1;
    int n2 = zmq_recv(s, cmd, sizeof cmd - 1, 0);
    int n3 = zmq_recv(s, body, sizeof body, 0);
    if (n2 < 0 || n3 < 0)
        return -1;
    cmd[n2] = '\0';
    if (strcmp(cmd, "ERROR") != 0)
        return 0;
    proto_msg m;
    gl_arena a = {0};
    int code = proto_decode(PROTO_ERROR, body, (size_t)n3, &m, &a, NULL, 0) == 0 ? (int)m.code : -1;
    arena_free(&a);
    return code;
}

static size_t pack_submit(char *out, size_t cap, const char *kind_str, int kind_int, int with_text)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, with_text ? 4 : 3);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "bad-1", 5);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    if (kind_str)
        msgpack_pack_str_with_body(&pk, kind_str, strlen(kind_str));
    else
        msgpack_pack_int(&pk, kind_int);
    msgpack_pack_str_with_body(&pk, "category", 8);
    msgpack_pack_str_with_body(&pk, "repair", 6);
    if (with_text) {
        msgpack_pack_str_with_body(&pk, "text", 4);
        msgpack_pack_str_with_body(&pk, "x", 1);
    }
    size_t n = sb.size < cap ? sb.size : cap;
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

int main(void)
{
    tl_env env;
    tl_setup(&env, "badinput");
    pid_t b = tl_broker(&env, NULL);
    pid_t w1 = tl_worker(&env, "w1", NULL);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! service did not come up\n");
        return 1;
    }
    ctx = zmq_ctx_new();
    void *in = dealer(env.intake);

    char body[256];
    size_t good_len = pack_submit(body, sizeof body, "request", 0, 1);
    static char huge[70000];
    memset(huge, 0x80, sizeof huge);
    struct {
        const char *what;
        int n;
        const void *parts[5];
        size_t lens[5];
        int code;
    } cases[] = {
        {"one frame of garbage", 1, {"\x01\x02garbage"}, {9}, 100},
        {"wrong signature", 3, {"XX/1", "SUBMIT", body}, {4, 6, good_len}, 100},
        {"a future version", 3, {"GL/2", "SUBMIT", body}, {4, 6, good_len}, 101},
        {"an unknown command", 3, {"GL/1", "EXPLODE", "\x80"}, {4, 7, 1}, 102},
        {"a body that is not msgpack", 3, {"GL/1", "SUBMIT", "\xc1\xc1"}, {4, 6, 2}, 103},
        {"a truncated map", 3, {"GL/1", "SUBMIT", body}, {4, 6, good_len / 2}, 103},
        {"too many frames", 4, {"GL/1", "SUBMIT", body, "x"}, {4, 6, good_len, 1}, 100},
        {"too few frames", 2, {"GL/1", "SUBMIT"}, {4, 6}, 100},
        {"an oversized body", 3, {"GL/1", "SUBMIT", huge}, {4, 6, sizeof huge}, 107},
        {"a responder command on intake", 3, {"GL/1", "HELLO", "\x80"}, {4, 5, 1}, 102},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        send_frames(in, cases[i].parts, cases[i].lens, cases[i].n);
        is_int(reply_code(in), cases[i].code, "intake: %s gets error %d", cases[i].what, cases[i].code);
    }
    char missing[256], badtype[256], badkind[256];
    size_t lm = pack_submit(missing, sizeof missing, "request", 0, 0);
    size_t lt = pack_submit(badtype, sizeof badtype, NULL, 7, 1);
    size_t lk = pack_submit(badkind, sizeof badkind, "rumour", 0, 1);
    send_frames(in, (const void *[]){"GL/1", "SUBMIT", missing}, (size_t[]){4, 6, lm}, 3);
    is_int(reply_code(in), 104, "intake: a missing field gets missing_field");
    send_frames(in, (const void *[]){"GL/1", "SUBMIT", badtype}, (size_t[]){4, 6, lt}, 3);
    is_int(reply_code(in), 105, "intake: a field of the wrong type gets bad_field");
    send_frames(in, (const void *[]){"GL/1", "SUBMIT", badkind}, (size_t[]){4, 6, lk}, 3);
    is_int(reply_code(in), 106, "intake: an unknown kind gets unknown_kind");

    /* Thousands of random messages on intake and responders: every one is
     * answered with an error. */
    void *resp = dealer(env.responders);
    srand(42);
    int answered = 0, sent = 0;
    for (int i = 0; i < 2000; i++) {
        void *s = i % 2 ? resp : in;
        int nparts = 1 + rand() % 5;
        const void *parts[5];
        size_t lens[5];
        static char junk[5][200];
        for (int p = 0; p < nparts; p++) {
            lens[p] = (size_t)(rand() % 200);
            for (size_t k = 0; k < lens[p]; k++)
                junk[p][k] = (char)rand();
            parts[p] = junk[p];
        }
        if (rand() % 3 == 0) { /* a valid prefix, random body */
            parts[0] = "GL/1";
            lens[0] = 4;
            if (nparts > 1) {
                parts[1] = i % 2 ? "ACK" : "SUBMIT";
                lens[1] = i % 2 ? 3 : 6;
            }
        }
        send_frames(s, parts, lens, nparts);
        sent++;
        answered += reply_code(s) > 0;
    }
    is_int(answered, sent, "%d random messages on intake and responders: each got an error reply", sent);

    /* Garbage on the workers endpoint, posing as a worker. */
    void *fake = dealer(env.workers);
    for (int i = 0; i < 500; i++) {
        char j[64];
        for (size_t k = 0; k < sizeof j; k++)
            j[k] = (char)rand();
        send_frames(fake, (const void *[]){"GL/1", i % 2 ? "DONE" : "READY", j},
                    (size_t[]){4, i % 2 ? 4 : 5, sizeof j}, 3);
    }
    tl_sleep_ms(300);
    ok(tl_alive(b) && tl_alive(w1), "broker and worker are still running");

    /* The service still files and dispatches. */
    client_listener *l = NULL;
    client_listen_open(&l, env.responders, "heping-g1-team", NULL, NULL, NULL, 0);
    client *c = NULL;
    client_open(&c, env.intake, NULL, NULL, 0);
    gl_event ev = {.id = "after-the-storm", .kind = GL_KIND_REQUEST, .category = "repair",
                   .grid = "heping-g1", .text = "路灯不亮"};
    client_filed f;
    is_int(client_submit(c, &ev, &f), 0, "a good event is filed afterwards");
    is_int(f.seq, 1, "and it is the first event in the store: nothing bad was filed");
    gl_arena a = {0};
    int arrived = 0;
    for (int waited = 0; waited < 5000 && !arrived; waited += 100) {
        proto_msg m;
        if (client_listen_next(l, 100, &m, &a) == 0 && m.cmd == PROTO_DISPATCH)
            arrived = strcmp(m.event, "after-the-storm") == 0;
    }
    ok(arrived, "and its dispatch arrives");
    client_close(&c);
    client_listen_close(&l);
    arena_free(&a);
    zmq_close(in);
    zmq_close(resp);
    zmq_close(fake);
    zmq_ctx_term(ctx);
    return done_testing();
}
