/* Appends through the cursor kept at a database's end (store_txn_put_edge,
 * store_txn_append; store_impl.h, store_txn.edge), mixed in one write
 * transaction with every other kind of write to the same database: an
 * append of another path (store_txn_put with MDB_APPEND, whose split
 * leaves other cursors on a leaf that is no longer the last), ordinary puts
 * at the end and in the middle, records rewritten larger, deletes of the
 * last key, appends LMDB refuses. What must hold: the keys come back in
 * order, each one found where it belongs, and on a store filed that way
 * store_fsck finds no problem. With Debian's LMDB 0.9.24 these hold even
 * when the other writes do not close the edge cursor (LMDB moves its
 * tracked cursors on a split itself), so this test guards the order and
 * the store under mixed writes, not the need for store_txn_edge_forget,
 * which is kept as a margin for LMDB versions that do not. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_impl.h"
#include "tap.h"
#include "support/store_test.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS 3000

static char dir[256];

static MDB_val key_of(unsigned char *buf, uint64_t n)
{
    store_put_be64(buf, n >> 32);
    store_put_be64(buf + 8, n);
    MDB_val k = {16, buf};
    return k;
}

/* mix writes KEYS keys into db (due: a database of keys only, which no
 * record refers to in this store) in one transaction, in the ways the
 * header lists; *want gets each key written and not deleted. */
static int mix(store *s, int db, unsigned char *want)
{
    static char big[1800], small[40];
    memset(big, 'b', sizeof big);
    memset(small, 's', sizeof small);
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    uint64_t next = 1000;
    for (int i = 0; rc == 0 && i < KEYS; i++) {
        unsigned char kb[16];
        MDB_val k, v = {sizeof small, small};
        if (i % 7 == 3) {
            /* Another path's append, with a large value: its split puts
             * the new key alone on a new last leaf. */
            k = key_of(kb, next);
            v.mv_size = sizeof big;
            v.mv_data = big;
            rc = store_txn_put(t, db, &k, &v, MDB_APPEND);
            want[next++ - 1000] = 1;
        } else if (i % 11 == 5 && next > 1100) {
            /* A key in the middle (left free below): an ordinary put */
            uint64_t mid = next - 50;
            if (!want[mid - 1000]) {
                k = key_of(kb, mid);
                v.mv_size = sizeof big;
                v.mv_data = big;
                rc = store_txn_put(t, db, &k, &v, 0);
                want[mid - 1000] = 1;
            }
        } else if (i % 13 == 6) {
            /* The last key deleted, then written again larger */
            k = key_of(kb, next - 1);
            rc = store_txn_del(t, db, &k);
            want[next - 1 - 1000] = 0;
            if (rc == 0 && i % 2) {
                v.mv_size = sizeof big;
                v.mv_data = big;
                rc = store_txn_put(t, db, &k, &v, 0);
                want[next - 1 - 1000] = 1;
            }
        } else if (i % 17 == 8) {
            /* An append LMDB refuses (not above the last key): put where
             * it belongs by store_txn_put_edge, refused by
             * store_txn_append */
            k = key_of(kb, next - 3);
            rc = store_txn_append(t, db, &k, &v, 0);
            if (rc == GL_EBADSTATE)
                rc = store_txn_put_edge(t, db, &k, &v, 0);
            want[next - 3 - 1000] = 1;
        } else if (i % 5 == 1) {
            k = key_of(kb, next);
            rc = store_txn_append(t, db, &k, &v, 0);
            want[next++ - 1000] = 1;
        } else {
            /* Leave every tenth key free for the puts in the middle */
            if (next % 10 == 0)
                next++;
            k = key_of(kb, next);
            rc = store_txn_put_edge(t, db, &k, &v, 0);
            want[next++ - 1000] = 1;
        }
    }
    if (rc == 0)
        return store_commit(&t);
    store_abort(&t);
    return rc;
}

/* in_order reads db in key order: 1 when its keys rise strictly, are
 * exactly those of want, and each is found by a search from the root. */
static int in_order(store *s, int db, const unsigned char *want)
{
    store_txn *t = NULL;
    if (store_begin(s, 0, &t) != 0)
        return 0;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    unsigned char last[16] = {0};
    size_t n = 0, expected = 0, misplaced = 0, unknown = 0, unordered = 0;
    for (size_t i = 0; i < 2 * KEYS; i++)
        expected += want[i];
    int rc = store_txn_cursor(t, db, &c);
    for (rc = rc ? rc : store_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = store_cursor_get(c, &k, &v, MDB_NEXT)) {
        n++;
        if (k.mv_size != 16) {
            unknown++;
            continue;
        }
        if (n > 1 && memcmp(k.mv_data, last, 16) <= 0)
            unordered++;
        memcpy(last, k.mv_data, 16);
        uint64_t key = store_get_be64((const unsigned char *)k.mv_data + 8);
        if (key < 1000 || key >= 1000 + 2 * KEYS || !want[key - 1000])
            unknown++;
        MDB_val found;
        if (store_txn_get(t, db, &k, &found) != 0)
            misplaced++;
    }
    store_abort(&t);
    if (unordered || misplaced || unknown || n != expected)
        diag("%zu keys (%zu expected): %zu out of order, %zu not found by a search, %zu unknown",
             n, expected, unordered, misplaced, unknown);
    return rc == GL_ENOTFOUND && !unordered && !misplaced && !unknown && n == expected;
}

/* file writes events from..to-1 in one transaction, mixing into it what
 * else a batch does to the same databases: records rewritten (longer
 * text, a dispatch acknowledged: out of pending and due), a dispatch added
 * to an older event (an append refused, put where it belongs). */
static int file(store *s, int from, int to)
{
    static char text[900];
    memset(text, 'x', sizeof text - 1);
    store_txn *t = NULL;
    int rc = store_begin(s, 1, &t);
    for (int i = from; rc == 0 && i < to; i++) {
        char id[32];
        snprintf(id, sizeof id, "edge-%04d", i);
        uint64_t at = 1000 + (uint64_t)i;
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "c", .text = "t",
                       .community = i % 2 ? "north" : "south", .grid = "g1",
                       .state = GL_EV_FILED, .created_ms = at, .updated_ms = at};
        rc = store_event_add(t, &ev);
        gl_history h = {.seq = ev.seq, .at_ms = at, .who = "terminal", .what = "filed"};
        if (rc == 0)
            rc = store_history_add(t, &h);
        static const char *const teams[] = {"team-a", "team-b", "team-c"};
        for (int k = 0; rc == 0 && k < 1 + i % 3; k++) {
            gl_dispatch d = {.seq = ev.seq, .event = id, .team = teams[k], .role = "grid",
                             .state = GL_DS_PENDING, .attempts = 1, .created_ms = at,
                             .updated_ms = at, .next_retry_ms = at + 5000};
            rc = store_dispatch_add(t, &d, at);
        }
        ev.state = GL_EV_DISPATCHED;
        if (rc == 0 && i % 4 == 1)
            ev.text = text; /* the last record rewritten longer */
        if (rc == 0)
            rc = store_event_put(t, &ev);
        if (rc == 0 && i % 6 == 2) {
            /* team-a acknowledges it: its dispatch rewritten, out of the
             * pending and due indexes */
            gl_dispatch d;
            gl_arena a = {0};
            rc = store_dispatch_get(t, ev.seq, "team-a", &d, &a);
            gl_dispatch old = d;
            d.state = GL_DS_ACKED;
            d.member = "m1";
            d.note = text;
            d.next_retry_ms = 0;
            if (rc == 0)
                rc = store_dispatch_replace(t, &d, &old);
            arena_free(&a);
        }
        if (rc == 0 && i % 9 == 4 && i > from + 20) {
            /* a late team for an event twenty back */
            uint64_t seq = ev.seq - 20;
            gl_event older;
            gl_arena a = {0};
            rc = store_event_get(t, seq, &older, &a);
            gl_dispatch d = {.seq = seq, .event = older.id, .team = "team-z", .role = "informed",
                             .state = GL_DS_PENDING, .attempts = 1, .created_ms = at,
                             .updated_ms = at, .next_retry_ms = at + 5000};
            if (rc == 0)
                rc = store_dispatch_add(t, &d, older.created_ms);
            arena_free(&a);
        }
    }
    if (rc == 0)
        return store_commit(&t);
    store_abort(&t);
    return rc;
}

int main(void)
{
    store *s = tl_store_open_temp(dir, sizeof dir, "gl-edge");
    ok(s != NULL, "a store opens");
    if (!s)
        return done_testing();
    unsigned char *want = calloc(2 * KEYS, 1);
    is_int(mix(s, DB_DUE, want), 0, "%d writes of every kind to one database commit", KEYS);
    ok(in_order(s, DB_DUE, want), "its keys come back in order, each found by a search");
    store_close(&s);

    char events_dir[256];
    s = tl_store_open_temp(events_dir, sizeof events_dir, "gl-edge-ev");
    int rc = s ? file(s, 0, 1200) : -1;
    is_int(rc, 0, "1,200 events filed in one transaction with rewrites, acks and late teams");
    rc = s ? file(s, 1200, 1500) : -1;
    is_int(rc, 0, "and 300 more in the next");
    is_int(s ? tl_store_fsck(s, NULL, NULL) : -1, 0, "store_fsck finds no problem");
    store_close(&s);
    free(want);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, events_dir);
    if (system(cmd) != 0)
        diag("could not remove %s and %s", dir, events_dir);
    return done_testing();
}
