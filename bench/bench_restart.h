/* bench_restart.h — timing a restart of gridline's workers, and the store
 * they start on: a probe that tells when a worker first answers, the
 * worker's own log line of its start-up, the store's pages in the page
 * cache (evicting them for a cold start), and the bytes a process moves to
 * and from the disk.
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_RESTART_H
#define GL_BENCH_RESTART_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/arena.h"
#include "../common/clock.h"
#include "../common/gl.h"
#include "../proto/frame.h"
#include "../proto/proto.h"
#include "bench_util.h"

#define RS_PROBE_EVERY_US 5000u
#define RS_PROBE_OUTSTANDING 200 /* the broker queues them until a worker comes */

/* ---- the probe: a SHOW every 5 ms until a worker answers ---- */

typedef struct rs_probe {
    void *ctx, *sock;
    gl_arena arena;
} rs_probe;

static inline void rs_probe_close(rs_probe *p)
{
    if (p->sock)
        zmq_close(p->sock);
    if (p->ctx)
        zmq_ctx_term(p->ctx);
    arena_free(&p->arena);
    memset(p, 0, sizeof *p);
}

/* rs_probe_open connects a DEALER socket to the broker's intake and waits
 * 20 ms for the connection, so that it is made before a caller's clock
 * starts. 0, or -1. */
static inline int rs_probe_open(rs_probe *p, const char *intake)
{
    memset(p, 0, sizeof *p);
    int zero = 0;
    if (!(p->ctx = zmq_ctx_new()) || !(p->sock = zmq_socket(p->ctx, ZMQ_DEALER)) ||
        zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(p->sock, intake) != 0) {
        rs_probe_close(p);
        return -1;
    }
    bu_sleep_us(20000);
    return 0;
}

/* rs_probe_answer: 1 when fm is a worker's answer to a SHOW (the event, or
 * not_found), 0 for anything else (BUSY, unavailable, a stale reply). */
static inline int rs_probe_answer(rs_probe *p, frame_msg *fm)
{
    size_t len;
    const void *body = frame_body(fm, &len);
    proto_msg m;
    arena_reset(&p->arena);
    if (proto_decode(fm->cmd, body, len, &m, &p->arena, NULL, 0) != 0)
        return 0;
    return fm->cmd == PROTO_EVENT ||
           (fm->cmd == PROTO_ERROR && m.code == (uint32_t)-GL_ENOTFOUND);
}

/* rs_probe_wait sends a SHOW of an id nobody filed every 5 ms (at most
 * RS_PROBE_OUTSTANDING unanswered) until a worker answers one, and returns
 * the ms from t0_us (CLOCK_MONOTONIC µs) to that answer; -1 after
 * timeout_ms, or once *stop is set. */
static inline double rs_probe_wait(rs_probe *p, uint64_t t0_us, long timeout_ms,
                                   volatile sig_atomic_t *stop)
{
    uint64_t next = t0_us, deadline = t0_us + (uint64_t)timeout_ms * 1000u;
    uint64_t sent = 0, replies = 0;
    double ms = -1;
    while (ms < 0 && clock_mono_us() < deadline && !(stop && *stop)) {
        uint64_t now = clock_mono_us();
        if (now >= next && sent - replies < RS_PROBE_OUTSTANDING) {
            proto_msg m;
            memset(&m, 0, sizeof m);
            m.cmd = PROTO_SHOW;
            m.rid = ++sent;
            m.ev.id = "bench-restart-probe";
            if (frame_send_msg(p->sock, NULL, 0, &m, ZMQ_DONTWAIT) != 0)
                sent--;
            next = now + RS_PROBE_EVERY_US;
        }
        now = clock_mono_us();
        long wait_ms = next > now ? (long)((next - now + 999) / 1000) : 0;
        zmq_pollitem_t item = {p->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, wait_ms) < 0 && errno != EINTR)
            break;
        while (ms < 0 && (item.revents & ZMQ_POLLIN)) {
            frame_msg fm;
            int rc = frame_recv(p->sock, 0, ZMQ_DONTWAIT, &fm);
            uint64_t at = clock_mono_us();
            if (rc == GL_EUNAVAILABLE) {
                frame_close(&fm);
                break;
            }
            replies++;
            if (rc == 0 && rs_probe_answer(p, &fm))
                ms = (double)(at - t0_us) / 1000.0;
            frame_close(&fm);
        }
    }
    return ms;
}

/* ---- the worker's own figures ---- */

/* What a worker logs of its start-up: "store DIR opened in OPEN ms (START
 * ms since the worker started)". */
typedef struct rs_logged {
    double open_ms, start_ms; /* -1: no such line */
} rs_logged;

/* rs_worker_logged reads the last such line of the log at path. */
static inline rs_logged rs_worker_logged(const char *path)
{
    char line[1200];
    rs_logged l = {-1, -1};
    FILE *f = fopen(path, "r");
    if (!f)
        return l;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, " opened in ");
        double open_ms, start_ms;
        if (p && sscanf(p, " opened in %lf ms (%lf ms since the worker started)", &open_ms,
                        &start_ms) == 2) {
            l.open_ms = open_ms;
            l.start_ms = start_ms;
        }
    }
    fclose(f);
    return l;
}

/* ---- the store's file and the page cache ---- */

/* rs_evict drops DIR/data.mdb's pages from the page cache (the store is
 * closed and every commit synced, so they are all on disk): the next start
 * reads what it needs from the disk, as after a reboot. Only this file;
 * nothing else of the machine is touched. 0, or -1. */
static inline int rs_evict(const char *store_dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/data.mdb", store_dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = fdatasync(fd) == 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 ? 0 : -1;
    close(fd);
    return rc;
}

/* rs_cached_pct: the share of DIR/data.mdb in the page cache now
 * (mincore, a gigabyte at a time), or -1. */
static inline double rs_cached_pct(const char *store_dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/data.mdb", store_dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    long page = sysconf(_SC_PAGESIZE);
    const off_t chunk = (off_t)1 << 30;
    size_t vlen = page > 0 ? (size_t)(chunk / page) + 1 : 0;
    unsigned char *vec = vlen ? malloc(vlen) : NULL;
    double pct = -1;
    if (vec && fstat(fd, &st) == 0 && st.st_size > 0) {
        uint64_t pages = 0, resident = 0;
        for (off_t off = 0; off < st.st_size; off += chunk) {
            size_t len = (size_t)(st.st_size - off < chunk ? st.st_size - off : chunk);
            void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
            if (m == MAP_FAILED)
                break;
            size_t n = (len + (size_t)page - 1) / (size_t)page;
            if (mincore(m, len, vec) == 0)
                for (size_t i = 0; i < n; i++)
                    resident += vec[i] & 1;
            pages += n;
            munmap(m, len);
        }
        if (pages)
            pct = 100.0 * (double)resident / (double)pages;
    }
    free(vec);
    close(fd);
    return pct;
}

/* rs_disk_free: bytes free for this user on the file system of path (0 if
 * unknown). */
static inline uint64_t rs_disk_free(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0)
        return 0;
    return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
}

/* rs_proc_io adds wchar and read_bytes of pid (bu_proc_io) to *written and
 * *read. */
static inline void rs_proc_io(pid_t pid, uint64_t *written, uint64_t *read)
{
    bu_io io;
    if (bu_proc_io(pid, &io) != 0)
        return;
    *written += io.wchar;
    *read += io.read_bytes;
}

/* rs_proc_stat adds what /proc/PID/stat says of pid (all its threads) to
 * *minflt (page faults served from memory: for LMDB, a page of the map
 * this process touches for the first time), *majflt (served from the
 * disk), *user_ticks and *sys_ticks (CPU time in clock ticks, user and
 * kernel). Nothing when the process is gone. */
static inline void rs_proc_stat(pid_t pid, uint64_t *minflt, uint64_t *majflt,
                                uint64_t *user_ticks, uint64_t *sys_ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* After the command's ")": state ppid pgrp session tty tpgid flags
     * minflt cminflt majflt cmajflt utime stime (fields 3 to 15). */
    const char *p = strrchr(buf, ')');
    unsigned long long mi, ma, ut, st;
    if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %llu %*u %llu %*u %llu %llu", &mi, &ma,
                    &ut, &st) == 4) {
        *minflt += mi;
        *majflt += ma;
        *user_ticks += ut;
        *sys_ticks += st;
    }
}

#endif
