/* store_records.c — msgpack encoding of events, dispatches and history
 * entries as stored by common/store.c.
 *
 * One table per record type lists its wire names, value types and struct
 * offsets; encoder and decoder both walk it, so a field cannot be written
 * under one name and read under another. */
#include "store_records.h"
#include "gl.h"

#include <stdint.h>
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
    unsigned char type;
    unsigned short offset;
};

#define FIELD(type_, member, ftype) {#member, ftype, offsetof(type_, member)}

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

static int pack_string(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_value(msgpack_packer *pk, const void *rec, const struct field *f)
{
    switch (f->type) {
    case F_STR:
        return pack_string(pk, *CMEMBER(rec, f, char *));
    case F_U64:
        return msgpack_pack_uint64(pk, *CMEMBER(rec, f, uint64_t));
    case F_U32:
        return msgpack_pack_uint32(pk, *CMEMBER(rec, f, uint32_t));
    case F_COORD:
        return msgpack_pack_double(pk, *CMEMBER(rec, f, double));
    case F_KIND:
        return pack_string(pk, gl_kind_name(*CMEMBER(rec, f, int)));
    case F_EVENT_STATE:
        return pack_string(pk, gl_event_state_name(*CMEMBER(rec, f, int)));
    case F_DISPATCH_STATE:
        return pack_string(pk, gl_dispatch_state_name(*CMEMBER(rec, f, int)));
    }
    return -1;
}

static int encode(msgpack_sbuffer *sb, const struct field *fields, size_t nfields,
                  const void *rec, int has_coords)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    size_t present = 0;
    for (size_t i = 0; i < nfields; i++)
        present += (size_t)field_present(rec, &fields[i], has_coords);
    if (msgpack_pack_map(&pk, present))
        return GL_EINTERNAL;
    for (size_t i = 0; i < nfields; i++) {
        const struct field *f = &fields[i];
        if (!field_present(rec, f, has_coords))
            continue;
        if (pack_string(&pk, f->name) || pack_value(&pk, rec, f))
            return GL_EINTERNAL;
    }
    return 0;
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

static const struct field *field_find(const struct field *fields, size_t nfields,
                                      const msgpack_object *key)
{
    if (key->type != MSGPACK_OBJECT_STR)
        return NULL;
    for (size_t i = 0; i < nfields; i++) {
        const char *name = fields[i].name;
        if (strlen(name) == key->via.str.size &&
            memcmp(name, key->via.str.ptr, key->via.str.size) == 0)
            return &fields[i];
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
    for (uint32_t i = 0; i < root.via.map.size; i++) {
        const msgpack_object_kv *kv = &root.via.map.ptr[i];
        const struct field *f = field_find(fields, nfields, &kv->key);
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
