/* verbs_terminal.c — what a terminal does: push an event, show one, ping. */
#include "cli.h"
#include "output.h"

#include "../../common/clock.h"
#include "../../common/keys.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int push_coord(const char *flag, const char *text, double limit, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < -limit || v > limit) {
        cli_bad("push", "--%s must be a number from %g to %g (got '%s')", flag, -limit, limit,
                text);
        return 1;
    }
    *out = v;
    return 0;
}

#define PUSH_USAGE                                                                     \
    "gridline push --kind request|alert|feedback --category C --community ID "         \
    "[--compound ID] [--grid ID] --text T [--id EVENT_ID] [--json] [more flags]"
#define PUSH_DESCRIPTION                                                               \
    "Submit an event on the intake endpoint and wait until it is filed (on disk).\n"   \
    "Prints 'filed ID seq N', with ' (duplicate)' when the id had been filed\n"         \
    "before (a retried push never files twice); --json prints\n"                       \
    "{\"id\",\"seq\",\"kind\",\"state\",\"duplicate\"}. --community may be left out "   \
    "when\n--compound, --grid or --terminal is given (a one-button call box sends only\n" \
    "--terminal). Without --id a new time-ordered id is made; every retry resends\n"   \
    "that same id.\n\n" CLI_EXIT_TABLE "\n  6  forbidden (203): this key may not submit this"

int cli_push(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    gl_event ev;
    memset(&ev, 0, sizeof ev);
    const char *kind = NULL, *lat = NULL, *lon = NULL;
    opt_def defs[] = {
        {"kind", OPT_STR, NULL, "request, alert or feedback (required)", &kind, NULL},
        {"category", OPT_STR, NULL, "what it is about: repair, fire, elevator, ... (required)",
         &ev.category, NULL},
        {"text", OPT_STR, NULL, "what happened, in the reporter's words (required)", &ev.text,
         NULL},
        {"community", OPT_STR, NULL, "community id", &ev.community, NULL},
        {"compound", OPT_STR, NULL, "compound (residential estate) id", &ev.compound, NULL},
        {"grid", OPT_STR, NULL, "grid id", &ev.grid, NULL},
        {"terminal", OPT_STR, NULL, "id of the submitting terminal", &ev.terminal, NULL},
        {"address", OPT_STR, NULL, "street address, building, room", &ev.address, NULL},
        {"contact", OPT_STR, NULL, "reporter contact (private to the responders who need it)",
         &ev.contact, NULL},
        {"lat", OPT_STR, NULL, "latitude in degrees (with --lon)", &lat, NULL},
        {"lon", OPT_STR, NULL, "longitude in degrees (with --lat)", &lon, NULL},
        {"urgency", OPT_STR, NULL, "CAP urgency: Immediate|Expected|Future|Past|Unknown",
         &ev.urgency, NULL},
        {"severity", OPT_STR, NULL, "CAP severity: Extreme|Severe|Moderate|Minor|Unknown",
         &ev.severity, NULL},
        {"certainty", OPT_STR, NULL,
         "CAP certainty: Observed|Likely|Possible|Unlikely|Unknown", &ev.certainty, NULL},
        {"id", OPT_STR, NULL, "event id, the idempotency key (default: a new time-ordered id)",
         &ev.id, NULL},
        CLI_COMMON_ROWS(c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, PUSH_USAGE, PUSH_DESCRIPTION,
                       &c, NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;

    if (!kind)
        return cli_bad("push", "--kind is required: request, alert or feedback");
    ev.kind = gl_kind_parse(kind);
    if (!ev.kind)
        return cli_bad("push", "--kind must be request, alert or feedback (got '%s')", kind);
    if (!ev.category)
        return cli_bad("push", "--category is required");
    if (!ev.text)
        return cli_bad("push", "--text is required");
    if (!ev.terminal && c.key_role == KEYS_TERMINAL)
        ev.terminal = c.key_scope; /* a terminal's key names the terminal (its scope) */
    if (!ev.community && !ev.compound && !ev.grid && !ev.terminal)
        return cli_bad("push", "say where: --community, --compound, --grid or --terminal");
    if (cli_check_len("push", "category", ev.category, GL_MAX_ID) ||
        cli_check_len("push", "text", ev.text, GL_MAX_TEXT) ||
        cli_check_len("push", "community", ev.community, GL_MAX_ID) ||
        cli_check_len("push", "compound", ev.compound, GL_MAX_ID) ||
        cli_check_len("push", "grid", ev.grid, GL_MAX_ID) ||
        cli_check_len("push", "terminal", ev.terminal, GL_MAX_ID) ||
        cli_check_len("push", "address", ev.address, GL_MAX_SHORT) ||
        cli_check_len("push", "contact", ev.contact, GL_MAX_SHORT) ||
        (ev.id && cli_check_id("push", "--id", ev.id)))
        return CLI_EXIT_BADINPUT;
    if (cli_check_cap("push", "urgency", &ev.urgency) ||
        cli_check_cap("push", "severity", &ev.severity) ||
        cli_check_cap("push", "certainty", &ev.certainty))
        return CLI_EXIT_BADINPUT;
    if (!lat != !lon)
        return cli_bad("push", "--lat and --lon go together");
    if (lat) {
        if (push_coord("lat", lat, 90, &ev.lat) || push_coord("lon", lon, 180, &ev.lon))
            return CLI_EXIT_BADINPUT;
        ev.has_coords = 1;
    }

    client *cl = NULL;
    if ((rc = cli_connect(&c, c.intake, "push", 0, &cl)) != 0)
        return rc;
    client_filed filed;
    rc = client_submit(cl, &ev, &filed);
    int status;
    if (rc == 0) {
        out_filed(&filed, c.json);
        status = CLI_EXIT_OK;
    } else {
        status = cli_report("push", rc, client_reason(cl), 0);
        if (rc == GL_EBUSY || rc == GL_EUNAVAILABLE)
            fprintf(stderr, "gridline push: event %s is not known to be filed; to try again "
                    "without filing it twice, push with --id %s\n", filed.id, filed.id);
    }
    client_close(&cl);
    return status;
}

#define SHOW_USAGE "gridline show EVENT_ID [--json]"
#define SHOW_DESCRIPTION                                                               \
    "Show an event, its dispatches and its history (asked on the intake endpoint).\n" \
    "Text: a readable block, times in UTC ISO-8601. --json: one line, the event's\n"   \
    "keys plus \"dispatches\": [{event, team, state, ...}] and \"history\":\n"         \
    "[{at, who, what, note, ...}].\n\n" CLI_EXIT_TABLE CLI_EXIT_REFUSED_ROW

int cli_show(int argc, char **argv)
{
    return cli_event_query(argc, argv, "show", SHOW_USAGE, SHOW_DESCRIPTION, client_show, out_show);
}

#define PING_USAGE "gridline ping [--intake EP] [--json]"
#define PING_DESCRIPTION                                                               \
    "Check that the broker answers on the intake endpoint: prints 'pong from EP in\n"   \
    "N ms'.\n\n" CLI_EXIT_TABLE

int cli_ping(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    opt_def defs[] = {CLI_COMMON_ROWS(c)};
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, PING_USAGE, PING_DESCRIPTION,
                       &c, NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    client *cl = NULL;
    if ((rc = cli_connect(&c, c.intake, "ping", 0, &cl)) != 0)
        return rc;
    uint64_t start = clock_mono_ms();
    rc = client_ping(cl);
    int status = CLI_EXIT_OK;
    if (rc == 0)
        out_pong(c.intake, clock_mono_ms() - start, c.json);
    else
        status = cli_report("ping", rc, client_reason(cl), 0);
    client_close(&cl);
    return status;
}
