/* preload.h — a worker started with a test library preloaded (LD_PRELOAD),
 * which stands in for a failing or slow disk: failsync.so (t_e2e_syncfail),
 * slowsync.so (t_e2e_jobpack_reconnect). make builds each next to the
 * test programs. Header only, like raw.h. */
#ifndef GL_TEST_PRELOAD_H
#define GL_TEST_PRELOAD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

/* tl_lib_path finds the library name next to this test's program: its
 * path in out; 0, or -1 when it is not there. */
static inline int tl_lib_path(char *out, size_t len, const char *name)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(out, len, "%s/%s", self, name) >= len)
        return -1;
    return access(out, R_OK);
}

/* tl_worker_preloaded starts a worker as tl_worker does, with the library
 * at lib preloaded and the environment variables vars (name, value, name,
 * value, ..., NULL) set in that process only. */
static inline pid_t tl_worker_preloaded(tl_env *env, const char *name, const char *lib,
                                        const char *const vars[], const char *const extra[])
{
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_opts[512], *saved = asan ? strdup(asan) : NULL;
    /* A sanitized worker wants its runtime first among the libraries. */
    snprintf(asan_opts, sizeof asan_opts, "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("LD_PRELOAD", lib, 1);
    setenv("ASAN_OPTIONS", asan_opts, 1);
    for (int i = 0; vars[i] && vars[i + 1]; i += 2)
        setenv(vars[i], vars[i + 1], 1);
    pid_t pid = tl_worker(env, name, extra);
    unsetenv("LD_PRELOAD");
    for (int i = 0; vars[i] && vars[i + 1]; i += 2)
        unsetenv(vars[i]);
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    return pid;
}

#endif
