/* store_pending.c — settling new pending entries from pending_recent into
 * "pending" in bulk (store_pending.h). */
#include "store_pending.h"
#include "arena.h"
#include "gl.h"
#include "log.h"
#include "store_impl.h"

#include <stdlib.h>

uint64_t store_pending_recent_count(store_txn *t)
{
    return store_db_entries(t, DB_PENDING_RECENT);
}

/* pending_key turns a pending_recent key (seq team) into its "pending" key
 * (team 0 seq, in arena). */
static int pending_key(store *s, const MDB_val *k, gl_arena *arena, unsigned char **key,
                       size_t *len)
{
    (void)s;
    const unsigned char *p = k->mv_data;
    size_t team = k->mv_size - 8;
    if (k->mv_size <= 8 || k->mv_size > STORE_KEY_MAX || memchr(p + 8, 0, team)) {
        LOG_E("store: pending_recent key of %zu bytes", k->mv_size);
        return GL_ESTORAGE;
    }
    unsigned char *out = arena_alloc(arena, team + 9);
    if (!out)
        return GL_EINTERNAL;
    memcpy(out, p + 8, team);
    out[team] = 0;
    memcpy(out + team + 1, p, 8);
    *key = out;
    *len = team + 9;
    return 0;
}

int store_pending_settle(store *s, size_t min, size_t max, size_t *moved)
{
    return store_settle(s, DB_PENDING_RECENT, DB_PENDING, "pending_recent", min, max,
                        pending_key, 8 /* seq */, moved);
}
