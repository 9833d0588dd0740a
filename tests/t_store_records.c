/* The store's record encoding (common/store_records.c): records read back
 * as written, and the bytes are msgpack in its smallest forms, exactly what
 * msgpack-c's own packer writes for the same values (the records are
 * written by a direct writer; anyone who read PROTOCOL.md decodes them). */
#include "../common/gl.h"
#include "../common/store_records.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Repacks the record with msgpack-c's packer and compares the bytes. */
static int canonical(const msgpack_sbuffer *rec)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int same = msgpack_unpack_next(&u, rec->data, rec->size, &off) == MSGPACK_UNPACK_SUCCESS &&
               off == rec->size;
    msgpack_sbuffer again;
    msgpack_sbuffer_init(&again);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &again, msgpack_sbuffer_write);
    same = same && msgpack_pack_object(&pk, u.data) == 0 && again.size == rec->size &&
           memcmp(again.data, rec->data, rec->size) == 0;
    msgpack_sbuffer_destroy(&again);
    msgpack_unpacked_destroy(&u);
    return same;
}

static char *filled(size_t n, char c)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

int main(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    gl_arena arena = {0};

    /* String lengths at each form's edge, numbers at each width's edge. */
    static const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
    static const uint64_t nums[] = {0,     1,          127,        128,          255,
                                    256,   65535,      65536,      4294967295ull, 4294967296ull,
                                    UINT64_MAX};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *text = filled(lens[i], 'x');
        uint64_t n = nums[i % (sizeof nums / sizeof nums[0])];
        gl_event ev = {.id = "rec-1", .seq = n, .kind = GL_KIND_REQUEST, .category = "repair",
                       .community = "heping", .grid = "heping-g1", .text = text,
                       .contact = "13800000000", .state = GL_EV_DISPATCHED, .created_ms = n,
                       .updated_ms = UINT64_MAX - n, .plan_step = (uint32_t)n,
                       .has_coords = (int)(i % 2), .lat = 38.48 + (double)i, .lon = -106.2,
                       .due_ms = 1795858515578ull, .rating = i % 3 ? NULL : "satisfied"};
        int rc = store_rec_encode_event(&sb, &ev);
        ok(rc == 0 && canonical(&sb),
           "an event with a %zu-byte text and %llu is msgpack-c's encoding (%zu bytes)", lens[i],
           (unsigned long long)n, sb.size);
        gl_event back;
        memset(&back, 0, sizeof back);
        unsigned char key[8];
        for (int b = 0; b < 8; b++)
            key[b] = (unsigned char)(n >> (56 - 8 * b));
        rc = store_rec_decode_event(key, sizeof key, sb.data, sb.size, &back, &arena);
        ok(rc == 0 && strcmp(back.text, text) == 0 && back.seq == n && back.created_ms == n &&
               back.updated_ms == UINT64_MAX - n && back.plan_step == (uint32_t)n &&
               back.has_coords == ev.has_coords && (!ev.has_coords || back.lat == ev.lat) &&
               back.due_ms == ev.due_ms && back.state == GL_EV_DISPATCHED &&
               back.kind == GL_KIND_REQUEST && (back.rating != NULL) == (ev.rating != NULL) &&
               back.compound == NULL,
           "and reads back as written");
        arena_reset(&arena);
        free(text);
    }

    gl_dispatch d = {.event = "rec-1", .seq = 70000, .team = "heping-g1-team", .role = "grid",
                     .state = GL_DS_PENDING, .attempts = 300, .created_ms = 1795858515578ull,
                     .updated_ms = 1795858515578ull, .next_retry_ms = 1795858545578ull};
    ok(store_rec_encode_dispatch(&sb, &d) == 0 && canonical(&sb), "a dispatch, the same");
    gl_dispatch db;
    memset(&db, 0, sizeof db);
    static const unsigned char dkey[] = "\0\0\0\0\0\x01\x11\x70heping-g1-team";
    ok(store_rec_decode_dispatch(dkey, sizeof dkey - 1, sb.data, sb.size, &db, &arena) == 0 &&
           strcmp(db.team, d.team) == 0 && db.attempts == 300 && db.seq == 70000 &&
           db.next_retry_ms == d.next_retry_ms && db.state == GL_DS_PENDING && db.note == NULL,
       "and reads back");
    gl_history h = {.seq = 5, .no = 2, .at_ms = 1795858515578ull, .who = "terminal:T-1",
                    .what = "filed", .note = "漏水，三楼"};
    ok(store_rec_encode_history(&sb, &h) == 0 && canonical(&sb), "a history entry, the same");
    gl_history hb;
    memset(&hb, 0, sizeof hb);
    ok(store_rec_decode_history("\0\0\0\0\0\0\0\x05\0\0\0\x02", 12, sb.data, sb.size, &hb,
                                &arena) == 0 &&
           strcmp(hb.note, h.note) == 0 && hb.no == 2 && hb.seq == 5 && hb.at_ms == h.at_ms,
       "and reads back");

    /* Another writer's record: keys in another order, one this build does
     * not know, a state it does not know. */
    msgpack_sbuffer other;
    msgpack_sbuffer_init(&other);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &other, msgpack_sbuffer_write);
    const char *const kv[][2] = {{"text", "楼道积水"}, {"future_key", "x"}, {"state", "pondering"},
                                 {"grid", "heping-g2"}, {"kind", "feedback"}, {"id", "rec-other"}};
    msgpack_pack_map(&pk, 7);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        msgpack_pack_str_with_body(&pk, kv[i][0], strlen(kv[i][0]));
        msgpack_pack_str_with_body(&pk, kv[i][1], strlen(kv[i][1]));
    }
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint64(&pk, 42);
    gl_event o;
    int orc = store_rec_decode_event(NULL, 0, other.data, other.size, &o, &arena);
    ok(orc == 0 && strcmp(o.id, "rec-other") == 0 && strcmp(o.grid, "heping-g2") == 0 &&
           strcmp(o.text, "楼道积水") == 0 && o.kind == GL_KIND_FEEDBACK && o.state == 0 &&
           o.seq == 42 && o.category == NULL,
       "a record with its keys in another order, an unknown key and state reads back");
    msgpack_sbuffer_destroy(&other);
    arena_reset(&arena);

    /* Unknown keys holding nested maps and arrays, a key that is not a
     * string, coordinates as float32 and a negative integer: read past or
     * read as they were meant. */
    msgpack_sbuffer_init(&other);
    msgpack_packer_init(&pk, &other, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "nested", 6);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_bin_with_body(&pk, "\x01\x02", 2);
    msgpack_pack_str_with_body(&pk, "b", 1);
    msgpack_pack_int64(&pk, -70000);
    msgpack_pack_array(&pk, 1); /* a key that is an array */
    msgpack_pack_uint8(&pk, 7);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_str_with_body(&pk, "lat", 3);
    msgpack_pack_float(&pk, 38.5f);
    msgpack_pack_str_with_body(&pk, "lon", 3);
    msgpack_pack_int(&pk, -106);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "rec-nested", 10);
    msgpack_pack_str_with_body(&pk, "ext", 3);
    msgpack_pack_ext_with_body(&pk, "\x00\x01\x02\x03", 4, 5);
    orc = store_rec_decode_event(NULL, 0, other.data, other.size, &o, &arena);
    ok(orc == 0 && strcmp(o.id, "rec-nested") == 0 && o.has_coords && o.lat == 38.5 &&
           o.lon == -106.0,
       "nested unknown values, a non-string key and an ext are skipped; float32 and negative "
       "coordinates read (%d)", orc);

    /* Every truncation of a record, and bytes after it, are refused. */
    int refused = 0, total = 0;
    for (size_t cut = 0; cut < other.size; cut++, total++)
        refused += store_rec_decode_event(NULL, 0, other.data, cut, &o, &arena) == GL_ESTORAGE;
    is_int(refused, total, "every truncation of the record is GL_ESTORAGE");
    msgpack_pack_nil(&pk);
    is_int(store_rec_decode_event(NULL, 0, other.data, other.size, &o, &arena), GL_ESTORAGE,
           "a byte after the record is refused");
    msgpack_sbuffer_clear(&other);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_str_with_body(&pk, "id", 2);
    is_int(store_rec_decode_event(NULL, 0, other.data, other.size, &o, &arena), GL_ESTORAGE,
           "a record that is not a map is refused");
    msgpack_sbuffer_clear(&other);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_bin_with_body(&pk, "x", 1);
    is_int(store_rec_decode_event(NULL, 0, other.data, other.size, &o, &arena), GL_ESTORAGE,
           "a string field holding binary is refused");
    msgpack_sbuffer_clear(&other);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_map(&pk, 0);
    is_int(store_rec_decode_event(NULL, 0, other.data, other.size, &o, &arena), GL_ESTORAGE,
           "a number field holding a map is refused");
    msgpack_sbuffer_clear(&other);
    unsigned char deep[200];
    for (size_t i = 0; i < sizeof deep; i++)
        deep[i] = 0x91; /* arrays of one array of one array ... */
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "deep", 4);
    msgpack_sbuffer_write(&other, (const char *)deep, sizeof deep);
    msgpack_pack_nil(&pk);
    is_int(store_rec_decode_event(NULL, 0, other.data, other.size, &o, &arena), GL_ESTORAGE,
           "an unknown value nested 200 deep is refused, not recursed into");
    msgpack_sbuffer_destroy(&other);
    arena_reset(&arena);

    /* A record larger than the buffer so far makes it grow, whole. */
    msgpack_sbuffer small;
    msgpack_sbuffer_init(&small);
    char *big = filled(200000, 'y');
    gl_event large = {.id = "rec-big", .kind = GL_KIND_FEEDBACK, .category = "leak", .text = big,
                      .state = GL_EV_FILED};
    int rc = store_rec_encode_event(&small, &large);
    ok(rc == 0 && small.size > 200000 && canonical(&small),
       "a 200 kB text grows an empty buffer (%zu bytes)", small.size);
    free(big);
    msgpack_sbuffer_destroy(&small);

    arena_free(&arena);
    msgpack_sbuffer_destroy(&sb);
    return done_testing();
}
