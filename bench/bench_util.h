/* bench_util.h — what gridline's benchmark programs share: latency
 * percentiles, a log-bucket histogram for streams too long to keep sample by
 * sample, CPU / run-queue accounting and memory of processes read from
 * /proc, file sizes, free loopback ports, option ranges, and perf record
 * run on other processes.
 *
 * Header-only on purpose: the Makefile builds every .c file in bench/ as a program
 * of its own, so shared code cannot live in a .c file here. Everything is
 * static inline (no warning when a program leaves a helper unused). */
#ifndef GL_BENCH_UTIL_H
#define GL_BENCH_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/proc_status.h"

/* bu_sleep_us sleeps us microseconds, resuming after signals. */
static inline void bu_sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static inline int bu_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* bu_percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
 * n sorted values; 0 when n is 0. With 300 samples p99 is the 3rd largest. */
static inline uint64_t bu_percentile(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* A latency histogram in microseconds: exact below 100 µs, then buckets 1%
 * wide up to 100 s (values above land in the last bucket; max is exact). */
#define BU_HIST_EXACT 100
#define BU_HIST_BUCKETS (BU_HIST_EXACT + 1400)

typedef struct bu_hist {
    uint64_t count[BU_HIST_BUCKETS];
    uint64_t n, max_us, sum_us;
} bu_hist;

static inline int bu_hist_bucket(uint64_t us)
{
    if (us < BU_HIST_EXACT)
        return (int)us;
    int b = BU_HIST_EXACT + (int)(log((double)us / BU_HIST_EXACT) / log(1.01));
    return b < BU_HIST_BUCKETS ? b : BU_HIST_BUCKETS - 1;
}

/* The upper edge of bucket b, in µs (what a percentile reports: within 1%). */
static inline uint64_t bu_hist_value(int b)
{
    if (b < BU_HIST_EXACT)
        return (uint64_t)b;
    return (uint64_t)ceil(BU_HIST_EXACT * pow(1.01, b - BU_HIST_EXACT + 1));
}

static inline void bu_hist_add(bu_hist *h, uint64_t us)
{
    h->count[bu_hist_bucket(us)]++;
    h->n++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

static inline void bu_hist_merge(bu_hist *into, const bu_hist *from)
{
    for (int i = 0; i < BU_HIST_BUCKETS; i++)
        into->count[i] += from->count[i];
    into->n += from->n;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

/* bu_hist_percentile: the nearest-rank p-th percentile, at most max_us. */
static inline uint64_t bu_hist_percentile(const bu_hist *h, double p)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->n), seen = 0;
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < BU_HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            uint64_t v = bu_hist_value(i);
            return v < h->max_us ? v : h->max_us;
        }
    }
    return h->max_us;
}

/* CPU time and time spent runnable but waiting for a CPU (the run queue),
 * summed over every thread of a process, from /proc/PID/task/TID/schedstat
 * (nanoseconds). Threads that exit between two samples take their share
 * with them, so sample while the threads of interest are alive. */
typedef struct bu_usage {
    uint64_t cpu_ns, wait_ns, slices;
} bu_usage;

/* bu_proc_usage fills u for pid (0: this process); -1 when /proc cannot be
 * read (the process is gone). */
static inline int bu_proc_usage(pid_t pid, bu_usage *u)
{
    char path[64];
    memset(u, 0, sizeof *u);
    if (pid)
        snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    else
        snprintf(path, sizeof path, "/proc/self/task");
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char file[384];
        snprintf(file, sizeof file, "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen(file, "r");
        if (!f)
            continue;
        unsigned long long cpu, wait, slices;
        if (fscanf(f, "%llu %llu %llu", &cpu, &wait, &slices) == 3) {
            u->cpu_ns += cpu;
            u->wait_ns += wait;
            u->slices += slices;
        }
        fclose(f);
    }
    closedir(d);
    return 0;
}

static inline bu_usage bu_usage_delta(const bu_usage *end, const bu_usage *start)
{
    bu_usage d = {end->cpu_ns - start->cpu_ns, end->wait_ns - start->wait_ns,
                  end->slices - start->slices};
    return d;
}

/* The machine as a whole, from the first line of /proc/stat (clock ticks):
 * busy = everything but idle and iowait. Returns -1 if unreadable. */
typedef struct bu_machine {
    unsigned long long busy, total;
} bu_machine;

static inline int bu_machine_sample(bu_machine *m)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[10] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 5)
        return -1;
    /* guest and guest_nice (8, 9) are already counted in user and nice. */
    for (int i = 0; i < 8 && i < n; i++)
        m->total += v[i];
    m->busy = m->total - v[3] - v[4];
    return 0;
}



/* bu_proc_times reads the user and system CPU time of pid (0: this process),
 * all its threads, in seconds, from /proc/PID/stat (clock ticks, so to
 * 10 ms). -1 when the process is gone. */
static inline int bu_proc_times(pid_t pid, double *user_s, double *sys_s)
{
    char path[64], buf[1024];
    if (pid)
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    else
        snprintf(path, sizeof path, "/proc/self/stat");
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut, st;
    /* after ") ": state, then fields 4..13, then utime (14) and stime (15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *user_s = (double)ut / (double)(hz > 0 ? hz : 100);
    *sys_s = (double)st / (double)(hz > 0 ? hz : 100);
    return 0;
}

/* bu_proc_io reads what /proc/PID/io says of pid: wchar, the bytes it
 * passed to write calls, and syscw, how many write calls it made (write,
 * pwrite, writev: LMDB's page writes, log lines, eventfd wake-ups; not
 * send() on sockets), and read_bytes, the bytes the storage layer fetched
 * for it (a cold page cache). Not write_bytes: on this kernel it counts
 * whole large folios as they are dirtied, five times what the disk is
 * sent. Any pointer may be NULL. -1 when the process is gone. */
typedef struct bu_io {
    uint64_t wchar, syscw, read_bytes;
} bu_io;

static inline int bu_proc_io(pid_t pid, bu_io *io)
{
    char path[64], line[128];
    memset(io, 0, sizeof *io);
    snprintf(path, sizeof path, "/proc/%ld/io", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "wchar: %llu", &v) == 1)
            io->wchar = v;
        else if (sscanf(line, "syscw: %llu", &v) == 1)
            io->syscw = v;
        else if (sscanf(line, "read_bytes: %llu", &v) == 1)
            io->read_bytes = v;
    }
    fclose(f);
    return 0;
}

/* ---- memory and files of processes, free ports ---- */

/* bu_file_size returns the size of the file at path in bytes, -1 if absent. */
static inline long long bu_file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long long n = -1;
    if (fseeko(f, 0, SEEK_END) == 0)
        n = (long long)ftello(f);
    fclose(f);
    return n;
}


/* bu_free_tcp_port returns a TCP port on 127.0.0.1 that nobody listens on
 * now (the kernel's pick for port 0), or -1. Another program may take it
 * before the caller binds it; on a benchmark machine that is rare. */
static inline int bu_free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}


/* bu_parse_range reads "400" or "300-600" into [*lo, *hi]; -1 if malformed. */
static inline int bu_parse_range(const char *s, long *lo, long *hi)
{
    char *end;
    errno = 0;
    *lo = strtol(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == '\0') {
        *hi = *lo;
        return 0;
    }
    if (*end != '-')
        return -1;
    const char *s2 = end + 1;
    *hi = strtol(s2, &end, 10);
    return errno || end == s2 || *end ? -1 : 0;
}

/* ---- perf record of other processes ---- */

/* bu_perf_start runs `perf record -e cpu-clock -o DIR/perf.data -p PIDS`
 * with the space-separated extra options args, its output in
 * DIR/perf-record.log; returns its pid (-1 if fork failed). cpu-clock: a
 * VM often has no hardware counters. */
static inline pid_t bu_perf_start(const char *dir, const char *args, const pid_t *pids, int n)
{
    char list[256] = "", out[600], argbuf[512];
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%ld", used ? "," : "", (long)pids[i]);
        if (w > 0 && (size_t)w < sizeof list - used)
            used += (size_t)w;
    }
    snprintf(out, sizeof out, "%s/perf.data", dir);
    const char *argv[48] = {"perf", "record", "-e", "cpu-clock", "-o", out, "-p", list};
    int argc = 8;
    snprintf(argbuf, sizeof argbuf, "%s", args ? args : "");
    for (char *save = NULL, *tok = strtok_r(argbuf, " ", &save); tok && argc < 46;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char log[700];
        snprintf(log, sizeof log, "%s/perf-record.log", dir);
        if (freopen(log, "w", stdout))
            dup2(1, 2);
        execvp("perf", (char *const *)argv);
        fprintf(stderr, "exec perf: %s\n", strerror(errno));
        _exit(127);
    }
    return pid;
}

/* bu_perf_stop stops perf record (SIGINT: it writes its file and exits)
 * and waits for it; -1 when it failed or wrote nothing. */
static inline int bu_perf_stop(pid_t pid, const char *dir)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGINT);
    int status;
    for (int waited = 0; waited < 60000; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            /* perf exits 0, or by the SIGINT it was sent, once it has
             * written its file; 127 is a failed exec. */
            char data[600];
            snprintf(data, sizeof data, "%s/perf.data", dir);
            return (WIFEXITED(status) && WEXITSTATUS(status) == 127) || bu_file_size(data) <= 0
                       ? -1
                       : 0;
        }
        bu_sleep_us(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* bu_split_args splits a space-separated list of extra arguments (s) into
 * out, NULL-ended, at most max - 1 of them; the strings live in buf. */
static inline void bu_split_args(const char *s, char *buf, size_t buflen, const char **out,
                                 int max)
{
    int n = 0;
    snprintf(buf, buflen, "%s", s ? s : "");
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && n < max - 1;
         tok = strtok_r(NULL, " ", &save))
        out[n++] = tok;
    out[n] = NULL;
}

/* bu_logs_hint says where the processes' logs are: the temporary directory
 * dir is removed at exit unless GRIDLINE_KEEP_TMP is set (testlib). */
static inline const char *bu_logs_hint(const char *dir)
{
    static char hint[400];
    if (getenv("GRIDLINE_KEEP_TMP"))
        snprintf(hint, sizeof hint, "logs in %s", dir);
    else
        snprintf(hint, sizeof hint, "run with GRIDLINE_KEEP_TMP=1 to keep the logs");
    return hint;
}

/* bu_given: 1 when option --name (or --name=...) is among argv. */
static inline int bu_given(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, len) == 0 &&
            (argv[i][2 + len] == '\0' || argv[i][2 + len] == '='))
            return 1;
    return 0;
}

/* bu_save_line writes line and a newline to path (a --json FILE); on
 * failure it says so on stderr, naming prog. */
static inline void bu_save_line(const char *path, const char *line, const char *prog)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", line) < 0)
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
    if (f)
        fclose(f);
}

/* bu_endpoints puts the terminals' and responders' endpoints (intake,
 * responders) on free tcp ports of 127.0.0.1 when transport is "tcp", and
 * the workers' endpoint when worker_transport is; the others stay as
 * tl_setup made them (ipc:// in the temporary directory). Each buffer holds
 * len bytes. 0, or -1 when no port was free. */
static inline int bu_endpoints(const char *transport, const char *worker_transport, char *intake,
                               char *workers, char *responders, size_t len)
{
    char *const eps[3] = {intake, responders, workers};
    for (int i = 0; i < 3; i++) {
        if (strcmp(i < 2 ? transport : worker_transport, "tcp") != 0)
            continue;
        int port = bu_free_tcp_port();
        if (port < 0)
            return -1;
        snprintf(eps[i], len, "tcp://127.0.0.1:%d", port);
    }
    return 0;
}

#endif
