/* Tests for common/store_space.c: the map grows to its ceiling — ahead of
 * need, and after a write found it full (the failed work then goes through
 * whole) — and no further; storage-full errors are told from other I/O
 * errors, also LMDB's short write on a full disk; the reserve is measured;
 * a store opened read-only writes nothing. */
#include "../common/arena.h"
#include "../common/gl.h"
#include "../common/log.h"
#include "../common/store.h"
#include "../common/store_fault.h"
#include "tap.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIB ((size_t)1 << 20)

static char root[64];
static char text[3001];

static const char *path_in(const char *sub)
{
    static char buf[4][128];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", root, sub);
    return p;
}

static store *open_or_bail(const char *dir, size_t size, size_t max, size_t reserve)
{
    store_opts opts = {.map_size = size, .map_max = max, .reserve = reserve};
    store *s = NULL;
    int err = store_open(dir, &opts, &s);
    if (err) {
        printf("Bail out! store_open %s: %s\n", dir, gl_strerror(err));
        exit(1);
    }
    return s;
}

/* add_events adds n events with a 3000-byte text from number first in t. */
static int add_events(store_txn *t, int first, int n)
{
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "space-%05d", first + i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair", .text = text,
                       .state = GL_EV_FILED};
        int err = store_event_add(t, &ev);
        if (err)
            return err;
    }
    return 0;
}

static store_space space_of(store *s)
{
    store_space sp;
    if (store_space_get(s, &sp) != 0)
        memset(&sp, 0, sizeof sp);
    return sp;
}

static uint64_t count_events(store *s)
{
    store_txn *t = NULL;
    store_stats st = {0};
    if (store_begin(s, 0, &t) == 0) {
        store_get_stats(t, &st);
        store_abort(&t);
    }
    return st.events;
}

static void test_grow_after_full(void)
{
    store *s = open_or_bail(path_in("grow"), MIB, 4 * MIB, 0);
    store_space sp = space_of(s);
    is_int(sp.map_size, MIB, "the map starts at 1 MiB");
    is_int(sp.map_max, 4 * MIB, "with a ceiling of 4 MiB");

    /* One transaction larger than the whole map: the write finds it full. */
    store_txn *t = NULL;
    is_int(store_begin(s, 1, &t), 0, "begin");
    is_int(add_events(t, 0, 300), GL_ESTORAGEFULL, "300 big events do not fit in 1 MiB");
    store_abort(&t);
    ok(store_can_grow(s), "the store says it can grow");
    is_int(count_events(s), 0, "nothing was stored");
    int tries = 0, err = GL_ESTORAGEFULL;
    while (err == GL_ESTORAGEFULL && store_can_grow(s) && tries++ < 8) {
        if ((err = store_begin(s, 1, &t)) != 0)
            break;
        if ((err = add_events(t, 0, 300)) != 0)
            store_abort(&t);
        else
            err = store_commit(&t);
    }
    is_int(err, 0, "the same work, tried again, commits in the grown map (%d tries)", tries);
    is_int(count_events(s), 300, "with all 300 events");
    sp = space_of(s);
    ok(sp.map_size > MIB && sp.map_size <= 4 * MIB, "the map grew to %zu bytes",
       (size_t)sp.map_size);

    /* Fill to the ceiling: then it cannot grow. */
    int added = 300;
    err = 0;
    for (int round = 0; round < 200 && !err; round++) {
        if ((err = store_begin(s, 1, &t)) != 0)
            break;
        if ((err = add_events(t, added, 20)) != 0)
            store_abort(&t);
        else if ((err = store_commit(&t)) == 0)
            added += 20;
    }
    is_int(err, GL_ESTORAGEFULL, "filling on ends in storage full");
    sp = space_of(s);
    is_int(sp.map_size, 4 * MIB, "at the ceiling");
    ok(!store_can_grow(s), "where the store cannot grow");
    is_int(count_events(s), (uint64_t)added, "every committed event is there (%d)", added);
    store_close(&s);

    s = open_or_bail(path_in("grow"), MIB, 8 * MIB, 0);
    is_int(store_begin(s, 1, &t), 0, "reopened with a higher ceiling, a write begins");
    is_int(add_events(t, added, 20), 0, "and has room");
    is_int(store_commit(&t), 0, "and commits");
    ok(space_of(s).map_size > 4 * MIB, "the map grew past the old ceiling");
    store_close(&s);
}

static void test_reserve(void)
{
    store *s = open_or_bail(path_in("reserve"), MIB, 4 * MIB, MIB);
    store_space sp = space_of(s);
    is_int(sp.reserve, MIB, "the reserve is reported");
    ok(sp.disk_free > 0, "and the disk's free space (%llu)", (unsigned long long)sp.disk_free);
    ok(!store_space_low(&sp), "an empty store is not low");
    sp.map_used = 3 * MIB;
    ok(store_space_low(&sp), "3 MiB used of 4 with a 1 MiB reserve: low");
    sp.map_used = 0;
    sp.disk_free = MIB - 1;
    ok(store_space_low(&sp), "less than the reserve free on disk: low");
    store_close(&s);
}

static const char *fault_op;
static int fault_rc;

static int fault_hook(const char *op)
{
    return fault_op && strcmp(op, fault_op) == 0 ? fault_rc : 0;
}

static int commit_with(store *s, int rc)
{
    store_txn *t = NULL;
    int err = store_begin(s, 1, &t);
    if (err)
        return err;
    if ((err = add_events(t, 90000, 1)) != 0) {
        store_abort(&t);
        return err;
    }
    fault_op = "commit";
    fault_rc = rc;
    store_fault_hook = fault_hook;
    err = store_commit(&t);
    store_fault_hook = NULL;
    return err;
}

static void test_errors(void)
{
    store *s = open_or_bail(path_in("errors"), 4 * MIB, 4 * MIB, 0);
    is_int(commit_with(s, EFBIG), GL_ESTORAGEFULL, "EFBIG (a file-size limit): storage full");
    is_int(commit_with(s, EDQUOT), GL_ESTORAGEFULL, "EDQUOT: storage full");
    is_int(commit_with(s, EIO), GL_ESTORAGE, "EIO with the disk far from full: storage error");
    store_close(&s);
    /* A reserve larger than any disk: the disk counts as below it, and an
     * I/O error is LMDB's short write on a full disk. */
    s = open_or_bail(path_in("errors"), 4 * MIB, 4 * MIB, (size_t)1 << 60);
    is_int(commit_with(s, EIO), GL_ESTORAGEFULL, "EIO with the disk below the reserve: storage full");
    ok(!store_can_grow(s), "a full disk is not a full map");
    is_int(count_events(s), 0, "none of the failed commits stored anything");
    store_close(&s);
}

static void test_read_only(void)
{
    const char *dir = path_in("ro");
    store *s = open_or_bail(dir, MIB, MIB, 0);
    store_txn *t = NULL;
    store_begin(s, 1, &t);
    add_events(t, 0, 3);
    store_commit(&t);
    store_close(&s);

    store_opts ro = {.read_only = 1};
    is_int(store_open(dir, &ro, &s), 0, "an existing store opens read-only");
    is_int(count_events(s), 3, "and reads");
    ok(store_begin(s, 1, &t) != 0, "a write transaction is refused");
    store_close(&s);
    struct stat st;
    const char *missing = path_in("missing");
    ok(store_open(missing, &ro, &s) != 0 && s == NULL, "no store: an error");
    ok(stat(missing, &st) != 0, "and nothing is created");
}

int main(void)
{
    log_init("t_store_space", LOG_WARN);
    memset(text, 't', 3000);
    snprintf(root, sizeof root, "/tmp/t_store_space.XXXXXX");
    if (!mkdtemp(root)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    test_grow_after_full();
    test_reserve();
    test_errors();
    test_read_only();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        diag("could not remove %s", root);
    return done_testing();
}
