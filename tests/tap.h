/* tap.h — a minimal Test Anything Protocol emitter for our C tests.
 *
 * ok(cond, fmt, ...) prints "ok N - name" or "not ok N - name"; is_int and
 * is_str print what was expected and got on failure; done_testing() prints
 * the plan and returns the exit status (0 only if every test passed). */
#ifndef GL_TAP_H
#define GL_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_run, tap_failed;

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
    tap_run++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_run);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

static inline int __attribute__((format(printf, 2, 3))) ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = tap_vok(cond, fmt, ap);
    va_end(ap);
    return r;
}

#define is_int(got, want, ...)                                                 \
    do {                                                                       \
        long long tap_g = (long long)(got), tap_w = (long long)(want);         \
        if (!ok(tap_g == tap_w, __VA_ARGS__))                                  \
            printf("#   got %lld, expected %lld\n", tap_g, tap_w);             \
    } while (0)

#define is_str(got, want, ...)                                                 \
    do {                                                                       \
        const char *tap_g = (got), *tap_w = (want);                            \
        if (!ok(tap_g && tap_w && strcmp(tap_g, tap_w) == 0, __VA_ARGS__))     \
            printf("#   got '%s', expected '%s'\n", tap_g ? tap_g : "(null)",  \
                   tap_w ? tap_w : "(null)");                                  \
    } while (0)

static inline void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static inline int done_testing(void)
{
    printf("1..%d\n", tap_run);
    if (tap_failed)
        printf("# failed %d of %d\n", tap_failed, tap_run);
    return tap_failed ? 1 : 0;
}

#endif
