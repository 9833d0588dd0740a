/* t_cli.c — bin/gridline ($GRIDLINE_BIN/gridline) against a fake broker the
 * test runs itself (a ROUTER thread on an ipc:// endpoint in the test's
 * temporary directory), and against an endpoint where nothing listens. The
 * assertions are what a script using the CLI sees: exit statuses, stdout
 * (text and JSON), messages on stderr. */
#include "../common/arena.h"
#include "../common/clock.h"
#include "../common/gl.h"
#include "../common/ids.h"
#include "../proto/frame.h"
#include "support/testlib.h"
#include "tap.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zmq.h>

/* ---- the fake broker ---------------------------------------------------- */

enum submit_mode { SUBMIT_FILED, SUBMIT_DUPLICATE, SUBMIT_BADFIELD, SUBMIT_BUSY, SUBMIT_STORAGE };

typedef struct fake {
    char endpoint[300];
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    int submit_mode;
    /* what the last SUBMIT carried, and the count of messages per command */
    char last_id[GL_MAX_ID + 1], last_contact[GL_MAX_SHORT + 1], last_urgency[32];
    double last_lat;
    /* what the last UPDATE or CANCEL carried ("" when absent) */
    char change_terminal[GL_MAX_ID + 1], change_text[64], change_severity[32],
        change_certainty[32], change_note[64];
    int seen[PROTO_CMD_COUNT];
    int notices_sent;
    /* what the last workflow act, RATE or BOARD carried ("" / 0 when absent) */
    char act_team[GL_MAX_ID + 1], act_to[GL_MAX_ID + 1], act_into[GL_MAX_ID + 1],
        act_note[64], act_rating[16], act_terminal[GL_MAX_ID + 1], act_community[GL_MAX_ID + 1];
    uint64_t act_until_ms;
    int figures_minimal; /* STATUS: a broker map with one key, and no store map */
} fake;

#define LEASE_END 1800000000000ULL /* 2027-01-15T08:00:00.000Z */

static void fake_send(void *sock, const void *ident, size_t identlen, proto_msg *m)
{
    if (frame_send_msg(sock, ident, identlen, m, ZMQ_DONTWAIT) != 0)
        diag("fake broker could not send %s", proto_cmd_name(m->cmd));
}

static void fake_error(void *sock, const void *ident, size_t identlen, const proto_msg *m,
                       int err, const char *reason)
{
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_ERROR;
    r.rid = m->rid;
    r.code = (uint32_t)-err;
    r.reason = reason;
    fake_send(sock, ident, identlen, &r);
}

static gl_dispatch fake_dispatches[1] = {
    {.seq = 5, .event = "ev-5", .team = "grid-3", .role = "grid", .state = GL_DS_ACCEPTED,
     .member = "li", .attempts = 1, .created_ms = 1000, .updated_ms = 2000},
};
static gl_history fake_history[2] = {
    {.seq = 5, .no = 1, .at_ms = 1000, .who = "terminal:box-1", .what = "filed"},
    {.seq = 5, .no = 2, .at_ms = 2000, .who = "team:grid-3/li", .what = "accepted",
     .note = "on my way"},
};

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

static void pk_key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
}

/* A FIGURES reply as the broker makes it (broker/status.c, workers/report.c),
 * with a figure of each map that this CLI does not know yet; or, minimal, a
 * broker map with nothing but its uptime and no store map. */
static void fake_figures(fake *f, void *sock, const void *ident, size_t identlen, uint64_t rid)
{
    msgpack_sbuffer b, st;
    msgpack_packer pk;
    msgpack_sbuffer_init(&b);
    msgpack_sbuffer_init(&st);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    if (f->figures_minimal) {
        msgpack_pack_map(&pk, 1);
        kv_u64(&pk, "uptime_ms", 1500);
    } else {
        msgpack_pack_map(&pk, 7);
        kv_u64(&pk, "uptime_ms", 3723000);
        pk_key(&pk, "lanes");
        msgpack_pack_map(&pk, 2);
        pk_key(&pk, "alert");
        msgpack_pack_map(&pk, 6);
        kv_u64(&pk, "depth", 0);
        kv_u64(&pk, "bytes", 0);
        kv_u64(&pk, "oldest_ms", 0);
        kv_u64(&pk, "received", 12);
        kv_u64(&pk, "in_per_min", 4);
        kv_u64(&pk, "out_per_min", 4);
        pk_key(&pk, "routine");
        msgpack_pack_map(&pk, 7);
        kv_u64(&pk, "depth", 3);
        kv_u64(&pk, "bytes", 900);
        kv_u64(&pk, "oldest_ms", 1500);
        kv_u64(&pk, "received", 1234);
        kv_u64(&pk, "in_per_min", 40);
        kv_u64(&pk, "out_per_min", 38);
        kv_u64(&pk, "refused_per_min", 7);
        kv_u64(&pk, "in_flight", 2);
        pk_key(&pk, "workers");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_map(&pk, 4);
        kv_str(&pk, "name", "w1");
        kv_u64(&pk, "credit", 256);
        kv_u64(&pk, "in_flight", 2);
        kv_u64(&pk, "heard_ms_ago", 300);
        pk_key(&pk, "responders");
        msgpack_pack_map(&pk, 2);
        kv_u64(&pk, "connected", 3);
        pk_key(&pk, "teams");
        msgpack_pack_map(&pk, 2);
        kv_u64(&pk, "grid-3", 2);
        kv_u64(&pk, "county-coordinators", 1);
        pk_key(&pk, "counters");
        msgpack_pack_map(&pk, 4);
        kv_u64(&pk, "completed", 1234);
        kv_u64(&pk, "busy_replies", 5);
        kv_str(&pk, "store_reported_by", "w1");
        kv_u64(&pk, "store_report_age_ms", 400);
        pk_key(&pk, "future_figure");
        msgpack_pack_map(&pk, 1);
        kv_u64(&pk, "x", 1);

        msgpack_packer_init(&pk, &st, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 12);
        kv_u64(&pk, "events", 1234);
        kv_u64(&pk, "last_seq", 1240);
        kv_u64(&pk, "dispatches", 4000);
        kv_u64(&pk, "pending_dispatches", 12);
        kv_u64(&pk, "scheduled_resends", 10);
        kv_u64(&pk, "escalating_alerts", 1);
        kv_u64(&pk, "unanswered_alerts", 2);
        pk_key(&pk, "unanswered");
        msgpack_pack_array(&pk, 2);
        msgpack_pack_str_with_body(&pk, "ev-a", 4);
        msgpack_pack_str_with_body(&pk, "ev-b", 4);
        kv_u64(&pk, "map_size_bytes", 4294967296ULL);
        kv_u64(&pk, "map_used_bytes", 13107200);
        kv_u64(&pk, "reported_at_ms", 1699999999600ULL);
        kv_u64(&pk, "quarantined", 5);
    }
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.cmd = PROTO_FIGURES;
    r.rid = rid;
    r.at_ms = 1700000000000ULL;
    r.broker_figures = b.data;
    r.broker_figures_len = b.size;
    r.store_figures = st.size ? st.data : NULL;
    r.store_figures_len = st.size;
    fake_send(sock, ident, identlen, &r);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&st);
}

static gl_event fake_board[2] = {
    {.id = "wish-1", .seq = 11, .kind = GL_KIND_REQUEST, .category = "micro-wish",
     .community = "heping", .text = "a radio", .state = GL_EV_DISPATCHED, .created_ms = 1000},
    {.id = "wish-2", .seq = 12, .kind = GL_KIND_REQUEST, .category = "daily-help",
     .community = "heping", .grid = "heping-g1", .text = "carry coal\nupstairs",
     .state = GL_EV_DISPATCHED, .created_ms = 2000, .due_ms = 90000},
};

/* Replies as a broker with workers would, per command; f->mu is held. */
static void fake_answer(fake *f, void *sock, const void *ident, size_t identlen,
                        const proto_msg *m)
{
    proto_msg r;
    memset(&r, 0, sizeof r);
    r.rid = m->rid;
    switch (m->cmd) {
    case PROTO_SUBMIT:
        snprintf(f->last_id, sizeof f->last_id, "%s", m->ev.id);
        snprintf(f->last_contact, sizeof f->last_contact, "%s", m->ev.contact ? m->ev.contact : "");
        snprintf(f->last_urgency, sizeof f->last_urgency, "%s", m->ev.urgency ? m->ev.urgency : "");
        f->last_lat = m->ev.has_coords ? m->ev.lat : -1000;
        if (f->submit_mode == SUBMIT_BADFIELD) {
            fake_error(sock, ident, identlen, m, GL_EBADFIELD, "grid 'g-99' is not in the directory");
        } else if (f->submit_mode == SUBMIT_STORAGE) {
            fake_error(sock, ident, identlen, m, GL_ESTORAGE, "disk on fire");
        } else if (f->submit_mode == SUBMIT_BUSY) {
            r.cmd = PROTO_BUSY;
            r.retry_after_ms = 20;
            fake_send(sock, ident, identlen, &r);
        } else {
            r.cmd = PROTO_FILED;
            r.ev.id = m->ev.id;
            r.ev.seq = 7;
            r.ev.kind = m->ev.kind;
            r.ev.state = GL_EV_FILED;
            r.duplicate = f->submit_mode == SUBMIT_DUPLICATE;
            fake_send(sock, ident, identlen, &r);
        }
        break;
    case PROTO_PING:
        r.cmd = PROTO_PONG;
        fake_send(sock, ident, identlen, &r);
        break;
    case PROTO_UPDATE:
    case PROTO_CANCEL:
        snprintf(f->change_terminal, sizeof f->change_terminal, "%s",
                 m->ev.terminal ? m->ev.terminal : "");
        snprintf(f->change_text, sizeof f->change_text, "%s", m->ev.text ? m->ev.text : "");
        snprintf(f->change_severity, sizeof f->change_severity, "%s",
                 m->ev.severity ? m->ev.severity : "");
        snprintf(f->change_certainty, sizeof f->change_certainty, "%s",
                 m->ev.certainty ? m->ev.certainty : "");
        snprintf(f->change_note, sizeof f->change_note, "%s", m->note ? m->note : "");
        if (strcmp(m->ev.id, "ev-5") != 0) {
            fake_error(sock, ident, identlen, m, GL_ENOTFOUND, "no event with this id");
        } else if (m->ev.terminal && strcmp(m->ev.terminal, "box-1") != 0) {
            fake_error(sock, ident, identlen, m, GL_ENOTYOURS,
                       "the event was filed by another terminal");
        } else if (m->ev.text && strcmp(m->ev.text, "after the end") == 0) {
            fake_error(sock, ident, identlen, m, GL_EBADSTATE,
                       "the event is closed, cancelled or merged");
        } else if (m->ev.text && strcmp(m->ev.text, "too odd") == 0) {
            fake_error(sock, ident, identlen, m, GL_EBADFIELD, "field 'text' is odd");
        } else {
            r.cmd = PROTO_CHANGED;
            r.ev.id = m->ev.id;
            r.ev.seq = 5;
            r.ev.kind = GL_KIND_ALERT;
            r.ev.state = m->cmd == PROTO_CANCEL ? GL_EV_CANCELLED : GL_EV_DISPATCHED;
            fake_send(sock, ident, identlen, &r);
        }
        break;
    case PROTO_SHOW:
        if (strcmp(m->ev.id, "ev-6") == 0 || strcmp(m->ev.id, "ev-7") == 0) {
            /* alerts on a response plan: one escalating, one unanswered */
            int alarm = strcmp(m->ev.id, "ev-7") == 0;
            r.cmd = PROTO_EVENT;
            r.ev = (gl_event){.id = m->ev.id, .seq = 6, .kind = GL_KIND_ALERT,
                              .category = "fall", .grid = "heping-g1", .text = "call box",
                              .state = GL_EV_DISPATCHED, .created_ms = 1000,
                              .plan_step = alarm ? 3 : 2,
                              .escalate_at_ms = alarm ? 0 : 61000,
                              .alarm = alarm ? "unanswered" : NULL};
            fake_send(sock, ident, identlen, &r);
            break;
        }
        if (strcmp(m->ev.id, "ev-8") == 0) {
            /* a request with every workflow key set */
            r.cmd = PROTO_EVENT;
            r.ev = (gl_event){.id = "ev-8", .seq = 8, .kind = GL_KIND_REQUEST,
                              .category = "micro-wish", .community = "heping", .text = "radio",
                              .state = GL_EV_MERGED, .created_ms = 1000,
                              .sign_by_ms = 2000, .due_ms = 3000, .remind_at_ms = 2500,
                              .lease_until_ms = LEASE_END, .close_at_ms = 4000,
                              .extension_ms = 5000, .rating = "unsatisfied",
                              .duplicate_of = "ev-5", .alarm = "overdue"};
            fake_send(sock, ident, identlen, &r);
            break;
        }
        if (strcmp(m->ev.id, "ev-5") != 0) {
            fake_error(sock, ident, identlen, m, GL_ENOTFOUND, "no such event");
            break;
        }
        r.cmd = PROTO_EVENT;
        r.ev = (gl_event){.id = "ev-5", .seq = 5, .kind = GL_KIND_REQUEST, .category = "repair",
                          .grid = "grid-3", .text = "tap leaks", .contact = "138-0000-0000",
                          .state = GL_EV_ACCEPTED, .team = "grid-3", .created_ms = 1000};
        r.dispatches = fake_dispatches;
        r.ndispatches = 1;
        r.history = fake_history;
        r.nhistory = 2;
        fake_send(sock, ident, identlen, &r);
        break;
    case PROTO_ACK:
    case PROTO_ACCEPT:
    case PROTO_DECLINE:
    case PROTO_RESOLVE:
        if (strcmp(m->event, "ev-taken") == 0) {
            fake_error(sock, ident, identlen, m, GL_ETAKEN, "grid-4 accepted it first");
            break;
        }
        r.cmd = PROTO_RESULT;
        r.event = m->event;
        r.team = m->team;
        r.state = m->cmd == PROTO_ACK ? GL_DS_ACKED : GL_DS_ACCEPTED;
        r.event_state = m->cmd == PROTO_ACK ? GL_EV_DISPATCHED : GL_EV_ACCEPTED;
        fake_send(sock, ident, identlen, &r);
        break;
    case PROTO_CLAIM: case PROTO_RELEASE: case PROTO_RETURN: case PROTO_REDIRECT:
    case PROTO_CONFIRM: case PROTO_DISPUTE: case PROTO_EXTEND: case PROTO_APPROVE:
    case PROTO_MERGE:
        snprintf(f->act_team, sizeof f->act_team, "%s", m->team);
        snprintf(f->act_to, sizeof f->act_to, "%s", m->to ? m->to : "");
        snprintf(f->act_into, sizeof f->act_into, "%s", m->into ? m->into : "");
        snprintf(f->act_note, sizeof f->act_note, "%s", m->note ? m->note : "");
        f->act_until_ms = m->until_ms;
        if (strcmp(m->event, "ev-taken") == 0) {
            fake_error(sock, ident, identlen, m, GL_ETAKEN, "already claimed by another team");
            break;
        }
        if (m->to && strcmp(m->to, "ghost") == 0) {
            fake_error(sock, ident, identlen, m, GL_EBADFIELD, "unknown team 'ghost'");
            break;
        }
        if (m->into && strcmp(m->into, "ev-404") == 0) {
            fake_error(sock, ident, identlen, m, GL_ENOTFOUND,
                       "no event with the id given in 'into'");
            break;
        }
        r.cmd = PROTO_RESULT;
        r.event = m->event;
        r.team = m->team;
        r.state = m->cmd == PROTO_RETURN ? GL_DS_RETURNED
                  : m->cmd == PROTO_MERGE ? GL_DS_CANCELLED
                  : m->cmd == PROTO_REDIRECT ? GL_DS_RESOLVED
                  : m->cmd == PROTO_CLAIM ? GL_DS_ACCEPTED : GL_DS_ACKED;
        r.event_state = m->cmd == PROTO_MERGE ? GL_EV_MERGED
                        : m->cmd == PROTO_CLAIM ? GL_EV_ACCEPTED : GL_EV_DISPATCHED;
        r.until_ms = m->cmd == PROTO_CLAIM ? LEASE_END : 0;
        fake_send(sock, ident, identlen, &r);
        break;
    case PROTO_RATE:
        snprintf(f->act_rating, sizeof f->act_rating, "%s", m->ev.rating);
        snprintf(f->act_note, sizeof f->act_note, "%s", m->note ? m->note : "");
        snprintf(f->act_terminal, sizeof f->act_terminal, "%s",
                 m->ev.terminal ? m->ev.terminal : "");
        if (strcmp(m->ev.id, "ev-open") == 0) {
            fake_error(sock, ident, identlen, m, GL_EBADSTATE, "only a resolved event can be rated");
            break;
        }
        r.cmd = PROTO_CHANGED;
        r.ev.id = m->ev.id;
        r.ev.seq = 21;
        r.ev.kind = GL_KIND_REQUEST;
        r.ev.state = strcmp(m->ev.rating, "satisfied") == 0 ? GL_EV_CLOSED : GL_EV_DISPATCHED;
        fake_send(sock, ident, identlen, &r);
        break;
    case PROTO_TRACK:
        if (strcmp(m->ev.id, "ev-404") == 0) {
            fake_error(sock, ident, identlen, m, GL_ENOTFOUND, "no event with this id");
            break;
        }
        r.cmd = PROTO_TRACKING;
        if (strcmp(m->ev.id, "ev-dup") == 0)
            r.ev = (gl_event){.id = "ev-dup", .seq = 22, .kind = GL_KIND_REQUEST,
                              .category = "repair", .text = "leak", .state = GL_EV_RESOLVED,
                              .team = "heping-g1-team", .updated_ms = 7000,
                              .duplicate_of = "ev-21"};
        else
            r.ev = (gl_event){.id = m->ev.id, .seq = 21, .kind = GL_KIND_REQUEST,
                              .category = "repair", .text = "tap leaks", .address = "Bldg 3",
                              .state = GL_EV_ACCEPTED, .team = "heping-g1-team",
                              .created_ms = 1000, .due_ms = 172800000, .updated_ms = 5000};
        r.note = strcmp(m->ev.id, "ev-dup") == 0 ? NULL : "on my way";
        fake_send(sock, ident, identlen, &r);
        break;
    case PROTO_BOARD:
        snprintf(f->act_community, sizeof f->act_community, "%s", m->ev.community);
        r.cmd = PROTO_LISTING;
        if (strcmp(m->ev.community, "heping") == 0) {
            r.events = fake_board;
            r.nevents = 2;
        }
        fake_send(sock, ident, identlen, &r);
        break;
    case PROTO_STATUS:
        fake_figures(f, sock, ident, identlen, m->rid);
        break;
    case PROTO_HELLO:
        r.cmd = PROTO_WELCOME;
        r.team = m->team;
        r.member = m->member;
        r.heartbeat_ms = 100;
        fake_send(sock, ident, identlen, &r);
        memset(&r, 0, sizeof r);
        r.cmd = PROTO_DISPATCH;
        r.event = "ev-9";
        r.team = m->team;
        r.role = "grid";
        r.state = GL_DS_PENDING;
        r.attempts = 2;
        r.ev = (gl_event){.id = "ev-9", .seq = 9, .kind = GL_KIND_ALERT, .category = "fire",
                          .text = "smoke on floor 3", .state = GL_EV_DISPATCHED};
        fake_send(sock, ident, identlen, &r);
        break;
    case PROTO_HEARTBEAT:
        /* A heartbeat back, and (once per listener) a notice. */
        r.cmd = PROTO_HEARTBEAT;
        fake_send(sock, ident, identlen, &r);
        if (f->seen[PROTO_HEARTBEAT] == 1) {
            memset(&r, 0, sizeof r);
            r.cmd = PROTO_NOTICE;
            r.event = "ev-8";
            r.team = "grid-3";
            r.what = "taken";
            r.by = "grid-4";
            fake_send(sock, ident, identlen, &r);
            r.event = "ev-9";
            r.what = "escalated";
            r.by = NULL;
            r.note = "step 2: sq-2-team (no acknowledgement\nfrom sq-1-team within 1s)";
            fake_send(sock, ident, identlen, &r);
            r.what = "updated";
            r.by = "box-1";
            r.note = "worse; severity Extreme";
            fake_send(sock, ident, identlen, &r);
        }
        break;
    default:
        break;
    }
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
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 10) <= 0)
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
        if (proto_decode(fm.cmd, body, len, &m, &arena, NULL, 0) == 0) {
            pthread_mutex_lock(&f->mu);
            f->seen[fm.cmd]++;
            fake_answer(f, sock, ident, identlen, &m);
            pthread_mutex_unlock(&f->mu);
        }
        frame_close(&fm);
    }
    arena_free(&arena);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return NULL;
}

static void fake_mode(fake *f, int mode)
{
    pthread_mutex_lock(&f->mu);
    f->submit_mode = mode;
    memset(f->seen, 0, sizeof f->seen);
    pthread_mutex_unlock(&f->mu);
}

static int fake_seen(fake *f, int cmd)
{
    pthread_mutex_lock(&f->mu);
    int n = f->seen[cmd];
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* ---- running the CLI ---------------------------------------------------- */

static tl_env env;
static char out[65536];

/* run runs gridline with args (NULL-terminated), stdout only, into out. */
static int run(const char *const args[])
{
    const char *argv[64] = {"gridline"};
    int n = 1;
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tl_run(&env, "gridline", argv, out, sizeof out, 10000);
}

/* run_all runs gridline with args through sh, stdout and stderr into out. */
static int run_all(const char *const args[])
{
    return tl_cli(&env, args, 0, out, sizeof out, 10000);
}

static int has(const char *needle) { return strstr(out, needle) != NULL; }

/* ok_out is ok() that shows what the CLI printed when the check fails. */
#define ok_out(cond, ...)                                                      \
    do {                                                                       \
        if (!ok((cond), __VA_ARGS__))                                          \
            diag("output was: %s", out);                                       \
    } while (0)

static json_t *parse_line(const char *line)
{
    json_error_t jerr;
    json_t *j = json_loads(line, JSON_DECODE_ANY, &jerr);
    if (!j)
        diag("not JSON (%s): %s", jerr.text, line);
    return j;
}

static const char *jstr(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static long long jint(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* ---- cases -------------------------------------------------------------- */

static void case_help_and_bad_flags(void)
{
    is_int(run((const char *[]){"--help", NULL}), 0, "gridline --help exits 0");
    ok(has("push") && has("update ") && has("cancel ") && has("listen") && has("resolve") &&
           has("exit status") && has("  board ") && has("  claim ") && has("  release ") &&
           has("  return ") && has("  redirect ") && has("  confirm ") && has("  dispute ") &&
           has("  extend ") && has("  approve ") && has("  merge ") && has("  rate ") &&
           has("  track ") && has("  status ") && has("  top ") &&
           has("tcp://127.0.0.1:7401") && has("tcp://127.0.0.1:7402"),
       "--help lists the verbs, the endpoints' defaults and the exit statuses");
    static const char *const verbs[] = {"push", "update", "cancel", "show", "ping", "listen",
                                        "ack", "accept", "decline", "resolve", "claim",
                                        "release", "return", "redirect", "confirm", "dispute",
                                        "extend", "approve", "merge", "board", "rate", "track",
                                        "status", "top"};
    for (size_t i = 0; i < GL_ARRAY_LEN(verbs); i++) {
        is_int(run((const char *[]){verbs[i], "--help", NULL}), 0, "%s --help exits 0", verbs[i]);
        ok(has("--json") && has("--intake") && has("(default: 2500)") && has("exit status"),
           "%s --help lists every flag with its default and the exit statuses", verbs[i]);
    }
    run((const char *[]){"push", "--help", NULL});
    ok(has("--kind") && has("--terminal") && has("--lat") && has("--urgency") && has("--id") &&
           has("--retries") && has("  4  broker unreachable"), "push --help is complete");

    run((const char *[]){"update", "--help", NULL});
    ok(has("EVENT_ID") && has("--text") && has("--urgency") && has("--severity") &&
           has("--certainty") && has("--note") && has("--terminal") && has("not_yours (202)") &&
           has("bad_state (108)"), "update --help is complete, with its refusals");
    run((const char *[]){"cancel", "--help", NULL});
    ok(has("EVENT_ID") && has("--note") && has("--terminal") && has("not_found (200)") &&
           has("stops escalating"), "cancel --help is complete");

    run((const char *[]){"extend", "--help", NULL});
    ok(has("--until") && has("--note") && has("+2h") && has("2026-12-01T08:00:00Z") &&
           has("taken (201)"), "extend --help names --until, its forms and the refusals");
    run((const char *[]){"redirect", "--help", NULL});
    ok(has("--to") && !has("--into") && !has("--until"), "redirect --help has --to only");
    run((const char *[]){"merge", "--help", NULL});
    ok(has("--into") && !has("--to "), "merge --help has --into");
    run((const char *[]){"track", "--help", NULL});
    ok(has("service_request_id") && has("agency_responsible") && has("expected_datetime") &&
           has("status_notes") && has("duplicate_of"), "track --help lists the Open311 fields");
    run((const char *[]){"top", "--help", NULL});
    ok(has("--interval") && has("--count") && has("(default: 2000)"), "top --help");
    run((const char *[]){"board", "--help", NULL});
    ok(has("--community") && has("--responders"), "board --help");

    is_int(run_all((const char *[]){"push", "--bogus", NULL}), 2, "an unknown flag exits 2");
    ok_out(has("unknown option '--bogus'"), "with a clear message");
    is_int(run_all((const char *[]){"push", "--category", "fire", "--text", "x", "--grid", "g",
                                    NULL}), 2, "push without --kind exits 2");
    ok(has("--kind is required"), "saying --kind is required");
    is_int(run_all((const char *[]){"push", "--kind", "rumour", "--category", "x", "--text", "x",
                                    "--grid", "g", NULL}), 2, "an unknown kind exits 2");
    is_int(run_all((const char *[]){"push", "--kind", "alert", "--category", "fire", "--text",
                                    "x", NULL}), 2, "push without any location exits 2");
    ok(has("--terminal"), "and names the location flags");
    is_int(run_all((const char *[]){"push", "--kind", "alert", "--category", "fire", "--text",
                                    "x", "--grid", "g", "--lat", "91", "--lon", "0", NULL}),
           2, "a latitude out of range exits 2");
    is_int(run_all((const char *[]){"push", "--kind", "alert", "--category", "fire", "--text",
                                    "x", "--grid", "g", "--severity", "Awful", NULL}),
           2, "a bad CAP value exits 2");
    ok(has("Extreme|Severe"), "listing the CAP values");
    is_int(run_all((const char *[]){"push", "--kind", "alert", "--category", "fire", "--text",
                                    "x", "--grid", "g", "--timeout", "soon", NULL}),
           2, "a non-numeric --timeout exits 2");
    is_int(run_all((const char *[]){"decline", "--team", "grid-3", "--event", "ev-5", NULL}), 2,
           "decline without --note exits 2");
    ok(has("--note is required"), "saying the reason is required");
    is_int(run_all((const char *[]){"show", NULL}), 2, "show without an id exits 2");
    is_int(run_all((const char *[]){"launch", NULL}), 2, "an unknown verb exits 2");
    ok(has("unknown verb 'launch'"), "with a clear message");
    is_int(run_all((const char *[]){NULL}), 2, "no verb exits 2");
    is_int(run_all((const char *[]){"ping", "--intake", "not-an-endpoint", NULL}), 2,
           "a malformed endpoint exits 2");
}

static void case_unreachable(const char *nowhere)
{
    uint64_t t0 = clock_mono_ms();
    int rc = run_all((const char *[]){"push", "--intake", nowhere, "--kind", "alert",
                                      "--category", "fall", "--terminal", "box-1", "--text",
                                      "help", "--timeout", "100", "--retries", "2", NULL});
    uint64_t took = clock_mono_ms() - t0;
    is_int(rc, 4, "push where nothing listens exits 4");
    ok(took >= 290 && took < 3000, "after 3 tries of 100 ms (%llu ms)", (unsigned long long)took);
    ok_out(has("broker unreachable") && has("after 3 attempts"), "saying so");
    ok(has("--id "), "and telling how to retry with the same id");
    is_int(run_all((const char *[]){"ping", "--intake", nowhere, "--timeout", "100",
                                    "--retries", "0", NULL}), 4, "ping where nothing listens exits 4");
    is_int(run_all((const char *[]){"ack", "--responders", nowhere, "--team", "grid-3",
                                    "--event", "ev-5", "--timeout", "100", "--retries", "1", NULL}),
           4, "ack where nothing listens exits 4");
}

static void case_push(fake *f, const char *ep)
{
    fake_mode(f, SUBMIT_FILED);
    is_int(run((const char *[]){"push", "--intake", ep, "--kind", "alert", "--category", "fall",
                                "--terminal", "box-1", "--text", "one-button call", "--contact",
                                "Mrs Wang, 0951-1234567", "--lat", "38.5", "--lon", "106.3",
                                "--urgency", "immediate", NULL}),
           0, "push against a broker that files exits 0");
    char want[128];
    snprintf(want, sizeof want, "filed %s seq 7\n", f->last_id);
    ok_out(strlen(f->last_id) == IDS_LEN && strcmp(out, want) == 0, "prints 'filed ID seq N'");
    is_str(f->last_contact, "Mrs Wang, 0951-1234567", "the contact was sent");
    is_str(f->last_urgency, "Immediate", "the CAP value was sent in its canonical spelling");
    ok(f->last_lat > 38.49 && f->last_lat < 38.51, "the coordinates were sent");

    is_int(run((const char *[]){"push", "--intake", ep, "--kind", "request", "--category",
                                "repair", "--community", "heping", "--text", "tap leaks",
                                "--json", NULL}), 0, "push --json exits 0");
    json_t *j = parse_line(out);
    ok(j && json_is_object(j), "--json prints one JSON object");
    is_str(jstr(j, "id"), f->last_id, "with the id");
    is_int(jint(j, "seq"), 7, "the seq");
    is_str(jstr(j, "kind"), "request", "the kind");
    is_str(jstr(j, "state"), "filed", "the state");
    ok(json_is_false(json_object_get(j, "duplicate")), "duplicate false");
    ok(strchr(out, '\n') == out + strlen(out) - 1, "on one line");
    json_decref(j);

    fake_mode(f, SUBMIT_DUPLICATE);
    is_int(run((const char *[]){"push", "--intake", ep, "--kind", "request", "--category",
                                "repair", "--grid", "g-1", "--text", "tap", "--id",
                                "desk-3-000041", NULL}), 0, "a repeated push exits 0");
    is_str(out, "filed desk-3-000041 seq 7 (duplicate)\n", "and says it is a duplicate");
    is_str(f->last_id, "desk-3-000041", "the given --id was sent");

    /* The environment names the endpoint; a global flag may come first. */
    setenv("GRIDLINE_INTAKE", ep, 1);
    fake_mode(f, SUBMIT_FILED);
    is_int(run((const char *[]){"push", "--kind", "feedback", "--category", "elevator",
                                "--compound", "c-7", "--text", "stuck", NULL}), 0,
           "GRIDLINE_INTAKE is used when --intake is not given");
    unsetenv("GRIDLINE_INTAKE");
    is_int(run((const char *[]){"--intake", ep, "ping", NULL}), 0, "a global flag before the verb");
    ok(has("pong from"), "ping prints pong");

    fake_mode(f, SUBMIT_BADFIELD);
    is_int(run_all((const char *[]){"push", "--intake", ep, "--kind", "request", "--category",
                                    "repair", "--grid", "g-99", "--text", "x", NULL}),
           2, "a 1xx refusal exits 2");
    ok_out(has("bad_field") && has("grid 'g-99' is not in the directory"),
           "printing the code name and the reason");
    fake_mode(f, SUBMIT_BUSY);
    is_int(run_all((const char *[]){"push", "--intake", ep, "--kind", "request", "--category",
                                    "repair", "--grid", "g-1", "--text", "x", "--retries", "1",
                                    NULL}), 3, "busy after the retries exits 3");
    is_int(fake_seen(f, PROTO_SUBMIT), 2, "after one resend");
    fake_mode(f, SUBMIT_STORAGE);
    is_int(run_all((const char *[]){"push", "--intake", ep, "--kind", "request", "--category",
                                    "repair", "--grid", "g-1", "--text", "x", "--retries", "1",
                                    NULL}),
           5, "a storage error that lasts exits 5");
    is_int(fake_seen(f, PROTO_SUBMIT), 2, "after a resend (3xx errors are retried)");
    ok(has("storage_error"), "naming it");
}

static void case_show(const char *ep)
{
    is_int(run((const char *[]){"show", "ev-5", "--intake", ep, "--json", NULL}), 0,
           "show --json exits 0");
    ok(strchr(out, '\n') == out + strlen(out) - 1, "one line");
    json_t *j = parse_line(out);
    is_str(jstr(j, "id"), "ev-5", "the event's id");
    is_int(jint(j, "seq"), 5, "seq");
    is_str(jstr(j, "kind"), "request", "kind");
    is_str(jstr(j, "state"), "accepted", "state");
    is_str(jstr(j, "contact"), "138-0000-0000", "reporter contact");
    json_t *d = json_array_get(json_object_get(j, "dispatches"), 0);
    is_str(jstr(d, "event"), "ev-5", "dispatches[0].event");
    is_str(jstr(d, "team"), "grid-3", "dispatches[0].team");
    is_str(jstr(d, "state"), "accepted", "dispatches[0].state");
    json_t *h = json_array_get(json_object_get(j, "history"), 1);
    is_str(jstr(h, "at"), "1970-01-01T00:00:02.000Z", "history[1].at in UTC ISO-8601");
    is_str(jstr(h, "who"), "team:grid-3/li", "history[1].who");
    is_str(jstr(h, "what"), "accepted", "history[1].what");
    is_str(jstr(h, "note"), "on my way", "history[1].note");
    json_decref(j);

    is_int(run((const char *[]){"show", "--intake", ep, "ev-5", NULL}), 0, "show text exits 0");
    ok(has("ev-5") && has("contact    138-0000-0000") && has("1970-01-01T00:00:01.000Z") &&
           has("grid-3") && has("on my way"), "a readable block with contact and UTC times");
    ok(!has("plan step") && !has("escalates") && !has("alarm"),
       "no plan lines for an event without a plan");

    is_int(run((const char *[]){"show", "ev-6", "--intake", ep, NULL}), 0, "show of an escalating alert");
    ok_out(has("plan step  2\n") && has("escalates  1970-01-01T00:01:01.000Z\n") && !has("alarm"),
           "prints the plan step and when it escalates next (UTC)");
    is_int(run((const char *[]){"show", "ev-6", "--intake", ep, "--json", NULL}), 0, "show --json");
    j = parse_line(out);
    ok(jint(j, "plan_step") == 2 && jint(j, "escalate_at_ms") == 61000 &&
           jstr(j, "escalate_at") && strcmp(jstr(j, "escalate_at"), "1970-01-01T00:01:01.000Z") == 0 &&
           !json_object_get(j, "alarm"),
       "JSON: plan_step, escalate_at_ms and escalate_at (UTC)");
    json_decref(j);
    is_int(run((const char *[]){"show", "ev-7", "--intake", ep, NULL}), 0, "show of an unanswered alert");
    ok_out(has("plan step  3\n") && has("alarm      unanswered\n") && !has("escalates"),
           "prints the plan step and the alarm");
    is_int(run((const char *[]){"show", "ev-7", "--intake", ep, "--json", NULL}), 0, "show --json");
    j = parse_line(out);
    ok(jint(j, "plan_step") == 3 && jstr(j, "alarm") && strcmp(jstr(j, "alarm"), "unanswered") == 0 &&
           !json_object_get(j, "escalate_at_ms") && !json_object_get(j, "escalate_at"),
       "JSON: plan_step and alarm, no deadline");
    json_decref(j);

    is_int(run_all((const char *[]){"show", "ev-404", "--intake", ep, NULL}), 6,
           "show of an unknown event exits 6");
    ok(has("not_found"), "saying not_found");
}

static void case_change(fake *f, const char *ep)
{
    fake_mode(f, SUBMIT_FILED);
    is_int(run((const char *[]){"update", "ev-5", "--intake", ep, "--severity", "extreme",
                                "--text", "fire spreads", "--note", "worse", "--terminal",
                                "box-1", NULL}), 0, "update exits 0");
    is_str(out, "updated ev-5 seq 5 (alert): state dispatched\n", "prints the event's new state");
    ok(strcmp(f->change_severity, "Extreme") == 0 && strcmp(f->change_text, "fire spreads") == 0 &&
           strcmp(f->change_note, "worse") == 0 && strcmp(f->change_terminal, "box-1") == 0 &&
           f->change_certainty[0] == '\0',
       "it sent the canonical severity, the text, the note and the terminal");
    is_int(run((const char *[]){"update", "--intake", ep, "--certainty", "likely", "--json", "ev-5",
                                NULL}), 0, "update --json exits 0");
    json_t *j = parse_line(out);
    ok(j && strcmp(out + strlen(out) - 1, "\n") == 0 && strchr(out, '\n') == out + strlen(out) - 1,
       "one JSON line");
    is_str(jstr(j, "id"), "ev-5", "JSON id");
    is_int(jint(j, "seq"), 5, "JSON seq");
    is_str(jstr(j, "kind"), "alert", "JSON kind");
    is_str(jstr(j, "state"), "dispatched", "JSON state");
    ok(json_object_size(j) == 4, "and nothing else");
    json_decref(j);
    is_str(f->change_certainty, "Likely", "the certainty was sent");
    ok(f->change_text[0] == '\0' && f->change_severity[0] == '\0' && f->change_terminal[0] == '\0',
       "and nothing that was not given");

    fake_mode(f, SUBMIT_FILED);
    is_int(run_all((const char *[]){"update", "ev-5", "--intake", ep, "--note", "x", NULL}), 2,
           "update with nothing to change exits 2");
    ok_out(has("--text, --urgency, --severity or --certainty"), "saying what may change");
    is_int(run_all((const char *[]){"update", "ev-5", "--intake", ep, "--urgency", "soon", NULL}), 2,
           "a bad CAP value exits 2");
    ok(has("Immediate|Expected"), "listing the CAP values");
    is_int(run_all((const char *[]){"update", "--intake", ep, "--text", "x", NULL}), 2,
           "update without an event id exits 2");
    is_int(run_all((const char *[]){"cancel", "bad id", "--intake", ep, NULL}), 2,
           "cancel of a malformed id exits 2");
    is_int(fake_seen(f, PROTO_UPDATE) + fake_seen(f, PROTO_CANCEL), 0, "none of them was sent");
    is_int(run_all((const char *[]){"update", "ev-5", "--intake", ep, "--text", "too odd", NULL}),
           2, "a 1xx refusal of an update exits 2");
    ok_out(has("bad_field") && has("field 'text' is odd"), "with the code name and the reason");
    is_int(run_all((const char *[]){"update", "ev-5", "--intake", ep, "--text", "after the end",
                                    NULL}), 6, "update refused bad_state exits 6");
    ok_out(has("refused: bad_state (108): the event is closed, cancelled or merged"),
           "saying so");

    is_int(run((const char *[]){"cancel", "ev-5", "--intake", ep, "--note", "false alarm",
                                "--terminal", "box-1", NULL}), 0, "cancel exits 0");
    is_str(out, "cancelled ev-5 seq 5 (alert): state cancelled\n", "prints the cancelled state");
    ok(strcmp(f->change_note, "false alarm") == 0 && strcmp(f->change_terminal, "box-1") == 0,
       "it sent the note and the terminal");
    is_int(run((const char *[]){"cancel", "ev-5", "--intake", ep, "--json", NULL}), 0,
           "cancel --json exits 0");
    j = parse_line(out);
    is_str(jstr(j, "state"), "cancelled", "JSON: state cancelled");
    ok(jint(j, "seq") == 5 && jstr(j, "id") && strcmp(jstr(j, "id"), "ev-5") == 0,
       "JSON: id and seq");
    json_decref(j);
    is_int(run_all((const char *[]){"cancel", "ev-404", "--intake", ep, NULL}), 6,
           "cancel of an unknown event exits 6");
    ok_out(has("not_found"), "saying not_found");
    is_int(run_all((const char *[]){"cancel", "ev-5", "--intake", ep, "--terminal", "box-2", NULL}),
           6, "cancel from another terminal exits 6");
    ok_out(has("not_yours (202): the event was filed by another terminal"), "saying not_yours");
}

static void case_act(fake *f, const char *ep)
{
    fake_mode(f, SUBMIT_FILED);
    is_int(run((const char *[]){"accept", "--responders", ep, "--team", "grid-3", "--event",
                                "ev-5", "--member", "li", NULL}), 0, "accept exits 0");
    is_str(out, "accept ev-5 team grid-3: dispatch accepted, event accepted\n",
           "prints the dispatch and event states");
    is_int(run((const char *[]){"ack", "--responders", ep, "--team", "grid-3", "--event",
                                "ev-5", "--json", NULL}), 0, "ack --json exits 0");
    json_t *j = parse_line(out);
    is_str(jstr(j, "state"), "acked", "dispatch state in JSON");
    is_str(jstr(j, "event_state"), "dispatched", "event state in JSON");
    json_decref(j);
    is_int(run((const char *[]){"decline", "--responders", ep, "--team", "grid-3", "--event",
                                "ev-5", "--note", "no vehicle", NULL}), 0, "decline with a note");
    is_int(run_all((const char *[]){"accept", "--responders", ep, "--team", "grid-3", "--event",
                                    "ev-taken", NULL}), 6, "accept of a taken event exits 6");
    ok_out(has("taken") && has("grid-4 accepted it first"), "with the reason");
}

static void case_workflow(fake *f, const char *ep)
{
    fake_mode(f, SUBMIT_FILED);
    is_int(run((const char *[]){"claim", "--responders", ep, "--team", "sq-redvest", "--event",
                                "wish-1", "--member", "li", NULL}), 0, "claim exits 0");
    is_str(out, "claim wish-1 team sq-redvest: dispatch accepted, event accepted, lease until "
                "2027-01-15T08:00:00.000Z\n", "claim prints the lease end");
    is_int(run((const char *[]){"claim", "--responders", ep, "--team", "sq-redvest", "--event",
                                "wish-1", "--json", NULL}), 0, "claim --json exits 0");
    json_t *j = parse_line(out);
    is_str(jstr(j, "act"), "claim", "JSON act");
    is_str(jstr(j, "state"), "accepted", "JSON state");
    ok(jint(j, "until_ms") == (long long)LEASE_END && jstr(j, "until") &&
           strcmp(jstr(j, "until"), "2027-01-15T08:00:00.000Z") == 0,
       "JSON until_ms and until (UTC)");
    json_decref(j);
    is_int(run_all((const char *[]){"claim", "--responders", ep, "--team", "sq-party", "--event",
                                    "ev-taken", NULL}), 6, "a claim of a claimed request exits 6");
    ok_out(has("taken (201): already claimed by another team"), "saying taken");

    static const char *const plain[] = {"release", "confirm", "approve"};
    for (size_t i = 0; i < GL_ARRAY_LEN(plain); i++) {
        is_int(run((const char *[]){plain[i], "--responders", ep, "--team", "heping-office",
                                    "--event", "ev-5", "--note", "fine", NULL}), 0,
               "%s exits 0", plain[i]);
        ok_out(strncmp(out, plain[i], strlen(plain[i])) == 0 && has(": dispatch acked") &&
                   !has("lease until"), "%s prints its outcome", plain[i]);
        is_str(f->act_note, "fine", "with the note sent");
    }

    fake_mode(f, SUBMIT_FILED);
    is_int(run_all((const char *[]){"return", "--responders", ep, "--team", "g1", "--event",
                                    "ev-5", NULL}), 2, "return without --note exits 2");
    ok_out(has("--note is required"), "saying the reason is required");
    is_int(run_all((const char *[]){"dispute", "--responders", ep, "--team", "oc-1", "--event",
                                    "ev-5", NULL}), 2, "dispute without --note exits 2");
    is_int(run_all((const char *[]){"redirect", "--responders", ep, "--team", "county-triage",
                                    "--event", "ev-5", NULL}), 2, "redirect without --to exits 2");
    ok_out(has("--to is required"), "saying --to is required");
    is_int(run_all((const char *[]){"merge", "--responders", ep, "--team", "county-triage",
                                    "--event", "ev-5", NULL}), 2, "merge without --into exits 2");
    is_int(run_all((const char *[]){"merge", "--responders", ep, "--team", "county-triage",
                                    "--event", "ev-5", "--into", "not an id", NULL}), 2,
           "merge --into a malformed id exits 2");
    is_int(run_all((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event",
                                    "ev-5", "--note", "parts", NULL}), 2,
           "extend without --until exits 2");
    is_int(run_all((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event",
                                    "ev-5", "--until", "+2h", NULL}), 2,
           "extend without --note exits 2");
    static const char *const bad_until[] = {"tomorrow", "+2", "+0h", "+2y", "2h",
                                            "2030-12-01T08:00:00", "2030-13-01T08:00:00Z",
                                            "2030-02-30T08:00:00Z", "2030-12-01 08:00:00Z",
                                            "2030-12-01T24:00:00Z", "2030-12-01T08:00:00+08:00"};
    for (size_t i = 0; i < GL_ARRAY_LEN(bad_until); i++) {
        is_int(run_all((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event",
                                        "ev-5", "--note", "parts", "--until", bad_until[i],
                                        NULL}), 2, "--until '%s' exits 2", bad_until[i]);
        ok_out(has("--until must be"), "saying what --until takes");
    }
    is_int(run_all((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event",
                                    "ev-5", "--note", "parts", "--until", "2020-01-01T00:00:00Z",
                                    NULL}), 2, "an --until in the past exits 2");
    ok_out(has("in the future"), "saying it must be in the future");
    is_int(fake_seen(f, PROTO_RETURN) + fake_seen(f, PROTO_DISPUTE) + fake_seen(f, PROTO_REDIRECT) +
               fake_seen(f, PROTO_MERGE) + fake_seen(f, PROTO_EXTEND), 0,
           "none of them was sent");

    is_int(run((const char *[]){"return", "--responders", ep, "--team", "heping-g1-team",
                                "--event", "ev-5", "--note", "not our grid", NULL}), 0,
           "return with a reason exits 0");
    is_str(out, "return ev-5 team heping-g1-team: dispatch returned, event dispatched\n",
           "the dispatch is returned");
    is_str(f->act_note, "not our grid", "the reason was sent");
    is_int(run((const char *[]){"redirect", "--responders", ep, "--team", "county-triage",
                                "--event", "ev-5", "--to", "heping-g2-team", NULL}), 0,
           "redirect exits 0");
    is_str(out, "redirect ev-5 team county-triage to heping-g2-team: dispatch resolved, event "
                "dispatched\n", "redirect names the new team");
    is_str(f->act_to, "heping-g2-team", "'to' was sent");
    is_int(run_all((const char *[]){"redirect", "--responders", ep, "--team", "county-triage",
                                    "--event", "ev-5", "--to", "ghost", NULL}), 2,
           "redirect to an unknown team exits 2");
    ok_out(has("bad_field (105): unknown team 'ghost'"), "with the server's reason");
    is_int(run((const char *[]){"merge", "--responders", ep, "--team", "heping-office", "--event",
                                "ev-7", "--into", "ev-6", "--json", NULL}), 0, "merge --json");
    j = parse_line(out);
    ok(jstr(j, "into") && strcmp(jstr(j, "into"), "ev-6") == 0 && jstr(j, "event_state") &&
           strcmp(jstr(j, "event_state"), "merged") == 0, "JSON into and event_state merged");
    json_decref(j);
    is_str(f->act_into, "ev-6", "'into' was sent");
    is_int(run_all((const char *[]){"merge", "--responders", ep, "--team", "heping-office",
                                    "--event", "ev-7", "--into", "ev-404", NULL}), 6,
           "merge into an unknown event exits 6");

    /* --until: ISO-8601 UTC, or from now */
    is_int(run((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event", "ev-5",
                                "--note", "parts on order", "--until", "2030-12-01T08:00:00Z",
                                NULL}), 0, "extend --until ISO exits 0");
    ok(f->act_until_ms == 1922342400000ULL, "2030-12-01T08:00:00Z is sent as 1922342400000");
    is_str(out, "extend ev-5 team g1 asking until 2030-12-01T08:00:00.000Z: dispatch acked, "
                "event dispatched\n", "extend prints the time asked for");
    is_str(f->act_note, "parts on order", "and sent the reason");
    run((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event", "ev-5",
                         "--note", "x", "--until", "2030-12-01T08:00:00.250Z", NULL});
    ok(f->act_until_ms == 1922342400250ULL, "milliseconds are kept");
    run((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event", "ev-5",
                         "--note", "x", "--until", "2030-12-01T08:00+00:00", NULL});
    ok(f->act_until_ms == 1922342400000ULL, "seconds may be left out, +00:00 is UTC");
    run((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event", "ev-5",
                         "--note", "x", "--until", "2032-02-29T00:00:00Z", NULL});
    ok(f->act_until_ms == 1961625600000ULL, "a leap day");
    static const struct {
        const char *when;
        uint64_t ms;
    } rel[] = {{"+90m", 5400000}, {"+2h", 7200000}, {"+3d", 259200000}, {"+1w", 604800000}};
    for (size_t i = 0; i < GL_ARRAY_LEN(rel); i++) {
        uint64_t before = clock_wall_ms();
        int rc = run((const char *[]){"extend", "--responders", ep, "--team", "g1", "--event",
                                      "ev-5", "--note", "x", "--until", rel[i].when, "--json",
                                      NULL});
        uint64_t after = clock_wall_ms();
        is_int(rc, 0, "extend --until %s exits 0", rel[i].when);
        ok(f->act_until_ms >= before + rel[i].ms && f->act_until_ms <= after + rel[i].ms,
           "--until %s is now + %llu ms", rel[i].when, (unsigned long long)rel[i].ms);
        j = parse_line(out);
        ok(jint(j, "extension_ms") == (long long)f->act_until_ms && jstr(j, "extension"),
           "JSON extension_ms and extension");
        json_decref(j);
    }
}

static void case_followup(fake *f, const char *ep)
{
    fake_mode(f, SUBMIT_FILED);
    is_int(run((const char *[]){"rate", "ev-21", "satisfied", "--intake", ep, "--note",
                                "thank you", "--terminal", "box-1", NULL}), 0, "rate exits 0");
    is_str(out, "rated ev-21 seq 21 (request) satisfied: state closed\n", "prints the new state");
    ok(strcmp(f->act_rating, "satisfied") == 0 && strcmp(f->act_note, "thank you") == 0 &&
           strcmp(f->act_terminal, "box-1") == 0, "sent the rating, the note and the terminal");
    is_int(run((const char *[]){"rate", "--intake", ep, "--json", "ev-21", "unsatisfied", NULL}),
           0, "rate unsatisfied --json exits 0");
    json_t *j = parse_line(out);
    ok(jstr(j, "id") && strcmp(jstr(j, "id"), "ev-21") == 0 && jint(j, "seq") == 21 &&
           strcmp(jstr(j, "state"), "dispatched") == 0 &&
           strcmp(jstr(j, "rating"), "unsatisfied") == 0 && strcmp(jstr(j, "kind"), "request") == 0,
       "JSON id, seq, kind, state (reopened) and rating");
    json_decref(j);
    fake_mode(f, SUBMIT_FILED);
    is_int(run_all((const char *[]){"rate", "ev-21", "--intake", ep, NULL}), 2,
           "rate without a rating exits 2");
    ok_out(has("missing the rating"), "saying the rating is missing");
    is_int(run_all((const char *[]){"rate", "ev-21", "great", "--intake", ep, NULL}), 2,
           "a rating that is neither exits 2");
    ok_out(has("satisfied or unsatisfied"), "naming the two");
    is_int(fake_seen(f, PROTO_RATE), 0, "nothing was sent");
    is_int(run_all((const char *[]){"rate", "ev-open", "satisfied", "--intake", ep, NULL}), 6,
           "rating an unresolved event exits 6");
    ok_out(has("bad_state (108): only a resolved event can be rated"), "saying bad_state");

    is_int(run((const char *[]){"track", "ev-21", "--intake", ep, NULL}), 0, "track exits 0");
    ok_out(has("service_request_id  ev-21\n") && has("status              open (accepted)\n") &&
               has("agency_responsible  heping-g1-team\n") &&
               has("expected_datetime   1970-01-03T00:00:00.000Z\n") &&
               has("updated_datetime    1970-01-01T00:00:05.000Z\n") &&
               has("status_notes        on my way\n") && !has("duplicate_of"),
           "Open311-style lines");
    is_int(run((const char *[]){"track", "ev-21", "--intake", ep, "--json", NULL}), 0,
           "track --json exits 0");
    ok(strchr(out, '\n') == out + strlen(out) - 1, "one line");
    j = parse_line(out);
    is_str(jstr(j, "service_request_id"), "ev-21", "service_request_id");
    is_str(jstr(j, "status"), "open", "status open");
    is_str(jstr(j, "state"), "accepted", "the exact state");
    is_str(jstr(j, "agency_responsible"), "heping-g1-team", "agency_responsible");
    is_str(jstr(j, "expected_datetime"), "1970-01-03T00:00:00.000Z", "expected_datetime (due)");
    is_str(jstr(j, "updated_datetime"), "1970-01-01T00:00:05.000Z", "updated_datetime");
    is_str(jstr(j, "status_notes"), "on my way", "status_notes (latest note)");
    is_str(jstr(j, "service_code"), "repair", "service_code");
    is_str(jstr(j, "requested_datetime"), "1970-01-01T00:00:01.000Z", "requested_datetime");
    ok(!json_object_get(j, "duplicate_of") && !json_object_get(j, "contact"),
       "no duplicate_of, no contact");
    json_decref(j);
    is_int(run((const char *[]){"track", "ev-dup", "--intake", ep, "--json", NULL}), 0,
           "track of a duplicate");
    j = parse_line(out);
    is_str(jstr(j, "status"), "closed", "resolved is closed for Open311");
    is_str(jstr(j, "state"), "resolved", "with the exact state");
    is_str(jstr(j, "duplicate_of"), "ev-21", "duplicate_of");
    ok(json_is_null(json_object_get(j, "expected_datetime")) &&
           json_is_null(json_object_get(j, "status_notes")),
       "unknown Open311 values are null, the keys still there");
    json_decref(j);
    is_int(run((const char *[]){"track", "ev-dup", "--intake", ep, NULL}), 0, "track text");
    ok_out(has("status              closed (resolved)\n") && has("duplicate_of        ev-21\n") &&
               has("expected_datetime   -\n"), "a duplicate in text");
    is_int(run_all((const char *[]){"track", "ev-404", "--intake", ep, NULL}), 6,
           "track of an unknown event exits 6");

    is_int(run((const char *[]){"board", "--community", "heping", "--responders", ep, NULL}), 0,
           "board exits 0");
    ok_out(has("board heping: 2 open to claim\n") &&
               has("wish-1 seq 11 micro-wish since 1970-01-01T00:00:01.000Z: a radio\n") &&
               has("wish-2 seq 12 daily-help at heping-g1 since 1970-01-01T00:00:02.000Z due "
                   "1970-01-01T00:01:30.000Z: carry coal upstairs\n"),
           "one line per request, oldest first");
    is_str(f->act_community, "heping", "the community was sent");
    is_int(run((const char *[]){"board", "--community", "heping", "--responders", ep, "--json",
                                NULL}), 0, "board --json exits 0");
    char *second = strchr(out, '\n');
    ok(second && second[1] && strchr(second + 1, '\n') == out + strlen(out) - 1,
       "two lines, one per request");
    if (second)
        *second = '\0';
    j = parse_line(out);
    ok(jstr(j, "id") && strcmp(jstr(j, "id"), "wish-1") == 0 && jint(j, "seq") == 11 &&
           strcmp(jstr(j, "kind"), "request") == 0 && strcmp(jstr(j, "state"), "dispatched") == 0 &&
           strcmp(jstr(j, "category"), "micro-wish") == 0 && jstr(j, "created"),
       "each with id, seq, kind, state, category and created");
    json_decref(j);
    is_int(run((const char *[]){"board", "--community", "nowhere", "--responders", ep, NULL}), 0,
           "an empty board exits 0");
    is_str(out, "board nowhere: 0 open to claim\n", "and says so");
    is_int(run((const char *[]){"board", "--community", "heping", "--responders", ep, "--json",
                                "--community", "nowhere", NULL}), 0, "an empty board in JSON");
    is_str(out, "", "prints nothing");
    is_int(run_all((const char *[]){"board", "--responders", ep, NULL}), 2,
           "board without --community exits 2");
}

static void case_show_workflow(const char *ep)
{
    is_int(run((const char *[]){"show", "ev-8", "--intake", ep, NULL}), 0, "show ev-8");
    ok_out(has("sign by    1970-01-01T00:00:02.000Z\n") && has("due        1970-01-01T00:00:03.000Z\n") &&
               has("reminder   1970-01-01T00:00:02.500Z\n") &&
               has("lease      2027-01-15T08:00:00.000Z\n") &&
               has("extension  1970-01-01T00:00:05.000Z asked for, awaiting approval\n") &&
               has("closes     1970-01-01T00:00:04.000Z\n") && has("rating     unsatisfied\n") &&
               has("duplicate of ev-5\n") && has("alarm      overdue\n") && has("merged"),
           "show prints the time limits, lease, extension, rating and duplicate");
    is_int(run((const char *[]){"show", "ev-8", "--intake", ep, "--json", NULL}), 0,
           "show ev-8 --json");
    json_t *j = parse_line(out);
    ok(jint(j, "due_ms") == 3000 && jstr(j, "due") &&
           strcmp(jstr(j, "due"), "1970-01-01T00:00:03.000Z") == 0 && jstr(j, "sign_by") &&
           jstr(j, "remind_at") && jstr(j, "close_at") && jstr(j, "extension") &&
           jint(j, "lease_until_ms") == (long long)LEASE_END &&
           strcmp(jstr(j, "lease_until"), "2027-01-15T08:00:00.000Z") == 0 &&
           strcmp(jstr(j, "rating"), "unsatisfied") == 0 &&
           strcmp(jstr(j, "duplicate_of"), "ev-5") == 0,
       "JSON: the wire keys and their UTC companions");
    json_decref(j);
    is_int(run((const char *[]){"show", "ev-5", "--intake", ep, NULL}), 0, "show ev-5");
    ok(!has("due ") && !has("lease") && !has("rating") && !has("duplicate"),
       "no workflow lines for an event without them");
}

static void case_status(fake *f, const char *ep)
{
    fake_mode(f, SUBMIT_FILED);
    is_int(run((const char *[]){"status", "--intake", ep, NULL}), 0, "status exits 0");
    ok_out(has("gridline status at 2023-11-14T22:13:20.000Z, broker up 1h 02m\n"),
           "when, and the broker's uptime");
    ok_out(has("  alert            0         -        4        4         12\n") &&
               has("  routine          3     1.5 s       40       38       1234\n"),
           "lanes: depth, oldest, in and out per minute, received");
    ok_out(has("refused_per_min 7"), "a lane figure it does not know is shown too");
    ok_out(has("jobs in flight at workers: 2\n"), "jobs in flight");
    ok_out(has("workers (1)\n") && has("  w1                           256          2  300 ms ago\n"),
           "workers: name, credit, in flight, last heard");
    ok_out(has("responders: 3 connected, 2 teams\n") && has("  county-coordinators 1   grid-3 2\n"),
           "responders per team, by name");
    ok_out(has("store (reported by w1, 400 ms ago)\n") && has("  events               1234 (last seq 1240)\n") &&
               has("  pending dispatches   12\n") && has("  scheduled resends    10\n") &&
               has("  escalating alerts    1\n") && has("  UNANSWERED ALERTS    2: ev-a ev-b\n") &&
               has("  map                  12.5 MiB used of 4.0 GiB (0.3%)\n"),
           "the store's figures, with the unanswered alerts' ids");
    ok_out(has("quarantined 5"), "a store figure it does not know is shown too");
    ok_out(has("counters\n  completed 1234   busy_replies 5\n") && !has("store_report_age_ms"),
           "the counters");
    ok_out(has("other broker figures\n  future_figure {\"x\":1}\n"),
           "and an unknown broker figure, as JSON");

    is_int(run((const char *[]){"status", "--intake", ep, "--json", NULL}), 0,
           "status --json exits 0");
    ok(strchr(out, '\n') == out + strlen(out) - 1, "one line");
    json_t *j = parse_line(out);
    is_str(jstr(j, "at"), "2023-11-14T22:13:20.000Z", "at (UTC)");
    json_t *broker = json_object_get(j, "broker"), *store = json_object_get(j, "store");
    json_t *routine = json_object_get(json_object_get(broker, "lanes"), "routine");
    is_int(jint(routine, "depth"), 3, "broker.lanes.routine.depth");
    is_int(jint(json_object_get(json_object_get(broker, "responders"), "teams"), "grid-3"), 2,
           "broker.responders.teams.grid-3");
    is_str(jstr(json_array_get(json_object_get(broker, "workers"), 0), "name"), "w1",
           "broker.workers[0].name");
    is_int(jint(json_object_get(broker, "future_figure"), "x"), 1, "unknown figures pass through");
    is_int(jint(store, "events"), 1234, "store.events");
    is_int(json_array_size(json_object_get(store, "unanswered")), 2, "store.unanswered");
    is_int(jint(store, "quarantined"), 5, "store.quarantined");
    json_decref(j);

    pthread_mutex_lock(&f->mu);
    f->figures_minimal = 1;
    pthread_mutex_unlock(&f->mu);
    is_int(run((const char *[]){"status", "--intake", ep, NULL}), 0,
           "status of a broker that says almost nothing exits 0");
    ok_out(has("broker up 1.5 s") && has("lanes ") && has("workers -\n") &&
               has("responders: - connected\n") && has("store: no worker has reported yet\n"),
           "missing figures are shown as missing");
    is_int(run((const char *[]){"status", "--intake", ep, "--json", NULL}), 0, "and in JSON");
    j = parse_line(out);
    ok(json_is_null(json_object_get(j, "store")) &&
           jint(json_object_get(j, "broker"), "uptime_ms") == 1500,
       "store is null, broker has what it had");
    json_decref(j);
    pthread_mutex_lock(&f->mu);
    f->figures_minimal = 0;
    pthread_mutex_unlock(&f->mu);

    fake_mode(f, SUBMIT_FILED);
    uint64_t t0 = clock_mono_ms();
    is_int(run((const char *[]){"top", "--intake", ep, "--interval", "200", "--count", "3", NULL}),
           0, "top --count 3 exits 0");
    uint64_t took = clock_mono_ms() - t0;
    ok(took >= 400 && took < 5000, "after two intervals (%llu ms)", (unsigned long long)took);
    int clears = 0;
    for (const char *p = out; (p = strstr(p, "\033[H\033[2J")) != NULL; p++)
        clears++;
    is_int(clears, 3, "the screen was cleared three times");
    is_int(fake_seen(f, PROTO_STATUS), 3, "and STATUS asked three times");
    ok_out(has("UNANSWERED ALERTS    2: ev-a ev-b"), "showing the figures");
    is_int(run_all((const char *[]){"top", "--intake", ep, "--interval", "5", NULL}), 2,
           "an --interval below 100 ms exits 2");

    const char *const argv[] = {"gridline", "top", "--intake", ep, "--interval", "100", NULL};
    pid_t pid = tl_spawn(&env, "gridline", argv);
    tl_sleep_ms(400);
    int status = tl_stop(pid);
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "top exits 0 on SIGTERM");
}

static void case_listen(fake *f, const char *ep, const char *nowhere)
{
    fake_mode(f, SUBMIT_FILED);
    uint64_t t0 = clock_mono_ms();
    is_int(run((const char *[]){"listen", "--responders", ep, "--team", "grid-3", "--member",
                                "li", "--count", "1", "--json", "--for", "5", NULL}), 0,
           "listen --count 1 exits 0");
    ok(clock_mono_ms() - t0 < 3000, "as soon as the dispatch came");
    json_t *j = parse_line(out);
    is_str(jstr(j, "event"), "ev-9", "dispatch event");
    is_str(jstr(j, "team"), "grid-3", "dispatch team");
    is_str(jstr(j, "state"), "pending", "dispatch state");
    is_int(jint(j, "seq"), 9, "dispatch seq");
    is_str(jstr(j, "role"), "grid", "dispatch role");
    is_int(jint(j, "attempts"), 2, "dispatch attempts");
    is_str(jstr(json_object_get(j, "detail"), "text"), "smoke on floor 3", "the event as detail");
    json_decref(j);

    fake_mode(f, SUBMIT_FILED);
    t0 = clock_mono_ms();
    is_int(run((const char *[]){"listen", "--responders", ep, "--team", "grid-3", "--ack",
                                "--for", "1", NULL}), 0, "listen --ack --for 1 exits 0");
    uint64_t took = clock_mono_ms() - t0;
    ok(took >= 900 && took < 3000, "after about a second (%llu ms)", (unsigned long long)took);
    ok_out(has("dispatch ev-9 seq 9 team grid-3 role grid state pending"), "prints the dispatch");
    ok(has("notice ev-8 team grid-3: taken by grid-4\n"), "and the notice");
    ok_out(has("notice ev-9 team grid-3: escalated: step 2: sq-2-team (no acknowledgement from "
               "sq-1-team within 1s)\n"), "a notice's note, on the same line");
    ok(has("notice ev-9 team grid-3: updated by box-1: worse; severity Extreme\n"),
       "what, by and note of an update");
    is_int(fake_seen(f, PROTO_ACK), 1, "--ack acknowledged the dispatch");
    ok(fake_seen(f, PROTO_HEARTBEAT) >= 5, "heartbeats were sent (%d)", fake_seen(f, PROTO_HEARTBEAT));

    const char *const argv[] = {"gridline", "listen", "--responders", ep, "--team", "grid-3",
                                NULL};
    pid_t pid = tl_spawn(&env, "gridline", argv);
    tl_sleep_ms(300);
    int status = tl_stop(pid);
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "listen exits 0 on SIGTERM");

    const char *const argv2[] = {"gridline", "listen", "--responders", nowhere, "--team",
                                 "grid-3", NULL};
    pid = tl_spawn(&env, "gridline", argv2);
    tl_sleep_ms(200);
    uint64_t t1 = clock_mono_ms();
    status = tl_stop(pid);
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
           clock_mono_ms() - t1 < 1000,
       "listen still saying HELLO to nobody exits 0 at once on SIGTERM");
}

int main(void)
{
    tl_setup(&env, "cli");
    char nowhere[400];
    snprintf(nowhere, sizeof nowhere, "ipc://%s/nobody.sock", env.dir);
    unsetenv("GRIDLINE_INTAKE");
    unsetenv("GRIDLINE_RESPONDERS");
    static fake f;
    snprintf(f.endpoint, sizeof f.endpoint, "%s", env.intake);
    pthread_mutex_init(&f.mu, NULL);
    pthread_create(&f.thread, NULL, fake_main, &f);
    tl_sleep_ms(20);

    case_help_and_bad_flags();
    case_unreachable(nowhere);
    case_push(&f, env.intake);
    case_show(env.intake);
    case_change(&f, env.intake);
    case_act(&f, env.intake);
    case_workflow(&f, env.intake);
    case_followup(&f, env.intake);
    case_show_workflow(env.intake);
    case_status(&f, env.intake);
    case_listen(&f, env.intake, nowhere);

    pthread_mutex_lock(&f.mu);
    f.stop = 1;
    pthread_mutex_unlock(&f.mu);
    pthread_join(f.thread, NULL);
    return done_testing();
}
