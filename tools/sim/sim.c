/* gridline-sim — simulated terminals and responders for the demo county.
 *
 * Terminals push a realistic mix of requests, property feedback and alerts
 * from the directory's grids, compounds and call boxes; responders listen as
 * teams and work what they receive (acknowledge, accept or claim, decline now
 * and then, resolve with a note). A one-line summary shows the flow live.
 * Every simulated party is a child process with its own ZeroMQ context; the
 * figures are counters in shared memory. */
#include "sim.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/clock.h"
#include "../../common/gl.h"
#include "../../common/log.h"
#include "../../common/opts.h"

volatile sig_atomic_t sim_stop;

static void on_signal(int sig)
{
    (void)sig;
    sim_stop = 1;
}

static void print_summary(const sim_counters *c, double secs, int tty)
{
    unsigned long filed = c->filed[0] + c->filed[1] + c->filed[2];
    printf("%s[%5.0fs] filed %lu (requests %lu, alerts %lu, feedback %lu) %.0f/s | dispatches "
           "received %lu | acked %lu | accepted %lu (claimed %lu) | declined %lu | resolved %lu | "
           "taken by others %lu | owners confirmed %lu disputed %lu | rated satisfied %lu "
           "unsatisfied %lu | busy %lu | errors %lu   %s",
           tty ? "\r" : "", secs, filed, c->filed[0], c->filed[1], c->filed[2],
           secs > 0 ? (double)filed / secs : 0.0, c->dispatches, c->acked, c->accepted, c->claimed,
           c->declined, c->resolved, c->taken, c->confirmed, c->disputed, c->rated_satisfied,
           c->rated_unsatisfied, c->busy, c->errors, tty ? "" : "\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const opt_def defs[] = {
        {"intake", OPT_STR, "tcp://127.0.0.1:7401", "the broker's intake endpoint", &cfg.intake, "GRIDLINE_INTAKE"},
        {"responders", OPT_STR, "tcp://127.0.0.1:7402", "the broker's responders endpoint", &cfg.responders, "GRIDLINE_RESPONDERS"},
        {"directory", OPT_STR, "data/demo-county.json", "the county directory the events are drawn from", &cfg.directory, "GRIDLINE_DIRECTORY"},
        {"terminals", OPT_INT, "3", "simulated terminal processes", &cfg.terminals, NULL},
        {"rate", OPT_INT, "20", "events per second, all terminals together", &cfg.rate, NULL},
        {"responders-procs", OPT_INT, "2", "processes sharing the listening teams", &cfg.responder_procs, NULL},
        {"teams", OPT_INT, "0", "teams that listen and work, from the top of the directory (0: every team)", &cfg.teams, NULL},
        {"work-ms", OPT_INT, "1500", "mean time a responder takes between steps", &cfg.work_ms, NULL},
        {"duration", OPT_INT, "0", "seconds to run (0: until Ctrl-C)", &cfg.duration, NULL},
        {"seed", OPT_INT, "1", "random seed", &cfg.seed, NULL},
    };
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), argc, argv, "gridline-sim [options]",
                        "Simulated terminals and responders for the demo county: pushes a realistic\n"
                        "mix of events and works the dispatches, printing a live one-line summary.");
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    if (cfg.terminals < 1 || cfg.rate < 1 || cfg.responder_procs < 1 || cfg.work_ms < 0) {
        fprintf(stderr, "gridline-sim: --terminals, --rate, --responders-procs must be positive\n");
        return 2;
    }
    log_init("sim", LOG_WARN);
    sim_county county;
    char err[300];
    if (sim_county_load(cfg.directory, &county, err, sizeof err) != 0) {
        fprintf(stderr, "gridline-sim: %s\n", err);
        return 1;
    }
    sim_counters *counters = mmap(NULL, sizeof *counters, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counters == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memset(counters, 0, sizeof *counters);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int nchildren = (int)(cfg.terminals + cfg.responder_procs);
    pid_t *children = calloc((size_t)nchildren, sizeof *children);
    if (!children)
        return 1;
    int n = 0;
    for (long i = 0; i < cfg.responder_procs; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(sim_responders(&cfg, &county, counters, (int)i));
        children[n++] = pid;
    }
    usleep(300 * 1000); /* let the teams say HELLO before the first events */
    for (long i = 0; i < cfg.terminals; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(sim_terminal(&cfg, &county, counters, (int)i));
        children[n++] = pid;
    }

    int tty = isatty(1);
    uint64_t start = clock_mono_ms(), last_print = 0;
    while (!sim_stop) {
        usleep(200 * 1000);
        uint64_t now = clock_mono_ms();
        double secs = (double)(now - start) / 1000.0;
        if (now - last_print >= (tty ? 1000u : 5000u)) {
            print_summary(counters, secs, tty);
            last_print = now;
        }
        if (cfg.duration > 0 && secs >= (double)cfg.duration)
            break;
    }
    if (tty)
        printf("\n");
    for (int i = 0; i < n; i++)
        kill(children[i], SIGTERM);
    for (int i = 0; i < n; i++)
        waitpid(children[i], NULL, 0);
    print_summary(counters, (double)(clock_mono_ms() - start) / 1000.0, 0);
    free(children);
    sim_county_free(&county);
    return 0;
}
