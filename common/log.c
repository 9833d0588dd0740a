#define _POSIX_C_SOURCE 200809L
#include "log.h"
#include "clock.h"

#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int log_threshold = LOG_INFO;
static char log_component[32] = "gridline";

static const char *const log_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static int log_syslog;

/* log_syslog.c: <syslog.h> defines LOG_INFO and LOG_DEBUG as macros with
 * other values than ours, so it is included there only. */
void log_syslog_open(const char *ident);
void log_syslog_line(int level, const char *line);

void log_to_syslog(const char *ident)
{
    log_syslog_open(ident);
    log_syslog = 1;
}

void log_init(const char *component, int level)
{
    snprintf(log_component, sizeof log_component, "%s", component);
    log_threshold = level;
}

int log_level_parse(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static void append(char *line, size_t *n, const char *s)
{
    size_t len = strlen(s);
    memcpy(line + *n, s, len);
    *n += len;
}

/* The lines held by log_gather: one thread's (the worker's main thread). */
static _Thread_local struct {
    int on;
    size_t used;
    char buf[32768];
} gather;

static void gather_out(void)
{
    if (gather.used)
        fwrite(gather.buf, 1, gather.used, stderr);
    gather.used = 0;
}

void log_gather(int on)
{
    if (!on)
        gather_out();
    gather.on = on;
}

static void log_vwrite(int level, const char *fmt, va_list ap)
{
    char line[1024];
    if (log_syslog) {
        /* syslog stamps the time and host; the level and component stay in
         * the text so that a line reads the same in either place. */
        int i = level < 0 ? 0 : level > 3 ? 3 : level;
        int n = snprintf(line, sizeof line, "%s %s: ", log_names[i], log_component);
        if (n < 0)
            return;
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        log_syslog_line(i, line);
        return;
    }
    /* A worker logs every event it files: the date and time are formatted
     * once a second, the milliseconds by hand, the line written at once. */
    static _Thread_local time_t stamp_secs = -1;
    static _Thread_local char stamp[64];
    uint64_t now = clock_wall_ms();
    time_t secs = (time_t)(now / 1000);
    if (secs != stamp_secs) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        stamp_secs = secs;
    }
    size_t n = 0;
    append(line, &n, stamp);
    line[n++] = (char)('0' + now % 1000 / 100);
    line[n++] = (char)('0' + now % 100 / 10);
    line[n++] = (char)('0' + now % 10);
    append(line, &n, "Z ");
    append(line, &n, log_names[level < 0 ? 0 : level > 3 ? 3 : level]);
    append(line, &n, " ");
    append(line, &n, log_component);
    append(line, &n, ": "); /* n <= 63 + 3 + 2 + 5 + 1 + 31 + 2 */
    int w;
    if (fmt[0] == '%' && fmt[1] == 's' && fmt[2] == '\0') {
        /* A line made by the caller (a filed event's, one an event):
         * copied as vsnprintf would, without its 400 instructions. */
        const char *text = va_arg(ap, const char *);
        if (!text)
            text = "(null)";
        size_t len = strlen(text), room = sizeof line - n - 1;
        memcpy(line + n, text, len < room ? len : room);
        w = len > INT_MAX ? INT_MAX : (int)len;
    } else {
        w = vsnprintf(line + n, sizeof line - n, fmt, ap);
    }
    if (w < 0)
        return;
    n += (size_t)w < sizeof line - n ? (size_t)w : sizeof line - n - 1;
    line[n++] = '\n'; /* where vsnprintf put the NUL */
    if (gather.on) {
        if (gather.used + n > sizeof gather.buf)
            gather_out();
        memcpy(gather.buf + gather.used, line, n);
        gather.used += n;
        return;
    }
    fwrite(line, 1, n, stderr);
}

void log_write(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

/* A handful of distinct keys is all that hostile-input logging needs; a new
 * key evicts the oldest slot. */
static struct {
    char key[32];
    uint64_t last_ms;
    unsigned long suppressed;
} log_slots[16];

void log_limited(int level, const char *key, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    uint64_t now = clock_mono_ms();
    size_t slot = 0, oldest = 0;
    for (slot = 0; slot < (sizeof log_slots / sizeof log_slots[0]); slot++) {
        if (strncmp(log_slots[slot].key, key, sizeof log_slots[slot].key - 1) == 0)
            break;
        if (log_slots[slot].last_ms < log_slots[oldest].last_ms)
            oldest = slot;
    }
    if (slot == (sizeof log_slots / sizeof log_slots[0])) {
        slot = oldest;
        snprintf(log_slots[slot].key, sizeof log_slots[slot].key, "%s", key);
        log_slots[slot].last_ms = 0;
        log_slots[slot].suppressed = 0;
    }
    if (log_slots[slot].last_ms && now - log_slots[slot].last_ms < 1000) {
        log_slots[slot].suppressed++;
        return;
    }
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_slots[slot].suppressed)
        log_write(level, "%s (%lu similar suppressed)", msg, log_slots[slot].suppressed);
    else
        log_write(level, "%s", msg);
    log_slots[slot].last_ms = now;
    log_slots[slot].suppressed = 0;
}
