/* fuzz_records.c — libFuzzer target for what the store and the broker read
 * from bytes they did not write themselves this run: the store's records
 * (common/store_records.h, read from disk) and a PACK's ITEMS frame
 * (proto/pack.h, from a worker).
 *
 * Input: byte 0 selects (modulo 4) a PACK frame (0), an event (1), a
 * dispatch (2) or a history entry (3). For a record, byte 1 (modulo 24) is
 * the length of its LMDB key, the bytes after it the key, the rest the
 * record; each is copied into a buffer of exactly its size, so
 * AddressSanitizer sees any read past it. Checked, aborting on any break:
 *   - the decoders return 0, GL_ESTORAGE or GL_EINTERNAL, with and without
 *     an arena;
 *   - a record that decodes round-trips: encoded and decoded again it
 *     encodes to the same bytes and holds the same times and counts, and
 *     the fields the key holds are the key's;
 *   - pack_count agrees with walking the frame by pack_next, and every item
 *     it yields lies inside the frame.
 * Not part of `make fuzz`: build and run it by hand,
 *   make build/fuzz/fuzz_records && build/fuzz/fuzz_records -max_total_time=60
 * (a corpus directory as the last argument keeps what it finds). */
#include "../../common/gl.h"
#include "../../common/store_records.h"
#include "../../proto/pack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *copy_of(const uint8_t *p, size_t n)
{
    void *c = malloc(n ? n : 1);
    if (!c)
        abort();
    memcpy(c, p, n);
    return c;
}

static void check_pack(const uint8_t *data, size_t len)
{
    unsigned char *frame = copy_of(data, len);
    size_t count = pack_count(frame, len), pos = 0, n = 0;
    pack_item it;
    while (pack_next(frame, len, &pos, &it)) {
        if (it.header < frame || it.header + it.header_len > frame + len || it.cmd < frame ||
            it.cmd + it.cmd_len > frame + len || it.body < frame ||
            it.body + it.body_len > frame + len || pos > len)
            abort();
        n++;
    }
    if (count && (count != n || pos != len || count > PACK_MAX_ITEMS))
        abort();
    free(frame);
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int decode(int which, const void *key, size_t klen, const void *data, size_t len,
                  void *rec, gl_arena *arena)
{
    switch (which) {
    case 1: return store_rec_decode_event(key, klen, data, len, rec, arena);
    case 2: return store_rec_decode_dispatch(key, klen, data, len, rec, arena);
    default: return store_rec_decode_history(key, klen, data, len, rec, arena);
    }
}

static int encode(int which, msgpack_sbuffer *sb, const void *rec)
{
    switch (which) {
    case 1: return store_rec_encode_event(sb, rec);
    case 2: return store_rec_encode_dispatch(sb, rec);
    default: return store_rec_encode_history(sb, rec);
    }
}

/* same_numbers: a and b (records of type which) hold the same times and
 * counts. */
static int same_numbers(int which, const void *a, const void *b)
{
    if (which == 1) {
        const gl_event *x = a, *y = b;
        return x->created_ms == y->created_ms && x->updated_ms == y->updated_ms &&
               x->plan_step == y->plan_step && x->escalate_at_ms == y->escalate_at_ms &&
               x->sign_by_ms == y->sign_by_ms && x->due_ms == y->due_ms &&
               x->remind_at_ms == y->remind_at_ms && x->lease_until_ms == y->lease_until_ms &&
               x->close_at_ms == y->close_at_ms && x->extension_ms == y->extension_ms;
    }
    if (which == 2) {
        const gl_dispatch *x = a, *y = b;
        return x->attempts == y->attempts && x->created_ms == y->created_ms &&
               x->updated_ms == y->updated_ms && x->next_retry_ms == y->next_retry_ms;
    }
    const gl_history *x = a, *y = b;
    return x->at_ms == y->at_ms;
}

static void check_record(int which, const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    size_t klen = data[0] % 24;
    if (klen > size - 1)
        return;
    unsigned char *key = copy_of(data + 1, klen);
    size_t len = size - 1 - klen;
    unsigned char *bytes = copy_of(data + 1 + klen, len);
    union {
        gl_event ev;
        gl_dispatch d;
        gl_history h;
    } rec, again;
    gl_arena arena = {0};
    int bare = decode(which, key, klen, bytes, len, &rec, NULL);
    int rc = decode(which, key, klen, bytes, len, &rec, &arena);
    if ((bare && bare != GL_ESTORAGE) || (rc && rc != GL_ESTORAGE && rc != GL_EINTERNAL))
        abort();
    if (rc == 0) {
        /* The key's fields are the key's. */
        uint64_t seq = which == 1 ? rec.ev.seq : which == 2 ? rec.d.seq : rec.h.seq;
        if (klen < 8 || seq != be64(key))
            abort();
        if (which == 2 && (!rec.d.team || strlen(rec.d.team) > klen - 8 ||
                           strncmp(rec.d.team, (const char *)key + 8, klen - 8) != 0))
            abort();
        /* encode(decode(x)) is a fixed point of decode then encode. */
        msgpack_sbuffer first, second;
        msgpack_sbuffer_init(&first);
        msgpack_sbuffer_init(&second);
        if (encode(which, &first, &rec) == 0) {
            unsigned char *firstc = copy_of((const uint8_t *)first.data, first.size);
            int rc2 = decode(which, key, klen, firstc, first.size, &again, &arena);
            if (rc2 != 0 && rc2 != GL_EINTERNAL)
                abort();
            if (rc2 == 0 && (encode(which, &second, &again) != 0 || second.size != first.size ||
                             memcmp(second.data, first.data, first.size) != 0))
                abort();
            /* Every time and count comes back exactly (whatever its form). */
            if (rc2 == 0 && !same_numbers(which, &rec, &again))
                abort();
            free(firstc);
        }
        msgpack_sbuffer_destroy(&first);
        msgpack_sbuffer_destroy(&second);
    }
    arena_free(&arena);
    free(key);
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 4;
    if (which == 0)
        check_pack(data + 1, size - 1);
    else
        check_record(which, data + 1, size - 1);
    return 0;
}
