/* lists.c — copies of store listings that outlive the visit, and the timer
 * pass shared by resends and escalations. */
#include "worker.h"

#include <string.h>

#include "../common/log.h"

void dispatch_list_init(dispatch_list *l, gl_arena *arena, size_t limit)
{
    memset(l, 0, sizeof *l);
    l->arena = arena;
    l->limit = limit;
}

int dispatch_list_add(void *ctx, const gl_dispatch *d)
{
    dispatch_list *l = ctx;
    if (l->limit && l->n == l->limit)
        return 1;
    gl_dispatch *items = arena_grow(l->arena, l->items, l->n, &l->cap, sizeof *items);
    if (!items) {
        l->oom = 1;
        return 1;
    }
    l->items = items;
    gl_dispatch *c = &l->items[l->n];
    *c = *d;
    c->event = arena_strdup(l->arena, d->event);
    c->team = arena_strdup(l->arena, d->team);
    c->role = arena_strdup(l->arena, d->role);
    c->member = arena_strdup(l->arena, d->member);
    c->note = arena_strdup(l->arena, d->note);
    if (!c->event || !c->team) {
        l->oom = 1;
        return 1;
    }
    l->n++;
    return 0;
}

int dispatch_list_event(store_txn *t, uint64_t seq, dispatch_list *l)
{
    int rc = store_dispatch_list(t, seq, dispatch_list_add, l);
    if (l->oom)
        return GL_EINTERNAL;
    return rc > 0 ? 0 : rc;
}

uint64_t worker_timer_pass(gl_worker *w, uint64_t now, const char *what,
                           uint64_t (*next_due)(store_txn *),
                           int (*work)(gl_worker *, store_txn *, uint64_t))
{
    /* A read transaction first: most looks find nothing due, and need not
     * queue for the write lock. */
    store_txn *t = NULL;
    if (store_begin(w->st, 0, &t) != 0)
        return now + 1000;
    uint64_t first = next_due(t);
    store_abort(&t);
    if (first == 0 || first > now)
        return first;
    watchdog_waiting(1);
    int begun = store_begin(w->st, 1, &t);
    watchdog_waiting(0);
    if (begun != 0)
        return now + 1000;
    int rc = work(w, t, now);
    uint64_t next = rc == 0 ? next_due(t) : 0;
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    if (rc != 0) {
        log_limited(LOG_ERROR, what, "%s failed: %s", what, gl_strerror(rc));
        worker_flush(w, 0, rc);
        return now + 1000;
    }
    worker_flush(w, 1, 0);
    return next;
}
