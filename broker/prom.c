/* prom.c — FIGURES as Prometheus metrics (text format 0.0.4), named after
 * https://prometheus.io/docs/practices/naming/: a gridline_ prefix, base
 * units (seconds, bytes), _total on counters. The store's figures are
 * exported generically, each number of the REPORT map a gauge
 * gridline_store_<key>, so figures added to REPORT appear without code
 * here. */
#include "http_render.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void http_appendf(msgpack_sbuffer *out, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        msgpack_sbuffer_write(out, small, (size_t)n);
        return;
    }
    char big[8192];
    va_start(ap, fmt);
    n = vsnprintf(big, sizeof big, fmt, ap);
    va_end(ap);
    if (n > 0)
        msgpack_sbuffer_write(out, big, (size_t)n < sizeof big ? (size_t)n : sizeof big - 1);
}

/* get returns the value of key in map m, or NULL. */
static const msgpack_object *get(const msgpack_object *m, const char *key)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t len = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len &&
            memcmp(k->via.str.ptr, key, len) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static int num(const msgpack_object *o, double *v)
{
    if (!o)
        return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return 1;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return 1;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return 1;
    case MSGPACK_OBJECT_BOOLEAN: *v = o->via.boolean; return 1;
    default: return 0;
    }
}

static double num_at(const msgpack_object *m, const char *key)
{
    double v = 0;
    num(get(m, key), &v);
    return v;
}

static void header(msgpack_sbuffer *out, const char *name, const char *type, const char *help)
{
    http_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(msgpack_sbuffer *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' || s[i] == '"')
            http_appendf(out, "\\%c", s[i]);
        else if (s[i] == '\n')
            http_appendf(out, "\\n");
        else
            msgpack_sbuffer_write(out, &s[i], 1);
    }
}

/* Counts print as integers, other values with the digits they need. */
static void number(msgpack_sbuffer *out, double v)
{
    if (v == (double)(int64_t)v && v > -9e15 && v < 9e15)
        http_appendf(out, "%lld", (long long)v);
    else
        http_appendf(out, "%.9g", v);
}

static void sample(msgpack_sbuffer *out, const char *name, const char *label, const char *lv,
                   size_t lvlen, double v)
{
    http_appendf(out, "%s", name);
    if (label) {
        http_appendf(out, "{%s=\"", label);
        label_value(out, lv, lvlen);
        http_appendf(out, "\"}");
    }
    http_appendf(out, " ");
    number(out, v);
    http_appendf(out, "\n");
}

static void one(msgpack_sbuffer *out, const char *name, const char *type, const char *help,
                double v)
{
    header(out, name, type, help);
    sample(out, name, NULL, NULL, 0, v);
}

/* by_key: one sample per key of map m, labelled label=key. */
static void by_key(msgpack_sbuffer *out, const char *name, const char *type, const char *help,
                   const char *label, const msgpack_object *m)
{
    header(out, name, type, help);
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        double v;
        if (k->type == MSGPACK_OBJECT_STR && num(&m->via.map.ptr[i].val, &v))
            sample(out, name, label, k->via.str.ptr, k->via.str.size, v);
    }
}

static const char *const lane_names[] = {"alert", "routine"};

static void lanes(msgpack_sbuffer *out, const msgpack_object *b)
{
    const msgpack_object *l = get(b, "lanes");
    static const struct {
        const char *name, *type, *key, *help;
        double scale;
    } rows[] = {
        {"gridline_queue_depth", "gauge", "depth", "Jobs waiting in the lane for a worker.", 1},
        {"gridline_queue_bytes", "gauge", "bytes", "Body bytes of the jobs waiting in the lane.", 1},
        {"gridline_queue_oldest_seconds", "gauge", "oldest_ms", "How long the lane's oldest job has waited.", 1e-3},
        {"gridline_jobs_received_total", "counter", "received", "Jobs admitted to the lane since the broker started.", 1},
        {"gridline_jobs_in_per_minute", "gauge", "in_per_min", "Jobs admitted to the lane in the last minute.", 1},
        {"gridline_jobs_out_per_minute", "gauge", "out_per_min", "Jobs of the lane completed in the last minute.", 1},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        header(out, rows[r].name, rows[r].type, rows[r].help);
        for (int i = 0; i < 2; i++)
            sample(out, rows[r].name, "lane", lane_names[i], strlen(lane_names[i]),
                   num_at(get(l, lane_names[i]), rows[r].key) * rows[r].scale);
    }
}

static void workers(msgpack_sbuffer *out, const msgpack_object *b)
{
    const msgpack_object *w = get(b, "workers");
    uint32_t n = w && w->type == MSGPACK_OBJECT_ARRAY ? w->via.array.size : 0;
    one(out, "gridline_workers_connected", "gauge", "Routing workers registered at the broker.", n);
    static const struct {
        const char *name, *key, *help;
    } rows[] = {
        {"gridline_worker_credit", "credit", "Jobs the worker takes at once."},
        {"gridline_worker_jobs_in_flight", "in_flight", "Jobs handed to the worker and not yet done."},
    };
    for (size_t r = 0; r < 2; r++) {
        header(out, rows[r].name, "gauge", rows[r].help);
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *name = get(&w->via.array.ptr[i], "name");
            if (name && name->type == MSGPACK_OBJECT_STR)
                sample(out, rows[r].name, "worker", name->via.str.ptr, name->via.str.size,
                       num_at(&w->via.array.ptr[i], rows[r].key));
        }
    }
}

static void latency(msgpack_sbuffer *out, const msgpack_object *b)
{
    const msgpack_object *h = get(b, "filing_latency");
    const msgpack_object *bounds = get(h, "bounds_us");
    const char *name = "gridline_filing_latency_seconds";
    header(out, name, "histogram",
           "Time from a SUBMIT's arrival at the broker to its FILED reply passing back.");
    if (!bounds || bounds->type != MSGPACK_OBJECT_ARRAY)
        return;
    for (int i = 0; i < 2; i++) {
        const msgpack_object *lane = get(h, lane_names[i]);
        const msgpack_object *buckets = get(lane, "buckets");
        if (!buckets || buckets->type != MSGPACK_OBJECT_ARRAY ||
            buckets->via.array.size != bounds->via.array.size + 1)
            continue;
        double cumulative = 0, v;
        for (uint32_t k = 0; k <= bounds->via.array.size; k++) {
            if (num(&buckets->via.array.ptr[k], &v))
                cumulative += v;
            if (k < bounds->via.array.size) {
                double le = 0;
                num(&bounds->via.array.ptr[k], &le);
                http_appendf(out, "%s_bucket{lane=\"%s\",le=\"%g\"} ", name, lane_names[i],
                             le / 1e6);
            } else
                http_appendf(out, "%s_bucket{lane=\"%s\",le=\"+Inf\"} ", name, lane_names[i]);
            number(out, cumulative);
            http_appendf(out, "\n");
        }
        http_appendf(out, "%s_sum{lane=\"%s\"} ", name, lane_names[i]);
        number(out, num_at(lane, "sum_us") / 1e6);
        http_appendf(out, "\n%s_count{lane=\"%s\"} ", name, lane_names[i]);
        number(out, num_at(lane, "count"));
        http_appendf(out, "\n");
    }
}

/* A store figure's key as a metric name part: [a-zA-Z0-9_] only. */
static void store_gauges(msgpack_sbuffer *out, const msgpack_object *m, const char *prefix)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0 || k->via.str.size > 100)
            continue;
        char name[256];
        int n = snprintf(name, sizeof name, "%s_", prefix);
        for (uint32_t c = 0; c < k->via.str.size && n < (int)sizeof name - 1; c++) {
            char ch = k->via.str.ptr[c];
            name[n++] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                (ch >= '0' && ch <= '9') || ch == '_'
                            ? ch
                            : '_';
        }
        name[n] = '\0';
        double d;
        if (v->type == MSGPACK_OBJECT_MAP)
            store_gauges(out, v, name);
        else if (num(v, &d)) {
            char help[300];
            snprintf(help, sizeof help, "The store's figure '%.*s' as the workers last reported it.",
                     (int)k->via.str.size, k->via.str.ptr);
            one(out, name, "gauge", help, d);
        }
    }
}

void prom_render(msgpack_sbuffer *out, const msgpack_object *b, const msgpack_object *store)
{
    one(out, "gridline_up", "gauge", "1: the broker answered this scrape.", 1);
    one(out, "gridline_uptime_seconds", "gauge", "Time since the broker started.",
        num_at(b, "uptime_ms") / 1e3);
    by_key(out, "gridline_events_filed_total", "counter",
           "Events filed (FILED replies, resent duplicates not counted), by kind.", "kind",
           get(b, "filed"));
    one(out, "gridline_duplicate_submits_total", "counter",
        "SUBMITs of an id already filed, answered with the first FILED.",
        num_at(b, "duplicates"));
    by_key(out, "gridline_errors_total", "counter", "ERROR replies sent, by error code name.",
           "code", get(b, "errors"));
    one(out, "gridline_redeliveries_total", "counter",
        "Dispatches delivered again (attempts > 1): unacknowledged and resent.",
        num_at(b, "redeliveries"));
    lanes(out, b);
    one(out, "gridline_jobs_in_flight", "gauge", "Jobs at workers without a reply yet.",
        num_at(b, "in_flight"));
    workers(out, b);
    const msgpack_object *r = get(b, "responders");
    one(out, "gridline_responders_connected", "gauge", "Responder connections present.",
        num_at(r, "connected"));
    by_key(out, "gridline_team_responders_connected", "gauge",
           "Members present per team (teams with nobody present are absent).", "team",
           get(r, "teams"));
    const msgpack_object *c = get(b, "counters");
    static const struct {
        const char *name, *key, *help;
    } counters[] = {
        {"gridline_jobs_completed_total", "completed", "Jobs done by workers."},
        {"gridline_busy_replies_total", "busy_replies", "BUSY replies (routine lane full)."},
        {"gridline_jobs_requeued_total", "requeued", "Jobs handed back to the lanes from lost workers."},
        {"gridline_workers_lost_total", "workers_lost", "Workers given up for silence."},
        {"gridline_workers_left_total", "workers_left", "Workers that said BYE (stopped, or their store failed)."},
        {"gridline_deliveries_total", "deliveries", "DISPATCH and NOTICE messages workers asked to deliver."},
        {"gridline_delivered_copies_total", "delivered_copies", "Messages sent to present team members."},
        {"gridline_undeliverable_total", "undeliverable", "Deliveries for a team with nobody present."},
        {"gridline_copies_not_sent_total", "copies_not_sent", "Messages a responder's connection could not take (its queue full, or gone); dispatches are resent."},
        {"gridline_bad_input_total", "bad_input", "Malformed or refused client messages."},
        {"gridline_bad_worker_messages_total", "bad_worker_messages", "Malformed messages from workers."},
        {"gridline_job_packs_total", "job_packs", "PACKs of JOBs sent to workers that take them packed."},
        {"gridline_jobs_packed_total", "jobs_packed", "JOBs sent to workers inside PACKs."},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        one(out, counters[i].name, "counter", counters[i].help, num_at(c, counters[i].key));
    latency(out, b);

    one(out, "gridline_store_reported", "gauge", "1: a worker has reported the store's figures.",
        store != NULL);
    if (!store)
        return;
    one(out, "gridline_store_report_age_seconds", "gauge",
        "Age of the store figures below (the latest worker REPORT).",
        num_at(c, "store_report_age_ms") / 1e3);
    const msgpack_object *states = get(store, "dispatches_by_state");
    if (states && states->type == MSGPACK_OBJECT_MAP) {
        by_key(out, "gridline_dispatches", "gauge", "Dispatch records in the store, by state.",
               "state", states);
    } else {
        header(out, "gridline_dispatches", "gauge", "Dispatch records in the store, by state (of those counted).");
        sample(out, "gridline_dispatches", "state", "pending", 7, num_at(store, "pending_dispatches"));
    }
    one(out, "gridline_lmdb_free_pages", "gauge", "Pages of the LMDB file free for reuse.",
        num_at(store, "free_pages"));
    one(out, "gridline_lmdb_map_size_bytes", "gauge", "The LMDB map size.",
        num_at(store, "map_size_bytes"));
    one(out, "gridline_lmdb_map_used_bytes", "gauge", "Bytes of the LMDB map in use.",
        num_at(store, "map_used_bytes"));
    one(out, "gridline_lmdb_readers", "gauge", "LMDB reader slots taken.", num_at(store, "readers"));
    store_gauges(out, store, "gridline_store");
}
