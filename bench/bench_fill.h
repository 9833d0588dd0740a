/* bench_fill.h — fills a store with settled events straight through the
 * store API, fast, for benchmarks that need a large store (bench_scale).
 *
 * Each event is what a worker files for a routine SUBMIT, carried on to
 * the end of its life: event k of the county mix (bench_county.h: kind,
 * place, category, a 300-600-byte text) routed by the real directory
 * (dir_route_event, as worker_route_new does), then
 *   - the event record and its id (store_event_add), with its indexes;
 *   - one dispatch per recipient of the route (store_dispatch_put), as
 *     worker_dispatch writes it, but in its final state: the first
 *     actionable recipient RESOLVED (it is the event's team), the other
 *     actionable ones TAKEN, the informed and coordinators ACKED; no resend
 *     time, so nothing is pending or due;
 *   - four history entries (store_history_add): "filed", "dispatched" (the
 *     note lists the teams, as worker_submit writes it), "resolved" and
 *     "rated satisfied";
 *   - the event CLOSED and rated "satisfied", with no deadline, timer,
 *     board entry or alarm left.
 * Filing times run evenly, by event number, over the year that ends three
 * days ago, so nothing in the fill is due or in the future.
 *
 * After each commit the fill settles what store_event_add staged (each
 * event's community and grid entries wait in index_recent, store_index.h)
 * into event_index, as a worker's settle does every few thousand entries:
 * the store is left in the shape a worker leaves it, with nothing staged.
 * (A fill that left them there handed the workers two entries per filled
 * event to settle, 12,288 after each of their batches, for minutes: that,
 * not the store's size, is what slowed filing at 1M and 3M.)
 *
 * What differs from real filing: one write per record (a worker writes the
 * event record again as it changes, and its history and dispatches one
 * command at a time), the records are written in their final state (so
 * the pending, due, timers and board indexes never held these events), and
 * fill_per_txn events share one write transaction (a worker's batch is its
 * group commit, 14-60 events).
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_FILL_H
#define GL_BENCH_FILL_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/clock.h"
#include "../common/directory.h"
#include "../common/gl.h"
#include "../common/records.h"
#include "../common/store.h"
#include "../common/store_index.h"
#include "../common/store_pending.h"
#include "bench_county.h"

#define FILL_DAY_MS 86400000ull

typedef struct fill_cfg {
    const mix_cfg *mix;     /* the events: bench_county's mix */
    const directory *dir;   /* routes them */
    uint64_t total;         /* events the whole run fills: spreads the filing times */
    uint64_t end_ms;        /* the last filing time (wall ms) */
    uint64_t span_ms;       /* filing times run over [end_ms - span_ms, end_ms) */
    long per_txn;           /* events per write transaction */
    store_opts so;          /* how the store is opened (map size and ceiling) */
    uint64_t next;          /* the next fill event's number; advanced by fill_store */
} fill_cfg;

typedef struct fill_result {
    uint64_t before, after;  /* events in the store before and after */
    uint64_t added, dispatches, history, commits;
    uint64_t settled;        /* staged index entries settled after the commits */
    double seconds;          /* wall time of the fill, open and close included */
} fill_result;

static inline int fill_actionable(const char *role)
{
    return strcmp(role, "informed") != 0 && strcmp(role, "coordinator") != 0;
}

/* fill_event writes fill event number n in t. 0 or a store error. */
static inline int fill_event(store_txn *t, fill_cfg *c, mix_scratch *sc, uint64_t n,
                             fill_result *r)
{
    char id[64], who[GL_MAX_ID + 16], team_who[GL_MAX_ID + 16];
    char note[GL_MAX_TEXT];
    uint64_t created = c->end_ms - c->span_ms +
                       (uint64_t)((double)n / (double)(c->total ? c->total : 1) * (double)c->span_ms);
    uint64_t h = mix_hash(n ^ 0x5eedull);
    uint64_t resolved = created + 2 * 3600000ull + h % (46 * 3600000ull);
    uint64_t rated = resolved + 3600000ull;
    /* Time-ordered ids, as terminals make them (wall µs first). */
    snprintf(id, sizeof id, "%013" PRIx64 "-fill-%" PRIu64, created * 1000u, n);
    gl_event ev;
    mix_event(sc, n, id, 0, &ev);
    dir_route route;
    dir_route_event(c->dir, &ev, &route);
    if (!ev.community)
        ev.community = route.community;
    if (!ev.grid)
        ev.grid = route.grid;
    if (!ev.compound)
        ev.compound = route.compound;
    const char *resolver = NULL;
    for (int i = 0; i < route.n && !resolver; i++)
        if (fill_actionable(route.to[i].role))
            resolver = route.to[i].team;
    ev.state = route.n ? GL_EV_CLOSED : GL_EV_FILED;
    ev.team = resolver;
    ev.rating = route.n ? "satisfied" : NULL;
    ev.created_ms = created;
    ev.updated_ms = route.n ? rated : created;
    int rc = store_event_add(t, &ev);
    if (rc)
        return rc;
    snprintf(who, sizeof who, "terminal:%s", ev.terminal ? ev.terminal : "");
    gl_history hs = {.seq = ev.seq, .at_ms = created, .who = who, .what = "filed",
                     .note = route.located ? NULL : "location unknown: routed to county triage"};
    if ((rc = store_history_add(t, &hs)) != 0)
        return rc;
    r->history++;
    size_t used = 0;
    note[0] = '\0';
    for (int i = 0; i < route.n; i++) {
        const char *team = route.to[i].team, *role = route.to[i].role;
        gl_dispatch d;
        memset(&d, 0, sizeof d);
        d.seq = ev.seq;
        d.event = ev.id;
        d.team = team;
        d.role = role;
        d.attempts = 1;
        d.created_ms = created;
        d.updated_ms = resolved;
        if (!fill_actionable(role))
            d.state = GL_DS_ACKED;
        else if (team == resolver) {
            d.state = GL_DS_RESOLVED;
            d.member = "m1";
            d.note = "已处理完毕";
        } else
            d.state = GL_DS_TAKEN;
        if ((rc = store_dispatch_put(t, &d)) != 0)
            return rc;
        r->dispatches++;
        int w = snprintf(note + used, sizeof note - used, "%s%s (%s)", i ? ", " : "", team, role);
        if (w > 0 && (size_t)w < sizeof note - used)
            used += (size_t)w;
    }
    if (!route.n)
        return 0;
    snprintf(team_who, sizeof team_who, "team:%s/m1", resolver ? resolver : "");
    gl_history later[] = {
        {.seq = ev.seq, .at_ms = created, .who = "system", .what = "dispatched", .note = note},
        {.seq = ev.seq, .at_ms = resolved, .who = team_who, .what = "resolved",
         .note = "已处理完毕"},
        {.seq = ev.seq, .at_ms = rated, .who = who, .what = "rated satisfied"},
    };
    for (size_t i = 0; i < GL_ARRAY_LEN(later); i++) {
        if ((rc = store_history_add(t, &later[i])) != 0)
            return rc;
        r->history++;
    }
    return 0;
}

/* fill_settle moves everything staged in index_recent, team_recent,
 * pending_recent and board_recent into event_index, pending and board
 * (store_index_settle, store_index_settle_teams, store_pending_settle), a
 * few hundred thousand entries to a transaction,
 * and counts them in r->settled. 0 or a store error. */
static inline int fill_settle(store *s, fill_result *r)
{
    int (*settle[])(store *, size_t, size_t, size_t *) = {
        store_index_settle, store_index_settle_teams, store_pending_settle};
    for (size_t i = 0; i < GL_ARRAY_LEN(settle); i++) {
        for (int full = 0;;) {
            size_t moved = 0;
            int rc = settle[i](s, 1, 262144, &moved);
            /* The map filled: the next begin grows it; settle again. */
            if (rc == GL_ESTORAGEFULL && store_can_grow(s) && full++ < 3)
                continue;
            if (rc)
                return rc;
            if (!moved)
                break;
            r->settled += moved;
        }
    }
    return 0;
}

/* fill_store opens the store in dir (creating it), adds events until it
 * holds target (none when it holds that many already), c->per_txn to a
 * write transaction, and closes it. progress, if not NULL, is called after
 * each commit; when it returns non-zero the fill stops there. 0, or a
 * store error with r telling how far it got. */
static inline int fill_store(const char *dir, fill_cfg *c, uint64_t target, fill_result *r,
                             int (*progress)(const fill_result *r, uint64_t target))
{
    memset(r, 0, sizeof *r);
    uint64_t t0 = clock_mono_us();
    store *s = NULL;
    store_txn *t = NULL;
    mix_scratch sc = {.cfg = c->mix};
    int rc = store_open(dir, &c->so, &s);
    if (rc)
        return rc;
    store_stats st;
    if ((rc = store_begin(s, 0, &t)) == 0) {
        rc = store_get_stats(t, &st);
        store_abort(&t);
    }
    if (rc)
        goto out;
    r->before = r->after = st.events;
    while (r->after < target && rc == 0) {
        if ((rc = store_begin(s, 1, &t)) != 0)
            break;
        uint64_t n0 = r->after, d0 = r->dispatches, h0 = r->history;
        for (long i = 0; i < c->per_txn && r->after < target && rc == 0; i++) {
            rc = fill_event(t, c, &sc, c->next, r);
            if (rc == 0) {
                c->next++;
                r->after++;
            }
        }
        if (rc == 0)
            rc = store_commit(&t);
        else
            store_abort(&t);
        if (rc == GL_ESTORAGEFULL && store_can_grow(s)) {
            /* The map filled: the next begin grows it; do the batch again. */
            c->next -= r->after - n0;
            r->after = n0;
            r->dispatches = d0;
            r->history = h0;
            rc = 0;
            continue;
        }
        if (rc == 0 && (rc = fill_settle(s, r)) != 0)
            break; /* the batch is in: r counts it */
        if (rc == 0) {
            r->commits++;
            r->added = r->after - r->before;
            r->seconds = (double)(clock_mono_us() - t0) / 1e6;
            if (progress && progress(r, target) != 0)
                break;
        } else {
            r->after = n0;
            r->dispatches = d0;
            r->history = h0;
        }
    }
out:
    store_close(&s);
    r->added = r->after - r->before;
    r->seconds = (double)(clock_mono_us() - t0) / 1e6;
    return rc;
}

#endif
