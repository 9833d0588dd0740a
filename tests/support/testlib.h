/* testlib.h — what end-to-end tests share: a private temporary directory,
 * ipc:// endpoints inside it, and real gridline processes started from
 * $GRIDLINE_BIN (set by `make check`), stopped and killed on demand. */
#ifndef GL_TESTLIB_H
#define GL_TESTLIB_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tl_env {
    char dir[256];        /* fresh temporary directory, removed by tl_cleanup */
    char intake[300];     /* ipc://DIR/intake.sock */
    char workers[300];    /* ipc://DIR/workers.sock */
    char responders[300]; /* ipc://DIR/responders.sock */
    char store[300];      /* DIR/store */
    char directory[512];  /* $GRIDLINE_DATA/demo-county.json */
    char bin[256];        /* $GRIDLINE_BIN or ./bin */
} tl_env;

/* tl_setup makes the temp dir and fills env; exits the test (TAP bail out)
 * if that fails. Registers tl_cleanup with atexit: every process started
 * through tl_spawn is killed and the directory removed. */
void tl_setup(tl_env *env, const char *name);

/* tl_spawn starts bin/<prog> with NULL-terminated argv (argv[0] = prog),
 * stdout/stderr appended to DIR/<prog>.<n>.log. Returns the pid (the test
 * bails out if fork fails). With GRIDLINE_WRAP set (`make valgrind`), a
 * gridline program runs under that command line (split at spaces), and the
 * exit cleanup stops processes with SIGTERM before it kills them. */
pid_t tl_spawn(tl_env *env, const char *prog, const char *const argv[]);

/* tl_broker / tl_worker start the broker on env's endpoints, and a worker
 * named name on env's store and directory. extra: NULL or a NULL-terminated
 * list of more arguments. */
pid_t tl_broker(tl_env *env, const char *const extra[]);
pid_t tl_worker(tl_env *env, const char *name, const char *const extra[]);

/* tl_stop sends SIGTERM and waits up to 5 s (60 s under GRIDLINE_WRAP)
 * (then SIGKILL); returns the exit
 * status as from waitpid, or -1. tl_kill9 sends SIGKILL and reaps. */
int tl_stop(pid_t pid);
void tl_kill9(pid_t pid);

/* tl_forget stops tracking pid (the test reaped it itself), so the exit
 * cleanup never signals a pid the system may have reused. */
void tl_forget(pid_t pid);

/* tl_alive: 1 if pid has not exited. */
int tl_alive(pid_t pid);

/* tl_run runs bin/<prog> argv to completion (at most timeout_ms), capturing
 * stdout into out (NUL-terminated, truncated to outlen). Returns the exit
 * status (0..255), or -1 on timeout/signal. */
int tl_run(tl_env *env, const char *prog, const char *const argv[], char *out,
           size_t outlen, int timeout_ms);

/* tl_run_idle, when set, is called every few ms while tl_run waits for its
 * program: a test whose own listeners must keep heartbeating (a real
 * responder would) pumps them there instead of going silent while a CLI
 * command runs under a loaded machine. */
extern void (*tl_run_idle)(void);

/* tl_cli runs bin/gridline with args (NULL-terminated; args[0] is the verb)
 * through sh, so that stdout and stderr both land in out; with endpoints,
 * env's --intake and --responders go right after the verb. Returns the exit
 * status as tl_run does. */
int tl_cli(tl_env *env, const char *const args[], int endpoints, char *out, size_t outlen,
           int timeout_ms);

/* tl_sleep_ms sleeps. */
void tl_sleep_ms(int ms);


/* tl_wait_ready pings the broker's intake through the client API until it
 * answers (at most timeout_ms); 0 when it did, -1 otherwise. */
int tl_wait_ready(tl_env *env, int timeout_ms);

/* tl_wait_workers waits until a SHOW of an unknown id gets an answer from a
 * worker (not_found), proving a worker is connected; 0 or -1. */
int tl_wait_workers(tl_env *env, int timeout_ms);

#endif
