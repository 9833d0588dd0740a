/* Unit test for the codec's UTF-8 check (proto_decode of a string field):
 * compared with a reference that decodes each code point, on every one- and
 * two-byte sequence, three- and four-byte sequences over the boundary
 * values of each byte, at every alignment of the eight-byte ASCII steps. */
#include "../proto/proto.h"
#include "tap.h"
#include "support/utf8_ref.h"

#include <stdlib.h>
#include <string.h>

/* The reference: utf8_reference, and no NUL, which no string field may
 * hold. */
static int reference(const unsigned char *s, size_t n)
{
    return !memchr(s, 0, n) && utf8_reference(s, n);
}

static gl_arena arena;
static long checked, mismatches, valid_seen;

/* codec_accepts: whether a SUBMIT with this text decodes (the text is the
 * only field that can be wrong). */
static int codec_accepts(const unsigned char *text, size_t n)
{
    static unsigned char body[256];
    static const unsigned char head[] = "\x84\xa2id\xa1x\xa4kind\xa5" "alert\xa8" "category\xa1" "c\xa4text";
    size_t h = sizeof head - 1, len = h;
    memcpy(body, head, h);
    body[len++] = 0xd9;
    body[len++] = (unsigned char)n;
    memcpy(body + len, text, n);
    len += n;
    proto_msg m;
    arena_reset(&arena);
    return proto_decode(PROTO_SUBMIT, body, len, &m, &arena, NULL, 0) == 0;
}

static void compare(const unsigned char *seq, size_t n)
{
    unsigned char text[64];
    /* at offsets 0..9 after ASCII, and followed by ASCII: the eight-byte
     * steps start, stop and resume around the sequence */
    for (size_t pre = 0; pre < 10; pre++) {
        memset(text, 'a', pre);
        memcpy(text + pre, seq, n);
        memset(text + pre + n, 'b', 9);
        size_t len = pre + n + 9;
        int want = reference(text, len), got = codec_accepts(text, len);
        checked++;
        valid_seen += want;
        if (want != got && ++mismatches <= 5)
            diag("mismatch: %02x %02x %02x %02x (%zu bytes) after %zu ASCII: reference %d, codec %d",
                 seq[0], n > 1 ? seq[1] : 0, n > 2 ? seq[2] : 0, n > 3 ? seq[3] : 0, n, pre,
                 want, got);
    }
}

int main(void)
{
    static const unsigned edges[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                     0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xe0, 0xff};
    const size_t ne = sizeof edges / sizeof edges[0];
    unsigned char seq[4];
    for (unsigned a = 0; a < 256; a++) {
        seq[0] = (unsigned char)a;
        compare(seq, 1);
    }
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++) {
            seq[0] = (unsigned char)a, seq[1] = (unsigned char)b;
            compare(seq, 2);
        }
    long two = checked;
    for (unsigned a = 0xc0; a < 256; a++)
        for (size_t b = 0; b < ne; b++)
            for (size_t c = 0; c < ne; c++) {
                seq[0] = (unsigned char)a, seq[1] = (unsigned char)edges[b],
                seq[2] = (unsigned char)edges[c];
                compare(seq, 3);
                for (size_t d = 0; d < ne; d++) {
                    seq[3] = (unsigned char)edges[d];
                    compare(seq, 4);
                }
            }
    /* every second byte after each three- and four-byte lead */
    for (unsigned a = 0xe0; a < 0xf8; a++)
        for (unsigned b = 0; b < 256; b++) {
            seq[0] = (unsigned char)a, seq[1] = (unsigned char)b, seq[2] = 0x80, seq[3] = 0xbf;
            compare(seq, a < 0xf0 ? 3 : 4);
        }
    /* runs of three-byte characters (checked two at a time): one of them,
     * at each place in the run, with each lead and boundary second and
     * third bytes (E0 and ED restrict the second) */
    static const unsigned thirds[] = {0x41, 0x80, 0xbf, 0xc0};
    for (size_t pos = 0; pos < 8; pos++)
        for (unsigned a = 0xe0; a < 0xf0; a++)
            for (size_t b = 0; b < ne; b++)
                for (size_t c = 0; c < sizeof thirds / sizeof thirds[0]; c++) {
                    unsigned char run[24];
                    for (size_t k = 0; k < 8; k++)
                        memcpy(run + 3 * k, "\xe5\x92\x8c", 3);
                    run[3 * pos] = (unsigned char)a;
                    run[3 * pos + 1] = (unsigned char)edges[b];
                    run[3 * pos + 2] = (unsigned char)thirds[c];
                    for (size_t len = 3 * pos + 3; len <= sizeof run; len += 3) {
                        int want = reference(run, len), got = codec_accepts(run, len);
                        checked++;
                        valid_seen += want;
                        if (want != got && ++mismatches <= 5)
                            diag("mismatch in a run: %02x %02x %02x at character %zu of %zu", a,
                                 edges[b], thirds[c], pos, len / 3);
                    }
                }
    /* long texts: Chinese and ASCII, and a bad byte somewhere in them */
    srand(5);
    unsigned char text[200];
    for (int i = 0; i < 20000; i++) {
        size_t n = 0;
        while (n + 4 < sizeof text) {
            if (rand() % 2) {
                memcpy(text + n, "\xe5\x92\x8c", 3); /* 和 */
                n += 3;
            } else
                text[n++] = (unsigned char)('a' + rand() % 26);
        }
        if (i % 2)
            text[rand() % n] = (unsigned char)rand();
        int want = reference(text, n), got = codec_accepts(text, n);
        checked++;
        valid_seen += want;
        if (want != got && ++mismatches <= 5)
            diag("mismatch in a long text (%d)", i);
    }
    diag("%ld texts checked (%ld with two-byte sequences), %ld of them valid", checked, two,
         valid_seen);
    ok(valid_seen > 1000 && valid_seen < checked, "both valid and invalid texts were checked");
    is_int(mismatches, 0, "the codec's UTF-8 check agrees with the reference on every text");
    arena_free(&arena);
    return done_testing();
}
