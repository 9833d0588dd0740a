/* store_range.c — events by filing time (see store_range.h). */
#include "store_range.h"
#include "store_impl.h"

#include "gl.h"

#include <stdint.h>

/* Reads the first event at or after seq into ev (numbers only when arena is
 * NULL); *at is its seq. 0, GL_ENOTFOUND (none), GL_ESTORAGE, GL_EINTERNAL. */
static int event_from(store_txn *t, uint64_t seq, gl_event *ev, gl_arena *arena, uint64_t *at)
{
    MDB_cursor *c;
    int rc = store_txn_cursor(t, DB_EVENTS, &c);
    if (rc)
        return rc;
    unsigned char key[8];
    store_put_be64(key, seq);
    MDB_val k = store_val(key, 8), v;
    rc = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc)
        return rc;
    if (k.mv_size != 8)
        return GL_ESTORAGE;
    *at = store_get_be64(k.mv_data);
    rc = store_rec_decode_event(k.mv_data, k.mv_size, v.mv_data, v.mv_size, ev, arena);
    return rc;
}

int store_event_range(store_txn *t, uint64_t since_ms, uint64_t until_ms, uint64_t *next_seq,
                      size_t limit, gl_arena *arena, store_event_fn fn, void *ctx,
                      uint64_t *visited)
{
    uint64_t n = 0;
    int rc = 0;
    if (visited)
        *visited = 0;
    store_stats st;
    if ((rc = store_get_stats(t, &st)) != 0)
        return rc;
    uint64_t from = since_ms > STORE_RANGE_SLACK_MS ? since_ms - STORE_RANGE_SLACK_MS : 0;
    uint64_t to = until_ms < UINT64_MAX - STORE_RANGE_SLACK_MS ? until_ms + STORE_RANGE_SLACK_MS
                                                                : UINT64_MAX;
    uint64_t lo = *next_seq, hi = st.last_seq + 1;
    if (!lo) {
        /* The first seq whose event (or the next one present) was filed at
         * or after from: lo is always below it or at it, hi at it or past
         * the end. The walk reads on to a slack past until_ms. */
        lo = 1;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2, at;
            gl_event ev;
            rc = event_from(t, mid, &ev, NULL, &at);
            if (rc == GL_ENOTFOUND || (rc == 0 && ev.created_ms >= from)) {
                hi = mid;
            } else if (rc == 0) {
                lo = at + 1;
            } else
                return rc;
        }
    }
    uint64_t go_on = 0; /* the period is read to its end unless set */
    for (uint64_t seq = lo; seq <= st.last_seq; seq++) {
        gl_event ev;
        uint64_t at;
        arena_reset(arena);
        rc = event_from(t, seq, &ev, arena, &at);
        if (rc == GL_ENOTFOUND) {
            rc = 0;
            break;
        }
        if (rc)
            return rc;
        seq = at;
        if (ev.created_ms >= to)
            break;
        if (ev.created_ms < since_ms || ev.created_ms >= until_ms)
            continue; /* near the edge, out of order: it belongs next door */
        if (limit && n == limit) {
            go_on = seq;
            break;
        }
        n++;
        if ((rc = fn(ctx, &ev)) != 0) {
            go_on = seq + 1;
            break;
        }
    }
    *next_seq = go_on;
    if (visited)
        *visited = n;
    return rc;
}
