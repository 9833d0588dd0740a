/* bench_submit.h — a SUBMIT body written straight into a buffer, and the
 * ids flood terminals give their events, without printf.
 *
 * proto_encode checks every string it packs (UTF-8, limits) and grows a
 * msgpack buffer it allocates per message: for a load generator sending
 * tens of thousands of 450-byte texts a second that was the largest part of
 * building a SUBMIT. submit_encode writes the same bytes as proto_encode
 * (the same keys in the same order, the same shortest msgpack encodings)
 * for the events benchmarks send, checking nothing. A program must compare
 * its output with proto_encode's on a sample of its events before using it
 * (bench_throughput does, on the 2000 bodies it measures at start-up, and
 * keeps proto_encode if one byte differs).
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_SUBMIT_H
#define GL_BENCH_SUBMIT_H

#include <stdint.h>
#include <string.h>

#include "../common/gl.h"
#include "../common/records.h"

/* The most a SUBMIT body can take with submit_encode's fields. */
#define SUBMIT_MAX_BODY (GL_MAX_TEXT + 16 * (GL_MAX_SHORT + 16))

typedef struct submit_buf {
    unsigned char *p, *end;
} submit_buf;

static inline int submit_put(submit_buf *b, const void *src, size_t n)
{
    if ((size_t)(b->end - b->p) < n)
        return -1;
    memcpy(b->p, src, n);
    b->p += n;
    return 0;
}

static inline int submit_str(submit_buf *b, const char *s, size_t n)
{
    unsigned char h[3];
    size_t hl;
    if (n < 32) {
        h[0] = (unsigned char)(0xa0 | n);
        hl = 1;
    } else if (n < 256) {
        h[0] = 0xd9;
        h[1] = (unsigned char)n;
        hl = 2;
    } else if (n < 65536) {
        h[0] = 0xda;
        h[1] = (unsigned char)(n >> 8);
        h[2] = (unsigned char)n;
        hl = 3;
    } else
        return -1;
    return submit_put(b, h, hl) || submit_put(b, s, n) ? -1 : 0;
}

static inline int submit_uint(submit_buf *b, uint64_t v)
{
    unsigned char h[9];
    size_t n;
    if (v < 128) {
        h[0] = (unsigned char)v;
        n = 1;
    } else if (v < 256) {
        h[0] = 0xcc;
        h[1] = (unsigned char)v;
        n = 2;
    } else if (v < 65536) {
        h[0] = 0xcd;
        n = 3;
    } else if (v <= 0xffffffffu) {
        h[0] = 0xce;
        n = 5;
    } else {
        h[0] = 0xcf;
        n = 9;
    }
    for (size_t i = n - 1; n > 2 && i >= 1; i--, v >>= 8)
        h[i] = (unsigned char)v;
    return submit_put(b, h, n);
}

/* submit_encode writes the SUBMIT body of rid (0: none) and ev into out
 * (cap bytes): its length, or 0 when it does not fit or ev has a field
 * this writer does not make (coordinates), so that the caller uses
 * proto_encode instead. */
static inline size_t submit_encode(void *out, size_t cap, uint64_t rid, const gl_event *ev)
{
    const char *kind = gl_kind_name(ev->kind);
    const struct {
        const char *key, *val;
    } kv[] = {
        {"id", ev->id},           {"kind", kind},           {"category", ev->category},
        {"text", ev->text},       {"community", ev->community}, {"compound", ev->compound},
        {"grid", ev->grid},       {"terminal", ev->terminal}, {"address", ev->address},
        {"contact", ev->contact}, {"urgency", ev->urgency}, {"severity", ev->severity},
        {"certainty", ev->certainty},
    };
    if (ev->has_coords || !kind)
        return 0;
    size_t n = rid ? 1 : 0;
    for (size_t i = 0; i < GL_ARRAY_LEN(kv); i++)
        n += kv[i].val != NULL;
    submit_buf b = {out, (unsigned char *)out + cap};
    unsigned char h = (unsigned char)(0x80 | n); /* at most 14 keys: a fixmap */
    if (submit_put(&b, &h, 1) != 0)
        return 0;
    if (rid && (submit_str(&b, "rid", 3) != 0 || submit_uint(&b, rid) != 0))
        return 0;
    for (size_t i = 0; i < GL_ARRAY_LEN(kv); i++)
        if (kv[i].val && (submit_str(&b, kv[i].key, strlen(kv[i].key)) != 0 ||
                          submit_str(&b, kv[i].val, strlen(kv[i].val)) != 0))
            return 0;
    return (size_t)(b.p - (unsigned char *)out);
}

/* submit_format_id writes what snprintf(out, outlen, "%012" PRIx64 "-t%02d-%"
 * PRIu64, us, index, no) writes (index >= 0), faster; out has 48 bytes at
 * least. */
static inline void submit_format_id(char *out, uint64_t us, int index, uint64_t no)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = hex[us & 15];
        us >>= 4;
    } while (us);
    while (n < 12)
        tmp[n++] = '0';
    char *p = out;
    while (n)
        *p++ = tmp[--n];
    *p++ = '-';
    *p++ = 't';
    unsigned u = (unsigned)index;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (n < 2)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    *p++ = '-';
    do {
        tmp[n++] = (char)('0' + no % 10);
        no /= 10;
    } while (no);
    while (n)
        *p++ = tmp[--n];
    *p = '\0';
}

#endif
