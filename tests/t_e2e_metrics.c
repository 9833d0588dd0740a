/* End to end: the broker's Prometheus endpoint (issue 5, "metrics scraped
 * and parsed as Prometheus text format"). A real broker with --http on a
 * free loopback port and a worker; the test files alerts, requests,
 * feedback, a resent duplicate and bad submits, then scrapes /metrics over
 * its own TCP connection, checks every line against the text format
 * (HELP/TYPE, metric and label names, label escapes, float values, one
 * TYPE per family before its samples, no sample twice, histogram buckets
 * cumulative with +Inf equal to _count), and checks the values against
 * what it did. Also: /api/status and /api/scores as JSON, the errors an
 * HTTP client gets, and --http refused on a non-loopback address. */
#include "support/http.h"

#include <math.h>

#include "../proto/frame.h"

#define MAX_SAMPLES 4000
#define MAX_FAMILIES 400

typedef struct sample {
    char name[128];
    char labels[256]; /* as written, without braces: k="v",k2="v2" */
    double value;
} sample;

typedef struct family {
    char name[128];
    char type[16];
    int help, samples;
} family;

static sample samples[MAX_SAMPLES];
static int nsamples;
static family families[MAX_FAMILIES];
static int nfamilies;
static char problem[300];

static int name_char(char c, int first, int metric)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* read_name reads a metric (metric = 1) or label name at *p into out. */
static int read_name(const char **p, char *out, size_t len, int metric)
{
    size_t n = 0;
    if (!name_char(**p, 1, metric))
        return -1;
    while (name_char(**p, n == 0, metric) && n + 1 < len)
        out[n++] = *(*p)++;
    out[n] = '\0';
    return name_char(**p, 0, metric) ? -1 : 0;
}

static family *family_of(const char *name, int create)
{
    for (int i = 0; i < nfamilies; i++)
        if (strcmp(families[i].name, name) == 0)
            return &families[i];
    if (!create || nfamilies == MAX_FAMILIES)
        return NULL;
    family *f = &families[nfamilies++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

/* The family a sample belongs to: a histogram's _bucket, _sum and _count
 * belong to the histogram. */
static family *family_of_sample(const char *name)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(name), s = strlen(suffixes[i]);
        if (n > s && strcmp(name + n - s, suffixes[i]) == 0) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(n - s), name);
            family *f = family_of(base, 0);
            if (f && strcmp(f->type, "histogram") == 0)
                return f;
        }
    }
    return family_of(name, 0);
}

static int fail_line(int no, const char *line, const char *why)
{
    snprintf(problem, sizeof problem, "line %d: %s: %.150s", no, why, line);
    return -1;
}

static int parse_value(const char *s, double *v)
{
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0) {
        *v = INFINITY;
        return 0;
    }
    if (strcmp(s, "-Inf") == 0) {
        *v = -INFINITY;
        return 0;
    }
    if (strcmp(s, "NaN") == 0) {
        *v = NAN;
        return 0;
    }
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0' ? 0 : -1;
}

static int parse_line(int no, const char *line)
{
    if (line[0] == '\0')
        return 0;
    if (line[0] == '#') {
        const char *p = line + 1;
        int help = strncmp(p, " HELP ", 6) == 0, type = strncmp(p, " TYPE ", 6) == 0;
        if (!help && !type)
            return 0; /* a comment */
        p += 6;
        char name[128];
        if (read_name(&p, name, sizeof name, 1) != 0 || *p != ' ')
            return fail_line(no, line, "bad metric name after HELP/TYPE");
        p++;
        family *f = family_of(name, 1);
        if (!f)
            return fail_line(no, line, "too many families");
        if (help) {
            if (f->help++)
                return fail_line(no, line, "a second HELP");
            return 0;
        }
        static const char *const types[] = {"counter", "gauge", "histogram", "summary",
                                            "untyped"};
        int known = 0;
        for (int i = 0; i < 5; i++)
            known |= strcmp(p, types[i]) == 0;
        if (!known)
            return fail_line(no, line, "unknown TYPE");
        if (f->type[0])
            return fail_line(no, line, "a second TYPE");
        if (f->samples)
            return fail_line(no, line, "TYPE after the family's samples");
        snprintf(f->type, sizeof f->type, "%s", p);
        return 0;
    }
    if (nsamples == MAX_SAMPLES)
        return fail_line(no, line, "too many samples");
    sample *s = &samples[nsamples];
    const char *p = line;
    if (read_name(&p, s->name, sizeof s->name, 1) != 0)
        return fail_line(no, line, "bad metric name");
    size_t ln = 0;
    s->labels[0] = '\0';
    if (*p == '{') {
        const char *start = ++p;
        while (*p != '}') {
            char lname[128];
            if (read_name(&p, lname, sizeof lname, 0) != 0 || *p++ != '=' || *p++ != '"')
                return fail_line(no, line, "bad label");
            while (*p && *p != '"') {
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n')
                        return fail_line(no, line, "bad escape in a label value");
                }
                if (*p == '\n')
                    return fail_line(no, line, "raw newline in a label value");
                p++;
            }
            if (*p++ != '"')
                return fail_line(no, line, "unterminated label value");
            if (*p == ',')
                p++;
            else if (*p != '}')
                return fail_line(no, line, "expected , or } after a label");
        }
        ln = (size_t)(p - start);
        if (ln >= sizeof s->labels)
            return fail_line(no, line, "labels too long for this test");
        memcpy(s->labels, start, ln);
        s->labels[ln] = '\0';
        p++;
    }
    if (*p++ != ' ')
        return fail_line(no, line, "no space before the value");
    char value[64];
    size_t vl = strcspn(p, " ");
    if (vl == 0 || vl >= sizeof value)
        return fail_line(no, line, "no value");
    memcpy(value, p, vl);
    value[vl] = '\0';
    if (parse_value(value, &s->value) != 0)
        return fail_line(no, line, "value is not a float");
    p += vl;
    if (*p == ' ') { /* an optional timestamp: an integer */
        char *end;
        strtoll(p + 1, &end, 10);
        if (end == p + 1 || *end)
            return fail_line(no, line, "bad timestamp");
    }
    family *f = family_of_sample(s->name);
    if (!f || !f->type[0])
        return fail_line(no, line, "sample without a TYPE before it");
    f->samples++;
    for (int i = 0; i < nsamples; i++)
        if (strcmp(samples[i].name, s->name) == 0 && strcmp(samples[i].labels, s->labels) == 0)
            return fail_line(no, line, "the same sample twice");
    nsamples++;
    return 0;
}

/* parse checks the whole exposition; 0, or -1 with problem set. */
static int parse(char *body)
{
    nsamples = nfamilies = 0;
    problem[0] = '\0';
    if (body[0] && body[strlen(body) - 1] != '\n') {
        snprintf(problem, sizeof problem, "the last line has no newline");
        return -1;
    }
    int no = 0;
    for (char *line = body, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (parse_line(++no, line) != 0)
            return -1;
    }
    return 0;
}

/* value of the sample name{labels}, NAN when absent. */
static double value(const char *name, const char *labels)
{
    for (int i = 0; i < nsamples; i++)
        if (strcmp(samples[i].name, name) == 0 && strcmp(samples[i].labels, labels ? labels : "") == 0)
            return samples[i].value;
    return NAN;
}

static const char *type_of(const char *name)
{
    family *f = family_of(name, 0);
    return f ? f->type : "";
}

/* check_histogram: the buckets of name for lane are cumulative, their le
 * ascending, the last +Inf, equal to _count. */
static int check_histogram(const char *name, const char *lane, double *count)
{
    char bucket[160], prefix[64];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    snprintf(prefix, sizeof prefix, "lane=\"%s\",le=\"", lane);
    double last_le = -INFINITY, last = -1;
    int n = 0, inf = 0;
    for (int i = 0; i < nsamples; i++) {
        if (strcmp(samples[i].name, bucket) != 0 ||
            strncmp(samples[i].labels, prefix, strlen(prefix)) != 0)
            continue;
        char le[32];
        snprintf(le, sizeof le, "%.*s", (int)strcspn(samples[i].labels + strlen(prefix), "\""),
                 samples[i].labels + strlen(prefix));
        double bound;
        if (parse_value(le, &bound) != 0 || bound <= last_le || samples[i].value < last ||
            inf) {
            diag("bucket le=%s: bound %g after %g, count %g after %g", le, bound, last_le,
                 samples[i].value, last);
            return -1;
        }
        inf = isinf(bound);
        last_le = bound;
        last = samples[i].value;
        n++;
    }
    char labels[64];
    snprintf(labels, sizeof labels, "lane=\"%s\"", lane);
    char cname[160];
    snprintf(cname, sizeof cname, "%s_count", name);
    *count = value(cname, labels);
    snprintf(cname, sizeof cname, "%s_sum", name);
    double sum = value(cname, labels);
    if (!inf || n < 2 || last != *count || !(sum >= 0)) {
        diag("%d buckets, +Inf %d, last %g, count %g, sum %g", n, inf, last, *count, sum);
        return -1;
    }
    return 0;
}

static char *body;

/* scrape fetches /metrics and parses it; 0 or -1 after a diag. */
static int scrape(void)
{
    ht_reply r;
    if (ht_get("/metrics", &r) != 0 || r.status != 200) {
        diag("GET /metrics: status %d", r.status);
        ht_reply_free(&r);
        return -1;
    }
    free(body);
    body = strdup(r.body);
    int rc = parse(r.body);
    if (rc != 0)
        diag("not the Prometheus text format: %s", problem);
    ht_reply_free(&r);
    return rc;
}

static void submit(const char *id, int kind, const char *category, const char *community,
                   const char *grid)
{
    client_filed f;
    int rc = wf_submit(id, kind, category, community, NULL, grid, &f);
    if (rc != 0)
        diag("submit %s: %s (%s)", id, gl_strerror(rc), client_reason(wf_terminal));
}

/* The client API checks what it sends, so a malformed SUBMIT goes out on a
 * DEALER of the test's own; returns the ERROR's code, or 0. */
static int raw_submit_without_text(void)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, code = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "mx-bad-1", 8);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "request", 7);
    msgpack_pack_str_with_body(&pk, "category", 8);
    msgpack_pack_str_with_body(&pk, "repair", 6);
    if (zmq_connect(s, wf_env.intake) == 0 &&
        frame_send(s, NULL, 0, PROTO_SUBMIT, sb.data, sb.size, 0, NULL, 0, 0) == 0) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        frame_msg fm;
        if (zmq_poll(&item, 1, 5000) == 1 && frame_recv(s, 0, 0, &fm) == 0 &&
            fm.cmd == PROTO_ERROR) {
            proto_msg m;
            size_t len;
            const void *b = frame_body(&fm, &len);
            if (proto_decode(PROTO_ERROR, b, len, &m, &wf_arena, NULL, 0) == 0)
                code = (int)m.code;
        }
        frame_close(&fm);
    }
    msgpack_sbuffer_destroy(&sb);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return code;
}

static void case_format_and_values(void)
{
    ht_reply r;
    ok(ht_get("/metrics", &r) == 0 && r.status == 200, "GET /metrics answers 200");
    ok(strncmp(r.content_type, "text/plain; version=0.0.4", 25) == 0,
       "Content-Type text/plain; version=0.0.4 (got '%s')", r.content_type);
    ht_reply_free(&r);
    if (!ok(scrape() == 0, "before any event: every line is valid text format"))
        return;
    ok(value("gridline_up", NULL) == 1, "gridline_up 1");
    is_int((long)value("gridline_workers_connected", NULL), 1, "gridline_workers_connected 1");

    /* What the test does: 3 alerts, 2 requests, 1 feedback, the first
     * request resent, a submit the broker refuses (no text: missing_field)
     * and one the worker refuses (unknown category: bad_field). */
    submit("mx-alert-1", GL_KIND_ALERT, "fall", "heping", "heping-g1");
    submit("mx-alert-2", GL_KIND_ALERT, "fire", "heping", "heping-g2");
    submit("mx-alert-3", GL_KIND_ALERT, "medical", "mingzhu", "mingzhu-g1");
    submit("mx-req-1", GL_KIND_REQUEST, "repair", "heping", "heping-g1");
    submit("mx-req-2", GL_KIND_REQUEST, "eldercare", "mingzhu", "mingzhu-g2");
    submit("mx-fb-1", GL_KIND_FEEDBACK, "elevator", "heping", NULL);
    submit("mx-req-1", GL_KIND_REQUEST, "repair", "heping", "heping-g1");
    client_filed f;
    is_int(raw_submit_without_text(), -GL_EMISSING,
           "a submit without text is refused: missing_field");
    gl_event unknown = {.id = "mx-bad-2", .kind = GL_KIND_REQUEST, .category = "no-such",
                        .community = "heping", .text = "?"};
    is_int(client_submit(wf_terminal, &unknown, &f), GL_EBADFIELD,
           "a submit of an unknown category is refused: bad_field");
    int lis = wf_listen("heping-g1-team", "网格员");
    ok(lis >= 0, "heping-g1-team listens");

    /* The store's figures come with the worker's next report, the resent
     * dispatches (--retry-ms 400) a moment later. */
    uint64_t until = clock_mono_ms() + 8000;
    do {
        wf_pump(200);
        if (scrape() != 0)
            break;
    } while ((value("gridline_store_events", NULL) != 6 ||
              !(value("gridline_redeliveries_total", NULL) > 0)) &&
             clock_mono_ms() < until);
    if (!ok(problem[0] == '\0', "after the events: every line is valid text format"))
        return;
    ok(strcmp(type_of("gridline_events_filed_total"), "counter") == 0 &&
           strcmp(type_of("gridline_errors_total"), "counter") == 0 &&
           strcmp(type_of("gridline_queue_depth"), "gauge") == 0 &&
           strcmp(type_of("gridline_filing_latency_seconds"), "histogram") == 0,
       "types: filed and errors counters, queue depth a gauge, latency a histogram");
    is_int((long)value("gridline_events_filed_total", "kind=\"alert\""), 3,
           "gridline_events_filed_total{kind=\"alert\"} 3");
    is_int((long)value("gridline_events_filed_total", "kind=\"request\""), 2,
           "gridline_events_filed_total{kind=\"request\"} 2 (the resent one not counted)");
    is_int((long)value("gridline_events_filed_total", "kind=\"feedback\""), 1,
           "gridline_events_filed_total{kind=\"feedback\"} 1");
    is_int((long)value("gridline_duplicate_submits_total", NULL), 1,
           "gridline_duplicate_submits_total 1");
    is_int((long)value("gridline_errors_total", "code=\"missing_field\""), 1,
           "gridline_errors_total{code=\"missing_field\"} 1");
    is_int((long)value("gridline_errors_total", "code=\"bad_field\""), 1,
           "gridline_errors_total{code=\"bad_field\"} 1");
    double alerts, routine;
    ok(check_histogram("gridline_filing_latency_seconds", "alert", &alerts) == 0 &&
           check_histogram("gridline_filing_latency_seconds", "routine", &routine) == 0,
       "latency histogram: buckets cumulative, le ascending, +Inf = _count");
    is_int((long)alerts, 3, "alert lane: 3 filings timed");
    is_int((long)routine, 4, "routine lane: 4 (the duplicate's answer timed too)");
    ok(value("gridline_filing_latency_seconds_sum", "lane=\"alert\"") < 10,
       "their sum is in seconds (%g)", value("gridline_filing_latency_seconds_sum", "lane=\"alert\""));
    is_int((long)value("gridline_jobs_received_total", "lane=\"alert\""), 3,
           "gridline_jobs_received_total{lane=\"alert\"} 3");
    ok(strcmp(type_of("gridline_job_packs_total"), "counter") == 0 &&
           value("gridline_jobs_packed_total", NULL) >= 2 * value("gridline_job_packs_total", NULL),
       "the packed JOBs' counters: %g PACKs of %g JOBs", value("gridline_job_packs_total", NULL),
       value("gridline_jobs_packed_total", NULL));
    if (value("gridline_uptime_seconds", NULL) < 55)
        ok(value("gridline_jobs_in_per_minute", "lane=\"alert\"") >= 3 &&
               value("gridline_jobs_out_per_minute", "lane=\"alert\"") >= 3,
           "in the broker's first minute the per-minute rates are a partial minute's, not 0 "
           "(in %g, out %g)", value("gridline_jobs_in_per_minute", "lane=\"alert\""),
           value("gridline_jobs_out_per_minute", "lane=\"alert\""));
    is_int((long)value("gridline_queue_depth", "lane=\"routine\""), 0,
           "gridline_queue_depth{lane=\"routine\"} 0");
    is_int((long)value("gridline_team_responders_connected", "team=\"heping-g1-team\""), 1,
           "gridline_team_responders_connected{team=\"heping-g1-team\"} 1");
    is_int((long)value("gridline_store_events", NULL), 6, "gridline_store_events 6");
    ok(value("gridline_dispatches", "state=\"pending\"") > 0, "gridline_dispatches{state=\"pending\"} %g",
       value("gridline_dispatches", "state=\"pending\""));
    ok(value("gridline_redeliveries_total", NULL) > 0,
       "gridline_redeliveries_total %g: unacknowledged dispatches were resent",
       value("gridline_redeliveries_total", NULL));
    ok(value("gridline_lmdb_map_size_bytes", NULL) > 0 &&
           value("gridline_lmdb_map_used_bytes", NULL) > 0 &&
           value("gridline_lmdb_map_used_bytes", NULL) <= value("gridline_lmdb_map_size_bytes", NULL),
       "LMDB map used %g of %g bytes", value("gridline_lmdb_map_used_bytes", NULL),
       value("gridline_lmdb_map_size_bytes", NULL));
    ok(value("gridline_lmdb_readers", NULL) >= 1, "gridline_lmdb_readers %g",
       value("gridline_lmdb_readers", NULL));
    ok(value("gridline_store_unanswered_alerts", NULL) == 0 &&
           !isnan(value("gridline_store_max_readers", NULL)),
       "every number the worker reports is a gauge gridline_store_<figure>");
}

static void case_json(void)
{
    ht_reply r;
    json_error_t err;
    ok(ht_get("/api/status", &r) == 0 && r.status == 200 &&
           strncmp(r.content_type, "application/json", 16) == 0,
       "GET /api/status: 200, application/json");
    json_t *j = r.body ? json_loads(r.body, 0, &err) : NULL;
    is_int(json_integer_value(json_object_get(json_object_get(j, "store"), "events")), 6,
           "store.events 6");
    is_int(json_integer_value(json_object_get(
               json_object_get(json_object_get(j, "broker"), "filed"), "alert")),
           3, "broker.filed.alert 3");
    json_decref(j);
    ht_reply_free(&r);

    ok(ht_get("/api/scores?since=1d&until=now", &r) == 0 && r.status == 200,
       "GET /api/scores?since=1d&until=now: 200");
    j = r.body ? json_loads(r.body, 0, &err) : NULL;
    json_t *c = json_object_get(j, "communities");
    is_int(json_integer_value(json_object_get(json_object_get(c, "heping"), "events")), 4,
           "heping: 4 events filed today");
    is_int(json_integer_value(json_object_get(json_object_get(c, "mingzhu"), "events")), 2,
           "mingzhu: 2");
    is_int(json_integer_value(json_object_get(json_object_get(j, "total"), "events")), 6,
           "total: 6");
    json_decref(j);
    ht_reply_free(&r);

    ok(ht_get("/api/scores?since=1700000000000&until=1700000001000", &r) == 0 && r.status == 200,
       "a period long ago answers too");
    j = r.body ? json_loads(r.body, 0, &err) : NULL;
    is_int(json_integer_value(json_object_get(json_object_get(j, "total"), "events")), 0,
           "with no events in it");
    json_decref(j);
    ht_reply_free(&r);

    ok(ht_get("/api/scores?since=yesterday", &r) == 0 && r.status == 400, "a bad since: 400");
    j = r.body ? json_loads(r.body, 0, &err) : NULL;
    is_str(json_string_value(json_object_get(j, "error")), "bad_field", "error bad_field");
    json_decref(j);
    ht_reply_free(&r);
    ok(ht_get("/api/scores?since=now&until=1d", &r) == 0 && r.status == 400,
       "until before since: 400");
    ht_reply_free(&r);
    ok(ht_get("/no-such-page", &r) == 0 && r.status == 404, "an unknown path: 404");
    ht_reply_free(&r);
    ok(ht_request("POST", "/metrics", &r, 5000) == 0 && r.status == 405, "POST: 405");
    ht_reply_free(&r);
    ok(ht_get("/", &r) == 0 && r.status == 200 && strncmp(r.content_type, "text/html", 9) == 0,
       "GET /: the dashboard, text/html");
    ok(r.body && !strstr(r.body, "://"), "which loads nothing from elsewhere (no URL in it)");
    ht_reply_free(&r);
}

static void case_cli_status(void)
{
    int rc = wf_cli((const char *[]){"status", NULL});
    is_int(rc, 0, "gridline status exits 0");
    ok(wf_out_has("filed since start: request 2, alert 3, feedback 1 (resent duplicates 1)"),
       "and shows the events filed by kind");
    /* bad_field twice by now: the unknown category, and the SCORES whose
     * period ended before it began (case_json) */
    if (!ok(wf_out_has("bad_field 2") && wf_out_has("missing_field 1"), "the errors by code"))
        diag("%s", wf_out);
    ok(wf_out_has("filing latency, alert    3 filed"), "and the filing latency per lane");
    if (!wf_out_has("filing latency, alert    3 filed"))
        diag("%s", wf_out);
}

static void case_refused(void)
{
    char intake[320], workers[320], responders[320], out[512];
    snprintf(intake, sizeof intake, "ipc://%s/other-intake.sock", wf_env.dir);
    snprintf(workers, sizeof workers, "ipc://%s/other-workers.sock", wf_env.dir);
    snprintf(responders, sizeof responders, "ipc://%s/other-responders.sock", wf_env.dir);
    int rc = tl_run(&wf_env, "gridline-broker",
                    (const char *const[]){"gridline-broker", "--intake", intake, "--workers",
                                          workers, "--responders", responders, "--http",
                                          "0.0.0.0:1", NULL},
                    out, sizeof out, 5000);
    is_int(rc, 1, "--http on a non-loopback address: the broker refuses to start");
    rc = tl_run(&wf_env, "gridline-broker",
                (const char *const[]){"gridline-broker", "--intake", intake, "--workers", workers,
                                      "--responders", responders, "--http", "127.0.0.1:x", NULL},
                out, sizeof out, 5000);
    is_int(rc, 1, "a malformed --http: refused too");
    ht_reply r;
    ok(ht_get("/metrics", &r) == 0 && r.status == 200, "and the running broker still answers");
    ht_reply_free(&r);
}

int main(void)
{
    tl_setup(&wf_env, "metrics");
    if (ht_start(1, (const char *const[]){"--retry-ms", "400", NULL}) != 0) {
        printf("Bail out! broker and worker did not come up\n");
        return 1;
    }
    case_format_and_values();
    case_json();
    case_cli_status();
    case_refused();
    free(body);
    return wf_finish();
}
