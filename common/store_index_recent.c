/* store_index_recent.c — entries of the staged dimensions (all but the
 * alarm: time, kind, state, community, grid, team), written at the right
 * edge of index_recent (team_recent for the team) and settled into
 * event_index in bulk (see store_index.h). */
#include "store_index.h"
#include "gl.h"
#include "log.h"
#include "store_impl.h"
#include "store_postings.h"


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

uint64_t store_index_team_count(store_txn *t)
{
    return store_db_entries(t, DB_TEAM_RECENT);
}

int store_index_recent_db(int dim)
{
    return dim == IX_TEAM ? DB_TEAM_RECENT : DB_INDEX_RECENT;
}

int store_index_move_teams(MDB_txn *txn, MDB_dbi recent, MDB_dbi teams, size_t *moved)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    unsigned char at[STORE_KEY_MAX];
    *moved = 0;
    int rc = mdb_cursor_open(txn, recent, &c);
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;) {
        if (k.mv_size <= 17 || k.mv_size > sizeof at ||
            ((const unsigned char *)k.mv_data)[16] != IX_TEAM) {
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            continue;
        }
        /* In time order, as in index_recent: at team_recent's right edge.
         * Then on from the key moved, found again by its copy. */
        memcpy(at, k.mv_data, k.mv_size);
        MDB_val key = {k.mv_size, at}, none = {0, NULL};
        rc = mdb_put(txn, teams, &key, &none, MDB_APPEND);
        if (!rc)
            rc = mdb_del(txn, recent, &key, NULL);
        if (!rc) {
            (*moved)++;
            k = key;
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        }
    }
    if (c)
        mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* store_index_settle: store_index_postings.c. */
