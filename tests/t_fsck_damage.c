/* A damaged store read without crashing: gridline fsck, whose job is a
 * store that may be damaged, and a worker's reads. What a user notices:
 * fsck finishes (it is run in a child process here, so a crash shows as a
 * failed test) and names each damage; a read of the damaged event is a
 * storage error, not a record without an id.
 *
 *   - an events key of 4 bytes (fsck read 8 from it);
 *   - a dispatches key of 4 bytes (fsck copied its team of "-4" bytes);
 *   - an event record whose id is gone (its key byte flipped to one this
 *     build does not know, which the decoder skips): it decoded with id
 *     NULL, which fsck and the workers pass to strlen and strcmp. */
#include "../common/gl.h"
#include "../common/store.h"
#include "tap.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static void fill(void)
{
    store *s = NULL;
    store_txn *t = NULL;
    store_open(dir, NULL, &s);
    store_begin(s, 1, &t);
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "damage-%d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair", .text = "灯",
                       .state = GL_EV_DISPATCHED};
        store_event_add(t, &ev);
        gl_dispatch d = {.seq = ev.seq, .event = id, .team = "heping-g1-team", .role = "grid",
                         .state = GL_DS_ACKED, .attempts = 1};
        store_dispatch_put(t, &d);
        gl_history h = {.seq = ev.seq, .at_ms = 1, .who = "terminal", .what = "filed"};
        store_history_add(t, &h);
    }
    store_commit(&t);
    store_close(&s);
}

/* raw_put puts key and value into LMDB database name, behind the store's
 * back; with value NULL, rewrites the record at key with the byte at
 * value_at, which must be 0x01 (key 1), changed to byte. 0 or -1. */
static int raw_put(const char *name, const void *key, size_t klen, const void *value,
                   size_t vlen, size_t value_at, unsigned char byte)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)value};
    unsigned char copy[4096];
    int rc = mdb_env_create(&env);
    if (rc == 0) {
        mdb_env_set_maxdbs(env, 32);
        rc = mdb_env_open(env, dir, 0, 0600);
    }
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, name, 0, &dbi);
    if (rc == 0 && !value) {
        MDB_val old;
        rc = mdb_get(txn, dbi, &k, &old);
        /* value_at counts from after the "seq" guard when it is found (its
         * place depends on the map header's size). */
        for (size_t i = 0; rc == 0 && i + 5 <= old.mv_size && i < 8; i++)
            if (memcmp((const unsigned char *)old.mv_data + i, "\xa3seq", 4) == 0) {
                value_at += i + 5;
                break;
            }
        if (rc == 0 && (old.mv_size > sizeof copy || value_at >= old.mv_size ||
                        ((const unsigned char *)old.mv_data)[value_at] != 0x01))
            rc = -1;
        if (rc == 0) {
            memcpy(copy, old.mv_data, old.mv_size);
            copy[value_at] = byte;
            v.mv_size = old.mv_size;
            v.mv_data = copy;
        }
    }
    if (rc == 0)
        rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    mdb_env_close(env);
    return rc == 0 ? 0 : -1;
}

/* fsck_in_child runs store_fsck in a child process and writes its report
 * into *r (through a pipe); 0, or -1 when the child did not finish it (a
 * crash). */
static int fsck_in_child(store_fsck_report *r)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        store *s = NULL;
        store_fsck_report mine;
        memset(&mine, 0, sizeof mine);
        int rc = store_open(dir, NULL, &s) == 0 ? store_fsck(s, &mine) : -1;
        store_close(&s);
        if (rc == 0 && write(fd[1], &mine, sizeof mine) != (ssize_t)sizeof mine)
            rc = -1;
        _exit(rc == 0 ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t n;
    while (pid > 0 && got < sizeof *r && (n = read(fd[0], (char *)r + got, sizeof *r - got)) > 0)
        got += (size_t)n;
    close(fd[0]);
    int status = 0;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0 || got != sizeof *r) {
        diag("fsck did not finish (wait status %d)", status);
        return -1;
    }
    for (int i = 0; i < r->nfirst; i++)
        diag("  %s", r->first[i]);
    return 0;
}

static int names(const store_fsck_report *r, const char *what)
{
    for (int i = 0; i < r->nfirst; i++)
        if (strstr(r->first[i], what))
            return 1;
    return 0;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/t_fsck_damage.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    fill();
    store_fsck_report r;
    ok(fsck_in_child(&r) == 0 && r.problems == 0 && r.events == 3,
       "the store as written is consistent");

    static const unsigned char short_key[4] = {0, 0, 0, 9};
    static const unsigned char map0 = 0x80;
    ok(raw_put("events", short_key, sizeof short_key, &map0, 1, 0, 0) == 0,
       "an events key of 4 bytes is put behind the store's back");
    ok(fsck_in_child(&r) == 0 && names(&r, "event key of 4 bytes"),
       "fsck finishes and names the events key of 4 bytes");

    ok(raw_put("dispatches", short_key, sizeof short_key, &map0, 1, 0, 0) == 0,
       "a dispatches key of 4 bytes is put behind the store's back");
    ok(fsck_in_child(&r) == 0 && names(&r, "dispatch key of 4 bytes"),
       "fsck finishes and names the dispatches key of 4 bytes");

    /* The first event's record: its map header, the "seq" guard, then key
     * 1 (id). 0x41 is a key no field has: the record then has no id. */
    unsigned char key1[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    ok(raw_put("events", key1, 8, NULL, 0, 0, 0x41) == 0,
       "the first event's id key is changed to an unknown one");
    store *s = NULL;
    store_txn *t = NULL;
    gl_event ev;
    gl_arena arena = {0};
    int rc = store_open(dir, NULL, &s) == 0 ? store_begin(s, 0, &t) : -1;
    if (rc == 0)
        rc = store_event_get(t, 1, &ev, &arena);
    is_int(rc, GL_ESTORAGE, "reading that event is a storage error, not an event without an id");
    store_abort(&t);
    store_close(&s);
    arena_free(&arena);
    ok(fsck_in_child(&r) == 0 && names(&r, "event 1: record does not decode"),
       "fsck finishes and says that record does not decode");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
