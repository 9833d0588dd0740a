/* store_index.c — the event index and the dead letters (store_index.h):
 * keys, the writes that keep them in step with the records, queries,
 * rebuilding, and their part of fsck. */
#include "store_index.h"
#include "store_info.h"
#include "gl.h"
#include "log.h"
#include "store_impl.h"
#include "store_postings.h"

#include <stdarg.h>
#include <stdio.h>

#define QUERY_COUNT_CAP 4096   /* entries counted per candidate index */
#define QUERY_MAX_SCAN 20000

/* --- keys --- */

size_t store_index_key(unsigned char *k, size_t max, int dim, const char *value, uint64_t ms,
                       uint64_t seq)
{
    size_t n = value ? strlen(value) : 0;
    if (dim <= 0 || dim >= IX_DIM_COUNT || 1 + n + 1 + 16 > max || memchr(value ? value : "", 0, n))
        return 0;
    k[0] = (unsigned char)dim;
    if (n)
        memcpy(k + 1, value, n);
    k[1 + n] = 0;
    store_put_be64(k + 2 + n, ms);
    store_put_be64(k + 10 + n, seq);
    return n + 18;
}

int store_index_key_parse(const unsigned char *k, size_t len, int *dim, const char **value,
                          size_t *vlen, uint64_t *ms, uint64_t *seq)
{
    if (len < 18 || k[0] == 0 || k[0] >= IX_DIM_COUNT || k[len - 17] != 0)
        return -1;
    size_t n = len - 18;
    if (memchr(k + 1, 0, n))
        return -1;
    *dim = k[0];
    *value = (const char *)k + 1;
    *vlen = n;
    *ms = store_get_be64(k + len - 16);
    *seq = store_get_be64(k + len - 8);
    return 0;
}

static const char *const dim_names[IX_DIM_COUNT] = {
    "", "time", "kind", "state", "community", "grid", "team", "alarm"};

const char *store_index_dim_name(int dim)
{
    return dim > 0 && dim < IX_DIM_COUNT ? dim_names[dim] : "";
}

/* The value of ev in dim (NULL: no entry in that dimension). */
static const char *dim_value(const gl_event *ev, int dim)
{
    switch (dim) {
    case IX_TIME: return "";
    case IX_KIND: return ev->kind ? gl_kind_name(ev->kind) : NULL;
    case IX_STATE: return ev->state ? gl_event_state_name(ev->state) : NULL;
    case IX_COMMUNITY: return ev->community;
    case IX_GRID: return ev->grid;
    case IX_ALARM: return ev->alarm;
    default: return NULL; /* IX_TEAM comes from the dispatches */
    }
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* How entry_set writes a new entry of a staged dimension. */
enum { INTO_BLOCK, RECENT_EDGE, RECENT_PUT };

/* entry_set puts (on) or deletes the entry (dim, value, ms, seq). A new
 * entry of a staged dimension goes to index_recent (staged RECENT_EDGE: an
 * append, tried first; RECENT_PUT: a put where it belongs; a settle puts
 * it in a block later), or (INTO_BLOCK) straight into the block where it
 * belongs. A delete takes it from wherever it is: its own key (a store
 * written before blocks), the block holding it, or index_recent. */
static int entry_set(store_txn *t, int dim, const char *value, uint64_t ms, uint64_t seq, int on,
                     int staged)
{
    unsigned char key[STORE_KEY_MAX], rkey[STORE_KEY_MAX];
    size_t vlen = value ? strlen(value) : 0;
    /* What store_index_key refuses (a new entry of a staged dimension
     * needs only its index_recent key, which is no longer) */
    if (dim <= 0 || dim >= IX_DIM_COUNT || 1 + vlen + 1 + 16 > t->s->max_key)
        return GL_EBADFIELD;
    MDB_val v = store_val("", 0);
    int staged_dim = store_index_staged(dim);
    MDB_val r = store_val(rkey, 0);
    int db = staged_dim ? store_index_recent_db(dim) : DB_INDEX_RECENT;
    if (staged_dim)
        r.mv_size = store_index_recent_key(rkey, ms, seq, dim, value ? value : "", vlen);
    if (on && staged_dim && staged == RECENT_PUT) {
        /* Through the transaction's cursor of the staging database, which
         * recent_edge left on its last leaf, where these entries go: LMDB
         * finds the place on that page without a search from the root
         * (about 700 instructions a put). */
        MDB_cursor *c = NULL;
        int err = store_txn_cursor(t, db, &c);
        return err ? err : store_txn_cursor_put(t, db, c, &r, &v, 0);
    }
    if (on && staged_dim && staged == RECENT_EDGE)
        return store_txn_put_edge(t, db, &r, &v, 0);
    size_t n = store_index_key(key, t->s->max_key, dim, value, ms, seq);
    if (!n)
        return GL_EBADFIELD;
    MDB_val k = store_val(key, n);
    if (!staged_dim)
        return on ? store_txn_put(t, DB_EVENT_INDEX, &k, &v, 0)
                  : store_txn_del(t, DB_EVENT_INDEX, &k);
    if (on) /* INTO_BLOCK */
        return ix_post_put(t, key, n);
    int err = store_txn_del(t, DB_EVENT_INDEX, &k);
    if (!err)
        err = ix_post_remove(t, key, n);
    if (!err)
        err = store_txn_del(t, db, &r);
    return err;
}

static int key_cmp(const MDB_val *k, const unsigned char *b, size_t blen);

/* recent_edge says how ev's staged entries go into index_recent: in
 * dimension order they are above its last key (RECENT_EDGE: appended),
 * unless entries at the same (ms, seq) and a dimension above are there
 * already (RECENT_PUT: an append LMDB refuses would cost a search more for
 * each of them). The team entries of its dispatches, written before it,
 * wait in team_recent, so a new event's entries are appended. */
static int recent_edge(store_txn *t, const gl_event *ev)
{
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char first[17];
    store_index_recent_key(first, ev->created_ms, ev->seq, IX_TIME, "", 0);
    if (store_txn_cursor(t, DB_INDEX_RECENT, &c) != 0 ||
        store_cursor_get(c, &k, &v, MDB_LAST) != 0)
        return RECENT_EDGE; /* empty (or an error the put will meet) */
    return key_cmp(&k, first, sizeof first) < 0 ? RECENT_EDGE : RECENT_PUT;
}

static int event_added(store_txn *t, const gl_event *ev, int staged)
{
    if (staged)
        staged = recent_edge(t, ev);
    for (int dim = IX_TIME; dim < IX_DIM_COUNT; dim++) {
        const char *v = dim_value(ev, dim);
        int err = v ? entry_set(t, dim, v, ev->created_ms, ev->seq, 1, staged) : 0;
        if (err)
            return err;
    }
    return 0;
}

int store_index_event_added(store_txn *t, const gl_event *ev)
{
    return event_added(t, ev, RECENT_EDGE);
}

/* A scratch arena for decoding a record inside a write: the next listing
 * level's, which no listing uses while we run. */
static gl_arena *scratch_arena(store *s, gl_arena *own)
{
    return s->list_depth < STORE_LIST_DEPTH ? &s->list_arena[s->list_depth] : own;
}

int store_index_event_replaced(store_txn *t, const gl_event *was, const gl_event *ev)
{
    int err = 0;
    if (ev->id && (!was->id || strcmp(was->id, ev->id) != 0)) {
        /* The id is the deduplication key: it cannot move to another seq.
         * (The same id as the record's is the common case: no lookup.) */
        uint64_t indexed;
        err = store_event_find(t, ev->id, &indexed);
        if (err == GL_ENOTFOUND || (!err && indexed != ev->seq))
            err = GL_EBADFIELD;
    }
    /* The record as it was also says where its timers entry was. */
    if (err == 0)
        err = store_timer_event_changed(t, was, ev);
    int moved = was->created_ms != ev->created_ms;
    for (int dim = IX_TIME; err == 0 && dim < IX_DIM_COUNT; dim++) {
        const char *a = dim_value(was, dim), *b = dim_value(ev, dim);
        if (!moved && same(a, b))
            continue;
        if (a)
            err = entry_set(t, dim, a, was->created_ms, ev->seq, 0, INTO_BLOCK);
        if (!err && b)
            err = entry_set(t, dim, b, ev->created_ms, ev->seq, 1, INTO_BLOCK);
    }
    return err;
}

int store_index_event_changed(store_txn *t, const void *old, size_t old_len, const gl_event *ev)
{
    store *s = t->s;
    gl_arena own = {0}, *arena = scratch_arena(s, &own);
    gl_event was;
    unsigned char key[8];
    store_put_be64(key, ev->seq);
    int err = store_rec_decode_event(key, sizeof key, old, old_len, &was, arena);
    if (err == 0)
        err = store_index_event_replaced(t, &was, ev);
    arena_reset(arena);
    arena_free(&own);
    return err;
}

static size_t dead_key(unsigned char *k, uint64_t seq, const char *team, size_t n)
{
    store_put_be64(k, seq);
    memcpy(k + 8, team, n);
    return 8 + n;
}

static int dead_letter_changed(store_txn *t, int old_state, const gl_dispatch *d);

int store_index_dispatch_added(store_txn *t, const gl_dispatch *d, uint64_t event_ms)
{
    int err = store_counts_changed(t, GL_DS_NONE, d->state);
    if (!err)
        err = entry_set(t, IX_TEAM, d->team, event_ms, d->seq, 1, RECENT_EDGE);
    return err ? err : dead_letter_changed(t, GL_DS_NONE, d);
}

int store_index_dispatch_changed(store_txn *t, int old_state, const gl_dispatch *d)
{
    int err = store_counts_changed(t, old_state, d->state);
    if (!err && old_state == GL_DS_NONE) {
        /* A new dispatch: its team's entry, at the event's filing time. */
        unsigned char key[8];
        store_put_be64(key, d->seq);
        MDB_val k = store_val(key, 8), v;
        gl_event ev;
        err = store_txn_get(t, DB_EVENTS, &k, &v);
        if (!err)
            err = store_rec_decode_event(key, sizeof key, v.mv_data, v.mv_size, &ev, NULL);
        if (err == GL_ENOTFOUND)
            return 0; /* a dispatch without its event: fsck's to report */
        if (!err)
            err = entry_set(t, IX_TEAM, d->team, ev.created_ms, d->seq, 1, INTO_BLOCK);
    }
    return err ? err : dead_letter_changed(t, old_state, d);
}

static int dead_letter_changed(store_txn *t, int old_state, const gl_dispatch *d)
{
    int err = 0;
    int was_dead = old_state == GL_DS_DEAD, is_dead = d->state == GL_DS_DEAD;
    if (was_dead != is_dead) {
        unsigned char key[STORE_KEY_MAX];
        size_t n = store_name_len(t->s, 8, d->team);
        if (!n)
            return GL_EBADFIELD;
        MDB_val k = store_val(key, dead_key(key, d->seq, d->team, n)), v = store_val("", 0);
        err = is_dead ? store_txn_put(t, DB_DEAD_LETTERS, &k, &v, 0)
                      : store_txn_del(t, DB_DEAD_LETTERS, &k);
    }
    return err;
}

/* --- queries --- */

typedef struct range {
    int dim;
    const char *value;
    unsigned char lo[STORE_KEY_MAX], hi[STORE_KEY_MAX];
    size_t lo_len, hi_len;
    uint64_t lo_ms, lo_seq, hi_ms, hi_seq; /* the same bounds, for index_recent */
} range;

/* The range of dim/value for q: from max(since, just after the cursor) to
 * until (exclusive; the end of the value's keys when none). */
static int range_init(store_txn *t, const store_query *q, int dim, const char *value, range *r)
{
    r->dim = dim;
    r->value = value;
    uint64_t lo_ms = q->since_ms, lo_seq = 0;
    if (q->after_ms || q->after_seq) {
        uint64_t ams = q->after_ms, aseq = q->after_seq + 1;
        if (aseq == 0) /* after the last seq there is: the next ms */
            ams++;
        if (ams > lo_ms || (ams == lo_ms && aseq > lo_seq)) {
            lo_ms = ams;
            lo_seq = aseq;
        }
    }
    uint64_t hi_ms = q->until_ms ? q->until_ms : UINT64_MAX, hi_seq = q->until_ms ? 0 : UINT64_MAX;
    r->lo_ms = lo_ms;
    r->lo_seq = lo_seq;
    r->hi_ms = hi_ms;
    r->hi_seq = hi_seq;
    r->lo_len = store_index_key(r->lo, t->s->max_key, dim, value, lo_ms, lo_seq);
    r->hi_len = store_index_key(r->hi, t->s->max_key, dim, value, hi_ms, hi_seq);
    return r->lo_len && r->hi_len ? 0 : GL_EBADFIELD;
}

static int key_cmp(const MDB_val *k, const unsigned char *b, size_t blen)
{
    size_t n = k->mv_size < blen ? k->mv_size : blen;
    int c = memcmp(k->mv_data, b, n);
    return c ? c : (k->mv_size > blen) - (k->mv_size < blen);
}

/* --- a value's entries still in index_recent, in (ms, seq) order --- */

typedef struct recent_stream {
    store_txn *t;
    MDB_cursor *c;            /* its own: the lookups in between use the shared ones */
    const range *r;
    int until_set;
    size_t value_len;
    unsigned char last[STORE_KEY_MAX];
    size_t last_len;
    int have;                 /* ms, seq hold the next entry */
    uint64_t ms, seq;
} recent_stream;

static int pair_cmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq)
{
    if (ams != bms)
        return ams < bms ? -1 : 1;
    return aseq < bseq ? -1 : aseq > bseq;
}

/* recent_scan moves from key k (op: where to start) to the next entry of
 * the stream's dimension and value within its range, or sets have = 0. */
static int recent_scan(recent_stream *rs, MDB_val *k, MDB_cursor_op op)
{
    MDB_val v;
    const range *r = rs->r;
    int err = store_cursor_get(rs->c, k, &v, op);
    rs->have = 0;
    for (; !err; err = store_cursor_get(rs->c, k, &v, MDB_NEXT)) {
        const unsigned char *p = k->mv_data;
        if (k->mv_size < 17 || k->mv_size > sizeof rs->last)
            return store_error(MDB_CORRUPTED, "index_recent key");
        uint64_t ms = store_get_be64(p), seq = store_get_be64(p + 8);
        int c = pair_cmp(ms, seq, r->hi_ms, r->hi_seq);
        if (rs->until_set ? c >= 0 : c > 0)
            return 0; /* past the range: no more */
        if (p[16] != r->dim || k->mv_size - 17 != rs->value_len ||
            memcmp(p + 17, r->value, rs->value_len) != 0 || pair_cmp(ms, seq, r->lo_ms, r->lo_seq) < 0)
            continue;
        memcpy(rs->last, p, k->mv_size);
        rs->last_len = k->mv_size;
        rs->ms = ms;
        rs->seq = seq;
        rs->have = 1;
        return 0;
    }
    return err == GL_ENOTFOUND ? 0 : err;
}

static int recent_open(recent_stream *rs, store_txn *t, const range *r, int until_set)
{
    memset(rs, 0, sizeof *rs);
    rs->t = t;
    rs->r = r;
    rs->until_set = until_set;
    rs->value_len = strlen(r->value);
    int db = store_index_recent_db(r->dim);
    int rc = mdb_cursor_open(t->txn, t->s->dbi[db], &rs->c);
    if (rc) {
        rs->c = NULL;
        return store_error(rc, store_db_names[db]);
    }
    unsigned char lo[16];
    store_put_be64(lo, r->lo_ms);
    store_put_be64(lo + 8, r->lo_seq);
    MDB_val k = store_val(lo, 16);
    return recent_scan(rs, &k, MDB_SET_RANGE);
}

/* recent_next moves past the entry last shown. */
static int recent_next(recent_stream *rs)
{
    MDB_val k = store_val(rs->last, rs->last_len), v;
    int err = store_cursor_get(rs->c, &k, &v, MDB_SET_RANGE);
    if (err == GL_ENOTFOUND)
        rs->have = 0;
    if (err)
        return err == GL_ENOTFOUND ? 0 : err;
    if (key_cmp(&k, rs->last, rs->last_len) == 0)
        return recent_scan(rs, &k, MDB_NEXT);
    return recent_scan(rs, &k, MDB_GET_CURRENT);
}

static void recent_close(recent_stream *rs)
{
    if (rs->c)
        mdb_cursor_close(rs->c);
    rs->c = NULL;
    rs->have = 0;
}

/* count_range counts the entries of r, stopping at cap (those still in
 * index_recent included). */
static int count_range(store_txn *t, const range *r, int until_set, size_t cap, size_t *count)
{
    ix_stream ix;
    *count = 0;
    int err = ix_open(&ix, t, r->lo, r->lo_len, r->hi_ms, r->hi_seq, until_set);
    while (!err && ix.have && *count < cap) {
        (*count)++;
        err = ix_next(&ix);
    }
    if (!err && store_index_staged(r->dim) && *count < cap) {
        recent_stream rs;
        err = recent_open(&rs, t, r, until_set);
        while (!err && rs.have && *count < cap) {
            (*count)++;
            err = recent_next(&rs);
        }
        recent_close(&rs);
    }
    return err;
}

static int matches(store_txn *t, const store_query *q, int used, const gl_event *ev)
{
    if (q->kind && ev->kind != q->kind)
        return 0;
    if (q->state && ev->state != q->state)
        return 0;
    if (q->community && !same(ev->community, q->community))
        return 0;
    if (q->grid && !same(ev->grid, q->grid))
        return 0;
    if (q->alarm && !same(ev->alarm, q->alarm))
        return 0;
    if (q->since_ms && ev->created_ms < q->since_ms)
        return 0;
    if (q->until_ms && ev->created_ms >= q->until_ms)
        return 0;
    if (q->team && used != IX_TEAM) {
        gl_dispatch d;
        if (store_dispatch_get(t, ev->seq, q->team, &d, NULL) != 0)
            return 0;
    }
    return 1;
}

int store_query_events(store_txn *t, const store_query *q, store_event_fn fn, void *ctx,
                       int *dim_used, uint64_t *resume_ms, uint64_t *resume_seq)
{
    if (resume_ms)
        *resume_ms = 0;
    if (resume_seq)
        *resume_seq = 0;
    const char *cand_value[IX_DIM_COUNT] = {0};
    cand_value[IX_TIME] = "";
    cand_value[IX_KIND] = q->kind ? gl_kind_name(q->kind) : NULL;
    cand_value[IX_STATE] = q->state ? gl_event_state_name(q->state) : NULL;
    cand_value[IX_COMMUNITY] = q->community;
    cand_value[IX_GRID] = q->grid;
    cand_value[IX_TEAM] = q->team;
    cand_value[IX_ALARM] = q->alarm;
    int until_set = q->until_ms != 0;

    /* The most selective index: the candidate whose range holds the fewest
     * entries (counted up to a cap; the time index breaks no ties). */
    range best, cur;
    memset(&best, 0, sizeof best);
    size_t best_count = (size_t)-1;
    int err = 0;
    for (int dim = IX_DIM_COUNT - 1; dim >= IX_TIME; dim--) {
        if (!cand_value[dim])
            continue;
        if ((err = range_init(t, q, dim, cand_value[dim], &cur)) != 0)
            return err;
        size_t count;
        if ((err = count_range(t, &cur, until_set, QUERY_COUNT_CAP, &count)) != 0)
            return err;
        if (count < best_count) {
            best = cur;
            best_count = count;
        }
        if (count == 0)
            break; /* nothing can match */
    }
    if (dim_used)
        *dim_used = best.dim;
    if (best_count == 0)
        return 0;

    size_t max_scan = q->max_scan ? q->max_scan : QUERY_MAX_SCAN, scanned = 0;
    gl_arena own = {0}, *arena = scratch_arena(t->s, &own);
    t->s->list_depth++;
    /* The index entries in order (a block's one by one); for a staged
     * dimension, merged with those still in index_recent (each is in one
     * of the two). */
    recent_stream rs;
    memset(&rs, 0, sizeof rs);
    ix_stream ix;
    err = ix_open(&ix, t, best.lo, best.lo_len, best.hi_ms, best.hi_seq, until_set);
    if (!err && store_index_staged(best.dim))
        err = recent_open(&rs, t, &best, until_set);
    while (!err && (ix.have || rs.have)) {
        int from_main = ix.have && !(rs.have && pair_cmp(rs.ms, rs.seq, ix.ms, ix.seq) < 0);
        uint64_t ms = from_main ? ix.ms : rs.ms, seq = from_main ? ix.seq : rs.seq;
        if (scanned++ == max_scan) {
            if (resume_ms)
                *resume_ms = ms;
            if (resume_seq)
                *resume_seq = seq ? seq - 1 : 0;
            break;
        }
        arena_reset(arena);
        gl_event ev;
        err = store_event_get(t, seq, &ev, arena);
        if (err == GL_ENOTFOUND) {
            LOG_E("store: event_index names event %llu, which is missing", (unsigned long long)seq);
            err = 0;
        } else if (!err && matches(t, q, best.dim, &ev)) {
            err = fn(ctx, &ev);
        }
        /* The stream re-finds its place by key: the lookups and the
         * visitor may have moved the transaction's cursors. */
        if (!err)
            err = from_main ? ix_next(&ix) : recent_next(&rs);
    }
    recent_close(&rs);
    t->s->list_depth--;
    arena_reset(arena);
    arena_free(&own);
    return err == GL_ENOTFOUND ? 0 : err;
}

int store_dead_list(store_txn *t, uint64_t after_seq, store_dispatch_fn fn, void *ctx)
{
    unsigned char key[STORE_KEY_MAX], last[STORE_KEY_MAX];
    size_t last_len = 0;
    if (after_seq == UINT64_MAX)
        return 0;
    store_put_be64(key, after_seq + 1);
    MDB_cursor *c;
    MDB_val k = store_val(key, 8), v;
    gl_arena own = {0}, *arena = scratch_arena(t->s, &own);
    t->s->list_depth++;
    int err = store_txn_cursor(t, DB_DEAD_LETTERS, &c);
    if (!err)
        err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (!err) {
        if (k.mv_size <= 8 || k.mv_size > sizeof last) {
            err = GL_ESTORAGE;
            break;
        }
        memcpy(last, k.mv_data, k.mv_size);
        last_len = k.mv_size;
        char team[STORE_KEY_MAX];
        memcpy(team, last + 8, last_len - 8);
        team[last_len - 8] = '\0';
        arena_reset(arena);
        gl_dispatch d;
        err = store_dispatch_get(t, store_get_be64(last), team, &d, arena);
        if (err == GL_ENOTFOUND) {
            LOG_E("store: dead letter %llu/%s without its dispatch",
                  (unsigned long long)store_get_be64(last), team);
            err = 0;
        } else if (!err) {
            err = fn(ctx, &d);
        }
        if (err)
            break;
        k = store_val(last, last_len);
        err = store_txn_cursor(t, DB_DEAD_LETTERS, &c);
        if (!err)
            err = store_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (!err && key_cmp(&k, last, last_len) == 0)
            err = store_cursor_get(c, &k, &v, MDB_NEXT);
    }
    t->s->list_depth--;
    arena_reset(arena);
    arena_free(&own);
    return err == GL_ENOTFOUND ? 0 : err;
}

uint64_t store_dead_count(store_txn *t)
{
    MDB_stat ms;
    return mdb_stat(t->txn, t->s->dbi[DB_DEAD_LETTERS], &ms) == 0 ? ms.ms_entries : 0;
}

/* --- rebuilding --- */

int store_index_rebuild(store *s, uint64_t *events)
{
    store_txn *t = NULL;
    uint64_t n = 0;
    int err = store_begin(s, 1, &t);
    if (err)
        return err;
    int rc = mdb_drop(t->txn, s->dbi[DB_EVENT_INDEX], 0);
    if (!rc)
        rc = mdb_drop(t->txn, s->dbi[DB_DEAD_LETTERS], 0);
    if (!rc)
        rc = mdb_drop(t->txn, s->dbi[DB_COUNTS], 0);
    if (!rc)
        rc = mdb_drop(t->txn, s->dbi[DB_INDEX_RECENT], 0);
    if (!rc)
        rc = mdb_drop(t->txn, s->dbi[DB_TEAM_RECENT], 0);
    if (rc) {
        store_abort(&t);
        return store_error(rc, "index drop");
    }
    gl_arena arena = {0};
    MDB_cursor *c = NULL;
    MDB_val k, v;
    /* Events first (a cursor of our own: the puts use the shared ones). */
    rc = mdb_cursor_open(t->txn, s->dbi[DB_EVENTS], &c);
    if (rc)
        c = NULL;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && !err;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        gl_event ev;
        arena_reset(&arena);
        err = store_rec_decode_event(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &ev, &arena);
        if (!err) {
            err = event_added(t, &ev, RECENT_EDGE); /* staged dimensions: settled below */
            n++;
        }
    }
    if (c)
        mdb_cursor_close(c);
    c = NULL;
    if (!err && rc != MDB_NOTFOUND)
        err = store_error(rc, "index rebuild events");
    if (!err && (rc = mdb_cursor_open(t->txn, s->dbi[DB_DISPATCHES], &c)) != 0)
        c = NULL;
    for (rc = err || rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); !err && !rc;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        gl_dispatch d;
        arena_reset(&arena);
        err = store_rec_decode_dispatch(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &d, &arena);
        if (!err) {
            /* Its team entry staged with the others, at its event's
             * filing time (none without its event: fsck's to report). */
            unsigned char ekey[8];
            store_put_be64(ekey, d.seq);
            MDB_val ek = store_val(ekey, 8), evv;
            gl_event ev;
            int found = store_txn_get(t, DB_EVENTS, &ek, &evv) == 0 &&
                        store_rec_decode_event(ekey, sizeof ekey, evv.mv_data, evv.mv_size,
                                               &ev, NULL) == 0;
            err = found ? store_index_dispatch_added(t, &d, ev.created_ms)
                        : store_index_dispatch_changed(t, GL_DS_NONE, &d);
        }
    }
    if (c)
        mdb_cursor_close(c);
    if (!err && rc && rc != MDB_NOTFOUND)
        err = store_error(rc, "index rebuild dispatches");
    /* Into blocks, a part at a time (index_recent and team_recent are in
     * time order, so each part mostly adds blocks after the last ones). */
    for (size_t moved = 1; !err && moved;)
        err = ix_settle_in(t, 65536, &moved);
    for (size_t moved = 1; !err && moved;)
        err = ix_team_settle_in(t, 65536, &moved);
    arena_free(&arena);
    if (err) {
        store_abort(&t);
        return err;
    }
    if ((err = store_commit(&t)) == 0 && events)
        *events = n;
    return err;
}

/* --- fsck --- */


static int has_key(store_txn *t, int db, const unsigned char *key, size_t n)
{
    MDB_val k = store_val(key, n), v;
    return store_txn_get(t, db, &k, &v) == 0;
}

int store_index_check(store_txn *t, store_fsck_report *r)
{
    store *s = t->s;
    gl_arena arena = {0};
    unsigned char key[STORE_KEY_MAX];
    MDB_cursor *c = NULL;
    MDB_val k, v;
    uint64_t expected = 0;
    int err = 0;
    uint64_t by_state[GL_DS_COUNT] = {0};
    /* Every record has its entries. */
    int rc = mdb_cursor_open(t->txn, s->dbi[DB_EVENTS], &c);
    if (rc)
        c = NULL;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        gl_event ev;
        arena_reset(&arena);
        if (store_rec_decode_event(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &ev, &arena) != 0)
            continue; /* reported by the events pass */
        for (int dim = IX_TIME; dim < IX_DIM_COUNT; dim++) {
            const char *val = dim_value(&ev, dim);
            size_t n = val ? store_index_key(key, s->max_key, dim, val, ev.created_ms, ev.seq) : 0;
            if (!val)
                continue;
            expected++;
            /* Settled (a key of its own or in a block), or waiting in
             * index_recent (team_recent for the team). */
            int found = n && ix_has(t, key, n);
            if (n && !found && store_index_staged(dim))
                found = has_key(t, store_index_recent_db(dim), key,
                                store_index_recent_key(key, ev.created_ms, ev.seq, dim, val,
                                                       strlen(val)));
            if (!found)
                store_fsck_problem(r, "event %s: no event_index entry for %s '%s'", ev.id, dim_names[dim],
                        val);
        }
    }
    if (c)
        mdb_cursor_close(c);
    c = NULL;
    if (rc != MDB_NOTFOUND)
        err = store_error(rc, "fsck index events");
    uint64_t dead = 0;
    rc = err ? 0 : mdb_cursor_open(t->txn, s->dbi[DB_DISPATCHES], &c);
    if (rc)
        c = NULL;
    for (rc = err || rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); !err && !rc;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        gl_dispatch d;
        gl_event ev;
        arena_reset(&arena);
        /* seq from the decoder, which refuses a key too short to hold it
         * (fsck's input may be damaged: no read past the key). */
        if (store_rec_decode_dispatch(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &d, &arena) != 0 ||
            store_event_get(t, d.seq, &ev, &arena) != 0)
            continue; /* reported by the dispatches pass */
        uint64_t seq = d.seq;
        size_t n = store_index_key(key, s->max_key, IX_TEAM, d.team, ev.created_ms, seq);
        size_t tn = strlen(d.team);
        expected++;
        /* Settled, or still waiting in team_recent (not both: the counts
         * below would differ). */
        if (!n || (!ix_has(t, key, n) &&
                   !has_key(t, DB_TEAM_RECENT, key,
                            store_index_recent_key(key, ev.created_ms, seq, IX_TEAM, d.team, tn))))
            store_fsck_problem(r, "dispatch %s/%s: no event_index entry for its team", ev.id, d.team);
        int listed = tn + 8 <= s->max_key && has_key(t, DB_DEAD_LETTERS, key,
                                                   dead_key(key, seq, d.team, tn));
        dead += d.state == GL_DS_DEAD;
        if (d.state > GL_DS_NONE && d.state < GL_DS_COUNT)
            by_state[d.state]++;
        if (listed != (d.state == GL_DS_DEAD))
            store_fsck_problem(r, "dispatch %s/%s is %s but %s the dead letters", ev.id, d.team,
                    gl_dispatch_state_name(d.state), listed ? "in" : "not in");
    }
    if (c)
        mdb_cursor_close(c);
    if (!err && rc && rc != MDB_NOTFOUND)
        err = store_error(rc, "fsck index dispatches");
    /* No entry more than the records call for (each was found above, so
     * equal counts mean equal sets). */
    MDB_stat ms;
    uint64_t recent = store_index_recent_count(t) + store_index_team_count(t), settled = 0;
    if (!err)
        err = ix_check(t, r, &settled);
    if (!err && settled + recent != expected)
        store_fsck_problem(r, "event_index, index_recent and team_recent hold %llu entries where "
                "the records call for %llu", (unsigned long long)(settled + recent),
                (unsigned long long)expected);
    if (!err && mdb_stat(t->txn, s->dbi[DB_DEAD_LETTERS], &ms) == 0 && ms.ms_entries != dead)
        store_fsck_problem(r, "dead_letters holds %llu entries where %llu dispatches are dead",
                (unsigned long long)ms.ms_entries, (unsigned long long)dead);
    uint64_t counted[GL_DS_COUNT];
    if (!err && store_dispatch_counts(t, counted) == 0)
        for (int st = GL_DS_NONE + 1; st < GL_DS_COUNT; st++)
            if (counted[st] != by_state[st])
                store_fsck_problem(r, "counts says %llu dispatches are %s where %llu are",
                        (unsigned long long)counted[st], gl_dispatch_state_name(st),
                        (unsigned long long)by_state[st]);
    arena_free(&arena);
    return err;
}
