/* codec.c — the msgpack codec of proto.h. Both directions walk the same
 * field tables (codec_table.c): the encoder checks a struct against a table
 * and packs it, the decoder unpacks a body and fills the struct row by row,
 * with the same checks. */
#include "../common/mpwrite.h"
#include "codec_table.h"
#include "proto.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Containers may nest this deep, the body map counting as 1. Version 1 needs
 * 3 (body → dispatches → dispatch); the slack is for future optional keys. */
#define CODEC_MAX_DEPTH 8

typedef struct decoder {
    gl_arena *arena;
    char *errbuf;
    size_t errlen;
} decoder;

static int __attribute__((format(printf, 3, 4)))
fail(decoder *d, int err, const char *fmt, ...)
{
    if (d->errbuf && d->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->errbuf, d->errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* ---- Framing check ------------------------------------------------------ */

/* Lead bytes 0xc0..0xdf: how many length bytes follow, and what the length
 * counts. The other lead bytes carry their value or length themselves. */
enum { MP_FIXED, MP_BYTES, MP_ARRAY, MP_MAP, MP_INVALID };
static const struct {
    unsigned char what, lenbytes, extra; /* extra: bytes beyond the length */
} mp_lead[32] = {
    [0x00] = {MP_FIXED, 0, 0},    [0x01] = {MP_INVALID, 0, 0},  /* nil; 0xc1 is unused */
    [0x02] = {MP_FIXED, 0, 0},    [0x03] = {MP_FIXED, 0, 0},    /* false, true */
    [0x04] = {MP_BYTES, 1, 0},    [0x05] = {MP_BYTES, 2, 0},    [0x06] = {MP_BYTES, 4, 0},
    [0x07] = {MP_BYTES, 1, 1},    [0x08] = {MP_BYTES, 2, 1},    [0x09] = {MP_BYTES, 4, 1},
    [0x0a] = {MP_FIXED, 0, 4},    [0x0b] = {MP_FIXED, 0, 8},    /* float 32, 64 */
    [0x0c] = {MP_FIXED, 0, 1},    [0x0d] = {MP_FIXED, 0, 2},    /* uint 8..64 */
    [0x0e] = {MP_FIXED, 0, 4},    [0x0f] = {MP_FIXED, 0, 8},
    [0x10] = {MP_FIXED, 0, 1},    [0x11] = {MP_FIXED, 0, 2},    /* int 8..64 */
    [0x12] = {MP_FIXED, 0, 4},    [0x13] = {MP_FIXED, 0, 8},
    [0x14] = {MP_FIXED, 0, 2},    [0x15] = {MP_FIXED, 0, 3},    /* fixext */
    [0x16] = {MP_FIXED, 0, 5},    [0x17] = {MP_FIXED, 0, 9},    [0x18] = {MP_FIXED, 0, 17},
    [0x19] = {MP_BYTES, 1, 0},    [0x1a] = {MP_BYTES, 2, 0},    [0x1b] = {MP_BYTES, 4, 0},
    [0x1c] = {MP_ARRAY, 2, 0},    [0x1d] = {MP_ARRAY, 4, 0},
    [0x1e] = {MP_MAP, 2, 0},      [0x1f] = {MP_MAP, 4, 0},
};

/* scan checks that body is exactly one msgpack object, nested at most
 * CODEC_MAX_DEPTH containers deep, whose lengths and element counts fit in
 * the bytes that remain. msgpack-c's C unpacker has no limits: it allocates
 * a container's elements before reading them (a 5-byte body declaring 2^32
 * elements asks for 128 GiB) and reports too-deep nesting as NOMEM. This walk
 * allocates nothing and does not recurse, so what reaches msgpack_unpack_next
 * costs at most a small multiple of its length. Returns 0 or GL_EBADBODY. */
static int scan(decoder *d, const unsigned char *p, size_t len)
{
    uint64_t left[CODEC_MAX_DEPTH + 1]; /* objects still to read per level */
    int depth = 0;
    size_t pos = 0;
    left[0] = 1;
    for (;;) {
        while (left[depth] == 0 && depth > 0)
            depth--;
        if (left[depth] == 0)
            break;
        left[depth]--;
        if (pos >= len)
            return fail(d, GL_EBADBODY, "body is truncated");
        unsigned lead = p[pos++];
        uint64_t bytes = 0, items = 0;
        int container = 0;
        if (lead <= 0x7f || lead >= 0xe0) {
            /* fixint */
        } else if (lead <= 0x8f) {
            container = 1, items = 2u * (lead & 0x0f);
        } else if (lead <= 0x9f) {
            container = 1, items = lead & 0x0f;
        } else if (lead <= 0xbf) {
            bytes = lead & 0x1f;
        } else {
            unsigned what = mp_lead[lead - 0xc0].what, nlen = mp_lead[lead - 0xc0].lenbytes;
            if (what == MP_INVALID)
                return fail(d, GL_EBADBODY, "body is not msgpack (byte 0x%02x at %zu)",
                            lead, pos - 1);
            if (len - pos < nlen)
                return fail(d, GL_EBADBODY, "body is truncated");
            uint64_t n = 0;
            for (unsigned i = 0; i < nlen; i++)
                n = n << 8 | p[pos++];
            if (what == MP_ARRAY || what == MP_MAP)
                container = 1, items = what == MP_MAP ? 2 * n : n;
            else
                bytes = n + mp_lead[lead - 0xc0].extra;
        }
        if (!container) {
            if (bytes > len - pos)
                return fail(d, GL_EBADBODY, "body is truncated");
            pos += (size_t)bytes;
            continue;
        }
        if (depth + 1 > CODEC_MAX_DEPTH)
            return fail(d, GL_EBADBODY, "body nests deeper than %d levels", CODEC_MAX_DEPTH);
        if (items > len - pos) /* every element takes at least one byte */
            return fail(d, GL_EBADBODY, "body is truncated");
        if (items)
            left[++depth] = items;
    }
    if (pos != len)
        return fail(d, GL_EBADBODY, "%zu trailing byte%s after the body", len - pos,
                    len - pos == 1 ? "" : "s");
    return 0;
}

/* ---- Value checks shared by encoder and decoder -------------------------- */

enum { SC_OK, SC_LONG, SC_NUL, SC_ID, SC_UTF8, SC_VALUE };

/* utf8_valid: well-formed UTF-8 (Unicode Table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF). ASCII goes eight bytes at a time, and
 * each sequence is checked by its lead byte's range of second bytes rather
 * than by decoding the code point: texts are mostly Chinese, three bytes a
 * character, and every SUBMIT's text is checked. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, s + i, sizeof w);
                if (w & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            continue;
        }
        if ((c & 0xf0) == 0xe0) { /* three bytes: the CJK characters */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* A run of them two at a time: both lead bytes 1110xxxx and
             * their continuations 10xxxxxx in one test, then the two
             * leads whose second byte is restricted (E0, ED) sent to the
             * check below. */
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, s + i, sizeof w);
                if ((w & UINT64_C(0xc0c0f0c0c0f0)) != UINT64_C(0x8080e08080e0))
                    break;
                unsigned l0 = (unsigned)(w & 0xff), l1 = (unsigned)(w >> 24 & 0xff);
                if (l0 == 0xe0 || l0 == 0xed || l1 == 0xe0 || l1 == 0xed)
                    break;
                i += 6;
            }
            if (i >= n)
                break;
            c = s[i];
            if ((c & 0xf0) != 0xe0)
                continue;
#endif
            if (n - i < 3)
                return 0;
            unsigned c1 = s[i + 1];
            if ((c1 & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80 ||
                (c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f))
                return 0; /* overlong, or a surrogate */
            i += 3;
            continue;
        }
        /* the lowest and highest second byte each lead byte allows */
        unsigned lo = 0x80, hi = 0xbf, more;
        if (c >= 0xc2 && c <= 0xdf)
            more = 1;
        else if (c >= 0xf0 && c <= 0xf4)
            more = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else
            return 0; /* a continuation byte, C0/C1 (overlong) or above F4 */
        if (n - i <= more || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (unsigned k = 2; k <= more; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += more + 1;
    }
    return 1;
}

/* What str_check looks at besides length, ids and value lists. */
enum {
    SCK_NUL = 1,  /* NUL bytes: the decoder's strings come with a length; the
                     encoder's are NUL-terminated and cannot hold one */
    SCK_UTF8 = 2, /* UTF-8: left out for strings checked before (PROTO_ENC_TRUSTED) */
};

/* id_chars: every byte of s (n bytes) is printable ASCII other than the
 * space (0x21..0x7e). Eight bytes at a time: a word has a byte below 0x21
 * when (w - 0x21..21) & ~w has a high bit set, and one above 0x7e when
 * (w + 0x01..01) | w does (a carry only leaves a byte that is caught
 * already). Ids are checked in every SUBMIT, DISPATCH and FILED. */
static int id_chars(const char *s, size_t n)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, sizeof w);
        if ((((w - ones * 0x21) & ~w) | ((w + ones) | w)) & highs)
            return 0;
    }
    for (; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* str_check returns SC_OK when s (n bytes) is an acceptable value of f; how:
 * SCK_* bits. An id is printable ASCII and a listed value is ASCII, so both
 * are valid UTF-8 once they pass their own check: UTF-8 is looked at only
 * when nothing else vouches for it (or to name the fault of a string that
 * is not one of the values). */
static __attribute__((noinline)) int str_check(const codec_field *f, const char *s, size_t n,
                                                int how)
{
    if (n > f->max)
        return SC_LONG;
    if ((how & SCK_NUL) && memchr(s, '\0', n))
        return SC_NUL;
    if (f->flags & CF_ID) {
        if (n == 0 || !id_chars(s, n))
            return SC_ID;
        how &= ~SCK_UTF8;
    }
    if (f->values) {
        for (const char *const *v = f->values; *v; v++)
            if (strlen(*v) == n && memcmp(*v, s, n) == 0)
                return SC_OK;
        return (how & SCK_UTF8) && !utf8_valid((const unsigned char *)s, n) ? SC_UTF8
                                                                            : SC_VALUE;
    }
    if ((how & SCK_UTF8) && !utf8_valid((const unsigned char *)s, n))
        return SC_UTF8;
    return SC_OK;
}

typedef const char *(*name_fn)(int);

static name_fn enum_names(int type)
{
    return type == CT_KIND      ? gl_kind_name
           : type == CT_EVSTATE ? gl_event_state_name
                                : gl_dispatch_state_name;
}

/* enum_parse returns the enum value named by s (n bytes), or 0. */
static int enum_parse(int type, const char *s, size_t n)
{
    name_fn name = enum_names(type);
    for (int v = 1; *name(v); v++)
        if (strlen(name(v)) == n && memcmp(name(v), s, n) == 0)
            return v;
    return 0;
}

/* one_of writes "a|b|c", the values f accepts, into buf. */
static const char *one_of(const codec_field *f, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0;; i++) {
        const char *v = f->values ? f->values[i] : enum_names(f->type)(i + 1);
        if (!v || !*v)
            break;
        int w = snprintf(buf + used, len - used, "%s%s", i ? "|" : "", v);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* errname_of gives ERROR's "name" for a wire code ("unknown" if none). */
static const char *errname_of(uint32_t code)
{
    return code > 0 && code < 1000 ? gl_errname(-(int)code) : "unknown";
}

static const codec_table *sub_table(int type)
{
    return type == CT_EVENT || type == CT_EVENTS ? &codec_event_table
           : type == CT_DISPATCHES              ? &codec_dispatch_table
                                                : &codec_history_table;
}

static size_t sub_size(int type)
{
    return type == CT_DISPATCHES ? sizeof(gl_dispatch)
           : type == CT_EVENTS   ? sizeof(gl_event)
                                 : sizeof(gl_history);
}

#define AT(base, off, T) ((T *)(void *)((char *)(base) + (off)))
#define AT_C(base, off, T) ((const T *)(const void *)((const char *)(base) + (off)))

/* ---- Decoder ------------------------------------------------------------- */

static int decode_map(decoder *d, const codec_table *t, const msgpack_object_map *map,
                      void *base, const char *path, int top);

static int decode_str(decoder *d, const codec_field *f, const msgpack_object *o,
                      void *base, const char *path)
{
    char list[128];
    const char *s = o->via.str.ptr;
    size_t n = o->via.str.size;
    switch (str_check(f, s, n, SCK_NUL | SCK_UTF8)) {
    case SC_LONG:
        return fail(d, GL_EBADFIELD, "field '%s%s' is longer than %u bytes", path, f->key,
                    (unsigned)f->max);
    case SC_NUL:
        return fail(d, GL_EBADFIELD, "field '%s%s' contains a NUL byte", path, f->key);
    case SC_ID:
        return fail(d, GL_EBADFIELD,
                    "field '%s%s' must be 1..%d printable ASCII characters without spaces",
                    path, f->key, GL_MAX_ID);
    case SC_UTF8:
        return fail(d, GL_EBADFIELD, "field '%s%s' is not valid UTF-8", path, f->key);
    case SC_VALUE:
        return fail(d, GL_EBADFIELD, "field '%s%s' must be one of %s", path, f->key,
                    one_of(f, list, sizeof list));
    }
    if (f->type == CT_ERRNAME)
        return 0; /* derived from code; nothing to keep */
    char *copy = arena_strndup(d->arena, s, n);
    if (!copy)
        return fail(d, GL_EINTERNAL, "out of memory");
    *AT(base, f->off, const char *) = copy;
    return 0;
}

static int decode_array(decoder *d, const codec_field *f, const msgpack_object *o,
                        void *base, const char *path)
{
    const msgpack_object_array *arr = &o->via.array;
    if (arr->size > f->max)
        return fail(d, GL_EBADFIELD, "field '%s%s' has more than %u elements", path, f->key,
                    (unsigned)f->max);
    size_t size = sub_size(f->type);
    char *items = NULL;
    if (arr->size) {
        items = arena_alloc(d->arena, arr->size * size);
        if (!items)
            return fail(d, GL_EINTERNAL, "out of memory");
        memset(items, 0, arr->size * size);
    }
    for (uint32_t i = 0; i < arr->size; i++) {
        char sub[96];
        if (arr->ptr[i].type != MSGPACK_OBJECT_MAP)
            return fail(d, GL_EBADFIELD, "field '%s%s[%u]' must be a map", path, f->key,
                        (unsigned)i);
        snprintf(sub, sizeof sub, "%s%s[%u].", path, f->key, (unsigned)i);
        int rc = decode_map(d, sub_table(f->type), &arr->ptr[i].via.map, items + i * size,
                            sub, 0);
        if (rc)
            return rc;
    }
    *AT(base, f->off, void *) = items;
    *AT(base, f->aux, size_t) = arr->size;
    return 0;
}

/* decode_value checks o against row f and stores it into base. */
static int decode_value(decoder *d, const codec_field *f, const msgpack_object *o,
                        void *base, const char *path)
{
    static const char *const want[] = {
        [CT_STR] = "a string",          [CT_UINT] = "an unsigned integer",
        [CT_BOOL] = "a boolean",        [CT_COORD] = "a number",
        [CT_BIN] = "binary",            [CT_KIND] = "a string",
        [CT_EVSTATE] = "a string",      [CT_DSSTATE] = "a string",
        [CT_EVENT] = "a map",           [CT_DISPATCHES] = "an array",
        [CT_HISTORY] = "an array",      [CT_ERRNAME] = "a string",
        [CT_MAP] = "a map",             [CT_EVENTS] = "an array",
    };
    static const int wire_type[] = {
        [CT_STR] = MSGPACK_OBJECT_STR,        [CT_UINT] = MSGPACK_OBJECT_POSITIVE_INTEGER,
        [CT_BOOL] = MSGPACK_OBJECT_BOOLEAN,   [CT_COORD] = MSGPACK_OBJECT_FLOAT64,
        [CT_BIN] = MSGPACK_OBJECT_BIN,        [CT_KIND] = MSGPACK_OBJECT_STR,
        [CT_EVSTATE] = MSGPACK_OBJECT_STR,    [CT_DSSTATE] = MSGPACK_OBJECT_STR,
        [CT_EVENT] = MSGPACK_OBJECT_MAP,      [CT_DISPATCHES] = MSGPACK_OBJECT_ARRAY,
        [CT_HISTORY] = MSGPACK_OBJECT_ARRAY,  [CT_ERRNAME] = MSGPACK_OBJECT_STR,
        [CT_MAP] = MSGPACK_OBJECT_MAP,        [CT_EVENTS] = MSGPACK_OBJECT_ARRAY,
    };
    int type_ok = (int)o->type == wire_type[f->type] ||
                  (f->type == CT_COORD && (o->type == MSGPACK_OBJECT_FLOAT32 ||
                                           o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                                           o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER));
    if (!type_ok) {
        if (f->type == CT_UINT && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return fail(d, GL_EBADFIELD, "field '%s%s' must not be negative", path, f->key);
        return fail(d, GL_EBADFIELD, "field '%s%s' must be %s", path, f->key, want[f->type]);
    }
    char list[128], sub[96];
    switch (f->type) {
    case CT_STR:
    case CT_ERRNAME:
        return decode_str(d, f, o, base, path);
    case CT_UINT:
        if (f->size == sizeof(uint32_t)) {
            if (o->via.u64 > UINT32_MAX)
                return fail(d, GL_EBADFIELD, "field '%s%s' is larger than %u", path, f->key,
                            (unsigned)UINT32_MAX);
            *AT(base, f->off, uint32_t) = (uint32_t)o->via.u64;
        } else {
            *AT(base, f->off, uint64_t) = o->via.u64;
        }
        return 0;
    case CT_BOOL:
        *AT(base, f->off, int) = o->via.boolean ? 1 : 0;
        return 0;
    case CT_COORD: {
        double v = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER   ? (double)o->via.u64
                   : o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (double)o->via.i64
                                                                : o->via.f64;
        if (!(v >= -(double)f->max && v <= (double)f->max)) /* NaN fails too */
            return fail(d, GL_EBADFIELD, "field '%s%s' must be a number from -%u to %u",
                        path, f->key, (unsigned)f->max, (unsigned)f->max);
        *AT(base, f->off, double) = v;
        return 0;
    }
    case CT_BIN: {
        size_t n = o->via.bin.size;
        if (n == 0 || n > f->max)
            return fail(d, GL_EBADFIELD, "field '%s%s' must be 1..%u bytes", path, f->key,
                        (unsigned)f->max);
        void *copy = arena_alloc(d->arena, n);
        if (!copy)
            return fail(d, GL_EINTERNAL, "out of memory");
        memcpy(copy, o->via.bin.ptr, n);
        *AT(base, f->off, const void *) = copy;
        *AT(base, f->aux, size_t) = n;
        return 0;
    }
    case CT_KIND:
    case CT_EVSTATE:
    case CT_DSSTATE: {
        int v = enum_parse(f->type, o->via.str.ptr, o->via.str.size);
        if (!v)
            return fail(d, f->type == CT_KIND ? GL_EUNKNOWNKIND : GL_EBADFIELD,
                        "field '%s%s' must be one of %s", path, f->key,
                        one_of(f, list, sizeof list));
        *AT(base, f->off, int) = v;
        return 0;
    }
    case CT_EVENT:
        snprintf(sub, sizeof sub, "%s%s.", path, f->key);
        return decode_map(d, &codec_event_table, &o->via.map, AT(base, f->off, void), sub, 0);
    case CT_MAP: {
        /* scan() has bounded its depth and lengths already; re-pack the
         * object to get its bytes. */
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        void *copy = NULL;
        if (msgpack_pack_object(&pk, *o) == 0 && (copy = arena_alloc(d->arena, sb.size)))
            memcpy(copy, sb.data, sb.size);
        size_t n = sb.size;
        msgpack_sbuffer_destroy(&sb);
        if (!copy)
            return fail(d, GL_EINTERNAL, "out of memory");
        *AT(base, f->off, const void *) = copy;
        *AT(base, f->aux, size_t) = n;
        return 0;
    }
    default:
        return decode_array(d, f, o, base, path);
    }
}

/* key_is: whether row f has the wire key k (klen bytes, not NUL-terminated). */
static int key_is(const codec_field *f, const char *k, size_t klen)
{
    return klen && f->key[0] == k[0] && strlen(f->key) == klen && memcmp(f->key, k, klen) == 0;
}

/* decode_map fills base from map by the rows of t; path prefixes field names
 * in reasons ("dispatches[2]."); top: map is the body itself. */
static int decode_map(decoder *d, const codec_table *t, const msgpack_object_map *map,
                      void *base, const char *path, int top)
{
    uint64_t seen = 0;
    size_t next = 0;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *key = &map->ptr[i].key;
        if (key->type != MSGPACK_OBJECT_STR) {
            if (top)
                return fail(d, GL_EBADBODY, "map keys must be strings");
            return fail(d, GL_EBADFIELD, "keys of '%.*s' must be strings",
                        (int)strlen(path) - 1, path);
        }
        /* Encoders write the keys in the table's order, so the row after
         * the last one found is tried first; then every row. */
        const char *k = key->via.str.ptr;
        size_t klen = key->via.str.size, r = next < t->n ? next : 0;
        if (r >= t->n || !key_is(&t->fields[r], k, klen))
            for (r = 0; r < t->n && !key_is(&t->fields[r], k, klen); r++)
                ;
        if (r == t->n)
            continue; /* unknown keys are ignored: forward compatibility */
        if (seen & (UINT64_C(1) << r))
            return fail(d, GL_EBADFIELD, "field '%s%s' appears twice", path, t->fields[r].key);
        seen |= UINT64_C(1) << r;
        next = r + 1;
        int rc = decode_value(d, &t->fields[r], &map->ptr[i].val, base, path);
        if (rc)
            return rc;
    }
    const codec_field *coord_seen = NULL, *coord_absent = NULL;
    for (size_t r = 0; r < t->n; r++) {
        const codec_field *f = &t->fields[r];
        int has = (seen >> r) & 1;
        if ((f->flags & CF_REQUIRED) && !has)
            return fail(d, GL_EMISSING, "missing field '%s%s'", path, f->key);
        if (f->type == CT_COORD)
            *(has ? &coord_seen : &coord_absent) = f;
    }
    if (coord_seen && coord_absent)
        return fail(d, GL_EBADFIELD, "field '%s%s' must come with '%s%s'", path,
                    coord_seen->key, path, coord_absent->key);
    if (coord_seen)
        *AT(base, coord_seen->aux, int) = 1;
    return 0;
}

/* thread_zone gives this thread's unpacking zone, made on first use and
 * kept between messages: msgpack_unpack_next would make and free one, two
 * mallocs and two frees, for every message. The unpacked objects live in it
 * (their strings point into the body); decode_* copy what they keep into
 * the caller's arena before proto_decode clears the zone. A thread that
 * ends frees its zone (the key's destructor); NULL when memory runs out. */
static pthread_key_t zone_key;
static pthread_once_t zone_once = PTHREAD_ONCE_INIT;
static int zone_key_ok;
static _Thread_local msgpack_zone *zone_of_thread;

static void zone_release(void *zone)
{
    msgpack_zone_free(zone);
    zone_of_thread = NULL;
}

static void zone_key_make(void)
{
    zone_key_ok = pthread_key_create(&zone_key, zone_release) == 0;
}

static msgpack_zone *thread_zone(void)
{
    if (zone_of_thread)
        return zone_of_thread;
    pthread_once(&zone_once, zone_key_make);
    msgpack_zone *zone = zone_key_ok ? msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE) : NULL;
    if (zone && pthread_setspecific(zone_key, zone) != 0) {
        msgpack_zone_free(zone);
        zone = NULL;
    }
    return zone_of_thread = zone;
}

int proto_decode(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena,
                 char *errbuf, size_t errlen)
{
    decoder d = {arena, errbuf, errlen};
    memset(m, 0, sizeof *m);
    m->cmd = cmd;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    const codec_table *t = codec_command(cmd);
    if (!t)
        return fail(&d, GL_EUNKNOWNCMD, "unknown command %d", cmd);
    if (len > GL_MAX_BODY)
        return fail(&d, GL_ETOOLARGE, "body is %zu bytes, more than %d", len, GL_MAX_BODY);
    if (!body || len == 0)
        return fail(&d, GL_EBADBODY, "body is empty; send an empty map (0x80)");
    int rc = scan(&d, body, len);
    if (rc)
        return rc;

    msgpack_zone *zone = thread_zone();
    if (!zone)
        return fail(&d, GL_EINTERNAL, "out of memory");
    msgpack_object obj;
    size_t off = 0;
    switch (msgpack_unpack(body, len, &off, zone, &obj)) {
    case MSGPACK_UNPACK_SUCCESS:
    case MSGPACK_UNPACK_EXTRA_BYTES:
        if (off != len)
            rc = fail(&d, GL_EBADBODY, "%zu trailing bytes after the body", len - off);
        else if (obj.type != MSGPACK_OBJECT_MAP)
            rc = fail(&d, GL_EBADBODY, "body must be a msgpack map");
        else
            rc = decode_map(&d, t, &obj.via.map, m, "", 1);
        break;
    case MSGPACK_UNPACK_CONTINUE:
        rc = fail(&d, GL_EBADBODY, "body is truncated");
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        rc = fail(&d, GL_EINTERNAL, "out of memory");
        break;
    default:
        rc = fail(&d, GL_EBADBODY, "body is not msgpack");
        break;
    }
    msgpack_zone_clear(zone); /* keeps its first chunk for the next message */
    return rc;
}

/* ---- Encoder ------------------------------------------------------------- */

/* How a body is encoded: proto_encode_ex's flags, and the event map (row
 * CT_EVENT of the top table) already encoded, to be written as it is. */
typedef struct encoder {
    int how;              /* SCK_* bits for str_check */
    const void *event_map; /* NULL: encode the row's gl_event */
    size_t event_map_len;
} encoder;

/* emitted: whether row f of base goes on the wire. Absent strings, zero
 * optional numbers and NONE enums are left out; required numbers and arrays
 * always go (0 and [] are values). */
static inline __attribute__((always_inline)) int emitted(const encoder *e, const codec_field *f,
                                                         const void *base)
{
    switch (f->type) {
    case CT_STR:
        return *AT_C(base, f->off, const char *) != NULL;
    case CT_UINT:
        return (f->flags & CF_REQUIRED) ||
               (f->size == sizeof(uint32_t) ? *AT_C(base, f->off, uint32_t) != 0
                                            : *AT_C(base, f->off, uint64_t) != 0);
    case CT_BOOL:
    case CT_KIND:
    case CT_EVSTATE:
    case CT_DSSTATE:
        return *AT_C(base, f->off, int) != 0;
    case CT_COORD:
        return *AT_C(base, f->aux, int) != 0;
    case CT_BIN:
        return *AT_C(base, f->off, const void *) && *AT_C(base, f->aux, size_t);
    case CT_EVENT:
        return e->event_map || AT_C(base, f->off, gl_event)->id != NULL;
    case CT_ERRNAME:
        return strcmp(errname_of(*AT_C(base, f->off, uint32_t)), "unknown") != 0;
    case CT_MAP:
        return *AT_C(base, f->off, const void *) && *AT_C(base, f->aux, size_t);
    default:
        return (f->flags & CF_REQUIRED) || *AT_C(base, f->aux, size_t) != 0;
    }
}

static int check_map(const encoder *e, const codec_table *t, const void *base, uint64_t *emit,
                     size_t *slen);

/* check_value: whether an emitted row holds a value the decoder accepts.
 * *slen: a string's length (CT_STR), for pack_rows. */
static int check_value(const encoder *e, const codec_field *f, const void *base, size_t *slen)
{
    /* Records nested in a body carry no map of their own to splice. */
    const encoder sub = {e->how, NULL, 0};
    switch (f->type) {
    case CT_MAP: {
        /* exactly one whole map, as decode_value would accept it: a map
         * built by hand with a wrong entry count is refused here */
        const char *p = *AT_C(base, f->off, const char *);
        size_t n = *AT_C(base, f->aux, size_t), off = 0;
        if (n > GL_MAX_BODY)
            return 0;
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        int whole = msgpack_unpack_next(&u, p, n, &off) == MSGPACK_UNPACK_SUCCESS &&
                    off == n && u.data.type == MSGPACK_OBJECT_MAP;
        msgpack_unpacked_destroy(&u);
        return whole;
    }
    case CT_STR: {
        const char *s = *AT_C(base, f->off, const char *);
        *slen = strlen(s);
        return str_check(f, s, *slen, e->how) == SC_OK;
    }
    case CT_COORD: {
        double v = *AT_C(base, f->off, double);
        return v >= -(double)f->max && v <= (double)f->max;
    }
    case CT_BIN:
        return *AT_C(base, f->aux, size_t) <= f->max;
    case CT_KIND:
    case CT_EVSTATE:
    case CT_DSSTATE:
        return *enum_names(f->type)(*AT_C(base, f->off, int)) != '\0';
    case CT_EVENT:
        /* a map from proto_encode_event was checked when it was made */
        return e->event_map ||
               check_map(&sub, &codec_event_table, AT_C(base, f->off, void), NULL, NULL) == 0;
    case CT_DISPATCHES:
    case CT_HISTORY:
    case CT_EVENTS: {
        size_t n = *AT_C(base, f->aux, size_t), size = sub_size(f->type);
        const char *items = *AT_C(base, f->off, const char *);
        if (n > f->max || (n && !items))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (check_map(&sub, sub_table(f->type), items + i * size, NULL, NULL))
                return 0;
        return 1;
    }
    default:
        return 1;
    }
}

/* check_map checks the rows of t; *emit (when not NULL) gets the rows
 * emitted, as a mask, and slen[r] (when not NULL; t->n entries) the length
 * of each string emitted: pack_rows then writes them without asking
 * emitted and strlen again. */
static int check_map(const encoder *e, const codec_table *t, const void *base, uint64_t *emit,
                     size_t *slen)
{
    uint64_t mask = 0;
    size_t scratch;
    for (size_t r = 0; r < t->n; r++) {
        const codec_field *f = &t->fields[r];
        if (!emitted(e, f, base)) {
            if (f->flags & CF_REQUIRED)
                return GL_EBADFIELD;
        } else if (!check_value(e, f, base, slen ? &slen[r] : &scratch)) {
            return GL_EBADFIELD;
        } else {
            mask |= UINT64_C(1) << r;
        }
    }
    if (emit)
        *emit = mask;
    return 0;
}


static void pack_rows(const encoder *e, mp_writer *w, const codec_table *t, const void *base,
                      uint64_t emit, const size_t *slen);

/* pack_map writes the emitted rows of t (the writer notes a failure). */
static void pack_map(const encoder *e, mp_writer *w, const codec_table *t, const void *base)
{
    uint64_t emit = 0; /* tables have at most 64 rows (codec_table.h) */
    for (size_t r = 0; r < t->n; r++)
        if (emitted(e, &t->fields[r], base))
            emit |= UINT64_C(1) << r;
    pack_rows(e, w, t, base, emit, NULL);
}

/* pack_rows writes the rows of t in emit (a mask; check_map's); slen: the
 * strings' lengths by row as check_map found them, or NULL. */
static void pack_rows(const encoder *e, mp_writer *w, const codec_table *t, const void *base,
                      uint64_t emit, const size_t *slen)
{
    const encoder sub = {e->how, NULL, 0};
    size_t n = 0;
    for (uint64_t m = emit; m; m &= m - 1)
        n++;
    mpw_count(w, 0x80, 0xde, n);
    /* Only the rows emitted, lowest first (a table's order). */
    for (uint64_t left = emit; left; left &= left - 1) {
        size_t r = (size_t)__builtin_ctzll(left);
        const codec_field *f = &t->fields[r];
        mpw_str(w, f->key, f->klen);
        const char *s = NULL;
        switch (f->type) {
        case CT_STR:
            s = *AT_C(base, f->off, const char *);
            if (slen) {
                mpw_str(w, s, slen[r]);
                s = NULL;
            }
            break;
        case CT_ERRNAME:
            s = errname_of(*AT_C(base, f->off, uint32_t));
            break;
        case CT_KIND:
        case CT_EVSTATE:
        case CT_DSSTATE:
            s = enum_names(f->type)(*AT_C(base, f->off, int));
            break;
        case CT_UINT:
            mpw_uint(w, f->size == sizeof(uint32_t) ? *AT_C(base, f->off, uint32_t)
                                                    : *AT_C(base, f->off, uint64_t));
            break;
        case CT_BOOL:
            mpw_head(w, *AT_C(base, f->off, int) ? 0xc3 : 0xc2, 0, 0);
            break;
        case CT_COORD: {
            /* The smallest exact form, so a decoded message never grows
             * when encoded again (the decoder takes ints and float32 too). */
            double v = *AT_C(base, f->off, double);
            if (v == (double)(int64_t)v)
                mpw_int(w, (int64_t)v);
            else if ((double)(float)v == v)
                mpw_float(w, (float)v);
            else
                mpw_double(w, v);
            break;
        }
        case CT_BIN:
            mpw_bin(w, *AT_C(base, f->off, const void *), *AT_C(base, f->aux, size_t));
            break;
        case CT_EVENT:
            if (e->event_map) /* the same bytes pack_map made of it before */
                mpw_bytes(w, e->event_map, e->event_map_len);
            else
                pack_map(&sub, w, &codec_event_table, AT_C(base, f->off, void));
            break;
        case CT_MAP: /* the bytes of a whole map, as they came */
            mpw_bytes(w, *AT_C(base, f->off, const char *), *AT_C(base, f->aux, size_t));
            break;
        default: {
            size_t count = *AT_C(base, f->aux, size_t), size = sub_size(f->type);
            const char *items = *AT_C(base, f->off, const char *);
            mpw_count(w, 0x90, 0xdc, count);
            for (size_t i = 0; i < count; i++)
                pack_map(&sub, w, sub_table(f->type), items + i * size);
        }
        }
        if (s)
            mpw_str(w, s, strlen(s));
    }
}

/* encode checks base against t and appends its map to buf; see proto_encode. */
static int encode(const encoder *e, const codec_table *t, const void *base,
                  msgpack_sbuffer *buf)
{
    uint64_t emit;
    size_t slen[64]; /* tables have at most 64 rows (codec_table.h) */
    int rc = check_map(e, t, base, &emit, slen);
    if (rc)
        return rc;
    size_t start = buf->size;
    mp_writer w = {buf, 0};
    pack_rows(e, &w, t, base, emit, slen);
    if (w.failed) {
        buf->size = start;
        return GL_EINTERNAL;
    }
    if (buf->size - start > GL_MAX_BODY) {
        buf->size = start;
        return GL_ETOOLARGE;
    }
    return 0;
}

int proto_encode(const proto_msg *m, msgpack_sbuffer *buf)
{
    return proto_encode_ex(m, 0, NULL, 0, buf);
}

int proto_encode_ex(const proto_msg *m, int flags, const void *event_map, size_t event_map_len,
                    msgpack_sbuffer *buf)
{
    const codec_table *t = codec_command(m->cmd);
    if (!t)
        return GL_EUNKNOWNCMD;
    encoder e = {(flags & PROTO_ENC_TRUSTED) ? 0 : SCK_UTF8, event_map, event_map_len};
    if (event_map) {
        /* Only a body with a map of event fields takes one, and only a
         * whole map: proto_encode_event's, at most a body long. */
        size_t r = 0;
        while (r < t->n && t->fields[r].type != CT_EVENT)
            r++;
        unsigned lead = event_map_len ? *(const unsigned char *)event_map : 0;
        if (r == t->n || event_map_len > GL_MAX_BODY ||
            !((lead >= 0x80 && lead <= 0x8f) || lead == 0xde || lead == 0xdf))
            return GL_EBADFIELD;
    }
    return encode(&e, t, m, buf);
}

int proto_encode_event(const gl_event *ev, int flags, msgpack_sbuffer *buf)
{
    encoder e = {(flags & PROTO_ENC_TRUSTED) ? 0 : SCK_UTF8, NULL, 0};
    return encode(&e, &codec_event_table, ev, buf);
}

/* pack_record writes one record map through pk (any msgpack-c packer). */
static void pack_record(msgpack_packer *pk, const codec_table *t, const void *base)
{
    static const encoder plain = {SCK_UTF8, NULL, 0};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    mp_writer w = {&sb, 0};
    pack_map(&plain, &w, t, base);
    if (!w.failed)
        (void)pk->callback(pk->data, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

void proto_pack_event(msgpack_packer *pk, const gl_event *ev)
{
    pack_record(pk, &codec_event_table, ev);
}

void proto_pack_dispatch(msgpack_packer *pk, const gl_dispatch *d)
{
    pack_record(pk, &codec_dispatch_table, d);
}

void proto_pack_history(msgpack_packer *pk, const gl_history *h)
{
    pack_record(pk, &codec_history_table, h);
}

/* ---- Event maps made once (issue 7) -------------------------------------- */

int proto_event_same(const gl_event *a, const gl_event *b)
{
    const codec_table *t = &codec_event_table;
    for (size_t r = 0; r < t->n; r++) {
        const codec_field *f = &t->fields[r];
        switch (f->type) {
        case CT_STR: {
            const char *x = *AT_C(a, f->off, const char *), *y = *AT_C(b, f->off, const char *);
            if (x != y && (!x || !y || strcmp(x, y) != 0))
                return 0;
            break;
        }
        case CT_UINT:
            if (f->size == sizeof(uint32_t) ? *AT_C(a, f->off, uint32_t) != *AT_C(b, f->off, uint32_t)
                                            : *AT_C(a, f->off, uint64_t) != *AT_C(b, f->off, uint64_t))
                return 0;
            break;
        case CT_COORD:
            if (*AT_C(a, f->aux, int) != *AT_C(b, f->aux, int) ||
                (*AT_C(a, f->aux, int) && *AT_C(a, f->off, double) != *AT_C(b, f->off, double)))
                return 0;
            break;
        default: /* CT_BOOL and the enums: an int */
            if (*AT_C(a, f->off, int) != *AT_C(b, f->off, int))
                return 0;
            break;
        }
    }
    return 1;
}

int proto_event_copy(gl_event *dst, const gl_event *src, gl_arena *arena)
{
    *dst = *src;
    const codec_table *t = &codec_event_table;
    for (size_t r = 0; r < t->n; r++) {
        const codec_field *f = &t->fields[r];
        const char *s = f->type == CT_STR ? *AT_C(src, f->off, const char *) : NULL;
        if (s && !(*AT(dst, f->off, const char *) = arena_strdup(arena, s)))
            return GL_EINTERNAL;
    }
    return 0;
}

/* skip returns where the msgpack object at pos (of len bytes) ends, or 0
 * when it does not fit. Containers are walked by counting what is left in
 * them, so nothing recurses. */
static size_t skip(const unsigned char *p, size_t len, size_t pos)
{
    uint64_t left = 1;
    while (left) {
        left--;
        if (pos >= len)
            return 0;
        unsigned lead = p[pos++];
        uint64_t bytes = 0, items = 0;
        if (lead <= 0x7f || lead >= 0xe0) {
            /* fixint */
        } else if (lead <= 0x8f) {
            items = 2u * (lead & 0x0f);
        } else if (lead <= 0x9f) {
            items = lead & 0x0f;
        } else if (lead <= 0xbf) {
            bytes = lead & 0x1f;
        } else {
            unsigned what = mp_lead[lead - 0xc0].what, nlen = mp_lead[lead - 0xc0].lenbytes;
            if (what == MP_INVALID || len - pos < nlen)
                return 0;
            uint64_t n = 0;
            for (unsigned i = 0; i < nlen; i++)
                n = n << 8 | p[pos++];
            if (what == MP_ARRAY || what == MP_MAP)
                items = what == MP_MAP ? 2 * n : n;
            else
                bytes = n + mp_lead[lead - 0xc0].extra;
        }
        if (bytes > len - pos || items > len - pos)
            return 0;
        pos += (size_t)bytes;
        left += items;
    }
    return pos;
}

static size_t map_head(const unsigned char *p, size_t len, uint32_t *n);

int proto_map_without(const void *map, size_t len, const char *key, msgpack_sbuffer *buf)
{
    const unsigned char *p = map;
    size_t klen = strlen(key);
    uint32_t n;
    size_t pos = p ? map_head(p, len, &n) : 0;
    if (!pos)
        return GL_EBADBODY;
    /* Find the first entry whose key is the string key. */
    size_t body = pos, cut = 0, cut_end = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t k = pos, v = skip(p, len, k), end = v ? skip(p, len, v) : 0;
        if (!end)
            return GL_EBADBODY;
        unsigned lead = p[k];
        size_t hdr = lead >= 0xa0 && lead <= 0xbf ? 1 : lead == 0xd9 ? 2 : lead == 0xda ? 3
                     : lead == 0xdb ? 5 : 0; /* 0: not a string */
        if (!cut_end && hdr && v - k - hdr == klen && memcmp(p + k + hdr, key, klen) == 0) {
            cut = k;
            cut_end = end;
        }
        pos = end;
    }
    if (pos != len)
        return GL_EBADBODY;
    size_t start = buf->size;
    mp_writer w = {buf, 0};
    mpw_count(&w, 0x80, 0xde, cut_end ? n - 1 : n);
    if (cut_end) {
        mpw_bytes(&w, p + body, cut - body);
        mpw_bytes(&w, p + cut_end, len - cut_end);
    } else {
        mpw_bytes(&w, p + body, len - body);
    }
    if (w.failed) {
        buf->size = start;
        return GL_EINTERNAL;
    }
    return 0;
}

/* map_head reads the header of the map at p (len bytes): its entry count in
 * *n and where its first key starts; 0 when p does not start with a map. */
static size_t map_head(const unsigned char *p, size_t len, uint32_t *n)
{
    if (len >= 1 && p[0] >= 0x80 && p[0] <= 0x8f) {
        *n = p[0] & 0x0f;
        return 1;
    }
    if (len >= 3 && p[0] == 0xde) {
        *n = (uint32_t)p[1] << 8 | p[2];
        return 3;
    }
    if (len >= 5 && p[0] == 0xdf) {
        *n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        return 5;
    }
    return 0;
}

/* ---- Flat decoder --------------------------------------------------------- */

/* A reader of the few msgpack forms a flat body uses, straight from the
 * bytes: no msgpack_unpack_next (whose zone is two mallocs per body) and no
 * object tree. Anything else it leaves to proto_decode. */
typedef struct flat {
    const unsigned char *p, *end;
} flat;

static int flat_len(flat *r, unsigned n, uint64_t *v)
{
    if ((size_t)(r->end - r->p) < n)
        return -1;
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x = x << 8 | r->p[i];
    r->p += n;
    *v = x;
    return 0;
}

/* flat_bytes reads a str (bin: a bin) header and its bytes; -1 for another
 * type or a length past the end. */
static int flat_bytes(flat *r, int bin, const char **s, size_t *n)
{
    if (r->p >= r->end)
        return -1;
    unsigned lead = *r->p++;
    uint64_t len;
    if (!bin && lead >= 0xa0 && lead <= 0xbf) {
        len = lead & 0x1f;
    } else {
        unsigned first = bin ? 0xc4 : 0xd9; /* 8-, 16- and 32-bit lengths follow */
        if (lead < first || lead > first + 2 || flat_len(r, 1u << (lead - first), &len) != 0)
            return -1;
    }
    if (len > (uint64_t)(r->end - r->p))
        return -1;
    *s = (const char *)r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

/* flat_value reads and checks one value for row f, as decode_value does;
 * how: the SCK_* bits of its strings' checks. */
static int flat_value(flat *r, gl_arena *arena, const codec_field *f, void *base, int how)
{
    if (r->p >= r->end)
        return -1;
    unsigned lead = *r->p;
    const char *s;
    size_t n;
    uint64_t u;
    switch (f->type) {
    case CT_STR:
    case CT_KIND:
    case CT_EVSTATE:
    case CT_DSSTATE:
        if (flat_bytes(r, 0, &s, &n) != 0)
            return -1;
        if (f->type != CT_STR) {
            int v = enum_parse(f->type, s, n);
            if (!v)
                return -1;
            *AT(base, f->off, int) = v;
            return 0;
        }
        if (str_check(f, s, n, how) != SC_OK)
            return -1;
        char *copy = arena_strndup(arena, s, n);
        if (!copy)
            return -1;
        *AT(base, f->off, const char *) = copy;
        return 0;
    case CT_UINT:
        r->p++;
        if (lead <= 0x7f)
            u = lead;
        else if (lead < 0xcc || lead > 0xcf || flat_len(r, 1u << (lead - 0xcc), &u) != 0)
            return -1;
        if (f->size == sizeof(uint32_t)) {
            if (u > UINT32_MAX)
                return -1;
            *AT(base, f->off, uint32_t) = (uint32_t)u;
        } else {
            *AT(base, f->off, uint64_t) = u;
        }
        return 0;
    case CT_BOOL:
        if (lead != 0xc2 && lead != 0xc3)
            return -1;
        r->p++;
        *AT(base, f->off, int) = lead == 0xc3;
        return 0;
    case CT_COORD: {
        double v;
        r->p++;
        if (lead <= 0x7f) {
            v = lead;
        } else if (lead == 0xca) {
            float x;
            uint32_t bits;
            if (flat_len(r, 4, &u) != 0)
                return -1;
            bits = (uint32_t)u;
            memcpy(&x, &bits, sizeof x);
            v = x;
        } else if (lead == 0xcb) {
            if (flat_len(r, 8, &u) != 0)
                return -1;
            memcpy(&v, &u, sizeof v);
        } else {
            return -1;
        }
        if (!(v >= -(double)f->max && v <= (double)f->max))
            return -1;
        *AT(base, f->off, double) = v;
        return 0;
    }
    case CT_BIN: {
        if (flat_bytes(r, 1, &s, &n) != 0 || n == 0 || n > f->max)
            return -1;
        void *bytes = arena_alloc(arena, n);
        if (!bytes)
            return -1;
        memcpy(bytes, s, n);
        *AT(base, f->off, const void *) = bytes;
        *AT(base, f->aux, size_t) = n;
        return 0;
    }
    default: /* maps, arrays, ERROR's name: proto_decode */
        return -1;
    }
}

int proto_decode_flat(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena)
{
    return proto_decode_flat_ex(cmd, body, len, m, arena, 0);
}

int proto_decode_flat_ex(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena,
                         int flags)
{
    int how = (flags & PROTO_DEC_TRUSTED) ? SCK_NUL : SCK_NUL | SCK_UTF8;
    memset(m, 0, sizeof *m);
    m->cmd = cmd;
    const codec_table *t = codec_command(cmd);
    if (!t || !body || len == 0 || len > GL_MAX_BODY)
        return 1;
    flat r = {body, (const unsigned char *)body + len};
    unsigned lead = *r.p++;
    uint64_t pairs;
    if (lead >= 0x80 && lead <= 0x8f)
        pairs = lead & 0x0f;
    else if ((lead != 0xde && lead != 0xdf) || flat_len(&r, lead == 0xde ? 2 : 4, &pairs) != 0)
        return 1;
    uint64_t seen = 0;
    size_t next = 0; /* where the next key is looked for first */
    for (uint64_t i = 0; i < pairs; i++) {
        const char *key;
        size_t klen, row = t->n;
        if (flat_bytes(&r, 0, &key, &klen) != 0 || klen == 0)
            return 1;
        /* Encoders write the rows in table order (proto_encode does):
         * the search starts after the row of the previous key, so each
         * key of such a body is found at the first try. */
        for (size_t tried = 0; tried < t->n; tried++) {
            size_t at = next + tried < t->n ? next + tried : next + tried - t->n;
            const char *k = t->fields[at].key;
            if (k[0] != key[0])
                continue;
            size_t c = 1; /* compared in place: no strlen and memcmp calls */
            while (c < klen && k[c] && k[c] == key[c])
                c++;
            if (c == klen && k[klen] == '\0') {
                row = at;
                break;
            }
        }
        next = row + 1 < t->n ? row + 1 : 0;
        /* An unknown key (ignored by proto_decode, whose checks of its
         * value are more than this reader's) or one seen twice. */
        if (row == t->n || (seen & (UINT64_C(1) << row)))
            return 1;
        seen |= UINT64_C(1) << row;
        if (flat_value(&r, arena, &t->fields[row], m, how) != 0)
            return 1;
    }
    if (r.p != r.end)
        return 1;
    const codec_field *coord_seen = NULL, *coord_absent = NULL;
    for (size_t row = 0; row < t->n; row++) {
        const codec_field *f = &t->fields[row];
        int has = (seen >> row) & 1;
        if ((f->flags & CF_REQUIRED) && !has)
            return 1;
        if (f->type == CT_COORD)
            *(has ? &coord_seen : &coord_absent) = f;
    }
    if (coord_seen && coord_absent)
        return 1;
    if (coord_seen)
        *AT(m, coord_seen->aux, int) = 1;
    return 0;
}
