/* store_records.c — msgpack encoding of events, dispatches and history
 * entries as stored by common/store.c.
 *
 * One table per record type lists its keys (the integer written now and the
 * wire name of records before session 7), value types and struct offsets;
 * encoder and decoder both walk it, so a field cannot be written under one
 * key and read under another. */
#include "store_records.h"
#include "gl.h"
#include "mpwrite.h"

#include <stdint.h>
#include <string.h>

enum field_type {
    F_STR,            /* const char *, NULL = absent */
    F_U64,            /* uint64_t */
    F_TIME,           /* uint64_t, ms since the epoch: whole, or from created_ms (dkey) */
    F_TDELTA,         /* the delta form of an F_TIME field (the delta tables) */
    F_U32,            /* uint32_t */
    F_COORD,          /* double, present only when has_coords */
    F_KIND,           /* int, enum gl_kind, stored as its value */
    F_EVENT_STATE,    /* int, enum gl_event_state, stored as its value */
    F_DISPATCH_STATE, /* int, enum gl_dispatch_state, stored as its value */
    F_NAME,           /* const char *, one of names[]: stored as its number */
};

/* The values a F_NAME field is stored as: names[i] as i + 1, any other
 * string as itself. Append only: a stored number means its name for good. */
static const char *const urgency_names[] = {"Immediate", "Expected", "Future", "Past", "Unknown"};
static const char *const severity_names[] = {"Extreme", "Severe", "Moderate", "Minor", "Unknown"};
static const char *const certainty_names[] = {"Observed", "Likely", "Possible", "Unlikely",
                                              "Unknown"};
static const char *const rating_names[] = {"satisfied", "unsatisfied"};
static const char *const alarm_names[] = {"unanswered", "overdue"};
static const char *const role_names[] = {
    "grid", "claim", "coordinator", "squad", "property",     /* 1-5 */
    "owners", "informed", "triage", "community", "assigned", /* 6-10 */
};
static const char *const what_names[] = {
    "filed", "dispatched", "acked", "accepted", "declined",                          /* 1-5 */
    "redispatched", "resolved", "unrouted", "escalated", "unanswered",               /* 6-10 */
    "updated", "cancelled", "claimed", "claim extended", "released",                 /* 11-15 */
    "returned", "redirected", "confirmed", "disputed", "overdue",                    /* 16-20 */
    "extension requested", "extension approved", "merged", "duplicate",              /* 21-24 */
    "rated satisfied", "rated unsatisfied", "reopened", "closed", "dead-lettered",   /* 25-29 */
    "requeued", "dead letter closed",                                                /* 30-31 */
};

struct field {
    const char *name;   /* the wire name: the key of records before session 7 */
    unsigned char namelen;
    unsigned char key;  /* the key of records written now (store_records.h) */
    unsigned char type;
    unsigned char nnames;
    unsigned char in_key; /* the LMDB key holds it: read, no longer written */
    unsigned char dkey; /* F_TIME: the key of its form as ms from created_ms */
    unsigned char tidx; /* F_TIME, F_TDELTA: which of the record's times (bit) */
    unsigned short offset;
    const char *const *names; /* F_NAME */
};

#define FIELD(type_, member, ftype, key_)                                                       \
    {#member, sizeof #member - 1, key_, ftype, 0, 0, 0, 0, offsetof(type_, member), NULL}
#define IN_KEY(type_, member, ftype, key_)                                                      \
    {#member, sizeof #member - 1, key_, ftype, 0, 1, 0, 0, offsetof(type_, member), NULL}
#define NAMED(type_, member, key_, table)                                                       \
    {#member, sizeof #member - 1, key_, F_NAME, GL_ARRAY_LEN(table), 0, 0, 0,                   \
     offsetof(type_, member), table}
#define TIME(type_, member, key_, dkey_, tidx_)                                                 \
    {#member, sizeof #member - 1, key_, F_TIME, 0, 0, dkey_, tidx_, offsetof(type_, member),    \
     NULL}
#define DELTA(type_, member, dkey_, tidx_)                                                      \
    {#member, sizeof #member - 1, dkey_, F_TDELTA, 0, 0, 0, tidx_, offsetof(type_, member), NULL}

/* A field's key is its position + 1: keep it so (append only), the decoder
 * finds an integer key's field by position. IN_KEY fields are what the
 * record's LMDB key holds (store_records.h): records before session 7 have
 * them, newer ones leave them out and the decoder fills them from the key;
 * their numbers stay taken. */
static const struct field event_fields[] = {
    FIELD(gl_event, id, F_STR, 1),
    IN_KEY(gl_event, seq, F_U64, 2),
    FIELD(gl_event, kind, F_KIND, 3),
    FIELD(gl_event, category, F_STR, 4),
    FIELD(gl_event, community, F_STR, 5),
    FIELD(gl_event, compound, F_STR, 6),
    FIELD(gl_event, grid, F_STR, 7),
    FIELD(gl_event, terminal, F_STR, 8),
    FIELD(gl_event, address, F_STR, 9),
    FIELD(gl_event, lat, F_COORD, 10),
    FIELD(gl_event, lon, F_COORD, 11),
    FIELD(gl_event, text, F_STR, 12),
    FIELD(gl_event, contact, F_STR, 13),
    NAMED(gl_event, urgency, 14, urgency_names),
    NAMED(gl_event, severity, 15, severity_names),
    NAMED(gl_event, certainty, 16, certainty_names),
    FIELD(gl_event, state, F_EVENT_STATE, 17),
    FIELD(gl_event, team, F_STR, 18),
    FIELD(gl_event, created_ms, F_U64, 19),
    TIME(gl_event, updated_ms, 20, 32, 0),
    FIELD(gl_event, plan_step, F_U32, 21),
    TIME(gl_event, escalate_at_ms, 22, 33, 1),
    NAMED(gl_event, alarm, 23, alarm_names),
    TIME(gl_event, sign_by_ms, 24, 34, 2),
    TIME(gl_event, due_ms, 25, 35, 3),
    TIME(gl_event, remind_at_ms, 26, 36, 4),
    TIME(gl_event, lease_until_ms, 27, 37, 5),
    TIME(gl_event, close_at_ms, 28, 38, 6),
    TIME(gl_event, extension_ms, 29, 39, 7),
    NAMED(gl_event, rating, 30, rating_names),
    FIELD(gl_event, duplicate_of, F_STR, 31),
};

static const struct field dispatch_fields[] = {
    FIELD(gl_dispatch, event, F_STR, 1),
    IN_KEY(gl_dispatch, seq, F_U64, 2),
    IN_KEY(gl_dispatch, team, F_STR, 3),
    NAMED(gl_dispatch, role, 4, role_names),
    FIELD(gl_dispatch, state, F_DISPATCH_STATE, 5),
    FIELD(gl_dispatch, member, F_STR, 6),
    FIELD(gl_dispatch, note, F_STR, 7),
    FIELD(gl_dispatch, attempts, F_U32, 8),
    FIELD(gl_dispatch, created_ms, F_U64, 9),
    TIME(gl_dispatch, updated_ms, 10, 12, 0),
    TIME(gl_dispatch, next_retry_ms, 11, 13, 1),
};

static const struct field history_fields[] = {
    IN_KEY(gl_history, seq, F_U64, 1),
    IN_KEY(gl_history, no, F_U32, 2),
    FIELD(gl_history, at_ms, F_U64, 3),
    FIELD(gl_history, who, F_STR, 4),
    NAMED(gl_history, what, 5, what_names),
    FIELD(gl_history, note, F_STR, 6),
};

/* The guard events and dispatches begin with: the wire name "seq" holding
 * nil. A build before session 7 knows "seq" as a number, so it refuses the
 * record (GL_ESTORAGE) instead of reading a record whose integer keys it
 * skips as an empty one, and writing that back; so does a build of session
 * 7 before compact timestamps (it skips "seq": true, its own guard, but
 * not nil), which would skip the times' delta keys and read them as 0.
 * History entries, never rewritten and without delta keys, go without.
 * This build skips "seq" holding nil or true. */
static const unsigned char old_build_guard[] = {0xa3, 's', 'e', 'q', 0xc0};

/* The delta forms of the times (F_TIME's dkey): keys nfields + 1, + 2, ...
 * of their record type, in order, so the decoder finds them by position as
 * it does the table's. A TIME's dkey and tidx are its DELTA's key and
 * position here (t_store_records_forms writes and reads each time in both
 * forms). */
static const struct field event_delta_fields[] = {
    DELTA(gl_event, updated_ms, 32, 0),
    DELTA(gl_event, escalate_at_ms, 33, 1),
    DELTA(gl_event, sign_by_ms, 34, 2),
    DELTA(gl_event, due_ms, 35, 3),
    DELTA(gl_event, remind_at_ms, 36, 4),
    DELTA(gl_event, lease_until_ms, 37, 5),
    DELTA(gl_event, close_at_ms, 38, 6),
    DELTA(gl_event, extension_ms, 39, 7),
};

static const struct field dispatch_delta_fields[] = {
    DELTA(gl_dispatch, updated_ms, 12, 0),
    DELTA(gl_dispatch, next_retry_ms, 13, 1),
};

/* A record type: its table, its delta forms, and the index of created_ms
 * (from which the deltas count) in its table, or -1. */
struct rectype {
    const struct field *fields;
    size_t nfields;
    const struct field *dfields;
    size_t ndfields;
    int base;
};

static const struct rectype event_type = {event_fields, GL_ARRAY_LEN(event_fields),
                                          event_delta_fields, GL_ARRAY_LEN(event_delta_fields),
                                          18};
static const struct rectype dispatch_type = {dispatch_fields, GL_ARRAY_LEN(dispatch_fields),
                                             dispatch_delta_fields,
                                             GL_ARRAY_LEN(dispatch_delta_fields), 8};
static const struct rectype history_type = {history_fields, GL_ARRAY_LEN(history_fields), NULL,
                                            0, -1};

/* Typed access to a member at a table offset; the object really has that
 * member type, so this is ordinary struct access spelled by offset. */
#define MEMBER(rec, f, type) ((type *)((char *)(rec) + (f)->offset))
#define CMEMBER(rec, f, type) ((const type *)((const char *)(rec) + (f)->offset))

/* The records are written straight into the buffer, in the forms
 * msgpack-c's packer picks (the smallest that holds the value): a record is
 * encoded for every event, dispatch and history entry filed, and for every
 * acknowledgement. One pass finds what is present and how many bytes it
 * can take at most, the buffer grows once, and the second pass writes
 * without checking room field by field. */
#define MAX_FIELDS 32

static unsigned char *put_str(unsigned char *p, const char *s, size_t n)
{
    if (n < 32) {
        *p++ = (unsigned char)(0xa0 | n);
    } else if (n <= UINT8_MAX) {
        *p++ = 0xd9;
        *p++ = (unsigned char)n;
    } else if (n <= UINT16_MAX) {
        *p++ = 0xda;
        *p++ = (unsigned char)(n >> 8);
        *p++ = (unsigned char)n;
    } else {
        *p++ = 0xdb;
        for (int i = 3; i >= 0; i--)
            *p++ = (unsigned char)(n >> (8 * i));
    }
    memcpy(p, s, n);
    return p + n;
}

/* put_be writes lead and v's low bytes, big-endian. */
static unsigned char *put_be(unsigned char *p, unsigned lead, uint64_t v, int bytes)
{
    *p++ = (unsigned char)lead;
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

static unsigned char *put_uint(unsigned char *p, uint64_t v)
{
    if (v < 0x80) {
        *p++ = (unsigned char)v;
        return p;
    }
    if (v <= UINT8_MAX)
        return put_be(p, 0xcc, v, 1);
    if (v <= UINT16_MAX)
        return put_be(p, 0xcd, v, 2);
    if (v <= UINT32_MAX)
        return put_be(p, 0xce, v, 4);
    return put_be(p, 0xcf, v, 8);
}

/* uint_size is the bytes put_uint takes for v. */
static int uint_size(uint64_t v)
{
    return v < 0x80 ? 1 : v <= UINT8_MAX ? 2 : v <= UINT16_MAX ? 3 : v <= UINT32_MAX ? 5 : 9;
}

/* neg_size is the bytes put_neg takes for -n, 1 <= n <= 2^63. */
static int neg_size(uint64_t n)
{
    return n <= 32 ? 1 : n <= 128 ? 2 : n <= 32768 ? 3 : n <= 0x80000000u ? 5 : 9;
}

/* put_neg writes -n (1 <= n <= 2^63) in msgpack-c's smallest form: a
 * negative fixint, or int 8/16/32/64 (two's complement, big-endian). */
static unsigned char *put_neg(unsigned char *p, uint64_t n)
{
    uint64_t v = (uint64_t)0 - n;
    if (n <= 32) {
        *p++ = (unsigned char)v;
        return p;
    }
    if (n <= 128)
        return put_be(p, 0xd0, v, 1);
    if (n <= 32768)
        return put_be(p, 0xd1, v, 2);
    if (n <= 0x80000000u)
        return put_be(p, 0xd2, v, 4);
    return put_be(p, 0xd3, v, 8);
}

/* How an F_TIME field is written (form[] in encode). */
enum { T_WHOLE, T_AFTER, T_BEFORE };

/* time_form picks the shorter of v itself under the field's key and v less
 * created_ms (base) under its dkey: T_AFTER with *num = v - base, T_BEFORE
 * with *num = base - v (written as its negative), or T_WHOLE with *num = v
 * when the delta saves nothing (base 0, or v far from it). */
static int time_form(uint64_t v, uint64_t base, uint64_t *num)
{
    int whole = uint_size(v);
    if (v >= base) {
        if (uint_size(v - base) < whole) {
            *num = v - base;
            return T_AFTER;
        }
    } else if (base - v <= (uint64_t)1 << 63 && neg_size(base - v) < whole) {
        *num = base - v;
        return T_BEFORE;
    }
    *num = v;
    return T_WHOLE;
}

/* name_number is s's number in f's names (1-based), or 0 for a name not
 * in the table (stored as a string). */
static unsigned name_number(const struct field *f, const char *s, size_t len)
{
    for (unsigned i = 0; i < f->nnames; i++)
        if (f->names[i][0] == s[0] && strlen(f->names[i]) == len &&
            memcmp(f->names[i], s, len) == 0)
            return i + 1;
    return 0;
}

/* encode writes rec: strings and names when not NULL, coordinates when
 * has_coords, numbers and times when not 0 (a number left out reads as 0),
 * kinds and states always; each time other than created_ms in the shorter
 * of its two forms (time_form). */
static int encode(msgpack_sbuffer *sb, const struct rectype *t, const void *rec, int has_coords,
                  int guard)
{
    const struct field *fields = t->fields;
    size_t nfields = t->nfields;
    const char *str[MAX_FIELDS];
    size_t len[MAX_FIELDS];
    uint64_t num[MAX_FIELDS];
    unsigned char form[MAX_FIELDS];
    uint64_t on = 0;
    uint64_t base = t->base >= 0 ? *CMEMBER(rec, &fields[t->base], uint64_t) : 0;
    size_t present = guard ? 1 : 0, bound = 5 + (guard ? sizeof old_build_guard : 0);
    if (nfields > MAX_FIELDS)
        return GL_EINTERNAL;
    for (size_t i = 0; i < nfields; i++) {
        const struct field *f = &fields[i];
        const char *sv = NULL;
        if (f->in_key)
            continue;
        switch (f->type) {
        case F_STR:
        case F_NAME:
            sv = *CMEMBER(rec, f, char *);
            if (!sv)
                continue;
            break;
        case F_COORD:
            if (!has_coords)
                continue;
            break;
        case F_U64:
            num[i] = *CMEMBER(rec, f, uint64_t);
            if (!num[i])
                continue;
            break;
        case F_TIME: {
            uint64_t v = *CMEMBER(rec, f, uint64_t);
            if (!v)
                continue;
            form[i] = (unsigned char)time_form(v, base, &num[i]);
            break;
        }
        case F_U32:
            num[i] = *CMEMBER(rec, f, uint32_t);
            if (!num[i])
                continue;
            break;
        case F_KIND:
        case F_EVENT_STATE:
        case F_DISPATCH_STATE: {
            int v = *CMEMBER(rec, f, int);
            num[i] = v > 0 ? (uint64_t)v : 0;
            break;
        }
        }
        on |= (uint64_t)1 << i;
        present++;
        str[i] = sv;
        if (sv) {
            len[i] = strlen(sv);
            if (f->type == F_NAME && len[i] > 0 && (num[i] = name_number(f, sv, len[i])) != 0)
                str[i] = NULL; /* stored as its number */
        }
        bound += 1 + (str[i] ? 5 + len[i] : 9);
    }
    mp_writer w = {sb, 0};
    msgpack_sbuffer_clear(sb);
    unsigned char *p = mpw_room(&w, bound);
    if (!p)
        return GL_EINTERNAL;
    if (present < 16)
        *p++ = (unsigned char)(0x80 | present);
    else
        p = put_be(p, present <= UINT16_MAX ? 0xde : 0xdf, present, present <= UINT16_MAX ? 2 : 4);
    if (guard) {
        memcpy(p, old_build_guard, sizeof old_build_guard);
        p += sizeof old_build_guard;
    }
    for (size_t i = 0; i < nfields; i++) {
        if (!(on >> i & 1))
            continue;
        const struct field *f = &fields[i];
        /* Keys are positive fixints: every key is below 128. form[] is
         * set for F_TIME fields only. */
        if (str[i]) {
            *p++ = f->key;
            p = put_str(p, str[i], len[i]);
        } else if (f->type == F_COORD) {
            uint64_t bits;
            memcpy(&bits, CMEMBER(rec, f, double), sizeof bits);
            *p++ = f->key;
            p = put_be(p, 0xcb, bits, 8);
        } else {
            int delta = f->type == F_TIME && form[i] != T_WHOLE;
            *p++ = delta ? f->dkey : f->key;
            if (delta && form[i] == T_BEFORE)
                p = put_neg(p, num[i]);
            else
                p = put_uint(p, num[i]);
        }
    }
    sb->size = (size_t)(p - (unsigned char *)sb->data);
    return 0;
}

int store_rec_encode_event(msgpack_sbuffer *sb, const gl_event *ev)
{
    return encode(sb, &event_type, ev, ev->has_coords, 1);
}

int store_rec_encode_dispatch(msgpack_sbuffer *sb, const gl_dispatch *d)
{
    return encode(sb, &dispatch_type, d, 0, 1);
}

int store_rec_encode_history(msgpack_sbuffer *sb, const gl_history *h)
{
    return encode(sb, &history_type, h, 0, 0);
}

/* field_find finds the field named key[0..len) (a record before session
 * 7), looking first at *next: such a record has its keys in the table's
 * order, so that is nearly always the one, and *next moves on past it. */
static const struct field *field_find(const struct field *fields, size_t nfields,
                                      const unsigned char *key, size_t len, size_t *next)
{
    for (size_t k = 0; k < nfields; k++) {
        size_t i = (*next + k) % nfields;
        if (fields[i].namelen == len && memcmp(fields[i].name, key, len) == 0) {
            *next = i + 1;
            return &fields[i];
        }
    }
    return NULL;
}

/* The records are read in place, in one pass, with every length checked
 * against the end of the record: a damaged record is GL_ESTORAGE, never a
 * read outside it. */
typedef struct reader {
    const unsigned char *p, *end;
} reader;

enum item { I_NIL, I_BOOL, I_UINT, I_INT, I_FLOAT, I_STR, I_BIN, I_ARRAY, I_MAP, I_EXT };

typedef struct value {
    int item;           /* enum item */
    uint64_t u;         /* I_UINT, I_BOOL; I_ARRAY, I_MAP: entries */
    int64_t i;          /* I_INT */
    double f;           /* I_FLOAT */
    const unsigned char *data; /* I_STR, I_BIN, I_EXT: the bytes */
    size_t len;
} value;

static uint64_t get_be(const unsigned char *p, int bytes)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bytes == 8) { /* whole timestamps: one load and a byte swap */
        uint64_t x;
        memcpy(&x, p, sizeof x);
        return __builtin_bswap64(x);
    }
    if (bytes == 4) { /* timestamps' deltas of up to 49 days */
        uint32_t x;
        memcpy(&x, p, sizeof x);
        return __builtin_bswap32(x);
    }
    if (bytes == 2) { /* and of up to a minute */
        uint16_t x;
        memcpy(&x, p, sizeof x);
        return __builtin_bswap16(x);
    }
#endif
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* take returns n bytes of r and moves past them, or NULL past the end. */
static const unsigned char *take(reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return NULL;
    const unsigned char *p = r->p;
    r->p += n;
    return p;
}

/* read_value reads one item's head (and a string's, binary's or ext's
 * bytes). 0, or -1 when the record ends inside it or the byte is unused. */
static int read_value(reader *r, value *v)
{
    const unsigned char *h = take(r, 1), *p;
    if (!h)
        return -1;
    unsigned c = *h;
    size_t n = 0, len_bytes = 0;
    memset(v, 0, sizeof *v);
    if (c <= 0x7f || c >= 0xe0) {
        v->item = c <= 0x7f ? I_UINT : I_INT;
        v->u = c;
        v->i = (int8_t)c;
        return 0;
    }
    if ((c & 0xf0) == 0x80 || (c & 0xf0) == 0x90) {
        v->item = (c & 0xf0) == 0x80 ? I_MAP : I_ARRAY;
        v->u = c & 0x0f;
        return 0;
    }
    if ((c & 0xe0) == 0xa0) {
        v->item = I_STR;
        n = c & 0x1f;
        goto bytes;
    }
    switch (c) {
    case 0xc0: v->item = I_NIL; return 0;
    case 0xc2: case 0xc3: v->item = I_BOOL; v->u = c == 0xc3; return 0;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        if (!(p = take(r, (size_t)1 << (c - 0xcc))))
            return -1;
        v->item = I_UINT;
        v->u = get_be(p, 1 << (c - 0xcc));
        return 0;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        int bytes = 1 << (c - 0xd0);
        if (!(p = take(r, (size_t)bytes)))
            return -1;
        uint64_t u = get_be(p, bytes);
        if (bytes < 8 && (u >> (bytes * 8 - 1)))
            u |= ~(uint64_t)0 << (bytes * 8); /* sign-extend */
        v->item = I_INT;
        v->i = (int64_t)u;
        return 0;
    }
    case 0xca: {
        if (!(p = take(r, 4)))
            return -1;
        uint32_t bits = (uint32_t)get_be(p, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        v->item = I_FLOAT;
        v->f = f;
        return 0;
    }
    case 0xcb: {
        if (!(p = take(r, 8)))
            return -1;
        uint64_t bits = get_be(p, 8);
        memcpy(&v->f, &bits, sizeof v->f);
        v->item = I_FLOAT;
        return 0;
    }
    case 0xd9: case 0xda: case 0xdb: v->item = I_STR; len_bytes = (size_t)1 << (c - 0xd9); break;
    case 0xc4: case 0xc5: case 0xc6: v->item = I_BIN; len_bytes = (size_t)1 << (c - 0xc4); break;
    case 0xdc: case 0xdd: case 0xde: case 0xdf:
        if (!(p = take(r, (size_t)2 << ((c - 0xdc) & 1))))
            return -1;
        v->item = c <= 0xdd ? I_ARRAY : I_MAP;
        v->u = get_be(p, 2 << ((c - 0xdc) & 1));
        return 0;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext: type + 1..16 bytes */
        v->item = I_EXT;
        n = 1 + ((size_t)1 << (c - 0xd4));
        goto bytes;
    case 0xc7: case 0xc8: case 0xc9: /* ext: length, type, bytes */
        v->item = I_EXT;
        if (!(p = take(r, (size_t)1 << (c - 0xc7))))
            return -1;
        /* The type byte counted in: ext 32's length is up to 2^32 - 1,
         * which plus one is 0 in a 32-bit size_t. */
        if ((n = (size_t)get_be(p, 1 << (c - 0xc7))) == SIZE_MAX)
            return -1;
        n++;
        goto bytes;
    default:
        return -1; /* 0xc1: never used */
    }
    if (!(p = take(r, len_bytes)))
        return -1;
    n = (size_t)get_be(p, (int)len_bytes);
bytes:
    if (!(v->data = take(r, n)))
        return -1;
    v->len = n;
    return 0;
}

/* skip_value moves past one whole item, nested ones included (a newer
 * writer's key this build does not know). */
static int skip_value(reader *r, int depth)
{
    value v;
    if (depth > 32 || read_value(r, &v) != 0)
        return -1;
    uint64_t items = v.item == I_ARRAY ? v.u : v.item == I_MAP ? 2 * v.u : 0;
    if (items > (uint64_t)(r->end - r->p))
        return -1; /* each item takes at least a byte */
    for (uint64_t i = 0; i < items; i++)
        if (skip_value(r, depth + 1) != 0)
            return -1;
    return 0;
}

/* decode_state maps a stored kind or state to its enum: a number this
 * build has a name for (records.c's tables: a value appended to its enum
 * with its name is read with no change here) as itself, a name (records
 * before session 7) with parse. Numbers and names this build does not know
 * decode to 0 (NONE) rather than failing. */
static int decode_state(const value *v, int (*parse)(const char *), const char *(*name_of)(int),
                        int *out)
{
    char name[32];
    if (v->item == I_UINT) {
        *out = v->u <= INT32_MAX && name_of((int)v->u)[0] ? (int)v->u : 0;
        return 0;
    }
    if (v->item != I_STR)
        return GL_ESTORAGE;
    if (v->len >= sizeof name) {
        *out = 0;
        return 0;
    }
    memcpy(name, v->data, v->len);
    name[v->len] = '\0';
    *out = parse(name);
    return 0;
}

/* The times a record holds, as decode reads it: which were whole, which
 * deltas (their magnitudes, and which of them are negative), applied at
 * the map's end, when created_ms is known. */
struct times {
    unsigned whole, delta, neg;
    uint64_t mag[8];
};

/* take_delta keeps a delta form's value v (an integer of either sign) for
 * time j; GL_ESTORAGE when v is not an integer. */
static int take_delta(struct times *tm, unsigned j, const value *v)
{
    unsigned bit = 1u << j;
    tm->delta |= bit;
    tm->neg &= ~bit;
    if (v->item == I_UINT) {
        tm->mag[j] = v->u;
    } else if (v->item == I_INT && v->i >= 0) {
        tm->mag[j] = (uint64_t)v->i;
    } else if (v->item == I_INT) {
        tm->mag[j] = (uint64_t)0 - (uint64_t)v->i; /* -v->i, INT64_MIN included */
        tm->neg |= bit;
    } else {
        return GL_ESTORAGE;
    }
    return 0;
}

static int decode_value(void *rec, const struct field *f, const value *v, gl_arena *arena,
                        int *has_coords, struct times *tm)
{
    switch (f->type) {
    case F_NAME:
        if (v->item == I_UINT) {
            /* A number this build's table does not have reads as absent. */
            if (arena && v->u >= 1 && v->u <= f->nnames)
                *MEMBER(rec, f, const char *) = f->names[v->u - 1];
            return 0;
        }
        /* A name not in the table, or any name in a record before
         * session 7, is the string. */
        /* fall through */
    case F_STR:
        if (v->item == I_NIL)
            return 0;
        if (v->item != I_STR)
            return GL_ESTORAGE;
        if (!arena)
            return 0;
        *MEMBER(rec, f, const char *) = arena_strndup(arena, (const char *)v->data, v->len);
        return *MEMBER(rec, f, const char *) ? 0 : GL_EINTERNAL;
    case F_TIME:
        tm->whole |= 1u << f->tidx;
        /* fall through */
    case F_U64:
        if (v->item != I_UINT)
            return GL_ESTORAGE;
        *MEMBER(rec, f, uint64_t) = v->u;
        return 0;
    case F_TDELTA:
        return take_delta(tm, f->tidx, v);
    case F_U32:
        if (v->item != I_UINT || v->u > UINT32_MAX)
            return GL_ESTORAGE;
        *MEMBER(rec, f, uint32_t) = (uint32_t)v->u;
        return 0;
    case F_COORD:
        if (v->item == I_FLOAT)
            *MEMBER(rec, f, double) = v->f;
        else if (v->item == I_UINT)
            *MEMBER(rec, f, double) = (double)v->u;
        else if (v->item == I_INT)
            *MEMBER(rec, f, double) = (double)v->i;
        else
            return GL_ESTORAGE;
        if (has_coords)
            *has_coords = 1;
        return 0;
    case F_KIND:
        return decode_state(v, gl_kind_parse, gl_kind_name, MEMBER(rec, f, int));
    case F_EVENT_STATE:
        return decode_state(v, gl_event_state_parse, gl_event_state_name, MEMBER(rec, f, int));
    case F_DISPATCH_STATE:
        return decode_state(v, gl_dispatch_state_parse, gl_dispatch_state_name,
                            MEMBER(rec, f, int));
    }
    return GL_ESTORAGE;
}

/* field_by_key finds the field, or the delta form of a time, stored under
 * the integer key; NULL for a key this build does not know. */
static const struct field *field_by_key(const struct rectype *t, uint64_t key)
{
    const struct field *fields = t->fields;
    size_t nfields = t->nfields;
    if (key >= 1 && key <= nfields && fields[key - 1].key == key)
        return &fields[key - 1];
    if (key > nfields && key - nfields <= t->ndfields && t->dfields[key - nfields - 1].key == key)
        return &t->dfields[key - nfields - 1];
    for (size_t i = 0; i < nfields; i++)
        if (fields[i].key == key)
            return &fields[i];
    for (size_t i = 0; i < t->ndfields; i++)
        if (t->dfields[i].key == key)
            return &t->dfields[i];
    return NULL;
}

/* read_value_quick is read_value for the forms this table's writer uses
 * for its values (a string up to 255 bytes, nil, an unsigned integer),
 * read without the general case's dispatch; anything else is read_value's. */
static int read_value_quick(reader *r, value *v)
{
    if (r->p == r->end)
        return -1;
    unsigned c = *r->p;
    size_t n, head;
    if (c <= 0x7f) {
        r->p++;
        v->item = I_UINT;
        v->u = c;
        return 0;
    }
    if ((c & 0xe0) == 0xa0) {
        n = c & 0x1f;
        head = 1;
    } else if (c == 0xd9 && r->end - r->p >= 2) {
        n = r->p[1];
        head = 2;
    } else if (c >= 0xcc && c <= 0xcf) {
        size_t bytes = (size_t)1 << (c - 0xcc);
        if ((size_t)(r->end - r->p) <= bytes)
            return -1;
        v->item = I_UINT;
        v->u = get_be(r->p + 1, (int)bytes);
        r->p += 1 + bytes;
        return 0;
    } else if (c == 0xc0) {
        r->p++;
        v->item = I_NIL;
        return 0;
    } else {
        return read_value(r, v);
    }
    if ((size_t)(r->end - r->p) - head < n)
        return -1;
    v->item = I_STR;
    v->data = r->p + head;
    v->len = n;
    r->p += head + n;
    return 0;
}

/* add_deltas sets each time held as a delta to created_ms plus it;
 * GL_ESTORAGE when a sum is not a time (below 0 or past UINT64_MAX), or
 * when a time is also whole. */
static int add_deltas(void *rec, const struct rectype *t, const struct times *tm)
{
    if (tm->delta & tm->whole)
        return GL_ESTORAGE;
    uint64_t base = t->base >= 0 ? *MEMBER(rec, &t->fields[t->base], uint64_t) : 0;
    for (unsigned left = tm->delta; left; left &= left - 1) {
        unsigned j = (unsigned)__builtin_ctz(left);
        uint64_t *out = MEMBER(rec, &t->dfields[j], uint64_t);
        if (tm->neg >> j & 1) {
            if (tm->mag[j] > base)
                return GL_ESTORAGE;
            *out = base - tm->mag[j];
        } else {
            if (tm->mag[j] > UINT64_MAX - base)
                return GL_ESTORAGE;
            *out = base + tm->mag[j];
        }
    }
    return 0;
}

static int decode(const void *data, size_t len, const struct rectype *t, void *rec,
                  gl_arena *arena, int *has_coords)
{
    const struct field *fields = t->fields;
    size_t nfields = t->nfields;
    reader r = {data, (const unsigned char *)data + len};
    value map;
    /* The delta forms' values, kept until the map's end: created_ms may
     * come after them. A time in both forms is refused. */
    struct times tm;
    tm.whole = tm.delta = tm.neg = 0;
    if (read_value(&r, &map) != 0 || map.item != I_MAP || t->ndfields > 8)
        return GL_ESTORAGE;
    size_t next = 0;
    for (uint64_t i = 0; i < map.u; i++) {
        const unsigned char *at = r.p;
        const struct field *f = NULL;
        int by_name = 0;
        if (r.p < r.end && *r.p <= 0x7f) {
            /* A key of ours: a positive fixint, nearly always its field's
             * position + 1. */
            unsigned k = *r.p++;
            if (k - 1u < nfields && fields[k - 1].key == k)
                f = &fields[k - 1];
            else if (k - nfields - 1 < t->ndfields && t->dfields[k - nfields - 1].key == k)
                f = &t->dfields[k - nfields - 1];
            else
                f = field_by_key(t, k);
        } else if (r.p < r.end && (*r.p & 0xe0) == 0xa0) {
            /* A key of a record before session 7: a short string
             * (fixstr), read in place. */
            size_t n = *r.p & 0x1f;
            if ((size_t)(r.end - r.p) - 1 < n)
                return GL_ESTORAGE;
            f = field_find(fields, nfields, r.p + 1, n, &next);
            r.p += 1 + n;
            by_name = 1;
        } else {
            value key;
            if (read_value(&r, &key) != 0)
                return GL_ESTORAGE;
            if (key.item == I_STR) {
                f = field_find(fields, nfields, key.data, key.len, &next);
                by_name = 1;
            } else if (key.item == I_UINT) {
                f = field_by_key(t, key.u);
            }
        }
        if (!f) {
            /* A key this build does not know (of any type): it and its
             * value, whatever they hold. */
            r.p = at;
            if (skip_value(&r, 0) != 0 || skip_value(&r, 0) != 0)
                return GL_ESTORAGE;
            continue;
        }
        value v;
        if (read_value_quick(&r, &v) != 0)
            return GL_ESTORAGE;
        if (v.item == I_ARRAY || v.item == I_MAP)
            return GL_ESTORAGE; /* no field of ours holds one */
        if (by_name && (v.item == I_BOOL || v.item == I_NIL) && f->namelen == 3 &&
            memcmp(f->name, "seq", 3) == 0)
            continue; /* old_build_guard, or session 7's "seq": true */
        int err = decode_value(rec, f, &v, arena, has_coords, &tm);
        if (err)
            return err;
    }
    if (r.p != r.end)
        return GL_ESTORAGE;
    return tm.delta ? add_deltas(rec, t, &tm) : 0;
}

/* The fields the LMDB key holds are taken from it, over whatever a record
 * before session 7 says (the key is where the record is). */
int store_rec_decode_event(const void *key, size_t key_len, const void *data, size_t len,
                           gl_event *ev, gl_arena *arena)
{
    memset(ev, 0, sizeof *ev);
    int err = decode(data, len, &event_type, ev, arena, &ev->has_coords);
    if (!err && arena && !ev->id)
        err = GL_ESTORAGE; /* every event is stored with its id (store_event_add) */
    if (err || !key)
        return err;
    if (key_len != 8)
        return GL_ESTORAGE;
    ev->seq = get_be(key, 8);
    return 0;
}

int store_rec_decode_dispatch(const void *key, size_t key_len, const void *data, size_t len,
                              gl_dispatch *d, gl_arena *arena)
{
    memset(d, 0, sizeof *d);
    int err = decode(data, len, &dispatch_type, d, arena, NULL);
    if (err || !key)
        return err;
    if (key_len <= 8)
        return GL_ESTORAGE;
    d->seq = get_be(key, 8);
    if (!arena)
        return 0;
    d->team = arena_strndup(arena, (const char *)key + 8, key_len - 8);
    return d->team ? 0 : GL_EINTERNAL;
}

int store_rec_decode_history(const void *key, size_t key_len, const void *data, size_t len,
                             gl_history *h, gl_arena *arena)
{
    memset(h, 0, sizeof *h);
    int err = decode(data, len, &history_type, h, arena, NULL);
    if (err || !key)
        return err;
    if (key_len != 12)
        return GL_ESTORAGE;
    h->seq = get_be(key, 8);
    h->no = (uint32_t)get_be((const unsigned char *)key + 8, 4);
    return 0;
}
