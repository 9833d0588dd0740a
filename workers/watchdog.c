/* watchdog.c — a heartbeat that tells a stalled worker from a waiting one.
 *
 * LMDB lets one process write at a time. A worker frozen (or stuck) inside
 * its write transaction holds that lock, and every other worker waits for it
 * inside mdb_txn_begin — where its main loop cannot heartbeat either. To the
 * broker both would look dead, and a broker that fences dead workers
 * (--fence) could kill the wrong one. This thread heartbeats on a socket of
 * its own while the main loop is making progress or is merely waiting for
 * the write lock; a frozen process (all threads stop) or a main loop stuck
 * elsewhere falls silent. The heartbeat names the worker's pid and host,
 * which the broker matches to the worker's main connection. */
#include "worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"

/* The longest the thread sleeps at a time: watchdog_stop waits at most this
 * long for it, rather than a whole heartbeat. */
#define WATCHDOG_NAP_MS 20

static struct {
    pthread_t thread;
    int running;
    void *ctx;
    const char *endpoint;
    long heartbeat_ms, liveness;
    _Atomic uint64_t progress_ms;   /* last time the main loop went round */
    _Atomic int waiting_for_lock;   /* inside store_begin for a write */
    _Atomic int stop;
} dog;

void watchdog_progress(void) { atomic_store(&dog.progress_ms, clock_mono_ms()); }
void watchdog_waiting(int waiting) { atomic_store(&dog.waiting_for_lock, waiting); }

static void *watchdog_main(void *arg)
{
    (void)arg;
    /* SIGTERM, SIGINT and SIGHUP are for the main thread: one taken here
     * would leave the main loop asleep in zmq_poll until its timeout. */
    sigset_t mine;
    sigemptyset(&mine);
    sigaddset(&mine, SIGTERM);
    sigaddset(&mine, SIGINT);
    sigaddset(&mine, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mine, NULL);
    void *sock = zmq_socket(dog.ctx, ZMQ_DEALER);
    int zero = 0, one = 1;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &one, sizeof one);
    worker_curve_socket(sock, dog.endpoint);
    zmq_connect(sock, dog.endpoint);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_HEARTBEAT;
    m.pid = (uint32_t)getpid();
    m.host = host[0] ? host : NULL;
    uint64_t stalled_after = (uint64_t)(dog.heartbeat_ms * dog.liveness);
    while (!atomic_load(&dog.stop)) {
        uint64_t now = clock_mono_ms();
        if (atomic_load(&dog.waiting_for_lock) || now - atomic_load(&dog.progress_ms) < stalled_after)
            frame_send_msg(sock, NULL, 0, &m, ZMQ_DONTWAIT);
        /* Replies (there should be none) are read and dropped. */
        frame_msg fm;
        while (frame_recv(sock, 0, ZMQ_DONTWAIT, &fm) == 0)
            frame_close(&fm);
        frame_close(&fm);
        for (long slept = 0; slept < dog.heartbeat_ms && !atomic_load(&dog.stop);
             slept += WATCHDOG_NAP_MS) {
            long nap = dog.heartbeat_ms - slept < WATCHDOG_NAP_MS ? dog.heartbeat_ms - slept
                                                                   : WATCHDOG_NAP_MS;
            usleep((useconds_t)nap * 1000);
        }
    }
    zmq_close(sock);
    return NULL;
}

int watchdog_start(void *ctx, const char *endpoint, long heartbeat_ms, long liveness)
{
    dog.ctx = ctx;
    dog.endpoint = endpoint;
    dog.heartbeat_ms = heartbeat_ms;
    dog.liveness = liveness;
    watchdog_progress();
    if (pthread_create(&dog.thread, NULL, watchdog_main, NULL) != 0)
        return GL_ESYS;
    dog.running = 1;
    return 0;
}

void watchdog_stop(void)
{
    if (!dog.running)
        return;
    atomic_store(&dog.stop, 1);
    pthread_join(dog.thread, NULL);
    dog.running = 0;
}
