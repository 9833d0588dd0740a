/* pack.c — reading and writing a PACK's items frame (pack.h). */
#include "pack.h"

#include <string.h>

static size_t get_len(const unsigned char *p)
{
    return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | (size_t)p[3];
}

void pack_put_len(unsigned char *out, uint32_t n)
{
    out[0] = (unsigned char)(n >> 24);
    out[1] = (unsigned char)(n >> 16);
    out[2] = (unsigned char)(n >> 8);
    out[3] = (unsigned char)n;
}

int pack_next(const void *data, size_t len, size_t *pos, pack_item *it)
{
    const unsigned char *p = data;
    size_t i = *pos;
    /* Each length is checked against what is left before it is used, so
     * no sum can wrap and nothing past len is read. */
    if (i > len || len - i < 4)
        return 0;
    it->header_len = get_len(p + i);
    i += 4;
    if (it->header_len > len - i)
        return 0;
    it->header = p + i;
    i += it->header_len;
    if (len - i < 1)
        return 0;
    it->cmd_len = p[i++];
    if (it->cmd_len > len - i)
        return 0;
    it->cmd = p + i;
    i += it->cmd_len;
    if (len - i < 4)
        return 0;
    it->body_len = get_len(p + i);
    i += 4;
    if (it->body_len > len - i)
        return 0;
    it->body = p + i;
    i += it->body_len;
    *pos = i;
    return 1;
}

size_t pack_count(const void *data, size_t len)
{
    size_t pos = 0, n = 0;
    pack_item it;
    while (pos < len) {
        if (n == PACK_MAX_ITEMS || !pack_next(data, len, &pos, &it))
            return 0;
        n++;
    }
    return n;
}

const unsigned char *pack_peek_job_client(const unsigned char *p, const unsigned char *end,
                                          unsigned map_len, size_t after, uint64_t *id,
                                          const unsigned char **client, size_t *client_len)
{
    if (end - p < 6 || map_len > 15 || p[0] != (0x80 | map_len) || memcmp(p + 1, "\xa3job", 4) != 0)
        return NULL;
    p += 5;
    unsigned lead = *p++;
    uint64_t v = lead;
    if (lead >= 0xcc && lead <= 0xcf) {
        size_t k = (size_t)1 << (lead - 0xcc);
        if ((size_t)(end - p) < k)
            return NULL;
        for (v = 0; k--;)
            v = v << 8 | *p++;
    } else if (lead > 0x7f) {
        return NULL;
    }
    if ((size_t)(end - p) < 9 || memcmp(p, "\xa6" "client" "\xc4", 8) != 0)
        return NULL;
    p += 8;
    size_t n = *p++;
    if (n == 0 || (size_t)(end - p) < n + after)
        return NULL;
    *id = v;
    *client = p;
    *client_len = n;
    return p + n;
}
