/* leave.c — a worker whose store failed leaves.
 *
 * After a flush of the store failed (store_failed), what this process holds
 * of the store may not be on disk, and a later flush that succeeds would
 * prove nothing: after a write error Linux may drop the dirty pages and
 * report the error once (PostgreSQL's "fsyncgate", 2018, ended in a PANIC
 * and a recovery from what is on disk). So the worker does not linger with
 * a store that refuses everything — the broker would go on handing it jobs,
 * and an alert-lane worker would answer every alert with a storage error —
 * it leaves, and a supervisor restarts it to read the store as it is on
 * disk (exit status WORKER_EXIT_STORE_FAILED).
 *
 * By then the jobs of the failed commit are answered with storage_error
 * (batch.c) and the loop has taken nothing after it (main.c). BYE tells the
 * broker to hand the jobs this worker holds unanswered — read but not
 * worked, or still on their way — to the other workers at once, instead of
 * after liveness heartbeats of silence (PROTOCOL.md §6). A worker stopped
 * by SIGTERM or SIGINT says BYE too (worker_say_bye): the jobs it read and
 * did not work go to the others at once. */
#include "worker.h"

#include <string.h>

#include "../common/log.h"

/* A stop waits at most this long for the last messages to reach the
 * broker (a live one takes them in well under a millisecond). */
#define BYE_LINGER_MAX_MS 2000

void worker_say_bye(gl_worker *w)
{
    static const unsigned char empty_map = 0x80;
    if (!w->sock)
        return;
    /* The socket was made with LINGER 0: its last replies and BYE might be
     * dropped at close. Long enough for them to go out to a live broker,
     * and no longer: a stop never hangs on a broker that is gone. BYE
     * itself waits as long for room in a full queue. */
    /* Capped before it is narrowed to an int: options past 2^31 ms would
     * wrap it negative, which ZeroMQ refuses, leaving LINGER at 0. */
    int linger = BYE_LINGER_MAX_MS;
    if (w->cfg.heartbeat_ms <= BYE_LINGER_MAX_MS / w->cfg.liveness)
        linger = (int)(w->cfg.heartbeat_ms * w->cfg.liveness);
    zmq_setsockopt(w->sock, ZMQ_SNDTIMEO, &linger, sizeof linger);
    frame_send(w->sock, NULL, 0, PROTO_BYE, &empty_map, 1, 0, NULL, 0, 0);
    zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger);
}

void worker_leave(gl_worker *w)
{
    worker_say_bye(w);
    int err = store_failed(w->st);
    LOG_E("leaving with exit status %d: a flush of the store failed (%s), so this process can "
          "no longer tell what of it is on disk; its unanswered jobs go back to the broker. "
          "Check the disk; restarted (systemd Restart=on-failure, or tools/demo), the worker "
          "reads the store as it is on disk",
          WORKER_EXIT_STORE_FAILED, err > 0 ? strerror(err) : "LMDB marked the environment failed");
}
