/* cli.h — what the files of bin/gridline share: the verbs, the flags every
 * verb takes, the exit statuses, and the error report.
 *
 * main.c picks the verb; args.c holds the flag tables' shared rows and the
 * checks on flag values; output.c prints text and JSON, output_status.c the
 * service's figures. verbs_terminal.c (push, show, ping), verbs_change.c
 * (update, cancel), verbs_followup.c (rate, track; and board, which asks on
 * the responders endpoint) and verbs_status.c (status, top) talk to the
 * intake endpoint, and so does verbs_scores.c (scores); verbs_responder.c (listen, ack, accept, decline, resolve
 * and the workflow acts claim ... merge) to the responders endpoint. The CLI
 * never opens the store — every verb needs nothing but the endpoints —
 * except verbs_fsck.c (fsck), which checks it read-only on its machine. */
#ifndef GL_CLI_H
#define GL_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/opts.h"
#include "../../proto/client.h"

#define CLI_DEFAULT_INTAKE "tcp://127.0.0.1:7401"
#define CLI_DEFAULT_RESPONDERS "tcp://127.0.0.1:7402"

/* Exit statuses: a contract with scripts (printed by --help). */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_BADINPUT = 2,    /* bad flags, or the server refused the input (1xx) */
    CLI_EXIT_BUSY = 3,        /* still busy after the retries */
    CLI_EXIT_UNREACHABLE = 4, /* no answer after the retries, or no worker */
    CLI_EXIT_SERVER = 5,      /* other server errors (storage, internal) */
    CLI_EXIT_REFUSED = 6,     /* not_found, taken, not_yours, bad_state */
};

/* The exit-status table as printed by --help; verbs that act on an existing
 * event add the refused row. */
#define CLI_EXIT_TABLE                                                                 \
    "exit status:\n"                                                                  \
    "  0  done\n"                                                                     \
    "  2  bad input: bad flags, or the server refused the input with a 1xx error\n"   \
    "     (its code name and reason are printed on stderr)\n"                         \
    "  3  busy: the server answered busy to every try\n"                              \
    "  4  broker unreachable: no reply after the retries (every try resends the same\n" \
    "     request on a fresh connection), or the broker has no worker (unavailable)\n" \
    "  5  other server errors (storage_full, storage_error, internal)"
#define CLI_EXIT_REFUSED_ROW                                                           \
    "\n  6  refused: not_found (200), taken (201), not_yours (202), bad_state (108),\n" \
    "     forbidden (203)"

/* The flags every verb takes. */
typedef struct cli_common {
    const char *intake;
    const char *responders;
    long timeout_ms;
    long retries;
    int json;
    const char *key, *server_key; /* CURVE: own .secret file, broker's public key */
    client_opts curve;            /* the keys read from them by cli_parse */
    int key_role;                 /* --key's keys_role and scope (0: no key) */
    char key_scope[GL_MAX_ID + 1];
} cli_common;

/* CLI_COMMON_ROWS are the opt_def rows of the flags every verb takes, bound
 * to the cli_common c. */
#define CLI_COMMON_ROWS(c)                                                             \
    {"intake", OPT_STR, CLI_DEFAULT_INTAKE,                                            \
     "intake endpoint (push, update, cancel, rate, track, show, status, top, ping)",  \
     &(c).intake,                                                                      \
     "GRIDLINE_INTAKE"},                                                               \
    {"responders", OPT_STR, CLI_DEFAULT_RESPONDERS,                                    \
     "responders endpoint (listen, board and the acts: ack, claim, ...)",             \
     &(c).responders,                                                                  \
     "GRIDLINE_RESPONDERS"},                                                           \
    {"timeout", OPT_INT, "2500", "ms to wait for a reply before resending on a fresh " \
     "socket", &(c).timeout_ms, NULL},                                                 \
    {"retries", OPT_INT, "5", "resends after no reply, and after each busy reply",    \
     &(c).retries, NULL},                                                              \
    {"json", OPT_FLAG, NULL, "print one JSON object per line", &(c).json, NULL},        \
    {"key", OPT_STR, NULL, "this principal's key pair (NAME.secret from gridline "     \
     "keygen): CURVE on tcp:// endpoints, with --server-key", &(c).key, "GRIDLINE_KEY"}, \
    {"server-key", OPT_STR, NULL, "the broker's public key: 40 characters of Z85, or "  \
     "its .pub file", &(c).server_key, "GRIDLINE_SERVER_KEY"}

/* cli_parse runs opts_parse on a verb's argv (argv[0] is the verb) and checks
 * the common flags. positional: NULL, or where to put the one non-flag
 * argument the verb takes (then it is required; its name is pos_name).
 * Returns 0 to go on, 1 after --help (exit 0), or CLI_EXIT_BADINPUT after
 * printing why. */
int cli_parse(const opt_def *defs, size_t n, int argc, char **argv, const char *usage,
              const char *description, cli_common *common, const char **positional,
              const char *pos_name);

/* cli_parse_args is cli_parse for a verb with npos positional arguments, all
 * required: the first non-flag argument goes to *positional[0] (named
 * pos_names[0] in the message when missing), the next to *positional[1]. */
int cli_parse_args(const opt_def *defs, size_t n, int argc, char **argv, const char *usage,
                   const char *description, cli_common *common, const char **positional[],
                   const char *const pos_names[], size_t npos);

/* cli_parse_when reads a time given on the command line: ISO-8601 UTC
 * ("2026-12-01T08:00:00Z", seconds and milliseconds optional, "+00:00"
 * accepted for "Z") or an offset from now_ms ("+90m", "+2h", "+3d"; also
 * "s" and "w"; at most ten years). Sets *out to wall-clock ms since the
 * epoch; returns 0, or -1 for anything else (local times are refused: the
 * same text must mean the same instant on every machine). */
int cli_parse_when(const char *text, uint64_t now_ms, uint64_t *out);

/* cli_client_opts turns the common flags into client options. */
void cli_client_opts(const cli_common *common, client_opts *o);

/* cli_exit_for maps a GL_E* result to an exit status; refusals: 1 for verbs
 * that act on an existing event, where not_found/taken/not_yours/bad_state
 * mean "refused" (exit 6; other 1xx → 2), 0 for push (1xx → 2, 2xx → 5). */
int cli_exit_for(int err, int refusals);

/* cli_report prints "gridline VERB: what: name (code): reason" to stderr for
 * err and returns cli_exit_for(err, refusals). */
int cli_report(const char *verb, int err, const char *reason, int refusals);

/* cli_bad prints "gridline VERB: message" to stderr; returns CLI_EXIT_BADINPUT. */
int cli_bad(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_check_len: NULL or 1..max bytes; else prints why and returns nonzero. */
int cli_check_len(const char *verb, const char *flag, const char *value, size_t max);

/* cli_check_id: an event id (1..GL_MAX_ID printable ASCII, no spaces). */
int cli_check_id(const char *verb, const char *flag, const char *value);

/* cli_check_cap accepts a CAP 1.2 value for flag ("urgency", "severity" or
 * "certainty") in any case and replaces *value with its canonical spelling
 * ("extreme" → "Extreme"); NULL stays NULL. Otherwise it prints the allowed
 * values and returns nonzero. */
int cli_check_cap(const char *verb, const char *flag, const char **value);

/* cli_connect opens a client on endpoint with the common flags' options.
 * Returns 0 and *out, or the exit status after reporting why (as verb;
 * refusals as for cli_exit_for). */
int cli_connect(const cli_common *c, const char *endpoint, const char *verb, int refusals,
                client **out);

/* cli_event_query runs a verb that asks the intake endpoint about one event
 * (show, track): parse the common flags and EVENT_ID, call, print with
 * print(m, json). Returns the exit status. */
int cli_event_query(int argc, char **argv, const char *verb, const char *usage,
                    const char *description,
                    int (*call)(client *c, const char *id, proto_msg *out, gl_arena *arena),
                    void (*print)(const proto_msg *m, int json));

/* The verbs: each takes its own argv (argv[0] is the verb) and returns the
 * exit status. */
int cli_push(int argc, char **argv);
int cli_update(int argc, char **argv);
int cli_cancel(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_ping(int argc, char **argv);
int cli_act(int argc, char **argv);
int cli_listen(int argc, char **argv);
int cli_board(int argc, char **argv);
int cli_rate(int argc, char **argv);
int cli_track(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_top(int argc, char **argv);
int cli_keygen(int argc, char **argv);
/* verbs_list.c (issue 5): history queries and dead letters, intake endpoint */
int cli_list(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_deadletters(int argc, char **argv);
int cli_requeue(int argc, char **argv);
int cli_close_dead(int argc, char **argv);
/* verbs_fsck.c: gridline fsck, the store's consistency check (opens the
 * store read-only; exit 0 consistent, 1 problems, 2 error). */
int cli_fsck(int argc, char **argv);
int cli_scores(int argc, char **argv); /* verbs_scores.c */

#endif
