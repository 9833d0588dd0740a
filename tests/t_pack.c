/* Unit test for proto/pack: a PACK's ITEMS frame (PROTOCOL.md §6) is read
 * as the spec spells it, byte for byte (its example item), and a frame
 * that is not a whole sequence of 1 to 1024 items — cut anywhere, a byte
 * too many, a length past the end, up to 4 GB — is refused without
 * reading outside it (run under the sanitizers with a frame of its exact
 * size on the heap). */
#include "../proto/pack.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* PROTOCOL.md §6: a DELIVER item of team t1 whose DISPATCH body is {}. */
static const unsigned char example[27] = {0x00, 0x00, 0x00, 0x09, 0x81, 0xa4, 0x74, 0x65, 0x61,
                                          0x6d, 0xa2, 0x74, 0x31, 0x08, 0x44, 0x49, 0x53, 0x50,
                                          0x41, 0x54, 0x43, 0x48, 0x00, 0x00, 0x00, 0x01, 0x80};

/* pack_count of a heap copy of exactly len bytes (so ASan sees a read
 * past it). */
static size_t count_copy(const void *data, size_t len)
{
    unsigned char *p = malloc(len ? len : 1);
    if (!p)
        abort();
    memcpy(p, data, len);
    size_t n = pack_count(p, len);
    free(p);
    return n;
}

int main(void)
{
    is_int((long)pack_count(example, sizeof example), 1, "the spec's example is one item");
    pack_item it;
    size_t pos = 0;
    ok(pack_next(example, sizeof example, &pos, &it) == 1, "it is read");
    ok(it.header_len == 9 && it.header == example + 4 && memcmp(it.header, "\x81\xa4team\xa2t1", 9) == 0,
       "its header is the map {team: t1}");
    ok(it.cmd_len == 8 && memcmp(it.cmd, "DISPATCH", 8) == 0, "its command is DISPATCH");
    ok(it.body_len == 1 && it.body[0] == 0x80, "its body is the empty map");
    is_int((long)pos, 27, "and it ends the frame");
    ok(pack_next(example, sizeof example, &pos, &it) == 0, "no item after it");

    int cut_refused = 1;
    for (size_t len = 0; len < sizeof example; len++)
        if (count_copy(example, len) != 0) {
            diag("cut at %zu: accepted", len);
            cut_refused = 0;
        }
    ok(cut_refused, "the example cut at any length (0 to 26 bytes) is refused");

    unsigned char two[60];
    memcpy(two, example, 27);
    memcpy(two + 27, example, 27);
    is_int((long)count_copy(two, 54), 2, "two items back to back are two");
    two[54] = 0;
    is_int((long)count_copy(two, 55), 0, "a byte after the last item is refused");

    unsigned char bad[27];
    memcpy(bad, example, 27);
    bad[3] = 10;
    is_int((long)count_copy(bad, 27), 0, "a header length one too long is refused");
    memcpy(bad, example, 27);
    bad[25] = 2;
    is_int((long)count_copy(bad, 27), 0, "a body length past the end is refused");
    memcpy(bad, example, 27);
    bad[13] = 9;
    is_int((long)count_copy(bad, 27), 0, "a command length past the end is refused");
    memcpy(bad, example, 27);
    bad[0] = bad[1] = bad[2] = bad[3] = 0xff;
    is_int((long)count_copy(bad, 27), 0, "a header length of 4 GB is refused");
    memcpy(bad, example, 27);
    bad[22] = bad[23] = bad[24] = bad[25] = 0xff;
    is_int((long)count_copy(bad, 27), 0, "a body length of 4 GB is refused");

    size_t n = PACK_MAX_ITEMS + 1;
    unsigned char *many = malloc(n * 27);
    if (!many)
        abort();
    for (size_t i = 0; i < n; i++)
        memcpy(many + i * 27, example, 27);
    is_int((long)pack_count(many, (PACK_MAX_ITEMS)*27), PACK_MAX_ITEMS, "1024 items are taken");
    is_int((long)pack_count(many, n * 27), 0, "1025 are refused");
    free(many);

    unsigned char out[4];
    pack_put_len(out, 0x01020304u);
    ok(memcmp(out, "\x01\x02\x03\x04", 4) == 0, "lengths are written big-endian");

    srand(7);
    unsigned char junk[64];
    int consistent = 1;
    for (int i = 0; i < 20000 && consistent; i++) {
        size_t len = (size_t)(rand() % 64);
        for (size_t k = 0; k < len; k++)
            junk[k] = (unsigned char)(rand() % 4 ? rand() % 16 : rand());
        size_t c = count_copy(junk, len), items = 0;
        pos = 0;
        while (pack_next(junk, len, &pos, &it))
            items++;
        if (c && (c != items || pos != len)) {
            diag("random frame %d: counted %zu, read %zu to %zu of %zu", i, c, items, pos, len);
            consistent = 0;
        }
    }
    ok(consistent, "20000 random frames: when counted, read to their end as counted");
    return done_testing();
}
