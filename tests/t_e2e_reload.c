/* End to end: reloading the county directory with SIGHUP.
 *
 * The worker runs on a copy of the demo county in the test's directory. A
 * request category the copy lacks is refused (bad_field); once the operator
 * adds it to the file and sends SIGHUP, the same category is filed. A file
 * with a syntax error, or one that does not validate, is refused with a log
 * line and the worker keeps the directory it had. Removing the category
 * again takes effect too. And a stream of submits during repeated SIGHUPs
 * loses nothing. */
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STREAM_MAX 5000
#define HUPS 25

static tl_env env;
static gl_arena arena;
static client *terminal;
static char base_path[600]; /* data/demo-county.json */
static char copy_path[400]; /* DIR/county.json, the worker's --directory */

/* Writes text to path through a temporary file and rename, as an operator's
 * editor or deploy script would: the worker never sees half a file. */
static int write_file(const char *path, const char *text)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc == 0 ? rename(tmp, path) : -1;
}

enum { WITH_SNOW = 1, BAD_REFERENCE = 2 };

/* Writes the demo county to copy_path, changed by flags: WITH_SNOW adds the
 * request category snow-clearing; BAD_REFERENCE points a grid at a team that
 * does not exist (valid JSON that must not validate). */
static int write_directory(int flags)
{
    json_error_t err;
    json_t *root = json_load_file(base_path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        diag("cannot read %s: %s (line %d)", base_path, err.text, err.line);
        return -1;
    }
    if (flags & WITH_SNOW) {
        json_t *req = json_object_get(json_object_get(root, "categories"), "request");
        json_array_append_new(req, json_pack("{s:s, s:s}", "id", "snow-clearing", "name", "扫雪"));
    }
    if (flags & BAD_REFERENCE) {
        json_t *c0 = json_array_get(json_object_get(root, "communities"), 0);
        json_t *g0 = json_array_get(json_object_get(c0, "grids"), 0);
        json_object_set_new(g0, "team", json_string("no-such-team"));
    }
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    int rc = text ? write_file(copy_path, text) : -1;
    free(text);
    return rc;
}

/* Lines in the worker's logs containing a and b. */
static int worker_log_count(const char *a, const char *b)
{
    DIR *d = opendir(env.dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "gridline-worker.", 16) != 0)
            continue;
        char path[600], line[2048];
        snprintf(path, sizeof path, "%s/%s", env.dir, e->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f))
            n += strstr(line, a) && strstr(line, b);
        if (f)
            fclose(f);
    }
    closedir(d);
    return n;
}

static int wait_log_count(const char *a, const char *b, int want, int ms)
{
    int n = 0;
    for (int waited = 0; waited < ms; waited += 50) {
        if ((n = worker_log_count(a, b)) >= want)
            break;
        tl_sleep_ms(50);
    }
    return n;
}

static int submit(const char *id, int kind, const char *category)
{
    gl_event ev = {.id = id, .kind = kind, .category = category, .community = "heping",
                   .grid = "heping-g2", .text = "楼前积雪，老人出行困难",
                   .terminal = "heping-desk"};
    client_filed f;
    return client_submit(terminal, &ev, &f);
}

/* Submits snow-clearing requests (a fresh id each try, since a refusal stores
 * nothing but a success would) until one gets want, at most ms. Returns the
 * last result; *id_out is the id that got it. */
static int snow_until(int want, int ms, char *id_out, size_t len)
{
    static int n;
    int rc = 1;
    for (int waited = 0; waited < ms; waited += 50) {
        snprintf(id_out, len, "rl-snow-%03d", ++n);
        if ((rc = submit(id_out, GL_KIND_REQUEST, "snow-clearing")) == want)
            break;
        tl_sleep_ms(50);
    }
    return rc;
}

/* The stream terminal: submits one event after another until the stop file
 * appears (at most STREAM_MAX), writes "started" after its first FILED and,
 * at the end, how many it submitted; exits with the number that failed. */
static void path_in_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", env.dir, name);
}

static void run_stream(void)
{
    char failures_path[400], stop_path[400], started_path[400], count_path[400];
    path_in_dir(failures_path, sizeof failures_path, "stream-failures.txt");
    path_in_dir(stop_path, sizeof stop_path, "stream-stop");
    path_in_dir(started_path, sizeof started_path, "stream-started");
    path_in_dir(count_path, sizeof count_path, "stream-count");
    FILE *out = fopen(failures_path, "w");
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 2000;
    o.retries = 5;
    client *c = NULL;
    if (!out || client_open(&c, env.intake, &o, NULL, 0) != 0)
        _exit(100);
    int failures = 0, i;
    for (i = 0; i < STREAM_MAX && access(stop_path, F_OK) != 0; i++) {
        char id[32];
        snprintf(id, sizeof id, "rl-stream-%04d", i);
        static const char *const cats[] = {"repair", "snow-clearing", "eldercare"};
        gl_event ev = {.id = id, .kind = i % 7 == 0 ? GL_KIND_ALERT : GL_KIND_REQUEST,
                       .category = i % 7 == 0 ? "fire" : cats[i % 3], .community = "heping",
                       .grid = "heping-g1", .text = "reload stream"};
        client_filed f;
        int rc = client_submit(c, &ev, &f);
        if (rc != 0) {
            failures++;
            fprintf(out, "%s: %s (%s)\n", id, gl_errname(rc), client_reason(c));
        }
        if (i == 0)
            write_file(started_path, "started\n");
    }
    char count[32];
    snprintf(count, sizeof count, "%d\n", i);
    write_file(count_path, count);
    fclose(out);
    client_close(&c);
    _exit(failures > 99 ? 99 : failures);
}

static int read_count(void)
{
    char path[400];
    path_in_dir(path, sizeof path, "stream-count");
    FILE *f = fopen(path, "r");
    int n = -1;
    if (f && fscanf(f, "%d", &n) != 1)
        n = -1;
    if (f)
        fclose(f);
    return n;
}

int main(void)
{
    tl_setup(&env, "reload");
    const char *data = getenv("GRIDLINE_DATA");
    snprintf(base_path, sizeof base_path, "%s/demo-county.json", data ? data : "data");
    snprintf(copy_path, sizeof copy_path, "%s/county.json", env.dir);
    if (write_directory(0) != 0) {
        printf("Bail out! cannot copy the demo county\n");
        return 1;
    }
    snprintf(env.directory, sizeof env.directory, "%s", copy_path);
    const char *const bx[] = {"--heartbeat-ms", "200", NULL};
    const char *const wx[] = {"--heartbeat-ms", "200", NULL};
    pid_t b = tl_broker(&env, bx);
    pid_t w = tl_worker(&env, "w1", wx);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! broker and worker did not come up\n");
        return 1;
    }
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 3000;
    client_open(&terminal, env.intake, &o, NULL, 0);
    proto_msg m;
    char id[32], first_snow[32];

    /* 1. unknown category */
    is_int(submit("rl-snow-000", GL_KIND_REQUEST, "snow-clearing"), GL_EBADFIELD,
           "a request category the directory lacks is refused as bad_field");
    ok(strstr(client_reason(terminal), "snow-clearing") != NULL, "the reason names it: %s",
       client_reason(terminal));
    is_int(client_show(terminal, "rl-snow-000", &m, &arena), GL_ENOTFOUND, "nothing was stored");

    /* 2. add it, SIGHUP: it files */
    ok(write_directory(WITH_SNOW) == 0, "the operator adds snow-clearing (扫雪) to the file");
    ok(kill(w, SIGHUP) == 0, "and sends SIGHUP to the worker");
    is_int(snow_until(0, 5000, id, sizeof id), 0, "the new category is filed after the reload");
    snprintf(first_snow, sizeof first_snow, "%s", id);
    is_int(client_show(terminal, id, &m, &arena), 0, "SHOW finds it");
    ok(m.ev.category && strcmp(m.ev.category, "snow-clearing") == 0 && m.ndispatches == 1 &&
           strcmp(m.dispatches[0].team, "heping-g2-team") == 0,
       "stored as snow-clearing, dispatched to the grid team");
    is_int(submit("rl-repair-1", GL_KIND_REQUEST, "repair"), 0, "old categories still file");

    /* 3. a syntax error: refused, the previous directory stays */
    int failed_before = worker_log_count("reload", "fail");
    ok(write_file(copy_path, "{\n \"version\": 1,\n \"county\": {\"id\": \"pingluo\",\n") == 0,
       "the file is overwritten with broken JSON");
    kill(w, SIGHUP);
    is_int(wait_log_count("reload", "fail", failed_before + 1, 5000), failed_before + 1,
           "the worker logs that the reload failed");
    ok(tl_alive(w), "and keeps running");
    is_int(snow_until(0, 1, id, sizeof id), 0, "with the previous directory: snow-clearing still files");
    is_int(submit("rl-repair-2", GL_KIND_REQUEST, "repair"), 0, "and so does repair");

    /* 4. valid JSON that does not validate (without snow-clearing, so a
     * wrongly taken file would show) */
    ok(write_directory(BAD_REFERENCE) == 0, "the file now names a team that does not exist");
    kill(w, SIGHUP);
    is_int(wait_log_count("reload", "fail", failed_before + 2, 5000), failed_before + 2,
           "the worker logs that this reload failed too");
    ok(tl_alive(w), "and keeps running");
    is_int(snow_until(0, 1, id, sizeof id), 0, "still on the previous directory: snow-clearing files");
    is_int(submit("rl-fall-1", GL_KIND_ALERT, "fall"), 0, "an alert files");
    client_show(terminal, "rl-fall-1", &m, &arena);
    int grid_team = 0;
    for (size_t i = 0; i < m.ndispatches; i++)
        grid_team |= strcmp(m.dispatches[i].team, "heping-g2-team") == 0;
    ok(grid_team, "routed by the previous directory (grid team heping-g2-team)");

    /* 5. the category removed again: refused again, filed events stay */
    ok(write_directory(0) == 0, "the file goes back to the plain demo county");
    kill(w, SIGHUP);
    is_int(snow_until(GL_EBADFIELD, 5000, id, sizeof id), GL_EBADFIELD,
           "after SIGHUP snow-clearing is refused again");
    is_int(client_show(terminal, first_snow, &m, &arena), 0,
           "an event filed under the removed category is still shown");

    /* 6. SIGHUPs during a stream of submits */
    write_directory(WITH_SNOW);
    kill(w, SIGHUP);
    is_int(snow_until(0, 5000, id, sizeof id), 0, "snow-clearing is back");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        run_stream();
    char started[400], stop[400];
    path_in_dir(started, sizeof started, "stream-started");
    path_in_dir(stop, sizeof stop, "stream-stop");
    for (int waited = 0; waited < 5000 && access(started, F_OK) != 0; waited += 10)
        tl_sleep_ms(10);
    ok(access(started, F_OK) == 0, "a terminal is submitting a stream of events");
    int reloads_before = worker_log_count("directory reloaded", "");
    int hups = 0;
    for (; hups < HUPS && tl_alive(child); hups++) {
        kill(w, SIGHUP);
        tl_sleep_ms(20);
    }
    ok(tl_alive(child), "it was still submitting after %d SIGHUPs to the worker, 20 ms apart", hups);
    diag("the worker logged %d reloads meanwhile",
         wait_log_count("directory reloaded", "", reloads_before + 1, 2000) - reloads_before);
    write_file(stop, "stop\n");
    int status = -1, reaped = 0;
    for (int waited = 0; waited < 15000; waited += 20) {
        if (waitpid(child, &status, WNOHANG) == child) {
            reaped = 1;
            break;
        }
        tl_sleep_ms(20);
    }
    if (!reaped) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
    }
    int n = read_count();
    ok(reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0 && n > 0,
       "none of its %d submits failed (%s %d)", n,
       WIFEXITED(status) ? "failures" : "status", WIFEXITED(status) ? WEXITSTATUS(status) : status);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char path[400], line[512];
        path_in_dir(path, sizeof path, "stream-failures.txt");
        FILE *f = fopen(path, "r");
        for (int i = 0; f && i < 10 && fgets(line, sizeof line, f); i++)
            diag("  %s", strtok(line, "\n"));
        if (f)
            fclose(f);
    }
    int stored = 0;
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "rl-stream-%04d", i);
        arena_reset(&arena);
        stored += client_show(terminal, id, &m, &arena) == 0;
    }
    is_int(stored, n, "all %d are in the store", n);
    ok(tl_alive(w) && tl_alive(b), "worker and broker are running");

    client_close(&terminal);
    arena_free(&arena);
    return done_testing();
}
