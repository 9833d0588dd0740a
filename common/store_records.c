/* store_records.c — msgpack encoding of events, dispatches and history
 * entries as stored by common/store.c.
 *
 * One table per record type lists its wire names, value types and struct
 * offsets; encoder and decoder both walk it, so a field cannot be written
 * under one name and read under another. */
#include "store_records.h"
#include "gl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum field_type {
    F_STR,            /* const char *, NULL = absent */
    F_U64,            /* uint64_t */
    F_U32,            /* uint32_t */
    F_COORD,          /* double, present only when has_coords */
    F_KIND,           /* int, enum gl_kind, stored by name */
    F_EVENT_STATE,    /* int, enum gl_event_state, stored by name */
    F_DISPATCH_STATE, /* int, enum gl_dispatch_state, stored by name */
};

struct field {
    const char *name;
    unsigned char namelen;
    unsigned char type;
    unsigned short offset;
};

#define FIELD(type_, member, ftype) {#member, sizeof #member - 1, ftype, offsetof(type_, member)}

static const struct field event_fields[] = {
    FIELD(gl_event, id, F_STR),
    FIELD(gl_event, seq, F_U64),
    FIELD(gl_event, kind, F_KIND),
    FIELD(gl_event, category, F_STR),
    FIELD(gl_event, community, F_STR),
    FIELD(gl_event, compound, F_STR),
    FIELD(gl_event, grid, F_STR),
    FIELD(gl_event, terminal, F_STR),
    FIELD(gl_event, address, F_STR),
    FIELD(gl_event, lat, F_COORD),
    FIELD(gl_event, lon, F_COORD),
    FIELD(gl_event, text, F_STR),
    FIELD(gl_event, contact, F_STR),
    FIELD(gl_event, urgency, F_STR),
    FIELD(gl_event, severity, F_STR),
    FIELD(gl_event, certainty, F_STR),
    FIELD(gl_event, state, F_EVENT_STATE),
    FIELD(gl_event, team, F_STR),
    FIELD(gl_event, created_ms, F_U64),
    FIELD(gl_event, updated_ms, F_U64),
    FIELD(gl_event, plan_step, F_U32),
    FIELD(gl_event, escalate_at_ms, F_U64),
    FIELD(gl_event, alarm, F_STR),
    FIELD(gl_event, sign_by_ms, F_U64),
    FIELD(gl_event, due_ms, F_U64),
    FIELD(gl_event, remind_at_ms, F_U64),
    FIELD(gl_event, lease_until_ms, F_U64),
    FIELD(gl_event, close_at_ms, F_U64),
    FIELD(gl_event, extension_ms, F_U64),
    FIELD(gl_event, rating, F_STR),
    FIELD(gl_event, duplicate_of, F_STR),
};

static const struct field dispatch_fields[] = {
    FIELD(gl_dispatch, event, F_STR),
    FIELD(gl_dispatch, seq, F_U64),
    FIELD(gl_dispatch, team, F_STR),
    FIELD(gl_dispatch, role, F_STR),
    FIELD(gl_dispatch, state, F_DISPATCH_STATE),
    FIELD(gl_dispatch, member, F_STR),
    FIELD(gl_dispatch, note, F_STR),
    FIELD(gl_dispatch, attempts, F_U32),
    FIELD(gl_dispatch, created_ms, F_U64),
    FIELD(gl_dispatch, updated_ms, F_U64),
    FIELD(gl_dispatch, next_retry_ms, F_U64),
};

static const struct field history_fields[] = {
    FIELD(gl_history, seq, F_U64),
    FIELD(gl_history, no, F_U32),
    FIELD(gl_history, at_ms, F_U64),
    FIELD(gl_history, who, F_STR),
    FIELD(gl_history, what, F_STR),
    FIELD(gl_history, note, F_STR),
};

/* Typed access to a member at a table offset; the object really has that
 * member type, so this is ordinary struct access spelled by offset. */
#define MEMBER(rec, f, type) ((type *)((char *)(rec) + (f)->offset))
#define CMEMBER(rec, f, type) ((const type *)((const char *)(rec) + (f)->offset))

static int field_present(const void *rec, const struct field *f, int has_coords)
{
    if (f->type == F_STR)
        return *CMEMBER(rec, f, char *) != NULL;
    if (f->type == F_COORD)
        return has_coords;
    return 1;
}

/* The records are written straight into the buffer, in the forms msgpack-c's
 * packer picks (the smallest), without a callback per item: a record is
 * encoded for every event, dispatch and history entry filed. */
typedef struct writer {
    msgpack_sbuffer *sb;
    int failed;
} writer;

/* room makes n more bytes fit in the buffer (msgpack-c's sbuffer is a
 * realloc'd block, as msgpack_sbuffer_write grows it). */
static unsigned char *room(writer *w, size_t n)
{
    msgpack_sbuffer *sb = w->sb;
    if (w->failed)
        return NULL;
    if (sb->alloc - sb->size < n) {
        size_t cap = sb->alloc ? sb->alloc : 512;
        while (cap - sb->size < n)
            cap *= 2;
        char *p = realloc(sb->data, cap);
        if (!p) {
            w->failed = 1;
            return NULL;
        }
        sb->data = p;
        sb->alloc = cap;
    }
    return (unsigned char *)sb->data + sb->size;
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static void write_str(writer *w, const char *s, size_t n)
{
    unsigned char *p = room(w, n + 5);
    if (!p)
        return;
    size_t h;
    if (n < 32) {
        p[0] = (unsigned char)(0xa0 | n);
        h = 1;
    } else if (n < 256) {
        p[0] = 0xd9;
        p[1] = (unsigned char)n;
        h = 2;
    } else if (n < 65536) {
        p[0] = 0xda;
        put_be(p + 1, n, 2);
        h = 3;
    } else {
        p[0] = 0xdb;
        put_be(p + 1, n, 4);
        h = 5;
    }
    memcpy(p + h, s, n);
    w->sb->size += h + n;
}

static void write_uint(writer *w, uint64_t v)
{
    unsigned char *p = room(w, 9);
    if (!p)
        return;
    size_t n;
    if (v < 128) {
        p[0] = (unsigned char)v;
        n = 1;
    } else if (v < 256) {
        p[0] = 0xcc;
        p[1] = (unsigned char)v;
        n = 2;
    } else if (v < 65536) {
        p[0] = 0xcd;
        put_be(p + 1, v, 2);
        n = 3;
    } else if (v < 4294967296ull) {
        p[0] = 0xce;
        put_be(p + 1, v, 4);
        n = 5;
    } else {
        p[0] = 0xcf;
        put_be(p + 1, v, 8);
        n = 9;
    }
    w->sb->size += n;
}

static void write_double(writer *w, double d)
{
    unsigned char *p = room(w, 9);
    if (!p)
        return;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    p[0] = 0xcb;
    put_be(p + 1, bits, 8);
    w->sb->size += 9;
}

static void write_map(writer *w, size_t n)
{
    unsigned char *p = room(w, 5);
    if (!p)
        return;
    if (n < 16) {
        p[0] = (unsigned char)(0x80 | n);
        w->sb->size += 1;
    } else if (n < 65536) {
        p[0] = 0xde;
        put_be(p + 1, n, 2);
        w->sb->size += 3;
    } else {
        p[0] = 0xdf;
        put_be(p + 1, n, 4);
        w->sb->size += 5;
    }
}

static void write_name(writer *w, const char *s)
{
    write_str(w, s, strlen(s));
}

static void write_value(writer *w, const void *rec, const struct field *f)
{
    switch (f->type) {
    case F_STR:
        write_name(w, *CMEMBER(rec, f, char *));
        return;
    case F_U64:
        write_uint(w, *CMEMBER(rec, f, uint64_t));
        return;
    case F_U32:
        write_uint(w, *CMEMBER(rec, f, uint32_t));
        return;
    case F_COORD:
        write_double(w, *CMEMBER(rec, f, double));
        return;
    case F_KIND:
        write_name(w, gl_kind_name(*CMEMBER(rec, f, int)));
        return;
    case F_EVENT_STATE:
        write_name(w, gl_event_state_name(*CMEMBER(rec, f, int)));
        return;
    case F_DISPATCH_STATE:
        write_name(w, gl_dispatch_state_name(*CMEMBER(rec, f, int)));
        return;
    }
    w->failed = 1;
}

static int encode(msgpack_sbuffer *sb, const struct field *fields, size_t nfields,
                  const void *rec, int has_coords)
{
    writer w = {sb, 0};
    msgpack_sbuffer_clear(sb);
    size_t present = 0;
    for (size_t i = 0; i < nfields; i++)
        present += (size_t)field_present(rec, &fields[i], has_coords);
    write_map(&w, present);
    for (size_t i = 0; i < nfields && !w.failed; i++) {
        const struct field *f = &fields[i];
        if (!field_present(rec, f, has_coords))
            continue;
        write_str(&w, f->name, f->namelen);
        write_value(&w, rec, f);
    }
    return w.failed ? GL_EINTERNAL : 0;
}

int store_rec_encode_event(msgpack_sbuffer *sb, const gl_event *ev)
{
    return encode(sb, event_fields, GL_ARRAY_LEN(event_fields), ev, ev->has_coords);
}

int store_rec_encode_dispatch(msgpack_sbuffer *sb, const gl_dispatch *d)
{
    return encode(sb, dispatch_fields, GL_ARRAY_LEN(dispatch_fields), d, 0);
}

int store_rec_encode_history(msgpack_sbuffer *sb, const gl_history *h)
{
    return encode(sb, history_fields, GL_ARRAY_LEN(history_fields), h, 0);
}

/* field_find finds key's field, looking first at *next: a record written by
 * this table has its keys in the table's order, so that is nearly always
 * the one, and *next moves on past it. */
static const struct field *field_find(const struct field *fields, size_t nfields,
                                      const msgpack_object *key, size_t *next)
{
    if (key->type != MSGPACK_OBJECT_STR)
        return NULL;
    for (size_t k = 0; k < nfields; k++) {
        size_t i = (*next + k) % nfields;
        if (fields[i].namelen == key->via.str.size &&
            memcmp(fields[i].name, key->via.str.ptr, key->via.str.size) == 0) {
            *next = i + 1;
            return &fields[i];
        }
    }
    return NULL;
}

/* decode_state maps a state or kind name to its enum with parse; names
 * this build does not know decode to 0 (NONE) rather than failing. */
static int decode_state(const msgpack_object *v, int (*parse)(const char *), int *out)
{
    char name[32];
    if (v->type != MSGPACK_OBJECT_STR)
        return GL_ESTORAGE;
    if (v->via.str.size >= sizeof name) {
        *out = 0;
        return 0;
    }
    memcpy(name, v->via.str.ptr, v->via.str.size);
    name[v->via.str.size] = '\0';
    *out = parse(name);
    return 0;
}

static int decode_value(void *rec, const struct field *f, const msgpack_object *v,
                        gl_arena *arena, int *has_coords)
{
    switch (f->type) {
    case F_STR:
        if (v->type == MSGPACK_OBJECT_NIL)
            return 0;
        if (v->type != MSGPACK_OBJECT_STR)
            return GL_ESTORAGE;
        if (!arena)
            return 0;
        *MEMBER(rec, f, const char *) = arena_strndup(arena, v->via.str.ptr, v->via.str.size);
        return *MEMBER(rec, f, const char *) ? 0 : GL_EINTERNAL;
    case F_U64:
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return GL_ESTORAGE;
        *MEMBER(rec, f, uint64_t) = v->via.u64;
        return 0;
    case F_U32:
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > UINT32_MAX)
            return GL_ESTORAGE;
        *MEMBER(rec, f, uint32_t) = (uint32_t)v->via.u64;
        return 0;
    case F_COORD:
        if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
            *MEMBER(rec, f, double) = v->via.f64;
        else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            *MEMBER(rec, f, double) = (double)v->via.u64;
        else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            *MEMBER(rec, f, double) = (double)v->via.i64;
        else
            return GL_ESTORAGE;
        if (has_coords)
            *has_coords = 1;
        return 0;
    case F_KIND:
        return decode_state(v, gl_kind_parse, MEMBER(rec, f, int));
    case F_EVENT_STATE:
        return decode_state(v, gl_event_state_parse, MEMBER(rec, f, int));
    case F_DISPATCH_STATE:
        return decode_state(v, gl_dispatch_state_parse, MEMBER(rec, f, int));
    }
    return GL_ESTORAGE;
}

static int decode(msgpack_zone *zone, const void *data, size_t len,
                  const struct field *fields, size_t nfields, void *rec,
                  gl_arena *arena, int *has_coords)
{
    msgpack_object root;
    size_t off = 0;
    /* msgpack_unpack with a caller-owned zone, unlike msgpack_unpack_next,
     * reuses the zone's first chunk instead of allocating one per record;
     * strings in the objects point into data (the LMDB map). */
    msgpack_zone_clear(zone);
    msgpack_unpack_return r = msgpack_unpack(data, len, &off, zone, &root);
    if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        return GL_EINTERNAL;
    if (r != MSGPACK_UNPACK_SUCCESS || off != len || root.type != MSGPACK_OBJECT_MAP)
        return GL_ESTORAGE;
    size_t next = 0;
    for (uint32_t i = 0; i < root.via.map.size; i++) {
        const msgpack_object_kv *kv = &root.via.map.ptr[i];
        const struct field *f = field_find(fields, nfields, &kv->key, &next);
        if (!f)
            continue;
        int err = decode_value(rec, f, &kv->val, arena, has_coords);
        if (err)
            return err;
    }
    return 0;
}

int store_rec_decode_event(msgpack_zone *zone, const void *data, size_t len,
                           gl_event *ev, gl_arena *arena)
{
    memset(ev, 0, sizeof *ev);
    return decode(zone, data, len, event_fields, GL_ARRAY_LEN(event_fields), ev, arena,
                  &ev->has_coords);
}

int store_rec_decode_dispatch(msgpack_zone *zone, const void *data, size_t len,
                              gl_dispatch *d, gl_arena *arena)
{
    memset(d, 0, sizeof *d);
    return decode(zone, data, len, dispatch_fields, GL_ARRAY_LEN(dispatch_fields), d,
                  arena, NULL);
}

int store_rec_decode_history(msgpack_zone *zone, const void *data, size_t len,
                             gl_history *h, gl_arena *arena)
{
    memset(h, 0, sizeof *h);
    return decode(zone, data, len, history_fields, GL_ARRAY_LEN(history_fields), h,
                  arena, NULL);
}
