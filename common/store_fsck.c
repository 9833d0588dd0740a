/* store_fsck.c — a consistency check of the whole store (gridline fsck):
 * every index against the records it indexes, in both directions where the
 * index must be complete. It reads everything once, in key order, in one
 * read transaction, so it can run while workers write. */
#include "gl.h"
#include "store_impl.h"
#include "store_index.h"
#include "store_pending.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void store_fsck_problem(store_fsck_report *r, const char *fmt, ...)
{
    r->problems++;
    if (r->nfirst >= (int)(sizeof r->first / sizeof r->first[0]))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->first[r->nfirst++], sizeof r->first[0], fmt, ap);
    va_end(ap);
}

/* Walks db with a fresh cursor; fn returns 0 to go on. */
static int walk(store_txn *t, int db, int (*fn)(void *ctx, MDB_val *k, MDB_val *v), void *ctx)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->s->dbi[db], &c);
    if (rc)
        return store_error(rc, "fsck cursor");
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (fn(ctx, &k, &v))
            break;
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : store_error(rc, "fsck walk");
}

typedef struct fsck {
    store_txn *t;
    store_fsck_report *r;
    gl_arena arena;
    uint64_t last_seq_history;
    uint32_t last_no;
    unsigned char set_name[STORE_KEY_MAX]; /* check_set: the name and seq */
    size_t set_nlen;                       /* of the entry before */
    uint64_t set_last;
} fsck;

static int get_event(fsck *f, uint64_t seq, gl_event *ev)
{
    arena_reset(&f->arena);
    return store_event_get(f->t, seq, ev, &f->arena);
}

static int get_dispatch(fsck *f, uint64_t seq, const unsigned char *team, size_t n, gl_dispatch *d)
{
    char name[STORE_KEY_MAX + 1];
    arena_reset(&f->arena);
    memcpy(name, team, n);
    name[n] = '\0';
    return store_dispatch_get(f->t, seq, name, d, &f->arena);
}

static int check_event(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    (void)v;
    f->r->events++;
    if (k->mv_size != 8) {
        store_fsck_problem(f->r, "event key of %zu bytes", k->mv_size);
        return 0;
    }
    uint64_t seq = store_get_be64(k->mv_data), indexed;
    gl_event ev;
    if (get_event(f, seq, &ev) != 0) {
        store_fsck_problem(f->r, "event %llu: record does not decode", (unsigned long long)seq);
        return 0;
    }
    if (store_event_find(f->t, ev.id, &indexed) != 0 || indexed != seq)
        store_fsck_problem(f->r, "event %llu (%s): its id does not map to it", (unsigned long long)seq, ev.id);
    unsigned char key[16];
    if (ev.escalate_at_ms) {
        store_put_be64(key, ev.escalate_at_ms);
        store_put_be64(key + 8, seq);
        MDB_val ek = store_val(key, 16), ev2;
        if (store_txn_get(f->t, DB_ESCALATIONS, &ek, &ev2) != 0)
            store_fsck_problem(f->r, "alert %s: escalation step %u has no timer", ev.id, ev.plan_step);
    }
    /* its next deadline has its entry in the timers index */
    uint64_t next_at;
    int next_kind = store_timer_next(&ev, &next_at);
    if (next_kind) {
        unsigned char tkey[17];
        store_put_be64(tkey, next_at);
        store_put_be64(tkey + 8, seq);
        tkey[16] = (unsigned char)next_kind;
        MDB_val tk = store_val(tkey, 17), tv;
        if (store_txn_get(f->t, DB_TIMERS, &tk, &tv) != 0)
            store_fsck_problem(f->r, "event %s: its next deadline (kind %d) has no timer", ev.id,
                               next_kind);
    }
    /* every event has its history from entry 1 ("filed") on */
    unsigned char hkey[12];
    store_put_be64(hkey, seq);
    hkey[8] = hkey[9] = hkey[10] = 0;
    hkey[11] = 1;
    MDB_val hk = store_val(hkey, 12), hv;
    if (store_txn_get(f->t, DB_HISTORY, &hk, &hv) != 0)
        store_fsck_problem(f->r, "event %s has no history entry 1", ev.id);
    store_put_be64(key, seq);
    MDB_val ak = store_val(key, 8), av;
    if ((ev.alarm != NULL) != (store_txn_get(f->t, DB_ALARMS, &ak, &av) == 0))
        store_fsck_problem(f->r, "event %s: alarm field and alarms index disagree", ev.id);
    if (ev.state >= GL_EV_DISPATCHED) {
        /* at least one dispatch: the first key with this seq prefix */
        MDB_cursor *c;
        MDB_val dk = store_val(key, 8), dv;
        int found = 0;
        if (mdb_cursor_open(f->t->txn, f->t->s->dbi[DB_DISPATCHES], &c) == 0) {
            found = mdb_cursor_get(c, &dk, &dv, MDB_SET_RANGE) == 0 && dk.mv_size > 8 &&
                    memcmp(dk.mv_data, key, 8) == 0;
            mdb_cursor_close(c);
        }
        if (!found)
            store_fsck_problem(f->r, "event %s is %s but has no dispatch", ev.id, gl_event_state_name(ev.state));
    }
    return 0;
}

static int check_id(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    gl_event ev;
    uint64_t seq = v->mv_size == 8 ? store_get_be64(v->mv_data) : 0;
    if (!seq || get_event(f, seq, &ev) != 0 || strlen(ev.id) != k->mv_size ||
        memcmp(ev.id, k->mv_data, k->mv_size) != 0)
        store_fsck_problem(f->r, "id %.*s: maps to seq %llu, which is not that event", (int)k->mv_size,
                (const char *)k->mv_data, (unsigned long long)seq);
    return 0;
}

static int check_dispatch(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    (void)v;
    f->r->dispatches++;
    if (k->mv_size <= 8) { /* seq and a team */
        store_fsck_problem(f->r, "dispatch key of %zu bytes", k->mv_size);
        return 0;
    }
    const unsigned char *p = k->mv_data;
    uint64_t seq = store_get_be64(p);
    gl_event ev;
    gl_dispatch d;
    if (get_event(f, seq, &ev) != 0)
        store_fsck_problem(f->r, "dispatch %llu/%.*s: no such event (orphan)", (unsigned long long)seq,
                (int)k->mv_size - 8, (const char *)p + 8);
    if (get_dispatch(f, seq, p + 8, k->mv_size - 8, &d) != 0) {
        store_fsck_problem(f->r, "dispatch %llu: record does not decode", (unsigned long long)seq);
        return 0;
    }
    /* pending index ↔ state PENDING */
    unsigned char key[STORE_KEY_MAX];
    size_t n = k->mv_size - 8;
    /* in "pending" (a key of its own or a block) or, not yet settled, in
     * pending_recent (store_pending.h): in one of them */
    MDB_val pv;
    int settled = pset_has(&pend_index, f->t, p + 8, n, seq);
    int recent = store_txn_get(f->t, DB_PENDING_RECENT, k, &pv) == 0;
    int indexed = settled || recent;
    if (settled && recent)
        store_fsck_problem(f->r, "dispatch %s/%s is in the pending index twice (pending and "
                           "pending_recent)", d.event, d.team);
    if (indexed != (d.state == GL_DS_PENDING))
        store_fsck_problem(f->r, "dispatch %s/%s is %s but %s the pending index", d.event, d.team,
                gl_dispatch_state_name(d.state), indexed ? "in" : "not in");
    if (d.next_retry_ms) {
        store_put_be64(key, d.next_retry_ms);
        store_put_be64(key + 8, seq);
        memcpy(key + 16, p + 8, n);
        MDB_val uk = store_val(key, n + 16), uv;
        if (store_txn_get(f->t, DB_DUE, &uk, &uv) != 0)
            store_fsck_problem(f->r, "dispatch %s/%s: resend time not in the due index", d.event, d.team);
    }
    return 0;
}

/* The passes over an index of the pending index's shape, a set of seqs
 * per name in blocks (store_pending.h): its database, what its messages
 * call it and its names, and the check of one entry. */
typedef struct set_pass {
    const struct blk_desc *d;
    const char *what, *unit; /* "pending index", "team" */
    void (*entry)(fsck *f, const unsigned char *name, size_t n, uint64_t seq);
} set_pass;

/* check_set_seq checks one entry of a set (name, n bytes; seq) and that
 * the name's entries come in increasing seq order over its keys (else a
 * block reaches past the name's next key, or holds an entry that is there
 * again). */
static void check_set_seq(fsck *f, const set_pass *sp, const unsigned char *name, size_t n,
                          uint64_t seq)
{
    if (f->set_nlen == n && memcmp(f->set_name, name, n) == 0 && seq <= f->set_last)
        store_fsck_problem(f->r, "%s: %s %.*s has seq %llu out of order or twice", sp->what,
                           sp->unit, (int)n, (const char *)name, (unsigned long long)seq);
    memcpy(f->set_name, name, n);
    f->set_nlen = n;
    f->set_last = seq;
    sp->entry(f, name, n, seq);
}

static int check_set(fsck *f, const set_pass *sp, MDB_val *k, MDB_val *v)
{
    const unsigned char *p = k->mv_data;
    const unsigned char *end = k->mv_size ? memchr(p, 0, k->mv_size) : NULL;
    size_t n = end ? (size_t)(end - p) : 0, rest = end ? k->mv_size - n - 1 : 0;
    if (!n || (rest != 8 && (rest != 9 || p[k->mv_size - 1] != PEND_MARK))) {
        store_fsck_problem(f->r, "%s: a malformed key of %zu bytes", sp->what, k->mv_size);
        return 0;
    }
    if (rest == 8) { /* an entry of its own */
        check_set_seq(f, sp, p, n, store_get_be64(p + n + 1));
        return 0;
    }
    uint64_t seqs[PEND_MAX];
    int m = pset_block_decode(sp->d, k, v, n + 1, seqs);
    if (m <= 0) {
        store_fsck_problem(f->r, "%s: a malformed block of %s %.*s (%zu bytes)", sp->what,
                           sp->unit, (int)n, (const char *)p, v->mv_size);
        return 0;
    }
    for (int i = 0; i < m; i++)
        check_set_seq(f, sp, p, n, seqs[i]);
    return 0;
}

static void pending_entry(fsck *f, const unsigned char *team, size_t n, uint64_t seq)
{
    gl_dispatch d;
    if (get_dispatch(f, seq, team, n, &d) != 0)
        store_fsck_problem(f->r, "pending index entry without its dispatch");
}

static int check_pending(void *ctx, MDB_val *k, MDB_val *v)
{
    static const set_pass pending = {&pend_index, "pending index", "team", pending_entry};
    return check_set(ctx, &pending, k, v);
}

/* board_entry: a claim board entry names a request of its community (the
 * directory, which the store does not hold, says which categories may be
 * claimed). */
static void board_entry(fsck *f, const unsigned char *community, size_t n, uint64_t seq)
{
    gl_event ev;
    if (get_event(f, seq, &ev) != 0)
        store_fsck_problem(f->r, "claim board: community %.*s lists seq %llu, no such event",
                           (int)n, (const char *)community, (unsigned long long)seq);
    else if (ev.kind != GL_KIND_REQUEST || !ev.community || strlen(ev.community) != n ||
             memcmp(ev.community, community, n) != 0)
        store_fsck_problem(f->r, "claim board: community %.*s lists %s, not a request of it",
                           (int)n, (const char *)community, ev.id);
}

static int check_board(void *ctx, MDB_val *k, MDB_val *v)
{
    static const set_pass board = {&board_index, "claim board", "community", board_entry};
    return check_set(ctx, &board, k, v);
}

/* check_board_recent: an entry waiting in board_recent (seq community)
 * names a request of its community and is not in "board" as well. */
static int check_board_recent(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    (void)v;
    const unsigned char *p = k->mv_data;
    size_t n = k->mv_size > 8 ? k->mv_size - 8 : 0;
    if (!n || memchr(p + 8, 0, n)) {
        store_fsck_problem(f->r, "claim board: a malformed board_recent key of %zu bytes",
                           k->mv_size);
        return 0;
    }
    uint64_t seq = store_get_be64(p);
    board_entry(f, p + 8, n, seq);
    if (pset_has(&board_index, f->t, p + 8, n, seq))
        store_fsck_problem(f->r, "claim board: community %.*s has seq %llu twice (board and "
                           "board_recent)", (int)n, (const char *)p + 8, (unsigned long long)seq);
    return 0;
}

static int check_pending_recent(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    (void)v;
    const unsigned char *p = k->mv_data;
    gl_dispatch d;
    if (k->mv_size <= 8 || get_dispatch(f, store_get_be64(p), p + 8, k->mv_size - 8, &d) != 0)
        store_fsck_problem(f->r, "pending_recent index entry without its dispatch");
    return 0;
}

static int check_due(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    (void)v;
    const unsigned char *p = k->mv_data;
    gl_dispatch d;
    if (k->mv_size < 17 || get_dispatch(f, store_get_be64(p + 8), p + 16, k->mv_size - 16, &d) != 0 ||
        d.next_retry_ms != store_get_be64(p))
        store_fsck_problem(f->r, "due index entry without a dispatch resent at that time");
    return 0;
}

static int check_history(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    (void)v;
    f->r->history++;
    if (k->mv_size != 12) {
        store_fsck_problem(f->r, "history key of %zu bytes", k->mv_size);
        return 0;
    }
    uint64_t seq = store_get_be64(k->mv_data);
    uint32_t no = ((uint32_t)((const unsigned char *)k->mv_data)[8] << 24) |
                  ((uint32_t)((const unsigned char *)k->mv_data)[9] << 16) |
                  ((uint32_t)((const unsigned char *)k->mv_data)[10] << 8) |
                  ((const unsigned char *)k->mv_data)[11];
    uint32_t want = seq == f->last_seq_history ? f->last_no + 1 : 1;
    if (no != want)
        store_fsck_problem(f->r, "history of event %llu: entry %u where %u was expected",
                (unsigned long long)seq, no, want);
    if (seq != f->last_seq_history) {
        gl_event ev;
        if (get_event(f, seq, &ev) != 0)
            store_fsck_problem(f->r, "history of event %llu: no such event", (unsigned long long)seq);
    }
    f->last_seq_history = seq;
    f->last_no = no;
    return 0;
}

static int check_escalation(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    (void)v;
    gl_event ev;
    if (k->mv_size != 16 || get_event(f, store_get_be64((const unsigned char *)k->mv_data + 8), &ev) != 0 ||
        ev.escalate_at_ms != store_get_be64(k->mv_data))
        store_fsck_problem(f->r, "escalation timer that no alert names");
    return 0;
}

static int check_timer(void *ctx, MDB_val *k, MDB_val *v)
{
    fsck *f = ctx;
    (void)v;
    const unsigned char *p = k->mv_data;
    gl_event ev;
    if (k->mv_size != 17 || get_event(f, store_get_be64(p + 8), &ev) != 0) {
        store_fsck_problem(f->r, "workflow timer without its event");
        return 0;
    }
    uint64_t at = store_get_be64(p), named = 0;
    switch (p[16]) {
    case TIMER_SIGN: named = ev.sign_by_ms; break;
    case TIMER_REMIND: named = ev.remind_at_ms; break;
    case TIMER_DUE: named = ev.due_ms; break;
    case TIMER_LEASE: named = ev.lease_until_ms; break;
    case TIMER_CLOSE: named = ev.close_at_ms; break;
    }
    if (named != at)
        store_fsck_problem(f->r, "event %s: a timer of kind %u its record does not name", ev.id, p[16]);
    return 0;
}

int store_fsck(store *s, store_fsck_report *r)
{
    memset(r, 0, sizeof *r);
    store_txn *t = NULL;
    int rc = store_begin(s, 0, &t);
    if (rc)
        return rc;
    fsck f = {.t = t, .r = r};
    static const struct {
        int db;
        int (*fn)(void *, MDB_val *, MDB_val *);
    } passes[] = {
        {DB_EVENTS, check_event},   {DB_EVENT_IDS, check_id},    {DB_DISPATCHES, check_dispatch},
        {DB_PENDING, check_pending}, {DB_DUE, check_due},         {DB_HISTORY, check_history},
        {DB_ESCALATIONS, check_escalation}, {DB_TIMERS, check_timer},
        {DB_PENDING_RECENT, check_pending_recent}, {DB_BOARD, check_board},
        {DB_BOARD_RECENT, check_board_recent},
    };
    for (size_t i = 0; rc == 0 && i < sizeof passes / sizeof passes[0]; i++) {
        f.set_nlen = 0; /* check_set's order starts afresh */
        rc = walk(t, passes[i].db, passes[i].fn, &f);
    }
    if (rc == 0)
        rc = store_index_check(t, r); /* history queries and dead letters */
    store_abort(&t);
    arena_free(&f.arena);
    return rc;
}
