/* store_index_recent.c — entries of the scattered dimensions (community,
 * grid, team), written at the right edge of index_recent and settled into
 * event_index in bulk (see store_index.h). */
#include "store_index.h"
#include "gl.h"
#include "log.h"
#include "store_impl.h"

#include <stdlib.h>

int store_index_staged(int dim)
{
    return dim == IX_COMMUNITY || dim == IX_GRID || dim == IX_TEAM;
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

/* index_key turns an index_recent key (ms seq dim value) into its
 * event_index key (in arena). */
static int index_key(store *s, const MDB_val *k, gl_arena *arena, unsigned char **key,
                     size_t *len)
{
    const unsigned char *p = k->mv_data;
    char value[STORE_KEY_MAX + 1];
    unsigned char buf[STORE_KEY_MAX];
    if (k->mv_size <= 17 || k->mv_size - 17 > STORE_KEY_MAX) {
        LOG_E("store: index_recent key of %zu bytes", k->mv_size);
        return GL_ESTORAGE;
    }
    memcpy(value, p + 17, k->mv_size - 17);
    value[k->mv_size - 17] = '\0';
    size_t n = store_index_key(buf, s->max_key, p[16], value, store_get_be64(p),
                               store_get_be64(p + 8));
    if (!n)
        return GL_EBADFIELD;
    unsigned char *copy = arena_alloc(arena, n);
    if (!copy)
        return GL_EINTERNAL;
    memcpy(copy, buf, n);
    *key = copy;
    *len = n;
    return 0;
}

int store_index_settle(store *s, size_t min, size_t max, size_t *moved)
{
    return store_settle(s, DB_INDEX_RECENT, DB_EVENT_INDEX, "index_recent", min, max, index_key,
                        16 /* created_ms seq */, moved);
}
