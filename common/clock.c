#define _POSIX_C_SOURCE 200809L
#include "clock.h"

#include <stdio.h>
#include <time.h>

static uint64_t clock_read(clockid_t id, uint64_t div)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) / div;
}

uint64_t clock_wall_ms(void) { return clock_read(CLOCK_REALTIME, 1000000); }
uint64_t clock_mono_ms(void) { return clock_read(CLOCK_MONOTONIC, 1000000); }
uint64_t clock_mono_us(void) { return clock_read(CLOCK_MONOTONIC, 1000); }

char *clock_format_utc(uint64_t ms, char *buf, unsigned len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms % 1000));
    return buf;
}
