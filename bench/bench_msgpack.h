/* bench_msgpack.h — reading a few top-level keys of a msgpack map body in
 * place, for the load generator's replies and dispatches.
 *
 * proto_decode unpacks a whole body with msgpack-c (a zone allocated per
 * call), checks every field against the protocol's tables and validates
 * every string's UTF-8. That is right for the service, but a benchmark's
 * terminals and responders need two or three values of each message they
 * receive (a FILED's rid, a DISPATCH's event id), and decoding whole
 * bodies cost them more than anything else they did in user space. These
 * functions find the values where they lie and check only what they read.
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_MSGPACK_H
#define GL_BENCH_MSGPACK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* mp_skip skips the msgpack object at p (end: the body's end): the byte
 * after it, or NULL when it is malformed, runs past end or nests deeper
 * than depth 8. */
static inline const unsigned char *mp_skip(const unsigned char *p, const unsigned char *end,
                                           int depth)
{
    if (!p || p >= end || depth > 8)
        return NULL;
    unsigned c = *p++;
    uint64_t n = 0, items = 0; /* bytes of payload to skip; objects to skip */
#define MP_BE(len)                                                                         \
    do {                                                                                   \
        if (end - p < (len))                                                               \
            return NULL;                                                                   \
        for (int b_ = 0; b_ < (len); b_++)                                                 \
            n = n << 8 | *p++;                                                             \
    } while (0)
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return p;
    else if (c >= 0x80 && c <= 0x8f)
        items = 2u * (c & 0x0f);
    else if (c >= 0x90 && c <= 0x9f)
        items = c & 0x0f;
    else if (c >= 0xa0 && c <= 0xbf)
        n = c & 0x1f;
    else if (c == 0xc4 || c == 0xd9)
        MP_BE(1);
    else if (c == 0xc5 || c == 0xda)
        MP_BE(2);
    else if (c == 0xc6 || c == 0xdb)
        MP_BE(4);
    else if (c >= 0xc7 && c <= 0xc9) {
        MP_BE(c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4);
        n += 1; /* the ext type */
    } else if (c == 0xca || c == 0xce || c == 0xd2)
        n = 4;
    else if (c == 0xcb || c == 0xcf || c == 0xd3)
        n = 8;
    else if (c == 0xcc || c == 0xd0)
        n = 1;
    else if (c == 0xcd || c == 0xd1)
        n = 2;
    else if (c >= 0xd4 && c <= 0xd8)
        n = 1 + (1u << (c - 0xd4));
    else if (c == 0xdc || c == 0xdd) {
        MP_BE(c == 0xdc ? 2 : 4);
        items = n;
        n = 0;
    } else if (c == 0xde || c == 0xdf) {
        MP_BE(c == 0xde ? 2 : 4);
        items = 2 * n;
        n = 0;
    } else
        return NULL; /* 0xc1: never used */
#undef MP_BE
    if ((uint64_t)(end - p) < n)
        return NULL;
    p += n;
    for (uint64_t k = 0; k < items && p; k++)
        p = mp_skip(p, end, depth + 1);
    return p;
}

/* mp_str reads the string at p: 0 with *s and *n (not NUL-terminated), or
 * -1 when p is not a whole string. */
static inline int mp_str(const unsigned char *p, const unsigned char *end, const char **s,
                         size_t *n)
{
    if (!p || p >= end)
        return -1;
    size_t len, hl;
    if (*p >= 0xa0 && *p <= 0xbf) {
        len = *p & 0x1f;
        hl = 1;
    } else if (*p == 0xd9 && end - p >= 2) {
        len = p[1];
        hl = 2;
    } else if (*p == 0xda && end - p >= 3) {
        len = (size_t)p[1] << 8 | p[2];
        hl = 3;
    } else
        return -1;
    if ((size_t)(end - p) - hl < len)
        return -1;
    *s = (const char *)p + hl;
    *n = len;
    return 0;
}

/* mp_uint reads the unsigned integer at p: 0 with *v, or -1. */
static inline int mp_uint(const unsigned char *p, const unsigned char *end, uint64_t *v)
{
    if (!p || p >= end)
        return -1;
    if (*p <= 0x7f) {
        *v = *p;
        return 0;
    }
    if (*p < 0xcc || *p > 0xcf)
        return -1;
    int n = 1 << (*p - 0xcc);
    if (end - p < 1 + n)
        return -1;
    *v = 0;
    for (int i = 1; i <= n; i++)
        *v = *v << 8 | p[i];
    return 0;
}

/* mp_map_open reads the header of the map at p (len bytes, fixmap or
 * map16): the first pair's byte, with *pairs; NULL when p is no such map. */
static inline const unsigned char *mp_map_open(const unsigned char *p, size_t len,
                                               uint64_t *pairs)
{
    if (len >= 1 && *p >= 0x80 && *p <= 0x8f) {
        *pairs = *p & 0x0f;
        return p + 1;
    }
    if (len >= 3 && *p == 0xde) {
        *pairs = (uint64_t)p[1] << 8 | p[2];
        return p + 3;
    }
    return NULL;
}

/* mp_get finds the top-level keys of the map body (len bytes): vals[i] is
 * where the value of keys[i] starts, or NULL when it is absent. It stops
 * once every key is found. 0, or -1 when body is not a well-formed map up
 * to where it stopped. */
static inline int mp_get(const void *body, size_t len, const char *const *keys,
                         const unsigned char **vals, int nkeys)
{
    const unsigned char *p = body, *end = p + len;
    uint64_t pairs;
    int found = 0;
    for (int i = 0; i < nkeys; i++)
        vals[i] = NULL;
    if (!(p = mp_map_open(p, len, &pairs)))
        return -1;
    for (uint64_t k = 0; k < pairs; k++) {
        const char *key;
        size_t klen;
        if (mp_str(p, end, &key, &klen) != 0)
            return -1;
        p = (const unsigned char *)key + klen;
        for (int i = 0; i < nkeys; i++)
            if (!vals[i] && strlen(keys[i]) == klen && memcmp(keys[i], key, klen) == 0) {
                vals[i] = p;
                found++;
                break;
            }
        if (found == nkeys)
            return p < end ? 0 : -1;
        if ((p = mp_skip(p, end, 0)) == NULL)
            return -1;
    }
    return 0;
}

#endif
