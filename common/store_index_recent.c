/* store_index_recent.c — entries of the staged dimensions (all but the
 * alarm: time, kind, state, community, grid, team), written at the right
 * edge of index_recent and settled into event_index in bulk (see
 * store_index.h). */
#include "store_index.h"
#include "gl.h"
#include "log.h"
#include "store_impl.h"


int store_index_staged(int dim)
{
    return dim != IX_ALARM && dim > 0 && dim < IX_DIM_COUNT;
}

size_t store_index_recent_key(unsigned char *k, uint64_t ms, uint64_t seq, int dim,
                              const char *value, size_t n)
{
    store_put_be64(k, ms);
    store_put_be64(k + 8, seq);
    k[16] = (unsigned char)dim;
    memcpy(k + 17, value, n);
    return 17 + n;
}

uint64_t store_index_recent_count(store_txn *t)
{
    return store_db_entries(t, DB_INDEX_RECENT);
}

/* store_index_settle: store_index_postings.c. */
