/* args.c — flag parsing shared by the verbs, value checks, exit statuses. */
#include "cli.h"

#include "../../common/keys.h"

#include <stdarg.h>
#include <stdint.h>
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

int cli_parse_args(const opt_def *defs, size_t n, int argc, char **argv, const char *usage,
                   const char *description, cli_common *common, const char **positional[],
                   const char *const pos_names[], size_t npos)
{
    const char *verb = argv[0];
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return cli_bad(verb, "out of memory");
    int nrest = 0, help = 0;
    size_t taken = 0;
    rest[nrest++] = argv[0];
    /* The positional arguments are taken out before opts_parse, which
     * knows only flags; a flag's value is never mistaken for one. */
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
        } else if (taken < npos && a[0] != '-') {
            *positional[taken++] = a;
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
    if (taken < npos)
        return cli_bad(verb, "missing %s (see gridline %s --help)", pos_names[taken], verb);
    char err[512];
    if (client_opts_curve(&common->curve, common->key, common->server_key, err, sizeof err))
        return cli_bad(verb, "%s", err);
    keys_pair pair;
    if (common->key && *common->key &&
        keys_parse_file(common->key, 1, &pair, err, sizeof err) == 0) {
        common->key_role = pair.who.role;
        memcpy(common->key_scope, pair.who.scope, sizeof common->key_scope);
        explicit_bzero(&pair, sizeof pair);
    }
    return 0;
}

int cli_parse(const opt_def *defs, size_t n, int argc, char **argv, const char *usage,
              const char *description, cli_common *common, const char **positional,
              const char *pos_name)
{
    const char **pos[1] = {positional};
    const char *const names[1] = {pos_name};
    return cli_parse_args(defs, n, argc, argv, usage, description, common, pos, names,
                          positional ? 1 : 0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): no timegm(), no TZ. */
static int64_t cli_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits at *p into *v. */
static int cli_digits(const char **p, int n, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        *v = *v * 10 + (unsigned)(**p - '0');
    }
    return 0;
}

int cli_parse_when(const char *text, uint64_t now_ms, uint64_t *out)
{
    const char *p = text;
    if (!p || !*p)
        return -1;
    if (*p == '+') {
        char *end;
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        unsigned long long n = strtoull(p, &end, 10);
        uint64_t unit = 0;
        if (end[0] && !end[1])
            unit = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000 : end[0] == 'h' ? 3600000
                 : end[0] == 'd' ? 86400000 : end[0] == 'w' ? 604800000 : 0;
        if (!unit || n == 0 || n > 3650ULL * 86400000 / unit)
            return -1; /* at most ten years ahead */
        *out = now_ms + n * unit;
        return 0;
    }
    /* YYYY-MM-DDTHH:MM[:SS[.fff]]Z (or +00:00): UTC only, so that a time
     * means the same on every machine. */
    unsigned y, mo, d, h, mi, sec = 0, ms = 0;
    if (cli_digits(&p, 4, &y) || *p++ != '-' || cli_digits(&p, 2, &mo) || *p++ != '-' ||
        cli_digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return -1;
    p++;
    if (cli_digits(&p, 2, &h) || *p++ != ':' || cli_digits(&p, 2, &mi))
        return -1;
    if (*p == ':') {
        p++;
        if (cli_digits(&p, 2, &sec))
            return -1;
        if (*p == '.') {
            p++;
            unsigned scale = 100;
            if (*p < '0' || *p > '9')
                return -1;
            for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
                ms += (unsigned)(*p - '0') * scale;
        }
    }
    if (!((p[0] == 'Z' || p[0] == 'z') && !p[1]) && strcmp(p, "+00:00") != 0)
        return -1;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
        return -1;
    int64_t days = cli_days_from_civil(y, mo, d);
    *out = (uint64_t)days * 86400000 + ((uint64_t)h * 3600 + mi * 60 + sec) * 1000 + ms;
    return 0;
}

void cli_client_opts(const cli_common *common, client_opts *o)
{
    client_opts_init(o);
    o->timeout_ms = (int)common->timeout_ms;
    o->retries = (int)common->retries;
    o->busy_retries = (int)common->retries;
    memcpy(o->curve_server_key, common->curve.curve_server_key, sizeof o->curve_server_key);
    memcpy(o->curve_public_key, common->curve.curve_public_key, sizeof o->curve_public_key);
    memcpy(o->curve_secret_key, common->curve.curve_secret_key, sizeof o->curve_secret_key);
}

int cli_exit_for(int err, int refusals)
{
    if (err == 0)
        return CLI_EXIT_OK;
    if (err == GL_ECONFIG)
        return CLI_EXIT_BADINPUT;
    if (err == GL_EFORBIDDEN || (refusals && (err == GL_EBADSTATE || (err <= -200 && err > -300))))
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

int cli_connect(const cli_common *c, const char *endpoint, const char *verb, int refusals,
                client **out)
{
    client_opts o;
    char err[512];
    cli_client_opts(c, &o);
    int rc = client_open(out, endpoint, &o, err, sizeof err);
    return rc ? cli_report(verb, rc, err, refusals) : 0;
}

int cli_event_query(int argc, char **argv, const char *verb, const char *usage,
                    const char *description,
                    int (*call)(client *c, const char *id, proto_msg *out, gl_arena *arena),
                    void (*print)(const proto_msg *m, int json))
{
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *id = NULL;
    opt_def defs[] = {CLI_COMMON_ROWS(c)};
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, usage, description, &c, &id,
                       "EVENT_ID");
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (cli_check_id(verb, "EVENT_ID", id))
        return CLI_EXIT_BADINPUT;
    client *cl = NULL;
    if ((rc = cli_connect(&c, c.intake, verb, 1, &cl)) != 0)
        return rc;
    gl_arena arena = {0};
    proto_msg m;
    rc = call(cl, id, &m, &arena);
    int status = CLI_EXIT_OK;
    if (rc == 0)
        print(&m, c.json);
    else
        status = cli_report(verb, rc, client_reason(cl), 1);
    arena_free(&arena);
    client_close(&cl);
    return status;
}
