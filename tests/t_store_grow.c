/* Tests for common/store_grow.c: the data file written ahead with zeros.
 * What a user would notice: every event filed before, during and after the
 * growing reads back after a reopen, fsck finds nothing, the file is never
 * more than the margin past its pages in use nor past the map, the bytes of
 * the pages in use are never touched, a disk at its reserve is not written
 * to, and another process filing all the while loses nothing. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_grow.h"
#include "tap.h"
#include "support/store_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)

static char root[64];
static char text[1501];

static const char *path_in(const char *sub)
{
    static char buf[4][128];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", root, sub);
    return p;
}

static store *open_or_bail(const char *dir, size_t map, size_t reserve)
{
    store_opts so = {.map_size = map, .reserve = reserve};
    store *s = NULL;
    int err = store_open(dir, &so, &s);
    if (err) {
        printf("Bail out! store_open %s: %s\n", dir, gl_strerror(err));
        exit(1);
    }
    return s;
}

/* file_events files n events numbered from first, per transactions of 50. */
static int file_events(store *s, const char *prefix, int first, int n)
{
    for (int done = 0; done < n;) {
        store_txn *t = NULL;
        int err = store_begin(s, 1, &t);
        for (int i = 0; !err && i < 50 && done + i < n; i++) {
            char id[48];
            snprintf(id, sizeof id, "%s-%06d", prefix, first + done + i);
            gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair",
                           .text = text, .state = GL_EV_FILED};
            err = store_event_add(t, &ev);
            gl_history h = {.seq = ev.seq, .at_ms = 1, .who = "system", .what = "filed"};
            if (!err)
                err = store_history_add(t, &h);
        }
        if (err) {
            store_abort(&t);
            return err;
        }
        if ((err = store_commit(&t)) != 0)
            return err;
        done = done + 50 < n ? done + 50 : n;
    }
    return 0;
}

/* events_intact counts the events with ids prefix-first..first+n-1 that
 * read back whole (their text too). */
static int events_intact(store *s, const char *prefix, int first, int n)
{
    store_txn *t = NULL;
    gl_arena a = {0};
    int good = 0;
    if (store_begin(s, 0, &t) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char id[48];
        uint64_t seq;
        gl_event ev;
        snprintf(id, sizeof id, "%s-%06d", prefix, first + i);
        arena_reset(&a);
        if (store_event_find(t, id, &seq) == 0 && store_event_get(t, seq, &ev, &a) == 0 &&
            strcmp(ev.id, id) == 0 && ev.text && strcmp(ev.text, text) == 0)
            good++;
    }
    store_abort(&t);
    arena_free(&a);
    return good;
}

static uint64_t file_size(const char *dir)
{
    char p[200];
    struct stat st;
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t used_bytes(store *s)
{
    store_space sp;
    return store_space_get(s, &sp) == 0 ? sp.map_used : 0;
}

/* read_file reads the first len bytes of dir/data.mdb into a new buffer. */
static unsigned char *read_file(const char *dir, uint64_t off, uint64_t len)
{
    char p[200];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unsigned char *buf = malloc(len ? len : 1);
    int fd = open(p, O_RDONLY);
    if (!buf || fd < 0 || pread(fd, buf, len, (off_t)off) != (ssize_t)len) {
        free(buf);
        buf = NULL;
    }
    if (fd >= 0)
        close(fd);
    return buf;
}

/* grow_all runs steps until none is wanted (at most max). */
static int64_t grow_all(store_grow *g, int max)
{
    int64_t total = 0, n;
    for (int i = 0; i < max && (n = store_grow_step(g, NULL, NULL)) > 0; i++)
        total += n;
    return total;
}

static void test_ahead_and_back(void)
{
    const char *dir = path_in("ahead");
    store *s = open_or_bail(dir, 64 * MIB, 0);
    is_int(file_events(s, "before", 0, 2000), 0, "2000 events filed");
    uint64_t used = used_bytes(s), before = file_size(dir);
    ok(used > 2 * MIB && before <= used, "the file (%llu) ends at its pages in use (%llu)",
       (unsigned long long)before, (unsigned long long)used);
    unsigned char *image = read_file(dir, 0, used);
    ok(image != NULL, "the pages in use read");

    store_grow *g = NULL;
    is_int(store_grow_open(s, 6 * MIB, &g), 0, "grow-ahead of 6 MiB");
    ok(store_grow_wanted(g), "it is wanted");
    int64_t wrote = grow_all(g, 100);
    uint64_t after = file_size(dir), step = STORE_GROW_CHUNK * STORE_GROW_BURST;
    ok(after <= used + 6 * MIB && after + step > used + 6 * MIB,
       "the file ends less than a step short of 6 MiB past its pages in use (%llu bytes past, "
       "%lld written)", (unsigned long long)(after - used), (long long)wrote);
    ok(!store_grow_wanted(g), "then nothing more is wanted");
    is_int(store_grow_step(g, NULL, NULL), 0, "and a step writes nothing");
    is_int(used_bytes(s), used, "no page was taken into use by it");

    unsigned char *now = read_file(dir, 0, used), *tail = read_file(dir, used, after - used);
    ok(image && now && memcmp(image, now, used) == 0,
       "every byte of the pages in use is as it was");
    int zero = tail != NULL;
    for (uint64_t i = 0; zero && i < after - used; i++)
        zero = tail[i] == 0;
    ok(zero, "past them, zeros");
    free(now);
    free(tail);

    /* Filing on writes into the zeros, then past them, and grows again. */
    is_int(file_events(s, "during", 0, 3000), 0, "3000 more events filed into the zeros");
    uint64_t used2 = used_bytes(s);
    ok(used2 > after, "the pages in use now reach past the zeros (%llu)",
       (unsigned long long)used2);
    now = read_file(dir, 0, used);
    ok(now != NULL, "the old pages read");
    free(now);
    grow_all(g, 100);
    ok(file_size(dir) <= used_bytes(s) + 6 * MIB && file_size(dir) > used_bytes(s),
       "grown again: at most the margin past the pages in use");
    is_int(file_events(s, "after", 0, 500), 0, "500 more events filed");
    ok(file_size(dir) <= used_bytes(s) + 6 * MIB, "still within the margin");

    store_grow_stats gs;
    store_grow_stats_get(g, &gs);
    ok(gs.written >= 6 * MIB && gs.chunks > 0, "the figures count %llu bytes in %llu chunks",
       (unsigned long long)gs.written, (unsigned long long)gs.chunks);
    store_grow_close(&g);
    ok(g == NULL, "closed");
    store_grow_close(&g);
    store_close(&s);
    free(image);

    s = open_or_bail(dir, 64 * MIB, 0);
    is_int(events_intact(s, "before", 0, 2000), 2000, "after a reopen, every event filed before");
    is_int(events_intact(s, "during", 0, 3000), 3000, "every event filed into the zeros");
    is_int(events_intact(s, "after", 0, 500), 500, "and every one after");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck finds no problem");
    store_close(&s);
}

static void test_limits(void)
{
    /* The map's size bounds the file. */
    const char *dir = path_in("map");
    store *s = open_or_bail(dir, 4 * MIB, 0);
    is_int(file_events(s, "m", 0, 300), 0, "300 events in a map of 4 MiB");
    store_grow *g = NULL;
    is_int(store_grow_open(s, 64 * MIB, &g), 0, "grow-ahead of 64 MiB");
    grow_all(g, 100);
    is_int(file_size(dir), 4 * MIB, "the file ends at the map's 4 MiB");
    store_grow_close(&g);
    is_int(file_events(s, "m", 300, 100), 0, "100 more events filed");
    is_int(events_intact(s, "m", 0, 400), 400, "all 400 read back");
    store_close(&s);

    /* A disk with less than the reserve free is not written to. */
    dir = path_in("reserve");
    s = open_or_bail(dir, 64 * MIB, (size_t)1 << 62);
    is_int(file_events(s, "r", 0, 100), 0, "100 events filed (a reserve beyond any disk)");
    uint64_t before = file_size(dir);
    is_int(store_grow_open(s, 8 * MIB, &g), 0, "grow-ahead of 8 MiB");
    is_int(store_grow_step(g, NULL, NULL), 0, "a step writes nothing");
    is_int(file_size(dir), before, "the file did not grow");
    ok(!store_grow_wanted(g), "and it waits before trying again");
    store_grow_close(&g);
    store_close(&s);

    /* Read-only: refused. */
    store_opts ro = {.read_only = 1};
    is_int(store_open(path_in("ahead"), &ro, &s), 0, "a store opened read-only");
    is_int(store_grow_open(s, 8 * MIB, &g), GL_ESTORAGE, "cannot be written ahead");
    ok(g == NULL, "no handle");
    store_close(&s);
    s = open_or_bail(path_in("ahead"), 64 * MIB, 0);
    is_int(store_grow_open(s, 0, &g), GL_ECONFIG, "a margin of 0 is refused");
    store_close(&s);
}

/* A child process files events as fast as it can while this one grows the
 * file: the lock keeps the zeros off every page the child writes. */
static void test_concurrent(void)
{
    const char *dir = path_in("shared");
    enum { ROUNDS = 150, PER = 100 };
    store *s = open_or_bail(dir, 64 * MIB, 0);
    store_close(&s);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        store *cs = NULL;
        store_opts so = {.map_size = 64 * MIB};
        if (store_open(dir, &so, &cs) != 0)
            _exit(2);
        for (int r = 0; r < ROUNDS; r++)
            if (file_events(cs, "child", r * PER, PER) != 0)
                _exit(3);
        store_close(&cs);
        _exit(0);
    }
    s = open_or_bail(dir, 64 * MIB, 0);
    store_grow *g = NULL;
    is_int(store_grow_open(s, 2 * MIB, &g), 0, "grow-ahead of 2 MiB beside a filing process");
    int status = 0, steps = 0;
    int64_t wrote = 0;
    for (int i = 0; i < 20000; i++) {
        int64_t n = store_grow_step(g, NULL, NULL);
        if (n > 0) {
            wrote += n;
            steps++;
        }
        if (waitpid(child, &status, WNOHANG) == child)
            break;
        usleep(200);
    }
    if (kill(child, 0) == 0) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
    }
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the other process filed %d events",
       ROUNDS * PER);
    ok(steps > 0, "zeros were written meanwhile (%d steps, %lld bytes)", steps, (long long)wrote);
    grow_all(g, 100);
    ok(file_size(dir) <= used_bytes(s) + 2 * MIB, "the file is at most 2 MiB past its pages");
    store_grow_close(&g);
    store_close(&s);
    s = open_or_bail(dir, 64 * MIB, 0);
    is_int(events_intact(s, "child", 0, ROUNDS * PER), ROUNDS * PER,
           "after a reopen, every one of its events reads back whole");
    is_int(tl_store_fsck(s, NULL, NULL), 0, "fsck finds no problem");
    store_close(&s);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/t_store_grow.XXXXXX");
    if (!mkdtemp(root)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof text - 1; i++)
        text[i] = (char)('a' + i % 26);
    test_ahead_and_back();
    test_limits();
    test_concurrent();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        diag("could not remove %s", root);
    done_testing();
}
