/* verbs_responder.c — what a responder does: listen for dispatches, and
 * ack / accept / decline / resolve them. Both talk to the responders
 * endpoint. */
#include "cli.h"
#include "output.h"

#include "../../common/clock.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *verb;
    int cmd;
    const char *what;
} acts[] = {
    {"ack", PROTO_ACK, "Acknowledge a dispatch: a member of the team has seen it."},
    {"accept", PROTO_ACCEPT, "Accept (claim) the event for the team; the first accept wins."},
    {"decline", PROTO_DECLINE, "Decline the dispatch; --note (the reason) is required."},
    {"resolve", PROTO_RESOLVE, "Resolve the event the team accepted."},
};

#define ACT_DESCRIPTION_TAIL                                                           \
    "\n\nPrints 'VERB EVENT team TEAM: dispatch STATE, event STATE'; --json prints\n"  \
    "{\"event\",\"team\",\"act\",\"state\",\"event_state\"}. Acting twice is harmless; " \
    "a\nrequest with no reply is resent on a fresh connection.\n\n"                   \
    CLI_EXIT_TABLE CLI_EXIT_REFUSED_ROW

int cli_act(int argc, char **argv)
{
    const char *verb = argv[0];
    size_t which = 0;
    while (which < GL_ARRAY_LEN(acts) && strcmp(acts[which].verb, verb) != 0)
        which++;
    if (which == GL_ARRAY_LEN(acts))
        return cli_bad(verb, "not an act");
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *team = NULL, *event = NULL, *member = NULL, *note = NULL;
    opt_def defs[] = {
        {"team", OPT_STR, NULL, "the team acting (required)", &team, NULL},
        {"event", OPT_STR, NULL, "the event id (required)", &event, NULL},
        {"member", OPT_STR, NULL, "the member of the team who acts", &member, NULL},
        {"note", OPT_STR, NULL,
         acts[which].cmd == PROTO_DECLINE ? "the reason (required)" : "a note for the history",
         &note, NULL},
        CLI_COMMON_ROWS(c),
    };
    char usage[200], description[2048];
    snprintf(usage, sizeof usage, "gridline %s --team ID --event EVENT_ID [--member M] "
             "[--note T] [--json]", verb);
    snprintf(description, sizeof description, "%s%s", acts[which].what, ACT_DESCRIPTION_TAIL);
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, usage, description, &c, NULL,
                       NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (!team || !event)
        return cli_bad(verb, "--team and --event are required");
    if (acts[which].cmd == PROTO_DECLINE && (!note || !*note))
        return cli_bad(verb, "--note is required: the reason for declining");
    if (cli_check_len(verb, "team", team, GL_MAX_ID) || cli_check_id(verb, "--event", event) ||
        cli_check_len(verb, "member", member, GL_MAX_ID) ||
        cli_check_len(verb, "note", note, GL_MAX_TEXT))
        return CLI_EXIT_BADINPUT;

    client_opts o;
    cli_client_opts(&c, &o);
    client *cl = NULL;
    char err[512];
    rc = client_open(&cl, c.responders, &o, err, sizeof err);
    if (rc)
        return cli_report(verb, rc, err, 1);
    client_result result;
    rc = client_act(cl, acts[which].cmd, event, team, member, note, &result);
    int status = CLI_EXIT_OK;
    if (rc == 0)
        out_result(verb, event, team, &result, c.json);
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
