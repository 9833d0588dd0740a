/* store_range.h — events by filing time, for reports over a period.
 *
 * The events database is keyed by seq, and seqs are handed out in filing
 * order, so the events filed in a period are one run of seqs: found by a
 * binary search on the records' created_ms, then read in order. Nothing
 * else is scanned, whatever the size of the store. Workers take their clock
 * reading before they wait for the write lock, so created_ms may step back
 * by up to one batch's wait between neighbouring seqs: the search starts
 * STORE_RANGE_SLACK_MS before the period and the walk reads on as long
 * after it, so an event filed up to that much out of order is still counted
 * in the period its created_ms falls in. */
#ifndef GL_STORE_RANGE_H
#define GL_STORE_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "records.h"
#include "store.h"

#define STORE_RANGE_SLACK_MS 60000ull

/* Visitor for store_event_range: return 0 to go on, non-zero to stop (that
 * value is returned). ev's strings are in the arena given, valid until the
 * next event is read. */
typedef int (*store_event_fn)(void *ctx, const gl_event *ev);

/* store_event_range visits, in seq order, the events whose created_ms is in
 * [since_ms, until_ms), at most limit of them (0: no limit), starting at
 * *next_seq, or at the period's start (found by binary search) when
 * *next_seq is 0. On return *next_seq is the seq to go on from with another
 * call, in this transaction or a later one, or 0 when the period has been
 * read to its end. *visited (may be NULL) is set to how many were visited
 * (events read only to find the period's edges are not counted). The arena
 * is reset before each event. 0, the visitor's value (after which *next_seq
 * is the seq after the event it stopped at), GL_ESTORAGE, GL_EINTERNAL. */
int store_event_range(store_txn *t, uint64_t since_ms, uint64_t until_ms, uint64_t *next_seq,
                      size_t limit, gl_arena *arena, store_event_fn fn, void *ctx,
                      uint64_t *visited);

#endif
