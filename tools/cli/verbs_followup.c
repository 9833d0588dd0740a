/* verbs_followup.c — what comes after filing: a terminal rates the outcome
 * of its event and tracks what became of it (intake endpoint), and a
 * volunteer looks at the community's claim board (responders endpoint). */
#include "cli.h"
#include "output.h"

#include <stdio.h>
#include <string.h>

#define FOLLOWUP_EXIT_TABLE                                                            \
    CLI_EXIT_TABLE "\n"                                                                \
    "  6  refused: not_found (200) no such event, not_yours (202) --terminal is not\n" \
    "     the terminal that filed it, bad_state (108) the event is not resolved"

#define RATE_USAGE                                                                     \
    "gridline rate EVENT_ID satisfied|unsatisfied [--note T] [--terminal ID] [--json]"
#define RATE_DESCRIPTION                                                               \
    "Rate the outcome of a resolved event, as its terminal (or the resident\n"         \
    "through it), on the intake endpoint. 'satisfied' closes the event;\n"             \
    "'unsatisfied' reopens it to the team that resolved it, with --note as the\n"      \
    "reason, and its time limits start again. An event nobody rates closes by\n"       \
    "itself after a while. With --terminal the service checks that this terminal\n"   \
    "filed the event. Prints 'rated ID seq N (KIND) RATING: state STATE'; --json\n"   \
    "prints {\"id\",\"seq\",\"kind\",\"state\",\"rating\"}. Rating satisfied again gives\n" \
    "the same answer; once an unsatisfied rating has reopened the event, rating\n"     \
    "it again is refused (bad_state) until it is resolved again.\n\n"                  \
    FOLLOWUP_EXIT_TABLE

int cli_rate(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *id = NULL, *rating = NULL, *note = NULL, *terminal = NULL;
    opt_def defs[] = {
        {"note", OPT_STR, NULL, "why, for the team (with unsatisfied: the reason it reopens)",
         &note, NULL},
        {"terminal", OPT_STR, NULL, "this terminal's id (checked against the event's)",
         &terminal, NULL},
        CLI_COMMON_ROWS(c),
    };
    const char **pos[] = {&id, &rating};
    static const char *const names[] = {"EVENT_ID", "the rating (satisfied or unsatisfied)"};
    int rc = cli_parse_args(defs, GL_ARRAY_LEN(defs), argc, argv, RATE_USAGE, RATE_DESCRIPTION,
                            &c, pos, names, 2);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (cli_check_id("rate", "EVENT_ID", id) || cli_check_len("rate", "note", note, GL_MAX_TEXT) ||
        cli_check_len("rate", "terminal", terminal, GL_MAX_ID))
        return CLI_EXIT_BADINPUT;
    if (strcmp(rating, "satisfied") != 0 && strcmp(rating, "unsatisfied") != 0)
        return cli_bad("rate", "the rating must be satisfied or unsatisfied (got '%s')", rating);

    client *cl = NULL;
    if ((rc = cli_connect(&c, c.intake, "rate", 1, &cl)) != 0)
        return rc;
    client_filed changed;
    rc = client_rate(cl, id, terminal, rating, note, &changed);
    int status = CLI_EXIT_OK;
    if (rc == 0)
        out_rated(&changed, rating, c.json);
    else
        status = cli_report("rate", rc, client_reason(cl), 1);
    client_close(&cl);
    return status;
}

#define TRACK_USAGE "gridline track EVENT_ID [--json]"
#define TRACK_DESCRIPTION                                                              \
    "What became of an event, as its reporter may know it (asked on the intake\n"     \
    "endpoint), in the manner of an Open311 GeoReport v2 service request:\n"           \
    "  service_request_id  the event id\n"                                             \
    "  status              open (filed, dispatched, accepted) or closed (resolved,\n" \
    "                      closed, cancelled, merged), with the exact state\n"         \
    "  agency_responsible  the team that holds it\n"                                   \
    "  expected_datetime   when it is due (UTC)\n"                                     \
    "  updated_datetime    when it last changed (UTC)\n"                               \
    "  status_notes        the latest note of its history\n"                           \
    "  duplicate_of        the event it was merged into, whose work it follows\n"      \
    "--json prints one object with these keys (null when unknown; duplicate_of only\n" \
    "when set) plus \"state\", \"service_code\" (category), \"description\", \"address\",\n" \
    "\"lat\"/\"long\", \"requested_datetime\", \"kind\" and \"seq\". The reporter's\n"  \
    "contact is never shown.\n\n" CLI_EXIT_TABLE "\n"                                  \
    "  6  refused: not_found (200) no such event"

int cli_track(int argc, char **argv)
{
    return cli_event_query(argc, argv, "track", TRACK_USAGE, TRACK_DESCRIPTION, client_track, out_track);
}

#define BOARD_USAGE "gridline board --community ID [--json]"
#define BOARD_DESCRIPTION                                                              \
    "What is open to claim in a community (asked on the responders endpoint): its\n" \
    "claimable requests — micro-wishes, service orders, help with daily life —\n"      \
    "that are dispatched and held by nobody, oldest first. Text: a header line\n"      \
    "'board COMMUNITY: N open to claim', then one line per request: 'ID seq N\n"       \
    "CATEGORY at GRID since ISO-TIME[ due ISO-TIME]: TEXT'. --json: one object per\n" \
    "request and line, with the event's keys (id, seq, kind, state, category, grid,\n" \
    "text, created_ms, due_ms, ...) and \"created\" (UTC). The reporter's contact is\n" \
    "never shown. Claim one with gridline claim.\n\n" CLI_EXIT_TABLE

int cli_board(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *community = NULL;
    opt_def defs[] = {
        {"community", OPT_STR, NULL, "the community id (required)", &community, NULL},
        CLI_COMMON_ROWS(c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, BOARD_USAGE, BOARD_DESCRIPTION,
                       &c, NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (!community)
        return cli_bad("board", "--community is required");
    if (cli_check_len("board", "community", community, GL_MAX_ID))
        return CLI_EXIT_BADINPUT;
    client *cl = NULL;
    if ((rc = cli_connect(&c, c.responders, "board", 0, &cl)) != 0)
        return rc;
    gl_arena arena = {0};
    proto_msg m;
    rc = client_board(cl, community, &m, &arena);
    int status = CLI_EXIT_OK;
    if (rc == 0)
        out_board(community, &m, c.json);
    else
        status = cli_report("board", rc, client_reason(cl), 0);
    arena_free(&arena);
    client_close(&cl);
    return status;
}
