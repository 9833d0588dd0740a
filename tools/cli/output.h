/* output.h — what bin/gridline prints: a readable text form, or with --json
 * one compact JSON object per line. JSON records use the wire keys
 * (PROTOCOL.md "Record maps"): they are made by packing the record with the
 * codec's proto_pack_* and converting the msgpack map, so the two cannot
 * drift apart. Every function flushes stdout (listen output goes to pipes). */
#ifndef GL_CLI_OUTPUT_H
#define GL_CLI_OUTPUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../../proto/client.h"
#include "../../proto/proto.h"

/* out_filed prints a push result: "filed ID seq N[ (duplicate)]", or
 * {"id","seq","kind","state","duplicate"}. */
void out_filed(const client_filed *f, int json);

/* out_changed prints an update or cancel result (verb "update" or "cancel"):
 * "updated ID seq N (KIND): state STATE" / "cancelled ID seq N (KIND): state
 * STATE", or {"id","seq","kind","state"}. */
void out_changed(const char *verb, const client_filed *f, int json);

/* What some acts add to their outcome: the team a redirect gave the event
 * to, the event a merge made it a duplicate of, the due time an extend asked
 * for. NULL / 0 when not given. */
typedef struct out_act_extra {
    const char *to;
    const char *into;
    uint64_t extension_ms;
} out_act_extra;

/* out_result prints the outcome of an act (ack, accept, claim, redirect,
 * ...): "VERB EVENT team TEAM[ to T| into E| asking until ISO]: dispatch
 * STATE, event STATE[, lease until ISO]", or {"event","team","act","state",
 * "event_state"} plus "to", "into", "extension_ms" and "extension" (ISO),
 * and "until_ms" and "until" (ISO) when RESULT named a lease end. x may be
 * NULL. */
void out_result(const char *verb, const char *event, const char *team,
                const client_result *r, const out_act_extra *x, int json);

/* out_rated prints a rate result: "rated ID seq N (KIND) RATING: state
 * STATE", or {"id","seq","kind","state","rating"}. */
void out_rated(const client_filed *f, const char *rating, int json);

/* out_board prints a LISTING: a header line "board COMMUNITY: N open to
 * claim", then per event "ID seq N CATEGORY at GRID since ISO: TEXT" (one
 * line each); or one JSON object per event with the event's keys (§7.1,
 * "kind", "state", "category", ...) plus "created" (ISO). */
void out_board(const char *community, const proto_msg *m, int json);

/* out_track prints a TRACKING reply in the manner of an Open311 GeoReport
 * v2 service request: service_request_id, status ("open" for filed,
 * dispatched and accepted; "closed" for resolved, closed, cancelled and
 * merged) with the exact gridline state, agency_responsible (the team that
 * holds it), expected_datetime (due), updated_datetime, status_notes (the
 * latest note), duplicate_of when set, and the request's own service_code,
 * description, address, lat/long and requested_datetime. Text: one
 * "key value" line each; JSON: one object whose Open311 keys are always
 * present (null when unknown), duplicate_of only when set. */
void out_track(const proto_msg *m, int json);

/* out_status prints a FIGURES reply (output_status.c): with json one object
 * {"at": ISO, "at_ms", "broker": {...}, "store": {...} or null} made by
 * converting the two msgpack maps key by key, so new figures pass through;
 * else a readable summary of lanes, workers, responders, the store and the
 * counters that shows the figures it knows and lists unknown ones after
 * them, and shows "-" for a figure that is missing. */
void out_status(const proto_msg *m, int json);

/* out_status_metrics prints the broker's metrics of a FIGURES reply (filed
 * by kind, errors by code, redeliveries, filing latency per lane) as text
 * (output_metrics.c); nothing for a broker that does not send them. */
void out_status_metrics(const json_t *broker);

/* out_msgpack_json converts len bytes of msgpack (one object) to JSON: maps
 * with string keys become objects (other keys are skipped), bin and ext
 * become null. NULL when data is NULL or does not unpack. */
json_t *out_msgpack_json(const void *data, size_t len);

/* out_json_line prints j compactly on one line, flushes, and frees j. */
void out_json_line(json_t *j);

/* out_show prints an EVENT reply: a text block (event, its response-plan
 * step, escalation deadline and alarm, its time limits — sign by, due,
 * reminder, lease, closing — an extension asked for, the rating and the
 * event it duplicates, when it has them; dispatches, history; times in UTC
 * ISO-8601), or one line {event keys..., "escalate_at", "sign_by", "due",
 * "remind_at", "lease_until", "close_at", "extension" (UTC, beside their
 * *_ms keys), "dispatches": [...], "history": [{at, at_ms, no, who, what,
 * note}]}. */
void out_show(const proto_msg *m, int json);

/* out_dispatch / out_notice print one message received by listen, on one
 * line: "dispatch EVENT seq N team T role R state S attempts A: ..." and
 * "notice EVENT team T: WHAT[ by BY][: NOTE]" (line breaks inside texts are
 * shown as spaces), or {"type":"dispatch", event, seq, team, role, state,
 * attempts, detail} and {"type":"notice", event, team, what, note, by}. */
void out_dispatch(const proto_msg *m, int json);
void out_notice(const proto_msg *m, int json);

/* out_pong prints a ping's answer. */
void out_pong(const char *endpoint, uint64_t ms, int json);

#endif
