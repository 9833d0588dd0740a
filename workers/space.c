/* space.c — storage full (PROTOCOL.md "Storage full"): when the map nears
 * its ceiling or the disk nears its end, routine work is refused with
 * storage_full while alerts and responders' acts still commit into the
 * reserve; the alarm is raised in the worker's REPORT and in one log line,
 * and cleared the same way when room returns. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

/* After a write failed for want of room, routine work is refused without
 * trying for this long; then one routine batch is let through as a probe. */
#define SPACE_PROBE_MS 1000

static const char refused_reason[] =
    "storage full: new requests, feedback, ratings and claims are refused until an operator "
    "frees space; alerts and acknowledgements are still accepted";

static void set_alarm(gl_worker *w, int full)
{
    worker_space *ws = &w->space;
    if (full == ws->full)
        return;
    ws->full = full;
    const store_space *sp = &ws->last;
    char disk[32] = "unknown";
    if (sp->disk_free != UINT64_MAX)
        snprintf(disk, sizeof disk, "%llu", (unsigned long long)sp->disk_free);
    if (full)
        LOG_E("STORAGE FULL: routine work refused, alerts use the reserve of %llu bytes "
              "(map %llu of ceiling %llu bytes used, disk free %s bytes%s)",
              (unsigned long long)sp->reserve, (unsigned long long)sp->map_used,
              (unsigned long long)sp->map_max, disk,
              ws->failed ? ", a write failed for want of room" : "");
    else
        LOG_I("storage full cleared: routine work accepted again (map %llu of ceiling %llu "
              "bytes used, disk free %s bytes)",
              (unsigned long long)sp->map_used, (unsigned long long)sp->map_max, disk);
}

int worker_space_check(gl_worker *w)
{
    worker_space *ws = &w->space;
    int low = 0;
    if (store_space_get(w->st, &ws->last) == 0)
        low = store_space_low(&ws->last);
    ws->refusing = low || (ws->failed && clock_mono_ms() < ws->probe_at_ms);
    set_alarm(w, low || ws->failed);
    return ws->refusing;
}

int worker_space_routine_write(const wjob *j)
{
    switch (j->cmd) {
    case PROTO_SUBMIT:
        return j->msg.ev.kind != GL_KIND_ALERT;
    case PROTO_RATE:
    case PROTO_CLAIM:
    case PROTO_RELEASE:
    case PROTO_RETURN:
    case PROTO_REDIRECT:
    case PROTO_CONFIRM:
    case PROTO_DISPUTE:
    case PROTO_EXTEND:
    case PROTO_APPROVE:
    case PROTO_MERGE:
        return 1;
    default:
        return 0; /* alerts, acts on dispatches, updates, cancellations, reads */
    }
}

int worker_space_refuse(gl_worker *w, store_txn *t, const wjob *j)
{
    if (!w->space.refusing || j->decode_err || !worker_space_routine_write(j))
        return 0;
    /* A repeated SUBMIT writes nothing: it gets its first answer back. */
    uint64_t seq;
    if (j->cmd == PROTO_SUBMIT && store_event_find(t, j->msg.ev.id, &seq) == 0)
        return 0;
    worker_out_error(w, j, GL_ESTORAGEFULL, refused_reason);
    return 1;
}

void worker_space_after(gl_worker *w, int rc, int routine_written)
{
    worker_space *ws = &w->space;
    if (rc == GL_ESTORAGEFULL) {
        ws->failed = 1;
        ws->probe_at_ms = clock_mono_ms() + SPACE_PROBE_MS;
        store_space_get(w->st, &ws->last);
        set_alarm(w, 1);
    } else if (rc == 0 && routine_written && ws->failed) {
        ws->failed = 0;
        worker_space_check(w);
    }
}
