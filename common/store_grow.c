/* store_grow.c — the data file written ahead with zeros (store_grow.h has
 * why, and the safety argument).
 *
 * The steps run on the store's own thread: each chunk is one empty write
 * transaction (the writer lock of every process), an fstat, one pwrite of
 * at most a chunk past the file's end, and the abort. The flushes run on a
 * thread of their own, which touches nothing of LMDB's (it flushes a
 * descriptor of its own on the data file, open_own), so LMDB's rule that a
 * transaction and the map's resizing stay on the store's thread holds. */
#include "store_grow.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "gl.h"
#include "log.h"
#include "store_impl.h"

/* After a failed write, or with the disk at its reserve: wait this long. */
#define GROW_RETRY_MS 10000

struct store_grow {
    store *s;
    int fd;
    uint64_t ahead, page;
    uint64_t file_end;      /* the file's size when last seen: it only grows */
    uint64_t retry_at_ms;   /* no step before (monotonic) */
    void *zeros;            /* STORE_GROW_CHUNK bytes */
    int started;            /* the first step was logged */

    pthread_t thread;
    pthread_mutex_t mu;     /* guards what follows */
    pthread_cond_t cv;
    int sync_wanted, stop;
    store_grow_stats stats;
};

static void *sync_main(void *arg)
{
    store_grow *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->sync_wanted && !g->stop)
            pthread_cond_wait(&g->cv, &g->mu);
        if (!g->sync_wanted) /* stopping, with nothing left to flush */
            break;
        g->sync_wanted = 0;
        pthread_mutex_unlock(&g->mu);
        uint64_t t0 = clock_mono_us();
        /* Writes the zeros and the file's new size; a commit flushing at
         * the same time shares the work. An error here is LMDB's to meet:
         * its own flush, on its own descriptor (open_own), is told too. */
        if (fdatasync(g->fd) != 0)
            log_limited(LOG_WARN, "grow_sync", "store: grow-ahead: fdatasync: %s",
                        strerror(errno));
        uint64_t took = clock_mono_us() - t0;
        pthread_mutex_lock(&g->mu);
        g->stats.syncs++;
        g->stats.sync_us += took;
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* open_own opens the data file again, for the zeros and the thread's
 * flushes: an open file description of its own, not LMDB's fd. Linux
 * reports a failed write-back once to each description that flushes after
 * it; through LMDB's descriptor, the thread's flush (which only logs) could
 * take the report of an error in a commit's pages, and LMDB's flush in that
 * commit, and store_commit's, would then succeed with the pages lost. On a
 * description of its own the thread is told, and so is LMDB. Checked to
 * be LMDB's file (device and inode). -1 when it cannot be opened. */
static int open_own(MDB_env *env, unsigned flags, int lmdb_fd)
{
    const char *dir = NULL;
    char path[4096];
    struct stat a, b;
    if (mdb_env_get_path(env, &dir) != 0 || !dir)
        return -1;
    int n = snprintf(path, sizeof path, (flags & MDB_NOSUBDIR) ? "%s" : "%s/data.mdb", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return -1;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        LOG_W("store: grow-ahead: open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &a) != 0 || fstat(lmdb_fd, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino) {
        LOG_W("store: grow-ahead: %s is not the store's open data file", path);
        close(fd);
        return -1;
    }
    return fd;
}

int store_grow_open(store *s, uint64_t ahead, store_grow **out)
{
    *out = NULL;
    unsigned flags = 0;
    MDB_stat st;
    mdb_filehandle_t fd;
    if (ahead == 0)
        return GL_ECONFIG;
    if (mdb_env_get_flags(s->env, &flags) != 0 || (flags & MDB_RDONLY) ||
        mdb_env_stat(s->env, &st) != 0 || mdb_env_get_fd(s->env, &fd) != 0)
        return GL_ESTORAGE;
    int own = open_own(s->env, flags, fd);
    if (own < 0)
        return GL_ESTORAGE;
    store_grow *g = calloc(1, sizeof *g);
    if (!g) {
        close(own);
        return GL_EINTERNAL;
    }
    g->s = s;
    g->fd = own;
    g->page = st.ms_psize;
    g->ahead = (ahead + g->page - 1) / g->page * g->page;
    /* calloc of this size maps zero pages: no memory until read. */
    g->zeros = calloc(1, STORE_GROW_CHUNK);
    if (!g->zeros || pthread_mutex_init(&g->mu, NULL) != 0) {
        close(own);
        free(g->zeros);
        free(g);
        return GL_EINTERNAL;
    }
    pthread_cond_init(&g->cv, NULL);
    /* The thread takes no signal: the process's loop hears them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&g->thread, NULL, sync_main, g);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        close(own);
        free(g->zeros);
        free(g);
        return GL_EINTERNAL;
    }
    *out = g;
    return 0;
}

/* target: where the file should end now, from the last commit's figures:
 * the margin past the pages in use, within the map. *used is the end of
 * the pages in use, *margin the end without the map's bound. 0 when the
 * figures cannot be read. */
static uint64_t target(store_grow *g, uint64_t *used, uint64_t *margin)
{
    MDB_envinfo info;
    *used = *margin = 0;
    if (mdb_env_info(g->s->env, &info) != 0)
        return 0;
    *used = ((uint64_t)info.me_last_pgno + 1) * g->page;
    *margin = *used + g->ahead;
    uint64_t map = (uint64_t)info.me_mapsize / g->page * g->page;
    return *margin < map ? *margin : map;
}

/* step_bytes: what a step writes at most (and what the file must be short
 * of the margin by before one is wanted, so that steps are few and whole). */
static uint64_t step_bytes(const store_grow *g)
{
    uint64_t burst = STORE_GROW_CHUNK * STORE_GROW_BURST;
    return g->ahead < burst ? g->ahead : burst;
}

/* short_of: a step is due: the file is a step short of the margin, and
 * short at all of the end the map allows. */
static int short_of(store_grow *g, uint64_t end, uint64_t margin)
{
    return g->file_end + step_bytes(g) <= margin && g->file_end < end;
}

int store_grow_wanted(store_grow *g)
{
    uint64_t used, margin;
    if (!g || clock_mono_ms() < g->retry_at_ms)
        return 0;
    uint64_t end = target(g, &used, &margin);
    if (!short_of(g, end, margin))
        return 0;
    /* Another process may have grown the file: look before a step. */
    struct stat st;
    if (fstat(g->fd, &st) == 0 && (uint64_t)st.st_size > g->file_end)
        g->file_end = (uint64_t)st.st_size;
    return short_of(g, end, margin);
}

/* room_for: the disk keeps its reserve after len more bytes. */
static int room_for(store_grow *g, uint64_t len)
{
    uint64_t free_bytes = store_disk_free(g->s, NULL);
    return free_bytes != UINT64_MAX && free_bytes >= len && free_bytes - len >= g->s->reserve;
}

static void wait_after(store_grow *g)
{
    g->retry_at_ms = clock_mono_ms() + GROW_RETRY_MS;
}

/* write_chunk writes one chunk of zeros under the writer lock; returns the
 * bytes written (0: none were due, or a failure, after which growth
 * waits), or the store error of the begin. */
static int64_t write_chunk(store_grow *g)
{
    store_txn *t = NULL;
    int err = store_begin(g->s, 1, &t);
    if (err)
        return err;
    /* Under the writer lock: no transaction writes until the abort. */
    uint64_t t0 = clock_mono_us(), used, margin, len;
    uint64_t end = target(g, &used, &margin);
    struct stat st;
    int64_t written = 0;
    if (end == 0 || fstat(g->fd, &st) != 0) {
        log_limited(LOG_WARN, "grow_stat", "store: grow-ahead: cannot read the file's figures");
        wait_after(g);
        goto done;
    }
    uint64_t from = (uint64_t)st.st_size > used ? (uint64_t)st.st_size : used;
    from = (from + g->page - 1) / g->page * g->page;
    g->file_end = (uint64_t)st.st_size;
    if (from >= end)
        goto done;
    len = end - from < STORE_GROW_CHUNK ? end - from : STORE_GROW_CHUNK;
    if (!room_for(g, len)) {
        log_limited(LOG_INFO, "grow_room", "store: grow-ahead paused: the disk is at its reserve");
        wait_after(g);
        goto done;
    }
    while ((uint64_t)written < len) {
        ssize_t n = pwrite(g->fd, (const char *)g->zeros + written,
                           (size_t)(len - (uint64_t)written), (off_t)(from + (uint64_t)written));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* Zeros past the last page are harmless, however many landed. */
            log_limited(LOG_WARN, "grow_write", "store: grow-ahead: writing at %llu: %s",
                        (unsigned long long)(from + (uint64_t)written),
                        n < 0 ? strerror(errno) : "short write");
            wait_after(g);
            break;
        }
        written += n;
    }
    if (written > 0)
        g->file_end = from + (uint64_t)written;

done:
    store_abort(&t);
    if (written > 0) {
        uint64_t held = clock_mono_us() - t0;
        pthread_mutex_lock(&g->mu);
        g->stats.written += (uint64_t)written;
        g->stats.chunks++;
        g->stats.locked_us += held;
        if (held > g->stats.locked_max_us)
            g->stats.locked_max_us = held;
        pthread_mutex_unlock(&g->mu);
    }
    return written;
}

int64_t store_grow_step(store_grow *g, store_grow_busy_fn busy, void *ctx)
{
    if (!store_grow_wanted(g))
        return 0;
    int64_t total = 0, n = 0;
    uint64_t used, margin;
    for (int i = 0; i < STORE_GROW_BURST; i++) {
        if (i > 0 && ((busy && busy(ctx)) || g->file_end >= target(g, &used, &margin) ||
                      clock_mono_ms() < g->retry_at_ms))
            break;
        if ((n = write_chunk(g)) <= 0)
            break;
        total += n;
    }
    if (total > 0) {
        pthread_mutex_lock(&g->mu);
        g->sync_wanted = 1;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (!g->started) {
            g->started = 1;
            LOG_I("store: writing the data file ahead, up to %llu MiB past its pages in use",
                  (unsigned long long)(g->ahead >> 20));
        }
    }
    return total > 0 ? total : n;
}

void store_grow_stats_get(store_grow *g, store_grow_stats *st)
{
    pthread_mutex_lock(&g->mu);
    *st = g->stats;
    pthread_mutex_unlock(&g->mu);
}

void store_grow_close(store_grow **gp)
{
    store_grow *g = gp ? *gp : NULL;
    if (!g)
        return;
    *gp = NULL;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    close(g->fd);
    free(g->zeros);
    free(g);
}
