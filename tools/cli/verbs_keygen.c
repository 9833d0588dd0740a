/* verbs_keygen.c — gridline keygen: a CURVE key pair for a terminal, a team
 * member, an operator, a worker or the broker (proto/PROTOCOL.md,
 * "Security"). The only verb that talks to no endpoint. */
#include "cli.h"

#include "../../common/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYGEN_USAGE "gridline keygen NAME --role ROLE [--scope SCOPE] --keys DIR [--json]"
#define KEYGEN_DESCRIPTION                                                               \
    "Make a CURVE key pair for the principal NAME and write DIR/NAME.pub (public\n"      \
    "key, role, scope: the broker's --keys directory holds these) and DIR/NAME.secret\n" \
    "(the pair, mode 0600: give it to that principal only, for its --key flag).\n"       \
    "Existing files are never overwritten. Roles and their scope:\n"                     \
    "  terminal  --scope TERMINAL_ID: may submit, update, cancel, rate, track and\n"     \
    "            show the events it filed (their terminal field)\n"                      \
    "  member    --scope TEAM_ID: may listen and act for that team only\n"               \
    "  operator  --scope '*' (default): may read: status, show, track, board\n"          \
    "  worker    --scope '*' (default): may connect to the workers endpoint only\n"      \
    "  broker    --scope '*' (default): the broker's own pair, for its\n"                \
    "            --curve-secret; clients name its NAME.pub in --server-key\n"            \
    "Prints the public key (--json: {\"name\",\"role\",\"scope\",\"public_key\",\n"      \
    "\"pub\",\"secret\"}).\n\n"                                                          \
    "exit status:\n  0  written\n  2  bad flags, existing files\n"                        \
    "  5  the files could not be written"

int cli_keygen(int argc, char **argv)
{
    const char *role_name = NULL, *scope = NULL, *dir = NULL, *name = NULL;
    int json = 0;
    const opt_def defs[] = {
        {"role", OPT_STR, NULL, "terminal, member, operator, worker or broker (required)",
         &role_name, NULL},
        {"scope", OPT_STR, NULL, "terminal: its terminal id; member: its team id; others: '*'",
         &scope, NULL},
        {"keys", OPT_STR, NULL, "the keys directory to write to (required)", &dir,
         "GRIDLINE_KEYS"},
        {"json", OPT_FLAG, NULL, "print one JSON object", &json, NULL},
    };
    /* NAME is the one argument that is not a flag or a flag's value. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return cli_bad("keygen", "out of memory");
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0) {
            rest[nrest++] = argv[i];
            int flag = strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--help") == 0;
            if (!flag && !strchr(argv[i], '=') && i + 1 < argc)
                rest[nrest++] = argv[++i];
        } else if (!name && argv[i][0] != '-') {
            name = argv[i];
        } else {
            rest[nrest++] = argv[i];
        }
    }
    rest[nrest] = NULL;
    int rc = opts_parse(defs, GL_ARRAY_LEN(defs), nrest, rest, KEYGEN_USAGE, KEYGEN_DESCRIPTION);
    free(rest);
    if (rc == 1)
        return CLI_EXIT_OK;
    if (rc)
        return CLI_EXIT_BADINPUT;
    if (!name)
        return cli_bad("keygen", "missing NAME (see gridline keygen --help)");
    if (!role_name || !dir)
        return cli_bad("keygen", "--role and --keys are required (see gridline keygen --help)");
    int role = keys_role_parse(role_name);
    if (!role)
        return cli_bad("keygen", "--role must be terminal, member, operator, worker or broker "
                       "(got '%s')", role_name);
    if (!scope) {
        if (role == KEYS_TERMINAL || role == KEYS_MEMBER)
            return cli_bad("keygen", "a %s needs --scope: its %s id", role_name,
                           role == KEYS_TERMINAL ? "terminal" : "team");
        scope = "*";
    }
    keys_pair pair;
    char err[600];
    rc = keys_keygen(dir, name, role, scope, &pair, err, sizeof err);
    if (rc)
        return rc == GL_ECONFIG ? cli_bad("keygen", "%s", err)
                                : (fprintf(stderr, "gridline keygen: %s\n", err), CLI_EXIT_SERVER);
    if (json)
        printf("{\"name\":\"%s\",\"role\":\"%s\",\"scope\":\"%s\",\"public_key\":\"%s\","
               "\"pub\":\"%s/%s.pub\",\"secret\":\"%s/%s.secret\"}\n",
               pair.who.name, role_name, pair.who.scope, pair.who.public_key, dir, name, dir,
               name);
    else
        printf("%s %s %s public key %s\nwrote %s/%s.pub and %s/%s.secret (keep it secret)\n",
               pair.who.name, role_name, pair.who.scope, pair.who.public_key, dir, name, dir,
               name);
    return CLI_EXIT_OK;
}
