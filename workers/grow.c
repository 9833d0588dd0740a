/* grow.c — --grow-ahead-mb: the worker writes the store's data file ahead
 * with zeros while it has nothing to do (common/store_grow.h has why and
 * how it stays safe). Any worker of the store may do it: the one that is
 * idle, often the one kept for alerts. */
#include "worker.h"

#include "../common/log.h"
#include "../common/store_grow.h"

/* busy: a message waits on the worker's socket (store_grow_busy_fn). */
static int busy(void *sock)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, 0) != 0;
}

void worker_grow_idle(gl_worker *w)
{
    if (w->cfg.grow_ahead_mb <= 0 || w->grow_failed)
        return;
    if (!w->grow) {
        int err = store_grow_open(w->st, (uint64_t)w->cfg.grow_ahead_mb << 20, &w->grow);
        if (err) {
            LOG_W("cannot write the store's data file ahead (%s): --grow-ahead-mb is off",
                  gl_strerror(err));
            w->grow_failed = 1;
            return;
        }
    }
    if (store_grow_wanted(w->grow) && !busy(w->sock)) {
        /* Each chunk waits for the writer lock like a batch does. */
        watchdog_waiting(1);
        store_grow_step(w->grow, busy, w->sock);
        watchdog_waiting(0);
    }
}

void worker_grow_stop(gl_worker *w)
{
    if (!w->grow)
        return;
    store_grow_stats gs;
    store_grow_stats_get(w->grow, &gs);
    LOG_I("grow-ahead: %.1f MiB of zeros in %llu chunks, the writer lock held %.1f ms "
          "(longest %.2f ms), %llu flushes taking %.1f ms", (double)gs.written / 1048576.0,
          (unsigned long long)gs.chunks, (double)gs.locked_us / 1000.0,
          (double)gs.locked_max_us / 1000.0, (unsigned long long)gs.syncs,
          (double)gs.sync_us / 1000.0);
    store_grow_close(&w->grow);
}
