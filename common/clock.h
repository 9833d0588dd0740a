/* clock.h — time in milliseconds. Wall time is stored in records and history;
 * monotonic time drives in-process timers (heartbeats, retries) so that a
 * clock step never fires or starves them. */
#ifndef GL_CLOCK_H
#define GL_CLOCK_H

#include <stdint.h>

/* clock_wall_ms returns milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t clock_wall_ms(void);

/* clock_mono_ms returns milliseconds from CLOCK_MONOTONIC. */
uint64_t clock_mono_ms(void);

/* clock_mono_us returns microseconds from CLOCK_MONOTONIC (for latency). */
uint64_t clock_mono_us(void);

/* clock_format_utc writes "YYYY-MM-DDTHH:MM:SS.mmmZ" for ms into buf (>= 25
 * bytes) and returns buf. */
char *clock_format_utc(uint64_t ms, char *buf, unsigned len);

#endif
