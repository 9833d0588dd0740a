/* peek.c — see peek.h. A msgpack object is skipped by counting the objects
 * still to read (a container adds its elements), so nesting costs no stack
 * and a hostile length can only run into the end of the buffer. */
#include "peek.h"

#include <string.h>

typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

static int take(cursor *c, size_t n, uint64_t *v)
{
    if ((size_t)(c->end - c->p) < n)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | c->p[i];
    c->p += n;
    *v = x;
    return 0;
}

/* head reads one object's lead byte and length: *items is the number of
 * objects a container holds (map: keys and values), *bytes the payload
 * that follows the header (strings, bins, numbers, ext). */
static int head(cursor *c, unsigned *lead, uint64_t *items, uint64_t *bytes)
{
    if (c->p >= c->end)
        return -1;
    unsigned b = *c->p++;
    *lead = b;
    *items = 0;
    *bytes = 0;
    if (b <= 0x7f || b >= 0xe0)
        return 0;
    if (b <= 0x8f) {
        *items = 2u * (b & 0x0f);
        return 0;
    }
    if (b <= 0x9f) {
        *items = b & 0x0f;
        return 0;
    }
    if (b <= 0xbf) {
        *bytes = b & 0x1f;
        return 0;
    }
    uint64_t n;
    switch (b) {
    case 0xc0: case 0xc2: case 0xc3:
        return 0;
    case 0xc4: case 0xd9:
        return take(c, 1, bytes);
    case 0xc5: case 0xda:
        return take(c, 2, bytes);
    case 0xc6: case 0xdb:
        return take(c, 4, bytes);
    case 0xc7: case 0xc8: case 0xc9: /* ext: length, type byte, data */
        if (take(c, b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4, &n) != 0)
            return -1;
        *bytes = n + 1;
        return 0;
    case 0xca: *bytes = 4; return 0;
    case 0xcb: *bytes = 8; return 0;
    case 0xcc: case 0xd0: *bytes = 1; return 0;
    case 0xcd: case 0xd1: *bytes = 2; return 0;
    case 0xce: case 0xd2: *bytes = 4; return 0;
    case 0xcf: case 0xd3: *bytes = 8; return 0;
    case 0xd4: *bytes = 2; return 0;
    case 0xd5: *bytes = 3; return 0;
    case 0xd6: *bytes = 5; return 0;
    case 0xd7: *bytes = 9; return 0;
    case 0xd8: *bytes = 17; return 0;
    case 0xdc:
        return take(c, 2, items);
    case 0xdd:
        return take(c, 4, items);
    case 0xde:
    case 0xdf:
        if (take(c, b == 0xde ? 2 : 4, &n) != 0)
            return -1;
        *items = 2 * n;
        return 0;
    default: /* 0xc1: never used */
        return -1;
    }
}

static int skip_bytes(cursor *c, uint64_t n)
{
    if ((uint64_t)(c->end - c->p) < n)
        return -1;
    c->p += n;
    return 0;
}

/* skip passes over one whole object. */
static int skip(cursor *c)
{
    uint64_t left = 1;
    while (left) {
        unsigned lead;
        uint64_t items, bytes;
        if (head(c, &lead, &items, &bytes) != 0 || skip_bytes(c, bytes) != 0)
            return -1;
        left--;
        if (items > (uint64_t)(c->end - c->p))
            return -1; /* every element takes a byte at least */
        left += items;
    }
    return 0;
}

/* value reads one object as a peek_value. */
static int value(cursor *c, peek_value *v)
{
    const unsigned char *start = c->p;
    unsigned lead;
    uint64_t items, bytes;
    if (head(c, &lead, &items, &bytes) != 0)
        return -1;
    if (lead <= 0x7f || (lead >= 0xcc && lead <= 0xcf)) {
        v->type = PEEK_UINT;
        if (lead <= 0x7f)
            v->u = lead;
        else if (take(c, (size_t)bytes, &v->u) != 0)
            return -1;
        return 0;
    }
    if (lead == 0xc2 || lead == 0xc3) {
        v->type = PEEK_BOOL;
        v->u = lead == 0xc3;
        return 0;
    }
    if ((lead >= 0xa0 && lead <= 0xbf) || (lead >= 0xd9 && lead <= 0xdb) ||
        (lead >= 0xc4 && lead <= 0xc6)) {
        if (skip_bytes(c, bytes) != 0)
            return -1;
        v->type = lead >= 0xc4 && lead <= 0xc6 ? PEEK_BIN : PEEK_STR;
        v->str = (const char *)c->p - bytes;
        v->len = (size_t)bytes;
        return 0;
    }
    c->p = start;
    v->type = PEEK_OTHER;
    return skip(c);
}

/* value_scalar reads one object like value, the common forms (small
 * ints, bools, short strings) in line. */
static inline int value_scalar(cursor *c, peek_value *v)
{
    if (c->p < c->end) {
        unsigned b = *c->p;
        if (b <= 0x7f || b == 0xc2 || b == 0xc3) {
            v->type = b <= 0x7f ? PEEK_UINT : PEEK_BOOL;
            v->u = b <= 0x7f ? b : b == 0xc3;
            c->p++;
            return 0;
        }
        if (b >= 0xa0 && b <= 0xbf) {
            size_t n = b & 0x1f;
            if ((size_t)(c->end - c->p) <= n)
                return -1;
            v->type = PEEK_STR;
            v->str = (const char *)c->p + 1;
            v->len = n;
            c->p += 1 + n;
            return 0;
        }
    }
    return value(c, v);
}

/* skip_scalar passes over one object like skip, the forms a body's values
 * mostly take (small ints, short strings, uints, bools, nil) without the
 * general walk. In line: it runs once per key passed over (a DISPATCH's
 * "attempts" comes after five others, a FILED's "duplicate" after five). */
static inline int skip_scalar(cursor *c)
{
    if (c->p >= c->end)
        return -1;
    unsigned b = *c->p;
    size_t n;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        n = 1;
    else if (b >= 0xa0 && b <= 0xbf)
        n = 1 + (b & 0x1f);
    else if (b >= 0xcc && b <= 0xcf)
        n = 1 + (1u << (b - 0xcc));
    else if (b == 0xd9 && c->end - c->p >= 2)
        n = 2 + (size_t)c->p[1];
    else
        return skip(c);
    if ((size_t)(c->end - c->p) < n)
        return -1;
    c->p += n;
    return 0;
}

int peek_map(const void *body, size_t len, const char *const *keys, peek_value *out, size_t n)
{
    cursor c = {body, (const unsigned char *)body + len};
    memset(out, 0, n * sizeof *out);
    unsigned lead;
    uint64_t items, bytes;
    if (!body || head(&c, &lead, &items, &bytes) != 0 ||
        !((lead >= 0x80 && lead <= 0x8f) || lead == 0xde || lead == 0xdf))
        return -1;
    /* The keys' lengths once, not once per entry of the map read (a
     * DISPATCH's "attempts" comes after half a dozen others). */
    size_t klen[PEEK_MAX_KEYS];
    if (n > PEEK_MAX_KEYS)
        return -1;
    for (size_t i = 0; i < n; i++)
        klen[i] = strlen(keys[i]);
    size_t found = 0;
    for (uint64_t pair = 0; pair < items / 2 && found < n; pair++) {
        peek_value key;
        size_t i = n;
        if (c.p < c.end && *c.p >= 0xa0 && *c.p <= 0xbf) {
            /* A key is a short string (fixstr): read in place. */
            key.len = *c.p & 0x1f;
            if ((size_t)(c.end - c.p) <= key.len)
                return -1;
            key.str = (const char *)c.p + 1;
            c.p += 1 + key.len;
            key.type = PEEK_STR;
        } else if (value(&c, &key) != 0) {
            return -1;
        }
        if (key.type == PEEK_STR)
            for (i = 0; i < n; i++) {
                if (klen[i] != key.len || out[i].type != PEEK_ABSENT)
                    continue;
                size_t k = 0; /* compared in place: keys are a few bytes */
                while (k < key.len && keys[i][k] == key.str[k])
                    k++;
                if (k == key.len)
                    break;
            }
        if (i < n) {
            if (value_scalar(&c, &out[i]) != 0)
                return -1;
            found++;
        } else if (skip_scalar(&c) != 0) {
            return -1;
        }
    }
    /* Every key found: the rest (a DISPATCH's event detail) is not read. */
    return found == n || c.p == c.end ? 0 : -1;
}

int peek_uint(const void *body, size_t len, const char *key, uint64_t *out)
{
    cursor c = {body, (const unsigned char *)body + len};
    size_t klen = strlen(key);
    unsigned lead;
    uint64_t items, bytes;
    if (!body || head(&c, &lead, &items, &bytes) != 0 ||
        !((lead >= 0x80 && lead <= 0x8f) || lead == 0xde || lead == 0xdf))
        return 0;
    for (uint64_t pair = 0; pair < items / 2; pair++) {
        if (c.p >= c.end || *c.p < 0xa0 || *c.p > 0xbf) {
            /* a key that is not a short string: the general way */
            peek_value v;
            return peek_map(body, len, &key, &v, 1) == 0 && v.type == PEEK_UINT ? (*out = v.u, 1)
                                                                                : 0;
        }
        size_t n = *c.p & 0x1fu;
        if ((size_t)(c.end - c.p) <= n)
            return 0;
        const unsigned char *k = c.p + 1;
        c.p += 1 + n;
        size_t i = 0;
        if (n == klen)
            while (i < n && k[i] == (unsigned char)key[i])
                i++;
        if (n == klen && i == n) {
            peek_value v;
            if (value_scalar(&c, &v) != 0 || v.type != PEEK_UINT)
                return 0;
            *out = v.u;
            return 1;
        }
        if (skip_scalar(&c) != 0)
            return 0;
    }
    return 0;
}
