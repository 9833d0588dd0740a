/* Tests for common/store_grow.c: the flushing thread and a write error.
 *
 * Linux reports a failed write-back of a file's pages once to each open
 * file description that fsyncs after it (errseq): a description that has
 * been told is not told again. The grow-ahead thread flushes the data file
 * at any moment, also while a commit in this process writes its pages; if
 * it flushed through LMDB's own descriptor, an error in the write-back of
 * the commit's pages could be reported to the thread (which only logs it),
 * and LMDB's flush in mdb_txn_commit, and store_commit's, would then
 * succeed: the commit would be answered as on disk while its pages were
 * lost.
 *
 * The test models that kernel rule with an fdatasync of its own (this
 * executable's definition is the one liblmdb and the store call): once an
 * error is "pending", the first fdatasync on each file description fails
 * with EIO, later ones on that description succeed. What a user would
 * notice: after the thread's flush met the error, the next commit still
 * reports it (it is not "filed"). */
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_grow.h"
#include "tap.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int error_pending;  /* a write-back error no description was told of yet */
static int told[16];       /* fds (descriptions) told of it */
static int ntold;

/* same_description: a and b are one open file description. */
static int same_description(int a, int b)
{
    pid_t p = getpid();
    long rc = syscall(SYS_kcmp, p, p, KCMP_FILE, a, b);
    if (rc >= 0)
        return rc == 0;
    /* No kcmp here: status flags belong to the description. */
    int fa = fcntl(a, F_GETFL), fb = fcntl(b, F_GETFL);
    if (fa < 0 || fb < 0)
        return 0;
    fcntl(a, F_SETFL, fa ^ O_NONBLOCK);
    int same = (fcntl(b, F_GETFL) & O_NONBLOCK) != (fb & O_NONBLOCK);
    fcntl(a, F_SETFL, fa);
    return same;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    pthread_mutex_lock(&mu);
    int fail = 0;
    if (error_pending) {
        fail = 1;
        for (int i = 0; i < ntold && fail; i++)
            fail = !same_description(told[i], fd);
        if (fail && ntold < (int)(sizeof told / sizeof told[0]))
            told[ntold++] = fd;
    }
    pthread_mutex_unlock(&mu);
    if (fail) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

static int file_events(store *s, int first, int n)
{
    store_txn *t = NULL;
    int err = store_begin(s, 1, &t);
    for (int i = 0; !err && i < n; i++) {
        char id[48];
        snprintf(id, sizeof id, "flush-%06d", first + i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair",
                       .text = "楼道灯坏了", .state = GL_EV_FILED};
        err = store_event_add(t, &ev);
    }
    if (err) {
        store_abort(&t);
        return err;
    }
    return store_commit(&t);
}

int main(void)
{
    char root[64];
    snprintf(root, sizeof root, "/tmp/t_store_grow_flush.XXXXXX");
    if (!mkdtemp(root)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    store_opts so = {.map_size = 64 * MIB};
    store *s = NULL;
    if (store_open(root, &so, &s) != 0) {
        printf("Bail out! store_open\n");
        return 1;
    }
    is_int(file_events(s, 0, 200), 0, "200 events filed");
    store_grow *g = NULL;
    is_int(store_grow_open(s, 4 * MIB, &g), 0, "grow-ahead of 4 MiB");

    /* The disk fails a write-back; the thread's flush is the first to look. */
    pthread_mutex_lock(&mu);
    error_pending = 1;
    pthread_mutex_unlock(&mu);
    ok(store_grow_step(g, NULL, NULL) > 0, "a step wrote zeros and asked the thread to flush");
    store_grow_stats gs = {0};
    for (int i = 0; i < 500 && gs.syncs == 0; i++) {
        usleep(10000);
        store_grow_stats_get(g, &gs);
    }
    ok(gs.syncs > 0, "the thread flushed");
    pthread_mutex_lock(&mu);
    int thread_told = ntold;
    pthread_mutex_unlock(&mu);
    is_int(thread_told, 1, "and was told of the write error");

    int rc = file_events(s, 200, 10);
    ok(rc != 0, "the next commit still reports the write error (%s), not on disk",
       rc ? gl_strerror(rc) : "0");

    store_grow_close(&g);
    store_close(&s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        diag("could not remove %s", root);
    done_testing();
}
