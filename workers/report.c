/* report.c — the store's figures, sent to the broker once per heartbeat so
 * that `gridline status` (and the broker's metrics) answer from memory,
 * however large the store: every figure is an index's entry count, read in
 * constant time. */
#include "worker.h"

#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/store_index.h"
#include "../common/store_info.h"

#define REPORT_ALARMS 20 /* unanswered alerts named in a report */

static void pack_kv(msgpack_packer *pk, const char *key, uint64_t v)
{
    msgpack_pack_str_with_body(pk, key, strlen(key));
    msgpack_pack_uint64(pk, v);
}

/* The ids of the first REPORT_ALARMS events with this alarm, and how many
 * there are. */
typedef struct alarm_figures {
    uint64_t count;
    size_t n;
    const char *ids[REPORT_ALARMS];
} alarm_figures;

static int alarms_of(gl_worker *w, store_txn *t, const char *reason, alarm_figures *a)
{
    uint64_t seqs[REPORT_ALARMS];
    int rc = store_alarm_list(t, reason, seqs, REPORT_ALARMS, &a->n, &a->count);
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        gl_event ev;
        a->ids[i] = store_event_get(t, seqs[i], &ev, &w->scratch) == 0 ? ev.id : "?";
    }
    return rc;
}

static void pack_ids(msgpack_packer *pk, const char *key, const alarm_figures *a)
{
    msgpack_pack_str_with_body(pk, key, strlen(key));
    msgpack_pack_array(pk, a->n);
    for (size_t i = 0; i < a->n; i++)
        msgpack_pack_str_with_body(pk, a->ids[i], strlen(a->ids[i]));
}

int worker_report(gl_worker *w)
{
    store_txn *t = NULL;
    store_stats st;
    alarm_figures unanswered, overdue;
    arena_reset(&w->scratch);
    if (store_begin(w->st, 0, &t) != 0)
        return GL_ESTORAGE;
    int rc = store_get_stats(t, &st);
    if (rc == 0)
        rc = alarms_of(w, t, "unanswered", &unanswered);
    if (rc == 0)
        rc = alarms_of(w, t, "overdue", &overdue);
    if (rc != 0) {
        store_abort(&t);
        return rc;
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint64_t readers = 0, max_readers = 0, free_pages = 0, page_size = 0;
    uint64_t by_state[GL_DS_COUNT];
    store_readers(t, &readers, &max_readers);
    store_free_pages(t, &free_pages, &page_size);
    int have_states = store_dispatch_counts(t, by_state) == 0;
    msgpack_pack_map(&pk, 19 + 2 + 2 + (have_states ? 1 : 0));
    pack_kv(&pk, "readers", readers);
    pack_kv(&pk, "max_readers", max_readers);
    pack_kv(&pk, "free_pages", free_pages);
    pack_kv(&pk, "page_size", page_size);
    if (have_states) {
        /* Open and closed dispatches by state, from the store's counts. */
        msgpack_pack_str_with_body(&pk, "dispatches_by_state", 19);
        msgpack_pack_map(&pk, GL_DS_COUNT - 1);
        for (int ds = GL_DS_NONE + 1; ds < GL_DS_COUNT; ds++) {
            const char *name = gl_dispatch_state_name(ds);
            msgpack_pack_str_with_body(&pk, name, strlen(name));
            msgpack_pack_uint64(&pk, by_state[ds]);
        }
    }
    pack_kv(&pk, "events", st.events);
    pack_kv(&pk, "last_seq", st.last_seq);
    pack_kv(&pk, "dispatches", st.dispatches);
    pack_kv(&pk, "pending_dispatches", st.pending);
    pack_kv(&pk, "scheduled_resends", st.scheduled);
    pack_kv(&pk, "escalating_alerts", st.escalating);
    pack_kv(&pk, "alarms", st.alarms);
    pack_kv(&pk, "unanswered_alerts", unanswered.count);
    pack_ids(&pk, "unanswered", &unanswered);
    pack_kv(&pk, "overdue_events", overdue.count);
    pack_ids(&pk, "overdue", &overdue);
    pack_kv(&pk, "map_size_bytes", st.map_size);
    pack_kv(&pk, "map_used_bytes", st.map_used);
    pack_kv(&pk, "reported_at_ms", clock_wall_ms());
    pack_kv(&pk, "dead_letters", store_dead_count(t)); /* issue 5 */
    /* Storage full (space.c): the alarm and the room left. */
    store_space sp;
    worker_space_check(w);
    if (store_space_get(w->st, &sp) != 0)
        sp = w->space.last;
    pack_kv(&pk, "storage_full", (uint64_t)w->space.full);
    pack_kv(&pk, "map_max_bytes", sp.map_max);
    pack_kv(&pk, "disk_free_bytes", sp.disk_free < INT64_MAX ? sp.disk_free : INT64_MAX);
    pack_kv(&pk, "alert_reserve_bytes", sp.reserve);
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
