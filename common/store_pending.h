/* store_pending.h — the pending index in two parts (issue 7).
 *
 * "pending" is keyed team 0 seq: a team's PENDING dispatches in event
 * order, for the resend on HELLO (store_pending_list). Filing writes one
 * entry per new dispatch, and a batch's dispatches spread over the county's
 * teams, so each entry dirtied a leaf page of its own: about half the pages
 * a commit wrote (bench_throughput, whose teams never acknowledge). A new
 * dispatch's entry (store_dispatch_add) therefore goes to a second database:
 *   pending_recent  seq(u64) team(string) → (empty)   (the dispatch key)
 * which grows at its right edge, so a batch's entries share a few leaves.
 * A routine worker moves the oldest ones into "pending" in bulk, sorted by
 * key, so each team's leaf takes several at once (workers/settle.c). An
 * entry is in exactly one of the two places: a dispatch that becomes
 * PENDING again (store_dispatch_replace) goes straight to "pending"; one
 * that stops being PENDING is deleted from both. store_pending_list reads
 * both, in event order; the STATUS count adds them; fsck checks them. A
 * store made before opens with pending_recent created empty. */
#ifndef GL_STORE_PENDING_H
#define GL_STORE_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* store_pending_recent_count returns the entries waiting in pending_recent
 * (0 on a read error). */
uint64_t store_pending_recent_count(store_txn *t);

/* store_pending_settle moves up to max of the oldest pending_recent entries
 * into "pending", in a write transaction of its own, when at least min wait
 * (another process may have settled them meanwhile); *moved (if not NULL)
 * says how many. 0 or a store error (then nothing moved). */
int store_pending_settle(store *s, size_t min, size_t max, size_t *moved);

#endif
