/* early.c — an alert's first DISPATCHes go out before its filing commits.
 *
 * The store takes one writer at a time, so an alert's write transaction can
 * wait for another worker's routine batch and its fsync. The people who must
 * act on the alert need not wait for that: its route needs only the
 * directory and a read transaction (is the id new?). So the DISPATCHes are
 * sent at once, with seq 0 ("not filed yet"), and the alert is filed after.
 * The terminal still hears FILED only after the commit, the dispatch records
 * written by that commit are what is resent until acknowledged, and a retry
 * after a crash names the same event id: never a second event. If the
 * commit fails, the teams are told the alert was not filed. */
#include "worker.h"

#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

static int is_new_alert(const wjob *j)
{
    return !j->decode_err && j->cmd == PROTO_SUBMIT && j->msg.ev.kind == GL_KIND_ALERT;
}

void worker_early_dispatch_in(gl_worker *w, store_txn *t, wjob *jobs, size_t n)
{
    uint64_t now = clock_wall_ms();
    for (size_t i = 0; i < n; i++) {
        wjob *j = &jobs[i];
        uint64_t seq;
        if (!is_new_alert(j) || store_event_find(t, j->msg.ev.id, &seq) != GL_ENOTFOUND ||
            !dir_category_known(w->dir, j->msg.ev.kind, j->msg.ev.category))
            continue; /* filed before (a retry), or refused by worker_submit */
        gl_event ev;
        dir_route route;
        worker_route_new(w, &j->msg.ev, now, &ev, &route);
        for (int k = 0; k < route.n; k++) {
            gl_dispatch d = {.event = ev.id, .team = route.to[k].team,
                             .role = route.to[k].role, .state = GL_DS_PENDING,
                             .attempts = 1, .created_ms = now, .updated_ms = now};
            worker_send_dispatch(w, &d, &ev);
        }
        j->early_dispatched = route.n > 0;
    }
    worker_flush(w, 1, 0);
}

void worker_early_dispatch(gl_worker *w, wjob *jobs, size_t n)
{
    size_t nalerts = 0;
    for (size_t i = 0; i < n; i++)
        nalerts += is_new_alert(&jobs[i]);
    if (nalerts == 0)
        return;
    store_txn *t = NULL;
    if (store_begin(w->st, 0, &t) != 0)
        return; /* the commit that follows dispatches them as usual */
    worker_early_dispatch_in(w, t, jobs, n);
    store_abort(&t);
}

void worker_early_withdraw(gl_worker *w, wjob *jobs, size_t n, int err)
{
    char note[200];
    snprintf(note, sizeof note, "the alert was not filed (%s); its terminal retries",
             gl_strerror(err));
    uint64_t now = clock_wall_ms();
    int told = 0;
    for (size_t i = 0; i < n; i++) {
        wjob *j = &jobs[i];
        if (!j->early_dispatched)
            continue;
        gl_event ev;
        dir_route route;
        worker_route_new(w, &j->msg.ev, now, &ev, &route);
        for (int k = 0; k < route.n; k++)
            told += worker_notice(w, route.to[k].team, ev.id, "not_filed", note, NULL) == 0;
        j->early_dispatched = 0;
    }
    if (told)
        LOG_W("%d early-dispatched alert recipients told: not filed (%s)", told,
              gl_strerror(err));
    worker_flush(w, 1, 0);
}
