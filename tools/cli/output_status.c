/* output_status.c — what `gridline status` and `gridline top` print of a
 * FIGURES reply (see output.h, out_status).
 *
 * The two figure maps are converted from msgpack to JSON key by key, and
 * the text is read from that JSON: a figure the broker or the workers add
 * later passes through --json at once and shows in the text as an extra
 * "key value" after the figures this file knows; a figure that is missing
 * shows as "-". Nothing here may assume a key is present or has a type. */
#include "output.h"

#include "../../common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_WIDTH 78 /* wrap lists of "key value" at this column */

static int st_known(const char *key, const char *const known[])
{
    for (size_t i = 0; known[i]; i++)
        if (strcmp(key, known[i]) == 0)
            return 1;
    return 0;
}

/* st_num writes the number (or string) at key of obj into buf; "-" when it
 * is missing or of another type. */
static const char *st_num(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else
        snprintf(buf, len, "-");
    return buf;
}

/* st_duration writes ms as "850 ms", "4.2 s", "3m 07s", "2h 05m", "3d 04h". */
static const char *st_duration(long long ms, char *buf, size_t len)
{
    if (ms < 0)
        snprintf(buf, len, "-");
    else if (ms < 1000)
        snprintf(buf, len, "%lld ms", ms);
    else if (ms < 60000)
        snprintf(buf, len, "%.1f s", (double)ms / 1000.0);
    else if (ms < 3600000)
        snprintf(buf, len, "%lldm %02llds", ms / 60000, ms / 1000 % 60);
    else if (ms < 86400000)
        snprintf(buf, len, "%lldh %02lldm", ms / 3600000, ms / 60000 % 60);
    else
        snprintf(buf, len, "%lldd %02lldh", ms / 86400000, ms / 3600000 % 24);
    return buf;
}

static const char *st_ms(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) {
        snprintf(buf, len, "-");
        return buf;
    }
    return st_duration((long long)json_integer_value(v), buf, len);
}

static const char *st_bytes(double b, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (b >= 1024 && u + 1 < GL_ARRAY_LEN(units)) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

/* st_list prints "key value" items on lines of at most ST_WIDTH columns. */
typedef struct st_list {
    const char *indent;
    size_t col;
} st_list;

static void st_item(st_list *l, const char *key, const char *value)
{
    size_t n = strlen(key) + 1 + strlen(value);
    if (l->col && l->col + 3 + n > ST_WIDTH) {
        printf("\n");
        l->col = 0;
    }
    if (!l->col) {
        printf("%s", l->indent);
        l->col = strlen(l->indent);
    } else {
        printf("   ");
        l->col += 3;
    }
    printf("%s %s", key, value);
    l->col += n;
}

static void st_end(st_list *l)
{
    if (l->col)
        printf("\n");
    l->col = 0;
}

/* st_value writes any JSON value for a "key value" item: numbers and
 * strings as they are, anything else as compact JSON. */
static void st_value(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, len, "%s", text ? text : "?");
    free(text);
}

/* st_others adds the keys of obj that are not in known to l. */
static void st_others(st_list *l, const json_t *obj, const char *const known[])
{
    const char *key;
    json_t *v;
    char buf[512];
    json_object_foreach((json_t *)obj, key, v) {
        if (st_known(key, known))
            continue;
        st_value(v, buf, sizeof buf);
        st_item(l, key, buf);
    }
}

static void st_lane(const char *name, const json_t *lane)
{
    static const char *const known[] = {"depth", "bytes", "oldest_ms", "received",
                                        "in_per_min", "out_per_min", NULL};
    char depth[32], oldest[32], in[32], outp[32], received[32];
    printf("  %-10s %7s %9s %8s %8s %10s\n", name, st_num(lane, "depth", depth, sizeof depth),
           json_integer_value(json_object_get(lane, "depth")) > 0
               ? st_ms(lane, "oldest_ms", oldest, sizeof oldest) : "-",
           st_num(lane, "in_per_min", in, sizeof in), st_num(lane, "out_per_min", outp, sizeof outp),
           st_num(lane, "received", received, sizeof received));
    st_list l = {"             ", 0};
    st_others(&l, lane, known);
    st_end(&l);
}

static void st_lanes(const json_t *lanes)
{
    printf("lanes          depth    oldest   in/min  out/min   received\n");
    if (!json_is_object(lanes)) {
        printf("  -\n");
        return;
    }
    static const char *const order[] = {"alert", "routine", NULL};
    for (size_t i = 0; order[i]; i++)
        if (json_is_object(json_object_get(lanes, order[i])))
            st_lane(order[i], json_object_get(lanes, order[i]));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)lanes, key, v) {
        if (!st_known(key, order) && json_is_object(v))
            st_lane(key, v);
    }
}

static void st_workers(const json_t *workers)
{
    if (!json_is_array(workers)) {
        printf("workers -\n");
        return;
    }
    static const char *const known[] = {"name", "credit", "in_flight", "heard_ms_ago", NULL};
    printf("workers (%zu)\n", json_array_size(workers));
    if (json_array_size(workers) == 0) {
        printf("  none connected: requests wait in the lanes\n");
        return;
    }
    printf("  %-24s %7s %10s  %s\n", "name", "credit", "in flight", "last heard");
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w) {
        char credit[32], inflight[32], heard[32];
        const char *name = json_string_value(json_object_get(w, "name"));
        printf("  %-24s %7s %10s  %s%s\n", name ? name : "?",
               st_num(w, "credit", credit, sizeof credit),
               st_num(w, "in_flight", inflight, sizeof inflight),
               st_ms(w, "heard_ms_ago", heard, sizeof heard),
               json_is_integer(json_object_get(w, "heard_ms_ago")) ? " ago" : "");
        st_list l = {"    ", 0};
        if (json_is_object(w))
            st_others(&l, w, known);
        st_end(&l);
    }
}

static int st_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void st_responders(const json_t *r)
{
    static const char *const known[] = {"connected", "teams", NULL};
    char connected[32];
    const json_t *teams = json_object_get(r, "teams");
    size_t nteams = json_is_object(teams) ? json_object_size(teams) : 0;
    printf("responders: %s connected", st_num(r, "connected", connected, sizeof connected));
    if (json_is_object(teams))
        printf(", %zu team%s", nteams, nteams == 1 ? "" : "s");
    printf("\n");
    st_list l = {"  ", 0};
    if (nteams) {
        /* By name, so that the screen of `top` does not reshuffle. */
        const char **names = calloc(nteams, sizeof *names);
        size_t n = 0;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)teams, key, v) {
            if (names)
                names[n++] = key;
        }
        if (names) {
            qsort(names, n, sizeof *names, st_cmp_str);
            for (size_t i = 0; i < n; i++) {
                char count[32];
                st_value(json_object_get(teams, names[i]), count, sizeof count);
                st_item(&l, names[i], count);
            }
        }
        free(names);
    }
    if (json_is_object(r))
        st_others(&l, r, known);
    st_end(&l);
}

/* One alarm line: "LABEL  N: id id ... (and M more)". */
static void st_alarm_line(const json_t *store, const char *label, const char *count_key,
                          const char *ids_key)
{
    char a[64], c[64];
    printf("  %-20s %s", label, st_num(store, count_key, a, sizeof a));
    const json_t *ids = json_object_get(store, ids_key);
    if (json_is_array(ids) && json_array_size(ids)) {
        size_t i;
        json_t *id;
        printf(":");
        json_array_foreach(ids, i, id) {
            st_value(id, c, sizeof c);
            printf(" %s", c);
        }
        long long total = json_integer_value(json_object_get(store, count_key));
        if (total > (long long)json_array_size(ids))
            printf(" (and %lld more)", total - (long long)json_array_size(ids));
    }
    printf("\n");
}

/* The storage-full alarm, the map's ceiling and the disk (space.c). */
static void st_storage(const json_t *store)
{
    const json_t *full = json_object_get(store, "storage_full");
    if (!json_is_integer(full))
        return;
    char a[64], b[64], c[64];
    double max = (double)json_integer_value(json_object_get(store, "map_max_bytes"));
    double disk = (double)json_integer_value(json_object_get(store, "disk_free_bytes"));
    double reserve = (double)json_integer_value(json_object_get(store, "alert_reserve_bytes"));
    printf("  %-20s %s: map ceiling %s, disk free %s, alert reserve %s\n",
           json_integer_value(full) ? "STORAGE FULL" : "storage",
           json_integer_value(full) ? "routine work refused, alerts use the reserve" : "ok",
           st_bytes(max, a, sizeof a),
           disk >= 9.2e18 ? "unknown" : st_bytes(disk, b, sizeof b),
           st_bytes(reserve, c, sizeof c));
}

static void st_store(const json_t *store, const json_t *counters)
{
    static const char *const known[] = {
        "events", "last_seq", "dispatches", "pending_dispatches", "scheduled_resends",
        "escalating_alerts", "alarms", "unanswered_alerts", "unanswered", "overdue_events",
        "overdue", "map_size_bytes", "map_used_bytes", "reported_at_ms", "dead_letters",
        "storage_full", "map_max_bytes", "disk_free_bytes", "alert_reserve_bytes",
        "dispatches_by_state", "free_pages", "page_size", NULL};
    char a[64], b[64];
    const char *from = json_string_value(json_object_get(counters, "store_reported_by"));
    if (!json_is_object(store)) {
        printf("store: no worker has reported yet\n");
        return;
    }
    printf("store");
    if (from && *from)
        printf(" (reported by %s, %s ago)", from,
               st_ms(counters, "store_report_age_ms", a, sizeof a));
    printf("\n");
    printf("  %-20s %s (last seq %s)\n", "events", st_num(store, "events", a, sizeof a),
           st_num(store, "last_seq", b, sizeof b));
    printf("  %-20s %s", "dispatches", st_num(store, "dispatches", a, sizeof a));
    const json_t *states = json_object_get(store, "dispatches_by_state");
    if (json_is_object(states)) {
        /* The states that have any, in the order of the lifecycle. */
        const char *key;
        json_t *v;
        int first = 1;
        json_object_foreach((json_t *)states, key, v) {
            if (json_is_integer(v) && json_integer_value(v) > 0) {
                printf("%s%s %lld", first ? " (" : ", ", key, (long long)json_integer_value(v));
                first = 0;
            }
        }
        if (!first)
            printf(")");
    }
    printf("\n");
    printf("  %-20s %s\n", "pending dispatches",
           st_num(store, "pending_dispatches", a, sizeof a));
    printf("  %-20s %s\n", "scheduled resends", st_num(store, "scheduled_resends", a, sizeof a));
    printf("  %-20s %s\n", "escalating alerts", st_num(store, "escalating_alerts", a, sizeof a));
    st_alarm_line(store, "UNANSWERED ALERTS", "unanswered_alerts", "unanswered");
    st_alarm_line(store, "OVERDUE", "overdue_events", "overdue");
    printf("  %-20s %s\n", "dead letters", st_num(store, "dead_letters", a, sizeof a));
    const json_t *used = json_object_get(store, "map_used_bytes");
    const json_t *size = json_object_get(store, "map_size_bytes");
    if (json_is_integer(used) && json_is_integer(size) && json_integer_value(size) > 0) {
        double u = (double)json_integer_value(used), s = (double)json_integer_value(size);
        printf("  %-20s %s used of %s (%.1f%%)", "map", st_bytes(u, a, sizeof a),
               st_bytes(s, b, sizeof b), 100.0 * u / s);
        const json_t *fp = json_object_get(store, "free_pages");
        const json_t *ps = json_object_get(store, "page_size");
        if (json_is_integer(fp) && json_is_integer(ps))
            printf(", %lld free pages (%s) inside", (long long)json_integer_value(fp),
                   st_bytes((double)json_integer_value(fp) * (double)json_integer_value(ps), a,
                            sizeof a));
        printf("\n");
    } else {
        printf("  %-20s %s used of %s\n", "map", st_num(store, "map_used_bytes", a, sizeof a),
               st_num(store, "map_size_bytes", b, sizeof b));
    }
    st_storage(store);
    st_list l = {"  ", 0};
    st_others(&l, store, known);
    st_end(&l);
}

static void st_counters(const json_t *counters)
{
    static const char *const shown_elsewhere[] = {"store_reported_by", "store_report_age_ms",
                                                  NULL};
    printf("counters\n");
    st_list l = {"  ", 0};
    if (json_is_object(counters))
        st_others(&l, counters, shown_elsewhere);
    else
        st_item(&l, "-", "");
    st_end(&l);
}

static void st_text(const proto_msg *m, const json_t *broker, const json_t *store)
{
    static const char *const known[] = {"uptime_ms", "lanes", "in_flight", "workers",
                                        "responders", "counters", "filed", "duplicates",
                                        "errors", "redeliveries", "filing_latency", NULL};
    char when[32], buf[64];
    printf("gridline status at %s", clock_format_utc(m->at_ms, when, sizeof when));
    if (json_is_integer(json_object_get(broker, "uptime_ms")))
        printf(", broker up %s", st_ms(broker, "uptime_ms", buf, sizeof buf));
    printf("\n\n");
    st_lanes(json_object_get(broker, "lanes"));
    printf("jobs in flight at workers: %s\n\n", st_num(broker, "in_flight", buf, sizeof buf));
    st_workers(json_object_get(broker, "workers"));
    printf("\n");
    st_responders(json_object_get(broker, "responders"));
    printf("\n");
    st_store(store, json_object_get(broker, "counters"));
    printf("\n");
    st_counters(json_object_get(broker, "counters"));
    out_status_metrics(broker);
    if (json_is_object(broker)) {
        st_list l = {"  ", 0};
        const char *key;
        json_t *v;
        int any = 0;
        json_object_foreach((json_t *)broker, key, v) {
            any |= !st_known(key, known);
        }
        if (any) {
            printf("other broker figures\n");
            st_others(&l, broker, known);
            st_end(&l);
        }
    }
}

void out_status(const proto_msg *m, int json)
{
    json_t *broker = out_msgpack_json(m->broker_figures, m->broker_figures_len);
    json_t *store = out_msgpack_json(m->store_figures, m->store_figures_len);
    if (json) {
        char when[32];
        json_t *j = json_object();
        json_object_set_new(j, "at", json_string(clock_format_utc(m->at_ms, when, sizeof when)));
        json_object_set_new(j, "at_ms", json_integer((json_int_t)m->at_ms));
        json_object_set_new(j, "broker", broker ? broker : json_null());
        json_object_set_new(j, "store", store ? store : json_null());
        out_json_line(j);
        return;
    }
    st_text(m, broker, store);
    json_decref(broker);
    json_decref(store);
    fflush(stdout);
}
