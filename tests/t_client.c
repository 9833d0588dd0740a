/* t_client.c — the client API against a fake broker run by the test itself:
 * a ROUTER on an ipc:// endpoint in the test's temporary directory, served
 * by a thread whose behaviour each case scripts. The assertions are what a
 * terminal or responder would notice: which reply comes back, what was
 * resent, on which connection, and when. */
#include "../common/arena.h"
#include "../common/clock.h"
#include "../common/gl.h"
#include "../common/ids.h"
#include "../common/log.h"
#include "../proto/client.h"
#include "../proto/frame.h"
#include "support/testlib.h"
#include "tap.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

/* ---- the fake broker ---------------------------------------------------- */

#define FAKE_MAX_SEEN 512
#define FAKE_IDENT 32

typedef struct fake_seen {
    int cmd;
    unsigned char ident[FAKE_IDENT];
    size_t identlen;
    char id[GL_MAX_ID + 1]; /* ev.id, or event for responder commands */
    uint64_t rid;
    uint64_t at_ms;         /* monotonic */
    /* what an UPDATE, CANCEL or RATE carried ("" when absent) */
    char terminal[GL_MAX_ID + 1], text[64], severity[16], certainty[16];
    /* what any command carried: note, and the workflow commands' fields */
    char note[64], team[GL_MAX_ID + 1], member[GL_MAX_ID + 1], to[GL_MAX_ID + 1],
        into[GL_MAX_ID + 1], rating[16], community[GL_MAX_ID + 1];
    uint64_t until_ms;
} fake_seen;

typedef struct fake fake;
/* A script sees every decoded message (the mutex is held) and may reply. */
typedef void (*fake_script)(fake *f, void *sock, const fake_seen *s, const proto_msg *m);

struct fake {
    char endpoint[300];
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    fake_script script;
    fake_seen seen[FAKE_MAX_SEEN];
    int nseen;
    /* knobs and state for the scripts */
    int count;
    int silent;                 /* listener cases: no heartbeats, no replies */
    int forget;                 /* listener cases: answer the next HEARTBEAT bad_state */
    int beat_ms;                /* listener cases: send HEARTBEAT this often */
    unsigned char listener[FAKE_IDENT];
    size_t listenerlen;
    uint64_t last_beat, last_sent;
};

static void fake_send(fake *f, void *sock, const unsigned char *ident, size_t identlen,
                      proto_msg *m)
{
    if (frame_send_msg(sock, ident, identlen, m, ZMQ_DONTWAIT) != 0)
        diag("fake broker could not send %s", proto_cmd_name(m->cmd));
    f->last_sent = clock_mono_ms();
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(sock, f->endpoint) != 0)
        diag("fake broker cannot bind %s: %s", f->endpoint, zmq_strerror(zmq_errno()));
    gl_arena arena = {0};
    for (;;) {
        pthread_mutex_lock(&f->mu);
        int stop = f->stop;
        uint64_t now = clock_mono_ms();
        if (!stop && f->beat_ms && !f->silent && f->listenerlen &&
            now >= f->last_beat + (uint64_t)f->beat_ms) {
            proto_msg hb;
            memset(&hb, 0, sizeof hb);
            hb.cmd = PROTO_HEARTBEAT;
            fake_send(f, sock, f->listener, f->listenerlen, &hb);
            f->last_beat = now;
        }
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 5) <= 0)
            continue;
        frame_msg fm;
        if (frame_recv(sock, 1, ZMQ_DONTWAIT, &fm) != 0) {
            frame_close(&fm);
            continue;
        }
        size_t identlen, len;
        const void *ident = frame_identity(&fm, &identlen);
        const void *body = frame_body(&fm, &len);
        proto_msg m;
        arena_reset(&arena);
        char err[200];
        if (proto_decode(fm.cmd, body, len, &m, &arena, err, sizeof err) != 0) {
            diag("fake broker: undecodable %s: %s", proto_cmd_name(fm.cmd), err);
            frame_close(&fm);
            continue;
        }
        pthread_mutex_lock(&f->mu);
        if (f->nseen < FAKE_MAX_SEEN) {
            fake_seen *s = &f->seen[f->nseen++];
            memset(s, 0, sizeof *s);
            s->cmd = fm.cmd;
            s->identlen = identlen < FAKE_IDENT ? identlen : FAKE_IDENT;
            memcpy(s->ident, ident, s->identlen);
            const char *id = m.event ? m.event : m.ev.id;
            snprintf(s->id, sizeof s->id, "%s", id ? id : "");
            s->rid = m.rid;
            s->at_ms = clock_mono_ms();
            if (fm.cmd == PROTO_UPDATE || fm.cmd == PROTO_CANCEL || fm.cmd == PROTO_RATE) {
                snprintf(s->terminal, sizeof s->terminal, "%s", m.ev.terminal ? m.ev.terminal : "");
                snprintf(s->text, sizeof s->text, "%s", m.ev.text ? m.ev.text : "");
                snprintf(s->severity, sizeof s->severity, "%s", m.ev.severity ? m.ev.severity : "");
                snprintf(s->certainty, sizeof s->certainty, "%s",
                         m.ev.certainty ? m.ev.certainty : "");
                snprintf(s->rating, sizeof s->rating, "%s", m.ev.rating ? m.ev.rating : "");
            }
            snprintf(s->note, sizeof s->note, "%s", m.note ? m.note : "");
            snprintf(s->team, sizeof s->team, "%s", m.team ? m.team : "");
            snprintf(s->member, sizeof s->member, "%s", m.member ? m.member : "");
            snprintf(s->to, sizeof s->to, "%s", m.to ? m.to : "");
            snprintf(s->into, sizeof s->into, "%s", m.into ? m.into : "");
            snprintf(s->community, sizeof s->community, "%s",
                     m.ev.community ? m.ev.community : "");
            s->until_ms = m.until_ms;
            if (f->script)
                f->script(f, sock, s, &m);
        }
        pthread_mutex_unlock(&f->mu);
        frame_close(&fm);
    }
    arena_free(&arena);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return NULL;
}

static void fake_start(fake *f, const char *endpoint)
{
    memset(f, 0, sizeof *f);
    snprintf(f->endpoint, sizeof f->endpoint, "%s", endpoint);
    pthread_mutex_init(&f->mu, NULL);
    pthread_create(&f->thread, NULL, fake_main, f);
    tl_sleep_ms(20); /* let it bind */
}

static void fake_stop(fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->mu);
}

/* fake_script_set installs a script with fresh knobs and an empty log. */
static void fake_script_set(fake *f, fake_script script)
{
    pthread_mutex_lock(&f->mu);
    f->script = script;
    f->nseen = 0;
    f->count = 0;
    f->silent = 0;
    f->beat_ms = 0;
    f->listenerlen = 0;
    pthread_mutex_unlock(&f->mu);
}

/* fake_seen_copy copies the log of messages of cmd (0: all) into out. */
static int fake_seen_copy(fake *f, int cmd, fake_seen *out, int max)
{
    int n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nseen && n < max; i++)
        if (!cmd || f->seen[i].cmd == cmd)
            out[n++] = f->seen[i];
    pthread_mutex_unlock(&f->mu);
    return n;
}

static int same_ident(const fake_seen *a, const fake_seen *b)
{
    return a->identlen == b->identlen && memcmp(a->ident, b->ident, a->identlen) == 0;
}

static void reply_filed(fake *f, void *sock, const fake_seen *s, const proto_msg *m,
                        uint64_t rid, uint64_t seq, int duplicate)
{
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_FILED;
    r.rid = rid;
    r.ev.id = m->ev.id;
    r.ev.seq = seq;
    r.ev.kind = m->ev.kind;
    r.ev.state = GL_EV_FILED;
    r.duplicate = duplicate;
    fake_send(f, sock, s->ident, s->identlen, &r);
}

static void reply_error(fake *f, void *sock, const fake_seen *s, const proto_msg *m, int err,
                        const char *reason)
{
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_ERROR;
    r.rid = m->rid;
    r.code = (uint32_t)-err;
    r.reason = reason;
    r.ev.id = m->ev.id;
    fake_send(f, sock, s->ident, s->identlen, &r);
}

/* ---- scripts ------------------------------------------------------------ */

/* Silent to the first two SUBMITs, then FILED. */
static void script_filed_third(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    if (s->cmd == PROTO_SUBMIT && ++f->count >= 3)
        reply_filed(f, sock, s, m, m->rid, 42, 0);
}

/* BUSY (retry after 300 ms) to the first SUBMIT, then FILED. */
static void script_busy_once(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    if (s->cmd != PROTO_SUBMIT)
        return;
    if (++f->count == 1) {
        proto_msg r;
        memset(&r, 0, sizeof r);
        r.cmd = PROTO_BUSY;
        r.rid = m->rid;
        r.retry_after_ms = 300;
        r.ev.id = m->ev.id;
        fake_send(f, sock, s->ident, s->identlen, &r);
    } else {
        reply_filed(f, sock, s, m, m->rid, 43, 0);
    }
}

static void script_busy_always(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_BUSY;
    r.rid = m->rid;
    r.retry_after_ms = 50;
    fake_send(f, sock, s->ident, s->identlen, &r);
}

static void script_bad_field(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    reply_error(f, sock, s, m, GL_EBADFIELD, "grid 'g-99' is not in the directory");
}

static void script_storage_full(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    reply_error(f, sock, s, m, GL_ESTORAGEFULL, "map full");
}

/* ERROR unavailable (no worker yet) to the first SUBMIT, then FILED. */
static void script_unavailable_once(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    if (s->cmd != PROTO_SUBMIT)
        return;
    if (++f->count == 1)
        reply_error(f, sock, s, m, GL_EUNAVAILABLE, "no worker connected");
    else
        reply_filed(f, sock, s, m, m->rid, 44, 0);
}

static void script_drop(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    (void)f, (void)sock, (void)s, (void)m;
}

/* First SUBMIT: FILED twice (a worker re-ran the job). Later SUBMITs: a stale
 * FILED (old rid, wrong seq), an unexpected PONG, then the real FILED. */
static void script_stale(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    if (s->cmd != PROTO_SUBMIT)
        return;
    if (++f->count == 1) {
        reply_filed(f, sock, s, m, m->rid, 100, 0);
        reply_filed(f, sock, s, m, m->rid, 100, 1);
        return;
    }
    reply_filed(f, sock, s, m, m->rid - 1, 999, 0);
    proto_msg pong;
    memset(&pong, 0, sizeof pong);
    pong.cmd = PROTO_PONG;
    pong.rid = m->rid;
    fake_send(f, sock, s->ident, s->identlen, &pong);
    reply_filed(f, sock, s, m, m->rid, 101, 0);
}

static gl_dispatch show_dispatches[2] = {
    {.seq = 5, .event = "ev-5", .team = "grid-3", .role = "grid", .state = GL_DS_ACCEPTED,
     .member = "li", .attempts = 1, .created_ms = 1000, .updated_ms = 2000},
    {.seq = 5, .event = "ev-5", .team = "squad-1", .role = "claim", .state = GL_DS_TAKEN,
     .attempts = 2},
};
static gl_history show_history[2] = {
    {.seq = 5, .no = 1, .at_ms = 1000, .who = "terminal:box-1", .what = "filed"},
    {.seq = 5, .no = 2, .at_ms = 2000, .who = "team:grid-3/li", .what = "accepted",
     .note = "on my way"},
};

static void script_show(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    if (s->cmd == PROTO_PING) {
        proto_msg r;
        memset(&r, 0, sizeof r);
        r.cmd = PROTO_PONG;
        r.rid = m->rid;
        fake_send(f, sock, s->ident, s->identlen, &r);
        return;
    }
    if (s->cmd != PROTO_SHOW)
        return;
    if (strcmp(m->ev.id, "ev-5") != 0) {
        reply_error(f, sock, s, m, GL_ENOTFOUND, "no such event");
        return;
    }
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_EVENT;
    r.rid = m->rid;
    r.ev.id = "ev-5";
    r.ev.seq = 5;
    r.ev.kind = GL_KIND_REQUEST;
    r.ev.category = "repair";
    r.ev.grid = "grid-3";
    r.ev.text = "tap leaks";
    r.ev.contact = "138-0000-0000";
    r.ev.state = GL_EV_ACCEPTED;
    r.ev.team = "grid-3";
    r.dispatches = show_dispatches;
    r.ndispatches = 2;
    r.history = show_history;
    r.nhistory = 2;
    fake_send(f, sock, s->ident, s->identlen, &r);
}

/* Acts: the first ACCEPT is lost; ACCEPTs for "ev-taken" are refused. */
static void script_act(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    if (s->cmd != PROTO_ACCEPT && s->cmd != PROTO_ACK && s->cmd != PROTO_DECLINE)
        return;
    if (strcmp(m->event, "ev-taken") == 0) {
        reply_error(f, sock, s, m, GL_ETAKEN, "grid-4 accepted it first");
        return;
    }
    if (s->cmd == PROTO_ACCEPT && ++f->count == 1)
        return;
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_RESULT;
    r.rid = m->rid;
    r.event = m->event;
    r.team = m->team;
    r.state = s->cmd == PROTO_ACCEPT ? GL_DS_ACCEPTED : GL_DS_ACKED;
    r.event_state = s->cmd == PROTO_ACCEPT ? GL_EV_ACCEPTED : GL_EV_DISPATCHED;
    fake_send(f, sock, s->ident, s->identlen, &r);
}

/* UPDATE and CANCEL as the workers answer them: the first UPDATE of "ev-7"
 * is lost; "ev-nope" is not found; terminal "box-2" did not file anything;
 * "ev-closed" is past changing; "ev-busy" is BUSY once; a cancelled event
 * gets the same CHANGED again. A CHANGED for another rid comes first. */
static void script_change(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    if (s->cmd != PROTO_UPDATE && s->cmd != PROTO_CANCEL)
        return;
    const char *id = m->ev.id;
    if (strcmp(id, "ev-nope") == 0) {
        reply_error(f, sock, s, m, GL_ENOTFOUND, "no event with this id");
        return;
    }
    if (m->ev.terminal && strcmp(m->ev.terminal, "box-2") == 0) {
        reply_error(f, sock, s, m, GL_ENOTYOURS, "the event was filed by another terminal");
        return;
    }
    if (strcmp(id, "ev-closed") == 0) {
        reply_error(f, sock, s, m, GL_EBADSTATE, "the event is closed, cancelled or merged");
        return;
    }
    if (s->cmd == PROTO_UPDATE && strcmp(id, "ev-7") == 0 && ++f->count == 1)
        return;
    proto_msg r;
    memset(&r, 0, sizeof r);
    if (strcmp(id, "ev-busy") == 0 && ++f->count == 1) {
        r.cmd = PROTO_BUSY;
        r.rid = m->rid;
        r.retry_after_ms = 100;
        r.ev.id = id;
        fake_send(f, sock, s->ident, s->identlen, &r);
        return;
    }
    r.cmd = PROTO_CHANGED;
    r.ev.id = id;
    r.ev.seq = 7;
    r.ev.kind = GL_KIND_ALERT;
    r.ev.state = s->cmd == PROTO_CANCEL ? GL_EV_CANCELLED : GL_EV_DISPATCHED;
    r.rid = m->rid + 100; /* another request's rid: must be dropped */
    r.ev.seq = 999;
    fake_send(f, sock, s->ident, s->identlen, &r);
    r.rid = m->rid;
    r.ev.seq = 7;
    fake_send(f, sock, s->ident, s->identlen, &r);
}

/* The county's workflow acts as the workers answer them: a CLAIM holds a
 * lease; the first REDIRECT of "ev-5" is lost; a REDIRECT to "ghost" is
 * refused bad_field; a MERGE into "ev-404" not_found; acts on "ev-taken"
 * are refused taken. */
#define LEASE_END 1800000000000ULL

static void script_workflow(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    switch (s->cmd) {
    case PROTO_CLAIM: case PROTO_RELEASE: case PROTO_RETURN: case PROTO_REDIRECT:
    case PROTO_CONFIRM: case PROTO_DISPUTE: case PROTO_EXTEND: case PROTO_APPROVE:
    case PROTO_MERGE:
        break;
    default:
        return;
    }
    if (strcmp(m->event, "ev-taken") == 0) {
        reply_error(f, sock, s, m, GL_ETAKEN, "already claimed by another team");
        return;
    }
    if (s->cmd == PROTO_REDIRECT && strcmp(m->to, "ghost") == 0) {
        reply_error(f, sock, s, m, GL_EBADFIELD, "unknown team 'ghost'");
        return;
    }
    if (s->cmd == PROTO_MERGE && strcmp(m->into, "ev-404") == 0) {
        reply_error(f, sock, s, m, GL_ENOTFOUND, "no event with the id given in 'into'");
        return;
    }
    if (s->cmd == PROTO_REDIRECT && strcmp(m->event, "ev-5") == 0 && ++f->count == 1)
        return;
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_RESULT;
    r.rid = m->rid;
    r.event = m->event;
    r.team = m->team;
    r.state = GL_DS_ACKED;
    r.event_state = GL_EV_DISPATCHED;
    switch (s->cmd) {
    case PROTO_CLAIM:
        r.state = GL_DS_ACCEPTED;
        r.event_state = GL_EV_ACCEPTED;
        r.until_ms = LEASE_END;
        break;
    case PROTO_RETURN:
        r.state = GL_DS_RETURNED;
        break;
    case PROTO_REDIRECT:
    case PROTO_CONFIRM:
        r.state = GL_DS_RESOLVED;
        r.event_state = s->cmd == PROTO_CONFIRM ? GL_EV_RESOLVED : GL_EV_DISPATCHED;
        break;
    case PROTO_MERGE:
        r.state = GL_DS_CANCELLED;
        r.event_state = GL_EV_MERGED;
        break;
    default:
        break;
    }
    fake_send(f, sock, s->ident, s->identlen, &r);
}

static gl_event board_events[2] = {
    {.id = "wish-1", .seq = 11, .kind = GL_KIND_REQUEST, .category = "micro-wish",
     .community = "heping", .text = "a radio", .state = GL_EV_DISPATCHED, .created_ms = 1000},
    {.id = "wish-2", .seq = 12, .kind = GL_KIND_REQUEST, .category = "daily-help",
     .community = "heping", .grid = "heping-g1", .text = "carry coal upstairs",
     .state = GL_EV_DISPATCHED, .created_ms = 2000, .due_ms = 90000},
};

static void kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    msgpack_pack_str_with_body(pk, key, strlen(key));
    msgpack_pack_uint64(pk, v);
}

/* The followup and query commands: RATE (ev-open is not resolved; terminal
 * box-2 filed nothing), TRACK (BUSY once for ev-busy), BOARD, STATUS (no
 * store figures for the first STATUS after count was set to 100). */
static void script_followup(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.rid = m->rid;
    if (s->cmd == PROTO_RATE) {
        if (m->ev.terminal && strcmp(m->ev.terminal, "box-2") == 0) {
            reply_error(f, sock, s, m, GL_ENOTYOURS, "the event was filed by another terminal");
        } else if (strcmp(m->ev.id, "ev-open") == 0) {
            reply_error(f, sock, s, m, GL_EBADSTATE, "only a resolved event can be rated");
        } else {
            r.cmd = PROTO_CHANGED;
            r.ev.id = m->ev.id;
            r.ev.seq = 21;
            r.ev.kind = GL_KIND_REQUEST;
            r.ev.state = strcmp(m->ev.rating, "satisfied") == 0 ? GL_EV_CLOSED : GL_EV_DISPATCHED;
            fake_send(f, sock, s->ident, s->identlen, &r);
        }
    } else if (s->cmd == PROTO_TRACK) {
        if (strcmp(m->ev.id, "ev-404") == 0) {
            reply_error(f, sock, s, m, GL_ENOTFOUND, "no event with this id");
            return;
        }
        if (strcmp(m->ev.id, "ev-busy") == 0 && ++f->count == 1) {
            r.cmd = PROTO_BUSY;
            r.retry_after_ms = 100;
            r.ev.id = m->ev.id;
            fake_send(f, sock, s->ident, s->identlen, &r);
            return;
        }
        r.cmd = PROTO_TRACKING;
        r.ev = (gl_event){.id = m->ev.id, .seq = 21, .kind = GL_KIND_REQUEST,
                          .category = "repair", .text = "tap leaks", .state = GL_EV_ACCEPTED,
                          .team = "heping-g1-team", .due_ms = 172800000, .updated_ms = 5000,
                          .duplicate_of = strcmp(m->ev.id, "ev-dup") == 0 ? "ev-21" : NULL};
        r.note = "on my way";
        fake_send(f, sock, s->ident, s->identlen, &r);
    } else if (s->cmd == PROTO_BOARD) {
        r.cmd = PROTO_LISTING;
        if (strcmp(m->ev.community, "heping") == 0) {
            r.events = board_events;
            r.nevents = 2;
        }
        fake_send(f, sock, s->ident, s->identlen, &r);
    } else if (s->cmd == PROTO_STATUS) {
        msgpack_sbuffer b, st;
        msgpack_packer pk;
        msgpack_sbuffer_init(&b);
        msgpack_sbuffer_init(&st);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        kv_u64(&pk, "uptime_ms", 65000);
        msgpack_pack_str_with_body(&pk, "lanes", 5);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, "routine", 7);
        msgpack_pack_map(&pk, 1);
        kv_u64(&pk, "depth", 3);
        msgpack_packer_init(&pk, &st, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 1);
        kv_u64(&pk, "events", 1234);
        r.cmd = PROTO_FIGURES;
        r.at_ms = 1700000000000ULL;
        r.broker_figures = b.data;
        r.broker_figures_len = b.size;
        if (f->count++ != 100) {
            r.store_figures = st.data;
            r.store_figures_len = st.size;
        }
        fake_send(f, sock, s->ident, s->identlen, &r);
        msgpack_sbuffer_destroy(&b);
        msgpack_sbuffer_destroy(&st);
    }
}

static void send_dispatch(fake *f, void *sock, const unsigned char *ident, size_t len,
                          const char *event)
{
    proto_msg d;
    memset(&d, 0, sizeof d);
    d.cmd = PROTO_DISPATCH;
    d.event = event;
    d.team = "grid-3";
    d.role = "grid";
    d.state = GL_DS_PENDING;
    d.attempts = 1;
    d.ev.id = event;
    d.ev.seq = 9;
    d.ev.kind = GL_KIND_ALERT;
    d.ev.category = "fire";
    d.ev.text = "smoke on floor 3";
    d.ev.state = GL_EV_DISPATCHED;
    fake_send(f, sock, ident, len, &d);
}

/* A responder link: WELCOME (heartbeat 100 ms) and a pending DISPATCH on
 * every HELLO; a NOTICE after the first HEARTBEAT; silent when told. */
static void script_listen(fake *f, void *sock, const fake_seen *s, const proto_msg *m)
{
    if (f->silent)
        return;
    if (s->cmd == PROTO_HELLO) {
        memcpy(f->listener, s->ident, s->identlen);
        f->listenerlen = s->identlen;
        f->beat_ms = 100;
        proto_msg w;
        memset(&w, 0, sizeof w);
        w.cmd = PROTO_WELCOME;
        w.rid = m->rid;
        w.team = m->team;
        w.member = m->member;
        w.heartbeat_ms = 100;
        fake_send(f, sock, s->ident, s->identlen, &w);
        send_dispatch(f, sock, s->ident, s->identlen, "ev-9");
    } else if (s->cmd == PROTO_HEARTBEAT && f->forget) {
        f->forget = 0;
        reply_error(f, sock, s, m, GL_EBADSTATE, "unknown responder");
    } else if (s->cmd == PROTO_HEARTBEAT && f->count++ == 0) {
        proto_msg n;
        memset(&n, 0, sizeof n);
        n.cmd = PROTO_NOTICE;
        n.event = "ev-8";
        n.team = "grid-3";
        n.what = "taken";
        n.by = "grid-4";
        fake_send(f, sock, s->ident, s->identlen, &n);
    } else if (s->cmd == PROTO_ACK) {
        script_act(f, sock, s, m);
    } else if (s->cmd == PROTO_CLAIM) {
        script_workflow(f, sock, s, m);
    }
}

/* ---- cases -------------------------------------------------------------- */

static client_opts fast_opts(int timeout_ms, int retries)
{
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = timeout_ms;
    o.retries = retries;
    o.busy_retries = retries;
    return o;
}

static gl_event alert_event(const char *id)
{
    gl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.id = id;
    ev.kind = GL_KIND_ALERT;
    ev.category = "fall";
    ev.terminal = "box-1";
    ev.text = "one-button call";
    return ev;
}

static void case_silence_then_filed(fake *f, const char *ep)
{
    fake_script_set(f, script_filed_third);
    client_opts o = fast_opts(200, 5);
    client *c = NULL;
    is_int(client_open(&c, ep, &o, NULL, 0), 0, "client_open");
    gl_event ev = alert_event(NULL);
    client_filed filed;
    is_int(client_submit(c, &ev, &filed), 0, "SUBMIT unanswered twice is filed on the third try");
    is_int(filed.seq, 42, "the FILED seq is returned");
    is_int(strlen(filed.id), IDS_LEN, "a generated id is returned to the caller");
    is_int(filed.kind, GL_KIND_ALERT, "kind comes back");
    is_int(filed.state, GL_EV_FILED, "state comes back");
    is_int(client_attempts(c), 3, "three attempts");
    fake_seen s[8];
    int n = fake_seen_copy(f, PROTO_SUBMIT, s, 8);
    is_int(n, 3, "the broker saw three SUBMITs");
    ok(n == 3 && strcmp(s[0].id, filed.id) == 0 && strcmp(s[1].id, filed.id) == 0 &&
           strcmp(s[2].id, filed.id) == 0, "every resend carries the same id");
    ok(n == 3 && !same_ident(&s[0], &s[1]) && !same_ident(&s[1], &s[2]) &&
           !same_ident(&s[0], &s[2]), "every resend comes on a fresh socket");
    ok(n == 3 && s[1].at_ms - s[0].at_ms >= 190, "the resend waited for the timeout");
    client_close(&c);
    ok(c == NULL, "client_close sets the handle to NULL");
    client_close(&c);
}

static void case_busy(fake *f, const char *ep)
{
    fake_script_set(f, script_busy_once);
    client_opts o = fast_opts(1000, 3);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    gl_event ev = alert_event("box-1-000017");
    ev.kind = GL_KIND_REQUEST;
    client_filed filed;
    is_int(client_submit(c, &ev, &filed), 0, "BUSY then FILED: filed");
    is_str(filed.id, "box-1-000017", "the caller's id is kept");
    is_int(filed.seq, 43, "seq of the FILED after BUSY");
    fake_seen s[8];
    int n = fake_seen_copy(f, PROTO_SUBMIT, s, 8);
    is_int(n, 2, "one resend after BUSY");
    ok(n == 2 && s[1].at_ms - s[0].at_ms >= 300,
       "the resend came no earlier than retry_after_ms (%llu ms later)",
       n == 2 ? (unsigned long long)(s[1].at_ms - s[0].at_ms) : 0ULL);
    ok(n == 2 && strcmp(s[1].id, "box-1-000017") == 0, "the resend after BUSY has the same id");

    fake_script_set(f, script_busy_always);
    o = fast_opts(1000, 2);
    client_close(&c);
    client_open(&c, ep, &o, NULL, 0);
    is_int(client_submit(c, &ev, &filed), GL_EBUSY, "still BUSY after the retries: GL_EBUSY");
    is_int(fake_seen_copy(f, PROTO_SUBMIT, s, 8), 3, "BUSY retries are bounded");
    ok(strstr(client_reason(c), "busy") != NULL, "the reason says busy: %s", client_reason(c));
    client_close(&c);
}

static void case_errors(fake *f, const char *ep)
{
    fake_script_set(f, script_bad_field);
    client_opts o = fast_opts(500, 3);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    gl_event ev = alert_event(NULL);
    ev.grid = "g-99";
    client_filed filed;
    is_int(client_submit(c, &ev, &filed), GL_EBADFIELD, "ERROR 105 comes back as GL_EBADFIELD");
    is_str(client_reason(c), "grid 'g-99' is not in the directory", "with the server's reason");
    is_int(client_attempts(c), 1, "an ERROR is not retried");
    ok(strlen(filed.id) == IDS_LEN, "the id is known even though the call failed");

    fake_script_set(f, script_storage_full);
    uint64_t t0 = clock_mono_ms();
    is_int(client_submit(c, &ev, &filed), GL_ESTORAGEFULL,
           "ERROR 302 comes back as GL_ESTORAGEFULL once the retries are spent");
    uint64_t took = clock_mono_ms() - t0;
    is_int(client_attempts(c), 4, "a 3xx ERROR is resent like silence (1 + 3 attempts)");
    ok(took >= 700 && took < 2000, "with a doubling backoff: 100 + 200 + 400 ms (%llu ms)",
       (unsigned long long)took);
    fake_seen s[8];
    int n = fake_seen_copy(f, PROTO_SUBMIT, s, 8);
    ok(n == 4 && strcmp(s[0].id, s[3].id) == 0 && s[0].rid == s[3].rid,
       "every resend is the same SUBMIT");

    fake_script_set(f, script_unavailable_once);
    is_int(client_submit(c, &ev, &filed), 0, "ERROR unavailable, then FILED: filed");
    is_int(filed.seq, 44, "the seq of the FILED");
    n = fake_seen_copy(f, PROTO_SUBMIT, s, 8);
    ok(n == 2 && s[1].at_ms - s[0].at_ms >= 100, "resent after a backoff");
    fake_script_set(f, script_storage_full);

    gl_event bad = alert_event("has space");
    is_int(client_submit(c, &bad, &filed), GL_EBADFIELD, "a bad id is refused before sending");
    bad = alert_event(NULL);
    bad.text = NULL;
    is_int(client_submit(c, &bad, &filed), GL_EBADFIELD, "an event without text is not sent");
    is_int(fake_seen_copy(f, PROTO_SUBMIT, s, 8), 0, "nothing was sent for the bad events");
    client_close(&c);
}

static void case_unavailable(fake *f, const char *ep, const char *nowhere)
{
    fake_script_set(f, script_drop);
    client_opts o = fast_opts(100, 2);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    gl_event ev = alert_event(NULL);
    client_filed filed;
    uint64_t t0 = clock_mono_ms();
    is_int(client_submit(c, &ev, &filed), GL_EUNAVAILABLE, "a broker that never answers: GL_EUNAVAILABLE");
    uint64_t took = clock_mono_ms() - t0;
    ok(took >= 290 && took < 1500, "after 1 + 2 attempts of 100 ms (%llu ms)",
       (unsigned long long)took);
    fake_seen s[8];
    int n = fake_seen_copy(f, PROTO_SUBMIT, s, 8);
    is_int(n, 3, "three attempts reached the broker");
    ok(n == 3 && strcmp(s[0].id, s[2].id) == 0 && strcmp(s[0].id, filed.id) == 0,
       "all with the same id, the one returned");
    ok(strstr(client_reason(c), "no reply") != NULL, "reason: %s", client_reason(c));
    client_close(&c);

    client_open(&c, nowhere, &o, NULL, 0);
    is_int(client_ping(c), GL_EUNAVAILABLE, "nothing listening: GL_EUNAVAILABLE");
    client_close(&c);

    char err[200] = "";
    is_int(client_open(&c, "nonsense", &o, err, sizeof err), GL_ECONFIG, "a malformed endpoint is GL_ECONFIG");
    ok(c == NULL && strstr(err, "nonsense") != NULL, "with a reason: %s", err);
}

static void case_stale(fake *f, const char *ep)
{
    fake_script_set(f, script_stale);
    client_opts o = fast_opts(1000, 2);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    gl_event ev = alert_event(NULL);
    client_filed first, second;
    is_int(client_submit(c, &ev, &first), 0, "first submit filed");
    is_int(first.seq, 100, "first seq");
    tl_sleep_ms(50); /* the second copy of the first FILED is now queued */
    is_int(client_submit(c, &ev, &second), 0, "second submit filed");
    is_int(second.seq, 101, "stale replies (late duplicate, old rid, other command) are dropped");
    is_int(client_attempts(c), 1, "without a resend");
    ok(strcmp(first.id, second.id) < 0, "generated ids increase");
    client_close(&c);
}

static void case_show_ping(fake *f, const char *ep)
{
    fake_script_set(f, script_show);
    client_opts o = fast_opts(500, 1);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    is_int(client_ping(c), 0, "PING gets PONG");
    gl_arena arena = {0};
    proto_msg m;
    is_int(client_show(c, "ev-5", &m, &arena), 0, "SHOW gets EVENT");
    is_str(m.ev.id, "ev-5", "event id");
    is_str(m.ev.contact, "138-0000-0000", "reporter contact");
    is_int(m.ev.state, GL_EV_ACCEPTED, "event state");
    is_int(m.ndispatches, 2, "two dispatches");
    if (m.ndispatches == 2) {
        is_str(m.dispatches[1].team, "squad-1", "second dispatch's team");
        is_int(m.dispatches[1].state, GL_DS_TAKEN, "second dispatch's state");
    }
    is_int(m.nhistory, 2, "two history entries");
    if (m.nhistory == 2)
        is_str(m.history[1].note, "on my way", "history note");
    is_int(client_show(c, "ev-404", &m, &arena), GL_ENOTFOUND, "unknown event: GL_ENOTFOUND");
    arena_free(&arena);
    client_close(&c);
}

static void case_act(fake *f, const char *ep)
{
    fake_script_set(f, script_act);
    client_opts o = fast_opts(200, 3);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    client_result r;
    is_int(client_act(c, PROTO_ACCEPT, "ev-5", "grid-3", "li", NULL, &r), 0,
           "ACCEPT with a lost first try succeeds");
    is_int(r.state, GL_DS_ACCEPTED, "dispatch state accepted");
    is_int(r.event_state, GL_EV_ACCEPTED, "event state accepted");
    fake_seen s[8];
    int n = fake_seen_copy(f, PROTO_ACCEPT, s, 8);
    is_int(n, 2, "ACCEPT was resent once");
    ok(n == 2 && s[0].rid == s[1].rid && strcmp(s[1].id, "ev-5") == 0,
       "the resend is the same request");
    is_int(client_act(c, PROTO_ACCEPT, "ev-taken", "grid-3", NULL, NULL, &r), GL_ETAKEN,
           "ERROR 201 is GL_ETAKEN");
    is_int(client_act(c, PROTO_DECLINE, "ev-5", "grid-3", NULL, NULL, &r), GL_EMISSING,
           "DECLINE without a reason is refused locally");
    is_int(client_act(c, PROTO_SUBMIT, "ev-5", "grid-3", NULL, NULL, &r), GL_EBADFIELD,
           "not an act");
    client_close(&c);
}

static void case_change(fake *f, const char *ep)
{
    fake_script_set(f, script_change);
    client_opts o = fast_opts(200, 3);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    client_filed out;
    fake_seen s[16];

    is_int(client_update(c, "ev-7", "box-1", "smoke, now flames", NULL, "Extreme", NULL,
                         "it spread", &out), 0, "UPDATE with a lost first try is CHANGED");
    is_str(out.id, "ev-7", "CHANGED: the id");
    is_int(out.seq, 7, "CHANGED: the seq (a stale CHANGED with an old rid was dropped)");
    is_int(out.kind, GL_KIND_ALERT, "CHANGED: the kind");
    is_int(out.state, GL_EV_DISPATCHED, "CHANGED: the event's state");
    is_int(out.duplicate, 0, "duplicate stays 0");
    is_int(client_attempts(c), 2, "two attempts");
    int n = fake_seen_copy(f, PROTO_UPDATE, s, 16);
    is_int(n, 2, "the broker saw the UPDATE twice");
    ok(n == 2 && s[0].rid == s[1].rid && !same_ident(&s[0], &s[1]),
       "the resend is the same request, on a fresh socket");
    ok(n == 2 && strcmp(s[1].terminal, "box-1") == 0 && strcmp(s[1].text, "smoke, now flames") == 0 &&
           strcmp(s[1].severity, "Extreme") == 0 && s[1].certainty[0] == '\0' &&
           strcmp(s[1].note, "it spread") == 0,
       "it carried the terminal, the new text, the severity and the note, and no certainty");

    is_int(client_update(c, "ev-8", NULL, "", NULL, "", "Likely", "", NULL), 0,
           "an UPDATE of the certainty alone, without out");
    n = fake_seen_copy(f, PROTO_UPDATE, s, 16);
    ok(n == 3 && s[2].terminal[0] == '\0' && s[2].text[0] == '\0' && s[2].note[0] == '\0' &&
           strcmp(s[2].certainty, "Likely") == 0, "empty strings are left out");

    fake_script_set(f, script_change);
    is_int(client_update(c, "ev-7", NULL, NULL, "", NULL, NULL, "why not", &out), GL_EMISSING,
           "an UPDATE with nothing new is refused locally");
    ok(strstr(client_reason(c), "text, urgency, severity or certainty") != NULL, "reason: %s",
       client_reason(c));
    is_str(out.id, "ev-7", "out->id is set even so");
    is_int(client_update(c, "ev-7", NULL, NULL, NULL, "extreme", NULL, NULL, &out), GL_EBADFIELD,
           "a misspelt CAP value is refused locally");
    ok(strstr(client_reason(c), "Extreme|Severe|Moderate|Minor|Unknown") != NULL,
       "naming the values: %s", client_reason(c));
    is_int(client_update(c, "ev 7", NULL, "x", NULL, NULL, NULL, NULL, &out), GL_EBADFIELD,
           "a bad id is refused locally");
    is_int(client_cancel(c, NULL, NULL, NULL, &out), GL_EBADFIELD, "so is no id");
    is_int(fake_seen_copy(f, 0, s, 16), 0, "nothing was sent for them");

    is_int(client_cancel(c, "ev-7", "box-1", "false alarm", &out), 0, "CANCEL is CHANGED");
    is_int(out.state, GL_EV_CANCELLED, "the event is cancelled");
    is_int(client_cancel(c, "ev-7", "box-1", "false alarm", &out), 0, "a repeated CANCEL too");
    ok(out.seq == 7 && out.state == GL_EV_CANCELLED, "with the same answer");
    n = fake_seen_copy(f, PROTO_CANCEL, s, 16);
    ok(n == 2 && strcmp(s[0].note, "false alarm") == 0 && strcmp(s[0].terminal, "box-1") == 0 &&
           s[0].rid != s[1].rid, "each CANCEL carried the note and the terminal, with its own rid");

    is_int(client_cancel(c, "ev-nope", NULL, NULL, &out), GL_ENOTFOUND, "ERROR 200: GL_ENOTFOUND");
    is_int(client_cancel(c, "ev-7", "box-2", NULL, &out), GL_ENOTYOURS,
           "ERROR 202 (another terminal's event): GL_ENOTYOURS");
    is_str(client_reason(c), "the event was filed by another terminal", "with the reason");
    is_int(client_update(c, "ev-closed", NULL, "x", NULL, NULL, NULL, NULL, &out), GL_EBADSTATE,
           "ERROR 108: GL_EBADSTATE");
    is_int(client_attempts(c), 1, "refusals are not retried");

    uint64_t t0 = clock_mono_ms();
    is_int(client_cancel(c, "ev-busy", NULL, NULL, &out), 0, "BUSY, then CHANGED");
    ok(clock_mono_ms() - t0 >= 100, "after waiting retry_after_ms");
    client_close(&c);
}

static void case_workflow(fake *f, const char *ep)
{
    fake_script_set(f, script_workflow);
    client_opts o = fast_opts(200, 3);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    client_result r;
    fake_seen s[16];

    is_int(client_act(c, PROTO_CLAIM, "wish-1", "sq-redvest", "li", NULL, &r), 0, "CLAIM");
    is_int(r.state, GL_DS_ACCEPTED, "CLAIM: the dispatch is accepted");
    is_int(r.event_state, GL_EV_ACCEPTED, "CLAIM: the event is accepted");
    ok(r.until_ms == LEASE_END, "CLAIM: until_ms is the lease end from RESULT");
    int n = fake_seen_copy(f, PROTO_CLAIM, s, 16);
    ok(n == 1 && strcmp(s[0].id, "wish-1") == 0 && strcmp(s[0].team, "sq-redvest") == 0 &&
           strcmp(s[0].member, "li") == 0 && s[0].note[0] == '\0',
       "CLAIM carried event, team and member, and no note");
    is_int(client_act(c, PROTO_CLAIM, "ev-taken", "sq-party", NULL, NULL, &r), GL_ETAKEN,
           "a CLAIM of a claimed request: GL_ETAKEN");
    is_int(r.until_ms, 0, "until_ms is 0 after a refusal");

    static const int plain[] = {PROTO_RELEASE, PROTO_CONFIRM, PROTO_APPROVE};
    for (size_t i = 0; i < GL_ARRAY_LEN(plain); i++) {
        is_int(client_act(c, plain[i], "ev-5", "heping-office", NULL, "ok", &r), 0, "%s",
               proto_cmd_name(plain[i]));
        ok(r.until_ms == 0 && r.state != 0, "%s: RESULT decoded, no lease",
           proto_cmd_name(plain[i]));
    }
    is_int(client_act(c, PROTO_RETURN, "ev-5", "heping-g1-team", NULL, "not our grid", &r), 0,
           "RETURN with its reason");
    is_int(r.state, GL_DS_RETURNED, "the dispatch is returned");
    is_int(client_act(c, PROTO_DISPUTE, "ev-5", "oc-heping-c1", NULL, "still broken", &r), 0,
           "DISPUTE with its reason");
    n = fake_seen_copy(f, PROTO_DISPUTE, s, 16);
    ok(n == 1 && strcmp(s[0].note, "still broken") == 0, "DISPUTE carried the reason");

    fake_script_set(f, script_workflow);
    is_int(client_act(c, PROTO_RETURN, "ev-5", "heping-g1-team", NULL, NULL, &r), GL_EMISSING,
           "RETURN without a reason is refused locally");
    ok(strstr(client_reason(c), "RETURN needs a note") != NULL, "reason: %s", client_reason(c));
    is_int(client_act(c, PROTO_DISPUTE, "ev-5", "oc-heping-c1", NULL, "", &r), GL_EMISSING,
           "so is DISPUTE with an empty one");
    is_int(client_act(c, PROTO_REDIRECT, "ev-5", "county-triage", NULL, NULL, &r), GL_EBADFIELD,
           "REDIRECT is not a plain act");
    ok(strstr(client_reason(c), "call of its own") != NULL, "reason: %s", client_reason(c));
    is_int(client_redirect(c, "ev-5", "county-triage", NULL, NULL, NULL, &r), GL_EMISSING,
           "REDIRECT without 'to' is refused locally");
    is_int(client_redirect(c, "ev-5", "county-triage",
                           "a-team-name-much-longer-than-sixty-four-bytes-is-not-a-team-id-at-all",
                           NULL, NULL, &r), GL_EBADFIELD, "so is a 'to' that is too long");
    is_int(client_merge(c, "ev-5", "county-triage", "not an id", NULL, NULL, &r), GL_EBADFIELD,
           "MERGE into a malformed id is refused locally");
    is_int(client_merge(c, "ev-5", "county-triage", NULL, NULL, NULL, &r), GL_EMISSING,
           "MERGE without 'into' too");
    is_int(client_extend(c, "ev-5", "heping-g1-team", 0, NULL, "parts", &r), GL_EMISSING,
           "EXTEND without a time is refused locally");
    is_int(client_extend(c, "ev-5", "heping-g1-team", 1900000000000ULL, NULL, NULL, &r),
           GL_EMISSING, "EXTEND without a reason too");
    is_int(fake_seen_copy(f, 0, s, 16), 0, "nothing was sent for them");

    is_int(client_redirect(c, "ev-5", "county-triage", "heping-g2-team", "zhang", "their street",
                           &r), 0, "REDIRECT with a lost first try succeeds");
    is_int(r.state, GL_DS_RESOLVED, "triage's dispatch is done");
    n = fake_seen_copy(f, PROTO_REDIRECT, s, 16);
    is_int(n, 2, "REDIRECT was resent once");
    ok(n == 2 && s[0].rid == s[1].rid && !same_ident(&s[0], &s[1]) &&
           strcmp(s[1].to, "heping-g2-team") == 0 && strcmp(s[1].note, "their street") == 0 &&
           strcmp(s[1].member, "zhang") == 0,
       "the same REDIRECT, with its 'to', note and member, on a fresh socket");
    is_int(client_redirect(c, "ev-6", "county-triage", "ghost", NULL, NULL, &r), GL_EBADFIELD,
           "REDIRECT to an unknown team: ERROR bad_field");
    is_str(client_reason(c), "unknown team 'ghost'", "with the server's reason");

    is_int(client_merge(c, "ev-7", "heping-office", "ev-6", NULL, "same leak", &r), 0, "MERGE");
    is_int(r.event_state, GL_EV_MERGED, "the event is merged");
    n = fake_seen_copy(f, PROTO_MERGE, s, 16);
    ok(n == 1 && strcmp(s[0].into, "ev-6") == 0 && strcmp(s[0].note, "same leak") == 0,
       "MERGE carried 'into' and the note");
    is_int(client_merge(c, "ev-7", "heping-office", "ev-404", NULL, NULL, &r), GL_ENOTFOUND,
           "MERGE into an unknown event: GL_ENOTFOUND");

    is_int(client_extend(c, "ev-5", "heping-g1-team", 1900000000000ULL, "li", "parts on order",
                         &r), 0, "EXTEND");
    n = fake_seen_copy(f, PROTO_EXTEND, s, 16);
    ok(n == 1 && s[0].until_ms == 1900000000000ULL && strcmp(s[0].note, "parts on order") == 0,
       "EXTEND carried until_ms and the reason");
    client_close(&c);
}

static void case_followup(fake *f, const char *ep)
{
    fake_script_set(f, script_followup);
    client_opts o = fast_opts(500, 2);
    client *c = NULL;
    client_open(&c, ep, &o, NULL, 0);
    fake_seen s[16];
    client_filed out;

    is_int(client_rate(c, "ev-21", "box-1", "satisfied", "thank you", &out), 0, "RATE satisfied");
    is_str(out.id, "ev-21", "CHANGED: the id");
    is_int(out.state, GL_EV_CLOSED, "the event is closed");
    int n = fake_seen_copy(f, PROTO_RATE, s, 16);
    ok(n == 1 && strcmp(s[0].rating, "satisfied") == 0 && strcmp(s[0].terminal, "box-1") == 0 &&
           strcmp(s[0].note, "thank you") == 0, "RATE carried the rating, terminal and note");
    is_int(client_rate(c, "ev-21", NULL, "unsatisfied", "still leaks", &out), 0,
           "RATE unsatisfied");
    is_int(out.state, GL_EV_DISPATCHED, "the event is reopened");
    is_int(client_rate(c, "ev-21", NULL, "meh", NULL, &out), GL_EBADFIELD,
           "a rating that is neither is refused locally");
    ok(strstr(client_reason(c), "satisfied|unsatisfied") != NULL, "reason: %s",
       client_reason(c));
    is_int(client_rate(c, "ev-21", NULL, NULL, NULL, &out), GL_EMISSING, "so is no rating");
    is_int(client_rate(c, "ev 21", NULL, "satisfied", NULL, &out), GL_EBADFIELD,
           "and a malformed id");
    is_int(fake_seen_copy(f, PROTO_RATE, s, 16), 2, "none of them was sent");
    is_int(client_rate(c, "ev-open", NULL, "satisfied", NULL, &out), GL_EBADSTATE,
           "rating an event that is not resolved: GL_EBADSTATE");
    is_int(client_rate(c, "ev-21", "box-2", "satisfied", NULL, &out), GL_ENOTYOURS,
           "rating another terminal's event: GL_ENOTYOURS");

    gl_arena arena = {0};
    proto_msg m;
    is_int(client_track(c, "ev-21", &m, &arena), 0, "TRACK gets TRACKING");
    is_str(m.ev.id, "ev-21", "its event id");
    is_int(m.ev.state, GL_EV_ACCEPTED, "its state");
    is_str(m.ev.team, "heping-g1-team", "the team responsible");
    ok(m.ev.due_ms == 172800000, "the due time");
    is_str(m.note, "on my way", "the latest note");
    ok(m.ev.duplicate_of == NULL, "no duplicate_of");
    is_int(client_track(c, "ev-dup", &m, &arena), 0, "TRACK of a duplicate");
    is_str(m.ev.duplicate_of, "ev-21", "names the event it follows");
    uint64_t t0 = clock_mono_ms();
    is_int(client_track(c, "ev-busy", &m, &arena), 0, "TRACK answered BUSY once, then TRACKING");
    ok(clock_mono_ms() - t0 >= 100, "after retry_after_ms");
    is_int(client_track(c, "ev-404", &m, &arena), GL_ENOTFOUND, "TRACK of nothing: GL_ENOTFOUND");
    is_int(client_track(c, "bad id", &m, &arena), GL_EBADFIELD, "a malformed id is not sent");

    is_int(client_board(c, "heping", &m, &arena), 0, "BOARD gets LISTING");
    is_int(m.nevents, 2, "two requests open to claim");
    if (m.nevents == 2) {
        is_str(m.events[0].id, "wish-1", "oldest first");
        is_str(m.events[1].text, "carry coal upstairs", "with their texts");
        ok(m.events[1].due_ms == 90000, "and due times");
    }
    n = fake_seen_copy(f, PROTO_BOARD, s, 16);
    ok(n == 1 && strcmp(s[0].community, "heping") == 0, "BOARD carried the community");
    is_int(client_board(c, "nowhere", &m, &arena), 0, "an empty board is an answer");
    is_int(m.nevents, 0, "with no events");
    is_int(client_board(c, "", &m, &arena), GL_EMISSING, "BOARD without a community: GL_EMISSING");
    is_int(client_board(c, "c-0123456789012345678901234567890123456789012345678901234567890123",
                        &m, &arena), GL_EBADFIELD, "an over-long community: GL_EBADFIELD");

    is_int(client_status(c, &m, &arena), 0, "STATUS gets FIGURES");
    ok(m.at_ms == 1700000000000ULL, "at_ms");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int nested = 0;
    if (m.broker_figures &&
        msgpack_unpack_next(&u, m.broker_figures, m.broker_figures_len, NULL) ==
            MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *top = &u.data.via.map;
        for (uint32_t i = 0; i < top->size; i++)
            if (top->ptr[i].key.via.str.size == 5 &&
                memcmp(top->ptr[i].key.via.str.ptr, "lanes", 5) == 0 &&
                top->ptr[i].val.type == MSGPACK_OBJECT_MAP) {
                const msgpack_object *routine = &top->ptr[i].val.via.map.ptr[0].val;
                nested = routine->type == MSGPACK_OBJECT_MAP &&
                         routine->via.map.ptr[0].val.via.u64 == 3;
            }
    }
    msgpack_unpacked_destroy(&u);
    ok(nested, "the broker map is handed over whole: lanes.routine.depth is 3");
    ok(m.store_figures && m.store_figures_len > 0, "the store map too");
    pthread_mutex_lock(&f->mu);
    f->count = 100;
    pthread_mutex_unlock(&f->mu);
    is_int(client_status(c, &m, &arena), 0, "FIGURES before any worker reported");
    ok(m.store_figures == NULL && m.store_figures_len == 0, "has no store map");
    arena_free(&arena);
    client_close(&c);
}

static void case_listen(fake *f, const char *ep, const char *nowhere)
{
    fake_script_set(f, script_listen);
    client_opts o = fast_opts(300, 2);
    client_listener *l = NULL;
    char err[200];
    is_int(client_listen_open(&l, ep, "grid-3", "li", &o, err, sizeof err), 0,
           "HELLO is WELCOMEd");
    if (!l)
        return;
    is_int(client_listen_heartbeat_ms(l), 100, "heartbeat interval from WELCOME");
    gl_arena arena = {0};
    proto_msg m;
    is_int(client_listen_next(l, 1000, &m, &arena), 0, "listen_next");
    is_int(m.cmd, PROTO_DISPATCH, "the pending dispatch arrives");
    is_str(m.event, "ev-9", "its event");
    is_int(m.state, GL_DS_PENDING, "its state");
    is_str(m.ev.text, "smoke on floor 3", "its detail");

    uint64_t t0 = clock_mono_ms();
    int notices = 0;
    while (clock_mono_ms() - t0 < 600) {
        arena_reset(&arena);
        if (client_listen_next(l, 100, &m, &arena) == 0 && m.cmd == PROTO_NOTICE) {
            notices++;
            is_str(m.what, "taken", "a NOTICE arrives: taken");
            is_str(m.by, "grid-4", "by grid-4");
        }
    }
    is_int(notices, 1, "one notice");
    fake_seen s[64];
    int beats = fake_seen_copy(f, PROTO_HEARTBEAT, s, 64);
    ok(beats >= 4 && beats <= 9, "the listener sent HEARTBEAT every ~100 ms (%d in 600+ ms)", beats);
    is_int(client_listen_reconnects(l), 0, "no reconnect while the broker talks");

    client_result r;
    is_int(client_listen_act(l, PROTO_ACK, "ev-9", NULL, &r), 0, "ACK from within the listener");
    is_int(r.state, GL_DS_ACKED, "dispatch acked");
    is_int(client_listen_act(l, PROTO_CLAIM, "ev-9", NULL, &r), 0,
           "CLAIM from within the listener");
    ok(r.state == GL_DS_ACCEPTED && r.until_ms == LEASE_END, "claimed, with the lease end");
    fake_seen claims[8];
    ok(fake_seen_copy(f, PROTO_CLAIM, claims, 8) == 1 && strcmp(claims[0].team, "grid-3") == 0 &&
           strcmp(claims[0].member, "li") == 0, "as the listener's team and member");
    fake_seen hello[8], acks[8];
    int nh = fake_seen_copy(f, PROTO_HELLO, hello, 8);
    int na = fake_seen_copy(f, PROTO_ACK, acks, 8);
    ok(nh == 1 && na == 1 && !same_ident(&hello[0], &acks[0]),
       "the ACK goes over its own socket");

    /* The broker forgets the member and answers a HEARTBEAT with bad_state. */
    pthread_mutex_lock(&f->mu);
    f->forget = 1;
    pthread_mutex_unlock(&f->mu);
    t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < 350) {
        arena_reset(&arena);
        client_listen_next(l, 50, &m, &arena);
    }
    nh = fake_seen_copy(f, PROTO_HELLO, hello, 8);
    is_int(nh, 2, "after bad_state the listener says HELLO again");
    ok(nh == 2 && same_ident(&hello[0], &hello[1]), "on the same socket");
    is_int(client_listen_reconnects(l), 1, "counted");

    /* The broker goes silent: no heartbeats, no answers. */
    pthread_mutex_lock(&f->mu);
    f->silent = 1;
    uint64_t quiet_from = f->last_beat; /* the last thing sent to the listener's socket */
    pthread_mutex_unlock(&f->mu);
    t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < 450) {
        arena_reset(&arena);
        client_listen_next(l, 50, &m, &arena);
    }
    nh = fake_seen_copy(f, PROTO_HELLO, hello, 8);
    is_int(nh, 3, "after 3 silent intervals the listener says HELLO again");
    ok(nh == 3 && !same_ident(&hello[1], &hello[2]), "on a fresh socket");
    ok(nh == 3 && hello[2].at_ms - quiet_from >= 280,
       "not before 3 heartbeat intervals (%llu ms)",
       nh == 3 ? (unsigned long long)(hello[2].at_ms - quiet_from) : 0ULL);
    is_int(client_listen_reconnects(l), 2, "the reconnect is counted");

    /* The broker is back: the next HELLO is welcomed and dispatches flow. */
    pthread_mutex_lock(&f->mu);
    f->silent = 0;
    pthread_mutex_unlock(&f->mu);
    int got = 0;
    t0 = clock_mono_ms();
    while (!got && clock_mono_ms() - t0 < 2000) {
        arena_reset(&arena);
        if (client_listen_next(l, 100, &m, &arena) == 0 && m.cmd == PROTO_DISPATCH)
            got = 1;
    }
    ok(got && strcmp(m.event, "ev-9") == 0, "after the re-HELLO the pending dispatch is resent");
    arena_free(&arena);
    client_listen_close(&l);
    ok(l == NULL, "client_listen_close sets the handle to NULL");

    uint64_t t1 = clock_mono_ms();
    o = fast_opts(100, 1);
    is_int(client_listen_open(&l, nowhere, "grid-3", NULL, &o, err, sizeof err),
           GL_EUNAVAILABLE, "HELLO to nobody: GL_EUNAVAILABLE");
    ok(l == NULL && clock_mono_ms() - t1 < 1000, "quickly, with a reason: %s", err);
    is_int(client_listen_open(&l, ep, "", NULL, &o, err, sizeof err), GL_EBADFIELD,
           "a listener needs a team");
}

int main(void)
{
    log_init("t_client", LOG_ERROR);
    tl_env env;
    tl_setup(&env, "client");
    char nowhere[400];
    snprintf(nowhere, sizeof nowhere, "ipc://%s/nobody.sock", env.dir);
    fake f;
    fake_start(&f, env.intake);
    case_silence_then_filed(&f, env.intake);
    case_busy(&f, env.intake);
    case_errors(&f, env.intake);
    case_unavailable(&f, env.intake, nowhere);
    case_stale(&f, env.intake);
    case_show_ping(&f, env.intake);
    case_act(&f, env.intake);
    case_change(&f, env.intake);
    case_workflow(&f, env.intake);
    case_followup(&f, env.intake);
    case_listen(&f, env.intake, nowhere);
    fake_stop(&f);
    return done_testing();
}
