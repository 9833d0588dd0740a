/* proto.h — the gridline wire protocol: commands, message bodies, and the one
 * msgpack codec every component uses. proto/PROTOCOL.md is the specification;
 * this header is its C face.
 *
 * A message is three ZeroMQ frames: the signature "GL/1", the command name in
 * ASCII ("SUBMIT"), and a body that is one msgpack map. Envelope commands
 * between broker and workers (JOB, DONE, DELIVER) carry two more frames: the
 * inner command and the inner body, forwarded untouched (see frame.h). */
#ifndef GL_PROTO_H
#define GL_PROTO_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/gl.h"
#include "../common/records.h"

#define PROTO_SIGNATURE "GL/1"
#define PROTO_SIGNATURE_LEN 4

enum proto_cmd {
    PROTO_NONE = 0,
    /* terminal → broker (intake endpoint), and replies */
    PROTO_SUBMIT,    /* body: event fields (see PROTOCOL.md) */
    PROTO_FILED,     /* reply: id, seq, kind, state, duplicate */
    PROTO_BUSY,      /* reply: retry_after_ms, id? */
    PROTO_ERROR,     /* reply: code, name, reason, id? */
    PROTO_SHOW,      /* id → EVENT (also accepted on the responders endpoint) */
    PROTO_EVENT,     /* reply: event (map), dispatches (array), history (array) */
    PROTO_PING,      /* liveness probe, any endpoint → PONG */
    PROTO_PONG,
    /* responder → broker (responders endpoint), and broker → responder */
    PROTO_HELLO,     /* team, member → WELCOME; then DISPATCH/NOTICE flow */
    PROTO_WELCOME,   /* team, member, heartbeat_ms */
    PROTO_HEARTBEAT, /* empty map, both directions, on responder and worker links */
    PROTO_ACK,       /* event, team, member?, note? → RESULT */
    PROTO_ACCEPT,
    PROTO_DECLINE,   /* note is the reason (required) */
    PROTO_RESOLVE,
    PROTO_RESULT,    /* reply: event, team, state (dispatch), event_state */
    PROTO_DISPATCH,  /* broker → responder: event, seq, team, role, state, attempts, detail */
    PROTO_NOTICE,    /* broker → responder: event, team, what, note?, by? */
    PROTO_BYE,       /* responder leaving (no reply) */
    /* worker ↔ broker (workers endpoint) */
    PROTO_READY,     /* worker → broker: worker, credit, pid?, host?, lanes? */
    PROTO_JOB,       /* broker → worker: header job, client, origin, lane; + inner cmd, body */
    PROTO_DONE,      /* worker → broker: header job, client, origin; + inner reply cmd, body */
    PROTO_DELIVER,   /* worker → broker: header team; + inner DISPATCH/NOTICE, body */
    PROTO_PRESENCE,  /* broker → worker: team, member (a responder said HELLO) */
    /* terminal → broker (intake), added in protocol 1.1 (compatible) */
    PROTO_UPDATE,    /* id, terminal?, text?, urgency?, severity?, certainty?, note? → CHANGED */
    PROTO_CANCEL,    /* id, terminal?, note? → CHANGED */
    PROTO_CHANGED,   /* reply: id, seq, kind, state (as FILED) */
    PROTO_STATUS,    /* operator → broker (intake or responders): → FIGURES */
    PROTO_FIGURES,   /* reply: at_ms, broker (map), store (map, from the latest REPORT) */
    PROTO_REPORT,    /* worker → broker, every heartbeat: worker, store (map of store figures) */
    /* the county's workflows (responders endpoint unless noted) */
    PROTO_CLAIM,     /* event, team, member?, note? → RESULT (until_ms: the lease) */
    PROTO_RELEASE,   /* event, team, member?, note? → RESULT: back on the board */
    PROTO_RETURN,    /* event, team, member?, note (reason) → RESULT: 退单, to triage */
    PROTO_REDIRECT,  /* event, team, to, member?, note? → RESULT: triage re-routes */
    PROTO_CONFIRM,   /* event, team, member?, note? → RESULT: owners confirm a resolution */
    PROTO_DISPUTE,   /* event, team, member?, note (reason) → RESULT: to the community */
    PROTO_EXTEND,    /* event, team, until_ms, member?, note (reason) → RESULT: asks for time */
    PROTO_APPROVE,   /* event, team, member?, note? → RESULT: a coordinator grants it */
    PROTO_MERGE,     /* event, team, into, member?, note? → RESULT: event is a duplicate */
    PROTO_BOARD,     /* community → LISTING: what is open to claim (either endpoint) */
    PROTO_LISTING,   /* reply: events (array of event maps) */
    PROTO_RATE,      /* intake: id, terminal?, rating, note? → CHANGED */
    PROTO_TRACK,     /* intake: id → TRACKING (Open311-style status of one event) */
    PROTO_TRACKING,  /* reply: event (map, without contact), note (latest) */
    /* operators: history queries and dead letters (issue 5), intake endpoint */
    PROTO_LIST,      /* filters, limit, after → LISTING (events, next; dead letters:
                        dispatches; with history: milestones) */
    PROTO_REQUEUE,   /* id, team?, close?, note? → LISTING: dead letters sent again
                        with a fresh count (or closed) */
    /* operators' service figures (issue 5), intake endpoint */
    PROTO_SCORES,    /* since_ms, until_ms → SCORECARD (a worker reads the store) */
    PROTO_SCORECARD, /* reply: since_ms, until_ms, communities (map), total (map), scanned, truncated */
    /* worker → broker (issue 7): one commit's DONEs and DELIVERs in one message */
    PROTO_BATCH,     /* empty map; + items of 3 frames: header, inner cmd, inner body (frame.h) */
    /* worker → broker (session 7): a BATCH's items packed into one frame */
    PROTO_PACK,      /* empty map; + one ITEMS frame (pack.h); broker → worker
                        (session 8): JOBs packed the same way */
    PROTO_CMD_COUNT
};

/* A decoded message body. Which members are meaningful depends on cmd; the
 * table in PROTOCOL.md lists them per command with their wire keys. Strings
 * point into the arena passed to proto_decode. */
typedef struct proto_msg {
    int cmd;              /* enum proto_cmd */
    uint64_t rid;         /* "rid": client's request number, echoed in replies; 0 = none */

    gl_event ev;          /* SUBMIT: the event; FILED: id, seq, kind, state;
                             SHOW: id; EVENT: "event" map; DISPATCH: "detail" map */

    /* responder commands, RESULT, DISPATCH, NOTICE */
    const char *event;    /* "event": event id */
    const char *team;     /* "team" */
    const char *member;   /* "member" */
    const char *note;     /* "note"; UPDATE/CANCEL: the terminal's reason */
    const char *role;     /* "role" (DISPATCH) */
    const char *what;     /* "what" (NOTICE): "taken", "cancelled", ... */
    const char *by;       /* "by" (NOTICE): team that caused it */
    const char *to;       /* "to" (REDIRECT): the team the event goes to */
    const char *into;     /* "into" (MERGE): the event id it duplicates */
    uint64_t until_ms;    /* "until_ms": EXTEND's new due time; RESULT: a claim's lease */
    int state;            /* "state": dispatch state (RESULT, DISPATCH) */
    int event_state;      /* "event_state" (RESULT) */
    uint32_t attempts;    /* "attempts" (DISPATCH) */
    int duplicate;        /* "duplicate" (FILED): 1 when the id was filed before */

    /* ERROR / BUSY */
    uint32_t code;        /* "code": positive wire code, -GL_E* */
    const char *reason;   /* "reason" */
    uint32_t retry_after_ms; /* "retry_after_ms" */

    /* WELCOME / READY */
    uint32_t heartbeat_ms;   /* "heartbeat_ms" */
    const char *worker;      /* "worker": worker name */
    uint32_t credit;         /* "credit": jobs the worker will take at once */
    uint32_t pid;            /* "pid" (READY): the worker's process id, for fencing */
    const char *host;        /* "host" (READY): the worker's host name */

    /* JOB / DONE / DELIVER headers */
    uint64_t job;            /* "job": broker's job number */
    const void *client;      /* "client": bin, the ROUTER identity of the requester */
    size_t client_len;
    const char *origin;      /* "origin": "intake" or "responders" */
    const char *lane;        /* "lane": "alert" or "routine"; READY's "lanes":
                                "all", "alert" or "routine" */

    /* FIGURES / REPORT: maps of figures carried as msgpack bytes (keys in
     * PROTOCOL.md, "Status"), so new figures need no codec change */
    uint64_t at_ms;              /* "at_ms": when the figures were taken */
    const void *broker_figures;  /* "broker" */
    size_t broker_figures_len;
    const void *store_figures;   /* "store" */
    size_t store_figures_len;

    /* LISTING reply */
    gl_event *events;        /* "events": array of event maps */
    size_t nevents;

    /* EVENT reply */
    gl_dispatch *dispatches; /* "dispatches": array of dispatch maps */
    size_t ndispatches;
    gl_history *history;     /* "history": array of history maps */
    size_t nhistory;

    /* JOB header, with CURVE: the sender's "role" (above) and its "scope" */
    const char *scope;
    /* LIST / REQUEUE (issue 5); LIST also filters by ev.kind, ev.state,
     * ev.community, ev.grid, team and until_ms ("until_ms": filed before) */
    uint64_t since_ms;       /* "since_ms": filed at or after */
    uint32_t limit;          /* "limit": most events in one LISTING */
    int overdue;             /* "overdue": only events with the alarm overdue */
    int dead;                /* "dead": the dead letters instead of events */
    int with_history;        /* "history": add each event's milestones */
    int close;               /* "close" (REQUEUE): close the dead letters instead */
    const char *after;       /* "after": the cursor from the previous LISTING's next */
    const char *next;        /* "next" (LISTING): the cursor of the next page; absent
                                at the end */
    /* SCORES / SCORECARD: the period (since_ms, until_ms above), and the
     * figures per community and in all as msgpack maps (PROTOCOL.md §4) */
    const void *scores;      /* "communities": community → figures map */
    size_t scores_len;
    const void *scores_total; /* "total": the figures of every community together */
    size_t scores_total_len;
    uint64_t scanned;        /* "scanned": events read */
    int truncated;           /* "truncated": the scan stopped at its limit */
    /* READY (session 8): the worker takes its JOBs packed, several in one
     * PACK (PROTOCOL.md §6) */
    int pack;                /* "pack" */
} proto_msg;

/* proto_cmd_name returns the wire name of a command ("SUBMIT"), or NULL for
 * an out-of-range value. */
const char *proto_cmd_name(int cmd);

/* proto_cmd_parse maps a command frame (len bytes, not NUL-terminated) to its
 * enum value; PROTO_NONE if unknown. */
int proto_cmd_parse(const void *data, size_t len);

/* proto_encode appends the msgpack body of m (for m->cmd) to buf. Absent
 * (NULL / zero) optional fields are omitted; required numbers are always
 * written, 0 included. Returns 0, or GL_EBADFIELD when a required string,
 * enum, bin or map is absent or a value would not decode (the encoder never
 * emits what the decoder would refuse — so an ERROR's id must be a valid
 * event id), GL_ETOOLARGE when the body would exceed GL_MAX_BODY,
 * GL_EUNKNOWNCMD for a bad m->cmd, GL_EINTERNAL when memory runs out. The
 * ERROR "name" key is derived from code. */
int proto_encode(const proto_msg *m, msgpack_sbuffer *buf);

/* proto_decode parses body (len bytes) as the body of command cmd into m
 * (zeroed first; m->cmd = cmd). Strings are copied into arena. Returns 0, or
 * GL_ETOOLARGE, GL_EBADBODY, GL_EMISSING, GL_EBADFIELD, GL_EUNKNOWNKIND,
 * GL_EUNKNOWNCMD, GL_EINTERNAL (ENOMEM). On error, if errbuf is not NULL,
 * a reason naming the field ("missing field 'text'") is written to it, and
 * the fields decoded before the failure stay set (each passed its checks, so
 * an ERROR reply can echo the id). Unknown keys are ignored (forward
 * compatibility). In DISPATCH, "seq" and the "detail" map both land in m->ev. */
int proto_decode(int cmd, const void *body, size_t len, proto_msg *m,
                 gl_arena *arena, char *errbuf, size_t errlen);

/* proto_pack_event / proto_pack_dispatch / proto_pack_history write one
 * record as a msgpack map with the wire keys (used by encoders and by the
 * CLI's JSON output through the same key names). */
void proto_pack_event(msgpack_packer *pk, const gl_event *ev);
void proto_pack_dispatch(msgpack_packer *pk, const gl_dispatch *d);
void proto_pack_history(msgpack_packer *pk, const gl_history *h);

/* ---- Encoding on the hot path (issue 7) ----------------------------------
 * A worker sends the same event as the "detail" of each of its DISPATCHes:
 * it encodes that map once and splices the bytes into every body. Strings a
 * worker took from a decoded message, the directory or the store were
 * checked on their way in; their UTF-8 need not be walked again. */

/* PROTO_ENC_TRUSTED: every string of the message was checked before (decoded
 * by proto_decode, or read from the directory or the store), so the encoder
 * does not check its UTF-8 again. Lengths, ids and value lists are still
 * checked. Never for text made here (snprintf can cut a character). */
#define PROTO_ENC_TRUSTED 1

/* proto_encode_ex is proto_encode with flags (PROTO_ENC_*) and, for a body
 * that has a map of event fields (DISPATCH "detail", EVENT and TRACKING
 * "event"), that map already encoded: event_map (event_map_len bytes, made
 * by proto_encode_event) is written as it is in place of m->ev's fields;
 * NULL encodes m->ev. The bytes are the same as proto_encode's. Returns as
 * proto_encode; GL_EBADFIELD also when event_map is given to a body without
 * such a map, or is not a map. */
int proto_encode_ex(const proto_msg *m, int flags, const void *event_map, size_t event_map_len,
                    msgpack_sbuffer *buf);

/* proto_encode_event appends ev to buf as one event map, checked as
 * proto_encode checks the event map of a body (flags: PROTO_ENC_*). Returns
 * 0, GL_EBADFIELD, GL_ETOOLARGE or GL_EINTERNAL. */
int proto_encode_event(const gl_event *ev, int flags, msgpack_sbuffer *buf);

/* proto_map_without appends to buf the msgpack map (len bytes) without its
 * entry named key, if it has one: the bytes proto_encode_event makes of the
 * same record with that field absent (DISPATCH "detail" without "contact").
 * Returns 0, GL_EBADBODY when map is not one whole map, GL_EINTERNAL. */
int proto_map_without(const void *map, size_t len, const char *key, msgpack_sbuffer *buf);

/* proto_event_same returns 1 when a and b encode to the same event map
 * (every field the map carries is equal; strings by content), else 0. */
int proto_event_same(const gl_event *a, const gl_event *b);

/* proto_event_copy copies src into dst with the strings of its map in arena.
 * Returns 0 or GL_EINTERNAL (out of memory; dst is then partly copied). */
int proto_event_copy(gl_event *dst, const gl_event *src, gl_arena *arena);

/* proto_decode_flat decodes body like proto_decode, faster, when it is a
 * flat map in the common forms: every key known to cmd's table and seen
 * once, every value a string, unsigned integer, boolean, float or binary
 * of that row's type, and no map or array. Returns 0 with m as
 * proto_decode would fill it (strings copied into arena), or 1 when the
 * body is anything else, valid or not: then call proto_decode, which
 * decides, and words the error. It never accepts what proto_decode would
 * refuse. */
int proto_decode_flat(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena);

/* ---- Bodies the broker checked (session 8) --------------------------------
 * A JOB's inner body is a client's request as the broker received it: the
 * broker decoded it (proto_decode_flat or proto_decode, every check) before
 * it queued the job, and forwards the same bytes. The worker decoding it
 * again need not walk its strings' UTF-8 a second time. */

/* PROTO_DEC_TRUSTED: the body's strings were checked as UTF-8 before (by
 * the broker that forwarded it); proto_decode_flat_ex leaves that check
 * out. Everything else is checked as proto_decode_flat checks it: the
 * shape, every type, lengths, NUL bytes, ids, value lists, required keys. */
#define PROTO_DEC_TRUSTED 1

/* proto_decode_flat_ex is proto_decode_flat with flags (PROTO_DEC_*).
 * Returns 0, or 1 for a body it does not take: call proto_decode then,
 * which checks everything and words the error. */
int proto_decode_flat_ex(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena,
                         int flags);

#endif
