/* pack.c — reading and writing a PACK's items frame (pack.h). */
#include "pack.h"

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
