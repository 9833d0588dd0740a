/* store_records.h — the msgpack encoding of the store's records; private to
 * common/store*.c.
 *
 * A record is one msgpack map (proto/PROTOCOL.md §7.5). Since session 7 its
 * keys are small integers (positive fixints), one table per record type,
 * append only — a number, once stored, means its field for good:
 *
 *   event     1 id  (2 seq)  3 kind  4 category  5 community  6 compound
 *             7 grid  8 terminal  9 address  10 lat  11 lon  12 text
 *             13 contact  14 urgency  15 severity  16 certainty  17 state
 *             18 team  19 created_ms  20 updated_ms  21 plan_step
 *             22 escalate_at_ms  23 alarm  24 sign_by_ms  25 due_ms
 *             26 remind_at_ms  27 lease_until_ms  28 close_at_ms
 *             29 extension_ms  30 rating  31 duplicate_of
 *   dispatch  1 event  (2 seq  3 team)  4 role  5 state  6 member  7 note
 *             8 attempts  9 created_ms  10 updated_ms  11 next_retry_ms
 *   history   (1 seq  2 no)  3 at_ms  4 who  5 what  6 note
 *
 * and, since compact timestamps, the times as a signed delta in ms from
 * the record's created_ms (which stays whole):
 *
 *   event     32 updated_ms  33 escalate_at_ms  34 sign_by_ms  35 due_ms
 *             36 remind_at_ms  37 lease_until_ms  38 close_at_ms
 *             39 extension_ms
 *   dispatch  12 updated_ms  13 next_retry_ms
 *
 * A time is written under one key or the other, whichever form is shorter
 * (the delta when it is: a time near created_ms takes 1-5 bytes instead of
 * 9); a time, count or plan step of 0 is left out (it reads as 0). A
 * history entry's at_ms stays whole: its record holds nothing to count it
 * from.
 *
 * The keys in parentheses are what the record's LMDB key holds: records
 * since session 7 leave them out (their numbers stay taken), and the
 * decoders below fill them from the key. kind and the states are stored as
 * their enum values (records.h); urgency, severity, certainty, rating,
 * alarm, role and what as their number in a table of names
 * (store_records.c, 1-based), or as the string when the name is not in it.
 * Events and dispatches begin with the entry "seq": nil, which builds
 * before session 7 refuse as malformed (a record they would otherwise read
 * as empty), and so do builds of session 7 before compact timestamps
 * (whose guard, skipped, was "seq": true; they would read the delta keys'
 * times as 0). Absent strings (NULL) and absent coordinates are left out
 * of the map.
 *
 * Decoding reads every form: records of builds before session 7 have the
 * wire names of PROTOCOL.md §7 as keys and the names of kinds and states;
 * those of session 7 before compact timestamps every time whole. A time in
 * both its forms, or a delta that does not land in 0..UINT64_MAX, is a
 * malformed record.
 * Unknown keys (integers or strings) are skipped, so a newer writer's
 * records still read; a number past a table reads as an unknown name did
 * (NONE, or absent). */
#ifndef GL_STORE_RECORDS_H
#define GL_STORE_RECORDS_H

#include <stddef.h>

#include <msgpack.h>

#include "arena.h"
#include "records.h"

/* store_rec_encode_* clear sb and write the record into it, without what
 * its LMDB key holds (above). 0, or GL_EINTERNAL when the buffer cannot
 * grow (ENOMEM). */
int store_rec_encode_event(msgpack_sbuffer *sb, const gl_event *ev);
int store_rec_encode_dispatch(msgpack_sbuffer *sb, const gl_dispatch *d);
int store_rec_encode_history(msgpack_sbuffer *sb, const gl_history *h);

/* store_rec_decode_* parse the record in data[0..len) into the zeroed
 * struct, in place, copying strings into arena; with arena NULL, strings
 * are left NULL and only the numbers and states are filled. key[0..key_len)
 * is the record's LMDB key, which holds what the record leaves out: an
 * event's seq (8 bytes, big-endian), a dispatch's seq and team (8 + the
 * team's bytes), a history entry's seq and no (8 + 4); those fields are
 * taken from it. key NULL: only what the record holds (tests). Keys this
 * build does not know are skipped whatever their value. 0, GL_ESTORAGE
 * (not a well-formed record, or a key of another length: nothing is read
 * outside data or key; with an arena, also an event without its id),
 * GL_EINTERNAL (ENOMEM). */
int store_rec_decode_event(const void *key, size_t key_len, const void *data, size_t len,
                           gl_event *ev, gl_arena *arena);
int store_rec_decode_dispatch(const void *key, size_t key_len, const void *data, size_t len,
                              gl_dispatch *d, gl_arena *arena);
int store_rec_decode_history(const void *key, size_t key_len, const void *data, size_t len,
                             gl_history *h, gl_arena *arena);

#endif
