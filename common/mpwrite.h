/* mpwrite.h — msgpack written straight into a msgpack_sbuffer (header
 * only: the encoders' inner loop). The protocol codec (proto/codec.c) and
 * the store's records (common/store_records.c) write this way rather than
 * through msgpack_packer, whose every header and body is a call through a
 * function pointer (four per string). The forms are msgpack-c's: the
 * smallest that holds the value (tests/t_proto_fast.c and
 * tests/t_store_records.c compare the two). A writer that runs out of
 * memory sets failed and writes nothing more. */
#ifndef GL_MPWRITE_H
#define GL_MPWRITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

typedef struct mp_writer {
    msgpack_sbuffer *sb;
    int failed;           /* memory ran out: what follows is not written */
} mp_writer;

/* mpw_grow makes room for n more bytes; 0, or -1 when memory runs out. */
static inline int mpw_grow(mp_writer *w, size_t n)
{
    msgpack_sbuffer *sb = w->sb;
    size_t cap = sb->alloc ? sb->alloc : MSGPACK_SBUFFER_INIT_SIZE;
    while (cap - sb->size < n) {
        if (cap > SIZE_MAX / 2)
            return w->failed = -1;
        cap *= 2;
    }
    char *data = realloc(sb->data, cap);
    if (!data)
        return w->failed = -1;
    sb->data = data;
    sb->alloc = cap;
    return 0;
}

/* mpw_room returns where n more bytes go (the size already counts them), or
 * NULL when memory runs out. */
static inline unsigned char *mpw_room(mp_writer *w, size_t n)
{
    msgpack_sbuffer *sb = w->sb;
    if (w->failed || (sb->alloc - sb->size < n && mpw_grow(w, n) != 0))
        return NULL;
    unsigned char *p = (unsigned char *)sb->data + sb->size;
    sb->size += n;
    return p;
}

static inline void mpw_bytes(mp_writer *w, const void *data, size_t n)
{
    unsigned char *p = n ? mpw_room(w, n) : NULL;
    if (p)
        memcpy(p, data, n);
}

/* mpw_head writes lead then v in n big-endian bytes (n: 0, 1, 2, 4 or 8). */
static inline void mpw_head(mp_writer *w, unsigned lead, uint64_t v, unsigned n)
{
    unsigned char *p = mpw_room(w, 1 + n);
    if (!p)
        return;
    p[0] = (unsigned char)lead;
    for (unsigned i = 0; i < n; i++)
        p[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

static inline void mpw_uint(mp_writer *w, uint64_t v)
{
    if (v < 0x80)
        mpw_head(w, (unsigned)v, 0, 0);
    else if (v <= UINT8_MAX)
        mpw_head(w, 0xcc, v, 1);
    else if (v <= UINT16_MAX)
        mpw_head(w, 0xcd, v, 2);
    else if (v <= UINT32_MAX)
        mpw_head(w, 0xce, v, 4);
    else
        mpw_head(w, 0xcf, v, 8);
}

static inline void mpw_int(mp_writer *w, int64_t v)
{
    if (v >= 0)
        mpw_uint(w, (uint64_t)v);
    else if (v >= -32)
        mpw_head(w, (unsigned)(v & 0xff), 0, 0);
    else if (v >= INT8_MIN)
        mpw_head(w, 0xd0, (uint64_t)v & 0xff, 1);
    else if (v >= INT16_MIN)
        mpw_head(w, 0xd1, (uint64_t)v & 0xffff, 2);
    else if (v >= INT32_MIN)
        mpw_head(w, 0xd2, (uint64_t)v & 0xffffffff, 4);
    else
        mpw_head(w, 0xd3, (uint64_t)v, 8);
}

/* mpw_count writes a map (fix 0x80, 0xde, 0xdf) or array (0x90, 0xdc, 0xdd)
 * header of n entries. */
static inline void mpw_count(mp_writer *w, unsigned fix, unsigned lead16, size_t n)
{
    if (n < 16)
        mpw_head(w, fix | (unsigned)n, 0, 0);
    else if (n <= UINT16_MAX)
        mpw_head(w, lead16, n, 2);
    else
        mpw_head(w, lead16 + 1, n, 4);
}

static inline void mpw_str(mp_writer *w, const char *s, size_t n)
{
    size_t head = n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;
    unsigned char *p = mpw_room(w, head + n);
    if (!p)
        return;
    if (head == 1) {
        p[0] = (unsigned char)(0xa0 | n);
    } else {
        p[0] = head == 2 ? 0xd9 : head == 3 ? 0xda : 0xdb;
        for (size_t i = 1; i < head; i++)
            p[i] = (unsigned char)(n >> (8 * (head - 1 - i)));
    }
    memcpy(p + head, s, n);
}

static inline void mpw_bin(mp_writer *w, const void *b, size_t n)
{
    if (n <= UINT8_MAX)
        mpw_head(w, 0xc4, n, 1);
    else if (n <= UINT16_MAX)
        mpw_head(w, 0xc5, n, 2);
    else
        mpw_head(w, 0xc6, n, 4);
    mpw_bytes(w, b, n);
}

static inline void mpw_float(mp_writer *w, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    mpw_head(w, 0xca, bits, 4);
}

static inline void mpw_double(mp_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    mpw_head(w, 0xcb, bits, 8);
}

#endif
