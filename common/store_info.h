/* store_info.h — figures about the LMDB environment itself, beyond
 * store_get_stats (store.h): for operators' metrics. */
#ifndef GL_STORE_INFO_H
#define GL_STORE_INFO_H

#include <stdint.h>

#include "store.h"

/* store_readers sets *used to the reader slots in use in the environment
 * (every process's open read transactions, stale ones of dead processes
 * included until cleared) and *max to how many there are. 0 or GL_ESTORAGE. */
int store_readers(store_txn *t, uint64_t *used, uint64_t *max);

/* store_free_pages sets *pages to the pages of the map's file that are free
 * for reuse (LMDB's freelist) and *used to the pages in use below the last
 * one, both counts of pages of *page_size bytes. 0 or GL_ESTORAGE. */
int store_free_pages(store_txn *t, uint64_t *pages, uint64_t *page_size);

/* store_dispatch_counts fills counts[state] (GL_DS_PENDING .. GL_DS_COUNT-1)
 * with how many dispatch records are in each state: kept in step with the
 * records by every store_dispatch_put (db "counts"), so no scan. 0 or a
 * store error. */
int store_dispatch_counts(store_txn *t, uint64_t counts[GL_DS_COUNT]);

/* store_counts_changed (store internal, from store_dispatch_put) moves one
 * dispatch from old_state (GL_DS_NONE: a new record) to new_state: in t's
 * memory, so a batch of many dispatches reads and writes each count once. */
int store_counts_changed(store_txn *t, int old_state, int new_state);

/* store_counts_flush (store internal, from store_commit) writes what
 * store_counts_changed gathered in t. 0 or a store error. */
int store_counts_flush(store_txn *t);

#endif
