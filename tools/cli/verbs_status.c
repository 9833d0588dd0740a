/* verbs_status.c — what an operator looks at: the service's figures once
 * (status) or refreshed in the terminal (top). Both ask the broker STATUS on
 * the intake endpoint; it answers from memory, however large the store. */
#include "cli.h"
#include "output.h"

#include "../../common/clock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define STATUS_USAGE "gridline status [--json]"
#define STATUS_DESCRIPTION                                                             \
    "The service at a glance, from the broker (asked on the intake endpoint): its\n"  \
    "lanes (depth, oldest waiting, jobs in and out over the last full minute),\n"     \
    "workers (credit, jobs in flight, when last heard), responders connected per\n"   \
    "team, and the store's figures as the workers last reported them (events,\n"      \
    "pending dispatches, scheduled resends, escalating alerts, UNANSWERED ALERTS\n"   \
    "with their ids, map used and size, and the STORAGE FULL alarm with the map's\n" \
    "ceiling, free disk and alert reserve), then the broker's counters. Figures the\n" \
    "service adds later are shown after these; a missing one shows as '-'.\n"        \
    "--json prints one object {\"at\": ISO-TIME, \"at_ms\", \"broker\": {...},\n"     \
    "\"store\": {...} or null} with the figures under the keys PROTOCOL.md §7.4\n"   \
    "lists.\n\n" CLI_EXIT_TABLE

/* status_fetch asks once and prints; returns the exit status. */
static int status_fetch(client *cl, const char *verb, int json)
{
    gl_arena arena = {0};
    proto_msg m;
    int rc = client_status(cl, &m, &arena);
    int status = CLI_EXIT_OK;
    if (rc == 0)
        out_status(&m, json);
    else
        status = cli_report(verb, rc, client_reason(cl), 0);
    arena_free(&arena);
    return status;
}

int cli_status(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    opt_def defs[] = {CLI_COMMON_ROWS(c)};
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, STATUS_USAGE, STATUS_DESCRIPTION,
                       &c, NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    client *cl = NULL;
    if ((rc = cli_connect(&c, c.intake, "status", 0, &cl)) != 0)
        return rc;
    int status = status_fetch(cl, "status", c.json);
    client_close(&cl);
    return status;
}

static volatile sig_atomic_t top_stop;

static void top_on_signal(int sig)
{
    (void)sig;
    top_stop = 1;
}

/* top_sleep sleeps ms, or less when a signal asks to stop. */
static void top_sleep(long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (ms % 1000) * 1000000L};
    while (!top_stop && nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

#define TOP_USAGE "gridline top [--interval MS] [--count N]"
#define TOP_DESCRIPTION                                                                \
    "gridline status, refreshed in the terminal: the screen is cleared (ANSI) and\n"  \
    "the figures redrawn every --interval ms, until Ctrl-C (or SIGTERM), or after\n"  \
    "--count refreshes. A refresh that fails shows why and the next one tries\n"      \
    "again. Exits 0 when stopped by a signal; after --count, with the status of\n"    \
    "the last refresh.\n\n" CLI_EXIT_TABLE

int cli_top(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    long interval = 0, count = 0;
    opt_def defs[] = {
        {"interval", OPT_INT, "2000", "ms between refreshes (100..3600000)", &interval, NULL},
        {"count", OPT_INT, "0", "exit after N refreshes (0: until Ctrl-C)", &count, NULL},
        CLI_COMMON_ROWS(c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, TOP_USAGE, TOP_DESCRIPTION, &c,
                       NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (interval < 100 || interval > 3600000)
        return cli_bad("top", "--interval must be 100..3600000 ms (got %ld)", interval);
    if (count < 0)
        return cli_bad("top", "--count must be 0 or more (got %ld)", count);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = top_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    client_opts o;
    cli_client_opts(&c, &o);
    o.stop = &top_stop;
    client *cl = NULL;
    char err[512];
    rc = client_open(&cl, c.intake, &o, err, sizeof err);
    if (rc)
        return cli_report("top", rc, err, 0);
    int status = CLI_EXIT_OK;
    for (long n = 0; !top_stop && (!count || n < count); n++) {
        if (n)
            top_sleep(interval);
        if (top_stop)
            break;
        /* Home and clear, then the figures; an error lands on the screen. */
        printf("\033[H\033[2J");
        fflush(stdout);
        status = status_fetch(cl, "top", 0);
        if (status != CLI_EXIT_OK)
            printf("(refreshing every %ld ms; Ctrl-C to stop)\n", interval);
        fflush(stdout);
    }
    client_close(&cl);
    return top_stop ? CLI_EXIT_OK : status;
}
