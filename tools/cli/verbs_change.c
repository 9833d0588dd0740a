/* verbs_change.c — what a terminal does to an event it filed: update it
 * (new text, CAP values) or cancel it (a false alarm). Both talk to the
 * intake endpoint and are answered CHANGED. */
#include "cli.h"
#include "output.h"

#include <stdio.h>
#include <string.h>

#define CHANGE_EXIT_TABLE                                                              \
    CLI_EXIT_TABLE "\n"                                                                \
    "  6  refused: not_found (200) no such event, not_yours (202) --terminal is not\n" \
    "     the terminal that filed it, bad_state (108) the event can no longer be\n"    \
    "     changed this way; other 1xx refusals (missing_field, bad_field) exit 2"

#define UPDATE_USAGE                                                                   \
    "gridline update EVENT_ID [--text T] [--urgency U] [--severity S] [--certainty C] " \
    "[--note N] [--terminal ID] [--json]"
#define UPDATE_DESCRIPTION                                                             \
    "Change an event your terminal filed (CAP 1.2 Update): a new text, urgency,\n"     \
    "severity or certainty (at least one). Every team the event went to gets a\n"      \
    "NOTICE 'updated' with --note and what changed. An event that is closed,\n"        \
    "cancelled or merged can no longer be updated (bad_state). With --terminal the\n"  \
    "service checks that this terminal filed the event (not_yours otherwise).\n"       \
    "Prints 'updated ID seq N (KIND): state STATE'; --json prints\n"                   \
    "{\"id\",\"seq\",\"kind\",\"state\"}. An update with no reply is resent on a fresh\n" \
    "connection (sending the same values twice is harmless).\n\n" CHANGE_EXIT_TABLE

#define CANCEL_USAGE "gridline cancel EVENT_ID [--note N] [--terminal ID] [--json]"
#define CANCEL_DESCRIPTION                                                             \
    "Withdraw an event your terminal filed (CAP 1.2 Cancel, e.g. a false alarm).\n"    \
    "The event becomes cancelled, its live dispatches are cancelled, an alert\n"       \
    "stops escalating, and every team it went to gets a NOTICE 'cancelled' with\n"     \
    "--note. Cancelling again gives the same answer. A resolved, closed or merged\n"   \
    "event cannot be cancelled (bad_state). With --terminal the service checks that\n" \
    "this terminal filed the event (not_yours otherwise). Prints 'cancelled ID seq\n"  \
    "N (KIND): state cancelled'; --json prints {\"id\",\"seq\",\"kind\",\"state\"}.\n\n" \
    CHANGE_EXIT_TABLE

/* change_send opens the intake client and sends the update or cancel. */
static int change_send(const char *verb, const cli_common *c, const char *id,
                       const char *terminal, const char *text, const char *urgency,
                       const char *severity, const char *certainty, const char *note)
{
    client *cl = NULL;
    int rc = cli_connect(c, c->intake, verb, 1, &cl);
    if (rc)
        return rc;
    client_filed changed;
    if (strcmp(verb, "cancel") == 0)
        rc = client_cancel(cl, id, terminal, note, &changed);
    else
        rc = client_update(cl, id, terminal, text, urgency, severity, certainty, note, &changed);
    int status = CLI_EXIT_OK;
    if (rc == 0)
        out_changed(verb, &changed, c->json);
    else
        status = cli_report(verb, rc, client_reason(cl), 1);
    client_close(&cl);
    return status;
}

int cli_update(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *id = NULL, *text = NULL, *urgency = NULL, *severity = NULL,
               *certainty = NULL, *note = NULL, *terminal = NULL;
    opt_def defs[] = {
        {"text", OPT_STR, NULL, "the new text", &text, NULL},
        {"urgency", OPT_STR, NULL, "new CAP urgency: Immediate|Expected|Future|Past|Unknown",
         &urgency, NULL},
        {"severity", OPT_STR, NULL, "new CAP severity: Extreme|Severe|Moderate|Minor|Unknown",
         &severity, NULL},
        {"certainty", OPT_STR, NULL,
         "new CAP certainty: Observed|Likely|Possible|Unlikely|Unknown", &certainty, NULL},
        {"note", OPT_STR, NULL, "why, told to every team the event went to", &note, NULL},
        {"terminal", OPT_STR, NULL, "this terminal's id (checked against the event's)",
         &terminal, NULL},
        CLI_COMMON_ROWS(c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, UPDATE_USAGE, UPDATE_DESCRIPTION,
                       &c, &id, "EVENT_ID");
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (cli_check_id("update", "EVENT_ID", id) ||
        cli_check_len("update", "text", text, GL_MAX_TEXT) ||
        cli_check_len("update", "note", note, GL_MAX_TEXT) ||
        cli_check_len("update", "terminal", terminal, GL_MAX_ID) ||
        cli_check_cap("update", "urgency", &urgency) ||
        cli_check_cap("update", "severity", &severity) ||
        cli_check_cap("update", "certainty", &certainty))
        return CLI_EXIT_BADINPUT;
    if (!text && !urgency && !severity && !certainty)
        return cli_bad("update", "say what changes: --text, --urgency, --severity or "
                       "--certainty");
    return change_send("update", &c, id, terminal, text, urgency, severity, certainty, note);
}

int cli_cancel(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *id = NULL, *note = NULL, *terminal = NULL;
    opt_def defs[] = {
        {"note", OPT_STR, NULL, "why (e.g. \"false alarm\"), told to every team the event "
         "went to", &note, NULL},
        {"terminal", OPT_STR, NULL, "this terminal's id (checked against the event's)",
         &terminal, NULL},
        CLI_COMMON_ROWS(c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, CANCEL_USAGE, CANCEL_DESCRIPTION,
                       &c, &id, "EVENT_ID");
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (cli_check_id("cancel", "EVENT_ID", id) ||
        cli_check_len("cancel", "note", note, GL_MAX_TEXT) ||
        cli_check_len("cancel", "terminal", terminal, GL_MAX_ID))
        return CLI_EXIT_BADINPUT;
    return change_send("cancel", &c, id, terminal, NULL, NULL, NULL, NULL, note);
}
