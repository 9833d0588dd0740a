/* End to end: a store whose records were written before session 7 (wire
 * names as keys, kinds and states as names) still works with this build.
 * Events are filed and acted on through bin/gridline with a real broker and
 * worker; the worker is stopped, and every event, dispatch and history
 * record is rewritten in the old form (tests/support/old_records.h); a new
 * worker then answers SHOW and TRACK exactly as before, fsck finds the
 * store consistent, and an UPDATE on an old record files it in the new form
 * next to the old history. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_impl.h"
#include "../common/store_records.h"
#include "support/old_records.h"
#include "support/testlib.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tl_env env;
static char out[1 << 16];

static int cli(const char *const args[])
{
    return tl_cli(&env, args, 1, out, sizeof out, 15000);
}

/* rewrite_old rewrites every record of db in the old form; the number of
 * records, or -1. */
static long rewrite_old(store_txn *t, int db)
{
    MDB_cursor *c = NULL;
    if (mdb_cursor_open(t->txn, t->s->dbi[db], &c) != 0)
        return -1;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    gl_arena arena = {0};
    long n = 0;
    MDB_val k, v;
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && n >= 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        msgpack_sbuffer_clear(&sb);
        arena_reset(&arena);
        int err;
        if (db == DB_EVENTS) {
            gl_event ev;
            err = store_rec_decode_event(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &ev,
                                         &arena);
            if (err == 0)
                old_event(&pk, &ev);
        } else if (db == DB_DISPATCHES) {
            gl_dispatch d;
            err = store_rec_decode_dispatch(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &d,
                                            &arena);
            if (err == 0)
                old_dispatch(&pk, &d);
        } else {
            gl_history h;
            err = store_rec_decode_history(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &h,
                                           &arena);
            if (err == 0)
                old_history(&pk, &h);
        }
        /* The key points into the page the put rewrites: put a copy. */
        unsigned char key[STORE_KEY_MAX];
        MDB_val nk = {k.mv_size, key}, nv = {sb.size, sb.data};
        if (k.mv_size > sizeof key)
            err = GL_ESTORAGE;
        else
            memcpy(key, k.mv_data, k.mv_size);
        if (err || mdb_cursor_put(c, &nk, &nv, MDB_CURRENT) != 0)
            n = -1;
        else
            n++;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        n = -1;
    mdb_cursor_close(c);
    arena_free(&arena);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

/* first_key_is_str: the first record of db has a string as its first key
 * (the old form; the new one begins with the guard only for events and
 * dispatches, and history begins with an integer key). */
static int first_key_is_str(store_txn *t, int db)
{
    MDB_val k, v;
    MDB_cursor *c = NULL;
    int yes = 0;
    if (mdb_cursor_open(t->txn, t->s->dbi[db], &c) != 0)
        return 0;
    if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0 && v.mv_size > 2) {
        const unsigned char *p = v.mv_data;
        size_t head = (p[0] & 0xf0) == 0x80 ? 1 : p[0] == 0xde ? 3 : 0;
        /* the old form's first key: "id" (event), "event" (dispatch),
         * "seq" (history); never the guard, "seq" holding true */
        yes = head && v.mv_size > head + 1 && (p[head] & 0xe0) == 0xa0 &&
              !(p[head] == 0xa3 && memcmp(p + head + 1, "seq", 3) == 0 &&
                p[head + 4] == 0xc3);
    }
    mdb_cursor_close(c);
    return yes;
}

int main(void)
{
    tl_setup(&env, "oldrecords");
    tl_broker(&env, NULL);
    const char *const worker_args[] = {"--retry-ms", "600000", NULL};
    pid_t w1 = tl_worker(&env, "w1", worker_args);
    if (tl_wait_ready(&env, 10000) != 0 || tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! the broker or worker did not come up\n");
        return 1;
    }

    /* A flood alert: its plan's first step waits 120 s, and dispatches are
     * not resent within 10 minutes, so nothing changes the records between
     * the SHOWs below on however loaded a machine. */
    is_int(cli((const char *[]){"push", "--kind", "alert", "--category", "flood", "--community",
                                "heping", "--grid", "heping-g2", "--terminal", "or-phone",
                                "--text", "地下室进水", "--id", "or-1", "--urgency", "Immediate",
                                "--severity", "Severe", NULL}),
           0, "an alert is pushed");
    is_int(cli((const char *[]){"push", "--kind", "request", "--category", "repair",
                                "--terminal", "heping-g1-phone", "--text", "楼道灯坏了", "--id",
                                "or-2", NULL}),
           0, "a request is pushed");
    is_int(cli((const char *[]){"resolve", "--team", "heping-g1-team", "--event", "or-2",
                                "--note", "已修好", NULL}),
           0, "the grid team resolves the request");

    static char show1[sizeof out], show2[sizeof out], track2[sizeof out];
    int good = cli((const char *[]){"show", "or-1", "--json", NULL}) == 0;
    memcpy(show1, out, sizeof out);
    good = good && cli((const char *[]){"show", "or-2", "--json", NULL}) == 0;
    memcpy(show2, out, sizeof out);
    good = good && cli((const char *[]){"track", "or-2", "--json", NULL}) == 0;
    memcpy(track2, out, sizeof out);
    ok(good && strstr(show2, "\"resolved\"") && strstr(show1, "\"Immediate\""),
       "show and track answer (new-form records)");

    ok(tl_stop(w1) != -1, "the worker stops");

    store *s = NULL;
    store_txn *t = NULL;
    int rc = store_open(env.store, NULL, &s);
    if (rc == 0)
        rc = store_begin(s, 1, &t);
    long events = rc ? -1 : rewrite_old(t, DB_EVENTS);
    long dispatches = rc ? -1 : rewrite_old(t, DB_DISPATCHES);
    long history = rc ? -1 : rewrite_old(t, DB_HISTORY);
    if (t)
        rc = events >= 0 && dispatches >= 0 && history >= 0 ? store_commit(&t) : -1;
    if (t)
        store_abort(&t);
    ok(rc == 0 && events == 2 && dispatches >= 3 && history >= 4,
       "every record is rewritten in the old form (%ld events, %ld dispatches, %ld history "
       "entries)", events, dispatches, history);
    if (s && store_begin(s, 0, &t) == 0) {
        ok(first_key_is_str(t, DB_EVENTS) && first_key_is_str(t, DB_DISPATCHES) &&
               first_key_is_str(t, DB_HISTORY),
           "the stored records now have string keys");
        store_abort(&t);
    }
    store_fsck_report r;
    memset(&r, 0, sizeof r);
    ok(s && store_fsck(s, &r) == 0 && r.problems == 0 && r.events == 2,
       "fsck finds the old-form store consistent (%llu problems%s%s)",
       (unsigned long long)r.problems, r.nfirst ? ": " : "", r.nfirst ? r.first[0] : "");
    store_close(&s);

    tl_worker(&env, "w2", worker_args);
    if (tl_wait_workers(&env, 10000) != 0)
        diag("the second worker did not answer");
    is_int(cli((const char *[]){"show", "or-1", "--json", NULL}), 0, "show the old alert");
    ok(strcmp(out, show1) == 0, "its SHOW is the same, dispatches and history included");
    if (strcmp(out, show1) != 0)
        diag("before: %s\nafter: %s", show1, out);
    is_int(cli((const char *[]){"show", "or-2", "--json", NULL}), 0, "show the old request");
    ok(strcmp(out, show2) == 0, "its SHOW is the same");
    is_int(cli((const char *[]){"track", "or-2", "--json", NULL}), 0, "track the old request");
    ok(strcmp(out, track2) == 0, "its TRACK is the same");

    is_int(cli((const char *[]){"update", "or-1", "--text", "老人摔倒，意识清醒", "--terminal",
                                "or-phone", NULL}),
           0, "the terminal updates the old alert");
    is_int(cli((const char *[]){"show", "or-1", "--json", NULL}), 0, "show it again");
    ok(strstr(out, "老人摔倒，意识清醒") && strstr(out, "\"updated\"") &&
           strstr(out, "\"filed\"") && strstr(out, "\"Immediate\""),
       "the new text and history entry next to the old ones");
    const char *fsck[] = {"fsck", "--data", env.store, NULL};
    is_int(tl_cli(&env, fsck, 0, out, sizeof out, 30000), 0,
           "gridline fsck: the store of both forms is consistent");
    return done_testing();
}
