/* The index entries of every staged dimension (time, kind, state,
 * community, grid, team) settled into posting blocks (store_index.h,
 * issue 7): what a user sees is that history queries by those dimensions,
 * alone and together, give exactly the events expected, in filing-time
 * order, over settled and unsettled entries, page by page; that an update
 * moving an event to another community, grid or state moves it between
 * their listings, whether its entries wait, are settled or are the older
 * per-entry keys; that fsck agrees, and notices an entry taken out of a
 * block or added to one behind the store's back; and that a store holding
 * the older per-entry keys next to blocks answers the same. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_index.h"
#include "tap.h"
#include "support/store_test.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXEV 400

static char dir[256];

/* The model: what each event filed is. */
typedef struct model_ev {
    uint64_t seq, ms;
    char community[16], grid[16];
    int teams; /* bit i: kTeams[i] */
    int kind, state;
} model_ev;

static const char *const kTeams[] = {"team-a", "team-b", "team-c", "team-d"};
static model_ev model[MAXEV];
static int nmodel;

static int file_one(store_txn *t, uint64_t ms, const char *community, const char *grid, int teams)
{
    model_ev *m = &model[nmodel];
    char id[32];
    snprintf(id, sizeof id, "post-%03d", nmodel);
    gl_event ev = {.id = id, .kind = 1 + nmodel % 3, .category = "repair", .text = "漏水",
                   .community = community, .grid = grid, .created_ms = ms, .updated_ms = ms,
                   .state = nmodel % 4 == 1 ? GL_EV_FILED : GL_EV_DISPATCHED};
    int rc = store_event_next_seq(t, &ev.seq);
    gl_history h = {.seq = ev.seq, .at_ms = ms, .who = "terminal", .what = "filed"};
    if (rc == 0)
        rc = store_history_add(t, &h);
    for (int i = 0; rc == 0 && i < 4; i++) {
        if (!(teams & (1 << i)))
            continue;
        gl_dispatch d = {.seq = ev.seq, .event = id, .team = kTeams[i], .role = "grid",
                         .state = GL_DS_PENDING, .attempts = 1, .created_ms = ms,
                         .updated_ms = ms, .next_retry_ms = ms + 30000};
        rc = store_dispatch_add(t, &d, ms);
    }
    if (rc == 0)
        rc = store_event_add(t, &ev);
    if (rc == 0) {
        m->seq = ev.seq;
        m->ms = ms;
        snprintf(m->community, sizeof m->community, "%s", community);
        snprintf(m->grid, sizeof m->grid, "%s", grid);
        m->teams = teams;
        m->kind = ev.kind;
        m->state = ev.state;
        nmodel++;
    }
    return rc;
}

/* Files n events from ms on, 10 ms apart, two at each ms (ties ordered by
 * seq). */
static int file_many(store *s, int n, uint64_t ms)
{
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    for (int i = 0; rc == 0 && i < n; i++) {
        int k = nmodel;
        char community[16], grid[16];
        snprintf(community, sizeof community, "comm-%d", k % 3);
        snprintf(grid, sizeof grid, "grid-%d", k % 5);
        int teams = 1 | (k % 2 ? 2 : 0) | (k % 7 == 0 ? 4 : 0) | (k % 11 == 3 ? 8 : 0);
        rc = file_one(t, ms + (uint64_t)(i / 2) * 10, community, grid, teams);
    }
    if (rc == 0)
        rc = store_commit(&t);
    store_abort(&t);
    return rc;
}

static int model_order(const void *a, const void *b)
{
    const model_ev *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether model event m matches q (its time filters included). */
static int model_match(const model_ev *m, const store_query *q)
{
    if ((q->since_ms && m->ms < q->since_ms) || (q->until_ms && m->ms >= q->until_ms))
        return 0;
    if ((q->kind && m->kind != q->kind) || (q->state && m->state != q->state))
        return 0;
    if ((q->community && strcmp(m->community, q->community) != 0) ||
        (q->grid && strcmp(m->grid, q->grid) != 0))
        return 0;
    if (q->team) {
        int match = 0;
        for (int b = 0; b < 4; b++)
            match |= (m->teams & (1 << b)) && strcmp(kTeams[b], q->team) == 0;
        return match;
    }
    return 1;
}

/* The seqs the model says q gives, in (ms, seq) order. */
static int expected(const store_query *q, uint64_t *out)
{
    static model_ev sorted[MAXEV];
    memcpy(sorted, model, sizeof *model * (size_t)nmodel);
    qsort(sorted, (size_t)nmodel, sizeof *sorted, model_order);
    int n = 0;
    for (int i = 0; i < nmodel; i++)
        if (model_match(&sorted[i], q))
            out[n++] = sorted[i].seq;
    return n;
}

typedef struct seen {
    int n;
    uint64_t seq[MAXEV];
} seen;

static int collect(void *ctx, const gl_event *ev)
{
    seen *s = ctx;
    if (s->n < MAXEV)
        s->seq[s->n++] = ev->seq;
    return 0;
}

/* What the store gives for base, max_scan entries a call, each call
 * resuming after the last event given or where the previous one stopped
 * (as a LIST does). -1 on an error. */
static int query_q(store *s, const store_query *base, size_t max_scan, uint64_t *out)
{
    int n = 0, calls = 0;
    uint64_t after_ms = 0, after_seq = 0;
    for (;;) {
        store_txn *t = NULL;
        if (store_begin(s, 0, &t) != 0 || ++calls > 2000)
            return -1;
        store_query q = *base;
        q.max_scan = max_scan;
        q.after_ms = after_ms;
        q.after_seq = after_seq;
        seen got = {0};
        uint64_t rms = 0, rseq = 0;
        int rc = store_query_events(t, &q, collect, &got, NULL, &rms, &rseq);
        uint64_t last_ms = 0;
        if (rc == 0 && got.n) {
            gl_event ev;
            gl_arena a = {0};
            if (store_event_get(t, got.seq[got.n - 1], &ev, &a) == 0)
                last_ms = ev.created_ms;
            arena_free(&a);
        }
        store_abort(&t);
        if (rc != 0)
            return -1;
        for (int i = 0; i < got.n && n < MAXEV; i++)
            out[n++] = got.seq[i];
        if (!rms && !rseq)
            return n;
        /* Resume after the later of: the last event given, the place the
         * scan stopped. */
        after_ms = rms;
        after_seq = rseq;
        if (got.n && (last_ms > rms || (last_ms == rms && got.seq[got.n - 1] > rseq))) {
            after_ms = last_ms;
            after_seq = got.seq[got.n - 1];
        }
    }
}

static const int kStates[] = {GL_EV_FILED, GL_EV_DISPATCHED, GL_EV_ACCEPTED, GL_EV_RESOLVED};

/* The query by value number v of dim (the time: v 0 only; how many
 * values when v is -1). */
static int dim_query(int dim, int v, store_query *q)
{
    static char value[16];
    int nvalues = dim == IX_TIME ? 1 : dim == IX_KIND ? 3 : dim == IX_STATE ? 4 :
                  dim == IX_COMMUNITY ? 3 : dim == IX_GRID ? 5 : 4;
    if (v < 0)
        return nvalues;
    memset(q, 0, sizeof *q);
    if (dim == IX_KIND)
        q->kind = 1 + v;
    else if (dim == IX_STATE)
        q->state = kStates[v];
    else if (dim == IX_COMMUNITY)
        snprintf(value, sizeof value, "comm-%d", v), q->community = value;
    else if (dim == IX_GRID)
        snprintf(value, sizeof value, "grid-%d", v), q->grid = value;
    else if (dim == IX_TEAM)
        q->team = kTeams[v];
    return nvalues;
}

static int check_one(store *s, const store_query *q, size_t scan, const char *when,
                     const char *what)
{
    static uint64_t want[MAXEV], got[MAXEV];
    int nw = expected(q, want), ng = query_q(s, q, scan, got);
    if (ng == nw && memcmp(want, got, sizeof *want * (size_t)nw) == 0)
        return 0;
    diag("%s: %s [%llu, %llu) scan %zu: %d events, %d expected", when, what,
         (unsigned long long)q->since_ms, (unsigned long long)q->until_ms, scan, ng, nw);
    return 1;
}

/* Every time, kind, state, community, grid and team value, whole and in a
 * window, a few entries a call and all at once, and some of them together,
 * agrees with the model: how many queries disagree. */
static int disagreements(store *s, const char *when)
{
    int bad = 0;
    const struct {
        uint64_t since, until;
        size_t scan;
    } ranges[] = {{0, 0, 0}, {0, 0, 7}, {10250, 11050, 5}, {10255, 0, 64}, {0, 10105, 3}};
    for (int dim = IX_TIME; dim <= IX_TEAM; dim++) {
        for (int v = 0; v < dim_query(dim, -1, NULL); v++) {
            for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
                store_query q;
                dim_query(dim, v, &q);
                q.since_ms = ranges[r].since;
                q.until_ms = ranges[r].until;
                char what[64];
                snprintf(what, sizeof what, "%s #%d", store_index_dim_name(dim), v);
                bad += check_one(s, &q, ranges[r].scan, when, what);
            }
        }
    }
    /* Together: kind and state, state and community, kind, grid and a
     * window. */
    for (int k = 1; k <= 3; k++)
        for (int st = 0; st < 4; st++) {
            store_query q = {.kind = k, .state = kStates[st]};
            bad += check_one(s, &q, 4, when, "kind and state");
            q.kind = 0;
            q.community = k == 1 ? "comm-0" : k == 2 ? "comm-1" : "comm-2";
            bad += check_one(s, &q, 0, when, "state and community");
            store_query w = {.kind = k, .grid = st == 0 ? "grid-0" : "grid-3", .since_ms = 10100,
                             .until_ms = 11200};
            bad += check_one(s, &w, 6, when, "kind, grid and a window");
        }
    return bad;
}

/* Moves event i of the model to state st in its own transaction: 0 or
 * an error. */
static int restate(store *s, int i, int st)
{
    store_txn *t = NULL;
    gl_arena a = {0};
    gl_event ev;
    int rc = store_begin(s, 1, &t);
    if (rc == 0)
        rc = store_event_get(t, model[i].seq, &ev, &a);
    if (rc == 0) {
        ev.state = st;
        rc = store_event_put(t, &ev);
    }
    if (rc == 0)
        rc = store_commit(&t);
    store_abort(&t);
    arena_free(&a);
    if (rc == 0)
        model[i].state = st;
    return rc;
}

/* Moves every 9th event from first on (up to n of them) one state on
 * (filed or dispatched to accepted, accepted to resolved): how many
 * failed. */
static int restate_some(store *s, int first, int n)
{
    int failed = 0;
    for (int i = first; i < nmodel && n > 0; i += 9, n--) {
        int st = model[i].state == GL_EV_ACCEPTED ? GL_EV_RESOLVED
                 : model[i].state == GL_EV_RESOLVED ? GL_EV_DISPATCHED : GL_EV_ACCEPTED;
        failed += restate(s, i, st) != 0;
    }
    return failed;
}

static uint64_t waiting(store *s)
{
    store_txn *t = NULL;
    uint64_t n = 0;
    if (store_begin(s, 0, &t) == 0)
        n = store_index_recent_count(t) + store_index_team_count(t);
    store_abort(&t);
    return n;
}

/* settle_all settles what waits in index_recent, then in team_recent. */
static int settle_all(store *s)
{
    size_t moved = 0;
    int err = store_index_settle(s, 0, 100000, &moved);
    return err ? err : store_index_settle_teams(s, 0, 100000, &moved);
}

/* --- behind the store's back --- */

typedef struct raw {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
} raw;

static void raw_open(raw *r)
{
    mdb_env_create(&r->env);
    mdb_env_set_maxdbs(r->env, 32);
    mdb_env_open(r->env, dir, 0, 0600);
    mdb_txn_begin(r->env, NULL, 0, &r->txn);
    mdb_dbi_open(r->txn, "event_index", 0, &r->dbi);
}

static void raw_close(raw *r)
{
    mdb_txn_commit(r->txn);
    mdb_env_close(r->env);
}

/* Whether k is a block key of team value (dim value 0 ms seq 'B'). */
static int is_block_of(const MDB_val *k, int dim, const char *value)
{
    size_t n = strlen(value);
    const unsigned char *p = k->mv_data;
    return k->mv_size == n + 19 && p[0] == dim && memcmp(p + 1, value, n) == 0 && p[1 + n] == 0;
}

/* Copies the first block of dim/value into key/val; 0 when there is none. */
static size_t first_block(raw *r, int dim, const char *value, unsigned char *key, size_t *klen,
                          unsigned char *val)
{
    MDB_cursor *c;
    MDB_val k, v;
    size_t vlen = 0;
    mdb_cursor_open(r->txn, r->dbi, &c);
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !vlen;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (is_block_of(&k, dim, value) && v.mv_size <= 2048) {
            memcpy(key, k.mv_data, k.mv_size);
            *klen = k.mv_size;
            memcpy(val, v.mv_data, v.mv_size);
            vlen = v.mv_size;
        }
    mdb_cursor_close(c);
    return vlen;
}

/* Turns every other block of dim/value into per-entry keys, as a store
 * written before blocks existed holds them: how many blocks. */
static int unblock(int dim, const char *value)
{
    raw r;
    raw_open(&r);
    MDB_cursor *c;
    MDB_val k, v;
    static unsigned char keys[64][64], vals[64][2048];
    size_t klen[64], vlen[64];
    int n = 0, nb = 0;
    mdb_cursor_open(r.txn, r.dbi, &c);
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && n < 64;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (is_block_of(&k, dim, value) && (nb++ % 2 == 0) && v.mv_size <= 2048) {
            memcpy(keys[n], k.mv_data, k.mv_size);
            klen[n] = k.mv_size;
            memcpy(vals[n], v.mv_data, v.mv_size);
            vlen[n] = v.mv_size;
            n++;
        }
    mdb_cursor_close(c);
    for (int b = 0; b < n; b++) {
        MDB_val bk = {klen[b], keys[b]}, empty = {0, ""};
        mdb_del(r.txn, r.dbi, &bk, NULL);
        for (size_t at = 0; at < vlen[b]; at += 16) {
            unsigned char e[64];
            memcpy(e, keys[b], klen[b] - 17);
            memcpy(e + klen[b] - 17, vals[b] + at, 16);
            MDB_val ek = {klen[b] - 1, e};
            mdb_put(r.txn, r.dbi, &ek, &empty, 0);
        }
    }
    raw_close(&r);
    return n;
}

static int count_form(int dim, const char *value, int blocks)
{
    raw r;
    raw_open(&r);
    MDB_cursor *c;
    MDB_val k, v;
    int n = 0;
    size_t vl = strlen(value);
    mdb_cursor_open(r.txn, r.dbi, &c);
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        if (p[0] != dim || k.mv_size < vl + 18 || memcmp(p + 1, value, vl) != 0 || p[1 + vl] != 0)
            continue;
        n += blocks ? is_block_of(&k, dim, value) : k.mv_size == vl + 18;
    }
    mdb_cursor_close(c);
    raw_close(&r);
    return n;
}

int main(void)
{
    int named = 0;
    snprintf(dir, sizeof dir, "/tmp/t_store_postings.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    store *s = NULL;
    is_int(store_open(dir, NULL, &s), 0, "open");

    /* 300 events in three commits; their entries wait, then settle part
     * by part, so blocks are appended to, fill up and are cut. */
    is_int(file_many(s, 100, 10000), 0, "100 events filed");
    is_int(restate_some(s, 0, 6), 0, "6 events change state, their entries waiting");
    is_int(disagreements(s, "unsettled"), 0,
           "queries by time, kind, state, community, grid, team, and together: all unsettled");
    size_t moved = 0;
    is_int(store_index_settle(s, 0, 150, &moved), 0, "settle some");
    is_int((int)moved, 150, "150 entries moved");
    is_int(disagreements(s, "part settled"), 0, "the same, part settled, part waiting");
    is_int(file_many(s, 100, 10500), 0, "100 more");
    is_int(settle_all(s), 0, "settle all");
    is_int((int)waiting(s), 0, "nothing waits");
    is_int(file_many(s, 100, 11000), 0, "100 more");
    is_int(store_index_settle(s, 0, 333, &moved), 0, "settle a third of them");
    is_int(store_index_settle_teams(s, 0, 100, &moved), 0, "and some of their team entries");
    is_int((int)moved, 100, "100 team entries moved");
    ok(waiting(s) > 0, "some still wait");
    is_int(restate_some(s, 1, 10) + restate_some(s, 205, 8), 0,
           "events change state: settled ones (into the middle of a state's blocks), waiting ones");
    is_int(disagreements(s, "settled"), 0,
           "the same over blocks and waiting entries, in order, page by page");
    ok(count_form(IX_TEAM, "team-a", 1) >= 4, "team-a's 300 entries are in blocks (%d)",
       count_form(IX_TEAM, "team-a", 1));
    ok(count_form(IX_TIME, "", 1) >= 3 && count_form(IX_KIND, "alert", 1) >= 1 &&
           count_form(IX_STATE, "dispatched", 1) >= 2 && count_form(IX_TIME, "", 0) == 0,
       "the time, kind and state entries too (time: %d blocks)", count_form(IX_TIME, "", 1));
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent");

    /* An event of an older clock, filed after its neighbours settled: it
     * goes between them. */
    store_txn *t = NULL;
    store_begin(s, 1, &t);
    is_int(file_one(t, 10255, "comm-1", "grid-2", 1 | 4), 0, "an event filed late at 10255");
    store_commit(&t);
    is_int(settle_all(s), 0, "settled");
    is_int(disagreements(s, "late"), 0, "it lists in its place by filing time");

    /* Moves: an update to another community and grid; a new dispatch of an
     * old event to another team (written straight into its block). */
    gl_arena a = {0};
    gl_event ev;
    model_ev *m = &model[40];
    store_begin(s, 1, &t);
    is_int(store_event_get(t, m->seq, &ev, &a), 0, "read event 40");
    char was_comm[16], was_grid[16];
    snprintf(was_comm, sizeof was_comm, "%s", ev.community);
    snprintf(was_grid, sizeof was_grid, "%s", ev.grid);
    ev.community = strcmp(was_comm, "comm-2") ? "comm-2" : "comm-0";
    ev.grid = strcmp(was_grid, "grid-4") ? "grid-4" : "grid-0";
    is_int(store_event_put(t, &ev), 0, "moved to %s, %s", ev.community, ev.grid);
    snprintf(m->community, sizeof m->community, "%s", ev.community);
    snprintf(m->grid, sizeof m->grid, "%s", ev.grid);
    model_ev *m2 = &model[41];
    int newteam = (m2->teams & 8) ? 2 : 3;
    gl_dispatch d = {.seq = m2->seq, .event = "post-041", .team = kTeams[newteam], .role = "grid",
                     .state = GL_DS_PENDING, .attempts = 1, .created_ms = 20000,
                     .updated_ms = 20000, .next_retry_ms = 50000};
    is_int(store_dispatch_put(t, &d), 0, "event 41 redirected to %s", kTeams[newteam]);
    m2->teams |= 1 << newteam;
    is_int(store_commit(&t), 0, "committed");
    arena_free(&a);
    uint64_t got[MAXEV];
    store_query cq = {.community = was_comm};
    int n = query_q(s, &cq, 0, got), listed = 0;
    for (int i = 0; i < n; i++)
        listed |= got[i] == m->seq;
    ok(n > 0 && !listed, "the old community no longer lists event 40");
    is_int(disagreements(s, "moved"), 0, "the new community, grid and team list them, in order");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent after the moves");

    /* Moving the first entry of a block re-keys the block. */
    store_begin(s, 1, &t);
    model_ev *first = &model[0];
    store_event_get(t, first->seq, &ev, &a);
    ev.community = "comm-9";
    is_int(store_event_put(t, &ev), 0, "the first event moved to comm-9");
    snprintf(first->community, sizeof first->community, "comm-9");
    store_commit(&t);
    arena_free(&a);
    is_int(disagreements(s, "first moved"), 0, "its old community lists the rest");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent");
    store_close(&s);

    /* Behind the store's back: an entry taken out of a block. */
    raw r;
    static unsigned char key[64], val[2048], orig[2048];
    size_t klen = 0, vlen;
    raw_open(&r);
    vlen = first_block(&r, IX_TEAM, "team-b", key, &klen, val);
    ok(vlen >= 48, "team-b's first block holds %zu entries", vlen / 16);
    memcpy(orig, val, vlen);
    MDB_val bk = {klen, key}, shorter = {vlen - 16, val};
    memmove(val + 16, val + 32, vlen - 32); /* its second entry gone */
    mdb_put(r.txn, r.dbi, &bk, &shorter, 0);
    raw_close(&r);
    store_open(dir, NULL, &s);
    ok(tl_store_fsck(s, "no event_index entry for its team", &named) > 0 && named, "fsck finds the entry missing");
    store_close(&s);
    raw_open(&r);
    MDB_val back = {vlen, orig};
    mdb_put(r.txn, r.dbi, &bk, &back, 0);
    raw_close(&r);
    store_open(dir, NULL, &s);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "put back: consistent again");
    store_close(&s);
    /* A rebuild writes blocks, and the queries give the same. */
    uint64_t events = 0;
    store_open(dir, NULL, &s);
    is_int(store_index_rebuild(s, &events), 0, "rebuild the index");
    is_int((int)events, nmodel, "from all %d events", nmodel);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent after the rebuild");
    is_int(disagreements(s, "rebuilt"), 0, "queries agree after the rebuild");
    ok(count_form(IX_TEAM, "team-a", 1) >= 4 && count_form(IX_TEAM, "team-a", 0) == 0 &&
           count_form(IX_TIME, "", 1) >= 3 && count_form(IX_TIME, "", 0) == 0 &&
           count_form(IX_STATE, "dispatched", 1) >= 2,
       "the rebuild wrote blocks, for the time and state too");
    store_close(&s);
    /* An entry added to a block: a seq of no event, after its last. */
    raw_open(&r);
    vlen = first_block(&r, IX_GRID, "grid-1", key, &klen, val);
    ok(vlen > 0 && vlen < 64 * 16, "grid-1's first block has room (%zu entries)", vlen / 16);
    unsigned char *extra = val + vlen;
    memcpy(extra, val + vlen - 16, 16);
    extra[15]++; /* the last seq + 1: in order, but not grid-1's */
    bk = (MDB_val){klen, key};
    MDB_val longer = {vlen + 16, val};
    mdb_put(r.txn, r.dbi, &bk, &longer, 0);
    raw_close(&r);
    store_open(dir, NULL, &s);
    ok(tl_store_fsck(s, "hold", &named) > 0 && named, "fsck finds an entry more than the records call for");
    store_close(&s);
    raw_open(&r);
    bk = (MDB_val){klen, key};
    longer = (MDB_val){vlen, val}; /* its entries as they were */
    mdb_put(r.txn, r.dbi, &bk, &longer, 0);
    raw_close(&r);

    /* A state entry taken out of a block, an extra time entry of its own
     * (the older form; after the last block: one in the middle of a block's
     * range would hide the block's later entries), an extra kind entry
     * waiting in index_recent. */
    raw_open(&r);
    vlen = first_block(&r, IX_STATE, "dispatched", key, &klen, val);
    ok(vlen >= 48, "the first block of state dispatched holds %zu entries", vlen / 16);
    memcpy(orig, val, vlen);
    bk = (MDB_val){klen, key};
    shorter = (MDB_val){vlen - 16, val};
    memmove(val + 16, val + 32, vlen - 32);
    mdb_put(r.txn, r.dbi, &bk, &shorter, 0);
    raw_close(&r);
    store_open(dir, NULL, &s);
    ok(tl_store_fsck(s, "no event_index entry for state 'dispatched'", &named) > 0 && named,
       "fsck finds a state entry missing from its block");
    store_close(&s);
    raw_open(&r);
    back = (MDB_val){vlen, orig};
    mdb_put(r.txn, r.dbi, &bk, &back, 0);
    unsigned char ek[64];
    MDB_val ekey = {store_index_key(ek, sizeof ek, IX_TIME, "", 90000000, 99999), ek},
            empty = {0, ""};
    mdb_put(r.txn, r.dbi, &ekey, &empty, 0);
    raw_close(&r);
    store_open(dir, NULL, &s);
    ok(tl_store_fsck(s, "hold", &named) > 0 && named,
       "fsck finds a time entry of its own that no event calls for");
    store_close(&s);
    raw_open(&r);
    mdb_del(r.txn, r.dbi, &ekey, NULL);
    MDB_dbi recent;
    mdb_dbi_open(r.txn, "index_recent", 0, &recent);
    ekey = (MDB_val){store_index_recent_key(ek, 10500, 99999, IX_KIND, "alert", 5), ek};
    mdb_put(r.txn, recent, &ekey, &empty, 0);
    raw_close(&r);
    store_open(dir, NULL, &s);
    ok(tl_store_fsck(s, "hold", &named) > 0 && named,
       "fsck finds a kind entry waiting that no event calls for");
    store_close(&s);
    raw_open(&r);
    mdb_dbi_open(r.txn, "index_recent", 0, &recent);
    mdb_del(r.txn, recent, &ekey, NULL);
    raw_close(&r);
    store_open(dir, NULL, &s);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "all put back: consistent again");
    store_close(&s);

    /* A store with older per-entry keys next to blocks. */
    int nb = unblock(IX_TEAM, "team-a") + unblock(IX_COMMUNITY, "comm-1") +
             unblock(IX_GRID, "grid-2");
    ok(nb >= 4 && count_form(IX_TEAM, "team-a", 0) > 0 && count_form(IX_TEAM, "team-a", 1) > 0,
       "blocks turned into per-entry keys (%d), others left", nb);
    nb = unblock(IX_TIME, "") + unblock(IX_KIND, "request") + unblock(IX_STATE, "dispatched") +
         unblock(IX_STATE, "accepted");
    ok(nb >= 4 && count_form(IX_TIME, "", 0) > 0 && count_form(IX_TIME, "", 1) > 0 &&
           count_form(IX_STATE, "dispatched", 0) > 0 && count_form(IX_KIND, "request", 0) > 0,
       "time, kind and state blocks too (%d), as a store of before session 7 holds them", nb);
    store_open(dir, NULL, &s);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: the mixed store is consistent");
    is_int(disagreements(s, "mixed"), 0, "queries agree over per-entry keys and blocks");
    is_int(restate_some(s, 3, 12), 0,
           "events change state, their old state a per-entry key or in a block");
    is_int(disagreements(s, "mixed, restated"), 0, "queries by state agree");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent");
    /* New events, some of an older clock (landing between per-entry keys),
     * settled; moves of events whose entries are per-entry keys. */
    is_int(file_many(s, 40, 12000), 0, "40 more events");
    store_begin(s, 1, &t);
    is_int(file_one(t, 10035, "comm-1", "grid-2", 1), 0, "one late, among the per-entry keys");
    is_int(file_one(t, 10041, "comm-1", "grid-2", 1 | 2), 0, "another");
    store_commit(&t);
    is_int(settle_all(s), 0, "settled");
    int moves = 0;
    store_begin(s, 1, &t);
    for (int i = 0; i < 30 && moves < 6; i++) {
        model_ev *mv = &model[i];
        if (strcmp(mv->community, "comm-1") != 0)
            continue;
        store_event_get(t, mv->seq, &ev, &a);
        ev.community = "comm-2";
        ev.grid = "grid-3";
        if (store_event_put(t, &ev) == 0) {
            snprintf(mv->community, sizeof mv->community, "comm-2");
            snprintf(mv->grid, sizeof mv->grid, "grid-3");
            moves++;
        }
        arena_reset(&a);
    }
    is_int(store_commit(&t), 0, "%d events moved from comm-1 to comm-2", moves);
    arena_free(&a);
    ok(moves >= 3, "some moved");
    is_int(disagreements(s, "mixed, moved"), 0, "queries agree after new events and moves");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck: consistent");
    store_close(&s);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
