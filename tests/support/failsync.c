/* failsync.c — a library t_e2e_syncfail preloads (LD_PRELOAD) into a worker
 * to make the flush store_commit makes after LMDB's commit fail once with
 * EIO, as a failing disk would.
 *
 * When the file named by $GL_FAILSYNC exists, the next such flush fails and
 * the file is removed, so the test knows it happened. That flush is told
 * from LMDB's own (inside mdb_txn_commit, before the meta page is written)
 * by the write before it on the same descriptor: the meta page, under a
 * page long at an offset within the first two pages (LMDB 0.9 with
 * MDB_NOMETASYNC writes it through the data file's descriptor). LMDB
 * writes through pwrite and writev (liblmdb's imports), so those two are
 * watched.
 *
 * When $GL_FAILSYNC_HOLD names a file as well, the failing flush first
 * creates that file and waits (at most 30 s) until the test removes it: the
 * test sees the worker inside the flush, and can hand it more work that
 * must then go to another worker. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define META_AREA 8192 /* two meta pages of 4 KiB */

static int meta_fd = -1; /* the last write on this fd was a meta page */

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pwrite");
    if (n < 4096 && off < META_AREA)
        meta_fd = fd;
    else if (fd == meta_fd)
        meta_fd = -1;
    return real(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "writev");
    if (fd == meta_fd)
        meta_fd = -1;
    return real(fd, iov, n);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    const char *trigger = getenv("GL_FAILSYNC");
    if (fd == meta_fd && trigger && unlink(trigger) == 0) {
        const char *hold = getenv("GL_FAILSYNC_HOLD");
        int held = hold ? open(hold, O_WRONLY | O_CREAT, 0600) : -1;
        if (held >= 0) {
            close(held);
            struct timespec tick = {0, 10 * 1000 * 1000};
            for (int i = 0; i < 3000 && access(hold, F_OK) == 0; i++)
                nanosleep(&tick, NULL);
        }
        errno = EIO;
        return -1;
    }
    return real(fd);
}
