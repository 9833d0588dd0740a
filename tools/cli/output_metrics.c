/* output_metrics.c — the part of `gridline status` that shows the broker's
 * metrics (FIGURES keys filed, duplicates, errors, redeliveries,
 * filing_latency; PROTOCOL.md §7.4) as text. */
#include "output.h"

#include <stdio.h>
#include <string.h>

/* quantile_bound returns the upper bound (µs) of the bucket holding the q
 * quantile of a lane's histogram, 0 for the +Inf bucket, -1 when empty. */
static double quantile_bound(const json_t *bounds, const json_t *buckets, double q)
{
    double total = 0, seen = 0;
    size_t n = json_array_size(buckets);
    for (size_t i = 0; i < n; i++)
        total += json_number_value(json_array_get(buckets, i));
    if (total <= 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        seen += json_number_value(json_array_get(buckets, i));
        if (seen >= q * total)
            return i < json_array_size(bounds) ? json_number_value(json_array_get(bounds, i)) : 0;
    }
    return 0;
}

static void bound_text(double us, char *buf, size_t len)
{
    if (us < 0)
        snprintf(buf, len, "-");
    else if (us == 0)
        snprintf(buf, len, "> 10 s");
    else
        snprintf(buf, len, "<= %g ms", us / 1000.0);
}

void out_status_metrics(const json_t *broker)
{
    const json_t *filed = json_object_get(broker, "filed");
    if (!json_is_object(filed))
        return; /* a broker from before these figures */
    printf("filed since start: request %lld, alert %lld, feedback %lld (resent duplicates %lld)\n",
           (long long)json_integer_value(json_object_get(filed, "request")),
           (long long)json_integer_value(json_object_get(filed, "alert")),
           (long long)json_integer_value(json_object_get(filed, "feedback")),
           (long long)json_integer_value(json_object_get(broker, "duplicates")));
    const json_t *errors = json_object_get(broker, "errors");
    printf("errors replied:");
    const char *key;
    json_t *v;
    int any = 0;
    json_object_foreach((json_t *)errors, key, v) {
        printf("%s %s %lld", any ? "," : "", key, (long long)json_integer_value(v));
        any = 1;
    }
    printf("%s\n", any ? "" : " none");
    printf("dispatches resent (redeliveries): %lld\n",
           (long long)json_integer_value(json_object_get(broker, "redeliveries")));
    const json_t *lat = json_object_get(broker, "filing_latency");
    const json_t *bounds = json_object_get(lat, "bounds_us");
    static const char *const lanes[] = {"alert", "routine"};
    for (int i = 0; i < 2; i++) {
        const json_t *l = json_object_get(lat, lanes[i]);
        long long count = (long long)json_integer_value(json_object_get(l, "count"));
        if (!count) {
            printf("filing latency, %-7s  none filed yet\n", lanes[i]);
            continue;
        }
        char p50[32], p99[32];
        bound_text(quantile_bound(bounds, json_object_get(l, "buckets"), 0.5), p50, sizeof p50);
        bound_text(quantile_bound(bounds, json_object_get(l, "buckets"), 0.99), p99, sizeof p99);
        printf("filing latency, %-7s  %lld filed, mean %.2f ms, p50 %s, p99 %s\n", lanes[i], count,
               json_number_value(json_object_get(l, "sum_us")) / 1000.0 / (double)count, p50, p99);
    }
}
