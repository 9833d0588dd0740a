/* args.c — flag parsing shared by the verbs, value checks, exit statuses. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_bad(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gridline %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_BADINPUT;
}

int cli_check_len(const char *verb, const char *flag, const char *value, size_t max)
{
    if (!value)
        return 0;
    size_t n = strlen(value);
    if (n == 0 || n > max) {
        cli_bad(verb, "--%s must be 1..%zu bytes (got %zu)", flag, max, n);
        return 1;
    }
    return 0;
}

int cli_check_id(const char *verb, const char *flag, const char *value)
{
    if (cli_check_len(verb, flag, value, GL_MAX_ID))
        return 1;
    for (const char *p = value; p && *p; p++)
        if (*p <= ' ' || *p > '~') {
            cli_bad(verb, "%s must be printable ASCII without spaces", flag);
            return 1;
        }
    return 0;
}

static const char *const cli_cap_urgency[] = {"Immediate", "Expected", "Future", "Past",
                                              "Unknown", NULL};
static const char *const cli_cap_severity[] = {"Extreme", "Severe", "Moderate", "Minor",
                                               "Unknown", NULL};
static const char *const cli_cap_certainty[] = {"Observed", "Likely", "Possible", "Unlikely",
                                                "Unknown", NULL};

int cli_check_cap(const char *verb, const char *flag, const char **value)
{
    if (!*value)
        return 0;
    const char *const *values = strcmp(flag, "urgency") == 0    ? cli_cap_urgency
                                : strcmp(flag, "severity") == 0 ? cli_cap_severity
                                                                : cli_cap_certainty;
    for (size_t i = 0; values[i]; i++)
        if (strcasecmp(values[i], *value) == 0) {
            *value = values[i];
            return 0;
        }
    char list[128] = "";
    for (size_t i = 0; values[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "|" : "",
                 values[i]);
    cli_bad(verb, "--%s must be one of %s (got '%s')", flag, list, *value);
    return 1;
}

/* Finds the flag row for an argument "--name" or "--name=value". */
static const opt_def *cli_find(const opt_def *defs, size_t n, const char *arg)
{
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < n; i++)
        if (strlen(defs[i].name) == len && strncmp(defs[i].name, name, len) == 0)
            return &defs[i];
    return NULL;
}

int cli_parse(const opt_def *defs, size_t n, int argc, char **argv, const char *usage,
              const char *description, cli_common *common, const char **positional,
              const char *pos_name)
{
    const char *verb = argv[0];
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return cli_bad(verb, "out of memory");
    int nrest = 0, help = 0;
    rest[nrest++] = argv[0];
    /* The one positional argument is taken out before opts_parse, which
     * knows only flags; a flag's value is never mistaken for it. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            help = 1;
        if (strncmp(a, "--", 2) == 0) {
            rest[nrest++] = argv[i];
            const opt_def *d = cli_find(defs, n, a);
            int takes_value = (d && d->kind != OPT_FLAG) || strcmp(a, "--config") == 0;
            if (takes_value && !strchr(a, '=') && i + 1 < argc)
                rest[nrest++] = argv[++i];
        } else if (positional && !*positional && a[0] != '-') {
            *positional = a;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    rest[nrest] = NULL;
    int rc = opts_parse(defs, n, nrest, rest, usage, description);
    free(rest);
    if (rc == 1)
        return 1;
    if (rc)
        return CLI_EXIT_BADINPUT;
    if (help)
        return 1;
    if (common->timeout_ms <= 0 || common->timeout_ms > 3600000)
        return cli_bad(verb, "--timeout must be 1..3600000 ms (got %ld)", common->timeout_ms);
    if (common->retries < 0 || common->retries > 1000)
        return cli_bad(verb, "--retries must be 0..1000 (got %ld)", common->retries);
    if (!common->intake || !*common->intake || !common->responders || !*common->responders)
        return cli_bad(verb, "--intake and --responders need an endpoint");
    if (positional && !*positional)
        return cli_bad(verb, "missing %s (see gridline %s --help)", pos_name, verb);
    return 0;
}

void cli_client_opts(const cli_common *common, client_opts *o)
{
    client_opts_init(o);
    o->timeout_ms = (int)common->timeout_ms;
    o->retries = (int)common->retries;
    o->busy_retries = (int)common->retries;
}

int cli_exit_for(int err, int refusals)
{
    if (err == 0)
        return CLI_EXIT_OK;
    if (err == GL_ECONFIG)
        return CLI_EXIT_BADINPUT;
    if (refusals && (err == GL_EBADSTATE || (err <= -200 && err > -300)))
        return CLI_EXIT_REFUSED;
    if (err <= -100 && err > -200)
        return CLI_EXIT_BADINPUT;
    if (err == GL_EBUSY)
        return CLI_EXIT_BUSY;
    if (err == GL_EUNAVAILABLE)
        return CLI_EXIT_UNREACHABLE;
    return CLI_EXIT_SERVER;
}

int cli_report(const char *verb, int err, const char *reason, int refusals)
{
    int status = cli_exit_for(err, refusals);
    const char *what = "failed";
    if (err == GL_ECONFIG)
        what = "bad input";
    else if (status == CLI_EXIT_BADINPUT || status == CLI_EXIT_REFUSED)
        what = "refused";
    else if (status == CLI_EXIT_BUSY)
        what = "busy";
    else if (status == CLI_EXIT_UNREACHABLE)
        what = reason && strncmp(reason, "no reply", 8) == 0 ? "broker unreachable"
                                                              : "unavailable";
    if (strcmp(what, "broker unreachable") == 0)
        fprintf(stderr, "gridline %s: %s: %s\n", verb, what, reason);
    else
        fprintf(stderr, "gridline %s: %s: %s (%d): %s\n", verb, what, gl_errname(err), -err,
                reason && *reason ? reason : gl_strerror(err));
    return status;
}
