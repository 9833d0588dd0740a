/* fuzz_decode.c — libFuzzer target for the wire codec (proto/proto.h).
 *
 * Input: byte 0 selects the command (its value modulo PROTO_CMD_COUNT + 1, so
 * 0 and PROTO_CMD_COUNT also try the "unknown command" path and a seed's first
 * byte is its command number), the rest is the body. Checked, aborting on any
 * break:
 *   - proto_cmd_parse on the whole input as a command frame: a hit must name
 *     exactly those bytes;
 *   - proto_decode returns 0 or one of the codes its contract lists, and the
 *     same code whether or not it is given a reason buffer;
 *   - a failed decode leaves only checked fields behind: an ERROR reply that
 *     echoes them (as the broker and workers build it) encodes;
 *   - a successful decode round-trips: encode → decode → encode succeeds and
 *     the two encodings are byte-identical;
 *   - the hot-path readers and encoders (proto_map_without,
 *     proto_encode_ex with an event map) stay in bounds and agree with
 *     proto_encode.
 *   - proto_decode_flat (the broker's quick decoder) accepts only what
 *     proto_decode accepts, with the same result.
 * Every input gets a fresh arena, freed at the end, so LeakSanitizer sees
 * any allocation the codec forgets. */
#include "../../proto/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The size of the reason buffer the broker and workers pass. */
#define REASON_LEN 160

static void dump(const char *what, const void *p, size_t n)
{
    const unsigned char *b = p;
    fprintf(stderr, "%s (%zu bytes):", what, n);
    for (size_t i = 0; i < n && i < 512; i++)
        fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ", b[i]);
    fprintf(stderr, "%s\n", n > 512 ? " ..." : "");
}

/* broken reports a broken invariant for command cmd (decode result rc) and
 * aborts, which libFuzzer records as a crash with its input. */
static void __attribute__((noreturn, format(printf, 3, 4)))
broken(int cmd, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_decode: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (cmd %d %s, rc %d %s)\n", cmd,
            proto_cmd_name(cmd) ? proto_cmd_name(cmd) : "?", rc, gl_errname(rc));
    abort();
}

static int documented(int rc)
{
    return rc == 0 || rc == GL_ETOOLARGE || rc == GL_EBADBODY || rc == GL_EMISSING ||
           rc == GL_EBADFIELD || rc == GL_EUNKNOWNKIND || rc == GL_EUNKNOWNCMD ||
           rc == GL_EINTERNAL;
}

/* check_cmd_frame: the command frame parser only ever accepts a name exactly. */
static void check_cmd_frame(const uint8_t *data, size_t size)
{
    int cmd = proto_cmd_parse(data, size);
    if (cmd == PROTO_NONE)
        return;
    const char *name = proto_cmd_name(cmd);
    if (!name || strlen(name) != size || memcmp(name, data, size) != 0)
        broken(cmd, 0, "proto_cmd_parse accepted a frame that is not the name %s",
               name ? name : "(null)");
}

/* check_error_echo: after a failed decode, the broker and workers reply with
 * an ERROR carrying the reason and whatever id was decoded; proto.h promises
 * those fields passed their checks, so the reply must encode. */
static void check_error_echo(int cmd, int rc, const proto_msg *m, const char *reason)
{
    const char *ids[] = {m->ev.id, m->event};
    for (size_t i = 0; i < GL_ARRAY_LEN(ids); i++) {
        proto_msg e;
        msgpack_sbuffer buf;
        memset(&e, 0, sizeof e);
        e.cmd = PROTO_ERROR;
        e.code = (uint32_t)-rc;
        e.reason = reason;
        e.ev.id = ids[i];
        e.rid = m->rid;
        msgpack_sbuffer_init(&buf);
        int erc = proto_encode(&e, &buf);
        msgpack_sbuffer_destroy(&buf);
        if (erc != 0) {
            fprintf(stderr, "reason: '%s'\nid: '%s'\n", reason, ids[i] ? ids[i] : "(null)");
            broken(cmd, rc, "the ERROR reply echoing a failed decode does not encode (%s)",
                   gl_errname(erc));
        }
        if (!ids[0] && !ids[1])
            break;
    }
}

/* check_round_trip: encode(m1) = b1, decode(b1) = m2, encode(m2) = b2 == b1. */
static void check_round_trip(int cmd, const proto_msg *m1, const uint8_t *body, size_t len)
{
    msgpack_sbuffer b1, b2;
    gl_arena arena = {0};
    proto_msg m2;
    char reason[REASON_LEN];
    msgpack_sbuffer_init(&b1);
    msgpack_sbuffer_init(&b2);
    int rc = proto_encode(m1, &b1);
    if (rc != 0) {
        dump("input body", body, len);
        broken(cmd, rc, "a decoded message does not encode (%s)", gl_errname(rc));
    }
    rc = proto_decode(cmd, b1.data, b1.size, &m2, &arena, reason, sizeof reason);
    if (rc != 0) {
        dump("input body", body, len);
        dump("encoding", b1.data, b1.size);
        broken(cmd, rc, "the encoding of a decoded message does not decode: %s", reason);
    }
    rc = proto_encode(&m2, &b2);
    if (rc != 0) {
        dump("encoding", b1.data, b1.size);
        broken(cmd, rc, "a re-decoded message does not encode (%s)", gl_errname(rc));
    }
    if (b1.size != b2.size || memcmp(b1.data, b2.data, b1.size) != 0) {
        dump("input body", body, len);
        dump("first encoding", b1.data, b1.size);
        dump("second encoding", b2.data, b2.size);
        broken(cmd, 0, "re-encoding the re-decoded message gives different bytes");
    }
    msgpack_sbuffer_destroy(&b1);
    msgpack_sbuffer_destroy(&b2);
    arena_free(&arena);
}

/* check_hot_paths (issue 7): the readers of raw bodies never read past the
 * end and answer only their documented codes; for a decoded message with an
 * event map, that map encoded once and spliced (proto_encode_ex), or cut
 * without "contact" (proto_map_without), gives proto_encode's bytes. */
static void check_hot_paths(int cmd, int rc, const proto_msg *m, const uint8_t *body,
                            size_t len)
{
    msgpack_sbuffer whole, map, spliced, cut, direct;
    msgpack_sbuffer_init(&cut);
    int prc = proto_map_without(body, len, "contact", &cut);
    if (prc != 0 && prc != GL_EBADBODY)
        broken(cmd, prc, "proto_map_without returned an undocumented code");
    msgpack_sbuffer_destroy(&cut);
    if (rc != 0 || !m->ev.id || (cmd != PROTO_DISPATCH && cmd != PROTO_EVENT &&
                                 cmd != PROTO_TRACKING))
        return;
    msgpack_sbuffer_init(&whole);
    msgpack_sbuffer_init(&map);
    msgpack_sbuffer_init(&spliced);
    msgpack_sbuffer_init(&cut);
    msgpack_sbuffer_init(&direct);
    proto_msg header = *m, without = *m;
    memset(&header.ev, 0, sizeof header.ev);
    header.ev.seq = m->ev.seq;
    without.ev.contact = NULL;
    if (proto_encode(m, &whole) != 0 || proto_encode_event(&m->ev, 0, &map) != 0 ||
        proto_encode_ex(&header, 0, map.data, map.size, &spliced) != 0)
        broken(cmd, 0, "a decoded message with an event map does not encode spliced");
    if (whole.size != spliced.size || memcmp(whole.data, spliced.data, whole.size) != 0)
        broken(cmd, 0, "the spliced event map gives other bytes than proto_encode");
    if (proto_map_without(map.data, map.size, "contact", &cut) != 0 ||
        proto_encode_event(&without.ev, 0, &direct) != 0 || cut.size != direct.size ||
        memcmp(cut.data, direct.data, cut.size) != 0)
        broken(cmd, 0, "the event map cut without contact differs from its encoding");
    msgpack_sbuffer_destroy(&whole);
    msgpack_sbuffer_destroy(&map);
    msgpack_sbuffer_destroy(&spliced);
    msgpack_sbuffer_destroy(&cut);
    msgpack_sbuffer_destroy(&direct);
}

static int verbose; /* FUZZ_VERBOSE set: print each input's decode result */

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_cmd_frame(data, size);
    if (size == 0)
        return 0;
    int cmd = data[0] % (PROTO_CMD_COUNT + 1);
    const uint8_t *body = data + 1;
    size_t len = size - 1;

    gl_arena arena = {0};
    proto_msg m;
    char reason[REASON_LEN];
    int rc = proto_decode(cmd, body, len, &m, &arena, reason, sizeof reason);
    if (verbose)
        fprintf(stderr, "fuzz_decode: %s: %s\n", proto_cmd_name(cmd) ? proto_cmd_name(cmd) : "?",
                rc ? reason : "decoded");
    if (!documented(rc))
        broken(cmd, rc, "%s: proto_decode returned an undocumented code", reason);
    if ((cmd <= PROTO_NONE || cmd >= PROTO_CMD_COUNT) != (rc == GL_EUNKNOWNCMD))
        broken(cmd, rc, "%s: GL_EUNKNOWNCMD for a known command, or not for an unknown one",
               reason);
    if (m.cmd != cmd)
        broken(cmd, rc, "proto_decode did not set m->cmd");
    if (rc != 0 && reason[0] == '\0')
        broken(cmd, rc, "proto_decode failed without a reason");

    /* No reason buffer, and a tiny one: same answer, no overflow. */
    gl_arena quiet_arena = {0};
    proto_msg quiet;
    char tiny[4];
    int rc_quiet = proto_decode(cmd, body, len, &quiet, &quiet_arena, NULL, 0);
    arena_reset(&quiet_arena);
    int rc_tiny = proto_decode(cmd, body, len, &quiet, &quiet_arena, tiny, sizeof tiny);
    arena_free(&quiet_arena);
    if (rc_quiet != rc || rc_tiny != rc)
        broken(cmd, rc, "%s: the result depends on the reason buffer", reason);

    /* The broker's quick decoder: it accepts nothing proto_decode refuses,
     * and what it accepts decodes the same (the same encoding). */
    gl_arena flat_arena = {0};
    proto_msg flat;
    if (proto_decode_flat(cmd, body, len, &flat, &flat_arena) == 0) {
        if (rc != 0)
            broken(cmd, rc, "%s: proto_decode_flat accepted what proto_decode refuses", reason);
        msgpack_sbuffer a, b;
        msgpack_sbuffer_init(&a);
        msgpack_sbuffer_init(&b);
        if (proto_encode(&flat, &a) != 0 || proto_encode(&m, &b) != 0 || a.size != b.size ||
            memcmp(a.data, b.data, a.size) != 0)
            broken(cmd, rc, "proto_decode_flat decoded differently from proto_decode");
        msgpack_sbuffer_destroy(&a);
        msgpack_sbuffer_destroy(&b);
    }
    arena_free(&flat_arena);

    if (rc != 0)
        check_error_echo(cmd, rc, &m, reason);
    else
        check_round_trip(cmd, &m, body, len);
    check_hot_paths(cmd, rc, &m, body, len);
    arena_free(&arena);
    return 0;
}
