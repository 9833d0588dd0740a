/* The claim board in two parts (issue 7, store_board.c): a request put on
 * the board waits in board_recent and is settled, with the pending index,
 * into blocks of seqs per community in "board". What a user would see: a
 * community's board (BOARD's LISTING) is exactly its claimable requests,
 * oldest first, bounded by the listing's maximum, whether the entries
 * wait, sit in blocks (filled up and cut), or in keys of their own written
 * before blocks; putting and taking off is idempotent; fsck is clean and
 * reports an entry in two places, a malformed block and an entry of no
 * event; a store made before board_recent opens and works; a random
 * workload (fixed seed) lists like a reference model throughout. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_pending.h"
#include "tap.h"
#include "support/store_test.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS 1400
#define NC 3

static char dir[256];
static const char *communities[NC] = {"heping", "xinhua", "dongcheng-north-quarter"};
/* The model: on[seq] says whether seq is on its community's board. */
static int on[EVENTS + 1];
static uint64_t last_filed;

static int community_of(uint64_t seq)
{
    return (int)(seq * 7 % 11 % NC);
}

static uint64_t rnd_state = 20261128;
static uint64_t rnd(uint64_t n)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (rnd_state >> 33) % n;
}

/* Files requests up to last, each with an acknowledged dispatch, put on
 * the board (board) as a worker files them. */
static int file_events(store *s, uint64_t last, int board)
{
    store_txn *t = NULL;
    int rc = last_filed < last ? store_begin(s, 1, &t) : 0;
    for (int i = 0; t && rc == 0 && last_filed < last; i++) {
        uint64_t seq = last_filed + 1;
        char id[32];
        snprintf(id, sizeof id, "brd-%04llu", (unsigned long long)seq);
        gl_event ev = {.seq = seq, .id = id, .kind = GL_KIND_REQUEST, .category = "repair",
                       .text = "burst pipe", .community = communities[community_of(seq)],
                       .created_ms = 1000 + seq, .updated_ms = 1000 + seq,
                       .state = GL_EV_DISPATCHED};
        gl_dispatch d = {.seq = seq, .event = id, .team = "crew", .role = "grid",
                         .state = GL_DS_ACKED, .attempts = 1, .created_ms = 1000 + seq,
                         .updated_ms = 1000 + seq};
        rc = store_dispatch_add(t, &d, ev.created_ms);
        if (rc == 0)
            rc = tl_store_file_event(t, &ev);
        if (rc == 0 && board)
            rc = store_board_set(t, ev.community, seq, 1);
        if (rc == 0) {
            on[seq] = board;
            last_filed = seq;
        }
        /* 50 a transaction */
        if (rc == 0 && (i % 50 == 49 || last_filed == last) && (rc = store_commit(&t)) == 0 &&
            last_filed < last)
            rc = store_begin(s, 1, &t);
    }
    if (rc)
        store_abort(&t);
    return rc;
}

/* set puts seq on its board or takes it off, in a transaction of its own. */
static int set(store *s, uint64_t seq, int put)
{
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    if (rc == 0 && (rc = store_board_set(t, communities[community_of(seq)], seq, put)) == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    if (rc == 0)
        on[seq] = put;
    return rc;
}

/* Every community's board against the model, at most max listed: the first
 * max of its seqs on, in order. Returns the communities that differ. */
static int boards_differ(store *s, size_t max)
{
    static uint64_t got[EVENTS + 8];
    store_txn *t = NULL;
    int differ = 0;
    if (store_begin(s, 0, &t) != 0)
        return NC;
    for (int c = 0; c < NC; c++) {
        size_t n = 0, want = 0;
        int rc = store_board_list(t, communities[c], got, max, &n), same = rc == 0;
        for (uint64_t seq = 1; seq <= last_filed && want < max; seq++)
            if (on[seq] && community_of(seq) == c) {
                if (want >= n || got[want] != seq)
                    same = 0;
                want++;
            }
        if (!same || n != want) {
            diag("  %s: %zu listed, %zu on the model (max %zu, rc %d)", communities[c], n, want,
                 max, rc);
            differ++;
        }
    }
    store_abort(&t);
    return differ;
}

static int model_on(void)
{
    int n = 0;
    for (uint64_t seq = 1; seq <= last_filed; seq++)
        n += on[seq];
    return n;
}

/* nth_on returns the n-th (from 0) seq on community c's board. */
static uint64_t nth_on(int c, int n)
{
    for (uint64_t seq = 1; seq <= last_filed; seq++)
        if (on[seq] && community_of(seq) == c && n-- == 0)
            return seq;
    return 0;
}

static uint64_t board_recent(store *s)
{
    return tl_store_staged(s, store_board_recent_count);
}

static int settle(store *s, size_t max, size_t *moved)
{
    return store_pending_settle(s, 1, max, moved);
}

/* --- behind the store's back (the store closed) --- */

static void be64(unsigned char *p, uint64_t x)
{
    for (int i = 7; i >= 0; i--, x >>= 8)
        p[i] = (unsigned char)x;
}

/* raw opens the store's environment and db (NULL: only the environment);
 * then fn(txn, dbi, ctx); committed when fn returns 0. */
static int raw(const char *db, int (*fn)(MDB_txn *txn, MDB_dbi dbi, void *ctx), void *ctx)
{
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi dbi = 0;
    int rc = mdb_env_create(&env);
    if (rc)
        return rc;
    mdb_env_set_maxdbs(env, 32);
    mdb_env_set_mapsize(env, (size_t)64 << 20);
    if ((rc = mdb_env_open(env, dir, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0 && db)
        rc = mdb_dbi_open(txn, db, 0, &dbi);
    if (rc == 0)
        rc = fn(txn, dbi, ctx);
    if (txn)
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    mdb_env_close(env);
    return rc;
}

/* own_key writes community's own key of seq (community 0 seq), as the code
 * before blocks wrote every board entry; returns its length. */
static size_t own_key(unsigned char *k, uint64_t seq)
{
    const char *c = communities[community_of(seq)];
    size_t n = strlen(c);
    memcpy(k, c, n + 1);
    be64(k + n + 1, seq);
    return n + 9;
}

typedef struct raw_keys {
    uint64_t first, last; /* seqs given keys of their own */
    int put;              /* else deleted */
} raw_keys;

static int put_own(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    raw_keys *r = ctx;
    int rc = 0;
    for (uint64_t seq = r->first; rc == 0 && seq <= r->last; seq++) {
        unsigned char key[64];
        MDB_val k = {own_key(key, seq), key}, v = {0, ""};
        rc = r->put ? mdb_put(txn, dbi, &k, &v, 0) : mdb_del(txn, dbi, &k, NULL);
    }
    return rc;
}

static int count_keys(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    MDB_stat st;
    int rc = mdb_stat(txn, dbi, &st);
    *(uint64_t *)ctx = rc ? 0 : st.ms_entries;
    return 1; /* nothing to commit */
}

static uint64_t board_keys(void)
{
    uint64_t n = 0;
    raw("board", count_keys, &n);
    return n;
}

/* A damage to the board and its undo: one key of db put (or deleted). */
typedef struct damage {
    unsigned char key[64], val[2048];
    size_t klen, vlen;
    int del;
} damage;

static int apply(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    damage *d = ctx;
    MDB_val k = {d->klen, d->key}, v = {d->vlen, d->val};
    return d->del ? mdb_del(txn, dbi, &k, NULL) : mdb_put(txn, dbi, &k, &v, 0);
}

/* first_block copies the first block of two seqs or more of the first
 * community (key and value) into d. */
static int first_block(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    damage *d = ctx;
    MDB_cursor *cur;
    MDB_val k, v;
    const char *c = communities[0];
    size_t n = strlen(c);
    int rc = mdb_cursor_open(txn, dbi, &cur);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        if (k.mv_size == n + 10 && memcmp(p, c, n + 1) == 0 && p[n + 9] == 'B' &&
            v.mv_size >= 16 && v.mv_size <= sizeof d->val) {
            memcpy(d->key, p, k.mv_size);
            d->klen = k.mv_size;
            memcpy(d->val, v.mv_data, v.mv_size);
            d->vlen = v.mv_size;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc ? rc : 1; /* read only */
}

/* fsck_names runs fsck with the store reopened: 1 when it reports a
 * problem holding expect. */
static int fsck_names(store **s, const char *expect)
{
    int named = 0;
    if (tl_store_reopen(dir, s) != 0)
        return 0;
    int problems = tl_store_fsck(*s, expect, &named);
    store_close(s);
    return problems > 0 && named;
}

/* reopen opens the store again, or ends the test (it cannot go on). */
static store *reopen(void)
{
    store *s = NULL;
    if (tl_store_reopen(dir, &s) != 0) {
        printf("Bail out! the store does not open again\n");
        exit(1);
    }
    return s;
}

static int drop_recent(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    (void)ctx;
    return mdb_drop(txn, dbi, 1);
}

int main(void)
{
    store *s = tl_store_open_temp(dir, sizeof dir, "t_store_board");
    if (!s)
        return 1;

    /* Put on: waiting in board_recent, listed in order. */
    int rc = file_events(s, 300, 1);
    ok(rc == 0 && board_recent(s) == 300, "300 requests put on the board wait in board_recent "
       "(%llu)", (unsigned long long)board_recent(s));
    is_int(boards_differ(s, EVENTS), 0, "each community's board lists its requests, oldest first");
    is_int(boards_differ(s, 7), 0, "bounded by the listing's maximum: the oldest 7");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    /* Idempotent, waiting. */
    uint64_t a = nth_on(0, 3), b = nth_on(1, 10);
    rc = set(s, a, 1);
    if (rc == 0)
        rc = set(s, b, 0);
    if (rc == 0)
        rc = set(s, b, 0);
    ok(rc == 0 && board_recent(s) == 299, "put on again: still once; taken off twice: gone once");
    is_int(boards_differ(s, EVENTS), 0, "the boards match");

    /* Settled into blocks, filled up and cut (over PEND_MAX a community). */
    rc = file_events(s, 900, 1);
    size_t moved = 0;
    if (rc == 0)
        rc = settle(s, 100000, &moved);
    ok(rc == 0 && moved == (size_t)model_on() && board_recent(s) == 0,
       "900 filed, all %zu entries settled", moved);
    store_close(&s);
    uint64_t keys = board_keys();
    ok(keys >= NC * 2 && keys <= NC * 4, "as blocks: %llu keys in \"board\" for %d entries",
       (unsigned long long)keys, model_on());
    s = reopen();
    is_int(boards_differ(s, EVENTS), 0, "the boards match after the settle");
    is_int(boards_differ(s, PEND_MAX + 2), 0, "and bounded across a block's end");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    /* Taken off a block (its first, one inside, its last), put on again,
     * idempotent both ways. */
    uint64_t first = nth_on(0, 0), inside = nth_on(0, 50), last = nth_on(0, PEND_MAX - 1);
    uint64_t next_block = nth_on(0, PEND_MAX);
    uint64_t off[] = {first, inside, last, next_block};
    rc = 0;
    for (size_t i = 0; rc == 0 && i < GL_ARRAY_LEN(off); i++)
        if ((rc = set(s, off[i], 0)) == 0)
            rc = set(s, off[i], 0);
    ok(rc == 0 && board_recent(s) == 0, "four taken off blocks (twice each), nothing staged");
    is_int(boards_differ(s, EVENTS), 0, "the boards match");
    rc = set(s, nth_on(1, 5), 1);
    ok(rc == 0 && board_recent(s) == 0, "one in a block put on again: stays in its block");
    rc = set(s, inside, 1);
    if (rc == 0)
        rc = set(s, first, 1);
    ok(rc == 0 && board_recent(s) == 2, "two taken off put on again: waiting in board_recent");
    is_int(boards_differ(s, EVENTS), 0, "the boards match, in order");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");
    if ((rc = settle(s, 100000, &moved)) == 0)
        rc = set(s, first, 0);
    ok(rc == 0 && moved == 2 && board_recent(s) == 0, "settled back into their block; one off");
    is_int(boards_differ(s, EVENTS), 0, "the boards match");

    /* Keys of their own (a store written before blocks) next to blocks. */
    rc = file_events(s, 1000, 0);
    store_close(&s);
    raw_keys own = {.first = 901, .last = 1000, .put = 1};
    is_int(raw("board", put_own, &own), 0, "100 entries of their own written behind the store");
    s = reopen();
    for (uint64_t seq = 901; seq <= 1000; seq++)
        on[seq] = 1;
    is_int(boards_differ(s, EVENTS), 0, "listed with the blocks, in order");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");
    rc = set(s, 950, 1);
    ok(rc == 0 && board_recent(s) == 0, "one of its own put on again: stays where it is");
    rc = set(s, 951, 0);
    if (rc == 0)
        rc = set(s, 951, 0);
    if (rc == 0)
        rc = file_events(s, 1100, 1);
    if (rc == 0)
        rc = settle(s, 100000, &moved);
    ok(rc == 0 && moved == 100, "one taken off; 100 more filed and settled next to them");
    is_int(boards_differ(s, EVENTS), 0, "the boards match");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");

    /* A random workload against the model (a fixed seed): puts and takes
     * off anywhere, more filed, partial settles. */
    int differ = 0, checks = 0, staged = 0;
    for (int op = 0; rc == 0 && op < 3000; op++) {
        uint64_t r = rnd(100);
        if (r < 2 && last_filed + 20 <= EVENTS)
            rc = file_events(s, last_filed + 1 + rnd(20), 1);
        else if (r < 5)
            rc = settle(s, 1 + rnd(40), &moved);
        else
            rc = set(s, 1 + rnd(last_filed), (int)rnd(2));
        if (op % 150 == 149) {
            differ += boards_differ(s, EVENTS) + boards_differ(s, 1 + rnd(200));
            checks++;
            staged += board_recent(s) > 0;
        }
    }
    ok(rc == 0 && differ == 0, "3000 random operations: the boards match the model at %d checks",
       checks);
    ok(staged > 0, "entries waited in board_recent next to blocks at %d of them", staged);
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");
    if ((rc = settle(s, 100000, &moved)) == 0)
        diag("  %zu settled at the end", moved);
    is_int(boards_differ(s, EVENTS), 0, "and after settling all");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");
    store_close(&s);

    /* fsck reports damage behind the store's back. */
    damage d;
    memset(&d, 0, sizeof d);
    rc = raw("board", first_block, &d);
    ok(rc == 1 && d.vlen >= 16, "a block of %s (%zu seqs)", communities[0], d.vlen / 8);
    damage twice = {.klen = 8 + strlen(communities[0])};
    memcpy(twice.key, d.val + 8, 8); /* its second seq, staged too */
    memcpy(twice.key + 8, communities[0], twice.klen - 8);
    raw("board_recent", apply, &twice);
    ok(fsck_names(&s, "twice"), "fsck: an entry both in a block and in board_recent");
    twice.del = 1;
    raw("board_recent", apply, &twice);
    damage junk = d;
    memcpy(junk.val + junk.vlen, "junk", 4);
    junk.vlen += 4;
    raw("board", apply, &junk);
    ok(fsck_names(&s, "malformed block"), "fsck: a malformed block");
    raw("board", apply, &d);
    damage ghost = {.klen = own_key((unsigned char[64]){0}, 3)};
    own_key(ghost.key, 3);
    be64(ghost.key + strlen(communities[community_of(3)]) + 1, EVENTS + 50);
    raw("board", apply, &ghost);
    ok(fsck_names(&s, "no such event"), "fsck: an entry of no event");
    ghost.del = 1;
    raw("board", apply, &ghost);
    ok(!fsck_names(&s, ""), "clean again once undone");

    /* A store made before board_recent existed opens and works. */
    is_int(raw("board_recent", drop_recent, NULL), 0, "board_recent dropped, as a store of the "
           "previous code");
    s = reopen();
    ok(board_recent(s) == 0 && boards_differ(s, EVENTS) == 0, "board_recent is there, empty; "
       "the boards match");
    uint64_t off_seq = nth_on(2, 0);
    rc = set(s, off_seq, 0);
    if (rc == 0)
        rc = set(s, off_seq, 1);
    ok(rc == 0 && board_recent(s) == 1 && boards_differ(s, EVENTS) == 0,
       "taken off and put on again: it waits in board_recent, listed in order");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck is clean");
    store_close(&s);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    done_testing();
}
