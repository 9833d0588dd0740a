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
 * [since_ms, until_ms), at most limit of them (0: no limit). *visited (may be
 * NULL) is set to how many were visited (events read only to find the
 * period's edges are not counted), *truncated (may be NULL) to 1 when
 * the limit stopped the walk before the period's end. The arena is reset
 * before each event. 0, the visitor's value, GL_ESTORAGE, GL_EINTERNAL. */
int store_event_range(store_txn *t, uint64_t since_ms, uint64_t until_ms, size_t limit,
                      gl_arena *arena, store_event_fn fn, void *ctx, uint64_t *visited,
                      int *truncated);

#endif
