/* codec_table.c — the command names and the body tables of every command:
 * the protocol's field lists as data (see codec_table.h). */
#include "codec_table.h"
#include "proto.h"

#include <pthread.h>
#include <string.h>

#define REQ CF_REQUIRED
#define ID_ (CF_REQUIRED | CF_ID)

/* A row's key is a string literal ("" k refuses anything else), so its
 * length is known when compiling. */
#define ROW(T, k, ty, mem, fl, mx)                                             \
    {.key = "" k, .klen = sizeof(k) - 1,                                       \
     .type = (ty), .flags = (fl), .max = (mx),                                 \
     .off = offsetof(T, mem), .size = sizeof(((T *)0)->mem)}
#define ROW_AUX(T, k, ty, mem, aux_mem, fl, mx)                                \
    {.key = "" k, .klen = sizeof(k) - 1,                                       \
     .type = (ty), .flags = (fl), .max = (mx),                                 \
     .off = offsetof(T, mem), .size = sizeof(((T *)0)->mem),                   \
     .aux = offsetof(T, aux_mem)}
#define ROW_ONE_OF(T, k, mem, fl, list)                                        \
    {.key = "" k, .klen = sizeof(k) - 1, .type = CT_STR, .flags = (fl),        \
     .max = GL_MAX_SHORT, .off = offsetof(T, mem),                             \
     .size = sizeof(((T *)0)->mem), .values = (list)}

/* CAP 1.2 (OASIS Common Alerting Protocol) value lists, and the envelope's. */
static const char *const cap_urgency[] = {"Immediate", "Expected", "Future", "Past",
                                          "Unknown", NULL};
static const char *const cap_severity[] = {"Extreme", "Severe", "Moderate", "Minor",
                                           "Unknown", NULL};
static const char *const cap_certainty[] = {"Observed", "Likely", "Possible", "Unlikely",
                                            "Unknown", NULL};
static const char *const origins[] = {"intake", "responders", NULL};
static const char *const lanes[] = {"alert", "routine", NULL};
/* READY "lanes": which lanes a worker takes (absent: both). */
static const char *const worker_lanes[] = {"all", "alert", "routine", NULL};
static const char *const ratings[] = {"satisfied", "unsatisfied", NULL};

/* The event fields a terminal submits, shared by SUBMIT (T = proto_msg,
 * pre = ev.) and the event record map (T = gl_event, pre empty) so the two
 * cannot disagree on a limit. req: flags of category and text. */
#define EVENT_SUBMITTED(T, pre, req)                                           \
    ROW(T, "id", CT_STR, pre id, ID_, GL_MAX_ID),                              \
    ROW(T, "kind", CT_KIND, pre kind, REQ, 0),                                 \
    ROW(T, "category", CT_STR, pre category, req, GL_MAX_ID),                  \
    ROW(T, "text", CT_STR, pre text, req, GL_MAX_TEXT),                        \
    ROW(T, "community", CT_STR, pre community, 0, GL_MAX_ID),                  \
    ROW(T, "compound", CT_STR, pre compound, 0, GL_MAX_ID),                    \
    ROW(T, "grid", CT_STR, pre grid, 0, GL_MAX_ID),                            \
    ROW(T, "terminal", CT_STR, pre terminal, 0, GL_MAX_ID),                    \
    ROW(T, "address", CT_STR, pre address, 0, GL_MAX_SHORT),                   \
    ROW_AUX(T, "lat", CT_COORD, pre lat, pre has_coords, 0, 90),               \
    ROW_AUX(T, "lon", CT_COORD, pre lon, pre has_coords, 0, 180),              \
    ROW(T, "contact", CT_STR, pre contact, 0, GL_MAX_SHORT),                   \
    ROW_ONE_OF(T, "urgency", pre urgency, 0, cap_urgency),                     \
    ROW_ONE_OF(T, "severity", pre severity, 0, cap_severity),                  \
    ROW_ONE_OF(T, "certainty", pre certainty, 0, cap_certainty)

/* Record maps. */
static const codec_field event_fields[] = {
    EVENT_SUBMITTED(gl_event, , 0),
    ROW(gl_event, "seq", CT_UINT, seq, 0, 0),
    ROW(gl_event, "state", CT_EVSTATE, state, REQ, 0),
    ROW(gl_event, "team", CT_STR, team, 0, GL_MAX_ID),
    ROW(gl_event, "created_ms", CT_UINT, created_ms, 0, 0),
    ROW(gl_event, "updated_ms", CT_UINT, updated_ms, 0, 0),
    ROW(gl_event, "plan_step", CT_UINT, plan_step, 0, 0),
    ROW(gl_event, "escalate_at_ms", CT_UINT, escalate_at_ms, 0, 0),
    ROW(gl_event, "alarm", CT_STR, alarm, 0, GL_MAX_SHORT),
    ROW(gl_event, "sign_by_ms", CT_UINT, sign_by_ms, 0, 0),
    ROW(gl_event, "due_ms", CT_UINT, due_ms, 0, 0),
    ROW(gl_event, "remind_at_ms", CT_UINT, remind_at_ms, 0, 0),
    ROW(gl_event, "lease_until_ms", CT_UINT, lease_until_ms, 0, 0),
    ROW(gl_event, "close_at_ms", CT_UINT, close_at_ms, 0, 0),
    ROW(gl_event, "extension_ms", CT_UINT, extension_ms, 0, 0),
    ROW_ONE_OF(gl_event, "rating", rating, 0, ratings),
    ROW(gl_event, "duplicate_of", CT_STR, duplicate_of, CF_ID, GL_MAX_ID),
};

static const codec_field dispatch_fields[] = {
    ROW(gl_dispatch, "event", CT_STR, event, ID_, GL_MAX_ID),
    ROW(gl_dispatch, "seq", CT_UINT, seq, 0, 0),
    ROW(gl_dispatch, "team", CT_STR, team, REQ, GL_MAX_ID),
    ROW(gl_dispatch, "role", CT_STR, role, 0, GL_MAX_SHORT),
    ROW(gl_dispatch, "state", CT_DSSTATE, state, REQ, 0),
    ROW(gl_dispatch, "member", CT_STR, member, 0, GL_MAX_ID),
    ROW(gl_dispatch, "note", CT_STR, note, 0, GL_MAX_TEXT),
    ROW(gl_dispatch, "attempts", CT_UINT, attempts, 0, 0),
    ROW(gl_dispatch, "created_ms", CT_UINT, created_ms, 0, 0),
    ROW(gl_dispatch, "updated_ms", CT_UINT, updated_ms, 0, 0),
    ROW(gl_dispatch, "next_retry_ms", CT_UINT, next_retry_ms, 0, 0),
};

static const codec_field history_fields[] = {
    ROW(gl_history, "seq", CT_UINT, seq, 0, 0),
    ROW(gl_history, "no", CT_UINT, no, REQ, 0),
    ROW(gl_history, "at_ms", CT_UINT, at_ms, 0, 0),
    ROW(gl_history, "who", CT_STR, who, 0, GL_MAX_SHORT),
    ROW(gl_history, "what", CT_STR, what, REQ, GL_MAX_SHORT),
    ROW(gl_history, "note", CT_STR, note, 0, GL_MAX_TEXT),
};

#define TABLE(rows) {(rows), GL_ARRAY_LEN(rows)}
const codec_table codec_event_table = TABLE(event_fields);
const codec_table codec_dispatch_table = TABLE(dispatch_fields);
const codec_table codec_history_table = TABLE(history_fields);
_Static_assert(GL_ARRAY_LEN(event_fields) <= 64, "seen-mask holds 64 rows");

/* Command bodies. Every body may carry rid, listed first. */
#define P(k, ty, mem, fl, mx) ROW(proto_msg, k, ty, mem, fl, mx)
#define RID P("rid", CT_UINT, rid, 0, 0)

static const codec_field submit_fields[] = {RID, EVENT_SUBMITTED(proto_msg, ev., REQ)};
static const codec_field filed_fields[] = {
    RID,
    P("id", CT_STR, ev.id, ID_, GL_MAX_ID),
    P("seq", CT_UINT, ev.seq, REQ, 0),
    P("kind", CT_KIND, ev.kind, REQ, 0),
    P("state", CT_EVSTATE, ev.state, REQ, 0),
    P("duplicate", CT_BOOL, duplicate, 0, 0),
};
static const codec_field busy_fields[] = {
    RID,
    P("retry_after_ms", CT_UINT, retry_after_ms, REQ, 0),
    P("id", CT_STR, ev.id, CF_ID, GL_MAX_ID),
};
static const codec_field error_fields[] = {
    RID,
    P("code", CT_UINT, code, REQ, 0),
    P("reason", CT_STR, reason, REQ, GL_MAX_TEXT),
    P("name", CT_ERRNAME, code, 0, GL_MAX_SHORT),
    P("id", CT_STR, ev.id, CF_ID, GL_MAX_ID),
};
static const codec_field show_fields[] = {RID, P("id", CT_STR, ev.id, ID_, GL_MAX_ID)};
static const codec_field event_reply_fields[] = {
    RID,
    P("event", CT_EVENT, ev, REQ, 0),
    ROW_AUX(proto_msg, "dispatches", CT_DISPATCHES, dispatches, ndispatches, REQ, 1000),
    ROW_AUX(proto_msg, "history", CT_HISTORY, history, nhistory, REQ, 1000),
};
static const codec_field empty_fields[] = {RID};
/* HEARTBEAT: a worker's watchdog names its process (see workers/watchdog.c) */
static const codec_field heartbeat_fields[] = {
    RID,
    P("pid", CT_UINT, pid, 0, 0),
    P("host", CT_STR, host, 0, GL_MAX_SHORT),
};
static const codec_field hello_fields[] = {
    RID,
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("member", CT_STR, member, REQ, GL_MAX_ID),
};
static const codec_field welcome_fields[] = {
    RID,
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("member", CT_STR, member, REQ, GL_MAX_ID),
    P("heartbeat_ms", CT_UINT, heartbeat_ms, REQ, 0),
};
/* ACK, ACCEPT, RESOLVE */
static const codec_field act_fields[] = {
    RID,
    P("event", CT_STR, event, ID_, GL_MAX_ID),
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("member", CT_STR, member, 0, GL_MAX_ID),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
};
static const codec_field decline_fields[] = {
    RID,
    P("event", CT_STR, event, ID_, GL_MAX_ID),
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("member", CT_STR, member, 0, GL_MAX_ID),
    P("note", CT_STR, note, REQ, GL_MAX_TEXT),
};
static const codec_field result_fields[] = {
    RID,
    P("event", CT_STR, event, ID_, GL_MAX_ID),
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("state", CT_DSSTATE, state, REQ, 0),
    P("event_state", CT_EVSTATE, event_state, REQ, 0),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
    P("until_ms", CT_UINT, until_ms, 0, 0),
};
/* CLAIM, RELEASE, CONFIRM: like ACK; RETURN, DISPUTE: a reason is required */
static const codec_field redirect_fields[] = {
    RID,
    P("event", CT_STR, event, ID_, GL_MAX_ID),
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("to", CT_STR, to, REQ, GL_MAX_ID),
    P("member", CT_STR, member, 0, GL_MAX_ID),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
};
static const codec_field merge_fields[] = {
    RID,
    P("event", CT_STR, event, ID_, GL_MAX_ID),
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("into", CT_STR, into, ID_, GL_MAX_ID),
    P("member", CT_STR, member, 0, GL_MAX_ID),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
};
static const codec_field extend_fields[] = {
    RID,
    P("event", CT_STR, event, ID_, GL_MAX_ID),
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("until_ms", CT_UINT, until_ms, REQ, 0),
    P("member", CT_STR, member, 0, GL_MAX_ID),
    P("note", CT_STR, note, REQ, GL_MAX_TEXT),
};
static const codec_field board_fields[] = {
    RID,
    P("community", CT_STR, ev.community, REQ, GL_MAX_ID),
};
static const codec_field listing_fields[] = {
    RID,
    ROW_AUX(proto_msg, "events", CT_EVENTS, events, nevents, REQ, 1000),
    /* issue 5: LIST's and REQUEUE's additions */
    ROW_AUX(proto_msg, "dispatches", CT_DISPATCHES, dispatches, ndispatches, 0, 1000),
    ROW_AUX(proto_msg, "history", CT_HISTORY, history, nhistory, 0, 1000),
    P("next", CT_STR, next, 0, GL_MAX_SHORT),
};
static const codec_field rate_fields[] = {
    RID,
    P("id", CT_STR, ev.id, ID_, GL_MAX_ID),
    P("terminal", CT_STR, ev.terminal, 0, GL_MAX_ID),
    ROW_ONE_OF(proto_msg, "rating", ev.rating, REQ, ratings),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
};
static const codec_field tracking_fields[] = {
    RID,
    P("event", CT_EVENT, ev, REQ, 0),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
};
static const codec_field dispatch_msg_fields[] = {
    RID,
    P("event", CT_STR, event, ID_, GL_MAX_ID),
    P("seq", CT_UINT, ev.seq, REQ, 0),
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("role", CT_STR, role, REQ, GL_MAX_SHORT),
    P("state", CT_DSSTATE, state, REQ, 0),
    P("attempts", CT_UINT, attempts, 0, 0),
    P("detail", CT_EVENT, ev, 0, 0),
};
static const codec_field notice_fields[] = {
    RID,
    P("event", CT_STR, event, ID_, GL_MAX_ID),
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("what", CT_STR, what, REQ, GL_MAX_SHORT),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
    P("by", CT_STR, by, 0, GL_MAX_SHORT),
};
static const codec_field ready_fields[] = {
    RID,
    P("worker", CT_STR, worker, REQ, GL_MAX_ID),
    P("credit", CT_UINT, credit, REQ, 0),
    P("pid", CT_UINT, pid, 0, 0),
    P("host", CT_STR, host, 0, GL_MAX_SHORT),
    ROW_ONE_OF(proto_msg, "lanes", lane, 0, worker_lanes),
    P("pack", CT_BOOL, pack, 0, 0),
};
static const codec_field presence_fields[] = {
    RID,
    P("team", CT_STR, team, REQ, GL_MAX_ID),
    P("member", CT_STR, member, 0, GL_MAX_ID),
};
static const codec_field job_fields[] = {
    RID,
    P("job", CT_UINT, job, REQ, 0),
    ROW_AUX(proto_msg, "client", CT_BIN, client, client_len, REQ, 255),
    ROW_ONE_OF(proto_msg, "origin", origin, REQ, origins),
    ROW_ONE_OF(proto_msg, "lane", lane, 0, lanes),
    P("role", CT_STR, role, 0, GL_MAX_SHORT),
    P("scope", CT_STR, scope, 0, GL_MAX_ID),
};
static const codec_field done_fields[] = {
    RID,
    P("job", CT_UINT, job, REQ, 0),
    ROW_AUX(proto_msg, "client", CT_BIN, client, client_len, REQ, 255),
    ROW_ONE_OF(proto_msg, "origin", origin, REQ, origins),
};
static const codec_field deliver_fields[] = {RID, P("team", CT_STR, team, REQ, GL_MAX_ID)};
/* UPDATE, CANCEL: the terminal changes or withdraws an event it filed. */
static const codec_field update_fields[] = {
    RID,
    P("id", CT_STR, ev.id, ID_, GL_MAX_ID),
    P("terminal", CT_STR, ev.terminal, 0, GL_MAX_ID),
    P("text", CT_STR, ev.text, 0, GL_MAX_TEXT),
    ROW_ONE_OF(proto_msg, "urgency", ev.urgency, 0, cap_urgency),
    ROW_ONE_OF(proto_msg, "severity", ev.severity, 0, cap_severity),
    ROW_ONE_OF(proto_msg, "certainty", ev.certainty, 0, cap_certainty),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
};
static const codec_field figures_fields[] = {
    RID,
    P("at_ms", CT_UINT, at_ms, REQ, 0),
    ROW_AUX(proto_msg, "broker", CT_MAP, broker_figures, broker_figures_len, REQ, 0),
    ROW_AUX(proto_msg, "store", CT_MAP, store_figures, store_figures_len, 0, 0),
};
static const codec_field report_fields[] = {
    RID,
    P("worker", CT_STR, worker, REQ, GL_MAX_ID),
    ROW_AUX(proto_msg, "store", CT_MAP, store_figures, store_figures_len, REQ, 0),
};
static const codec_field cancel_fields[] = {
    RID,
    P("id", CT_STR, ev.id, ID_, GL_MAX_ID),
    P("terminal", CT_STR, ev.terminal, 0, GL_MAX_ID),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
};
static const codec_field scores_fields[] = {
    RID,
    P("since_ms", CT_UINT, since_ms, REQ, 0),
    P("until_ms", CT_UINT, until_ms, REQ, 0),
};
static const codec_field scorecard_fields[] = {
    RID,
    P("since_ms", CT_UINT, since_ms, REQ, 0),
    P("until_ms", CT_UINT, until_ms, REQ, 0),
    ROW_AUX(proto_msg, "communities", CT_MAP, scores, scores_len, REQ, 0),
    ROW_AUX(proto_msg, "total", CT_MAP, scores_total, scores_total_len, REQ, 0),
    P("scanned", CT_UINT, scanned, 0, 0),
    P("truncated", CT_BOOL, truncated, 0, 0),
};

/* LIST, REQUEUE (issue 5) */
static const codec_field list_fields[] = {
    RID,
    P("kind", CT_KIND, ev.kind, 0, 0),
    P("state", CT_EVSTATE, ev.state, 0, 0),
    P("community", CT_STR, ev.community, 0, GL_MAX_ID),
    P("grid", CT_STR, ev.grid, 0, GL_MAX_ID),
    P("team", CT_STR, team, 0, GL_MAX_ID),
    P("since_ms", CT_UINT, since_ms, 0, 0),
    P("until_ms", CT_UINT, until_ms, 0, 0),
    P("overdue", CT_BOOL, overdue, 0, 0),
    P("dead", CT_BOOL, dead, 0, 0),
    P("history", CT_BOOL, with_history, 0, 0),
    P("limit", CT_UINT, limit, 0, 0),
    P("after", CT_STR, after, 0, GL_MAX_SHORT),
};
static const codec_field requeue_fields[] = {
    RID,
    P("id", CT_STR, ev.id, ID_, GL_MAX_ID),
    P("team", CT_STR, team, 0, GL_MAX_ID),
    P("close", CT_BOOL, close, 0, 0),
    P("note", CT_STR, note, 0, GL_MAX_TEXT),
};

static const struct {
    const char *name;
    codec_table body;
} commands[PROTO_CMD_COUNT] = {
    [PROTO_SUBMIT] = {"SUBMIT", TABLE(submit_fields)},
    [PROTO_FILED] = {"FILED", TABLE(filed_fields)},
    [PROTO_BUSY] = {"BUSY", TABLE(busy_fields)},
    [PROTO_ERROR] = {"ERROR", TABLE(error_fields)},
    [PROTO_SHOW] = {"SHOW", TABLE(show_fields)},
    [PROTO_EVENT] = {"EVENT", TABLE(event_reply_fields)},
    [PROTO_PING] = {"PING", TABLE(empty_fields)},
    [PROTO_PONG] = {"PONG", TABLE(empty_fields)},
    [PROTO_HELLO] = {"HELLO", TABLE(hello_fields)},
    [PROTO_WELCOME] = {"WELCOME", TABLE(welcome_fields)},
    [PROTO_HEARTBEAT] = {"HEARTBEAT", TABLE(heartbeat_fields)},
    [PROTO_ACK] = {"ACK", TABLE(act_fields)},
    [PROTO_ACCEPT] = {"ACCEPT", TABLE(act_fields)},
    [PROTO_DECLINE] = {"DECLINE", TABLE(decline_fields)},
    [PROTO_RESOLVE] = {"RESOLVE", TABLE(act_fields)},
    [PROTO_RESULT] = {"RESULT", TABLE(result_fields)},
    [PROTO_DISPATCH] = {"DISPATCH", TABLE(dispatch_msg_fields)},
    [PROTO_NOTICE] = {"NOTICE", TABLE(notice_fields)},
    [PROTO_BYE] = {"BYE", TABLE(empty_fields)},
    [PROTO_READY] = {"READY", TABLE(ready_fields)},
    [PROTO_JOB] = {"JOB", TABLE(job_fields)},
    [PROTO_DONE] = {"DONE", TABLE(done_fields)},
    [PROTO_DELIVER] = {"DELIVER", TABLE(deliver_fields)},
    [PROTO_PRESENCE] = {"PRESENCE", TABLE(presence_fields)},
    [PROTO_UPDATE] = {"UPDATE", TABLE(update_fields)},
    [PROTO_CANCEL] = {"CANCEL", TABLE(cancel_fields)},
    [PROTO_CHANGED] = {"CHANGED", TABLE(filed_fields)},
    [PROTO_STATUS] = {"STATUS", TABLE(empty_fields)},
    [PROTO_FIGURES] = {"FIGURES", TABLE(figures_fields)},
    [PROTO_REPORT] = {"REPORT", TABLE(report_fields)},
    [PROTO_CLAIM] = {"CLAIM", TABLE(act_fields)},
    [PROTO_RELEASE] = {"RELEASE", TABLE(act_fields)},
    [PROTO_RETURN] = {"RETURN", TABLE(decline_fields)},
    [PROTO_REDIRECT] = {"REDIRECT", TABLE(redirect_fields)},
    [PROTO_CONFIRM] = {"CONFIRM", TABLE(act_fields)},
    [PROTO_DISPUTE] = {"DISPUTE", TABLE(decline_fields)},
    [PROTO_EXTEND] = {"EXTEND", TABLE(extend_fields)},
    [PROTO_APPROVE] = {"APPROVE", TABLE(act_fields)},
    [PROTO_MERGE] = {"MERGE", TABLE(merge_fields)},
    [PROTO_BOARD] = {"BOARD", TABLE(board_fields)},
    [PROTO_LISTING] = {"LISTING", TABLE(listing_fields)},
    [PROTO_RATE] = {"RATE", TABLE(rate_fields)},
    [PROTO_TRACK] = {"TRACK", TABLE(show_fields)},
    [PROTO_TRACKING] = {"TRACKING", TABLE(tracking_fields)},
    [PROTO_LIST] = {"LIST", TABLE(list_fields)},
    [PROTO_REQUEUE] = {"REQUEUE", TABLE(requeue_fields)},
    [PROTO_SCORES] = {"SCORES", TABLE(scores_fields)},
    [PROTO_SCORECARD] = {"SCORECARD", TABLE(scorecard_fields)},
    [PROTO_BATCH] = {"BATCH", TABLE(empty_fields)},
    [PROTO_PACK] = {"PACK", TABLE(empty_fields)},
};

const codec_table *codec_command(int cmd)
{
    if (cmd <= PROTO_NONE || cmd >= PROTO_CMD_COUNT || !commands[cmd].name)
        return NULL;
    return &commands[cmd].body;
}

const char *proto_cmd_name(int cmd)
{
    return codec_command(cmd) ? commands[cmd].name : NULL;
}

/* The commands by a hash of their name's length, first and last bytes,
 * made once: every frame of every message has its command parsed, and
 * going down the whole list cost about 200 instructions a frame. */
#define CMD_HASH_SIZE 128
static unsigned char cmd_head[CMD_HASH_SIZE]; /* a command, or PROTO_NONE */
static unsigned char cmd_next[PROTO_CMD_COUNT];
static unsigned char cmd_len[PROTO_CMD_COUNT];
static pthread_once_t cmd_once = PTHREAD_ONCE_INIT;

_Static_assert(PROTO_CMD_COUNT <= UINT8_MAX, "commands fit the hash chains' bytes");

static unsigned cmd_hash(const unsigned char *d, size_t len)
{
    return ((unsigned)len * 31u + d[0] * 7u + d[len - 1]) & (CMD_HASH_SIZE - 1);
}

static void cmd_hash_make(void)
{
    for (int cmd = PROTO_CMD_COUNT - 1; cmd > PROTO_NONE; cmd--) {
        const char *name = commands[cmd].name;
        if (!name)
            continue;
        size_t len = strlen(name);
        unsigned h = cmd_hash((const unsigned char *)name, len);
        cmd_len[cmd] = (unsigned char)len;
        cmd_next[cmd] = cmd_head[h];
        cmd_head[h] = (unsigned char)cmd; /* the lowest first, as the list was */
    }
}

int proto_cmd_parse(const void *data, size_t len)
{
    if (!data || !len || len > UINT8_MAX)
        return PROTO_NONE;
    pthread_once(&cmd_once, cmd_hash_make);
    const unsigned char *d = data;
    for (int cmd = cmd_head[cmd_hash(d, len)]; cmd != PROTO_NONE; cmd = cmd_next[cmd])
        if (cmd_len[cmd] == len && memcmp(commands[cmd].name, d, len) == 0)
            return cmd;
    return PROTO_NONE;
}
