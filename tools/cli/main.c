/* main.c — bin/gridline: picks the verb and hands it its own argv.
 *
 * The global flags --intake and --responders may come before the verb; they
 * are passed on to the verb, whose flag table knows them too. */
#include "cli.h"

#include "../../common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} verbs[] = {
    {"push", cli_push, "submit a request, alert or feedback and wait until it is filed"},
    {"update", cli_update, "change an event this terminal filed: new text or CAP values"},
    {"cancel", cli_cancel, "withdraw an event this terminal filed (a false alarm)"},
    {"rate", cli_rate, "rate a resolved event: satisfied closes it, unsatisfied reopens it"},
    {"track", cli_track, "what became of an event (Open311-style status, due time, note)"},
    {"show", cli_show, "show an event, its dispatches and its history"},
    {"status", cli_status, "the service at a glance: lanes, workers, teams, store figures"},
    {"top", cli_top, "gridline status, refreshed in the terminal"},
    {"ping", cli_ping, "check that the broker answers"},
    {"listen", cli_listen, "receive a team's dispatches and notices"},
    {"board", cli_board, "what a community has open to claim"},
    {"ack", cli_act, "acknowledge a dispatch"},
    {"accept", cli_act, "accept (claim) an event for a team"},
    {"decline", cli_act, "decline a dispatch, with a reason"},
    {"resolve", cli_act, "resolve an accepted event"},
    {"claim", cli_act, "claim a request from the board; holds a lease"},
    {"release", cli_act, "give a claimed request back to the board"},
    {"return", cli_act, "return an event that is not the team's (退单), with a reason"},
    {"redirect", cli_act, "triage or the community gives an event to another team"},
    {"confirm", cli_act, "owners' committee: confirm the property side's resolution"},
    {"dispute", cli_act, "owners' committee: dispute it, with a reason"},
    {"extend", cli_act, "ask for a later due time, with a reason"},
    {"approve", cli_act, "community office or coordinators: grant an extension"},
    {"merge", cli_act, "mark an event as a duplicate of another"},
    {"keygen", cli_keygen, "make a CURVE key pair for a terminal, member, operator, worker, broker"},
    {"list", cli_list, "events filed, by kind, state, community, grid, team, time, overdue"},
    {"export", cli_export, "a period's events as CSV or JSON lines, for monthly reports"},
    {"deadletters", cli_deadletters, "dispatches parked after the delivery limit, with reasons"},
    {"requeue", cli_requeue, "send an event's dead letters again, with a fresh count"},
    {"close-dead", cli_close_dead, "close an event's dead letters without sending them"},
    {"fsck", cli_fsck, "check the store's consistency (on the store's machine, read-only)"},
    {"scores", cli_scores, "response, resolution and satisfaction rates per community"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: gridline [--intake EP] [--responders EP] [--key F --server-key K] VERB [flags]\n"
               "       gridline VERB --help    every flag of VERB, with its default\n\n"
               "verbs:\n");
    for (size_t i = 0; i < GL_ARRAY_LEN(verbs); i++)
        fprintf(f, "  %-11s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f,
            "\nglobal flags (also accepted after the verb):\n"
            "  --intake EP       intake endpoint: push, update, cancel, rate, track, show,\n"
            "                    status, top, scores, ping (default: %s)\n"
            "                    [env GRIDLINE_INTAKE]\n"
            "  --responders EP   responders endpoint: listen, board, and the acts ack ...\n"
            "                    merge (default: %s) [env GRIDLINE_RESPONDERS]\n"
            "  --timeout MS      wait for a reply before resending on a fresh connection "
            "(default: 2500)\n"
            "  --retries N       resends after no reply, and after each busy reply "
            "(default: 5)\n"
            "  --json            one JSON object per line\n"
            "  --key FILE        this principal's key pair (gridline keygen): CURVE on\n"
            "                    tcp:// endpoints, with --server-key [env GRIDLINE_KEY]\n"
            "  --server-key K    the broker's public key (Z85, or its .pub file)\n"
            "                    [env GRIDLINE_SERVER_KEY]\n"
            "  --help            this help\n"
            "\nenvironment: GRIDLINE_LOG=error|warn|info|debug (default: warn)\n\n"
            "%s%s\n",
            CLI_DEFAULT_INTAKE, CLI_DEFAULT_RESPONDERS, CLI_EXIT_TABLE, CLI_EXIT_REFUSED_ROW);
    fprintf(f, "     (exit 6 only for verbs that act on an existing event: update, cancel,\n"
               "     rate, track, show, listen and the acts; push reports 1xx errors as 2\n"
               "     and others as 5; forbidden (203) is 6 for every verb)\n");
}

static int is_global(const char *arg, int *takes_value)
{
    static const char *const globals[] = {"--intake", "--responders", "--key", "--server-key"};
    for (size_t i = 0; i < GL_ARRAY_LEN(globals); i++) {
        size_t n = strlen(globals[i]);
        if (strncmp(arg, globals[i], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
            *takes_value = arg[n] == '\0';
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *level = getenv("GRIDLINE_LOG");
    int lv = level && *level ? log_level_parse(level) : LOG_WARN;
    log_init("gridline", lv < 0 ? LOG_WARN : lv);

    char **vargv = calloc((size_t)argc + 1, sizeof *vargv);
    if (!vargv) {
        fprintf(stderr, "gridline: out of memory\n");
        return CLI_EXIT_SERVER;
    }
    int vargc = 1, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        int takes_value = 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            free(vargv);
            return CLI_EXIT_OK;
        }
        if (!is_global(argv[i], &takes_value)) {
            fprintf(stderr, "gridline: unknown option '%s' before the verb (see gridline "
                    "--help)\n", argv[i]);
            free(vargv);
            return CLI_EXIT_BADINPUT;
        }
        vargv[vargc++] = argv[i];
        if (takes_value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gridline: %s needs a value\n", argv[i]);
                free(vargv);
                return CLI_EXIT_BADINPUT;
            }
            vargv[vargc++] = argv[++i];
        }
    }
    if (i >= argc) {
        usage(stderr);
        free(vargv);
        return CLI_EXIT_BADINPUT;
    }
    size_t v = 0;
    while (v < GL_ARRAY_LEN(verbs) && strcmp(verbs[v].name, argv[i]) != 0)
        v++;
    if (v == GL_ARRAY_LEN(verbs)) {
        fprintf(stderr, "gridline: unknown verb '%s' (see gridline --help)\n", argv[i]);
        free(vargv);
        return CLI_EXIT_BADINPUT;
    }
    vargv[0] = argv[i];
    for (i++; i < argc; i++)
        vargv[vargc++] = argv[i];
    vargv[vargc] = NULL;
    int status = verbs[v].run(vargc, vargv);
    free(vargv);
    return status;
}
