/* slowsync.c — a library t_e2e_jobpack_reconnect preloads (LD_PRELOAD) into
 * a worker to make its commits slow, as a slow disk would: while the file
 * named by $GL_SLOWSYNC exists, every fdatasync first sleeps
 * $GL_SLOWSYNC_MS milliseconds (default 20, at most 1000), then flushes for
 * real. LMDB flushes each commit's pages with fdatasync (liblmdb's
 * import), so a worker then takes at least that long per commit, however
 * fast the machine's disk: the test knows for how long at least the worker
 * works through the jobs it holds. Removing the file makes it fast again. */
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    const char *slow = getenv("GL_SLOWSYNC");
    if (slow && access(slow, F_OK) == 0) {
        const char *ms_text = getenv("GL_SLOWSYNC_MS");
        long ms = ms_text ? strtol(ms_text, NULL, 10) : 20;
        if (ms < 0 || ms > 1000)
            ms = 20;
        struct timespec wait = {ms / 1000, ms % 1000 * 1000 * 1000};
        nanosleep(&wait, NULL);
    }
    return real(fd);
}
