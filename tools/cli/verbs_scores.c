/* verbs_scores.c — gridline scores: the service figures per community over
 * a period (SCORES on the intake endpoint, answered by a worker). */
#include "cli.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/clock.h"

#define SCORES_USAGE "gridline scores [--since 7d|today|ISO-8601] [--until now|ISO-8601] [--json]"
#define SCORES_DESCRIPTION                                                              \
    "The three figures the service hotlines are judged by, per community, for the\n"   \
    "events filed in a period: response rate (dispatches acknowledged within their\n" \
    "time limit, of those answered or past it), resolution rate (events resolved,\n"  \
    "of those filed) and satisfaction rate (rated satisfied, of those rated);\n"      \
    "cancelled and merged events are left out (PROTOCOL.md, SCORES). --since and\n"   \
    "--until take a span back from now (90m, 24h, 7d, 4w), today (since 00:00\n"      \
    "UTC), now, or an ISO-8601 UTC time. --json prints one object with since_ms,\n"   \
    "until_ms, scanned, truncated, communities and total.\n\n" CLI_EXIT_TABLE

/* scores_when reads --since / --until: 0, or -1 if malformed. */
static int scores_when(const char *text, uint64_t now, uint64_t *out)
{
    if (strcmp(text, "now") == 0) {
        *out = now;
        return 0;
    }
    if (strcmp(text, "today") == 0) {
        *out = now - now % 86400000ull;
        return 0;
    }
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (end != text && text[0] >= '0' && text[0] <= '9' && end[0] && !end[1]) {
        uint64_t unit = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000 : end[0] == 'h' ? 3600000
                        : end[0] == 'd' ? 86400000 : end[0] == 'w' ? 604800000 : 0;
        if (!unit || n > now / unit)
            return -1;
        *out = now - n * unit;
        return 0;
    }
    return cli_parse_when(text, now, out);
}

static const char *pct(const json_t *f, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(f, key);
    if (!json_is_number(v))
        return "-";
    snprintf(buf, len, "%.1f%%", 100.0 * json_number_value(v));
    return buf;
}

static long long n_of(const json_t *f, const char *key)
{
    return (long long)json_integer_value(json_object_get(f, key));
}

static void scores_row(const char *name, const json_t *f)
{
    char a[16], b[16], c[16], in_time[40], sat[40];
    snprintf(in_time, sizeof in_time, "%lld/%lld", n_of(f, "responded_in_time"), n_of(f, "dispatches"));
    snprintf(sat, sizeof sat, "%lld/%lld", n_of(f, "satisfied"), n_of(f, "rated"));
    printf("%-20s %7lld %9s %11s %13s %12s %9lld %11s %8lld %11lld\n", name, n_of(f, "events"),
           pct(f, "response_rate", a, sizeof a), pct(f, "resolution_rate", b, sizeof b),
           pct(f, "satisfaction_rate", c, sizeof c), in_time, n_of(f, "resolved"), sat,
           n_of(f, "overdue"), n_of(f, "unanswered"));
}

static int scores_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void scores_print(const proto_msg *m, int json)
{
    json_t *communities = out_msgpack_json(m->scores, m->scores_len);
    json_t *total = out_msgpack_json(m->scores_total, m->scores_total_len);
    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "since_ms", json_integer((json_int_t)m->since_ms));
        json_object_set_new(j, "until_ms", json_integer((json_int_t)m->until_ms));
        json_object_set_new(j, "scanned", json_integer((json_int_t)m->scanned));
        json_object_set_new(j, "truncated", json_boolean(m->truncated));
        json_object_set_new(j, "communities", communities ? communities : json_object());
        json_object_set_new(j, "total", total ? total : json_object());
        out_json_line(j);
        return;
    }
    printf("%-20s %7s %9s %11s %13s %12s %9s %11s %8s %11s\n", "community", "events", "response",
           "resolution", "satisfaction", "in time", "resolved", "satisfied", "overdue",
           "unanswered");
    size_t n = json_object_size(communities), i = 0;
    const char **names = n ? calloc(n, sizeof *names) : NULL;
    const char *key;
    json_t *value;
    json_object_foreach(communities, key, value) if (names) names[i++] = key;
    if (names)
        qsort(names, i, sizeof *names, scores_cmp);
    for (size_t k = 0; names && k < i; k++)
        scores_row(names[k], json_object_get(communities, names[k]));
    scores_row("(all)", total);
    if (m->truncated)
        printf("(cut short after %llu events: the figures cover the start of the period)\n",
               (unsigned long long)m->scanned);
    free(names);
    json_decref(communities);
    json_decref(total);
}

int cli_scores(int argc, char **argv)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *since = NULL, *until = NULL;
    opt_def defs[] = {
        CLI_COMMON_ROWS(c),
        {"since", OPT_STR, "7d", "the period's start: 7d, 24h, today, or ISO-8601 UTC", &since, NULL},
        {"until", OPT_STR, "now", "its end (exclusive): now, a span back, or ISO-8601 UTC", &until, NULL},
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, SCORES_USAGE, SCORES_DESCRIPTION,
                       &c, NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    uint64_t now = clock_wall_ms(), from, to;
    if (scores_when(since, now, &from) != 0)
        return cli_bad("scores", "--since '%s': give 7d, 24h, today or an ISO-8601 UTC time", since);
    if (scores_when(until, now, &to) != 0)
        return cli_bad("scores", "--until '%s': give now, a span back or an ISO-8601 UTC time", until);
    if (strcmp(until, "now") == 0)
        to = now + 1; /* what was filed this very millisecond too */
    if (to <= from)
        return cli_bad("scores", "--until must be after --since");
    client *cl = NULL;
    if ((rc = cli_connect(&c, c.intake, "scores", 0, &cl)) != 0)
        return rc;
    proto_msg m;
    gl_arena arena = {0};
    rc = client_scores(cl, from, to, &m, &arena);
    int status = CLI_EXIT_OK;
    if (rc != 0)
        status = cli_report("scores", rc, client_reason(cl), 0);
    else
        scores_print(&m, c.json);
    client_close(&cl);
    arena_free(&arena);
    return status;
}
