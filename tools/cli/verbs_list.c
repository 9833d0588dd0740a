/* verbs_list.c — the operators' history queries and dead letters (issue 5):
 * list, export, deadletters, requeue and close-dead, all on the intake
 * endpoint (LIST and REQUEUE in PROTOCOL.md). */
#include "cli.h"
#include "output.h"

#include "../../common/clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE 100 /* events asked for per LIST */

/* --- times: ISO 8601 UTC, a date, or an age ("7d", "24h") --- */

/* when_arg reads --since/--until: "2026-11-01T00:00:00Z", "2026-11-01"
 * (midnight UTC), or a time ago: "90m", "24h", "7d", "2w" (also with a
 * leading "-"). 0 or -1. */
static int when_arg(const char *text, uint64_t now, uint64_t *out)
{
    char buf[40];
    size_t n = strlen(text);
    const char *p = text[0] == '-' ? text + 1 : text;
    char *end;
    if (*p >= '0' && *p <= '9') {
        unsigned long long v = strtoull(p, &end, 10);
        uint64_t unit = 0;
        if (end != p && end[0] && !end[1])
            unit = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000 : end[0] == 'h' ? 3600000
                 : end[0] == 'd' ? 86400000 : end[0] == 'w' ? 604800000 : 0;
        if (unit) {
            if (v > now / unit)
                return -1;
            *out = now - v * unit;
            return 0;
        }
    }
    if (n == 10 && text[4] == '-' && text[7] == '-') {
        snprintf(buf, sizeof buf, "%sT00:00:00Z", text);
        text = buf;
    }
    if (text[0] == '+')
        return -1; /* a history query looks back */
    return cli_parse_when(text, now, out);
}

/* --- the filters every query verb takes --- */

typedef struct list_args {
    cli_common c;
    const char *kind, *state, *community, *grid, *team, *since, *until, *after, *format,
        *output;
    int overdue, dead, all;
    long limit;
    client_list_query q;
} list_args;

#define LIST_FILTER_ROWS(a)                                                                 \
    {"kind", OPT_STR, NULL, "request, alert or feedback", &(a).kind, NULL},                 \
    {"state", OPT_STR, NULL, "filed, dispatched, accepted, resolved, closed, cancelled or " \
     "merged", &(a).state, NULL},                                                           \
    {"community", OPT_STR, NULL, "the community id", &(a).community, NULL},                \
    {"grid", OPT_STR, NULL, "the grid id", &(a).grid, NULL},                                \
    {"team", OPT_STR, NULL, "a team the event was dispatched to", &(a).team, NULL},         \
    {"since", OPT_STR, NULL, "filed at or after: ISO 8601 UTC (2026-11-01T00:00:00Z), a "   \
     "date (2026-11-01) or an age (7d, 24h, 90m, 2w)", &(a).since, NULL},                   \
    {"until", OPT_STR, NULL, "filed before (same forms)", &(a).until, NULL},                \
    {"overdue", OPT_FLAG, NULL, "only overdue events (alarm overdue)", &(a).overdue, NULL}

static int check_filters(const char *verb, list_args *a)
{
    uint64_t now = clock_wall_ms();
    memset(&a->q, 0, sizeof a->q);
    if (a->kind && !(a->q.kind = gl_kind_parse(a->kind)))
        return cli_bad(verb, "--kind must be request, alert or feedback, not '%s'", a->kind);
    if (a->state && !(a->q.state = gl_event_state_parse(a->state)))
        return cli_bad(verb, "--state must be filed, dispatched, accepted, resolved, closed, "
                       "cancelled or merged, not '%s'", a->state);
    if (cli_check_len(verb, "community", a->community, GL_MAX_ID) ||
        cli_check_len(verb, "grid", a->grid, GL_MAX_ID) ||
        cli_check_len(verb, "team", a->team, GL_MAX_ID) ||
        cli_check_len(verb, "after", a->after, GL_MAX_SHORT))
        return CLI_EXIT_BADINPUT;
    if (a->since && when_arg(a->since, now, &a->q.since_ms) != 0)
        return cli_bad(verb, "--since '%s': give an ISO 8601 UTC time (2026-11-01T08:00:00Z), "
                       "a date (2026-11-01) or an age (7d, 24h)", a->since);
    if (a->until && when_arg(a->until, now, &a->q.until_ms) != 0)
        return cli_bad(verb, "--until '%s': give an ISO 8601 UTC time, a date or an age", a->until);
    if (a->q.until_ms && a->q.until_ms <= a->q.since_ms)
        return cli_bad(verb, "--until must be after --since");
    a->q.community = a->community;
    a->q.grid = a->grid;
    a->q.team = a->team;
    a->q.overdue = a->overdue;
    a->q.after = a->after;
    return 0;
}

/* --- list / deadletters --- */

static json_t *packed_json(void (*pack)(msgpack_packer *, const void *), const void *rec)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    pack(&pk, rec);
    json_t *j = out_msgpack_json(buf.data, buf.size);
    msgpack_sbuffer_destroy(&buf);
    return j;
}

static void pack_event(msgpack_packer *pk, const void *ev) { proto_pack_event(pk, ev); }
static void pack_dispatch(msgpack_packer *pk, const void *d) { proto_pack_dispatch(pk, d); }

static void set_time(json_t *j, const char *key, uint64_t ms)
{
    char when[32];
    json_object_set_new(j, key, ms ? json_string(clock_format_utc(ms, when, sizeof when))
                                   : json_null());
}

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static void print_event(const gl_event *ev, int json)
{
    char when[32];
    if (json) {
        json_t *j = packed_json(pack_event, ev);
        if (j)
            set_time(j, "filed", ev->created_ms);
        out_json_line(j);
        return;
    }
    printf("%-26s %6" PRIu64 " %-8s %-14s %-10s %-12s %-14s %-20s %s\n", ev->id, ev->seq,
           gl_kind_name(ev->kind), or_dash(ev->category), gl_event_state_name(ev->state),
           or_dash(ev->community), or_dash(ev->grid), or_dash(ev->team),
           ev->created_ms ? clock_format_utc(ev->created_ms, when, sizeof when) : "-");
}

static const gl_event *event_of(const proto_msg *m, uint64_t seq)
{
    for (size_t i = 0; i < m->nevents; i++)
        if (m->events[i].seq == seq)
            return &m->events[i];
    return NULL;
}

static void print_dead(const proto_msg *m, const gl_dispatch *d, int json)
{
    char when[32];
    const gl_event *ev = event_of(m, d->seq);
    if (json) {
        json_t *j = packed_json(pack_dispatch, d);
        if (j) {
            json_object_set_new(j, "reason", json_string(d->note ? d->note : ""));
            set_time(j, "dead_since", d->updated_ms);
            if (ev) {
                json_object_set_new(j, "kind", json_string(gl_kind_name(ev->kind)));
                json_object_set_new(j, "category", json_string(or_dash(ev->category)));
                json_object_set_new(j, "event_state", json_string(gl_event_state_name(ev->state)));
                set_time(j, "filed", ev->created_ms);
            }
        }
        out_json_line(j);
        return;
    }
    printf("%-26s %6" PRIu64 " %-22s %-10s %8" PRIu32 "  %-24s %s\n", or_dash(d->event), d->seq,
           d->team, or_dash(d->role), d->attempts,
           d->updated_ms ? clock_format_utc(d->updated_ms, when, sizeof when) : "-",
           or_dash(d->note));
}

static int run_list(const char *verb, list_args *a)
{
    client *cl = NULL;
    int rc = cli_connect(&a->c, a->c.intake, verb, 0, &cl);
    if (rc)
        return rc;
    long left = a->all ? -1 : a->limit;
    size_t shown = 0;
    gl_arena arena = {0};
    char cursor[GL_MAX_SHORT + 1] = "";
    int status = CLI_EXIT_OK, more = 0;
    if (!a->c.json) {
        if (a->dead)
            printf("%-26s %6s %-22s %-10s %8s  %-24s %s\n", "EVENT", "SEQ", "TEAM", "ROLE",
                   "ATTEMPTS", "DEAD SINCE", "REASON");
        else
            printf("%-26s %6s %-8s %-14s %-10s %-12s %-14s %-20s %s\n", "ID", "SEQ", "KIND",
                   "CATEGORY", "STATE", "COMMUNITY", "GRID", "TEAM", "FILED");
    }
    for (int guard = 0; guard < 1000000 && left != 0; guard++) {
        proto_msg m;
        arena_reset(&arena);
        a->q.limit = left > 0 && left < LIST_PAGE ? (uint32_t)left : LIST_PAGE;
        rc = client_list(cl, &a->q, &m, &arena);
        if (rc) {
            status = cli_report(verb, rc, client_reason(cl), 0);
            break;
        }
        for (size_t i = 0; i < m.nevents && left != 0; i++) {
            if (a->dead) {
                for (size_t k = 0; k < m.ndispatches; k++)
                    if (m.dispatches[k].seq == m.events[i].seq)
                        print_dead(&m, &m.dispatches[k], a->c.json);
            } else {
                print_event(&m.events[i], a->c.json);
            }
            shown++;
            if (left > 0)
                left--;
            /* Where the next page would start, should we stop here. */
            if (a->dead)
                snprintf(cursor, sizeof cursor, "%" PRIu64, m.events[i].seq);
            else
                snprintf(cursor, sizeof cursor, "%" PRIu64 ".%" PRIu64, m.events[i].created_ms,
                         m.events[i].seq);
        }
        more = m.next != NULL;
        if (!m.next)
            break;
        if (left == 0)
            break;
        snprintf(cursor, sizeof cursor, "%s", m.next);
        a->q.after = cursor;
    }
    fflush(stdout);
    if (status == CLI_EXIT_OK && more && left == 0)
        fprintf(stderr, "gridline %s: %zu shown; more with --after %s (or --all)\n", verb, shown,
                cursor);
    arena_free(&arena);
    client_close(&cl);
    return status;
}

#define LIST_USAGE                                                                         \
    "gridline list [--kind K] [--state S] [--community C] [--grid G] [--team T]\n"         \
    "              [--since WHEN] [--until WHEN] [--overdue] [--dead] [--limit N | --all]\n" \
    "              [--after CURSOR] [--json]"
#define LIST_DESCRIPTION                                                                   \
    "Events filed, oldest first, filtered by kind, state, community, grid, a team\n"        \
    "they were dispatched to, filing time and overdue (every filter given must\n"         \
    "match); answered by the workers from the store's indexes, a page at a time.\n"        \
    "Text: a table (ID, SEQ, KIND, CATEGORY, STATE, COMMUNITY, GRID, TEAM — the team\n"    \
    "that holds it — and FILED, UTC). --json: one object per event and line, with\n"       \
    "the event's keys (PROTOCOL.md §7.1, without the reporter's contact) and\n"           \
    "\"filed\" (UTC). --dead lists the dead letters instead (as gridline deadletters).\n" \
    "At most --limit events are shown; when there are more, stderr says which\n"          \
    "--after CURSOR continues.\n\n" CLI_EXIT_TABLE

static int list_verb(int argc, char **argv, const char *verb, int dead, const char *usage,
                     const char *description)
{
    list_args a;
    memset(&a, 0, sizeof a);
    opt_def defs[] = {
        LIST_FILTER_ROWS(a),
        {"dead", OPT_FLAG, NULL, "the dead letters instead of events", &a.dead, NULL},
        {"limit", OPT_INT, "100", "most events shown", &a.limit, NULL},
        {"all", OPT_FLAG, NULL, "every event that matches, page after page", &a.all, NULL},
        {"after", OPT_STR, NULL, "continue after this cursor (printed when more remain)",
         &a.after, NULL},
        CLI_COMMON_ROWS(a.c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, usage, description, &a.c, NULL,
                       NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (a.limit < 1 && !a.all)
        return cli_bad(verb, "--limit must be at least 1");
    if ((rc = check_filters(verb, &a)) != 0)
        return rc;
    a.dead |= dead;
    a.q.dead = a.dead;
    return run_list(verb, &a);
}

int cli_list(int argc, char **argv)
{
    return list_verb(argc, argv, "list", 0, LIST_USAGE, LIST_DESCRIPTION);
}

#define DEAD_USAGE "gridline deadletters [filters as gridline list] [--limit N | --all] [--json]"
#define DEAD_DESCRIPTION                                                                   \
    "The dead letters: dispatches nobody acknowledged after the workers'\n"                \
    "--delivery-limit sends, and events nobody was left to route to (on their\n"          \
    "county-triage dispatch), oldest event first. Text: EVENT, SEQ, TEAM, ROLE,\n"        \
    "ATTEMPTS, DEAD SINCE (UTC) and REASON; --json: one object per dead letter with\n"     \
    "the dispatch's keys (§7.2) plus \"reason\", \"dead_since\", \"kind\", \"category\",\n" \
    "\"event_state\" and \"filed\". --team picks the dead letters to that team; the other\n" \
    "filters apply to their events. Send one again with gridline requeue, or close it\n"   \
    "with gridline close-dead.\n\n" CLI_EXIT_TABLE

int cli_deadletters(int argc, char **argv)
{
    return list_verb(argc, argv, "deadletters", 1, DEAD_USAGE, DEAD_DESCRIPTION);
}

/* --- export --- */

typedef struct milestones {
    uint64_t accepted, resolved, closed;
} milestones;

static milestones milestones_of(const proto_msg *m, uint64_t seq)
{
    milestones t = {0, 0, 0};
    for (size_t i = 0; i < m->nhistory; i++) {
        const gl_history *h = &m->history[i];
        if (h->seq != seq || !h->what)
            continue;
        if ((strcmp(h->what, "accepted") == 0 || strcmp(h->what, "claimed") == 0) && !t.accepted)
            t.accepted = h->at_ms;
        else if (strcmp(h->what, "resolved") == 0)
            t.resolved = h->at_ms;
        else if (strcmp(h->what, "closed") == 0 || strcmp(h->what, "rated satisfied") == 0 ||
                 strcmp(h->what, "cancelled") == 0 || strcmp(h->what, "merged") == 0)
            t.closed = h->at_ms;
        else if (strcmp(h->what, "reopened") == 0 || strcmp(h->what, "rated unsatisfied") == 0)
            t.resolved = t.closed = 0; /* back to work */
    }
    return t;
}

/* Overdue: the alarm says so, or it was resolved after its due time, or it
 * is still open past it. */
static int overdue_of(const gl_event *ev, const milestones *t, uint64_t now)
{
    if (ev->alarm && strcmp(ev->alarm, "overdue") == 0)
        return 1;
    if (!ev->due_ms)
        return 0;
    if (t->resolved)
        return t->resolved > ev->due_ms;
    int open = ev->state == GL_EV_FILED || ev->state == GL_EV_DISPATCHED ||
               ev->state == GL_EV_ACCEPTED;
    return open && now > ev->due_ms;
}

/* RFC 4180: a field with a comma, quote or line break goes in quotes, its
 * quotes doubled. */
static void csv_field(FILE *f, const char *s, int last)
{
    s = s ? s : "";
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static const char *const export_columns[] = {
    "id", "seq", "kind", "category", "community", "compound", "grid", "state", "filed",
    "accepted", "resolved", "closed", "team", "rating", "overdue"};

static void export_row(FILE *f, int csv, const gl_event *ev, const milestones *t, uint64_t now)
{
    char seq[24], filed[32], acc[32], res[32], clo[32];
    snprintf(seq, sizeof seq, "%" PRIu64, ev->seq);
    clock_format_utc(ev->created_ms, filed, sizeof filed);
    const char *a = t->accepted ? clock_format_utc(t->accepted, acc, sizeof acc) : NULL;
    const char *r = t->resolved ? clock_format_utc(t->resolved, res, sizeof res) : NULL;
    const char *c = t->closed ? clock_format_utc(t->closed, clo, sizeof clo) : NULL;
    int late = overdue_of(ev, t, now);
    if (csv) {
        const char *v[] = {ev->id, seq, gl_kind_name(ev->kind), ev->category, ev->community,
                           ev->compound, ev->grid, gl_event_state_name(ev->state), filed, a, r, c,
                           ev->team, ev->rating, late ? "yes" : "no"};
        for (size_t i = 0; i < GL_ARRAY_LEN(v); i++)
            csv_field(f, v[i], i + 1 == GL_ARRAY_LEN(v));
        return;
    }
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(ev->id));
    json_object_set_new(j, "seq", json_integer((json_int_t)ev->seq));
    json_object_set_new(j, "kind", json_string(gl_kind_name(ev->kind)));
    const char *strs[][2] = {{"category", ev->category}, {"community", ev->community},
                             {"compound", ev->compound}, {"grid", ev->grid}};
    for (size_t i = 0; i < GL_ARRAY_LEN(strs); i++)
        json_object_set_new(j, strs[i][0], strs[i][1] ? json_string(strs[i][1]) : json_null());
    json_object_set_new(j, "state", json_string(gl_event_state_name(ev->state)));
    json_object_set_new(j, "filed", json_string(filed));
    json_object_set_new(j, "accepted", a ? json_string(a) : json_null());
    json_object_set_new(j, "resolved", r ? json_string(r) : json_null());
    json_object_set_new(j, "closed", c ? json_string(c) : json_null());
    json_object_set_new(j, "team", ev->team ? json_string(ev->team) : json_null());
    json_object_set_new(j, "rating", ev->rating ? json_string(ev->rating) : json_null());
    json_object_set_new(j, "overdue", json_boolean(late));
    char *s = json_dumps(j, JSON_COMPACT);
    if (s) {
        fputs(s, f);
        fputc('\n', f);
        free(s);
    }
    json_decref(j);
}

#define EXPORT_USAGE                                                                       \
    "gridline export --since WHEN [--until WHEN] --format csv|jsonl [--output FILE]\n"     \
    "                [filters as gridline list]"
#define EXPORT_DESCRIPTION                                                                 \
    "Every event filed in [--since, --until), oldest first, for a monthly report:\n"       \
    "one row per event with id, seq, kind, category, community, compound, grid,\n"         \
    "state, filed, accepted (first accepted or claimed), resolved, closed (closed,\n"      \
    "rated satisfied, cancelled or merged; a reopening clears resolved and closed),\n"     \
    "team (that holds it), rating and overdue (its alarm is overdue, it was resolved\n"    \
    "after its due time, or it is open past it). Times are UTC ISO 8601, empty (CSV)\n"    \
    "or null (JSON) when not known. csv: RFC 4180 with a header row, CRLF line ends,\n"    \
    "quotes where needed; jsonl: one JSON object per line with those keys (seq a\n"        \
    "number, overdue a boolean). WHEN: ISO 8601 UTC, a date (2026-11-01) or an age\n"      \
    "(30d). The filters of gridline list narrow it. Written to stdout or --output.\n\n"   \
    CLI_EXIT_TABLE

int cli_export(int argc, char **argv)
{
    list_args a;
    memset(&a, 0, sizeof a);
    opt_def defs[] = {
        LIST_FILTER_ROWS(a),
        {"format", OPT_STR, NULL, "csv or jsonl (required)", &a.format, NULL},
        {"output", OPT_STR, NULL, "write to this file instead of stdout", &a.output, NULL},
        CLI_COMMON_ROWS(a.c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, EXPORT_USAGE, EXPORT_DESCRIPTION,
                       &a.c, NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (!a.since)
        return cli_bad("export", "--since is required (a month: --since 2026-11-01 --until "
                       "2026-12-01)");
    if (!a.format || (strcmp(a.format, "csv") != 0 && strcmp(a.format, "jsonl") != 0))
        return cli_bad("export", "--format must be csv or jsonl");
    if ((rc = check_filters("export", &a)) != 0)
        return rc;
    int csv = strcmp(a.format, "csv") == 0;
    client *cl = NULL;
    if ((rc = cli_connect(&a.c, a.c.intake, "export", 0, &cl)) != 0)
        return rc;
    FILE *f = stdout;
    if (a.output && !(f = fopen(a.output, "w"))) {
        client_close(&cl);
        return cli_bad("export", "cannot write %s", a.output);
    }
    if (csv)
        for (size_t i = 0; i < GL_ARRAY_LEN(export_columns); i++)
            csv_field(f, export_columns[i], i + 1 == GL_ARRAY_LEN(export_columns));
    uint64_t now = clock_wall_ms();
    gl_arena arena = {0};
    char cursor[GL_MAX_SHORT + 1];
    int status = CLI_EXIT_OK;
    size_t rows = 0;
    a.q.history = 1;
    a.q.limit = LIST_PAGE;
    for (int guard = 0; guard < 1000000; guard++) {
        proto_msg m;
        arena_reset(&arena);
        rc = client_list(cl, &a.q, &m, &arena);
        if (rc) {
            status = cli_report("export", rc, client_reason(cl), 0);
            break;
        }
        for (size_t i = 0; i < m.nevents; i++) {
            milestones t = milestones_of(&m, m.events[i].seq);
            export_row(f, csv, &m.events[i], &t, now);
            rows++;
        }
        if (!m.next)
            break;
        snprintf(cursor, sizeof cursor, "%s", m.next);
        a.q.after = cursor;
    }
    if (fflush(f) != 0 || (f != stdout && fclose(f) != 0)) {
        if (status == CLI_EXIT_OK)
            status = cli_bad("export", "writing %s failed", a.output ? a.output : "stdout");
    }
    if (status == CLI_EXIT_OK && a.output)
        fprintf(stderr, "gridline export: %zu events written to %s\n", rows, a.output);
    arena_free(&arena);
    client_close(&cl);
    return status;
}

/* --- requeue / close-dead --- */

static void print_requeued(const char *verb, const proto_msg *m, int json)
{
    const char *id = m->nevents ? m->events[0].id : "?";
    for (size_t i = 0; i < m->ndispatches; i++) {
        const gl_dispatch *d = &m->dispatches[i];
        if (json) {
            json_t *j = packed_json(pack_dispatch, d);
            if (j)
                json_object_set_new(j, "act", json_string(verb));
            out_json_line(j);
        } else {
            printf("%s %s team %s: dispatch %s, attempts %" PRIu32 "\n",
                   strcmp(verb, "requeue") == 0 ? "requeued" : "closed", id, d->team,
                   gl_dispatch_state_name(d->state), d->attempts);
        }
    }
    fflush(stdout);
}

static int requeue_verb(int argc, char **argv, const char *verb, int close, const char *usage,
                        const char *description)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    const char *id = NULL, *team = NULL, *note = NULL;
    int close_flag = 0;
    opt_def defs[] = {
        {"team", OPT_STR, NULL, "only the dead letter to this team (default: every one of the "
         "event)", &team, NULL},
        {"note", OPT_STR, NULL, close ? "why it is closed (required)" : "a note for the history",
         &note, NULL},
        {"close", OPT_FLAG, NULL, "close instead of sending again (as gridline close-dead)",
         &close_flag, NULL},
        CLI_COMMON_ROWS(c),
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, usage, description, &c, &id,
                       "EVENT_ID");
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : rc;
    close |= close_flag;
    if (cli_check_id(verb, "EVENT_ID", id) || cli_check_len(verb, "team", team, GL_MAX_ID) ||
        cli_check_len(verb, "note", note, GL_MAX_TEXT))
        return CLI_EXIT_BADINPUT;
    if (close && !note)
        return cli_bad(verb, "--note is required: say why the dead letter is closed");
    client *cl = NULL;
    if ((rc = cli_connect(&c, c.intake, verb, 1, &cl)) != 0)
        return rc;
    gl_arena arena = {0};
    proto_msg m;
    rc = client_requeue(cl, id, team, close, note, &m, &arena);
    int status = CLI_EXIT_OK;
    if (rc == 0)
        print_requeued(close ? "close-dead" : "requeue", &m, c.json);
    else
        status = cli_report(verb, rc, client_reason(cl), 1);
    arena_free(&arena);
    client_close(&cl);
    return status;
}

#define REQUEUE_USAGE "gridline requeue EVENT_ID [--team T] [--note TEXT] [--close] [--json]"
#define REQUEUE_DESCRIPTION                                                                \
    "Send an event's dead letters again (every one, or only the one to --team),\n"         \
    "with a fresh delivery count: each becomes pending, goes to the team's\n"             \
    "connected members now and is resent on the retry interval until\n"                  \
    "acknowledged or the limit is reached again. Prints 'requeued ID team T:\n"           \
    "dispatch pending, attempts 1' per dead letter (--json: the dispatch's keys\n"        \
    "and \"act\"). --close closes them instead (as gridline close-dead).\n\n"             \
    CLI_EXIT_TABLE CLI_EXIT_REFUSED_ROW                                                    \
    "\n     (not_found: no such event; bad_state: it has no dead letter (to --team))"

int cli_requeue(int argc, char **argv)
{
    return requeue_verb(argc, argv, "requeue", 0, REQUEUE_USAGE, REQUEUE_DESCRIPTION);
}

#define CLOSE_DEAD_USAGE "gridline close-dead EVENT_ID --note WHY [--team T] [--json]"
#define CLOSE_DEAD_DESCRIPTION                                                             \
    "Close an event's dead letters (every one, or only the one to --team) without\n"     \
    "sending them again: each dispatch becomes cancelled with the note, leaves the\n"     \
    "dead letters, and the history says who closed it and why.\n\n"                      \
    CLI_EXIT_TABLE CLI_EXIT_REFUSED_ROW                                                    \
    "\n     (not_found: no such event; bad_state: it has no dead letter (to --team))"

int cli_close_dead(int argc, char **argv)
{
    return requeue_verb(argc, argv, "close-dead", 1, CLOSE_DEAD_USAGE, CLOSE_DEAD_DESCRIPTION);
}
