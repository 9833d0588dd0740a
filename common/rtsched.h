/* rtsched.h — real-time scheduling for the processes on the alert path.
 *
 * On a busy machine a thread that a message wakes waits in the CPU's run
 * queue behind whatever runs there; an alert's path wakes about a dozen
 * threads, so on two cores kept busy by a routine flood those waits add up to
 * milliseconds. The broker and a worker kept for the alert lane may instead
 * run under SCHED_RR, above every ordinary process: they are woken at once.
 * The kernel's real-time throttling (sched_rt_runtime_us, 95% by default)
 * still leaves the rest of the machine a share should one of them spin. */
#ifndef GL_RTSCHED_H
#define GL_RTSCHED_H

#include <stddef.h>

/* The range of --realtime: 0 is ordinary scheduling. */
#define GL_RT_PRIO_MAX 99

/* sched_realtime puts the calling thread under SCHED_RR at priority prio
 * (1..GL_RT_PRIO_MAX); threads it creates afterwards inherit it, a fork does
 * not. Returns 0, or -1 with the reason in err (no CAP_SYS_NICE and no
 * RLIMIT_RTPRIO, say): the thread keeps its scheduling. */
int sched_realtime(int prio, char *err, size_t errlen);

/* sched_ordinary puts the calling thread back under SCHED_OTHER, for a
 * thread about to create helpers that must not run real-time. */
void sched_ordinary(void);

/* sched_is_realtime returns the calling thread's real-time priority, or 0. */
int sched_is_realtime(void);

#endif
