/* store_lists.c — the store's listings (dispatches of an event, pending
 * dispatches of a team, due resend timers) and event history.
 *
 * A visitor may write to the store (reschedule the dispatch it is shown,
 * say), which moves LMDB cursors under us. Each listing remembers the key it
 * last visited and, if anything changed during the visit, seeks past that
 * key again instead of trusting the cursor. */
#include "store_impl.h"
#include "gl.h"
#include "log.h"
#include "store_pending.h"

#include <stdlib.h>

struct listing {
    store_txn *t;
    MDB_cursor *c;
    gl_arena *arena;
    gl_arena own;             /* used when listings nest deeper than the store's arenas */
    unsigned char key[STORE_KEY_MAX];
    size_t key_len;
    unsigned long changes;
    int done;                 /* the cursor ran off the end of the database */
};

static int listing_start(struct listing *l, store_txn *t, int db)
{
    memset(l, 0, sizeof *l);
    l->t = t;
    store *s = t->s;
    l->arena = s->list_depth < STORE_LIST_DEPTH ? &s->list_arena[s->list_depth] : &l->own;
    s->list_depth++;
    return store_txn_cursor(t, db, &l->c);
}

static void listing_end(struct listing *l)
{
    l->t->s->list_depth--;
    arena_reset(l->arena);
    arena_free(&l->own);
}

/* listing_step is store_cursor_get with the end of the database noted in
 * l->done rather than returned, so visitors' own codes pass through. */
static int listing_step(struct listing *l, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
    int err = store_cursor_get(l->c, k, v, op);
    if (err == GL_ENOTFOUND) {
        l->done = 1;
        return 0;
    }
    return err;
}

/* listing_seek positions at the first key >= the key in k (the first key
 * when k is empty). */
static int listing_seek(struct listing *l, MDB_val *k, MDB_val *v)
{
    return listing_step(l, k, v, k->mv_size ? MDB_SET_RANGE : MDB_FIRST);
}

/* listing_visiting notes the key about to be shown to a visitor. */
static void listing_visiting(struct listing *l, const MDB_val *k)
{
    memcpy(l->key, k->mv_data, k->mv_size);
    l->key_len = k->mv_size;
    l->changes = l->t->changes;
    arena_reset(l->arena);
}

/* listing_next moves past the key last visited. */
static int listing_next(struct listing *l, MDB_val *k, MDB_val *v)
{
    if (l->t->changes == l->changes)
        return listing_step(l, k, v, MDB_NEXT);
    *k = store_val(l->key, l->key_len);
    int err = listing_seek(l, k, v);
    if (!err && !l->done && k->mv_size == l->key_len &&
        memcmp(k->mv_data, l->key, l->key_len) == 0)
        err = listing_step(l, k, v, MDB_NEXT);
    l->changes = l->t->changes;
    return err;
}

static int has_prefix(const MDB_val *k, const void *prefix, size_t n)
{
    return k->mv_size >= n && memcmp(k->mv_data, prefix, n) == 0;
}

/* visit_dispatch decodes the dispatch seq/team (read from an index key)
 * and shows it to fn. An index entry without its record is logged and
 * skipped: the listing should still reach the others. */
static int visit_dispatch(struct listing *l, uint64_t seq, const unsigned char *team,
                          size_t n, store_dispatch_fn fn, void *ctx)
{
    unsigned char key[STORE_KEY_MAX];
    memcpy(key + 8, team, n);
    store_put_be64(key, seq);
    MDB_val k = store_val(key, 8 + n), v;
    int err = store_txn_get(l->t, DB_DISPATCHES, &k, &v);
    if (err == GL_ENOTFOUND) {
        LOG_E("store: index names dispatch %llu/%.*s, which is missing",
              (unsigned long long)seq, (int)n, (const char *)team);
        return 0;
    }
    gl_dispatch d;
    if (!err)
        err = store_rec_decode_dispatch(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &d, l->arena);
    return err ? err : fn(ctx, &d);
}

int store_dispatch_list(store_txn *t, uint64_t seq, store_dispatch_fn fn, void *ctx)
{
    struct listing l;
    unsigned char prefix[8];
    store_put_be64(prefix, seq);
    MDB_val k = store_val(prefix, 8), v;
    int err = listing_start(&l, t, DB_DISPATCHES);
    if (!err)
        err = listing_seek(&l, &k, &v);
    while (!err && !l.done && has_prefix(&k, prefix, 8)) {
        listing_visiting(&l, &k);
        gl_dispatch d;
        err = store_rec_decode_dispatch(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &d, l.arena);
        if (!err)
            err = fn(ctx, &d);
        if (!err)
            err = listing_next(&l, &k, &v);
    }
    listing_end(&l);
    return err;
}

/* A team's entries are in "pending" (team 0 seq: keys of their own and
 * blocks, store_pending.h) or, still unsettled, in pending_recent (seq
 * team): merged in seq order (pset_merge), each found again after a
 * visitor wrote (seq + 1 on). */
int store_pending_list(store_txn *t, const char *team, store_dispatch_fn fn, void *ctx)
{
    struct listing l;
    size_t n = store_name_len(t->s, 9, team);
    if (!n)
        return GL_EBADFIELD;
    pset_merge *m = calloc(1, sizeof *m);
    if (!m)
        return GL_EINTERNAL;
    int err = listing_start(&l, t, DB_PENDING);
    if (!err)
        err = pset_merge_open(m, &pend_index, t, team, n);
    for (uint64_t next = 0; !err;) {
        int have = 0;
        uint64_t seq = 0;
        if ((err = pset_merge_next(m, next, &have, &seq)) != 0 || !have)
            break;
        arena_reset(l.arena);
        err = visit_dispatch(&l, seq, (const unsigned char *)team, n, fn, ctx);
        if (err || seq == UINT64_MAX)
            break;
        next = seq + 1;
    }
    pset_merge_close(m);
    listing_end(&l);
    free(m);
    return err;
}

int store_due_list(store_txn *t, uint64_t now_ms, size_t limit, store_dispatch_fn fn,
                   void *ctx)
{
    struct listing l;
    MDB_val k = store_val(NULL, 0), v;
    size_t visited = 0;
    if (limit == 0)
        return 0;
    int err = listing_start(&l, t, DB_DUE);
    if (!err)
        err = listing_seek(&l, &k, &v);
    while (!err && !l.done && visited < limit) {
        const unsigned char *p = k.mv_data;
        if (k.mv_size <= 16) {
            err = store_error(MDB_CORRUPTED, "due key");
            break;
        }
        if (store_get_be64(p) > now_ms)
            break;
        listing_visiting(&l, &k);
        /* The visitor may reschedule this very entry; l.key still holds it. */
        err = visit_dispatch(&l, store_get_be64(l.key + 8), l.key + 16, l.key_len - 16,
                             fn, ctx);
        visited++;
        if (!err)
            err = listing_next(&l, &k, &v);
    }
    listing_end(&l);
    return err;
}

uint64_t store_next_due(store_txn *t)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int err = store_txn_cursor(t, DB_DUE, &c);
    if (!err)
        err = store_cursor_get(c, &k, &v, MDB_FIRST);
    if (err || k.mv_size < 8)
        return 0;
    return store_get_be64(k.mv_data);
}

/* --- history --- */

int store_history_add(store_txn *t, gl_history *h)
{
    store *s = t->s;
    MDB_cursor *c = NULL;
    unsigned char key[12];
    MDB_val k, v;
    if (t->failed)
        return t->failed;
    int err = store_txn_cursor(t, DB_HISTORY, &c);
    if (err)
        return err;
    /* The entry this transaction wrote last, when it is history's last
     * key, tells without a look: the next entry of its event, or the first
     * of a newer one (a new event's "filed" and "dispatched"), goes at the
     * end. Otherwise the last entry of seq is the one before the first
     * entry of seq + 1. */
    uint32_t no = 1;
    int at_end = 1;
    int known = t->hist_no && t->hist_at_end && h->seq >= t->hist_seq;
    if (known) {
        if (h->seq == t->hist_seq)
            no = t->hist_no + 1;
    } else if (h->seq < UINT64_MAX) {
        store_put_be64(key, h->seq + 1);
        store_put_be32(key + 8, 0);
        k = store_val(key, 12);
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (!err) {
            at_end = 0;
            err = store_cursor_get(c, &k, &v, MDB_PREV);
        } else if (err == GL_ENOTFOUND) {
            err = store_cursor_get(c, &k, &v, MDB_LAST);
        }
    } else {
        err = store_cursor_get(c, &k, &v, MDB_LAST);
    }
    if (known)
        ; /* no and at_end as above */
    else if (!err && k.mv_size == 12 && store_get_be64(k.mv_data) == h->seq)
        no = store_get_be32((const unsigned char *)k.mv_data + 8) + 1;
    else if (err && err != GL_ENOTFOUND)
        return err;
    if (no == 0)
        return GL_EBADSTATE; /* 2^32 entries for one event */

    gl_history rec = *h;
    rec.no = no;
    if ((err = store_rec_encode_history(&s->sbuf, &rec)) != 0)
        return err;
    store_put_be64(key, h->seq);
    store_put_be32(key + 8, no);
    k = store_val(key, 12);
    v = store_val(s->sbuf.data, s->sbuf.size);
    /* Entries of the newest event land at the right edge: append there.
     * The cursor stands on the entry before, so the put through it finds
     * the page without a second search from the root. */
    if ((err = store_txn_cursor_put(t, DB_HISTORY, c, &k, &v, at_end ? MDB_APPEND : 0)) != 0) {
        if (err == GL_EBADSTATE && known) {
            /* Not the last key after all (LMDB refused the append before
             * writing anything): look, as without the note. */
            t->hist_no = 0;
            return store_history_add(t, h);
        }
        return err == GL_EBADSTATE ? store_txn_fail(t, MDB_CORRUPTED, "history append") : err;
    }
    t->hist_seq = h->seq;
    t->hist_no = no;
    t->hist_at_end = at_end;
    h->no = no;
    return 0;
}

int store_history_list(store_txn *t, uint64_t seq, store_history_fn fn, void *ctx)
{
    struct listing l;
    unsigned char prefix[8];
    store_put_be64(prefix, seq);
    MDB_val k = store_val(prefix, 8), v;
    int err = listing_start(&l, t, DB_HISTORY);
    if (!err)
        err = listing_seek(&l, &k, &v);
    while (!err && !l.done && has_prefix(&k, prefix, 8)) {
        listing_visiting(&l, &k);
        gl_history h;
        err = store_rec_decode_history(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &h, l.arena);
        if (!err)
            err = fn(ctx, &h);
        if (!err)
            err = listing_next(&l, &k, &v);
    }
    listing_end(&l);
    return err;
}

