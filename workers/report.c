/* report.c — the store's figures, sent to the broker once per heartbeat so
 * that `gridline status` (and the broker's metrics) answer from memory,
 * however large the store: every figure is an index's entry count, read in
 * constant time. */
#include "worker.h"

#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

#define REPORT_ALARMS 20 /* unanswered alerts named in a report */

static void pack_kv(msgpack_packer *pk, const char *key, uint64_t v)
{
    msgpack_pack_str_with_body(pk, key, strlen(key));
    msgpack_pack_uint64(pk, v);
}

int worker_report(gl_worker *w)
{
    store_txn *t = NULL;
    store_stats st;
    uint64_t seqs[REPORT_ALARMS];
    size_t nalarms = 0;
    arena_reset(&w->scratch);
    const char *ids[REPORT_ALARMS];
    if (store_begin(w->st, 0, &t) != 0)
        return GL_ESTORAGE;
    int rc = store_get_stats(t, &st);
    if (rc == 0)
        rc = store_alarm_list(t, seqs, REPORT_ALARMS, &nalarms);
    for (size_t i = 0; rc == 0 && i < nalarms; i++) {
        gl_event ev;
        ids[i] = store_event_get(t, seqs[i], &ev, &w->scratch) == 0 ? ev.id : "?";
    }
    if (rc != 0) {
        store_abort(&t);
        return rc;
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 11);
    pack_kv(&pk, "events", st.events);
    pack_kv(&pk, "last_seq", st.last_seq);
    pack_kv(&pk, "dispatches", st.dispatches);
    pack_kv(&pk, "pending_dispatches", st.pending);
    pack_kv(&pk, "scheduled_resends", st.scheduled);
    pack_kv(&pk, "escalating_alerts", st.escalating);
    pack_kv(&pk, "unanswered_alerts", st.alarms);
    msgpack_pack_str_with_body(&pk, "unanswered", 10);
    msgpack_pack_array(&pk, nalarms);
    for (size_t i = 0; i < nalarms; i++)
        msgpack_pack_str_with_body(&pk, ids[i], strlen(ids[i]));
    pack_kv(&pk, "map_size_bytes", st.map_size);
    pack_kv(&pk, "map_used_bytes", st.map_used);
    pack_kv(&pk, "reported_at_ms", clock_wall_ms());
    store_abort(&t);

    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_REPORT;
    m.worker = w->cfg.name;
    m.store_figures = sb.data;
    m.store_figures_len = sb.size;
    rc = frame_send_msg(w->sock, NULL, 0, &m, ZMQ_DONTWAIT);
    if (rc == 0)
        w->last_sent_ms = clock_mono_ms();
    msgpack_sbuffer_destroy(&sb);
    return rc;
}
