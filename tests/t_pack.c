/* Unit test for proto/pack: a PACK's ITEMS frame (PROTOCOL.md §6) is read
 * as the spec spells it, byte for byte (its example item), and a frame
 * that is not a whole sequence of 1 to 1024 items — cut anywhere, a byte
 * too many, a length past the end, up to 4 GB — is refused without
 * reading outside it (run under the sanitizers with a frame of its exact
 * size on the heap); and the start of a JOB's or DONE's header, as the
 * worker and the broker read it in place (pack_peek_job_client). */
#include "../proto/pack.h"
#include "../proto/proto.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* peek_matches: pack_peek_job_client reads the header proto_encode makes of
 * m (a fixmap of map_len), with id and client as encoded, and stops right
 * after the client's bytes; cut anywhere before `after` bytes past them,
 * it refuses it. */
static int peek_matches(const proto_msg *m, unsigned map_len, size_t after)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    int good = proto_encode(m, &b) == 0;
    const unsigned char *h = (const unsigned char *)b.data, *client = NULL;
    uint64_t id = 0;
    size_t n = 0;
    const unsigned char *at = good ? pack_peek_job_client(h, h + b.size, map_len, after, &id,
                                                          &client, &n)
                                   : NULL;
    good = at && id == m->job && n == m->client_len && memcmp(client, m->client, n) == 0 &&
           memcmp(at, "\xa6origin", 7) == 0;
    for (size_t cut = 0; good && at && cut < (size_t)(at - h) + after; cut++) {
        unsigned char *copy = malloc(cut ? cut : 1); /* exact size: the sanitizers see a read past it */
        memcpy(copy, h, cut);
        good = pack_peek_job_client(copy, copy + cut, map_len, after, &id, &client, &n) == NULL;
        free(copy);
    }
    good = good && pack_peek_job_client(h, h + b.size, map_len + 1, after, &id, &client, &n) == NULL;
    msgpack_sbuffer_destroy(&b);
    return good;
}

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

    /* The start of a JOB's and a DONE's header, read in place by the
     * worker and the broker (pack_peek_job_client). */
    static const uint64_t ids[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295u,
                                   4294967296u, UINT64_MAX};
    int peeks = 1;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        proto_msg job = {.cmd = PROTO_JOB, .job = ids[i], .client = "\x00\x6b\x8b\x45\x67",
                         .client_len = 5, .origin = "intake", .lane = "routine"};
        proto_msg done = {.cmd = PROTO_DONE, .job = ids[i], .client = "c", .client_len = 1,
                          .origin = "responders"};
        if (!peek_matches(&job, 4, 7) || !peek_matches(&done, 3, 8)) {
            diag("job id %llu not read back", (unsigned long long)ids[i]);
            peeks = 0;
        }
    }
    ok(peeks, "a JOB's and a DONE's job and client read in place for ids of every width; "
              "refused cut short or with another map size");
    return done_testing();
}
