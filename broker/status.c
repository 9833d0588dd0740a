/* status.c — what the broker knows about itself and, from the workers'
 * latest REPORT, about the store: answered from memory (STATUS → FIGURES),
 * so it is fast however large the store. */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

void broker_on_report(broker *b, const proto_msg *m)
{
    void *copy = malloc(m->store_figures_len);
    if (!copy)
        return;
    memcpy(copy, m->store_figures, m->store_figures_len);
    free(b->store_figures);
    b->store_figures = copy;
    b->store_figures_len = m->store_figures_len;
    b->store_figures_at_ms = clock_wall_ms();
    snprintf(b->store_figures_from, sizeof b->store_figures_from, "%s", m->worker);
}

static void kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    msgpack_pack_str_with_body(pk, key, strlen(key));
    msgpack_pack_uint64(pk, v);
}

static void kv_str(msgpack_packer *pk, const char *key, const char *v)
{
    msgpack_pack_str_with_body(pk, key, strlen(key));
    msgpack_pack_str_with_body(pk, v, strlen(v));
}

/* broker_lane_rate is a lane's jobs admitted (in) or completed per minute:
 * those of the last full minute, or, before the first minute is over, those
 * so far scaled to a minute (counted over at least a second, so that one job
 * in the first millisecond is not reported as 60000 a minute). */
static uint64_t broker_lane_rate(const broker *b, int lane, int in, uint64_t now_ms)
{
    uint64_t elapsed = now_ms - b->started_ms;
    if (b->minute_start_ms != b->started_ms || elapsed >= 60000)
        return in ? b->minute_in[lane] : b->minute_out[lane];
    uint64_t n = in ? b->counters.received[lane] : b->counters.done[lane];
    if (elapsed < 1000)
        elapsed = 1000;
    return (n * 60000 + elapsed / 2) / elapsed;
}

static void pack_lane(msgpack_packer *pk, const broker *b, int lane, uint64_t now_us)
{
    const job_list *q = &b->lanes[lane];
    uint64_t oldest = q->head ? (now_us - q->head->enqueued_us) / 1000 : 0;
    msgpack_pack_map(pk, 6);
    kv_u64(pk, "depth", q->count);
    kv_u64(pk, "bytes", q->bytes);
    kv_u64(pk, "oldest_ms", oldest);
    kv_u64(pk, "received", b->counters.received[lane]);
    kv_u64(pk, "in_per_min", broker_lane_rate(b, lane, 1, now_us / 1000));
    kv_u64(pk, "out_per_min", broker_lane_rate(b, lane, 0, now_us / 1000));
}

static int pack_team(void *ctx, const void *key, size_t len, void *value)
{
    msgpack_packer *pk = ctx;
    const team_members *t = value;
    msgpack_pack_str_with_body(pk, key, len);
    msgpack_pack_uint64(pk, t->count);
    return 0;
}

void broker_on_status(broker *b, void *sock, const void *ident, size_t len, uint64_t rid)
{
    uint64_t now_ms = clock_mono_ms(), now_us = clock_mono_us();
    const broker_counters *c = &b->counters;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6 + 5);
    broker_metrics_pack(b, &pk);
    kv_u64(&pk, "uptime_ms", now_ms - b->started_ms);
    msgpack_pack_str_with_body(&pk, "lanes", 5);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "alert", 5);
    pack_lane(&pk, b, LANE_ALERT, now_us);
    msgpack_pack_str_with_body(&pk, "routine", 7);
    pack_lane(&pk, b, LANE_ROUTINE, now_us);
    kv_u64(&pk, "in_flight", hmap_count(b->jobs_in_flight));

    msgpack_pack_str_with_body(&pk, "workers", 7);
    msgpack_pack_array(&pk, (size_t)b->nworkers);
    for (int i = 0; i < b->nworkers; i++) {
        const worker *w = b->workers[i];
        msgpack_pack_map(&pk, 5);
        kv_str(&pk, "name", w->name);
        kv_str(&pk, "lanes", w->lanes == (1u << LANE_ALERT)     ? "alert"
                             : w->lanes == (1u << LANE_ROUTINE) ? "routine"
                                                                : "all");
        kv_u64(&pk, "credit", w->credit);
        kv_u64(&pk, "in_flight", w->inflight.count);
        kv_u64(&pk, "heard_ms_ago", now_ms - w->last_heard_ms);
    }

    msgpack_pack_str_with_body(&pk, "responders", 10);
    msgpack_pack_map(&pk, 2);
    kv_u64(&pk, "connected", hmap_count(b->responders_by_ident));
    msgpack_pack_str_with_body(&pk, "teams", 5);
    msgpack_pack_map(&pk, hmap_count(b->teams));
    hmap_each(b->teams, pack_team, &pk);

    msgpack_pack_str_with_body(&pk, "counters", 8);
    msgpack_pack_map(&pk, 15);
    kv_u64(&pk, "completed", c->completed);
    kv_u64(&pk, "busy_replies", c->busy_replies);
    kv_u64(&pk, "requeued", c->requeued);
    kv_u64(&pk, "workers_lost", c->workers_lost);
    kv_u64(&pk, "workers_left", c->workers_left);
    kv_u64(&pk, "deliveries", c->deliveries);
    kv_u64(&pk, "delivered_copies", c->delivered_copies);
    kv_u64(&pk, "undeliverable", c->undeliverable);
    kv_u64(&pk, "copies_not_sent", c->copies_not_sent);
    kv_u64(&pk, "bad_input", c->bad_input);
    kv_u64(&pk, "bad_worker_messages", c->bad_worker_msgs);
    kv_u64(&pk, "job_packs", c->job_packs);
    kv_u64(&pk, "jobs_packed", c->jobs_packed);
    kv_str(&pk, "store_reported_by", b->store_figures_len ? b->store_figures_from : "");
    kv_u64(&pk, "store_report_age_ms",
           b->store_figures_len ? clock_wall_ms() - b->store_figures_at_ms : 0);

    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_FIGURES;
    m.rid = rid;
    m.at_ms = clock_wall_ms();
    m.broker_figures = sb.data;
    m.broker_figures_len = sb.size;
    m.store_figures = b->store_figures;
    m.store_figures_len = b->store_figures_len;
    broker_reply(b, sock, ident, len, &m);
    msgpack_sbuffer_destroy(&sb);
}

void broker_minute_tick(broker *b, uint64_t now_ms)
{
    /* Rates per minute: counts over the last full minute. */
    if (now_ms - b->minute_start_ms < 60000)
        return;
    for (int lane = 0; lane < LANE_COUNT; lane++) {
        b->minute_in[lane] = b->counters.received[lane] - b->minute_base_in[lane];
        b->minute_out[lane] = b->counters.done[lane] - b->minute_base_out[lane];
        b->minute_base_in[lane] = b->counters.received[lane];
        b->minute_base_out[lane] = b->counters.done[lane];
    }
    b->minute_start_ms = now_ms;
}
