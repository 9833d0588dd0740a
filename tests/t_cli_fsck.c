/* gridline fsck, run as an operator would: a store written through the
 * store API is reported consistent (exit 0), read-only and untouched; a
 * damaged one is reported with its problems (exit 1); no store, or bad
 * flags, is an error (exit 2). */
#include "../common/store.h"
#include "support/testlib.h"
#include "tap.h"

#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static tl_env env;
static char out[16384];

static void fill(const char *dir)
{
    store *s = NULL;
    store_txn *t = NULL;
    if (store_open(dir, NULL, &s) != 0 || store_begin(s, 1, &t) != 0) {
        printf("Bail out! cannot write a store in %s\n", dir);
        exit(1);
    }
    for (int i = 0; i < 10; i++) {
        char id[32];
        snprintf(id, sizeof id, "cli-fsck-%02d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair", .text = "漏水",
                       .state = GL_EV_DISPATCHED};
        store_event_add(t, &ev);
        gl_dispatch d = {.seq = ev.seq, .event = id, .team = "heping-g1-team", .role = "grid",
                         .state = GL_DS_PENDING, .attempts = 1, .next_retry_ms = 9000};
        store_dispatch_put(t, &d);
        gl_history h = {.seq = ev.seq, .at_ms = 1, .who = "terminal", .what = "filed"};
        store_history_add(t, &h);
    }
    store_commit(&t);
    store_close(&s);
}

/* Deletes the first key of LMDB database name, behind the store's back. */
static void damage(const char *dir, const char *name)
{
    MDB_env *e;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    mdb_env_create(&e);
    mdb_env_set_maxdbs(e, 32);
    mdb_env_open(e, dir, 0, 0600);
    mdb_txn_begin(e, NULL, 0, &txn);
    mdb_dbi_open(txn, name, 0, &dbi);
    mdb_cursor_open(txn, dbi, &c);
    if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0)
        mdb_cursor_del(c, 0);
    mdb_cursor_close(c);
    mdb_txn_commit(txn);
    mdb_env_close(e);
}

static int fsck(const char *const args[])
{
    const char *argv[16] = {"gridline", "fsck"};
    int n = 2;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int rc = tl_run(&env, "gridline", argv, out, sizeof out, 10000);
    if (rc < 0)
        diag("gridline fsck did not finish");
    return rc;
}

static int has(const char *s) { return strstr(out, s) != NULL; }

int main(void)
{
    tl_setup(&env, "cli_fsck");
    char dir[400], missing[400];
    snprintf(dir, sizeof dir, "%s/store", env.dir);
    snprintf(missing, sizeof missing, "%s/nothing-here", env.dir);
    fill(dir);

    struct stat before, after;
    char data[450];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    stat(data, &before);
    is_int(fsck((const char *[]){"--data", dir, NULL}), 0, "a consistent store: exit 0");
    ok(has("10 events, 10 dispatches, 10 history entries") && has("consistent"),
       "it says so, with the figures");
    stat(data, &after);
    ok(before.st_size == after.st_size && before.st_mtime == after.st_mtime,
       "the data file is not written");

    is_int(fsck((const char *[]){"--data", dir, "--json", NULL}), 0, "--json: exit 0");
    json_t *j = json_loads(out, 0, NULL);
    ok(j && json_is_true(json_object_get(j, "consistent")) &&
           json_integer_value(json_object_get(j, "events")) == 10 &&
           json_integer_value(json_object_get(j, "problems")) == 0,
       "--json: consistent, 10 events, 0 problems");
    json_decref(j);

    damage(dir, "event_ids");
    damage(dir, "pending");
    is_int(fsck((const char *[]){"--data", dir, NULL}), 1, "a damaged store: exit 1");
    ok(has("problem:") && has("id does not map") && has("pending index") && has("INCONSISTENT"),
       "the problems are listed");
    if (!has("INCONSISTENT"))
        diag("%s", out);
    is_int(fsck((const char *[]){"--data", dir, "--json", NULL}), 1, "--json: exit 1");
    j = json_loads(out, 0, NULL);
    ok(j && json_is_false(json_object_get(j, "consistent")) &&
           json_integer_value(json_object_get(j, "problems")) >= 2 &&
           json_array_size(json_object_get(j, "first")) >= 2,
       "--json: not consistent, the problems counted and listed");
    json_decref(j);

    const char *argv[] = {"sh", "-c", NULL, NULL};
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "exec '%s/gridline' fsck --data '%s' 2>&1", env.bin, missing);
    argv[2] = cmd;
    tl_env sh = env;
    snprintf(sh.bin, sizeof sh.bin, "/bin");
    is_int(tl_run(&sh, "sh", argv, out, sizeof out, 10000), 2, "no store there: exit 2");
    ok(has("cannot open a store"), "with the reason on stderr");
    struct stat st;
    ok(stat(missing, &st) != 0, "and nothing is created");
    is_int(fsck((const char *[]){"--bogus", NULL}), 2, "a bad flag: exit 2");
    is_int(fsck((const char *[]){"--help", NULL}), 0, "--help: exit 0");
    ok(has("--data") && has("exit status"), "--help names --data and the exit statuses");
    return done_testing();
}
