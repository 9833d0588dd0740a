/* pack.h — the items frame of a PACK (worker → broker, proto/PROTOCOL.md
 * §6): the DONEs and DELIVERs of one commit packed into one frame instead
 * of three frames per item as in a BATCH.
 *
 *   "GL/1" "PACK" {} ITEMS
 *
 * ITEMS is the items back to back, each
 *
 *   u32 HEADER-LENGTH, HEADER, u8 COMMAND-LENGTH, COMMAND, u32 BODY-LENGTH, BODY
 *
 * (lengths big-endian; HEADER, COMMAND and BODY are the last three frames
 * of the DONE or DELIVER the item stands for). The frame ends exactly at
 * the end of its last item. */
#ifndef GL_PACK_H
#define GL_PACK_H

#include <stddef.h>
#include <stdint.h>

/* A PACK holds at most this many items, in an ITEMS frame of at most this
 * many bytes (a worker splits a commit's messages above them). */
#define PACK_MAX_ITEMS 1024
#define PACK_MAX_BYTES (2u << 20)

/* The bytes an item takes besides its header, command and body. */
#define PACK_ITEM_OVERHEAD 9

typedef struct pack_item {
    const unsigned char *header, *cmd, *body;
    size_t header_len, cmd_len, body_len;
} pack_item;

/* pack_count walks the items of an ITEMS frame (data, len) by their
 * lengths alone, reading nothing outside it: returns how many there are
 * (1 to PACK_MAX_ITEMS), or 0 when the frame is not a whole sequence of
 * items (empty, a length cut short or running past the end, bytes left
 * after the last item, more than PACK_MAX_ITEMS items). */
size_t pack_count(const void *data, size_t len);

/* pack_next reads the item at *pos of the ITEMS frame (data, len) into it
 * and moves *pos past it: 1, or 0 at the end or when the item does not fit
 * in the frame (a frame pack_count accepted never has one). The pointers
 * in it point into data. */
int pack_next(const void *data, size_t len, size_t *pos, pack_item *it);

/* pack_put_len writes n as the 4-byte big-endian length of an item's
 * header or body at out. */
void pack_put_len(unsigned char *out, uint32_t n);

/* pack_peek_job_client reads the start of a JOB, DONE or DELIVER header
 * (p up to end) laid out as proto_encode writes it, as an item carries it
 * in either direction: a fixmap of map_len entries, "job" with a uint in
 * its smallest form, "client" with a bin8 of 1 to 255 bytes, and at least
 * `after` more bytes. Returns the pointer past the client's bytes, with
 * *id, *client (pointing into p) and *client_len; NULL for anything
 * else (the caller then decodes the header the general way). */
const unsigned char *pack_peek_job_client(const unsigned char *p, const unsigned char *end,
                                          unsigned map_len, size_t after, uint64_t *id,
                                          const unsigned char **client, size_t *client_len);

#endif
