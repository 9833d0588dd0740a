/* Unit test for the check of event ids (PROTOCOL.md §3.1: 1..64 printable
 * ASCII characters without spaces, 0x21..0x7e), which the codec makes
 * eight bytes at a time (session 8): every byte value at every position of
 * ids of every length from 1 to 64, in the encoder (proto_encode), the
 * quick decoder (proto_decode_flat, trusted or not) and proto_decode,
 * against the rule byte by byte. */
#include "../proto/proto.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static int rule(const unsigned char *id, size_t n)
{
    if (n == 0 || n > GL_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (id[i] < 0x21 || id[i] > 0x7e)
            return 0;
    return 1;
}

int main(void)
{
    gl_arena arena = {0};
    long cases = 0, wrong_enc = 0, wrong_flat = 0, wrong_trusted = 0, wrong_full = 0;
    unsigned char id[GL_MAX_ID + 2];
    for (size_t n = 1; n <= GL_MAX_ID + 1; n++) {
        for (size_t at = 0; at < n; at++) {
            for (int b = 0; b < 256; b++) {
                /* a valid id of n bytes (a varied one), with byte b at at */
                for (size_t i = 0; i < n; i++)
                    id[i] = (unsigned char)(0x21 + (i * 7 + n) % 94);
                id[at] = (unsigned char)b;
                id[n] = '\0';
                int want = rule(id, n);
                cases++;

                /* SHOW {"id": id}, by hand */
                unsigned char body[8 + GL_MAX_ID + 2];
                size_t len = 0;
                body[len++] = 0x81;
                body[len++] = 0xa2;
                body[len++] = 'i';
                body[len++] = 'd';
                if (n < 32) {
                    body[len++] = (unsigned char)(0xa0 | n);
                } else {
                    body[len++] = 0xd9;
                    body[len++] = (unsigned char)n;
                }
                memcpy(body + len, id, n);
                len += n;

                proto_msg m;
                arena_reset(&arena);
                int flat = proto_decode_flat(PROTO_SHOW, body, len, &m, &arena) == 0;
                wrong_flat += flat && !want; /* flat may step aside, never accept wrongly */
                if (flat && (!m.ev.id || strlen(m.ev.id) != n || memcmp(m.ev.id, id, n) != 0))
                    wrong_flat++;
                arena_reset(&arena);
                int trusted =
                    proto_decode_flat_ex(PROTO_SHOW, body, len, &m, &arena, PROTO_DEC_TRUSTED) == 0;
                wrong_trusted += trusted != want;
                arena_reset(&arena);
                int full = proto_decode(PROTO_SHOW, body, len, &m, &arena, NULL, 0) == 0;
                wrong_full += full != want;

                if (b != 0) { /* a C string ends at a NUL */
                    memset(&m, 0, sizeof m);
                    m.cmd = PROTO_SHOW;
                    m.ev.id = (const char *)id;
                    msgpack_sbuffer sb;
                    msgpack_sbuffer_init(&sb);
                    int enc = proto_encode(&m, &sb) == 0;
                    wrong_enc += enc != want;
                    if (enc && (sb.size != len || memcmp(sb.data, body, len) != 0))
                        wrong_enc++;
                    msgpack_sbuffer_destroy(&sb);
                }
            }
        }
    }
    diag("%ld ids", cases);
    is_int((int)wrong_full, 0, "proto_decode takes exactly the ids of the rule");
    is_int((int)wrong_flat, 0, "proto_decode_flat takes no id outside the rule, and copies those it takes");
    is_int((int)wrong_trusted, 0, "proto_decode_flat_ex (trusted) takes exactly the ids of the rule");
    is_int((int)wrong_enc, 0, "proto_encode writes exactly the ids of the rule, as the bytes above");
    arena_free(&arena);
    return done_testing();
}
