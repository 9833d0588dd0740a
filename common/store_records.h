/* store_records.h — the msgpack encoding of the store's records; private to
 * common/store*.c.
 *
 * A record is one msgpack map whose keys are the wire names of
 * proto/PROTOCOL.md ("Record maps"); kind and state are stored as their
 * names. Absent strings (NULL) and absent coordinates are left out of the
 * map; unknown keys are ignored when decoding, so a newer writer's records
 * still read. */
#ifndef GL_STORE_RECORDS_H
#define GL_STORE_RECORDS_H

#include <stddef.h>

#include <msgpack.h>

#include "arena.h"
#include "records.h"

/* store_rec_encode_* clear sb and write the record into it. 0, or
 * GL_EINTERNAL when the buffer cannot grow (ENOMEM). */
int store_rec_encode_event(msgpack_sbuffer *sb, const gl_event *ev);
int store_rec_encode_dispatch(msgpack_sbuffer *sb, const gl_dispatch *d);
int store_rec_encode_history(msgpack_sbuffer *sb, const gl_history *h);

/* store_rec_decode_* parse the record in data[0..len) into the zeroed
 * struct, in place, copying strings into arena; with arena NULL, strings
 * are left NULL and only the numbers and states are filled. Keys this
 * build does not know are skipped whatever their value. 0, GL_ESTORAGE (not
 * a well-formed record: nothing is read outside data), GL_EINTERNAL
 * (ENOMEM). */
int store_rec_decode_event(const void *data, size_t len, gl_event *ev, gl_arena *arena);
int store_rec_decode_dispatch(const void *data, size_t len, gl_dispatch *d, gl_arena *arena);
int store_rec_decode_history(const void *data, size_t len, gl_history *h, gl_arena *arena);

#endif
