/* Unit tests for proto/: command names, and the msgpack codec checked against
 * the field lists of proto/PROTOCOL.md, written out here independently of the
 * codec's own tables so that a drift between spec and code shows up. */
#include "../proto/proto.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- The spec, as the test reads it ---------------------------------------
 * types: s string, i event id, v one of a list, k kind, e event state,
 * d dispatch state, u uint32, U uint64, b bool, f coordinate, B bin,
 * m event map, D dispatch array, H history array, n error name,
 * R any map carried as bytes (member: pointer; the length follows it),
 * E event array. */
typedef struct {
    const char *key;
    char type;
    int req;
    unsigned max; /* bytes or elements */
    size_t off;   /* the member of proto_msg it lands in */
} tfield;

typedef struct {
    int cmd;
    tfield f[20];
} tcmd;

#define O(member) offsetof(proto_msg, member)
#define RID {"rid", 'U', 0, 0, O(rid)}
#define EVENT_ID {"event", 'i', 1, 64, O(event)}
#define TEAM {"team", 's', 1, 64, O(team)}
#define NOTE(req) {"note", 's', req, 4096, O(note)}
#define ACT(note_req) {RID, EVENT_ID, TEAM, {"member", 's', 0, 64, O(member)}, NOTE(note_req)}
#define CLIENT {"job", 'U', 1, 0, O(job)}, {"client", 'B', 1, 255, O(client)},                \
               {"origin", 'v', 1, 256, O(origin)}
static const tcmd spec[] = {
    {PROTO_SUBMIT, {RID, {"id", 'i', 1, 64, O(ev.id)}, {"kind", 'k', 1, 0, O(ev.kind)},
        {"category", 's', 1, 64, O(ev.category)}, {"text", 's', 1, 4096, O(ev.text)},
        {"community", 's', 0, 64, O(ev.community)}, {"compound", 's', 0, 64, O(ev.compound)},
        {"grid", 's', 0, 64, O(ev.grid)}, {"terminal", 's', 0, 64, O(ev.terminal)},
        {"address", 's', 0, 256, O(ev.address)}, {"lat", 'f', 0, 90, O(ev.lat)},
        {"lon", 'f', 0, 180, O(ev.lon)}, {"contact", 's', 0, 256, O(ev.contact)},
        {"urgency", 'v', 0, 256, O(ev.urgency)}, {"severity", 'v', 0, 256, O(ev.severity)},
        {"certainty", 'v', 0, 256, O(ev.certainty)}}},
    {PROTO_FILED, {RID, {"id", 'i', 1, 64, O(ev.id)}, {"seq", 'U', 1, 0, O(ev.seq)},
        {"kind", 'k', 1, 0, O(ev.kind)}, {"state", 'e', 1, 0, O(ev.state)},
        {"duplicate", 'b', 0, 0, O(duplicate)}}},
    {PROTO_BUSY, {RID, {"retry_after_ms", 'u', 1, 0, O(retry_after_ms)},
        {"id", 'i', 0, 64, O(ev.id)}}},
    {PROTO_ERROR, {RID, {"code", 'u', 1, 0, O(code)}, {"reason", 's', 1, 4096, O(reason)},
        {"name", 'n', 0, 256, 0}, {"id", 'i', 0, 64, O(ev.id)}}},
    {PROTO_SHOW, {RID, {"id", 'i', 1, 64, O(ev.id)}}},
    {PROTO_EVENT, {RID, {"event", 'm', 1, 0, O(ev)}, {"dispatches", 'D', 1, 1000, 0},
        {"history", 'H', 1, 1000, 0}}},
    {PROTO_PING, {RID}},
    {PROTO_PONG, {RID}},
    {PROTO_HELLO, {RID, TEAM, {"member", 's', 1, 64, O(member)}}},
    {PROTO_WELCOME, {RID, TEAM, {"member", 's', 1, 64, O(member)},
        {"heartbeat_ms", 'u', 1, 0, O(heartbeat_ms)}}},
    {PROTO_HEARTBEAT, {RID, {"pid", 'u', 0, 0, O(pid)}, {"host", 's', 0, 256, O(host)}}},
    {PROTO_ACK, ACT(0)},
    {PROTO_ACCEPT, ACT(0)},
    {PROTO_DECLINE, ACT(1)},
    {PROTO_RESOLVE, ACT(0)},
    {PROTO_RESULT, {RID, EVENT_ID, TEAM, {"state", 'd', 1, 0, O(state)},
        {"event_state", 'e', 1, 0, O(event_state)}, NOTE(0), {"until_ms", 'U', 0, 0, O(until_ms)}}},
    {PROTO_DISPATCH, {RID, EVENT_ID, {"seq", 'U', 1, 0, O(ev.seq)}, TEAM,
        {"role", 's', 1, 256, O(role)}, {"state", 'd', 1, 0, O(state)},
        {"attempts", 'u', 0, 0, O(attempts)}, {"detail", 'm', 0, 0, O(ev)}}},
    {PROTO_NOTICE, {RID, EVENT_ID, TEAM, {"what", 's', 1, 256, O(what)}, NOTE(0),
        {"by", 's', 0, 256, O(by)}}},
    {PROTO_BYE, {RID}},
    {PROTO_READY, {RID, {"worker", 's', 1, 64, O(worker)}, {"credit", 'u', 1, 0, O(credit)},
        {"pid", 'u', 0, 0, O(pid)}, {"host", 's', 0, 256, O(host)},
        {"lanes", 'v', 0, 256, O(lane)}}},
    {PROTO_JOB, {RID, CLIENT, {"lane", 'v', 0, 256, O(lane)}}},
    {PROTO_DONE, {RID, CLIENT}},
    {PROTO_DELIVER, {RID, TEAM}},
    {PROTO_PRESENCE, {RID, TEAM, {"member", 's', 0, 64, O(member)}}},
    {PROTO_UPDATE, {RID, {"id", 'i', 1, 64, O(ev.id)}, {"terminal", 's', 0, 64, O(ev.terminal)},
        {"text", 's', 0, 4096, O(ev.text)}, {"urgency", 'v', 0, 256, O(ev.urgency)},
        {"severity", 'v', 0, 256, O(ev.severity)}, {"certainty", 'v', 0, 256, O(ev.certainty)},
        NOTE(0)}},
    {PROTO_CANCEL, {RID, {"id", 'i', 1, 64, O(ev.id)}, {"terminal", 's', 0, 64, O(ev.terminal)},
        NOTE(0)}},
    {PROTO_CHANGED, {RID, {"id", 'i', 1, 64, O(ev.id)}, {"seq", 'U', 1, 0, O(ev.seq)},
        {"kind", 'k', 1, 0, O(ev.kind)}, {"state", 'e', 1, 0, O(ev.state)},
        {"duplicate", 'b', 0, 0, O(duplicate)}}},
    {PROTO_STATUS, {RID}},
    {PROTO_FIGURES, {RID, {"at_ms", 'U', 1, 0, O(at_ms)}, {"broker", 'R', 1, 0, O(broker_figures)},
        {"store", 'R', 0, 0, O(store_figures)}}},
    {PROTO_REPORT, {RID, {"worker", 's', 1, 64, O(worker)}, {"store", 'R', 1, 0, O(store_figures)}}},
    {PROTO_CLAIM, ACT(0)},
    {PROTO_RELEASE, ACT(0)},
    {PROTO_RETURN, ACT(1)},
    {PROTO_REDIRECT, {RID, EVENT_ID, TEAM, {"to", 's', 1, 64, O(to)},
        {"member", 's', 0, 64, O(member)}, NOTE(0)}},
    {PROTO_CONFIRM, ACT(0)},
    {PROTO_DISPUTE, ACT(1)},
    {PROTO_EXTEND, {RID, EVENT_ID, TEAM, {"until_ms", 'U', 1, 0, O(until_ms)},
        {"member", 's', 0, 64, O(member)}, NOTE(1)}},
    {PROTO_APPROVE, ACT(0)},
    {PROTO_MERGE, {RID, EVENT_ID, TEAM, {"into", 'i', 1, 64, O(into)},
        {"member", 's', 0, 64, O(member)}, NOTE(0)}},
    {PROTO_BOARD, {RID, {"community", 's', 1, 64, O(ev.community)}}},
    {PROTO_LISTING, {RID, {"events", 'E', 1, 1000, 0}, {"dispatches", 'D', 0, 1000, 0},
        {"history", 'H', 0, 1000, 0}, {"next", 's', 0, 256, O(next)}}},
    {PROTO_RATE, {RID, {"id", 'i', 1, 64, O(ev.id)}, {"terminal", 's', 0, 64, O(ev.terminal)},
        {"rating", 'v', 1, 256, O(ev.rating)}, NOTE(0)}},
    {PROTO_TRACK, {RID, {"id", 'i', 1, 64, O(ev.id)}}},
    {PROTO_TRACKING, {RID, {"event", 'm', 1, 0, O(ev)}, NOTE(0)}},
    {PROTO_LIST, {RID, {"kind", 'k', 0, 0, O(ev.kind)}, {"state", 'e', 0, 0, O(ev.state)},
        {"community", 's', 0, 64, O(ev.community)}, {"grid", 's', 0, 64, O(ev.grid)},
        {"team", 's', 0, 64, O(team)}, {"since_ms", 'U', 0, 0, O(since_ms)},
        {"until_ms", 'U', 0, 0, O(until_ms)}, {"overdue", 'b', 0, 0, O(overdue)},
        {"dead", 'b', 0, 0, O(dead)}, {"history", 'b', 0, 0, O(with_history)},
        {"limit", 'u', 0, 0, O(limit)}, {"after", 's', 0, 256, O(after)}}},
    {PROTO_REQUEUE, {RID, {"id", 'i', 1, 64, O(ev.id)}, {"team", 's', 0, 64, O(team)},
        {"close", 'b', 0, 0, O(close)}, NOTE(0)}},
    {PROTO_SCORES, {RID, {"since_ms", 'U', 1, 0, O(since_ms)}, {"until_ms", 'U', 1, 0, O(until_ms)}}},
    {PROTO_SCORECARD, {RID, {"since_ms", 'U', 1, 0, O(since_ms)}, {"until_ms", 'U', 1, 0, O(until_ms)},
        {"communities", 'R', 1, 0, O(scores)}, {"total", 'R', 1, 0, O(scores_total)},
        {"scanned", 'U', 0, 0, O(scanned)}, {"truncated", 'b', 0, 0, O(truncated)}}},
    {PROTO_BATCH, {RID}},
    {PROTO_PACK, {RID}},
};

static const char *const event_keys[] = {"id", "seq", "kind", "category", "community",
    "compound", "grid", "terminal", "address", "lat", "lon", "text", "contact", "urgency",
    "severity", "certainty", "state", "team", "created_ms", "updated_ms", "plan_step",
    "escalate_at_ms", "alarm", "sign_by_ms", "due_ms", "remind_at_ms", "lease_until_ms",
    "close_at_ms", "extension_ms", "rating", "duplicate_of"};
static const char *const dispatch_keys[] = {"event", "seq", "team", "role", "state",
    "member", "note", "attempts", "created_ms", "updated_ms", "next_retry_ms"};
static const char *const history_keys[] = {"seq", "no", "at_ms", "who", "what", "note"};

/* ---- A message with every member set ------------------------------------ */

#define EVID "01J0ZK3V6Q8R2T4W6Y8Z0B2D4F"
static const unsigned char client_id[] = {0x00, 0x6b, 0x8b, 0x45, 0x67};
/* {"lanes": {"alert": 0}} and {"events": 42} */
static const unsigned char broker_map[] = {0x81, 0xa5, 'l', 'a', 'n', 'e', 's', 0x81, 0xa5,
                                           'a', 'l', 'e', 'r', 't', 0x00};
static const unsigned char store_map[] = {0x81, 0xa6, 'e', 'v', 'e', 'n', 't', 's', 0x2a};
static gl_dispatch full_dispatches[2] = {
    {42, EVID, "grid-heping-3", "grid", GL_DS_ACCEPTED, "王芳", "on my way", 2, 1718000000100,
     1718000000200, 0},
    {42, EVID, "squad-7", "squad", GL_DS_TAKEN, NULL, NULL, 1, 1718000000100, 1718000000300,
     1718000090000},
};
static gl_history full_history[3] = {
    {42, 1, 1718000000000, "terminal:callbox-17", "filed", NULL},
    {42, 2, 1718000000100, "worker:w1", "dispatched", "2 teams"},
    {42, 3, 1718000000200, "team:grid-heping-3/王芳", "accepted", "on my way"},
};

static gl_event full_events[2] = {
    {.id = "evt-1", .seq = 1, .kind = GL_KIND_REQUEST, .category = "micro-wish",
     .community = "heping", .text = "陪读", .state = GL_EV_DISPATCHED, .created_ms = 5},
    {.id = "evt-2", .seq = 2, .kind = GL_KIND_REQUEST, .category = "daily-help",
     .community = "heping", .text = "代买药", .state = GL_EV_DISPATCHED, .lease_until_ms = 9},
};

static proto_msg full_msg(int cmd)
{
    return (proto_msg){
        .cmd = cmd, .rid = 7,
        .ev = {EVID, 42, GL_KIND_ALERT, "fall", "heping", "heping-3", "heping-3-2", "callbox-17",
               "Building 3, Unit 2, Room 401", 1, 38.5112, 106.3857,
               "Elderly resident fell and cannot stand up. 老人摔倒", "+86 951 555 0101",
               "Immediate", "Severe", "Observed", GL_EV_ACCEPTED, "grid-heping-3",
               1718000000000, 1718000001234, 2, 1718000061234, "unanswered", 1718000001800,
               1718000172800, 1718000158400, 1718000604800, 1718000700000, 1718000259200,
               "unsatisfied", "01J0ZK3V6Q8R2T4W6Y8Z0B2D4G"},
        .event = EVID, .team = "grid-heping-3", .member = "王芳", .note = "on my way",
        .role = "grid", .what = "taken", .by = "squad-7", .state = GL_DS_ACCEPTED,
        .event_state = GL_EV_ACCEPTED, .attempts = 3, .duplicate = 1, .code = 105,
        .reason = "missing field 'text'", .retry_after_ms = 250, .heartbeat_ms = 1000,
        .worker = "worker-1", .credit = 64, .job = 987654321, .client = client_id,
        .client_len = sizeof client_id, .origin = "intake", .lane = "alert",
        .dispatches = full_dispatches, .ndispatches = 2, .history = full_history,
        .nhistory = 3, .at_ms = 1718000002000, .broker_figures = broker_map,
        .broker_figures_len = sizeof broker_map, .store_figures = store_map,
        .store_figures_len = sizeof store_map, .to = "county-triage",
        .into = "01J0ZK3V6Q8R2T4W6Y8Z0B2D4G", .until_ms = 1718000999000, .pid = 4242,
        .host = "county-office-1",
        .events = full_events, .nevents = 2, .since_ms = 1717000000000, .scores = store_map,
        .scores_len = sizeof store_map, .scores_total = broker_map,
        .scores_total_len = sizeof broker_map, .scanned = 1234, .truncated = 1};
}

/* ---- Comparing --------------------------------------------------------- */

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_event(const gl_event *a, const gl_event *b)
{
    return same_str(a->id, b->id) && a->seq == b->seq && a->kind == b->kind &&
           same_str(a->category, b->category) && same_str(a->community, b->community) &&
           same_str(a->compound, b->compound) && same_str(a->grid, b->grid) &&
           same_str(a->terminal, b->terminal) && same_str(a->address, b->address) &&
           a->has_coords == b->has_coords && a->lat == b->lat && a->lon == b->lon &&
           same_str(a->text, b->text) && same_str(a->contact, b->contact) &&
           same_str(a->urgency, b->urgency) && same_str(a->severity, b->severity) &&
           same_str(a->certainty, b->certainty) && a->state == b->state &&
           same_str(a->team, b->team) && a->created_ms == b->created_ms &&
           a->updated_ms == b->updated_ms && a->plan_step == b->plan_step &&
           a->escalate_at_ms == b->escalate_at_ms && same_str(a->alarm, b->alarm) &&
           a->sign_by_ms == b->sign_by_ms && a->due_ms == b->due_ms &&
           a->remind_at_ms == b->remind_at_ms && a->lease_until_ms == b->lease_until_ms &&
           a->close_at_ms == b->close_at_ms && a->extension_ms == b->extension_ms &&
           same_str(a->rating, b->rating) && same_str(a->duplicate_of, b->duplicate_of);
}

static int same_dispatch(const gl_dispatch *a, const gl_dispatch *b)
{
    return a->seq == b->seq && same_str(a->event, b->event) && same_str(a->team, b->team) &&
           same_str(a->role, b->role) && a->state == b->state &&
           same_str(a->member, b->member) && same_str(a->note, b->note) &&
           a->attempts == b->attempts && a->created_ms == b->created_ms &&
           a->updated_ms == b->updated_ms && a->next_retry_ms == b->next_retry_ms;
}

static int same_history(const gl_history *a, const gl_history *b)
{
    return a->seq == b->seq && a->no == b->no && a->at_ms == b->at_ms &&
           same_str(a->who, b->who) && same_str(a->what, b->what) && same_str(a->note, b->note);
}

/* same_key: whether a and b agree on the member that field f lands in. */
static int same_key(const tfield *f, const proto_msg *a, const proto_msg *b)
{
    const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;
    switch (f->type) {
    case 's': case 'i': case 'v':
        return same_str(*(const char *const *)pa, *(const char *const *)pb);
    case 'k': case 'e': case 'd': case 'b':
        return *(const int *)pa == *(const int *)pb;
    case 'u':
        return *(const uint32_t *)pa == *(const uint32_t *)pb;
    case 'U':
        return *(const uint64_t *)pa == *(const uint64_t *)pb;
    case 'f':
        return a->ev.has_coords == b->ev.has_coords && *(const double *)pa == *(const double *)pb;
    case 'm':
        return same_event((const gl_event *)pa, (const gl_event *)pb);
    case 'B':
        return a->client_len == b->client_len && memcmp(a->client, b->client, a->client_len) == 0;
    case 'R': {
        const void *ra = *(const void *const *)pa, *rb = *(const void *const *)pb;
        size_t la = *(const size_t *)(pa + sizeof(void *)), lb = *(const size_t *)(pb + sizeof(void *));
        return la == lb && (!la || memcmp(ra, rb, la) == 0);
    }
    case 'D':
        for (size_t i = 0; i < a->ndispatches; i++)
            if (!same_dispatch(&a->dispatches[i], &b->dispatches[i]))
                return 0;
        return a->ndispatches == b->ndispatches;
    case 'E':
        for (size_t i = 0; i < a->nevents; i++)
            if (!same_event(&a->events[i], &b->events[i]))
                return 0;
        return a->nevents == b->nevents;
    case 'H':
        for (size_t i = 0; i < a->nhistory; i++)
            if (!same_history(&a->history[i], &b->history[i]))
                return 0;
        return a->nhistory == b->nhistory;
    default:
        return 1; /* 'n': no member, checked on the wire */
    }
}

/* clear_key empties the member of field f; 0 if it cannot be absent
 * (numbers and arrays: 0 and [] are values). */
static int clear_key(const tfield *f, proto_msg *m)
{
    char *p = (char *)m + f->off;
    switch (f->type) {
    case 's': case 'i': case 'v':
        *(const char **)p = NULL;
        return 1;
    case 'k': case 'e': case 'd':
        *(int *)p = 0;
        return 1;
    case 'm':
        m->ev.id = NULL;
        return 1;
    case 'B':
        m->client = NULL;
        return 1;
    case 'R':
        *(const void **)p = NULL;
        *(size_t *)(p + sizeof(void *)) = 0;
        return 1;
    default:
        return 0;
    }
}

/* ---- Building bodies ---------------------------------------------------- */

static msgpack_sbuffer sb;
static gl_arena arena;
static char why[256];

/* A value to put into a body: tv_* constructors below. */
typedef struct {
    char t; /* N nil, I int, S str, F double, f float, B bool, b bin, M map, A array, R raw */
    int64_t i;
    uint64_t u;
    double d;
    const char *s;
    size_t n;
} tval;

static const tval v_nil = {'N', 0, 0, 0, NULL, 0};
static tval v_int(int64_t i) { return (tval){'I', i, 0, 0, NULL, 0}; }
static tval v_uint(uint64_t u) { return (tval){'U', 0, u, 0, NULL, 0}; }
static tval v_str(const char *s) { return (tval){'S', 0, 0, 0, s, strlen(s)}; }
static tval v_strn(const char *s, size_t n) { return (tval){'S', 0, 0, 0, s, n}; }
static tval v_dbl(double d) { return (tval){'F', 0, 0, d, NULL, 0}; }
#define TS(lit) {'S', 0, 0, 0, (lit), sizeof(lit) - 1}
static tval v_type(char t) { return (tval){t, 0, 0, 0, "x", 1}; }

static void pack_val(msgpack_packer *pk, const tval *v)
{
    switch (v->t) {
    case 'N': msgpack_pack_nil(pk); break;
    case 'I': msgpack_pack_int64(pk, v->i); break;
    case 'U': msgpack_pack_uint64(pk, v->u); break;
    case 'S': msgpack_pack_str_with_body(pk, v->s, v->n); break;
    case 'F': msgpack_pack_double(pk, v->d); break;
    case 'f': msgpack_pack_float(pk, (float)v->d); break;
    case 'B': msgpack_pack_true(pk); break;
    case 'b': msgpack_pack_bin_with_body(pk, v->s, v->n); break;
    case 'M': msgpack_pack_map(pk, 0); break;
    case 'A': msgpack_pack_array(pk, 0); break;
    }
}

static int key_is(const msgpack_object *k, const char *s, size_t n)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}

/* pack_edited repacks o, dropping the key at path ("event.state",
 * "dispatches.1.team") and, if v, putting v under that key instead. */
static void pack_edited(msgpack_packer *pk, const msgpack_object *o, const char *path,
                        const tval *v)
{
    if (!path) {
        msgpack_pack_object(pk, *o);
        return;
    }
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        size_t idx = strtoul(path, NULL, 10);
        msgpack_pack_array(pk, o->via.array.size);
        for (size_t i = 0; i < o->via.array.size; i++)
            pack_edited(pk, &o->via.array.ptr[i], i == idx && dot ? dot + 1 : NULL, v);
        return;
    }
    if (o->type != MSGPACK_OBJECT_MAP) {
        msgpack_pack_object(pk, *o);
        return;
    }
    size_t count = 0;
    for (size_t i = 0; i < o->via.map.size; i++)
        count += !(key_is(&o->via.map.ptr[i].key, path, n) && !dot);
    msgpack_pack_map(pk, count + (!dot && v ? 1 : 0));
    for (size_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        int hit = key_is(&kv->key, path, n);
        if (hit && !dot)
            continue;
        msgpack_pack_object(pk, kv->key);
        pack_edited(pk, &kv->val, hit ? dot + 1 : NULL, v);
    }
    if (!dot && v) {
        msgpack_pack_str_with_body(pk, path, n);
        pack_val(pk, v);
    }
}

/* body_of encodes the full message of cmd into sb. */
static void body_of(int cmd)
{
    proto_msg m = full_msg(cmd);
    msgpack_sbuffer_clear(&sb);
    int rc = proto_encode(&m, &sb);
    if (rc)
        diag("encoding full %s failed: %d", proto_cmd_name(cmd), rc);
}

/* edit replaces sb with the full body of cmd edited at path (v NULL: drop). */
static void edit(int cmd, const char *path, const tval *v)
{
    body_of(cmd);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_next(&u, sb.data, sb.size, &off);
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    pack_edited(&pk, &u.data, path, v);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    sb = out;
}

static int dec(int cmd, const void *body, size_t len, proto_msg *m)
{
    arena_reset(&arena);
    return proto_decode(cmd, body, len, m, &arena, why, sizeof why);
}

static int dec_sb(int cmd, proto_msg *m) { return dec(cmd, sb.data, sb.size, m); }

/* expect decodes sb as cmd and checks the code and that the reason names
 * what (a quoted field name, or any fragment). */
static void expect(int cmd, int code, const char *what, const char *name)
{
    proto_msg m;
    int rc = dec_sb(cmd, &m);
    ok(rc == code && (!what || strstr(why, what)), "%s: %s -> %s", proto_cmd_name(cmd), name,
       gl_errname(code));
    if (rc != code || (what && !strstr(why, what)))
        diag("got %d (%s), reason \"%s\", wanted %d and \"%s\"", rc, gl_errname(rc), why, code,
             what ? what : "");
}

/* check edits the full body of cmd at path to v and expects code and a
 * reason containing what. */
static void check(int cmd, const char *path, const tval *v, int code, const char *what,
                  const char *label)
{
    char name[128];
    snprintf(name, sizeof name, "'%s' %s", path, label);
    edit(cmd, path, v);
    expect(cmd, code, what, name);
}

/* ---- Tests -------------------------------------------------------------- */

static void test_names(void)
{
    int all = 1;
    for (int cmd = PROTO_NONE + 1; cmd < PROTO_CMD_COUNT; cmd++) {
        const char *name = proto_cmd_name(cmd);
        all &= name && proto_cmd_parse(name, strlen(name)) == cmd;
    }
    ok(all, "every command's name parses back to it");
    is_int(proto_cmd_parse("SUBMIT", 6), PROTO_SUBMIT, "SUBMIT parses");
    is_int(proto_cmd_parse("PRESENCE", 8), PROTO_PRESENCE, "PRESENCE parses");
    is_int(proto_cmd_parse("submit", 6), PROTO_NONE, "lower case is unknown");
    is_int(proto_cmd_parse("NOPE", 4), PROTO_NONE, "unknown name");
    is_int(proto_cmd_parse("SUBMI", 5), PROTO_NONE, "a prefix is unknown");
    is_int(proto_cmd_parse("SUBMITX", 7), PROTO_NONE, "a longer name is unknown");
    is_int(proto_cmd_parse("SUBMIT\0", 7), PROTO_NONE, "a trailing NUL is not ignored");
    is_int(proto_cmd_parse("SUBMIT", 3), PROTO_NONE, "length is honoured");
    is_int(proto_cmd_parse("", 0), PROTO_NONE, "empty frame");
    is_int(proto_cmd_parse(NULL, 0), PROTO_NONE, "NULL frame");
    ok(!proto_cmd_name(PROTO_NONE) && !proto_cmd_name(-1) && !proto_cmd_name(PROTO_CMD_COUNT),
       "out-of-range commands have no name");
    is_int(GL_ARRAY_LEN(spec), PROTO_CMD_COUNT - 1, "the test's spec lists every command");
}

static void test_round_trips(void)
{
    for (size_t c = 0; c < GL_ARRAY_LEN(spec); c++) {
        int cmd = spec[c].cmd;
        proto_msg in = full_msg(cmd), out;
        msgpack_sbuffer_clear(&sb);
        int erc = proto_encode(&in, &sb);
        int drc = erc ? erc : dec_sb(cmd, &out);
        ok(!erc && !drc && out.cmd == cmd, "%s: full message encodes (%zu bytes) and decodes",
           proto_cmd_name(cmd), sb.size);
        if (erc || drc) {
            diag("encode %d decode %d: %s", erc, drc, why);
            continue;
        }
        for (const tfield *f = spec[c].f; f->key; f++)
            ok(same_key(f, &in, &out), "%s: '%s' round-trips", proto_cmd_name(cmd),
               f->key);
    }
    /* ERROR's name has no member: it is derived from code on the wire. */
    body_of(PROTO_ERROR);
    ok(memmem(sb.data, sb.size, "\xa4name\xa9" "bad_field", 15) != NULL,
       "ERROR carries name 'bad_field' for code 105");
}

static void test_required(void)
{
    char want[96];
    for (size_t c = 0; c < GL_ARRAY_LEN(spec); c++) {
        int cmd = spec[c].cmd;
        for (const tfield *f = spec[c].f; f->key; f++) {
            if (!f->req)
                continue;
            snprintf(want, sizeof want, "missing field '%s'", f->key);
            edit(cmd, f->key, NULL);
            expect(cmd, GL_EMISSING, want, want);
            proto_msg m = full_msg(cmd);
            msgpack_sbuffer_clear(&sb);
            if (clear_key(f, &m))
                is_int(proto_encode(&m, &sb), GL_EBADFIELD, "%s: encoder refuses absent '%s'",
                       proto_cmd_name(cmd), f->key);
        }
    }
    /* Required keys inside records. */
    static const char *const nested[][2] = {
        {"event.id", "'event.id'"}, {"event.kind", "'event.kind'"},
        {"event.state", "'event.state'"}, {"dispatches.1.event", "'dispatches[1].event'"},
        {"dispatches.1.team", "'dispatches[1].team'"},
        {"dispatches.0.state", "'dispatches[0].state'"}, {"history.2.no", "'history[2].no'"},
        {"history.0.what", "'history[0].what'"}};
    for (size_t i = 0; i < GL_ARRAY_LEN(nested); i++)
        check(PROTO_EVENT, nested[i][0], NULL, GL_EMISSING, nested[i][1], "absent");
    check(PROTO_DISPATCH, "detail.state", NULL, GL_EMISSING, "'detail.state'", "absent");
    check(PROTO_EVENT, "event.category", NULL, 0, NULL, "absent is fine");
}

/* A value of the wrong msgpack type for a field of test type t. */
static tval wrong_type(char t)
{
    switch (t) {
    case 'u': case 'U': case 'f': case 'B': return v_str("1");
    case 'm': case 'R': return v_type('A');
    case 'D': case 'H': case 'E': return v_type('M');
    default: return v_int(1);
    }
}

static void test_types(void)
{
    static char big[5000];
    memset(big, 'a', sizeof big);
    char want[64], label[64];
    for (size_t c = 0; c < GL_ARRAY_LEN(spec); c++) {
        int cmd = spec[c].cmd;
        for (const tfield *f = spec[c].f; f->key; f++) {
            tval v = wrong_type(f->type);
            snprintf(want, sizeof want, "'%s'", f->key);
            check(cmd, f->key, &v_nil, GL_EBADFIELD, want, "nil");
            check(cmd, f->key, &v, GL_EBADFIELD, want, "of the wrong type");
            if (strchr("sivn", f->type)) {
                v = v_strn("a\0b", 3);
                check(cmd, f->key, &v, GL_EBADFIELD, want, "with a NUL byte");
                v = v_strn(big, f->max + 1);
                snprintf(label, sizeof label, "of %u bytes", f->max + 1);
                check(cmd, f->key, &v, GL_EBADFIELD, want, label);
            }
            if (strchr("si", f->type)) {
                v = v_strn(big, f->max);
                snprintf(label, sizeof label, "of %u bytes is fine", f->max);
                check(cmd, f->key, &v, 0, NULL, label);
            }
            if (strchr("uU", f->type)) {
                v = v_int(-1);
                check(cmd, f->key, &v, GL_EBADFIELD, want, "negative");
                v = v_dbl(1.0);
                check(cmd, f->key, &v, GL_EBADFIELD, want, "a float");
                v = v_uint(UINT64_C(1) << 32);
                check(cmd, f->key, &v, f->type == 'u' ? GL_EBADFIELD : 0,
                      f->type == 'u' ? want : NULL, "= 2^32");
            }
        }
    }
    proto_msg m;
    tval max = v_uint(UINT64_MAX);
    edit(PROTO_FILED, "seq", &max);
    ok(dec_sb(PROTO_FILED, &m) == 0 && m.ev.seq == UINT64_MAX, "FILED: seq 2^64-1 decodes");
    edit(PROTO_EVENT, "dispatches.0.attempts", &(tval){'I', -3, 0, 0, NULL, 0});
    expect(PROTO_EVENT, GL_EBADFIELD, "'dispatches[0].attempts' must not be negative",
           "negative attempts in a dispatch record");
    edit(PROTO_EVENT, "event", &(tval){'M', 0, 0, 0, NULL, 0});
    expect(PROTO_EVENT, GL_EMISSING, "'event.id'", "empty event map");
}

static void test_values(void)
{
    static const char bin[256];
    static const struct {
        int cmd;
        const char *key;
        tval v;
        int code;
        const char *why;
    } cases[] = {
        {PROTO_SUBMIT, "kind", TS("emergency"), GL_EUNKNOWNKIND, "'kind'"},
        {PROTO_SUBMIT, "kind", TS("Alert"), GL_EUNKNOWNKIND, "'kind'"},
        {PROTO_SUBMIT, "kind", TS(""), GL_EUNKNOWNKIND, "'kind'"},
        {PROTO_FILED, "kind", TS("rumour"), GL_EUNKNOWNKIND, "'kind'"},
        {PROTO_SUBMIT, "kind", TS("feedback"), 0, NULL},
        {PROTO_SUBMIT, "urgency", TS("immediate"), GL_EBADFIELD, "'urgency'"},
        {PROTO_SUBMIT, "severity", TS("Catastrophic"), GL_EBADFIELD, "'severity'"},
        {PROTO_SUBMIT, "certainty", TS("Sure"), GL_EBADFIELD, "'certainty'"},
        {PROTO_SUBMIT, "urgency", TS("Past"), 0, NULL},
        {PROTO_SUBMIT, "severity", TS("Minor"), 0, NULL},
        {PROTO_SUBMIT, "certainty", TS("Unlikely"), 0, NULL},
        {PROTO_FILED, "state", TS("open"), GL_EBADFIELD, "'state'"},
        {PROTO_RESULT, "state", TS("filed"), GL_EBADFIELD, "'state'"},
        {PROTO_RESULT, "event_state", TS("pending"), GL_EBADFIELD, "'event_state'"},
        {PROTO_RESULT, "state", TS("taken"), 0, NULL},
        {PROTO_SUBMIT, "lat", {'F', 0, 0, 90.0001, NULL, 0}, GL_EBADFIELD, "'lat'"},
        {PROTO_SUBMIT, "lat", {'F', 0, 0, NAN, NULL, 0}, GL_EBADFIELD, "'lat'"},
        {PROTO_SUBMIT, "lon", {'F', 0, 0, -180.5, NULL, 0}, GL_EBADFIELD, "'lon'"},
        {PROTO_SUBMIT, "lon", {'I', -181, 0, 0, NULL, 0}, GL_EBADFIELD, "'lon'"},
        {PROTO_SUBMIT, "lat", {'F', 0, 0, -90, NULL, 0}, 0, NULL},
        {PROTO_SUBMIT, "lon", {'F', 0, 0, 180, NULL, 0}, 0, NULL},
        {PROTO_SUBMIT, "id", TS(""), GL_EBADFIELD, "'id' must be 1..64 printable"},
        {PROTO_SUBMIT, "id", TS("has space"), GL_EBADFIELD, "printable"},
        {PROTO_SUBMIT, "id", {'S', 0, 0, 0, "tab\tx", 5}, GL_EBADFIELD, "printable"},
        {PROTO_SUBMIT, "id", {'S', 0, 0, 0, "del\x7f", 4}, GL_EBADFIELD, "printable"},
        {PROTO_SUBMIT, "id", {'S', 0, 0, 0, "\xc3\xbc" "ber", 5}, GL_EBADFIELD, "printable"},
        {PROTO_SUBMIT, "id", TS("A-b_c.1:2/3~!"), 0, NULL},
        {PROTO_ACK, "event", TS("a b"), GL_EBADFIELD, "'event' must be 1..64"},
        {PROTO_SUBMIT, "text", {'S', 0, 0, 0, "\xff", 1}, GL_EBADFIELD, "'text' is not valid UTF-8"},
        {PROTO_SUBMIT, "text", {'S', 0, 0, 0, "\xc0\xaf", 2}, GL_EBADFIELD, "UTF-8"},
        {PROTO_SUBMIT, "text", {'S', 0, 0, 0, "\xed\xa0\x80", 3}, GL_EBADFIELD, "UTF-8"},
        {PROTO_SUBMIT, "text", {'S', 0, 0, 0, "\xe4\xb8", 2}, GL_EBADFIELD, "UTF-8"},
        {PROTO_SUBMIT, "text", {'S', 0, 0, 0, "\xe8\x80\x81 \xf0\x9f\x98\x80", 8}, 0, NULL},
        {PROTO_JOB, "origin", TS("elsewhere"), GL_EBADFIELD, "'origin'"},
        {PROTO_JOB, "lane", TS("urgent"), GL_EBADFIELD, "'lane'"},
        {PROTO_JOB, "lane", TS("routine"), 0, NULL},
        {PROTO_READY, "lanes", TS("alert"), 0, NULL},
        {PROTO_READY, "lanes", TS("all"), 0, NULL},
        {PROTO_READY, "lanes", TS("fast"), GL_EBADFIELD, "'lanes'"},
        {PROTO_DONE, "origin", TS("responders"), 0, NULL},
        {PROTO_JOB, "client", {'b', 0, 0, 0, "", 0}, GL_EBADFIELD, "'client'"},
        {PROTO_JOB, "client", {'b', 0, 0, 0, bin, 256}, GL_EBADFIELD, "'client' must be 1..255"},
        {PROTO_JOB, "client", {'b', 0, 0, 0, bin, 255}, 0, NULL},
        {PROTO_EVENT, "dispatches.0.state", TS("bogus"), GL_EBADFIELD,
         "'dispatches[0].state'"},
        {PROTO_EVENT, "dispatches", {'A', 0, 0, 0, NULL, 0}, 0, NULL},
        {PROTO_EVENT, "event.kind", TS("gossip"), GL_EUNKNOWNKIND, "'event.kind'"},
        {PROTO_DISPATCH, "detail.urgency", TS("Now"), GL_EBADFIELD,
         "'detail.urgency'"},
    };
    for (size_t i = 0; i < GL_ARRAY_LEN(cases); i++) {
        char label[96];
        if (cases[i].v.t == 'S')
            snprintf(label, sizeof label, "= \"%.*s\"", (int)cases[i].v.n, cases[i].v.s);
        else
            snprintf(label, sizeof label, "= %g", cases[i].v.t == 'I' ? (double)cases[i].v.i
                                                                    : cases[i].v.d);
        check(cases[i].cmd, cases[i].key, &cases[i].v, cases[i].code, cases[i].why, label);
    }

    /* Coordinates: both or neither; integers and float32 accepted. */
    proto_msg m;
    edit(PROTO_SUBMIT, "lon", NULL);
    expect(PROTO_SUBMIT, GL_EBADFIELD, "'lat' must come with 'lon'", "lat without lon");
    edit(PROTO_SUBMIT, "lat", NULL);
    expect(PROTO_SUBMIT, GL_EBADFIELD, "'lon' must come with 'lat'", "lon without lat");
    edit(PROTO_EVENT, "event.lat", NULL);
    expect(PROTO_EVENT, GL_EBADFIELD, "'event.lon' must come with 'event.lat'",
           "event record: lon without lat");
    edit(PROTO_SUBMIT, "lat", &(tval){'I', 38, 0, 0, NULL, 0});
    ok(dec_sb(PROTO_SUBMIT, &m) == 0 && m.ev.lat == 38.0 && m.ev.has_coords,
       "SUBMIT: integer lat accepted");
    edit(PROTO_SUBMIT, "lon", &(tval){'I', -106, 0, 0, NULL, 0});
    ok(dec_sb(PROTO_SUBMIT, &m) == 0 && m.ev.lon == -106.0, "SUBMIT: negative integer lon");
    edit(PROTO_SUBMIT, "lat", &(tval){'f', 0, 0, 38.5, NULL, 0});
    ok(dec_sb(PROTO_SUBMIT, &m) == 0 && m.ev.lat == 38.5, "SUBMIT: float32 lat accepted");
    msgpack_sbuffer_clear(&sb);
    proto_msg bare = full_msg(PROTO_SUBMIT);
    bare.ev.has_coords = 0;
    proto_encode(&bare, &sb);
    ok(dec_sb(PROTO_SUBMIT, &m) == 0 && !m.ev.has_coords && m.ev.lat == 0,
       "SUBMIT: no coordinates at all is fine");

    /* A terminal cannot set what only the store sets. */
    edit(PROTO_SUBMIT, "state", &(tval)TS("closed"));
    ok(dec_sb(PROTO_SUBMIT, &m) == 0 && m.ev.state == 0 && m.ev.seq == 0 && !m.ev.team,
       "SUBMIT ignores state, seq and team");
}

/* raw decodes bytes as cmd and expects code and a reason containing what. */
static void raw(int cmd, const void *bytes, size_t len, int code, const char *what,
                const char *name)
{
    proto_msg m;
    int rc = dec(cmd, bytes, len, &m);
    if (!ok(rc == code && strstr(why, what), "%s", name))
        diag("got %d \"%s\"", rc, why);
}

static void test_framing(void)
{
    static unsigned char buf[GL_MAX_BODY + 2];
    proto_msg m;
    raw(PROTO_PING, "", 0, GL_EBADBODY, "empty", "empty body is bad_body");
    raw(PROTO_PING, NULL, 0, GL_EBADBODY, "empty", "NULL body is bad_body");
    raw(PROTO_PING, "\x80", 1, 0, "", "empty map is a valid PING body");
    raw(PROTO_PING, "\xc1", 1, GL_EBADBODY, "not msgpack", "0xc1 is not msgpack");
    raw(PROTO_PING, "hello, world", 12, GL_EBADBODY, "", "text is not a body");
    raw(PROTO_SHOW, "{\"id\":\"x\"}", 10, GL_EBADBODY, "", "JSON is not a body");
    raw(PROTO_PING, "\x91\x80", 2, GL_EBADBODY, "must be a msgpack map", "array is not a map");
    raw(PROTO_PING, "\x2a", 1, GL_EBADBODY, "must be a msgpack map", "integer is not a map");
    raw(PROTO_PING, "\xa3" "abc", 4, GL_EBADBODY, "must be a msgpack map", "str is not a map");
    raw(PROTO_PING, "\x81\x01\xa1x", 4, GL_EBADBODY, "keys must be strings", "integer key");
    raw(PROTO_PING, "\x81\xc0\x01", 3, GL_EBADBODY, "keys must be strings", "nil key");
    raw(PROTO_PING, "\x80\x80", 2, GL_EBADBODY, "trailing", "two maps");
    raw(PROTO_SHOW, "\x82\xa2id\xa1x\xa2id\xa1y", 11, GL_EBADFIELD, "'id' appears twice",
        "a key twice");
    raw(PROTO_SUBMIT, "\x82\xa4text\xa2\xe4\xb8\xa1x\xc0", 12, GL_EBADFIELD, "UTF-8",
        "a UTF-8 sequence cut at the end of its string");
    /* Bodies that declare more than they hold: refused before any allocation. */
    raw(PROTO_PING, "\x81\xa1x\xdd\xff\xff\xff\xff", 8, GL_EBADBODY, "truncated",
        "array32 of 2^32-1 elements in 8 bytes");
    raw(PROTO_PING, "\x81\xa1x\xdf\xff\xff\xff\xff", 8, GL_EBADBODY, "truncated",
        "map32 of 2^32-1 pairs");
    raw(PROTO_PING, "\xdf\xff\xff\xff\xff", 5, GL_EBADBODY, "truncated", "top map32 bomb");
    raw(PROTO_PING, "\x81\xa1x\xdb\xff\xff\xff\xff", 8, GL_EBADBODY, "truncated", "str32 bomb");
    raw(PROTO_PING, "\x81\xa1x\xc6\x00\x01\x00\x00", 8, GL_EBADBODY, "truncated", "bin32 bomb");
    raw(PROTO_PING, "\x81\xa1x\xc9\x00\x00\x00\x05\x01", 9, GL_EBADBODY, "truncated",
        "ext32 short");
    raw(PROTO_PING, "\x81\xa1x\xd8\x01", 5, GL_EBADBODY, "truncated", "fixext16 short");
    raw(PROTO_PING, "\x81\xa1x\xd4\x01\x02", 6, 0, "", "an ext value under an unknown key");

    body_of(PROTO_SUBMIT);
    int all = 1;
    for (size_t n = 1; n < sb.size; n++)
        all &= dec(PROTO_SUBMIT, sb.data, n, &m) == GL_EBADBODY;
    ok(all, "every strict prefix of a SUBMIT body (%zu bytes) is bad_body", sb.size);
    memcpy(buf, sb.data, sb.size);
    buf[sb.size] = 0xc0;
    raw(PROTO_SUBMIT, buf, sb.size + 1, GL_EBADBODY, "1 trailing byte", "trailing nil");

    /* Size: exactly GL_MAX_BODY is accepted, one byte more is too_large. */
    static char pad[GL_MAX_BODY];
    memset(pad, 'p', sizeof pad);
    tval v = v_strn(pad, 300);
    edit(PROTO_SUBMIT, "pad", &v);
    v.n = 300 + GL_MAX_BODY - sb.size;
    edit(PROTO_SUBMIT, "pad", &v);
    ok(sb.size == GL_MAX_BODY && dec_sb(PROTO_SUBMIT, &m) == 0,
       "a body of exactly %d bytes decodes", GL_MAX_BODY);
    v.n++;
    edit(PROTO_SUBMIT, "pad", &v);
    expect(PROTO_SUBMIT, GL_ETOOLARGE, "65537", "a body of 65537 bytes");

    /* Nesting: 10000 levels, and the limit of 8 containers. */
    size_t n = 0;
    for (int i = 0; i < 10000; i++)
        memcpy(buf + n, "\x81\xa1" "a", 3), n += 3;
    buf[n++] = 0x80;
    raw(PROTO_PING, buf, n, GL_EBADBODY, "deeper than 8", "maps nested 10000 deep");
    memset(buf, 0x91, 40000);
    buf[40000] = 0xc0;
    raw(PROTO_PING, buf, 40001, GL_EBADBODY, "deeper", "arrays nested 40000 deep");
    memcpy(buf, "\x83\xa5" "event", 7);
    memset(buf + 7, 0x91, 9000);
    raw(PROTO_EVENT, buf, 7 + 9000, GL_EBADBODY, "deeper", "deep value of a known key");
    for (int depth = 7; depth <= 8; depth++) {
        n = 0;
        memcpy(buf, "\x81\xa3zzz", 5), n = 5;
        memset(buf + n, 0x91, (size_t)depth), n += (size_t)depth;
        buf[n++] = 0xc0;
        raw(PROTO_PING, buf, n, depth == 7 ? 0 : GL_EBADBODY, depth == 7 ? "" : "deeper",
            depth == 7 ? "8 levels of containers are fine" : "9 levels are bad_body");
    }

    /* Unknown keys are ignored, whatever their value. */
    edit(PROTO_SUBMIT, "zzz_future", &(tval){'M', 0, 0, 0, NULL, 0});
    gl_event want = full_msg(PROTO_SUBMIT).ev; /* less what SUBMIT does not carry */
    want.seq = want.created_ms = want.updated_ms = 0, want.state = 0, want.team = NULL;
    want.plan_step = 0, want.escalate_at_ms = 0, want.alarm = NULL;
    want.sign_by_ms = want.due_ms = want.remind_at_ms = want.lease_until_ms = 0;
    want.close_at_ms = want.extension_ms = 0, want.rating = NULL, want.duplicate_of = NULL;
    ok(dec_sb(PROTO_SUBMIT, &m) == 0 && same_event(&m.ev, &want),
       "SUBMIT: an unknown key is ignored and the rest decodes");
    edit(PROTO_EVENT, "dispatches.0.priority", &(tval){'I', -5, 0, 0, NULL, 0});
    expect(PROTO_EVENT, 0, NULL, "unknown key inside a record is ignored");
}

static void test_records(void)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_msg in = full_msg(PROTO_EVENT), m;
    gl_dispatch small = {.event = "e", .team = "t", .state = GL_DS_PENDING};
    /* Arrays: 1001 elements too many, non-map elements refused. */
    for (int count = 1000; count <= 1001; count++) {
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "event", 5);
        proto_pack_event(&pk, &in.ev);
        msgpack_pack_str_with_body(&pk, "history", 7);
        msgpack_pack_array(&pk, 0);
        msgpack_pack_str_with_body(&pk, "dispatches", 10);
        msgpack_pack_array(&pk, (size_t)count);
        for (int i = 0; i < count; i++)
            proto_pack_dispatch(&pk, &small);
        if (count == 1000)
            ok(dec_sb(PROTO_EVENT, &m) == 0 && m.ndispatches == 1000 && m.nhistory == 0 &&
                   same_dispatch(&m.dispatches[999], &small),
               "EVENT with 1000 dispatches decodes");
        else
            expect(PROTO_EVENT, GL_EBADFIELD, "'dispatches' has more than 1000", "1001 dispatches");
    }
    edit(PROTO_EVENT, "history", &(tval){'I', 0, 0, 0, NULL, 0});
    expect(PROTO_EVENT, GL_EBADFIELD, "'history' must be an array", "history as an integer");
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "event", 5);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_str_with_body(&pk, "dispatches", 10);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_str_with_body(&pk, "history", 7);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int(&pk, 1);
    expect(PROTO_EVENT, GL_EBADFIELD, "keys of 'event' must be strings", "integer key in event");

    /* DISPATCH without detail: seq still arrives, the event map stays empty. */
    in = full_msg(PROTO_DISPATCH);
    in.ev = (gl_event){.seq = 42};
    in.attempts = 0;
    msgpack_sbuffer_clear(&sb);
    ok(proto_encode(&in, &sb) == 0 && dec_sb(PROTO_DISPATCH, &m) == 0 && m.ev.seq == 42 &&
           !m.ev.id && m.attempts == 0,
       "DISPATCH without detail or attempts round-trips");

    /* The record packers emit exactly the record keys of PROTOCOL.md. */
    gl_dispatch d = full_dispatches[0];
    d.next_retry_ms = 5;
    gl_event ev = full_msg(PROTO_EVENT).ev;
    static const char *const names[] = {"event", "dispatch", "history"};
    for (int r = 0; r < 3; r++) {
        const char *const *keys = r == 0 ? event_keys : r == 1 ? dispatch_keys : history_keys;
        size_t nkeys = r == 0 ? GL_ARRAY_LEN(event_keys)
                       : r == 1 ? GL_ARRAY_LEN(dispatch_keys) : GL_ARRAY_LEN(history_keys);
        msgpack_sbuffer_clear(&sb);
        if (r == 0)
            proto_pack_event(&pk, &ev);
        else if (r == 1)
            proto_pack_dispatch(&pk, &d);
        else
            proto_pack_history(&pk, &full_history[1]);
        size_t found = 0; /* each key appears as a str followed by its value */
        for (size_t k = 0; k < nkeys; k++) {
            char key[32] = {(char)(0xa0 | strlen(keys[k]))};
            memcpy(key + 1, keys[k], strlen(keys[k]));
            found += memmem(sb.data, sb.size, key, strlen(keys[k]) + 1) != NULL;
        }
        ok((unsigned char)sb.data[0] == (nkeys > 15 ? 0xde : 0x80 | nkeys) && found == nkeys,
           "%s record map has its %zu keys", names[r], nkeys);
    }
    msgpack_sbuffer_clear(&sb);
    proto_pack_event(&pk, &(gl_event){.id = "x", .kind = GL_KIND_REQUEST});
    ok(sb.size == 1 + 3 + 2 + 5 + 8 && (unsigned char)sb.data[0] == 0x82,
       "absent record fields are omitted (%zu bytes)", sb.size);
}

static void test_encoder(void)
{
    proto_msg m = {.cmd = PROTO_SUBMIT,
                   .ev = {.id = "t-1", .kind = GL_KIND_REQUEST, .category = "repair",
                          .text = "tap drips"}};
    msgpack_sbuffer_clear(&sb);
    ok(proto_encode(&m, &sb) == 0 && (unsigned char)sb.data[0] == 0x84,
       "SUBMIT with only required fields is a map of 4 keys");
    proto_msg f = full_msg(PROTO_FILED);
    f.duplicate = 0;
    f.rid = 0;
    msgpack_sbuffer_clear(&sb);
    ok(proto_encode(&f, &sb) == 0 && (unsigned char)sb.data[0] == 0x84,
       "FILED without duplicate or rid omits them");

    struct { const char *name; proto_msg m; } cases[16];
    size_t n = 0;
#define CASE(cmd_, what, stmt) do { cases[n].name = what; cases[n].m = full_msg(cmd_); \
        { proto_msg *p = &cases[n].m; stmt; } n++; } while (0)
    CASE(PROTO_SUBMIT, "id with a space", p->ev.id = "a b");
    CASE(PROTO_SUBMIT, "id of 65 bytes", p->ev.id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    CASE(PROTO_SUBMIT, "urgency not in CAP", p->ev.urgency = "immediate");
    CASE(PROTO_SUBMIT, "lat 91", p->ev.lat = 91);
    CASE(PROTO_SUBMIT, "lon NaN", p->ev.lon = NAN);
    CASE(PROTO_SUBMIT, "kind 99", p->ev.kind = 99);
    CASE(PROTO_SUBMIT, "text not UTF-8", p->ev.text = "\xff");
    CASE(PROTO_FILED, "state 99", p->ev.state = 99);
    CASE(PROTO_RESULT, "dispatch state -1", p->state = -1);
    CASE(PROTO_EVENT, "1001 dispatches", p->ndispatches = 1001);
    CASE(PROTO_EVENT, "dispatches NULL with a count", p->dispatches = NULL);
    CASE(PROTO_EVENT, "event map without state", p->ev.state = 0);
    CASE(PROTO_DISPATCH, "detail without kind", p->ev.kind = 0);
    CASE(PROTO_JOB, "client of 256 bytes", p->client_len = 256);
    CASE(PROTO_JOB, "lane not alert|routine", p->lane = "urgent");
    CASE(PROTO_HELLO, "team of 65 bytes", p->team = "ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt");
#undef CASE
    for (size_t i = 0; i < n; i++) {
        msgpack_sbuffer_clear(&sb);
        int rc = proto_encode(&cases[i].m, &sb);
        ok(rc == GL_EBADFIELD && sb.size == 0, "encoder refuses %s: %s",
           proto_cmd_name(cases[i].m.cmd), cases[i].name);
    }

    /* Too large: nothing is appended, earlier content is kept. */
    static char note[GL_MAX_TEXT + 1];
    static gl_dispatch many[20];
    memset(note, 'n', GL_MAX_TEXT);
    for (int i = 0; i < 20; i++)
        many[i] = (gl_dispatch){.event = EVID, .team = "t", .state = GL_DS_PENDING, .note = note};
    proto_msg big = full_msg(PROTO_EVENT);
    big.dispatches = many;
    big.ndispatches = 20;
    msgpack_sbuffer_clear(&sb);
    msgpack_sbuffer_write(&sb, "abc", 3);
    ok(proto_encode(&big, &sb) == GL_ETOOLARGE && sb.size == 3,
       "an EVENT over 64 KiB is too_large and appends nothing");
    proto_msg ping = {.cmd = PROTO_PING};
    ok(proto_encode(&ping, &sb) == 0 && sb.size == 4 && (unsigned char)sb.data[3] == 0x80,
       "proto_encode appends (PING is the empty map 0x80)");
    ping.cmd = PROTO_NONE;
    is_int(proto_encode(&ping, &sb), GL_EUNKNOWNCMD, "encoding PROTO_NONE");
    ping.cmd = PROTO_CMD_COUNT;
    is_int(proto_encode(&ping, &sb), GL_EUNKNOWNCMD, "encoding an out-of-range command");
}

static void test_decoder_contract(void)
{
    proto_msg m;
    memset(&m, 0xff, sizeof m);
    ok(dec(PROTO_PING, "\x80", 1, &m) == 0 && m.cmd == PROTO_PING && m.rid == 0 && !m.team &&
           !m.ev.id && m.ndispatches == 0,
       "decode zeroes the message first");
    is_int(dec(PROTO_NONE, "\x80", 1, &m), GL_EUNKNOWNCMD, "decoding PROTO_NONE");
    is_int(dec(999, "\x80", 1, &m), GL_EUNKNOWNCMD, "decoding command 999");
    is_int(proto_decode(PROTO_SHOW, "\x80", 1, &m, &arena, NULL, 0), GL_EMISSING,
           "errbuf may be NULL");
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    proto_decode(PROTO_SHOW, "\x80", 1, &m, &arena, tiny, sizeof tiny);
    ok(memchr(tiny, '\0', sizeof tiny) != NULL, "a short errbuf is truncated, NUL-terminated");
    body_of(PROTO_SUBMIT);
    int rc = dec_sb(PROTO_SUBMIT, &m);
    memset(sb.data, 0, sb.size);
    ok(rc == 0 && strcmp(m.ev.text, full_msg(PROTO_SUBMIT).ev.text) == 0 &&
           strcmp(m.ev.id, EVID) == 0,
       "decoded strings live in the arena, not in the body");
}

int main(void)
{
    msgpack_sbuffer_init(&sb);
    test_names();
    test_round_trips();
    test_required();
    test_types();
    test_values();
    test_framing();
    test_records();
    test_encoder();
    test_decoder_contract();
    msgpack_sbuffer_destroy(&sb);
    arena_free(&arena);
    return done_testing();
}
