/* bench_redis.h — a redis-server of bench_peer's own: started on a free
 * loopback port in a temporary directory with the strongest durability
 * Redis has, checked, stopped, and its append-only file measured.
 *
 * Header-only, like the other benchmark helpers. */
#ifndef GL_BENCH_REDIS_H
#define GL_BENCH_REDIS_H

#include <dirent.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench_util.h"

#define STREAM "events"
#define GROUP "gridline-bench"

/* redis_connect connects to 127.0.0.1:port (2 s timeout); NULL with the
 * reason in err. */
static inline redisContext *redis_connect(int port, char *err, size_t errlen)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    return c;
}

/* redis_start starts server (the redis-server program) in dir on port of
 * 127.0.0.1: appendonly yes, appendfsync always (a reply only after the
 * AOF's fsync), no RDB snapshots; its pid goes to *pid. Then it makes the
 * stream STREAM with the consumer group GROUP, and copies the server's
 * version into version. 0 once it answers PING, else -1 (*pid is 0 if the
 * server is gone). */
static inline int redis_start(const char *server, const char *dir, int port, pid_t *pid,
                              char *version, size_t vlen)
{
    char port_s[16], log[700];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(log, sizeof log, "%s/redis.log", dir);
    const char *argv[] = {server, "--port", port_s, "--bind", "127.0.0.1",
                          "--dir", dir, "--appendonly", "yes", "--appendfsync", "always",
                          "--save", "", "--daemonize", "no", "--logfile", log, NULL};
    fflush(stdout);
    *pid = fork();
    if (*pid < 0)
        return -1;
    if (*pid == 0) {
        execvp(server, (char *const *)argv);
        fprintf(stderr, "bench_peer: exec %s: %s (make bench-peer installs it)\n",
                server, strerror(errno));
        _exit(127);
    }
    char err[200] = "";
    for (int waited = 0; waited < 10000; waited += 50) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            fprintf(stderr, "bench_peer: redis-server exited at start (see %s)\n", log);
            return -1;
        }
        redisContext *c = redis_connect(port, err, sizeof err);
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
            freeReplyObject(r);
            if (ok) {
                r = redisCommand(c, "INFO server");
                const char *v = r && r->type == REDIS_REPLY_STRING
                                    ? strstr(r->str, "redis_version:")
                                    : NULL;
                if (v && vlen > 0) {
                    size_t n = strcspn(v + 14, "\r\n");
                    n = n < vlen - 1 ? n : vlen - 1;
                    memcpy(version, v + 14, n);
                    version[n] = '\0';
                }
                freeReplyObject(r);
                r = redisCommand(c, "XGROUP CREATE " STREAM " " GROUP " $ MKSTREAM");
                ok = r && r->type == REDIS_REPLY_STATUS;
                if (!ok)
                    fprintf(stderr, "bench_peer: XGROUP CREATE: %s\n",
                            r && r->str ? r->str : c->errstr);
                freeReplyObject(r);
            }
            redisFree(c);
            if (ok)
                return 0;
        }
        bu_sleep_us(50000);
    }
    fprintf(stderr, "bench_peer: redis-server did not answer on port %d: %s\n", port, err);
    return -1;
}

/* redis_stop stops the server *pid (SIGTERM: it flushes the AOF and
 * exits; SIGKILL after 10 s) and sets *pid to 0. */
static inline void redis_stop(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int waited = 0; waited < 10000; waited += 10) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return;
        }
        bu_sleep_us(10000);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

/* aof_bytes: bytes of every file in dir/appendonlydir (Redis 7's
 * multi-part AOF), or of dir/appendonly.aof (older Redis). */
static inline long long aof_bytes(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/appendonlydir", dir);
    DIR *d = opendir(path);
    if (!d) { /* Redis 6 and older: one file */
        snprintf(path, sizeof path, "%s/appendonly.aof", dir);
        return bu_file_size(path);
    }
    long long total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char file[1000];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        long long n = bu_file_size(file);
        if (n > 0)
            total += n;
    }
    closedir(d);
    return total;
}

#endif
