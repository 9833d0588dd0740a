/* metrics.c — what the broker counts for operators beyond its lanes: events
 * filed by kind, ERROR replies by code, dispatches resent, and the filing
 * latency (SUBMIT in, FILED out, as the broker sees them) as a histogram.
 * Kept by the broker's loop, passed on in FIGURES (§7.4 of PROTOCOL.md), from
 * which the HTTP endpoint renders Prometheus metrics. */
#include "broker.h"
#include "peek.h"

#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"

/* Upper bounds of the latency buckets, in microseconds; the last bucket
 * (+Inf) is implicit. Filing takes one fsync'd commit (~0.2 ms alone) plus
 * the wait for the batch: the buckets span 0.5 ms to 10 s. */
static const uint64_t latency_bounds_us[] = {500,    1000,   2500,    5000,    10000,
                                             25000,  50000,  100000,  250000,  500000,
                                             1000000, 2500000, 5000000, 10000000};
#define NBOUNDS GL_ARRAY_LEN(latency_bounds_us)
#define MAX_CODE 400 /* wire codes are 100..399 */

struct broker_metrics {
    uint64_t filed[4];          /* by enum gl_kind */
    uint64_t duplicates;        /* FILED with duplicate: a resent SUBMIT */
    uint64_t errors[MAX_CODE];  /* ERROR replies by wire code */
    uint64_t redeliveries;      /* DISPATCHes delivered with attempts > 1 */
    struct {
        uint64_t buckets[NBOUNDS + 1]; /* not cumulative; the last is +Inf */
        uint64_t sum_us, count;
    } latency[LANE_COUNT];
};

broker_metrics *broker_metrics_new(void)
{
    return calloc(1, sizeof(broker_metrics));
}

void broker_metrics_free(broker_metrics **m)
{
    free(*m);
    *m = NULL;
}

void broker_metrics_error(broker *b, int err)
{
    unsigned code = (unsigned)-err;
    if (b->metrics && err < 0 && code < MAX_CODE)
        b->metrics->errors[code]++;
}

void broker_metrics_done(broker *b, int cmd, int lane, uint64_t enqueued_us, int reply_cmd,
                         const void *body, size_t len)
{
    broker_metrics *m = b->metrics;
    if (!m)
        return;
    if (reply_cmd == PROTO_ERROR || (cmd == PROTO_SUBMIT && reply_cmd == PROTO_FILED)) {
        /* The worker's reply is well-formed by construction and goes to the
         * client as it is: only the keys counted are read (peek.h), not the
         * whole body. One without them is counted nowhere. */
        static const char *const error_keys[] = {"code"};
        static const char *const filed_keys[] = {"kind", "duplicate"};
        peek_value v[2];
        if (reply_cmd == PROTO_ERROR) {
            if (peek_map(body, len, error_keys, v, 1) == 0 && v[0].type == PEEK_UINT &&
                v[0].u < MAX_CODE)
                m->errors[v[0].u]++;
            return;
        }
        if (peek_map(body, len, filed_keys, v, 2) != 0 || v[0].type != PEEK_STR)
            return;
        if (v[1].type == PEEK_BOOL && v[1].u)
            m->duplicates++;
        else
            for (int kind = GL_KIND_REQUEST; kind <= GL_KIND_FEEDBACK; kind++) {
                const char *name = gl_kind_name(kind);
                if (v[0].len && name[0] == v[0].str[0] && strlen(name) == v[0].len &&
                    memcmp(name, v[0].str, v[0].len) == 0) {
                    m->filed[kind]++;
                    break;
                }
            }
        uint64_t took = clock_mono_us() - enqueued_us;
        size_t i = 0;
        while (i < NBOUNDS && took > latency_bounds_us[i])
            i++;
        m->latency[lane].buckets[i]++;
        m->latency[lane].sum_us += took;
        m->latency[lane].count++;
    }
}

void broker_metrics_deliver(broker *b, int inner_cmd, const void *body, size_t len)
{
    if (!b->metrics || inner_cmd != PROTO_DISPATCH)
        return;
    /* A DISPATCH carries the whole event: read its attempts only (they
     * come before the event's map). */
    uint64_t attempts;
    if (peek_uint(body, len, "attempts", &attempts) && attempts > 1)
        b->metrics->redeliveries++;
}

static void key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
}

static void pack_latency(msgpack_packer *pk, const broker_metrics *m, int lane)
{
    msgpack_pack_map(pk, 3);
    key(pk, "buckets");
    msgpack_pack_array(pk, NBOUNDS + 1);
    for (size_t i = 0; i <= NBOUNDS; i++)
        msgpack_pack_uint64(pk, m->latency[lane].buckets[i]);
    key(pk, "sum_us");
    msgpack_pack_uint64(pk, m->latency[lane].sum_us);
    key(pk, "count");
    msgpack_pack_uint64(pk, m->latency[lane].count);
}

void broker_metrics_pack(const broker *b, msgpack_packer *pk)
{
    static const broker_metrics none;
    const broker_metrics *m = b->metrics ? b->metrics : &none;
    key(pk, "filed");
    msgpack_pack_map(pk, GL_KIND_FEEDBACK - GL_KIND_REQUEST + 1);
    for (int kind = GL_KIND_REQUEST; kind <= GL_KIND_FEEDBACK; kind++) {
        key(pk, gl_kind_name(kind));
        msgpack_pack_uint64(pk, m->filed[kind]);
    }
    key(pk, "duplicates");
    msgpack_pack_uint64(pk, m->duplicates);

    size_t nerr = 0;
    for (unsigned c = 0; c < MAX_CODE; c++)
        nerr += m->errors[c] != 0;
    key(pk, "errors");
    msgpack_pack_map(pk, nerr);
    for (unsigned c = 0; c < MAX_CODE; c++)
        if (m->errors[c]) {
            key(pk, gl_errname(-(int)c));
            msgpack_pack_uint64(pk, m->errors[c]);
        }

    key(pk, "redeliveries");
    msgpack_pack_uint64(pk, m->redeliveries);

    key(pk, "filing_latency");
    msgpack_pack_map(pk, 3);
    key(pk, "bounds_us");
    msgpack_pack_array(pk, NBOUNDS);
    for (size_t i = 0; i < NBOUNDS; i++)
        msgpack_pack_uint64(pk, latency_bounds_us[i]);
    key(pk, "alert");
    pack_latency(pk, m, LANE_ALERT);
    key(pk, "routine");
    pack_latency(pk, m, LANE_ROUTINE);
}
