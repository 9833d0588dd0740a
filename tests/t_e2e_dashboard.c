/* End to end: the dashboard (issue 5, "tested in headless Chromium by a
 * test that loads it and checks what it shows against events the test
 * submitted"). A real broker with --http on a free loopback port and a
 * worker, on a copy of the demo county where a fall in mingzhu-g1 calls one
 * squad with 1 s to acknowledge. The test files four repair requests in
 * heping and has heping-g1-team work three of them (two rated: satisfied,
 * unsatisfied), raises one alert nobody answers in mingzhu, then loads
 * http://127.0.0.1:PORT/ in Debian's chromium (--headless --dump-dom, so
 * the page's script has run and filled the tables) and reads the rendered
 * DOM: each community's row with its counts and rates, the lanes, the
 * worker, the team listening, and the unanswered alert by id.
 *
 * Chromium must be installed (tools/install-deps); without it the test
 * fails, unless GRIDLINE_NO_BROWSER=1 says to skip it. GRIDLINE_CHROMIUM
 * names another browser binary. */
#include "support/http.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#define SQUAD "sq-mingzhu-rescue-1-team"
#define GRID_TEAM "heping-g1-team"
#define HEARTBEAT_MS 1000

/* find_browser: GRIDLINE_CHROMIUM, else chromium or chromium-browser on
 * PATH; NULL when none. */
static const char *find_browser(void)
{
    const char *env = getenv("GRIDLINE_CHROMIUM");
    if (env && *env)
        return env;
    static char found[512];
    const char *path = getenv("PATH");
    static const char *const names[] = {"chromium", "chromium-browser"};
    for (size_t n = 0; n < 2; n++)
        for (const char *p = path; p && *p;) {
            size_t len = strcspn(p, ":");
            snprintf(found, sizeof found, "%.*s/%s", (int)len, p, names[n]);
            if (access(found, X_OK) == 0)
                return found;
            p += len + (p[len] == ':');
        }
    return NULL;
}

/* dump_dom runs the browser on url and captures the DOM it prints into a
 * malloc'd string (NULL on failure), at most timeout_ms. */
static char *dump_dom(const char *browser, const char *url, int timeout_ms)
{
    char profile[400], log[400];
    snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium", wf_env.dir);
    snprintf(log, sizeof log, "%s/chromium.log", wf_env.dir);
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid < 0)
        return NULL;
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fds[1], 1);
        int err = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (err >= 0)
            dup2(err, 2);
        close(fds[0]);
        close(fds[1]);
        execl(browser, browser, "--headless", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
              "--virtual-time-budget=8000", profile, "--dump-dom", url, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap + 1);
    uint64_t until = clock_mono_ms() + (uint64_t)timeout_ms;
    int timed_out = 0;
    while (out) {
        uint64_t now = clock_mono_ms();
        if (now >= until) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, (int)(until - now)) <= 0)
            continue;
        if (len == cap) {
            char *more = realloc(out, 2 * cap + 1);
            if (!more)
                break;
            out = more;
            cap *= 2;
        }
        ssize_t got = read(fds[0], out + len, cap - len);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fds[0]);
    if (timed_out)
        kill(-pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (timed_out || !out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        diag("%s %s: %s, exit status %d (see %s)", browser, url, timed_out ? "timed out" : "failed",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

/* cells copies the text of the cells of the <tr> that has attr (e.g.
 * data-community="heping") into cells[0..max), tags stripped; returns how
 * many, or -1 when there is no such row. */
static int cells(const char *dom, const char *attr, char cells_out[][64], int max)
{
    const char *row = strstr(dom, attr);
    if (!row)
        return -1;
    const char *end = strstr(row, "</tr>");
    int n = 0;
    for (const char *p = row; p && p < end && n < max;) {
        const char *td = strstr(p, "<td"), *th = strstr(p, "<th");
        const char *cell = !td ? th : !th ? td : td < th ? td : th;
        if (!cell || cell > end)
            break;
        const char *text = strchr(cell, '>');
        if (!text)
            break;
        text++;
        const char *stop = strstr(text, "</t");
        if (!stop)
            break;
        snprintf(cells_out[n++], 64, "%.*s", (int)(stop - text), text);
        p = stop;
    }
    return n;
}

static void work(const char *id, int rate, const char *rating)
{
    client_result r;
    client_filed f;
    if (wf_act(PROTO_ACCEPT, id, GRID_TEAM, NULL, &r) != 0 ||
        wf_act(PROTO_RESOLVE, id, GRID_TEAM, "修好了", &r) != 0)
        diag("acting on %s: %s", id, client_reason(wf_responder));
    if (rate && client_rate(wf_terminal, id, WF_TERMINAL, rating, NULL, &f) != 0)
        diag("rating %s: %s", id, client_reason(wf_terminal));
}

/* wait_unanswered polls STATUS until the store lists id as unanswered. */
static int wait_unanswered(const char *id, int ms)
{
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    do {
        proto_msg m;
        if (client_status(wf_terminal, &m, &wf_arena) == 0 && m.store_figures &&
            wf_figure_has_str(m.store_figures, m.store_figures_len, "unanswered", id))
            return 1;
        wf_pump(100);
    } while (clock_mono_ms() < until);
    return 0;
}

int main(void)
{
    const char *skip = getenv("GRIDLINE_NO_BROWSER");
    if (skip && strcmp(skip, "1") == 0) {
        printf("1..0 # SKIP GRIDLINE_NO_BROWSER=1: the dashboard is not loaded in a browser\n");
        return 0;
    }
    const char *browser = find_browser();
    if (!ok(browser != NULL, "chromium is installed (tools/install-deps; GRIDLINE_NO_BROWSER=1 skips)"))
        return done_testing();

    tl_setup(&wf_env, "dashboard");
    static const wf_plan plans[] = {{"mingzhu-g1", "fall", {SQUAD, NULL, NULL}, {1, 0, 0}}};
    if (wf_write_county(NULL, 0, plans, GL_ARRAY_LEN(plans)) != 0 || ht_start(1, NULL) != 0) {
        printf("Bail out! broker and worker did not come up\n");
        return 1;
    }
    int lis = wf_listen(GRID_TEAM, "网格员");
    ok(lis >= 0, "heping-g1-team listens");

    const char *ids[] = {"dash-req-1", "dash-req-2", "dash-req-3", "dash-req-4"};
    int filed = 0;
    for (int i = 0; i < 4; i++)
        filed += wf_submit(ids[i], GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g1", NULL) == 0;
    is_int(filed, 4, "four repair requests filed in heping");
    work("dash-req-1", 1, "satisfied");   /* closed */
    work("dash-req-2", 1, "unsatisfied"); /* reopened: not resolved */
    work("dash-req-3", 0, NULL);          /* resolved, not rated */
    gl_event alert = {.id = "dash-alert-1", .kind = GL_KIND_ALERT, .category = "fall",
                      .community = "mingzhu", .grid = "mingzhu-g1", .terminal = "mingzhu-callbox",
                      .text = "一键呼叫", .urgency = "Immediate", .severity = "Severe"};
    client_filed f;
    is_int(client_submit(wf_terminal, &alert, &f), 0, "a fall alert in mingzhu that nobody answers");
    ok(wait_unanswered("dash-alert-1", 1000 + 3 * HEARTBEAT_MS + 2000),
       "status lists it unanswered once its squad's second has passed");
    wf_pump(2 * HEARTBEAT_MS); /* the report carrying it reaches the broker */

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ht_port);
    char *dom = dump_dom(browser, url, 90000);
    if (!ok(dom != NULL, "headless chromium loads %s and prints the DOM", url))
        return wf_finish();
    ok(strstr(dom, "data-loaded=\"1\"") != NULL, "the page's script fetched the figures and filled it");
    if (!strstr(dom, "data-loaded=\"1\""))
        diag("DOM: %.2000s", dom);

    char c[12][64];
    /* community, events, response, resolution, satisfaction, answered in
     * time / due, resolved, satisfied / rated, overdue, unanswered */
    int n = cells(dom, "data-community=\"heping\"", c, 12);
    if (ok(n == 10, "a row for heping (%d cells)", n)) {
        is_str(c[1], "4", "heping: 4 events");
        is_str(c[2], "100.0%", "response rate 100.0%%: the three dispatches answered were answered in time");
        is_str(c[5], "3 / 3", "3 of 3 dispatches due an answer answered in time (the untouched one is still within its 30 min)");
        is_str(c[3], "50.0%", "resolution rate 50.0%%: closed and resolved, not the reopened or untouched one");
        is_str(c[6], "2", "2 resolved");
        is_str(c[4], "50.0%", "satisfaction rate 50.0%%");
        is_str(c[7], "1 / 2", "1 satisfied of 2 rated");
    }
    n = cells(dom, "data-community=\"mingzhu\"", c, 12);
    if (ok(n == 10, "a row for mingzhu (%d cells)", n)) {
        is_str(c[1], "1", "mingzhu: 1 event");
        is_str(c[2], "0.0%", "response rate 0.0%%: its squad let the deadline pass");
        is_str(c[5], "0 / 1", "0 of 1 answered in time");
        is_str(c[4], "-", "no satisfaction rate without ratings");
        is_str(c[9], "1", "1 unanswered");
    }
    n = cells(dom, "data-community=\"*total*\"", c, 12);
    if (ok(n == 10, "a row for all communities"))
        is_str(c[1], "5", "5 events in all");
    ok(strstr(dom, "data-id=\"dash-alert-1\"") != NULL, "the unanswered alert is listed by id");
    ok(strstr(dom, "id=\"unanswered-count\" class=\"alert\">1<") != NULL, "unanswered alerts: 1");
    ok(strstr(dom, "id=\"events\">5<") != NULL, "events filed: 5");
    n = cells(dom, "id=\"lane-alert\"", c, 12);
    ok(n == 6 && strcmp(c[1], "0") == 0, "the alert lane, nothing waiting");
    n = cells(dom, "id=\"lane-routine\"", c, 12);
    ok(n == 6 && strcmp(c[1], "0") == 0, "the routine lane, nothing waiting");
    n = cells(dom, "data-worker=\"w1\"", c, 12);
    ok(n == 4, "the worker w1 with its credit and in-flight jobs");
    n = cells(dom, "data-team=\"" GRID_TEAM "\"", c, 12);
    ok(n == 2 && strcmp(c[1], "1") == 0, "heping-g1-team: 1 member present");
    free(dom);

    /* The same figures from the command line. */
    int rc;
    json_t *j = wf_cli_json((const char *[]){"scores", "--since", "1d", "--json", NULL}, &rc);
    is_int(rc, 0, "gridline scores --since 1d --json exits 0");
    json_t *heping = json_object_get(json_object_get(j, "communities"), "heping");
    is_int(json_integer_value(json_object_get(heping, "events")), 4, "heping: 4 events");
    is_int(json_integer_value(json_object_get(heping, "resolved")), 2, "2 resolved");
    ok(json_real_value(json_object_get(heping, "satisfaction_rate")) == 0.5,
       "satisfaction_rate 0.5");
    is_int(json_integer_value(json_object_get(json_object_get(j, "total"), "events")), 5,
           "total: 5 events");
    json_decref(j);
    rc = wf_cli((const char *[]){"scores", "--since", "today", NULL});
    is_int(rc, 0, "gridline scores --since today exits 0");
    ok(wf_out_has("heping") && wf_out_has("100.0%") && wf_out_has("50.0%") && wf_out_has("(all)"),
       "its table names heping with its rates, and the total");
    rc = wf_cli((const char *[]){"scores", "--since", "1h", "--until", "2h", NULL});
    is_int(rc, 2, "a period that ends before it starts: exit 2");
    rc = wf_cli((const char *[]){"scores", "--since", "last tuesday", NULL});
    is_int(rc, 2, "an unreadable --since: exit 2");
    return wf_finish();
}
