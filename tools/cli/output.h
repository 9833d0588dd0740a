/* output.h — what bin/gridline prints: a readable text form, or with --json
 * one compact JSON object per line. JSON records use the wire keys
 * (PROTOCOL.md "Record maps"): they are made by packing the record with the
 * codec's proto_pack_* and converting the msgpack map, so the two cannot
 * drift apart. Every function flushes stdout (listen output goes to pipes). */
#ifndef GL_CLI_OUTPUT_H
#define GL_CLI_OUTPUT_H

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

/* out_result prints the outcome of ack/accept/decline/resolve. */
void out_result(const char *verb, const char *event, const char *team,
                const client_result *r, int json);

/* out_show prints an EVENT reply: a text block (event, its response-plan
 * step, escalation deadline and alarm when it has them, dispatches, history,
 * times in UTC ISO-8601), or one line {event keys..., "escalate_at" (UTC, with
 * escalate_at_ms), "dispatches": [...], "history": [{at, at_ms, no, who, what,
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
