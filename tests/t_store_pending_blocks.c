/* The pending index's blocks (issue 7, store_pending.h): a settle writes
 * each team's staged entries as blocks of seqs. What a user would see: a
 * team's pending list (what a HELLO resends) over settled blocks plus
 * entries still waiting is exactly its PENDING dispatches in event order,
 * stopping and finding its place again like before; acknowledged ones
 * (settled or not) leave it; one made PENDING again is back in order; the
 * STATUS count is exact; fsck is clean and reports an entry taken out of
 * or put into a block behind the store's back; a store with entries of
 * their own (written before blocks) next to blocks answers the same. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_pending.h"
#include "tap.h"
#include "support/store_test.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS 600
#define TEAMS 4

static char dir[256];
static const char *teams[TEAMS] = {"alpha", "bravo", "charlie-team", "delta"};
/* The model: state[seq][team] is the dispatch's state (0: none). */
static int state[EVENTS + 1][TEAMS];
static uint64_t last_filed;

typedef struct seen {
    int n, bad, stop_after;
    uint64_t seq[EVENTS + 8];
    const char *team;
    store_txn *ack_in; /* acknowledge every other one shown, in this txn */
} seen;

static int team_no(const char *name)
{
    for (int i = 0; i < TEAMS; i++)
        if (strcmp(teams[i], name) == 0)
            return i;
    return -1;
}

static int collect(void *ctx, const gl_dispatch *d)
{
    seen *s = ctx;
    if (strcmp(d->team, s->team) != 0 || d->state != GL_DS_PENDING)
        s->bad++;
    if (s->n < (int)(sizeof s->seq / sizeof s->seq[0]))
        s->seq[s->n++] = d->seq;
    if (s->ack_in && s->n % 2) {
        gl_dispatch a = *d;
        a.state = GL_DS_ACKED;
        a.next_retry_ms = 0;
        int rc = store_dispatch_put(s->ack_in, &a);
        if (rc)
            return rc;
        state[d->seq][team_no(d->team)] = GL_DS_ACKED;
    }
    return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

static int model_pending(int team)
{
    int n = 0;
    for (int seq = 1; seq <= EVENTS; seq++)
        for (int i = 0; i < TEAMS; i++)
            n += (team < 0 || i == team) && state[seq][i] == GL_DS_PENDING;
    return n;
}

/* Every team's pending list against the model: the same seqs, in order.
 * Returns the number of teams that differ. */
static int lists_differ(store *s)
{
    store_txn *t = NULL;
    int differ = 0;
    if (store_begin(s, 0, &t) != 0)
        return TEAMS;
    for (int i = 0; i < TEAMS; i++) {
        seen got = {.team = teams[i]};
        int rc = store_pending_list(t, teams[i], collect, &got);
        int n = 0, same = rc == 0 && got.bad == 0;
        for (uint64_t seq = 1; seq <= EVENTS; seq++)
            if (state[seq][i] == GL_DS_PENDING) {
                if (n >= got.n || got.seq[n] != seq)
                    same = 0;
                n++;
            }
        if (!same || n != got.n) {
            diag("  %s: %d listed, %d pending (rc %d)", teams[i], got.n, n, rc);
            differ++;
        }
    }
    store_abort(&t);
    return differ;
}

static int set_state(store_txn *t, uint64_t seq, int team, int st)
{
    char id[32];
    snprintf(id, sizeof id, "blk-%03llu", (unsigned long long)seq);
    gl_dispatch d = {.seq = seq, .event = id, .team = teams[team], .role = "grid", .state = st,
                     .attempts = 1, .created_ms = 1000 + seq, .updated_ms = 2000 + seq};
    int rc = store_dispatch_put(t, &d);
    if (rc == 0)
        state[seq][team] = st;
    return rc;
}

static int update(store *s, uint64_t seq, int team, int st)
{
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    if (rc == 0 && (rc = set_state(t, seq, team, st)) == 0)
        return store_commit(&t);
    store_abort(&t);
    return rc;
}

/* Files events up to last, each dispatched (store_dispatch_add, as a
 * worker files: into pending_recent) to the teams in mask, or to one or
 * two of the first three teams. */
static int file_events(store *s, uint64_t last, unsigned mask)
{
    int rc = 0;
    while (rc == 0 && last_filed < last) {
        store_txn *t = NULL;
        if ((rc = store_begin(s, 1, &t)) != 0)
            break;
        for (int i = 0; rc == 0 && i < 25 && last_filed < last; i++) {
            uint64_t seq = last_filed + 1;
            char id[32];
            snprintf(id, sizeof id, "blk-%03llu", (unsigned long long)seq);
            gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair",
                           .text = "burst pipe", .created_ms = 1000 + seq,
                           .updated_ms = 1000 + seq, .state = GL_EV_DISPATCHED};
            uint64_t got = 0;
            if ((rc = store_event_next_seq(t, &got)) == 0 && got != seq)
                rc = -1000;
            unsigned m = mask ? mask : (seq % 3 == 0 ? 3u : 1u << (seq % 3));
            for (int k = 0; rc == 0 && k < TEAMS; k++) {
                if (!(m & 1u << k))
                    continue;
                gl_dispatch d = {.seq = seq, .event = id, .team = teams[k], .role = "grid",
                                 .state = GL_DS_PENDING, .attempts = 1,
                                 .created_ms = 1000 + seq, .updated_ms = 1000 + seq,
                                 .next_retry_ms = 90000 + seq};
                if ((rc = store_dispatch_add(t, &d, ev.created_ms)) == 0)
                    state[seq][k] = GL_DS_PENDING;
            }
            ev.seq = seq;
            if (rc == 0)
                rc = store_event_add(t, &ev);
            gl_history h = {.seq = seq, .at_ms = 1000 + seq, .who = "terminal", .what = "filed"};
            if (rc == 0)
                rc = store_history_add(t, &h);
            if (rc == 0)
                last_filed = seq;
        }
        if (rc == 0)
            rc = store_commit(&t);
        else
            store_abort(&t);
    }
    return rc;
}

/* --- behind the store's back --- */

typedef struct raw {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi pending, recent;
} raw;

static int raw_open(raw *r)
{
    memset(r, 0, sizeof *r);
    int rc = mdb_env_create(&r->env);
    if (rc)
        return rc;
    mdb_env_set_maxdbs(r->env, 32);
    mdb_env_set_mapsize(r->env, (size_t)64 << 20);
    if ((rc = mdb_env_open(r->env, dir, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(r->env, NULL, 0, &r->txn)) == 0 &&
        (rc = mdb_dbi_open(r->txn, "pending", 0, &r->pending)) == 0)
        rc = mdb_dbi_open(r->txn, "pending_recent", 0, &r->recent);
    if (rc) {
        if (r->txn)
            mdb_txn_abort(r->txn);
        mdb_env_close(r->env);
    }
    return rc;
}

static int raw_close(raw *r, int commit)
{
    int rc = commit ? mdb_txn_commit(r->txn) : (mdb_txn_abort(r->txn), 0);
    mdb_env_close(r->env);
    return rc;
}

/* raw_block finds team's block holding seq: its key (copied to key, *klen)
 * and value (copied to val, *vlen). 0 or an LMDB error. */
static int raw_block(raw *r, const char *team, uint64_t seq, unsigned char *key, size_t *klen,
                     unsigned char *val, size_t *vlen)
{
    MDB_cursor *c;
    MDB_val k, v;
    size_t n = strlen(team);
    int rc = mdb_cursor_open(r->txn, r->pending, &c);
    if (rc)
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data, *q = v.mv_data;
        if (k.mv_size != n + 10 || memcmp(p, team, n) != 0 || p[n] != 0 || p[n + 9] != 'B')
            continue;
        for (size_t i = 0; i + 8 <= v.mv_size; i += 8) {
            uint64_t x = 0;
            for (int b = 0; b < 8; b++)
                x = x << 8 | q[i + (size_t)b];
            if (x == seq) {
                memcpy(key, p, k.mv_size);
                *klen = k.mv_size;
                memcpy(val, q, v.mv_size);
                *vlen = v.mv_size;
                mdb_cursor_close(c);
                return 0;
            }
        }
    }
    mdb_cursor_close(c);
    return rc;
}

static int raw_put(raw *r, const unsigned char *key, size_t klen, const void *val, size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return mdb_put(r->txn, r->pending, &k, &v, 0);
}

static void be64(unsigned char *p, uint64_t x)
{
    for (int i = 7; i >= 0; i--, x >>= 8)
        p[i] = (unsigned char)x;
}

/* raw_edit_block rewrites the block of team that holds seq: without seq
 * (drop), or with add put in where it sorts, or with junk bytes after it;
 * then undo puts it back as it was. */
enum { DROP, ADD, JUNK };
static unsigned char saved_key[600], saved_val[2048];
static size_t saved_klen, saved_vlen;

static int raw_edit_block(const char *team, uint64_t seq, int how, uint64_t add)
{
    raw r;
    unsigned char val[2048 + 16];
    int rc = raw_open(&r);
    if (rc)
        return rc;
    if ((rc = raw_block(&r, team, seq, saved_key, &saved_klen, saved_val, &saved_vlen)) != 0) {
        raw_close(&r, 0);
        return rc;
    }
    size_t out = 0;
    for (size_t i = 0; i < saved_vlen; i += 8) {
        uint64_t x = 0;
        for (int b = 0; b < 8; b++)
            x = x << 8 | saved_val[i + (size_t)b];
        if (how == ADD && add && add < x) {
            be64(val + out, add);
            out += 8;
            add = 0;
        }
        if (how == DROP && x == seq)
            continue;
        memcpy(val + out, saved_val + i, 8);
        out += 8;
    }
    if (how == ADD && add) {
        be64(val + out, add);
        out += 8;
    }
    if (how == JUNK) {
        memcpy(val + out, "junk", 4);
        out += 4;
    }
    rc = raw_put(&r, saved_key, saved_klen, val, out);
    return rc ? (raw_close(&r, 0), rc) : raw_close(&r, 1);
}

static int raw_undo(void)
{
    raw r;
    int rc = raw_open(&r);
    if (rc)
        return rc;
    rc = raw_put(&r, saved_key, saved_klen, saved_val, saved_vlen);
    return rc ? (raw_close(&r, 0), rc) : raw_close(&r, 1);
}

/* raw_unblock turns team's waiting entries (pending_recent) into entries
 * of their own in "pending", as the code before blocks settled them. */
static int raw_unblock(const char *team, int *moved)
{
    raw r;
    MDB_cursor *c;
    MDB_val k, v;
    size_t n = strlen(team);
    *moved = 0;
    int rc = raw_open(&r);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(r.txn, r.recent, &c)) != 0) {
        raw_close(&r, 0);
        return rc;
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;) {
        const unsigned char *p = k.mv_data;
        if (k.mv_size != 8 + n || memcmp(p + 8, team, n) != 0) {
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            continue;
        }
        unsigned char key[600];
        memcpy(key, team, n);
        key[n] = 0;
        memcpy(key + n + 1, p, 8);
        if ((rc = raw_put(&r, key, n + 9, "", 0)) != 0 || (rc = mdb_cursor_del(c, 0)) != 0)
            break;
        (*moved)++;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT); /* the one after the deleted */
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? raw_close(&r, 1) : (raw_close(&r, 0), rc);
}

static uint64_t raw_keys(void)
{
    raw r;
    MDB_stat st;
    uint64_t n = 0;
    if (raw_open(&r) == 0) {
        if (mdb_stat(r.txn, r.pending, &st) == 0)
            n = st.ms_entries;
        raw_close(&r, 0);
    }
    return n;
}

/* first_pending returns the n-th (from 0) PENDING seq of team in order. */
static uint64_t nth_pending(int team, int n)
{
    for (uint64_t seq = 1; seq <= EVENTS; seq++)
        if (state[seq][team] == GL_DS_PENDING && n-- == 0)
            return seq;
    return 0;
}

int main(void)
{
    store *s = tl_store_open_temp(dir, sizeof dir, "t_store_pending_blocks");
    if (!s)
        return 1;

    /* Settled blocks plus entries still waiting. */
    int rc = file_events(s, 420, 0);
    size_t moved = 0;
    if (rc == 0)
        rc = store_pending_settle(s, 1, 100000, &moved);
    ok(rc == 0 && moved == (size_t)model_pending(-1), "420 events filed, their %zu entries settled",
       moved);
    uint64_t keys = raw_keys();
    ok(keys > 0 && keys <= 8, "settled as blocks: %llu keys in \"pending\" for %d entries",
       (unsigned long long)keys, model_pending(-1));
    if (rc == 0)
        rc = file_events(s, 460, 0);
    ok(rc == 0 && tl_store_pending_recent(s) > 0, "40 more filed, waiting in pending_recent (%llu)",
       (unsigned long long)tl_store_pending_recent(s));
    is_int(lists_differ(s), 0, "every team's list is its PENDING dispatches, in event order");
    is_int((int)tl_store_pending(s), model_pending(-1), "the STATUS pending count is exact");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    /* Stopping and finding the place again. */
    store_txn *t = NULL;
    seen part = {.team = "alpha", .stop_after = 150};
    rc = store_begin(s, 0, &t);
    if (rc == 0)
        rc = store_pending_list(t, "alpha", collect, &part);
    store_abort(&t);
    int in_order = part.n == 150 && part.bad == 0;
    for (int i = 0; in_order && i < part.n; i++)
        in_order = part.seq[i] == nth_pending(0, i);
    ok(rc == 7 && in_order, "a visitor stopping after 150 of %d: its code returned, "
       "the first 150 shown in order (across a block's end)", model_pending(0));
    int before = model_pending(1);
    seen acking = {.team = "bravo"};
    rc = store_begin(s, 1, &t);
    acking.ack_in = t;
    if (rc == 0)
        rc = store_pending_list(t, "bravo", collect, &acking);
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    ok(rc == 0 && acking.n == before && acking.bad == 0,
       "a visitor acknowledging every other one in the listing's transaction: each of %d shown "
       "once", before);
    is_int(model_pending(1), before / 2, "half of them acknowledged");
    is_int(lists_differ(s), 0, "the lists match after");

    /* Acknowledgements of settled entries (a block's first, one inside,
     * its last) and of waiting ones. */
    uint64_t first = nth_pending(2, 0), inside = nth_pending(2, 40), later = nth_pending(2, 127);
    uint64_t waiting = nth_pending(2, model_pending(2) - 1);
    rc = 0;
    uint64_t acked[] = {first, inside, later, nth_pending(2, 128), waiting};
    for (size_t i = 0; rc == 0 && i < sizeof acked / sizeof acked[0]; i++)
        rc = update(s, acked[i], 2, GL_DS_ACKED);
    ok(rc == 0, "five charlie-team dispatches acknowledged, settled and waiting");
    int gone = 1;
    for (size_t i = 0; i < sizeof acked / sizeof acked[0]; i++)
        gone &= state[acked[i]][2] == GL_DS_ACKED;
    ok(gone, "(the model says so)");
    is_int(lists_differ(s), 0, "they are gone from the list, the others still in order");
    is_int((int)tl_store_pending(s), model_pending(-1), "the count follows");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    /* Made PENDING again: back in order. */
    rc = update(s, inside, 2, GL_DS_PENDING);
    if (rc == 0)
        rc = update(s, first, 2, GL_DS_PENDING);
    if (rc == 0)
        rc = update(s, acking.seq[0], 1, GL_DS_PENDING);
    ok(rc == 0, "three dispatches made PENDING again (one a block's first before)");
    is_int(lists_differ(s), 0, "each is listed again, in its place");
    is_int((int)tl_store_pending(s), model_pending(-1), "the count follows");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    /* Behind the store's back. */
    store_close(&s);
    /* victim in alpha's first block (full: 128 seqs), small in its second
     * (12 seqs, room for more) */
    uint64_t victim = nth_pending(0, 10), small = nth_pending(0, 130), acked_alpha = 0;
    for (uint64_t q = small + 1; q <= EVENTS && !acked_alpha; q++)
        if (state[q][0] == 0)
            acked_alpha = q; /* no dispatch of alpha: put in its block */
    int found = 0, problems;
    is_int(raw_edit_block("alpha", victim, DROP, 0), 0, "an entry taken out of a block");
    if ((rc = tl_store_reopen(dir, &s)) != 0)
        return done_testing();
    problems = tl_store_fsck(s, "is pending but not in the pending index", &found);
    ok(problems > 0 && found, "fsck reports the PENDING dispatch missing from the index");
    store_close(&s);
    is_int(raw_undo(), 0, "put back");
    is_int(raw_edit_block("alpha", small, ADD, acked_alpha), 0,
           "a seq with no dispatch of that team put into the block");
    if ((rc = tl_store_reopen(dir, &s)) != 0)
        return done_testing();
    problems = tl_store_fsck(s, "pending index entry without its dispatch", &found);
    ok(problems > 0 && found, "fsck reports the entry without its dispatch");
    store_close(&s);
    is_int(raw_undo(), 0, "put back");
    uint64_t acked_one = 0;
    for (uint64_t q = victim + 1; q <= EVENTS && !acked_one; q++)
        if (state[q][1] == GL_DS_ACKED)
            acked_one = q;
    is_int(raw_edit_block("bravo", nth_pending(1, 2), ADD, acked_one), 0,
           "an acknowledged dispatch's seq put into its team's block");
    if ((rc = tl_store_reopen(dir, &s)) != 0)
        return done_testing();
    problems = tl_store_fsck(s, "is acked but in the pending index", &found);
    ok(problems > 0 && found, "fsck reports the ACKED dispatch in the index");
    store_close(&s);
    is_int(raw_undo(), 0, "put back");
    is_int(raw_edit_block("alpha", small, JUNK, 0), 0, "junk appended to a block");
    if ((rc = tl_store_reopen(dir, &s)) != 0)
        return done_testing();
    problems = tl_store_fsck(s, "malformed block", &found);
    ok(problems > 0 && found, "fsck reports the malformed block");
    store_close(&s);
    is_int(raw_undo(), 0, "put back");

    /* Entries of their own, as the code before blocks settled them, next to
     * blocks. */
    if ((rc = tl_store_reopen(dir, &s)) != 0)
        return done_testing();
    rc = file_events(s, 520, 1u << 3 | 1u << 0);
    store_close(&s);
    int own = 0, own_a = 0;
    if (rc == 0)
        rc = raw_unblock("delta", &own);
    ok(rc == 0 && own > 0, "delta's %d waiting entries made keys of their own, as before blocks",
       own);
    rc = raw_unblock("alpha", &own_a);
    ok(rc == 0 && own_a > 0, "and alpha's %d, after its blocks", own_a);
    if ((rc = tl_store_reopen(dir, &s)) != 0)
        return done_testing();
    is_int(lists_differ(s), 0, "that store lists every team right");
    is_int((int)tl_store_pending(s), model_pending(-1), "counts right");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "and fsck is clean");
    rc = file_events(s, 560, 1u << 3 | 1u << 0);
    if (rc == 0)
        rc = store_pending_settle(s, 1, 100000, &moved);
    uint64_t old_delta = nth_pending(3, 5), old_alpha = nth_pending(0, model_pending(0) - 45);
    if (rc == 0)
        rc = update(s, old_delta, 3, GL_DS_ACKED);
    if (rc == 0)
        rc = update(s, old_alpha, 0, GL_DS_ACKED);
    if (rc == 0)
        rc = update(s, nth_pending(3, 7), 3, GL_DS_ACKED);
    if (rc == 0)
        rc = update(s, old_delta, 3, GL_DS_PENDING);
    if (rc == 0)
        rc = file_events(s, 580, 1u << 3 | 1u << 0);
    ok(rc == 0, "more filed and settled after them; keys of their own acknowledged, one made "
       "PENDING again; more waiting");
    is_int(lists_differ(s), 0, "every team's list is still exact and in order");
    is_int((int)tl_store_pending(s), model_pending(-1), "the count is exact");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    store_close(&s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
