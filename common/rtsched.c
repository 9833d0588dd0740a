#include "rtsched.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

int sched_realtime(int prio, char *err, size_t errlen)
{
    if (prio < 1 || prio > GL_RT_PRIO_MAX) {
        snprintf(err, errlen, "real-time priority %d is outside 1..%d", prio, GL_RT_PRIO_MAX);
        return -1;
    }
    struct sched_param sp = {.sched_priority = prio};
    int rc = pthread_setschedparam(pthread_self(), SCHED_RR, &sp);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run under SCHED_RR at priority %d: %s%s", prio,
                 strerror(rc),
                 rc == EPERM ? " (needs CAP_SYS_NICE, or RLIMIT_RTPRIO: systemd's "
                               "CPUSchedulingPolicy=rr, LimitRTPRIO=)"
                             : "");
        return -1;
    }
    return 0;
}

void sched_ordinary(void)
{
    struct sched_param sp = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
}

int sched_is_realtime(void)
{
    int policy;
    struct sched_param sp;
    if (pthread_getschedparam(pthread_self(), &policy, &sp) != 0)
        return 0;
    return policy == SCHED_RR || policy == SCHED_FIFO ? sp.sched_priority : 0;
}
