/* peek.h — reading a few top-level values of a msgpack body without
 * decoding it: no allocation, no copy, no validation beyond staying inside
 * the buffer. For the broker's own figures on messages it forwards as they
 * are (a worker's FILED, ERROR or DISPATCH), where a full proto_decode of
 * every reply (a DISPATCH carries the whole event) would cost more than
 * forwarding it. Never for deciding whether input is valid: proto_decode
 * does that. */
#ifndef GL_BROKER_PEEK_H
#define GL_BROKER_PEEK_H

#include <stddef.h>
#include <stdint.h>

enum { PEEK_ABSENT = 0, PEEK_UINT, PEEK_BOOL, PEEK_STR, PEEK_BIN, PEEK_OTHER };

typedef struct peek_value {
    int type;            /* PEEK_*: what the key held (PEEK_ABSENT: not there) */
    uint64_t u;          /* PEEK_UINT: the value; PEEK_BOOL: 0 or 1 */
    const char *str;     /* PEEK_STR, PEEK_BIN: the bytes, in the body (not NUL-terminated) */
    size_t len;
} peek_value;

/* peek_map looks up each of the n keys in the top-level map of body (len
 * bytes) and fills out[i] for keys[i] (a key seen twice: the first wins).
 * Reading stops once every key is found. Returns 0, or -1 when body is
 * not a map, or it ends before every key is found or its last entry is
 * read, or it has bytes after that entry (out is then partly filled and
 * should not be used), and also when n > PEEK_MAX_KEYS. */
#define PEEK_MAX_KEYS 8 /* keys looked up in one call at most */

int peek_map(const void *body, size_t len, const char *const *keys, peek_value *out, size_t n);

/* peek_uint looks up one key (a short string) in the top-level map of body
 * and returns 1 with its value in *out when it holds an unsigned integer;
 * 0 when it is absent, holds something else, or the body ends first (as
 * peek_map with that one key, without the generality). */
int peek_uint(const void *body, size_t len, const char *key, uint64_t *out);

#endif
