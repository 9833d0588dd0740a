/* store_grow.h — writing the store's data file ahead with zeros, so that a
 * commit's fdatasync need not also record the file's growth.
 *
 * LMDB (without MDB_WRITEMAP) writes a commit's new pages past the end of
 * data.mdb with pwrite, so on ext4 nearly every commit's fdatasync must also
 * write the new blocks' allocation and the file's size. Pages written once
 * before (with zeros), and flushed, are overwritten in place: the flush then
 * writes the data alone. The cost: every page the store grows by is written
 * twice, and the file is up to the margin larger than its pages in use.
 *
 * Safety: zeros are written only while holding LMDB's writer lock (an empty
 * write transaction of our own, which blocks every writer of every
 * process), only at or past the file's end and past the last page of the
 * last commit. LMDB writes a transaction's pages only during its commit,
 * under that lock, so no page any transaction has written or is writing is
 * ever overwritten. LMDB reads neither the file's size nor anything past
 * its last page: not at open (the map is the meta page's size), not in a
 * commit, not in mdb_env_copy (which stops at the last page). A crash at
 * any moment leaves zeros past the last page, which nothing reads.
 *
 * Durability of the zeros (their allocation on disk) comes from a thread of
 * its own calling fdatasync outside the lock, so that the allocation is on
 * disk before a commit writes over it. One handle per process, used by the
 * thread that uses the store; not across fork(). */
#ifndef GL_STORE_GROW_H
#define GL_STORE_GROW_H

#include <stdint.h>

#include "store.h"

typedef struct store_grow store_grow;

/* Bytes of zeros written under the lock at a time (about 0.05 ms on a
 * quiet machine, a few ms when the kernel must reclaim memory first), and
 * most chunks written in one step, flushed together (4 MiB): one flush of
 * the file's new size per step, not per chunk. */
#define STORE_GROW_CHUNK ((uint64_t)256 << 10)
#define STORE_GROW_BURST 16

typedef struct store_grow_stats {
    uint64_t written;     /* bytes of zeros written */
    uint64_t chunks;      /* chunks written, each under the writer lock */
    uint64_t locked_us;   /* time the lock was held for them, in all */
    uint64_t locked_max_us; /* the longest of those holds */
    uint64_t syncs;       /* fdatasync calls of the flushing thread */
    uint64_t sync_us;     /* their time */
} store_grow_stats;

/* store_grow_open prepares writing s's data file up to ahead bytes past its
 * last page in use (never past the map's size, and never into the last
 * store_opts reserve bytes of the disk) and starts the thread that flushes the
 * zeros. Nothing is written until store_grow_step. Returns 0, GL_ECONFIG
 * (ahead is 0), GL_ESTORAGE (a store opened read-only, or its file cannot
 * be read), GL_EINTERNAL (memory, thread). */
int store_grow_open(store *s, uint64_t ahead, store_grow **out);

/* store_grow_wanted says whether the file is a step (STORE_GROW_BURST
 * chunks, or the whole margin if smaller) or more short of the margin:
 * from the map's figures and, when it may be short, one fstat. 0 while a
 * failure (a full disk) makes it wait. */
int store_grow_wanted(store_grow *g);

/* store_grow_busy_fn says whether the caller has work waiting (non-zero):
 * a step then stops after the chunk it has written. */
typedef int (*store_grow_busy_fn)(void *ctx);

/* store_grow_step, if wanted, writes up to STORE_GROW_BURST chunks of
 * zeros, each in a write transaction of its own on the store (none of
 * this thread's may be open; each waits for another process's writer like
 * any write), stopping early when the margin is reached or busy(ctx) says
 * so (busy may be NULL), and hands their flush to the thread. A failure of
 * the write (ENOSPC, EFBIG, ...) is logged and growth waits 10 s; a disk
 * with less than the reserve and a chunk free is not written to. Returns
 * the bytes written (0 when none were wanted or allowed), or a store error
 * of a begin. */
int64_t store_grow_step(store_grow *g, store_grow_busy_fn busy, void *ctx);

/* store_grow_stats_get copies g's figures into st. */
void store_grow_stats_get(store_grow *g, store_grow_stats *st);

/* store_grow_close stops and joins the flushing thread (waiting for a
 * flush under way) and frees *g, which becomes NULL; NULL is accepted.
 * Call before store_close. */
void store_grow_close(store_grow **g);

#endif
