/* verbs_responder.c — what a responder does: listen for dispatches, and act
 * on them: ack / accept / decline / resolve, and the county's workflow acts
 * (claim, release, return, redirect, confirm, dispute, extend, approve,
 * merge). All talk to the responders endpoint. */
#include "cli.h"
#include "output.h"

#include "../../common/clock.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* What an act needs besides --team, --event, --member and --note. */
enum { ACT_PLAIN = 0, ACT_NOTE = 1, ACT_TO = 2, ACT_INTO = 4, ACT_UNTIL = 8 };

static const struct {
    const char *verb;
    int cmd;
    int needs;
    const char *what;
} acts[] = {
    {"ack", PROTO_ACK, ACT_PLAIN, "Acknowledge a dispatch: a member of the team has seen it."},
    {"accept", PROTO_ACCEPT, ACT_PLAIN,
     "Accept (claim) the event for the team; the first accept wins."},
    {"decline", PROTO_DECLINE, ACT_NOTE, "Decline the dispatch; --note (the reason) is required."},
    {"resolve", PROTO_RESOLVE, ACT_PLAIN, "Resolve the event the team accepted."},
    {"claim", PROTO_CLAIM, ACT_PLAIN,
     "Claim a request from the community's board (gridline board): a micro-wish,\n"
     "a service order, help with daily life. The first claim wins and holds a\n"
     "lease, printed as ', lease until ISO-TIME'; claiming again extends it. When\n"
     "the lease runs out, or the claimer releases it, the request goes back on the\n"
     "board and the other claim teams are told (NOTICE 'open')."},
    {"release", PROTO_RELEASE, ACT_PLAIN,
     "Give back a request this team claimed: it goes back on the board and the\n"
     "other claim teams are told it is open again."},
    {"return", PROTO_RETURN, ACT_NOTE,
     "Return the event as not this team's (退单: wrong territory, not our\n"
     "function); --note (the reason) is required. The dispatch becomes 'returned'\n"
     "and the event goes to county triage, which re-routes it (gridline redirect);\n"
     "the history names who returned it and why."},
    {"redirect", PROTO_REDIRECT, ACT_TO,
     "County triage, the community office or a coordinator gives the event to\n"
     "--to TEAM (a team of the directory), which gets a dispatch of role\n"
     "'assigned'. Triage's own dispatch is then done (resolved)."},
    {"confirm", PROTO_CONFIRM, ACT_PLAIN,
     "The owners' committee confirms that the property side resolved the\n"
     "feedback (三方联动); the community office is told."},
    {"dispute", PROTO_DISPUTE, ACT_NOTE,
     "The owners' committee disputes the property side's resolution; --note (the\n"
     "reason) is required. The event reopens to the property side and goes to the\n"
     "community office."},
    {"extend", PROTO_EXTEND, ACT_NOTE | ACT_UNTIL,
     "Ask for more time: the due time of the event should move to --until WHEN;\n"
     "--note (the reason) is required. WHEN is ISO-8601 UTC\n"
     "('2026-12-01T08:00:00Z') or from now ('+90m', '+2h', '+3d'). The community\n"
     "office (or the county coordinators) is told and grants it with gridline\n"
     "approve."},
    {"approve", PROTO_APPROVE, ACT_PLAIN,
     "The community office or the county coordinators grant the extension the\n"
     "working team asked for: the new due time is recorded and the team told."},
    {"merge", PROTO_MERGE, ACT_INTO,
     "Mark the event as a duplicate of --into EVENT_ID (same place, same\n"
     "problem): it becomes merged, its live dispatches are cancelled and its\n"
     "teams told; its reporter follows the original (gridline track). A team it\n"
     "was dispatched to, the community office or duty team, or the county\n"
     "coordinators may merge."},
};

#define ACT_DESCRIPTION_TAIL                                                           \
    "\n\nPrints 'VERB EVENT team TEAM: dispatch STATE, event STATE' (and ', lease\n"   \
    "until ISO-TIME' when the event is claimed); --json prints {\"event\",\"team\",\n" \
    "\"act\",\"state\",\"event_state\"} plus \"until_ms\"/\"until\" (the lease), \"to\",\n" \
    "\"into\" or \"extension_ms\"/\"extension\". Acting twice is harmless; a request\n"  \
    "with no reply is resent on a fresh connection.\n\n"                               \
    CLI_EXIT_TABLE CLI_EXIT_REFUSED_ROW

int cli_act(int argc, char **argv)
{
    const char *verb = argv[0];
    size_t which = 0;
    while (which < GL_ARRAY_LEN(acts) && strcmp(acts[which].verb, verb) != 0)
        which++;
    if (which == GL_ARRAY_LEN(acts))
        return cli_bad(verb, "not an act");
    int needs = acts[which].needs;
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *team = NULL, *event = NULL, *member = NULL, *note = NULL, *to = NULL,
               *into = NULL, *until = NULL;
    opt_def defs[16] = {
        {"team", OPT_STR, NULL, "the team acting (required)", &team, NULL},
        {"event", OPT_STR, NULL, "the event id (required)", &event, NULL},
        {"member", OPT_STR, NULL, "the member of the team who acts", &member, NULL},
        {"note", OPT_STR, NULL,
         needs & ACT_NOTE ? "the reason (required)" : "a note for the history", &note, NULL},
    };
    size_t n = 4;
    if (needs & ACT_TO)
        defs[n++] = (opt_def){"to", OPT_STR, NULL, "the team that gets the event (required)",
                              &to, NULL};
    if (needs & ACT_INTO)
        defs[n++] = (opt_def){"into", OPT_STR, NULL,
                              "the id of the event this one duplicates (required)", &into, NULL};
    if (needs & ACT_UNTIL)
        defs[n++] = (opt_def){"until", OPT_STR, NULL,
                              "the new due time: ISO-8601 UTC, or +90m, +2h, +3d (required)",
                              &until, NULL};
    const opt_def common[] = {CLI_COMMON_ROWS(c)};
    for (size_t i = 0; i < GL_ARRAY_LEN(common); i++)
        defs[n++] = common[i];

    char usage[256], description[4096];
    snprintf(usage, sizeof usage, "gridline %s --team ID --event EVENT_ID%s%s%s [--member M] "
             "%s [--json]", verb, needs & ACT_TO ? " --to TEAM" : "",
             needs & ACT_INTO ? " --into EVENT_ID" : "", needs & ACT_UNTIL ? " --until WHEN" : "",
             needs & ACT_NOTE ? "--note REASON" : "[--note T]");
    snprintf(description, sizeof description, "%s%s", acts[which].what, ACT_DESCRIPTION_TAIL);
    int rc = cli_parse(defs, n, argc, argv, usage, description, &c, NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (!team || !event)
        return cli_bad(verb, "--team and --event are required");
    if ((needs & ACT_NOTE) && (!note || !*note))
        return cli_bad(verb, "--note is required: the reason");
    if ((needs & ACT_TO) && !to)
        return cli_bad(verb, "--to is required: the team that gets the event");
    if ((needs & ACT_INTO) && !into)
        return cli_bad(verb, "--into is required: the event this one duplicates");
    if ((needs & ACT_UNTIL) && !until)
        return cli_bad(verb, "--until is required: the new due time");
    if (cli_check_len(verb, "team", team, GL_MAX_ID) || cli_check_id(verb, "--event", event) ||
        cli_check_len(verb, "member", member, GL_MAX_ID) ||
        cli_check_len(verb, "note", note, GL_MAX_TEXT) ||
        cli_check_len(verb, "to", to, GL_MAX_ID) || (into && cli_check_id(verb, "--into", into)))
        return CLI_EXIT_BADINPUT;
    out_act_extra extra = {to, into, 0};
    if (until) {
        uint64_t now = clock_wall_ms();
        if (cli_parse_when(until, now, &extra.extension_ms) != 0)
            return cli_bad(verb, "--until must be an ISO-8601 UTC time like "
                           "2026-12-01T08:00:00Z, or +90m, +2h, +3d (got '%s')", until);
        if (extra.extension_ms <= now)
            return cli_bad(verb, "--until must be in the future (got '%s')", until);
    }

    client *cl = NULL;
    if ((rc = cli_connect(&c, c.responders, verb, 1, &cl)) != 0)
        return rc;
    client_result result;
    switch (acts[which].cmd) {
    case PROTO_REDIRECT:
        rc = client_redirect(cl, event, team, to, member, note, &result);
        break;
    case PROTO_MERGE:
        rc = client_merge(cl, event, team, into, member, note, &result);
        break;
    case PROTO_EXTEND:
        rc = client_extend(cl, event, team, extra.extension_ms, member, note, &result);
        break;
    default:
        rc = client_act(cl, acts[which].cmd, event, team, member, note, &result);
        break;
    }
    int status = CLI_EXIT_OK;
    if (rc == 0)
        out_result(verb, event, team, &result, &extra, c.json);
    else
        status = cli_report(verb, rc, client_reason(cl), 1);
    client_close(&cl);
    return status;
}

static volatile sig_atomic_t listen_stop;

static void listen_on_signal(int sig)
{
    (void)sig;
    listen_stop = 1;
}

#define LISTEN_USAGE                                                                   \
    "gridline listen --team ID [--member NAME] [--json] [--ack] [--count N] "          \
    "[--for SECONDS]"
#define LISTEN_DESCRIPTION                                                             \
    "Say HELLO as a member of a team on the responders endpoint and print what the\n" \
    "broker sends: the team's pending dispatches first, then new dispatches and\n"     \
    "notices, one line each: 'notice EVENT team TEAM: WHAT[ by BY][: NOTE]'. WHAT is\n" \
    "taken (another team accepted: BY), updated or cancelled (by its terminal: BY),\n" \
    "and for coordinators acked, accepted, declined, resolved (BY: the squad or\n"    \
    "team), escalated (NOTE: the plan step now called and why) and unanswered (the\n" \
    "plan is exhausted: an alarm). --json prints one object per line:\n"              \
    "{\"type\":\"dispatch\", event, seq, team, role, state, attempts, detail} or\n"     \
    "{\"type\":\"notice\", event, team, what, note, by}. Heartbeats are answered;\n" \
    "when the broker is silent for 3 heartbeat intervals, listen reconnects and\n"    \
    "says HELLO again (a dispatch may then be printed twice). --ack acknowledges\n"   \
    "each printed dispatch that is still pending, over a second connection. Exits\n" \
    "0 on SIGINT or SIGTERM, after --count dispatches (notices are not counted), or\n" \
    "after --for seconds.\n\n"                                                         \
    CLI_EXIT_TABLE CLI_EXIT_REFUSED_ROW

int cli_listen(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *team = NULL, *member = NULL;
    int ack = 0;
    long count = 0, for_s = 0;
    opt_def defs[] = {
        {"team", OPT_STR, NULL, "the team to listen for (required)", &team, NULL},
        {"member", OPT_STR, NULL, "member name (default: HOSTNAME-PID)", &member, NULL},
        {"ack", OPT_FLAG, NULL, "acknowledge each dispatch printed", &ack, NULL},
        {"count", OPT_INT, "0", "exit after N dispatches (0: no limit)", &count, NULL},
        {"for", OPT_INT, "0", "exit after SECONDS (0: no limit)", &for_s, NULL},
        CLI_COMMON_ROWS(c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, LISTEN_USAGE,
                       LISTEN_DESCRIPTION, &c, NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (!team)
        return cli_bad("listen", "--team is required");
    if (cli_check_len("listen", "team", team, GL_MAX_ID) ||
        cli_check_len("listen", "member", member, GL_MAX_ID))
        return CLI_EXIT_BADINPUT;
    if (count < 0 || for_s < 0 || for_s > 100L * 365 * 86400)
        return cli_bad("listen", "--count and --for must be 0 or more");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = listen_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    client_opts o;
    cli_client_opts(&c, &o);
    o.stop = &listen_stop;
    client_listener *l = NULL;
    char err[512];
    rc = client_listen_open(&l, c.responders, team, member, &o, err, sizeof err);
    if (rc)
        return listen_stop ? CLI_EXIT_OK : cli_report("listen", rc, err, 1);

    uint64_t until = for_s ? clock_mono_ms() + (uint64_t)for_s * 1000 : UINT64_MAX;
    long seen = 0;
    int status = CLI_EXIT_OK;
    gl_arena arena = {0};
    /* Short waits, so that a signal arriving between two waits is noticed
     * soon even though the wait itself may have started after it. */
    while (!listen_stop && (!count || seen < count)) {
        uint64_t now = clock_mono_ms();
        if (now >= until)
            break;
        int slice = until - now < 200 ? (int)(until - now) : 200;
        proto_msg m;
        arena_reset(&arena);
        rc = client_listen_next(l, slice, &m, &arena);
        if (rc) {
            status = cli_report("listen", rc, client_listen_reason(l), 1);
            break;
        }
        if (m.cmd == PROTO_NOTICE) {
            out_notice(&m, c.json);
        } else if (m.cmd == PROTO_DISPATCH) {
            out_dispatch(&m, c.json);
            seen++;
            if (ack && m.state == GL_DS_PENDING) {
                client_result r;
                rc = client_listen_act(l, PROTO_ACK, m.event, NULL, &r);
                if (rc)
                    fprintf(stderr, "gridline listen: ack of %s failed: %s (%d): %s\n",
                            m.event, gl_errname(rc), -rc, client_listen_reason(l));
            }
        }
    }
    arena_free(&arena);
    client_listen_close(&l);
    return status;
}
