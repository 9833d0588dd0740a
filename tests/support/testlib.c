#include "testlib.h"

#include "../../common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/log.h"

/* The directory tl_cleanup removes, copied from the tl_env: it runs at exit,
 * after main has returned, when a tl_env that was main's local variable is
 * gone (reading it there gave a garbage path to rm -rf). */
static char tl_cleanup_dir[sizeof ((tl_env *)0)->dir];
static pid_t tl_pids[64];
static int tl_npids;
static int tl_logno;

void tl_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* tl_wrapped: GRIDLINE_WRAP is set (e.g. `make valgrind`): processes run
 * slowly and must end by SIGTERM to write their report. */
static const char *tl_wrap(void)
{
    const char *w = getenv("GRIDLINE_WRAP");
    return w && *w ? w : NULL;
}

static void tl_cleanup(void)
{
    /* Under a wrapper, ask first: a killed valgrind reports nothing. */
    for (int i = 0; tl_wrap() && i < tl_npids; i++)
        if (tl_pids[i] > 0 && tl_stop(tl_pids[i]) < 0)
            printf("# testlib: pid %d did not stop on SIGTERM\n", (int)tl_pids[i]);
    for (int i = 0; i < tl_npids; i++)
        if (tl_pids[i] > 0) {
            kill(tl_pids[i], SIGKILL);
            waitpid(tl_pids[i], NULL, 0);
        }
    if (!tl_cleanup_dir[0])
        return;
    if (getenv("GRIDLINE_KEEP_TMP")) {
        printf("# kept %s\n", tl_cleanup_dir);
        return;
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tl_cleanup_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tl_cleanup_dir);
}

static void tl_bail(const char *what)
{
    printf("Bail out! %s: %s\n", what, strerror(errno));
    exit(1);
}

void tl_setup(tl_env *env, const char *name)
{
    memset(env, 0, sizeof *env);
    const char *tmp = getenv("TMPDIR");
    snprintf(env->dir, sizeof env->dir, "%s/gl-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(env->dir))
        tl_bail("mkdtemp");
    snprintf(env->intake, sizeof env->intake, "ipc://%s/intake.sock", env->dir);
    snprintf(env->workers, sizeof env->workers, "ipc://%s/workers.sock", env->dir);
    snprintf(env->responders, sizeof env->responders, "ipc://%s/responders.sock", env->dir);
    snprintf(env->store, sizeof env->store, "%s/store", env->dir);
    const char *data = getenv("GRIDLINE_DATA");
    snprintf(env->directory, sizeof env->directory, "%s/demo-county.json", data ? data : "data");
    const char *bin = getenv("GRIDLINE_BIN");
    snprintf(env->bin, sizeof env->bin, "%s", bin ? bin : "bin");
    memcpy(tl_cleanup_dir, env->dir, sizeof tl_cleanup_dir);
    signal(SIGPIPE, SIG_IGN);
    /* The client library logs reconnects at INFO; tests expect them. */
    log_init("test", LOG_WARN);
    atexit(tl_cleanup);
}

pid_t tl_spawn(tl_env *env, const char *prog, const char *const argv[])
{
    char path[600], log[600];
    snprintf(path, sizeof path, "%s/%s", env->bin, prog);
    snprintf(log, sizeof log, "%s/%s.%d.log", env->dir, prog, ++tl_logno);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        tl_bail("fork");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        const char *wrap = tl_wrap();
        if (wrap && strncmp(prog, "gridline", 8) == 0) { /* not sh -c helpers */
            /* GRIDLINE_WRAP="valgrind --flag ..." runs the program under
             * that command: its words, then the program and its arguments. */
            static char words[1024];
            char *wargv[96];
            int n = 0;
            snprintf(words, sizeof words, "%s", wrap);
            for (char *w = strtok(words, " "); w && n < 32; w = strtok(NULL, " "))
                wargv[n++] = w;
            wargv[n++] = path;
            for (int i = 1; argv[i] && n < 95; i++)
                wargv[n++] = (char *)argv[i];
            wargv[n] = NULL;
            execvp(wargv[0], wargv);
            fprintf(stderr, "exec %s: %s\n", wargv[0], strerror(errno));
            _exit(127);
        }
        execv(path, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    /* Reuse the slot of a process already stopped or killed: a crash test
     * spawns hundreds, and every live one must be killed at exit. */
    int slot = 0;
    while (slot < tl_npids && tl_pids[slot] > 0)
        slot++;
    if (slot < (int)(sizeof tl_pids / sizeof tl_pids[0])) {
        tl_pids[slot] = pid;
        if (slot == tl_npids)
            tl_npids++;
    } else
        printf("# testlib: more than %zu live processes; pid %d is not tracked\n",
               sizeof tl_pids / sizeof tl_pids[0], (int)pid);
    return pid;
}

static pid_t tl_spawn_extra(tl_env *env, const char *prog, const char **args, int n,
                            const char *const extra[])
{
    for (int i = 0; extra && extra[i] && n < 62; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return tl_spawn(env, prog, args);
}

pid_t tl_broker(tl_env *env, const char *const extra[])
{
    const char *args[64] = {"gridline-broker", "--intake", env->intake, "--workers",
                            env->workers, "--responders", env->responders};
    return tl_spawn_extra(env, "gridline-broker", args, 7, extra);
}

pid_t tl_worker(tl_env *env, const char *name, const char *const extra[])
{
    const char *args[64] = {"gridline-worker", "--broker", env->workers, "--store",
                            env->store, "--directory", env->directory, "--name", name};
    return tl_spawn_extra(env, "gridline-worker", args, 9, extra);
}

void tl_forget(pid_t pid)
{
    for (int i = 0; i < tl_npids; i++)
        if (tl_pids[i] == pid)
            tl_pids[i] = 0;
}

int tl_stop(pid_t pid)
{
    int status;
    kill(pid, SIGTERM);
    /* 5 s; under a wrapper such as valgrind (leak check at exit) 60 s. */
    for (int i = 0; i < (tl_wrap() ? 6000 : 500); i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            tl_forget(pid);
            return status;
        }
        tl_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    tl_forget(pid);
    return -1;
}

void tl_kill9(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    tl_forget(pid);
}

int tl_alive(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

void (*tl_run_idle)(void);

int tl_run(tl_env *env, const char *prog, const char *const argv[], char *out,
           size_t outlen, int timeout_ms)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        tl_bail("pipe");
    char path[600];
    snprintf(path, sizeof path, "%s/%s", env->bin, prog);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        tl_bail("fork");
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    size_t used = 0;
    int status = -1, waited = 0;
    for (;;) {
        char buf[4096];
        ssize_t n = read(pipefd[0], buf, sizeof buf);
        if (n > 0) {
            size_t room = outlen > used + 1 ? outlen - used - 1 : 0;
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(out + used, buf, take);
            used += take;
            continue;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            while ((n = read(pipefd[0], buf, sizeof buf)) > 0) {
                size_t room = outlen > used + 1 ? outlen - used - 1 : 0;
                size_t take = (size_t)n < room ? (size_t)n : room;
                memcpy(out + used, buf, take);
                used += take;
            }
            break;
        }
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            status = -1;
            break;
        }
        if (tl_run_idle) {
            /* Keeps the test's own responders heartbeating meanwhile. */
            uint64_t t0 = clock_mono_ms();
            tl_run_idle();
            tl_sleep_ms(5);
            waited += (int)(clock_mono_ms() - t0);
        } else {
            tl_sleep_ms(5);
            waited += 5;
        }
    }
    close(pipefd[0]);
    if (outlen)
        out[used] = '\0';
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int tl_cli(tl_env *env, const char *const args[], int endpoints, char *out, size_t outlen,
           int timeout_ms)
{
    char cmd[8192];
    size_t used = (size_t)snprintf(cmd, sizeof cmd, "exec '%s/gridline'", env->bin);
    const char *all[64];
    int n = 0;
    all[n++] = args[0];
    if (endpoints) {
        all[n++] = "--intake";
        all[n++] = env->intake;
        all[n++] = "--responders";
        all[n++] = env->responders;
    }
    for (int i = 1; args[0] && args[i] && n < 63; i++)
        all[n++] = args[i];
    all[n] = NULL;
    for (int i = 0; all[i] && used < sizeof cmd; i++) {
        used += (size_t)snprintf(cmd + used, sizeof cmd - used, " '");
        for (const char *p = all[i]; *p && used + 5 < sizeof cmd; p++) {
            if (*p == '\'')
                used += (size_t)snprintf(cmd + used, sizeof cmd - used, "'\\''");
            else
                cmd[used++] = *p;
        }
        used += (size_t)snprintf(cmd + used, sizeof cmd - used, "'");
    }
    snprintf(cmd + used, sizeof cmd - used, " 2>&1");
    tl_env sh = *env;
    snprintf(sh.bin, sizeof sh.bin, "/bin");
    const char *argv[] = {"sh", "-c", cmd, NULL};
    return tl_run(&sh, "sh", argv, out, outlen, timeout_ms);
}

#include "../../proto/client.h"

static int tl_probe(tl_env *env, int timeout_ms, int need_worker)
{
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 200;
    o.retries = 0;
    for (int waited = 0; waited < timeout_ms; waited += 200) {
        client *c = NULL;
        if (client_open(&c, env->intake, &o, NULL, 0) != 0)
            return -1;
        int rc;
        if (need_worker) {
            gl_arena a = {0};
            proto_msg m;
            rc = client_show(c, "readiness-probe", &m, &a);
            arena_free(&a);
            rc = rc == GL_ENOTFOUND ? 0 : -1;
        } else
            rc = client_ping(c);
        client_close(&c);
        if (rc == 0)
            return 0;
        tl_sleep_ms(50);
    }
    return -1;
}

int tl_wait_ready(tl_env *env, int timeout_ms) { return tl_probe(env, timeout_ms, 0); }
int tl_wait_workers(tl_env *env, int timeout_ms) { return tl_probe(env, timeout_ms, 1); }
