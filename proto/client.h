/* client.h — the C client API that terminals and responders link.
 *
 * Two kinds of handle, both over ZeroMQ DEALER sockets with ZMQ_LINGER 0:
 *
 *   client           one request at a time, one reply per request, on the
 *                    intake endpoint (terminals: SUBMIT, UPDATE, CANCEL, RATE,
 *                    TRACK, SHOW, PING) or the responders endpoint (teams:
 *                    ACK, ACCEPT, DECLINE, RESOLVE and the workflow acts
 *                    CLAIM ... MERGE, SHOW, PING); BOARD and STATUS go to
 *                    either, whichever the handle was opened on. Reliability
 *                    is Lazy Pirate
 *                    (PROTOCOL.md, "Client retry rules"): when no reply comes
 *                    within timeout_ms the socket is closed, a fresh one is
 *                    connected and the SAME request (same event id, same rid)
 *                    is sent again, at most `retries` times; an ERROR with a
 *                    3xx code (unavailable, storage_error, ...) is resent
 *                    after a backoff of 100 ms, doubling up to timeout_ms,
 *                    counted against the same `retries`; a BUSY reply is
 *                    honoured by sleeping retry_after_ms (plus up to 10%
 *                    jitter) before resending, at most `busy_retries` times.
 *                    1xx and 2xx ERRORs are final.
 *   client_listener  a responder's presence on the responders endpoint: HELLO,
 *                    WELCOME, then a stream of DISPATCH and NOTICE messages,
 *                    with HEARTBEATs both ways. Liveness is Paranoid Pirate:
 *                    when nothing at all (not even a HEARTBEAT) arrives from the
 *                    broker for 3 heartbeat intervals the listener reconnects
 *                    on a fresh socket and says HELLO again; when the broker
 *                    answers a HEARTBEAT with ERROR bad_state (it restarted or
 *                    dropped the member) it says HELLO again on the same one.
 *
 * Replies are matched to requests by "rid": each call takes a new rid and
 * keeps it across its resends, so a late reply to an earlier call (a stale
 * rid) is dropped. A reply carrying no rid (rid 0: the server could not read
 * ours) is taken as the answer to the call in progress.
 *
 * Every call returns 0 or a negative GL_E* code and never aborts the
 * process. An ERROR reply from the server returns its code as -code (105 →
 * GL_EBADFIELD); client_reason() then gives the server's reason. A handle is
 * used by one thread at a time. */
#ifndef GL_CLIENT_H
#define GL_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/gl.h"
#include "../common/records.h"
#include "proto.h"

#define CLIENT_DEFAULT_TIMEOUT_MS 2500
#define CLIENT_DEFAULT_RETRIES 5
#define CLIENT_DEFAULT_BUSY_RETRIES 5
#define CLIENT_DEFAULT_HEARTBEAT_MS 1000
#define CLIENT_MAX_BUSY_WAIT_MS 60000 /* a longer retry_after_ms is clamped */

typedef struct client_opts {
    int timeout_ms;     /* wait for one reply before resending; > 0 */
    int retries;        /* resends after silence or a 3xx ERROR (attempts =
                           1 + retries); >= 0 */
    int busy_retries;   /* resends after BUSY; >= 0 */
    int heartbeat_ms;   /* listener: interval used until WELCOME names one */
    void *zmq_ctx;      /* a ZeroMQ context to share, or NULL for a private one */
    volatile sig_atomic_t *stop; /* NULL, or a flag a signal handler sets: a call
                                    interrupted by a signal while it is set
                                    gives up with GL_ESYS ("interrupted") */
    /* CURVE (PROTOCOL.md, "Security"), used on tcp:// endpoints when
     * curve_server_key is set: the broker's public key and this client's
     * key pair, 40 characters of Z85 each; "" = plain. client_opts_curve
     * fills them from key files. */
    char curve_server_key[41], curve_public_key[41], curve_secret_key[41];
} client_opts;

/* client_opts_init fills o with the defaults above and a private context. */
void client_opts_init(client_opts *o);

/* client_opts_curve sets o's CURVE keys: key_file is this principal's
 * .secret file (gridline keygen; readable by its owner only), server_key the
 * broker's public key (40 characters of Z85, or its .pub file). Both NULL:
 * nothing changes (plain). Returns 0, or GL_ECONFIG when only one is given
 * or a file is bad; then err says which file and line and why. */
int client_opts_curve(client_opts *o, const char *key_file, const char *server_key, char *err,
                      size_t errlen);

typedef struct client client;

/* client_open connects a request/reply handle to endpoint ("tcp://...",
 * "ipc://..."); opts NULL means the defaults. The endpoint is copied. Returns
 * 0 and *out; GL_ECONFIG for a malformed endpoint or bad option values,
 * GL_ESYS when ZeroMQ cannot make a context or socket, GL_EINTERNAL on
 * ENOMEM; then, if errbuf is not NULL, the reason is written to it. Connecting
 * does not wait for the broker: an absent broker shows up as GL_EUNAVAILABLE
 * on the first call. */
int client_open(client **out, const char *endpoint, const client_opts *opts,
                char *errbuf, size_t errlen);

/* client_close closes the socket (pending messages are dropped: LINGER 0),
 * terminates a private context, frees *c and sets it to NULL; NULL is fine. */
void client_close(client **c);

/* client_reason returns a description of the last failed call: the server's
 * reason for an ERROR reply, "busy, retry after N ms", or "no reply from EP
 * after N attempts". Valid until the next call on c; "" after a success. */
const char *client_reason(const client *c);

/* client_attempts returns how many times the last call sent its request. */
int client_attempts(const client *c);

typedef struct client_filed {
    char id[GL_MAX_ID + 1]; /* the event id sent: ev->id, or the one generated */
    uint64_t seq;           /* the store's sequence number */
    int kind;               /* enum gl_kind */
    int state;              /* enum gl_event_state */
    int duplicate;          /* 1 when this id had been filed before */
} client_filed;

/* client_submit sends SUBMIT for ev and waits for FILED. When ev->id is NULL
 * a time-ordered id is generated with ids_new(). out->id is set before the
 * first send — also when the call fails — so a terminal that tries again
 * later can reuse the same id and never files the event twice. Returns 0 and
 * out; GL_EBADFIELD/GL_EMISSING when ev cannot be encoded (nothing is sent);
 * -code for an ERROR reply (a 3xx code only once the retries are spent);
 * GL_EBUSY when still BUSY after busy_retries; GL_EUNAVAILABLE when no reply
 * came after 1 + retries attempts. */
int client_submit(client *c, const gl_event *ev, client_filed *out);

/* client_show sends SHOW for event id and decodes the EVENT reply into *out
 * (out->ev, out->dispatches, out->history), whose strings and arrays live in
 * arena. Returns 0, -code for an ERROR reply (GL_ENOTFOUND), GL_EBUSY or
 * GL_EUNAVAILABLE as for client_submit. */
int client_show(client *c, const char *id, proto_msg *out, gl_arena *arena);

/* client_ping sends PING and waits for PONG, with the usual retries. Returns 0
 * or GL_EUNAVAILABLE (or -code for an ERROR reply). */
int client_ping(client *c);

typedef struct client_result {
    int state;        /* enum gl_dispatch_state of (event, team) after the act */
    int event_state;  /* enum gl_event_state of the event after the act */
    uint64_t until_ms; /* a claim's lease end (CLAIM), else 0: RESULT's until_ms,
                          wall-clock ms, as the server sent it (the workflow
                          acts send the event's lease end whenever it has one) */
} client_result;

/* client_act sends cmd for event as team on the responders endpoint and
 * waits for RESULT. cmd is one of PROTO_ACK, PROTO_ACCEPT, PROTO_DECLINE,
 * PROTO_RESOLVE, and the workflow acts PROTO_CLAIM (out->until_ms: the lease
 * end), PROTO_RELEASE, PROTO_RETURN (退单), PROTO_CONFIRM, PROTO_DISPUTE and
 * PROTO_APPROVE; REDIRECT, MERGE and EXTEND carry more and have calls of
 * their own. member and note may be NULL (or ""), except that DECLINE,
 * RETURN and DISPUTE require a note (the reason). Resends follow the same
 * rules as client_submit: a repeated act is harmless — the server answers a
 * resend whose first copy took effect the same (PROTOCOL.md §11). Returns 0 and out (may be NULL); GL_EBADFIELD/GL_EMISSING
 * for a bad cmd or missing field (nothing sent); -code for an ERROR reply
 * (GL_ETAKEN, GL_ENOTYOURS, GL_EBADSTATE, GL_ENOTFOUND, ...); GL_EBUSY;
 * GL_EUNAVAILABLE. */
int client_act(client *c, int cmd, const char *event, const char *team,
               const char *member, const char *note, client_result *out);

/* client_redirect sends REDIRECT: triage, the community office or a
 * coordinator (team) gives event to the team `to` (a team id of the
 * directory), which gets a dispatch of role "assigned". note (NULL: none)
 * goes into the history. Returns as client_act; GL_EMISSING without event,
 * team or to; the server refuses bad_field for a team it does not know and
 * bad_state for a team of another role or an event past working. */
int client_redirect(client *c, const char *event, const char *team, const char *to,
                    const char *member, const char *note, client_result *out);

/* client_merge sends MERGE: event is a duplicate of the event `into` (same
 * place, same problem). A team the event was dispatched to, the community
 * office or duty team, or the county's coordinators may merge. The duplicate
 * becomes merged (duplicate_of = into), its live dispatches are cancelled and
 * its teams told. Returns as client_act; GL_EBADFIELD for a malformed into;
 * the server refuses not_found (no event `into` either), bad_field (into is
 * the event itself) and bad_state. */
int client_merge(client *c, const char *event, const char *team, const char *into,
                 const char *member, const char *note, client_result *out);

/* client_extend sends EXTEND: a team working event asks for its due time to
 * move to until_ms (wall-clock ms since the epoch), note being the reason
 * (required). The community office or the coordinators grant it with
 * client_act(PROTO_APPROVE). Returns as client_act; GL_EMISSING for until_ms
 * 0 or no note (nothing sent); the server refuses bad_field when until_ms is
 * not later than now and than the current due time. */
int client_extend(client *c, const char *event, const char *team, uint64_t until_ms,
                  const char *member, const char *note, client_result *out);

/* client_rate sends RATE on the intake endpoint and waits for CHANGED: the
 * terminal (or the resident through it) rates the outcome of a resolved
 * event. rating is "satisfied" (the event closes) or "unsatisfied" (it is
 * reopened to the team that resolved it, note being the reason); terminal and
 * note as for client_update. Returns 0 and, when out is not NULL, out->id,
 * seq, kind and state (closed, or dispatched when reopened); GL_EMISSING
 * without a rating and GL_EBADFIELD for a bad id, rating or length (nothing
 * sent); -code for an ERROR reply
 * (GL_ENOTFOUND, GL_ENOTYOURS, GL_EBADSTATE when the event is not resolved);
 * GL_EBUSY (RATE is routine work); GL_EUNAVAILABLE. A repeated rating gets
 * the same CHANGED, satisfied or not. */
int client_rate(client *c, const char *id, const char *terminal, const char *rating,
                const char *note, client_filed *out);

/* client_track sends TRACK for event id on the intake endpoint and decodes
 * the TRACKING reply into *out, strings in arena: out->ev is the event as
 * its reporter may see it (no contact; for a duplicate, the state, team, due
 * time and update time of the event it was merged into), out->note the
 * latest note of its history. Returns 0, -code for an ERROR reply
 * (GL_ENOTFOUND), GL_EBADFIELD for a bad id (nothing sent), GL_EBUSY,
 * GL_EUNAVAILABLE. */
int client_track(client *c, const char *id, proto_msg *out, gl_arena *arena);

/* client_board sends BOARD for community and decodes the LISTING reply into
 * *out, strings and array in arena: out->events[0..out->nevents), oldest
 * first, are the community's claimable requests open to claim (without the
 * reporter's contact). Returns 0 (an unknown community has an empty board),
 * GL_EMISSING without a community and GL_EBADFIELD for one longer than
 * GL_MAX_ID (nothing sent), -code for an ERROR reply, GL_EBUSY,
 * GL_EUNAVAILABLE. */
int client_board(client *c, const char *community, proto_msg *out, gl_arena *arena);

/* client_status sends STATUS, answered by the broker from memory, and
 * decodes the FIGURES reply into *out in arena: out->at_ms (wall-clock ms),
 * out->broker_figures (broker_figures_len bytes) and out->store_figures
 * (store_figures_len bytes; NULL when no worker has reported yet), each one
 * msgpack map whose keys PROTOCOL.md §7.4 lists and which may gain keys.
 * Returns 0, -code for an ERROR reply, GL_EUNAVAILABLE. */
int client_status(client *c, proto_msg *out, gl_arena *arena);

/* client_scores sends SCORES for the events filed in [since_ms, until_ms)
 * and decodes the SCORECARD reply into *out in arena: out->scores
 * (scores_len bytes, a msgpack map community → figures) and
 * out->scores_total (the figures of all), keys as in PROTOCOL.md §4
 * ("SCORES"), with out->scanned and out->truncated. Returns 0, GL_EBADFIELD
 * when until_ms is not after since_ms (nothing sent), -code for an ERROR
 * reply, GL_EBUSY, GL_EUNAVAILABLE. */
int client_scores(client *c, uint64_t since_ms, uint64_t until_ms, proto_msg *out,
                  gl_arena *arena);

/* client_update sends UPDATE for event id on the intake endpoint and waits
 * for CHANGED: the event's terminal changes what it reported (in the spirit
 * of a CAP 1.2 Update). text, urgency, severity and certainty are the new
 * values (NULL or "": unchanged) and at least one of them must be given;
 * CAP values are spelt exactly as in PROTOCOL.md §4. terminal (NULL: not
 * sent) names the terminal asking: when given it must be the one that filed
 * the event, or the server refuses not_yours. note (NULL: none) is the reason,
 * passed on to every team the event went to. An update is safe to resend
 * (the same values again), so the retry rules are client_submit's. Returns 0
 * and, when out is not NULL, out->id, seq, kind and the event's state
 * (duplicate 0); GL_EMISSING (no new value) or GL_EBADFIELD (bad id, length
 * or CAP value) with nothing sent; -code for an ERROR reply (GL_ENOTFOUND,
 * GL_ENOTYOURS, GL_EBADSTATE once the event is closed, cancelled or merged,
 * ...); GL_EBUSY; GL_EUNAVAILABLE. */
int client_update(client *c, const char *id, const char *terminal, const char *text,
                  const char *urgency, const char *severity, const char *certainty,
                  const char *note, client_filed *out);

/* client_cancel sends CANCEL for event id and waits for CHANGED: its
 * terminal withdraws the event (a false alarm). The event becomes cancelled,
 * its live dispatches are cancelled, an alert stops escalating, and every
 * team it went to is told. terminal and note as for client_update. A repeated
 * cancel gets the same CHANGED again, so the retry rules are client_submit's.
 * Returns 0 and, when out is not NULL, out->id, seq, kind and state
 * (cancelled); GL_EBADFIELD (bad id or length) with nothing sent; -code for an
 * ERROR reply (GL_ENOTFOUND, GL_ENOTYOURS, GL_EBADSTATE once the event is
 * resolved, closed or merged, ...); GL_EBUSY; GL_EUNAVAILABLE. */
int client_cancel(client *c, const char *id, const char *terminal, const char *note,
                  client_filed *out);

typedef struct client_listener client_listener;

/* client_listen_open connects to the responders endpoint, sends HELLO for
 * team and member (NULL or "" names this process: "HOSTNAME-PID"; the same
 * member is used by client_listen_act) and waits for WELCOME, resending HELLO
 * on a fresh socket after timeout_ms at most `retries` times. Returns 0 and
 * *out; GL_ECONFIG (bad endpoint), GL_EBADFIELD (team missing or too long),
 * -code for an ERROR reply to HELLO, GL_EUNAVAILABLE when never welcomed;
 * on failure *out is NULL and, if errbuf is not NULL, the reason (the
 * server's, for an ERROR reply) is written to it. */
int client_listen_open(client_listener **out, const char *endpoint, const char *team,
                       const char *member, const client_opts *opts, char *errbuf,
                       size_t errlen);

/* client_listen_next waits up to timeout_ms (-1: no limit) for the next
 * DISPATCH or NOTICE and decodes it into *out (strings in arena). Meanwhile it
 * sends HEARTBEAT every heartbeat_ms, and after 3 heartbeat intervals with
 * nothing from the broker it reconnects and sends HELLO again (the broker then
 * resends pending dispatches: a dispatch may arrive more than once). Returns
 * 0 with out->cmd PROTO_DISPATCH or PROTO_NOTICE; 0 with out->cmd PROTO_NONE
 * when the timeout passed or a signal interrupted the wait (check your
 * flag); GL_ESYS when the socket cannot be remade. Messages that cannot be
 * decoded are logged and skipped. */
int client_listen_next(client_listener *l, int timeout_ms, proto_msg *out,
                       gl_arena *arena);

/* client_listen_act acts on a dispatch as the listener's team and member,
 * like client_act (the same commands: ACK, ACCEPT, DECLINE, RESOLVE, CLAIM,
 * RELEASE, RETURN, CONFIRM, DISPUTE, APPROVE). It uses a second
 * DEALER socket to the same endpoint (opened on first use, sharing the
 * listener's context), so the RESULT never mixes with the DISPATCH stream;
 * while it waits, the listener's own socket is not read: the broker's
 * messages queue and are delivered by the next client_listen_next, and a
 * wait longer than 3 heartbeat intervals at worst costs one re-HELLO. Same
 * returns as client_act; client_listen_reason gives the reason. */
int client_listen_act(client_listener *l, int cmd, const char *event, const char *note,
                      client_result *out);

/* client_listen_reason returns the reason of the last failed
 * client_listen_act (as client_reason). */
const char *client_listen_reason(const client_listener *l);

/* client_listen_heartbeat_ms returns the interval in use (from WELCOME). */
int client_listen_heartbeat_ms(const client_listener *l);

/* client_listen_reconnects returns how many times the listener has said
 * HELLO again: on a fresh socket because the broker went silent, or on the
 * same socket because the broker answered bad_state. */
int client_listen_reconnects(const client_listener *l);

/* client_listen_close sends BYE — best effort: with LINGER 0 it may be
 * dropped, and the broker then forgets the member after 3 silent heartbeat
 * intervals anyway — closes the sockets and
 * the private context, frees *l and sets it to NULL; NULL is fine. */
void client_listen_close(client_listener **l);

/* --- operators: history queries and dead letters (issue 5, client_list.c) --- */

/* A LIST query: every set member must match (PROTOCOL.md, LIST). */
typedef struct client_list_query {
    int kind;                     /* enum gl_kind; 0: any */
    int state;                    /* enum gl_event_state; 0: any */
    const char *community, *grid, *team; /* NULL: any */
    uint64_t since_ms, until_ms;  /* filed in [since, until); 0: open */
    int overdue;                  /* only events with the alarm overdue */
    int dead;                     /* the dead letters instead of events */
    int history;                  /* add each event's milestones */
    uint32_t limit;               /* events per page; 0: the server's default (100) */
    const char *after;            /* the previous page's out->next; NULL: the first page */
} client_list_query;

/* client_list sends LIST on the intake endpoint and decodes the LISTING into
 * *out, strings and arrays in arena: out->events (oldest filed first; no
 * reporter contact), out->dispatches (q->dead: the dead letters of those
 * events), out->history (q->history: their milestones) and out->next (the
 * cursor of the next page, NULL at the end; a page may be shorter than the
 * limit and still have a next). Returns 0, GL_EBADFIELD for a value too
 * long (nothing sent), -code for an ERROR reply, GL_EBUSY, GL_EUNAVAILABLE. */
int client_list(client *c, const client_list_query *q, proto_msg *out, gl_arena *arena);

/* client_requeue sends REQUEUE for event id: its dead letters (only the one
 * to team, if not NULL) are dispatched again with a fresh delivery count, or
 * closed when close is set (note: why). The LISTING reply in *out holds the
 * event and the dispatches changed. Returns 0, GL_ENOTFOUND, GL_EBADSTATE
 * (no such dead letter — also what a resend gets after the first try
 * worked), GL_EBADFIELD (bad id, nothing sent), GL_EBUSY, GL_EUNAVAILABLE. */
int client_requeue(client *c, const char *id, const char *team, int close, const char *note,
                   proto_msg *out, gl_arena *arena);

#endif
