/* End to end: history queries (issue 5, point 4) with a real broker and two
 * workers on the demo county. 25 events are filed across three communities,
 * two grids each, the three kinds, in two batches a second apart; some are
 * accepted. Then, as an operator would:
 *   - `gridline list --json` by kind, community, grid, team, state, time
 *     range (ISO 8601 and relative), and filters together: exactly the
 *     expected ids come back (expected sets computed from what the test
 *     filed and, for teams, from each event's dispatches as SHOW tells them);
 *   - paging through LIST with a small limit returns each event once, in
 *     filing order; `gridline list --limit` says how to continue;
 *   - `gridline export --format csv` is parsed back (RFC 4180, an id with a
 *     quote and a comma in it) and `--format jsonl` too: one row per event
 *     of the period, with the accepted time of the accepted ones;
 *   - three requests not resolved within their 2 s limit: `list --overdue`
 *     gives exactly those, and export marks them overdue;
 *   - bad input: an unknown kind, an unreadable time, a bad cursor. */
#include "support/workflow.h"

#define N_EVENTS 25
#define QUOTED_ID "lst-\"q,24" /* printable ASCII without spaces: a valid id */

static const char *const communities[] = {"heping", "mingzhu", "xinsheng"};

typedef struct filed_event {
    char id[32], community[16], grid[24], compound[24];
    int kind;
    int accepted;
    int second_half;
    char teams[512]; /* " team1 team2 " from SHOW */
} filed_event;

static filed_event evs[N_EVENTS];
static uint64_t t_mid; /* wall ms between the two halves */

static void file_all(void)
{
    int filed = 0;
    for (int i = 0; i < N_EVENTS; i++) {
        filed_event *e = &evs[i];
        if (i == N_EVENTS - 1)
            snprintf(e->id, sizeof e->id, "%s", QUOTED_ID);
        else
            snprintf(e->id, sizeof e->id, "lst-%02d", i);
        const char *c = communities[i % 3];
        snprintf(e->community, sizeof e->community, "%s", c);
        snprintf(e->grid, sizeof e->grid, "%s-g%d", c, 1 + (i / 3) % 2);
        snprintf(e->compound, sizeof e->compound, "%s-c1", c);
        e->kind = i % 4 == 2 ? GL_KIND_ALERT : i % 4 == 3 ? GL_KIND_FEEDBACK : GL_KIND_REQUEST;
        const char *cat = e->kind == GL_KIND_ALERT ? "medical"
                          : e->kind == GL_KIND_FEEDBACK ? "elevator"
                          : i % 4 == 0 ? "repair" : "dispute";
        e->second_half = i >= 12;
        if (i == 12) {
            tl_sleep_ms(1100);
            t_mid = clock_wall_ms();
            tl_sleep_ms(1100);
        }
        client_filed f;
        filed += wf_submit(e->id, e->kind, cat, c, e->kind == GL_KIND_FEEDBACK ? e->compound : NULL,
                           e->grid, &f) == 0;
    }
    is_int(filed, N_EVENTS, "%d events filed across 3 communities, 6 grids, 3 kinds", N_EVENTS);

    /* Accept the requests of the grid teams in grid 1 of each community. */
    int accepted = 0, want = 0;
    for (int i = 0; i < N_EVENTS; i++) {
        filed_event *e = &evs[i];
        if (e->kind != GL_KIND_REQUEST || strstr(e->grid, "-g1") == NULL)
            continue;
        char team[48];
        snprintf(team, sizeof team, "%s-team", e->grid);
        want++;
        client_result r;
        if (wf_act(PROTO_ACCEPT, e->id, team, NULL, &r) == 0 && r.event_state == GL_EV_ACCEPTED) {
            e->accepted = 1;
            accepted++;
        }
    }
    ok(accepted == want && want > 2, "%d requests accepted by their grid teams", accepted);

    /* Who each event went to, as its dispatch records say. */
    int shown = 0;
    for (int i = 0; i < N_EVENTS; i++) {
        proto_msg m;
        if (wf_show(evs[i].id, &m) != 0)
            continue;
        shown++;
        size_t used = 0;
        evs[i].teams[used++] = ' ';
        for (size_t k = 0; k < m.ndispatches && used < sizeof evs[i].teams - GL_MAX_ID - 2; k++)
            used += (size_t)snprintf(evs[i].teams + used, sizeof evs[i].teams - used, "%s ",
                                     m.dispatches[k].team);
    }
    is_int(shown, N_EVENTS, "every event's dispatches read with SHOW");
}

/* The ids in the JSON lines of wf_out ("id" of each object), or of a CSV. */
typedef struct idset {
    int seen[N_EVENTS];
    int unknown, lines;
    int in_order;
} idset;

static int index_of(const char *id)
{
    for (int i = 0; i < N_EVENTS; i++)
        if (strcmp(evs[i].id, id) == 0)
            return i;
    return -1;
}

static void ids_of_json_lines(const char *text, idset *s)
{
    memset(s, 0, sizeof *s);
    s->in_order = 1;
    int last = -1;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len && line[0] == '{') {
            json_error_t jerr;
            json_t *j = json_loadb(line, len, 0, &jerr);
            const char *id = j ? json_string_value(json_object_get(j, "id")) : NULL;
            int k = id ? index_of(id) : -1;
            s->lines++;
            if (k < 0) {
                s->unknown++;
            } else {
                s->seen[k]++;
                s->in_order &= k > last;
                last = k;
            }
            json_decref(j);
        }
        line = end ? end + 1 : NULL;
    }
}

static int expect_ok(const idset *s, int (*want)(const filed_event *), const char *what)
{
    int exact = s->unknown == 0, n = 0;
    for (int i = 0; i < N_EVENTS; i++) {
        int w = want(&evs[i]) != 0;
        n += w;
        if (s->seen[i] != w) {
            diag("%s: %s seen %d times, expected %d", what, evs[i].id, s->seen[i], w);
            exact = 0;
        }
    }
    return ok(exact && s->in_order && n > 0, "%s: exactly the %d expected events, oldest first",
              what, n);
}

static int w_alert(const filed_event *e) { return e->kind == GL_KIND_ALERT; }
static int w_mingzhu(const filed_event *e) { return strcmp(e->community, "mingzhu") == 0; }
static int w_heping_g2(const filed_event *e) { return strcmp(e->grid, "heping-g2") == 0; }
static int w_xinsheng_team(const filed_event *e) { return strstr(e->teams, " xinsheng-g1-team ") != NULL; }
static int w_accepted(const filed_event *e) { return e->accepted; }
static int w_second(const filed_event *e) { return e->second_half; }
static int w_first(const filed_event *e) { return !e->second_half; }
static int w_all(const filed_event *e) { (void)e; return 1; }
static int w_heping_request_late(const filed_event *e)
{
    return strcmp(e->community, "heping") == 0 && e->kind == GL_KIND_REQUEST && e->second_half;
}
static char owners[GL_MAX_ID + 3]; /* " TEAM ": the property company of lst-07 */
static int w_feedback_property(const filed_event *e)
{
    return e->kind == GL_KIND_FEEDBACK && strstr(e->teams, owners) != NULL;
}

static void list_case(const char *const args[], int (*want)(const filed_event *), const char *what)
{
    int status = wf_cli(args);
    idset s;
    ids_of_json_lines(wf_out, &s);
    if (!expect_ok(&s, want, what) || status != 0)
        diag("exit %d; output:\n%.2000s", status, wf_out);
}

static void case_filters(void)
{
    char mid[40];
    clock_format_utc(t_mid, mid, sizeof mid);
    list_case((const char *const[]){"list", "--json", "--all", "--kind", "alert", NULL}, w_alert,
              "list --kind alert");
    list_case((const char *const[]){"list", "--json", "--all", "--community", "mingzhu", NULL},
              w_mingzhu, "list --community mingzhu");
    list_case((const char *const[]){"list", "--json", "--all", "--grid", "heping-g2", NULL},
              w_heping_g2, "list --grid heping-g2");
    list_case((const char *const[]){"list", "--json", "--all", "--team", "xinsheng-g1-team", NULL},
              w_xinsheng_team, "list --team xinsheng-g1-team");
    list_case((const char *const[]){"list", "--json", "--all", "--state", "accepted", NULL},
              w_accepted, "list --state accepted");
    list_case((const char *const[]){"list", "--json", "--all", "--since", mid, NULL}, w_second,
              "list --since ISO-8601 (the second batch)");
    list_case((const char *const[]){"list", "--json", "--all", "--until", mid, NULL}, w_first,
              "list --until ISO-8601 (the first batch)");
    list_case((const char *const[]){"list", "--json", "--all", "--since", "1h", NULL}, w_all,
              "list --since 1h (relative)");
    list_case((const char *const[]){"list", "--json", "--all", "--community", "heping", "--kind",
                                    "request", "--since", mid, NULL},
              w_heping_request_late, "list --community --kind --since together");
    /* The last team lst-07 (feedback in mingzhu) went to, in team order: its
     * property company, which serves compounds of other communities too. */
    const char *t = evs[7].teams + strlen(evs[7].teams) - 1, *b = t;
    while (b > evs[7].teams && b[-1] != ' ')
        b--;
    char team[GL_MAX_ID + 1];
    snprintf(team, sizeof team, "%.*s", (int)(t - b), b);
    snprintf(owners, sizeof owners, " %s ", team);
    diag("lst-07 went to:%s; filtering by %s", evs[7].teams, team);
    list_case((const char *const[]){"list", "--json", "--all", "--kind", "feedback", "--team",
                                    team, NULL},
              w_feedback_property, "list --kind feedback --team (owners' committee)");
    idset s;
    int status = wf_cli((const char *const[]){"list", "--json", "--all", "--community", "nowhere", NULL});
    ids_of_json_lines(wf_out, &s);
    ok(status == 0 && s.lines == 0, "an unknown community lists nothing");

    /* The table: a header and one row per event. */
    status = wf_cli((const char *const[]){"list", "--grid", "mingzhu-g2", NULL});
    ok(status == 0 && wf_out_has("ID") && wf_out_has("COMMUNITY") && wf_out_has("lst-04 ") &&
           wf_out_has("lst-10 ") && !wf_out_has("lst-05 "),
       "list prints a table with a header row");
}

static void case_paging(void)
{
    client_list_query q;
    memset(&q, 0, sizeof q);
    q.limit = 4;
    int seen[N_EVENTS] = {0}, pages = 0, in_order = 1, last = -1, unknown = 0, failed = 0;
    char cursor[GL_MAX_SHORT + 1];
    for (int guard = 0; guard < 50; guard++) {
        proto_msg m;
        if (client_list(wf_terminal, &q, &m, &wf_arena) != 0) {
            failed = 1;
            break;
        }
        pages++;
        for (size_t i = 0; i < m.nevents; i++) {
            int k = index_of(m.events[i].id);
            if (k < 0) {
                unknown++;
                continue;
            }
            seen[k]++;
            in_order &= k > last;
            last = k;
            if (m.events[i].contact)
                unknown++; /* the contact must not be listed */
        }
        if (!m.next)
            break;
        snprintf(cursor, sizeof cursor, "%s", m.next);
        q.after = cursor;
    }
    int once = !failed && !unknown;
    for (int i = 0; i < N_EVENTS; i++)
        once &= seen[i] == 1;
    ok(once && in_order && pages == (N_EVENTS + 3) / 4,
       "LIST with limit 4 and the next cursor: each event once, in order, in %d pages", pages);

    int status = wf_cli((const char *const[]){"list", "--json", "--limit", "5", NULL});
    idset s;
    ids_of_json_lines(wf_out, &s);
    ok(status == 0 && s.lines == 5 && s.seen[0] && s.seen[4] && wf_out_has("--after"),
       "list --limit 5 prints the first 5 and says how to continue");
    const char *after = strstr(wf_out, "--after ");
    char cur[64] = "";
    if (after)
        sscanf(after + 8, "%63s", cur);
    status = wf_cli((const char *const[]){"list", "--json", "--limit", "5", "--after", cur, NULL});
    ids_of_json_lines(wf_out, &s);
    ok(status == 0 && s.lines == 5 && s.seen[5] && s.seen[9], "--after %s continues with the next 5",
       cur);
}

/* --- export --- */

/* A small RFC 4180 reader: fields of one record into f (at most nf). */
static const char *csv_record(const char *p, char f[][64], int nf, int *n)
{
    *n = 0;
    while (*p) {
        char *o = f[*n < nf ? *n : nf - 1];
        size_t len = 0;
        if (*p == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                if (len < 63)
                    o[len++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != '\r' && *p != '\n') {
                if (len < 63)
                    o[len++] = *p;
                p++;
            }
        }
        o[len] = '\0';
        (*n)++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
        break;
    }
    return p;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void case_export(void)
{
    char path[400], since[40];
    snprintf(path, sizeof path, "%s/month.csv", wf_env.dir);
    clock_format_utc(clock_wall_ms() - 3600000, since, sizeof since);
    int status = wf_cli((const char *const[]){"export", "--since", since, "--format", "csv",
                                              "--output", path, NULL});
    const char *text = status == 0 ? slurp(path) : NULL;
    ok(text != NULL, "export --format csv --output writes the file (exit %d)", status);
    if (!text) {
        diag("%s", wf_out);
        return;
    }
    static const char *const header[] = {"id", "seq", "kind", "category", "community",
        "compound", "grid", "state", "filed", "accepted", "resolved", "closed", "team",
        "rating", "overdue"};
    char f[20][64];
    int n;
    const char *p = csv_record(text, f, 20, &n);
    int header_ok = n == (int)GL_ARRAY_LEN(header);
    for (int i = 0; header_ok && i < n; i++)
        header_ok = strcmp(f[i], header[i]) == 0;
    ok(header_ok, "the CSV starts with its header row");
    int rows = 0, seen[N_EVENTS] = {0}, good = 1, accepted_ok = 1, crlf = strstr(text, "\r\n") != NULL;
    while (*p) {
        p = csv_record(p, f, 20, &n);
        if (n != (int)GL_ARRAY_LEN(header)) {
            good = 0;
            continue;
        }
        rows++;
        int k = index_of(f[0]);
        if (k < 0) {
            diag("unknown id in the CSV: %s", f[0]);
            good = 0;
            continue;
        }
        seen[k]++;
        good &= strcmp(f[4], evs[k].community) == 0 && strcmp(f[6], evs[k].grid) == 0 &&
                strcmp(f[2], gl_kind_name(evs[k].kind)) == 0 && strlen(f[8]) == 24 &&
                strcmp(f[14], "no") == 0;
        accepted_ok &= evs[k].accepted ? strlen(f[9]) == 24 && strcmp(f[7], "accepted") == 0
                                       : f[9][0] == '\0';
    }
    int once = 1;
    for (int i = 0; i < N_EVENTS; i++)
        once &= seen[i] == 1;
    ok(rows == N_EVENTS && once && good && crlf,
       "one CSV row per event of the period (%d), fields as filed, CRLF line ends", rows);
    ok(seen[N_EVENTS - 1] == 1, "an id with a quote and a comma reads back whole (quoted)");
    ok(accepted_ok, "the accepted time is there exactly for the accepted events");

    status = wf_cli((const char *const[]){"export", "--since", since, "--format", "jsonl", NULL});
    idset s;
    ids_of_json_lines(wf_out, &s);
    int keys_ok = 1;
    for (const char *line = wf_out; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        json_t *j = len && line[0] == '{' ? json_loadb(line, len, 0, NULL) : NULL;
        if (j) {
            int k = index_of(json_string_value(json_object_get(j, "id")) ?
                             json_string_value(json_object_get(j, "id")) : "");
            keys_ok &= json_is_integer(json_object_get(j, "seq")) &&
                       json_is_boolean(json_object_get(j, "overdue")) &&
                       json_is_string(json_object_get(j, "filed")) &&
                       json_object_get(j, "resolved") != NULL &&
                       json_object_get(j, "rating") != NULL && k >= 0 &&
                       (evs[k].accepted ? json_is_string(json_object_get(j, "accepted"))
                                        : json_is_null(json_object_get(j, "accepted")));
            json_decref(j);
        }
        line = end ? end + 1 : NULL;
    }
    ok(status == 0 && expect_ok(&s, w_all, "export --format jsonl") && keys_ok,
       "export --format jsonl: every key of the report, typed");

    char until[40];
    clock_format_utc(t_mid, until, sizeof until);
    status = wf_cli((const char *const[]){"export", "--since", since, "--until", until, "--format",
                                          "jsonl", NULL});
    ids_of_json_lines(wf_out, &s);
    expect_ok(&s, w_first, "export --until: only the period's events");
}

/* Paperwork must be resolved within 2 s in this county: three such requests
 * nobody resolves become overdue; the 25 others are not. */
static void case_overdue(void)
{
    static const char *const ids[] = {"ovd-1", "ovd-2", "ovd-3"};
    int filed = 0;
    for (int i = 0; i < 3; i++) {
        char grid[24];
        snprintf(grid, sizeof grid, "%s-g2", communities[i]);
        filed += wf_submit(ids[i], GL_KIND_REQUEST, "paperwork", communities[i], NULL, grid,
                           NULL) == 0;
    }
    is_int(filed, 3, "three paperwork requests filed, due within 2 s");
    int status = 0, lines = 0, found = 0;
    uint64_t until = clock_mono_ms() + 15000;
    do {
        wf_pump(250);
        status = wf_cli((const char *const[]){"list", "--json", "--all", "--overdue", NULL});
        lines = found = 0;
        for (const char *p = wf_out; (p = strstr(p, "{\"")) != NULL; p++)
            lines++;
        for (int i = 0; i < 3; i++) {
            char needle[40];
            snprintf(needle, sizeof needle, "\"id\":\"%s\"", ids[i]);
            found += strstr(wf_out, needle) != NULL;
        }
    } while ((found < 3 || lines != 3) && clock_mono_ms() < until);
    ok(status == 0 && found == 3 && lines == 3,
       "list --overdue: exactly the three overdue requests (%d listed)", lines);
    status = wf_cli((const char *const[]){"export", "--since", "1h", "--format", "csv", "--overdue",
                                          NULL});
    int yes = 0;
    for (const char *p = wf_out; (p = strstr(p, ",yes\r\n")) != NULL; p++)
        yes++;
    ok(status == 0 && yes == 3 && wf_out_has("ovd-2,"),
       "export --overdue: their rows say overdue yes");
}

static void case_bad_input(void)
{
    int status = wf_cli((const char *const[]){"list", "--kind", "bogus", NULL});
    ok(status == 2 && wf_out_has("--kind"), "list --kind bogus: exit 2 with the reason");
    status = wf_cli((const char *const[]){"list", "--since", "yesterday", NULL});
    ok(status == 2 && wf_out_has("--since"), "list --since yesterday: exit 2");
    status = wf_cli((const char *const[]){"export", "--since", "7d", "--format", "xml", NULL});
    ok(status == 2, "export --format xml: exit 2");
    status = wf_cli((const char *const[]){"export", "--format", "csv", NULL});
    ok(status == 2 && wf_out_has("--since"), "export without --since: exit 2");
    status = wf_cli((const char *const[]){"list", "--since", "2026-11-02", "--until", "2026-11-01",
                                          NULL});
    ok(status == 2, "list with --until before --since: exit 2");
    client_list_query q;
    memset(&q, 0, sizeof q);
    q.after = "not-a-cursor";
    proto_msg m;
    int rc = client_list(wf_terminal, &q, &m, &wf_arena);
    ok(rc == GL_EBADFIELD && strstr(client_reason(wf_terminal), "after"),
       "LIST with a bad cursor: bad_field naming 'after' (%s)", client_reason(wf_terminal));
    memset(&q, 0, sizeof q);
    q.since_ms = 2000;
    q.until_ms = 1000;
    rc = client_list(wf_terminal, &q, &m, &wf_arena);
    ok(rc == GL_EBADFIELD, "LIST with until before since: bad_field");
    wf_submit("lst-after-bad", GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g1", NULL);
    ok(wf_show("lst-after-bad", &m) == 0, "the workers still answer after the bad queries");
}

int main(void)
{
    tl_setup(&wf_env, "list");
    static const wf_limits limits[] = {{"request", "paperwork", -1, 2, 0, -1}};
    if (wf_write_county(limits, GL_ARRAY_LEN(limits), NULL, 0) != 0) {
        printf("Bail out! cannot write the test county\n");
        return 1;
    }
    if (wf_start(2, NULL) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    file_all();
    case_filters();
    case_paging();
    case_export();
    case_overdue();
    case_bad_input();
    return wf_finish();
}
