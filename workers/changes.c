/* changes.c — a terminal updates or cancels an event it filed (in the spirit
 * of CAP 1.2's Update and Cancel messages: a false alarm is withdrawn, a
 * severity raised). Every team the event went to is told; a cancelled alert
 * stops escalating and its live dispatches are cancelled. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

int worker_change(gl_worker *w, store_txn *t, const wjob *j, uint64_t now)
{
    const proto_msg *m = &j->msg;
    uint64_t seq;
    gl_event ev;
    int rc = worker_find_event(w, t, j, m->ev.id, &seq, &ev);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (m->ev.terminal && ev.terminal && strcmp(m->ev.terminal, ev.terminal) != 0) {
        worker_out_error(w, j, GL_ENOTYOURS, "the event was filed by another terminal");
        return 0;
    }
    int cancel = j->cmd == PROTO_CANCEL;
    if (cancel && ev.state == GL_EV_CANCELLED) {
        /* cancelled already: the same answer — durable, as the first cancel
         * may be in this very transaction */
        worker_reply_changed(w, j, &ev, 1);
        return 0;
    }
    if (ev.state == GL_EV_CLOSED || ev.state == GL_EV_CANCELLED || ev.state == GL_EV_MERGED ||
        (cancel && ev.state == GL_EV_RESOLVED)) {
        worker_out_error(w, j, GL_EBADSTATE, cancel ? "the event is already resolved or closed"
                                                    : "the event is closed, cancelled or merged");
        return 0;
    }
    if (!cancel && !m->ev.text && !m->ev.urgency && !m->ev.severity && !m->ev.certainty) {
        worker_out_error(w, j, GL_EMISSING, "an update needs text, urgency, severity or certainty");
        return 0;
    }

    dispatch_list r;
    dispatch_list_init(&r, &w->batch_arena, 0);
    if ((rc = dispatch_list_event(t, seq, &r)) != 0)
        return rc;
    char who[GL_MAX_ID + 16], note[GL_MAX_TEXT];
    snprintf(who, sizeof who, "terminal%s%s", ev.terminal ? ":" : "", ev.terminal ? ev.terminal : "");
    if (cancel) {
        ev.state = GL_EV_CANCELLED;
        snprintf(note, sizeof note, "%s", m->note ? m->note : "cancelled by its terminal");
        if ((rc = escalation_stop(t, &ev)) != 0 || (rc = deadlines_stop(t, &ev)) != 0 ||
            (rc = set_timer(t, &ev, TIMER_LEASE, &ev.lease_until_ms, 0)) != 0 ||
            (rc = set_timer(t, &ev, TIMER_CLOSE, &ev.close_at_ms, 0)) != 0)
            return rc;
        for (size_t i = 0; i < r.n; i++) {
            gl_dispatch *d = &r.items[i];
            if (d->state == GL_DS_PENDING || d->state == GL_DS_ACKED || d->state == GL_DS_ACCEPTED ||
                d->state == GL_DS_DEAD) {
                d->state = GL_DS_CANCELLED;
                d->next_retry_ms = 0;
                d->updated_ms = now;
                if ((rc = store_dispatch_put(t, d)) != 0)
                    return rc;
            }
        }
    } else {
        if (m->ev.text)
            ev.text = m->ev.text;
        if (m->ev.urgency)
            ev.urgency = m->ev.urgency;
        if (m->ev.severity)
            ev.severity = m->ev.severity;
        if (m->ev.certainty)
            ev.certainty = m->ev.certainty;
        /* "reason; urgency X; severity Y; certainty Z; text: T" — what changed. */
        const char *parts[][2] = {{"", m->note}, {"urgency ", m->ev.urgency},
                                  {"severity ", m->ev.severity}, {"certainty ", m->ev.certainty},
                                  {"text: ", m->ev.text}};
        size_t used = 0;
        note[0] = '\0';
        for (size_t i = 0; i < GL_ARRAY_LEN(parts) && used < sizeof note; i++)
            if (parts[i][1]) {
                int k = snprintf(note + used, sizeof note - used, "%s%s%s", used ? "; " : "",
                                 parts[i][0], parts[i][1]);
                used = k < 0 ? used : used + (size_t)k;
            }
    }
    gl_utf8_trim(note);
    ev.updated_ms = now;
    if ((rc = worker_save_event(w, t, &ev)) != 0 ||
        (rc = worker_history(t, seq, now, who, cancel ? "cancelled" : "updated", note)) != 0)
        return rc;
    /* Every recipient is told, whatever became of its dispatch. */
    for (size_t i = 0; i < r.n; i++)
        if ((rc = worker_notice(w, r.items[i].team, ev.id, cancel ? "cancelled" : "updated", note,
                                ev.terminal)) != 0)
            return rc;
    worker_reply_changed(w, j, &ev, 1);
    return 0;
}
