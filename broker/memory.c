/* memory.c — the broker's heap under sustained load: free pages given back
 * to the system, and the heap's figures in the counters' log line.
 *
 * What grew under a 60 s overload above the queue caps (issue 7) was not
 * the heap in use: mallinfo2 shows it flat (about 46 MiB: the lane's 20,000
 * jobs and bodies, and ZeroMQ's buffers and pipes). Two things were:
 *   - free pages. The first burst (every terminal's window arriving at
 *     once) takes the arena ZeroMQ's I/O thread allocates from to about
 *     40 MB; once it is over, ~16 MB of it is free but glibc keeps it, and
 *     the allocations wandering through it touch a little more of it every
 *     second. glibc gives free pages inside an arena back only on
 *     malloc_trim: the broker calls it every --memory-trim-ms (about 1 ms
 *     under that load), and resident memory follows the bytes in use, also
 *     after a burst has drained.
 *   - ZeroMQ's memory per connection: each pipe allocates its second chunk
 *     of 256 messages when messages first come round the end of the first,
 *     then reuses the two, and their pages are touched for the first time
 *     as messages pass: about 84 KiB per connection once some 512 messages
 *     have passed each way, then flat. A responder that only sends a
 *     heartbeat every 500 ms takes about 85 s to get there. That is bounded
 *     by the connections, not by anything trimming could give back. */
#include "broker.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/proc_status.h"

void broker_memory_tick(broker *b, uint64_t now_ms)
{
    if (b->cfg.memory_trim_ms <= 0 || now_ms < b->mem_next_trim_ms)
        return;
    uint64_t t0 = clock_mono_us();
    malloc_trim(0);
    uint64_t took = clock_mono_us() - t0;
    b->mem_trims++;
    b->mem_trim_us += took;
    if (took > b->mem_trim_max_us)
        b->mem_trim_max_us = took;
    b->mem_next_trim_ms = now_ms + (uint64_t)b->cfg.memory_trim_ms;
}

void broker_memory_log(const broker *b)
{
    struct mallinfo2 mi = mallinfo2();
    const double mib = 1024.0 * 1024.0;
    LOG_I("memory: anonymous RSS %.1f MiB; heap %.1f MiB in use, %.1f MiB free of %.1f MiB "
          "(+ %.1f MiB mapped); %llu trims, %.2f ms each, at most %.2f ms",
          (double)gl_proc_status_kb(0, "RssAnon") / 1024.0, (double)mi.uordblks / mib, (double)mi.fordblks / mib,
          (double)mi.arena / mib, (double)mi.hblkhd / mib, (unsigned long long)b->mem_trims,
          b->mem_trims ? (double)b->mem_trim_us / (double)b->mem_trims / 1000.0 : 0.0,
          (double)b->mem_trim_max_us / 1000.0);
}
