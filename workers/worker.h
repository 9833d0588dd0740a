/* worker.h — the routing worker's internals (not an API for anyone else).
 *
 * A worker takes JOBs from the broker, works a whole batch of them in one
 * LMDB write transaction (group commit), and only after the commit sends the
 * replies (DONE) and the dispatches (DELIVER). Resend timers and PRESENCE
 * resends run between batches. */
#ifndef GL_WORKER_H
#define GL_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/directory.h"
#include "../common/store.h"
#include "../proto/frame.h"

typedef struct worker_config {
    const char *broker_ep, *store_dir, *directory_path, *name;
    long credit;          /* jobs the broker may have in flight here */
    long batch;           /* most jobs in one transaction */
    long retry_ms;        /* first resend interval of an unacknowledged dispatch */
    long retry_max_ms;    /* resend interval ceiling (backoff doubles up to it) */
    long heartbeat_ms, liveness;
    long map_mb;
    long close_unrated_s; /* a resolved event nobody rates closes after this */
    const char *lanes;    /* "all", "alert" or "routine": what the broker sends */
    long nice;            /* added to the process's nice value at start */
    long realtime;        /* SCHED_RR priority of every thread; 0: ordinary */
    long delivery_limit;  /* sends of a dispatch before it is dead-lettered; 0: no limit */
    long map_max_mb;      /* the map grows up to this ceiling */
    long alert_reserve_mb; /* room kept for alerts: routine work is refused below it */
    int single_messages;  /* a DONE or DELIVER each, no PACK (a broker before PACK) */
    int meta_after_lock;  /* --meta-after-lock (store_opts.meta_after_lock) */
    long grow_ahead_mb;   /* write the data file this far ahead of its pages (0: off) */
} worker_config;

/* One message to send after the batch commits. */
typedef struct out_msg {
    int kind;             /* PROTO_DONE or PROTO_DELIVER */
    uint64_t job;
    const void *client;   /* DONE: client identity (in the batch arena) */
    size_t client_len;
    const char *origin;
    const char *team;     /* DELIVER: the team */
    int cmd;              /* inner command */
    void *body;           /* inner body (in the batch arena) */
    size_t body_len;
    int durable;          /* 1: a reply that says something was stored; it
                             must become an error if the commit fails */
    const gl_event *filed; /* a FILED of a new event: logged once it is sent */
    int queued;           /* sent by worker_flush: goes in its PACK (batchmsg.c) */
    uint64_t rid;         /* DONE: the request's rid and event id, for the ERROR */
    const char *id;       /* a durable reply becomes when the commit fails */
    /* outbody.c: a body made by worker_flush once the commit is durable,
     * not under the writer lock. While deferred is set, body is NULL and
     * the fields below say what it is made of; all of it lives in the
     * batch arena or the directory, never in the store's pages. */
    int deferred;         /* OUT_DEFER_*; 0: body is made */
    const gl_event *of;   /* DISPATCH: the event as dispatched; FILED: its
                             id, seq, kind and state (filed, when not a
                             duplicate, points to the same) */
    /* DISPATCH: the dispatch's role, event id, seq, state and sends */
    const char *role;
    const char *event;
    uint64_t dispatch_seq;
    int dispatch_state;
    uint32_t attempts;
    int duplicate;        /* FILED: a repeated SUBMIT's */
} out_msg;

/* out_msg.deferred */
enum { OUT_DEFER_DISPATCH = 1, OUT_DEFER_FILED };

typedef struct outbox {
    out_msg *msgs;
    size_t count, cap;
} outbox;

typedef struct worker_counters {
    uint64_t batches, jobs, filed, duplicates, errors, dispatches, resent, commits_failed;
    uint64_t dead_lettered;
    uint64_t bad_from_broker; /* PACKs and items of them from the broker dropped (jobpack.c) */
} worker_counters;

/* Storage full (space.c). */
typedef struct worker_space {
    int full;               /* the alarm: 1 while routine work is refused */
    int refusing;           /* this batch refuses routine writes */
    int failed;             /* a write failed for want of room; cleared by a probe */
    uint64_t probe_at_ms;   /* when a routine batch may try again (monotonic) */
    store_space last;       /* the figures of the last look */
} worker_space;

/* detail.c: the last DISPATCH "detail" map encoded, and the same without
 * the reporter's contact. */
typedef struct detail_cache {
    gl_event event;        /* what map encodes (strings in arena) */
    void *map;             /* NULL: empty */
    size_t len;
    void *map_no_contact;  /* NULL: not cut yet */
    size_t len_no_contact;
    gl_arena arena;
    /* worker_detail_pin: while an event's dispatches are sent one after
     * the other, its map is made once and reused without comparing the
     * event with a copy (nor copying it): pinned is the caller's event,
     * pinned_seq its seq; map_pinned says the map is of it (event is then
     * not kept). */
    const gl_event *pinned;
    uint64_t pinned_seq;
    int map_pinned;
    /* outbody.c: the pinned event's copy its deferred DISPATCHes share
     * (NULL: none made since the pin). */
    const gl_event *pinned_copy;
} detail_cache;

typedef struct gl_worker {
    worker_config cfg;
    store *st;
    directory *dir;
    void *ctx, *sock;
    uint64_t last_heard_ms, last_sent_ms;
    outbox out;
    gl_arena batch_arena;   /* decoded jobs, outbox bodies: reset per batch */
    gl_arena scratch;       /* per-record reads */
    msgpack_sbuffer sbuf;
    worker_counters counters;
    int escalation_soon;    /* a deadline was brought forward: look now */
    uint64_t last_report_ms;
    int dispatch_quiet;     /* worker_dispatch writes the record, sends nothing
                               (the alert's DISPATCH went out early) */
    worker_space space;
    struct score_job *scores; /* scores.c: SCORES being read, oldest first */
    detail_cache details;     /* detail.c */
    struct store_grow *grow;  /* grow.c: the data file written ahead (NULL: off) */
    int grow_failed;          /* grow.c: it could not start */
    struct {                  /* take.c: the jobs the running batch took late */
        struct wjob *jobs;    /* cfg.batch of them, made on first use */
        size_t n;
    } late;
} gl_worker;

/* A job as received, decoded. */
typedef struct wjob {
    uint64_t id;
    const void *client;
    size_t client_len;
    const char *origin;
    int lane_alert;
    int cmd;
    proto_msg msg;
    int decode_err;         /* GL_E* when the inner body did not decode */
    int early_dispatched;   /* an alert whose DISPATCHes went out before its
                               commit (early.c) */
    char reason[160];
    int principal_role;     /* with CURVE: the sender's keys_role (0: plain), */
    const char *principal_scope; /* and its scope, from the JOB header */
} wjob;

/* batch.c */
/* worker_run_batch works jobs[0..n) in one write transaction and sends the
 * replies and dispatches after the commit. */
void worker_run_batch(gl_worker *w, wjob *jobs, size_t n);
/* worker_out_reply queues the reply to a job: body is encoded from m. */
int worker_out_reply(gl_worker *w, const wjob *j, const proto_msg *m, int durable);
/* worker_reply_changed queues CHANGED (id, seq, kind, state of ev): the
 * answer to UPDATE, CANCEL and RATE. */
void worker_reply_changed(gl_worker *w, const wjob *j, const gl_event *ev, int durable);
/* worker_out_error queues an ERROR reply to a job. */
void worker_out_error(gl_worker *w, const wjob *j, int err, const char *reason);
/* worker_out_deliver queues a message for every connected member of team. */
int worker_out_deliver(gl_worker *w, const char *team, const proto_msg *m);
/* worker_out_deliver_ex is worker_out_deliver with proto_encode_ex's flags
 * and pre-encoded event map. */
int worker_out_deliver_ex(gl_worker *w, const char *team, const proto_msg *m, int flags,
                          const void *event_map, size_t event_map_len);
/* worker_out_new adds a zeroed message to the outbox; NULL when memory
 * runs out. */
out_msg *worker_out_new(gl_worker *w);
/* worker_encode_body encodes m (flags, event_map: see proto_encode_ex) into
 * the batch arena; *len is its length. NULL when it cannot (logged). */
void *worker_encode_body(gl_worker *w, const proto_msg *m, int flags, const void *event_map,
                         size_t event_map_len, size_t *len);
/* worker_reply_body is worker_encode_body for a reply: when the codec
 * refuses m, the body of an ERROR saying so. *cmd is the command encoded;
 * NULL when memory runs out. */
void *worker_reply_body(gl_worker *w, const proto_msg *m, int *cmd, size_t *len);
/* worker_flush sends what is queued (ok: the commit succeeded) and empties
 * the outbox; when !ok, durable replies become ERROR err and deliveries are
 * dropped. */
void worker_flush(gl_worker *w, int ok, int err);
/* batchmsg.c: worker_send_batch sends the outbox's messages that
 * worker_flush queued as PACK messages (one, or several when they are
 * many or large), the DONEs first, then the DELIVERs, each in outbox
 * order, and unqueues them. */
void worker_send_batch(gl_worker *w);

/* actions.c — one function per client command, inside the batch's txn. A
 * non-zero return is a storage failure that aborts the whole batch; refusals
 * (not found, taken...) are replies, not failures. */
int worker_submit(gl_worker *w, store_txn *t, const wjob *j, uint64_t now);
int worker_show(gl_worker *w, store_txn *t, const wjob *j);
int worker_act(gl_worker *w, store_txn *t, const wjob *j, uint64_t now);
/* worker_find_event looks up event id for job j and, when ev is not NULL,
 * reads it (strings in the batch arena); *seq is its seq. Returns 0 when
 * found; 1 when there is none, after answering j not_found; or a store
 * error (which aborts the batch). */
int worker_find_event(gl_worker *w, store_txn *t, const wjob *j, const char *id, uint64_t *seq,
                      gl_event *ev);
/* worker_route_new makes ev, the record a new event in is filed as (state
 * filed, times now, the location the directory resolved), and its route. */
void worker_route_new(gl_worker *w, const gl_event *in, uint64_t now, gl_event *ev,
                      dir_route *route);

/* early.c — an alert's DISPATCHes before its commit */
/* worker_early_dispatch sends, for each new alert among jobs[0..n), the
 * DISPATCHes of its route at once (seq 0: not filed yet) and marks the job
 * early_dispatched; it looks only under a read transaction. */
void worker_early_dispatch(gl_worker *w, wjob *jobs, size_t n);
/* worker_early_withdraw tells the teams of every early-dispatched job of
 * jobs[0..n) that the alert was not filed after all (err: why), and sends
 * that at once. */
void worker_early_withdraw(gl_worker *w, wjob *jobs, size_t n, int err);
/* worker_early_dispatch_in is worker_early_dispatch looking in t (the
 * batch's write transaction, before anything is written in it, for the
 * alerts it took late: take.c); the outbox must be empty. */
void worker_early_dispatch_in(gl_worker *w, store_txn *t, wjob *jobs, size_t n);

/* delivery.c */
/* worker_dispatch creates (or re-opens) the dispatch of ev to team with role,
 * records history and queues the DISPATCH delivery. */
int worker_dispatch(gl_worker *w, store_txn *t, gl_event *ev, const char *team,
                    const char *role, const char *who, uint64_t now);
/* worker_dispatch_new is worker_dispatch for an event being filed in t
 * (ev->seq reserved, its record not written yet): the dispatch is written
 * without reading first, unless the route named the team already. */
int worker_dispatch_new(gl_worker *w, store_txn *t, gl_event *ev, const char *team,
                        const char *role, uint64_t now);
/* worker_send_dispatch (outbody.c) queues a DISPATCH message for d (ev:
 * its event); its body is made by worker_flush. 0, or GL_EINTERNAL when
 * memory runs out. */
int worker_send_dispatch(gl_worker *w, const gl_dispatch *d, const gl_event *ev);
/* worker_notice queues a NOTICE to team. */
int worker_notice(gl_worker *w, const char *team, const char *event, const char *what,
                  const char *note, const char *by);
/* worker_on_presence resends the PENDING dispatches of team. */
void worker_on_presence(gl_worker *w, const char *team);
/* worker_resend_due resends dispatches whose retry time has come; returns
 * the wall time of the next one (0: none). */
uint64_t worker_resend_due(gl_worker *w, uint64_t now);

/* escalation.c */
/* escalation_start sets the first deadline of an alert's response plan (ev
 * must have its seq; the caller writes ev). */
int escalation_start(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now);
/* escalation_stop clears ev's deadline and its operator alarm, if any (the
 * caller writes ev). */
int escalation_stop(store_txn *t, gl_event *ev);
/* tell_coordinators queues a NOTICE to every team dispatched as coordinator
 * for ev, except the team by. */
int tell_coordinators(gl_worker *w, store_txn *t, const gl_event *ev, const char *what,
                      const char *note, const char *by);
/* worker_escalate_due escalates the alerts whose deadline has passed; returns
 * the next deadline (0: none). */
uint64_t worker_escalate_due(gl_worker *w, uint64_t now);

/* report.c: worker_report sends the store's figures to the broker (REPORT);
 * 0, or a GL_E* code when the store could not be read or the send failed. */
int worker_report(gl_worker *w);

/* changes.c: UPDATE and CANCEL from the event's terminal. */
int worker_change(gl_worker *w, store_txn *t, const wjob *j, uint64_t now);

/* lists.c */
/* A copy of dispatches that outlives the listing (strings in an arena). */
typedef struct dispatch_list {
    gl_arena *arena;
    gl_dispatch *items;
    size_t n, cap;
    size_t limit;          /* stop after this many; 0: no limit */
    int oom;
} dispatch_list;
void dispatch_list_init(dispatch_list *l, gl_arena *arena, size_t limit);
/* dispatch_list_add is a store_dispatch_fn that appends a copy to ctx. */
int dispatch_list_add(void *ctx, const gl_dispatch *d);
/* dispatch_list_event copies every dispatch of event seq; 0, GL_EINTERNAL
 * (out of memory) or a store error. */
int dispatch_list_event(store_txn *t, uint64_t seq, dispatch_list *l);
/* worker_timer_pass looks (read transaction) whether next_due(t) has come;
 * only then it takes a write transaction, calls work and commits, and sends
 * what work queued once the commit is durable. Returns the next due time
 * (0: none); on failure logs "what failed" and retries in a second. */
uint64_t worker_timer_pass(gl_worker *w, uint64_t now, const char *what,
                           uint64_t (*next_due)(store_txn *),
                           int (*work)(gl_worker *, store_txn *, uint64_t));

/* actions.c, shared with workflow.c */
/* actionable: the role acts on an event (not "informed" or "coordinator"). */
int actionable(const char *role);
/* live: the dispatch state still counts (pending, acked, accepted). */
int live(int state);
/* take_over makes team the one that has ev: other live actionable dispatches
 * become taken and every other team is told. */
int take_over(gl_worker *w, store_txn *t, const gl_event *ev, const char *team, uint64_t now);
/* redispatch sends ev to the next candidate when nothing actionable is live. */
int redispatch(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now);

/* workflow.c — the county's workflows (issue 4) */
/* worker_save_event writes ev and keeps the claim board in step: a claimable
 * request is on its community's board while dispatched and unheld. */
int worker_save_event(gl_worker *w, store_txn *t, const gl_event *ev);
/* worker_replace_event is worker_save_event for an event read in t with no
 * write to its record since: as_read is the record as read (store.h,
 * store_event_replace); NULL is worker_save_event. */
int worker_replace_event(gl_worker *w, store_txn *t, const gl_event *ev, const gl_event *as_read);
/* worker_add_event writes a new event's record (store_event_add: ev->seq
 * must be the seq store_event_next_seq gave) and puts it on the board as
 * worker_save_event would. */
int worker_add_event(gl_worker *w, store_txn *t, gl_event *ev);
/* worker_workflow: CLAIM, RELEASE, RETURN, REDIRECT, CONFIRM, DISPUTE,
 * EXTEND, APPROVE, MERGE. */
int worker_workflow(gl_worker *w, store_txn *t, const wjob *j, uint64_t now);
/* release_claim puts a claimed request back on the board (RELEASE, or the
 * lease running out): who and why go into the history; every claim team is
 * told it is open again. The caller writes ev. */
int release_claim(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now, const char *who,
                  const char *why);
/* worker_rate: RATE from the event's terminal. */
int worker_rate(gl_worker *w, store_txn *t, const wjob *j, uint64_t now);
/* worker_query: TRACK and BOARD. */
int worker_query(gl_worker *w, store_txn *t, const wjob *j);

/* deadlines.c — a category's time limits */
/* deadlines_start sets sign-for, due and reminder times from the category's
 * policy (ev must have its seq; the caller writes ev). */
int deadlines_start(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now);
/* deadlines_stop clears sign-for, due and reminder times. */
int deadlines_stop(store_txn *t, gl_event *ev);
/* set_timer sets ev's deadline of kind, *field, to at (0: none). Saving
 * the event moves its entry in the store's timers index (store.h). Returns
 * 0; the signature keeps every deadline change in one place. */
int set_timer(store_txn *t, gl_event *ev, int kind, uint64_t *field, uint64_t at);
/* escalate_to_community gives ev to its community office (role
 * "community"), or county triage when it has none. */
int escalate_to_community(gl_worker *w, store_txn *t, gl_event *ev, uint64_t now,
                          const char *what, const char *note);
/* worker_deadlines_due fires the workflow timers that have come; returns the
 * next one's time (0: none). */
uint64_t worker_deadlines_due(gl_worker *w, uint64_t now);

/* auth.c — CURVE keys and the checks that need the store */
/* worker_curve_init reads this worker's key pair and the broker's public key
 * (both NULL: plain). 0 or GL_ECONFIG with err. */
int worker_curve_init(const char *key_file, const char *server_key, char *err, size_t errlen);
/* worker_curve_socket makes sock a CURVE client before it connects to a
 * tcp:// endpoint, when keys were given. 0 or GL_ESYS. */
int worker_curve_socket(void *sock, const char *endpoint);
/* worker_auth_refuse: a terminal may show, track, update, cancel and rate
 * only the events it filed. Returns 1 after queueing ERROR forbidden, 0 to
 * go on, or a store error. */
int worker_auth_refuse(gl_worker *w, store_txn *t, const wjob *j);
/* worker_auth_sees_contact: 1 when the sender of j may see the reporter's
 * contact of the event with these dispatches: plain mode, an operator, its
 * own terminal, or a member of a team it was dispatched to in a role that
 * reaches the resident. */
int worker_auth_sees_contact(const wjob *j, const gl_dispatch *dispatches, size_t n);
/* space.c — storage full */
/* worker_space_check looks at the room left before a batch: sets whether
 * routine writes are refused, raises or clears the alarm (logged once each
 * way); returns 1 when refusing. */
int worker_space_check(gl_worker *w);
/* worker_space_routine_write: j is routine work that writes (a request or
 * feedback SUBMIT, RATE, the claim workflow), refused while storage is full. */
int worker_space_routine_write(const wjob *j);
/* worker_space_refuse answers j storage_full and returns 1 when this batch
 * refuses it; 0: work it (a repeated SUBMIT is worked: it writes nothing). */
int worker_space_refuse(gl_worker *w, store_txn *t, const wjob *j);
/* worker_space_after takes a batch's result rc: storage full raises the alarm
 * until a probe succeeds; a batch that wrote routine work clears it. */
void worker_space_after(gl_worker *w, int rc, int routine_written);

/* watchdog.c — see its header comment */
int watchdog_start(void *ctx, const char *endpoint, long heartbeat_ms, long liveness);
void watchdog_stop(void);
void watchdog_progress(void);      /* the main loop went round */
void watchdog_waiting(int waiting); /* entering (1) / leaving (0) a wait for the write lock */

/* query.c — LIST (issue 5): history queries and the dead-letter listing,
 * answered from a read transaction of its own (not the batch's). */
int worker_list(gl_worker *w, const wjob *j);

/* deadletter.c — dead letters (issue 5) */
/* deadletter_park makes d (a dispatch read from the store) a dead letter
 * with reason: state dead, no resend, history, a log line. */
int deadletter_park(gl_worker *w, store_txn *t, gl_dispatch *d, const char *reason,
                    uint64_t now);
/* deadletter_unrouted parks ev, which nobody is left to route to, as a dead
 * letter on its county-triage dispatch. */
int deadletter_unrouted(gl_worker *w, store_txn *t, gl_event *ev, const char *reason,
                        uint64_t now);
/* worker_requeue: REQUEUE from an operator. */
int worker_requeue(gl_worker *w, store_txn *t, const wjob *j, uint64_t now);

/* history helper */
int worker_history(store_txn *t, uint64_t seq, uint64_t now, const char *who,
                   const char *what, const char *note);

/* scores.c — read-only queries answered outside the write transactions */
/* worker_answer_queries takes the SCORES jobs out of jobs[0..n) — queued to
 * be read by worker_scores_step, or answered ERROR at once when malformed —
 * and moves the other jobs to the front in their order; returns how many
 * other jobs there are. */
size_t worker_answer_queries(gl_worker *w, wjob *jobs, size_t n);
/* worker_scores_pending: 1 while a SCORES is being read (the loop must not
 * sleep). */
int worker_scores_pending(const gl_worker *w);
/* worker_scores_step reads the next chunk of the oldest SCORES in a read
 * transaction, and sends its SCORECARD when it is done. */
void worker_scores_step(gl_worker *w);
/* worker_scores_free drops the SCORES not yet answered (at exit). */
void worker_scores_free(gl_worker *w);

/* detail.c — DISPATCH "detail" maps encoded once per event (issue 7) */
/* worker_detail returns the encoded "detail" map of ev (with the seq the
 * DISPATCH shows), without "contact" unless with_contact; made once for as
 * long as ev's fields stay the same. *len is its length; the bytes live until
 * the next call. NULL when ev cannot be encoded (logged) or memory runs out. */
const void *worker_detail(gl_worker *w, const gl_event *ev, int with_contact, size_t *len);
/* worker_detail_of is worker_detail for ev, a copy of src with nothing
 * changed but maybe its seq: a src pinned (worker_detail_pin) is not
 * compared. */
const void *worker_detail_of(gl_worker *w, const gl_event *src, const gl_event *ev,
                             int with_contact, size_t *len);
/* worker_detail_pin(w, ev) says that ev stays as it is until
 * worker_detail_pin(w, NULL): DISPATCHes of ev (the same object) then reuse
 * its map without comparing. Every pin must be undone before ev changes or
 * goes out of scope. While pinned, the strings of ev and those its
 * DISPATCHes name (team, role) must live until the outbox is flushed (the
 * batch arena, the directory): the DISPATCHes keep a shallow copy of ev
 * (outbody.c). */
void worker_detail_pin(gl_worker *w, const gl_event *ev);
/* worker_detail_free releases the cached maps (at exit). */
void worker_detail_free(gl_worker *w);
/* settle.c */
/* worker_index_settle moves the store's waiting event index entries
 * (index_recent) into the event index when enough wait (not on a worker
 * kept for alerts); the same for the pending index and the claim board
 * (pending_recent, board_recent), in one transaction. */
void worker_index_settle(gl_worker *w);

/* grow.c */
/* worker_grow_idle, with --grow-ahead-mb and nothing waiting on the socket,
 * writes the store's data file ahead with zeros (store_grow.h): a step of
 * a few chunks, each under the store's writer lock, stopping when a
 * message arrives. Call with no transaction open. */
void worker_grow_idle(gl_worker *w);
/* worker_grow_stop logs what the growing wrote and stops its thread. */
void worker_grow_stop(gl_worker *w);

/* leave.c — a worker whose store failed leaves */
/* The exit status of a worker that left after a failed flush of the store
 * (EX_TEMPFAIL): a supervisor restarts it. 1 and 2 are start-up failures. */
#define WORKER_EXIT_STORE_FAILED 75
/* worker_leave, once store_failed(w->st) and the loop has stopped taking
 * work: says BYE to the broker, lets the socket linger a bounded time for
 * the last replies and BYE, and logs why the worker leaves. */
void worker_leave(gl_worker *w);
/* worker_say_bye tells the broker this worker leaves (BYE: the jobs it
 * holds unanswered go to the others at once) and lets the socket linger
 * at most 2 s for its last messages. A stop by signal uses it too. */
void worker_say_bye(gl_worker *w);

/* take.c — receiving JOBs; what a batch takes while it holds the writer */
/* worker_decode decodes a body from the broker (the flat forms the quick
 * way, anything else and every error with its reason by proto_decode). */
int worker_decode(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena,
                  char *reason, size_t reason_len);
/* worker_take_job makes j from a JOB (hdr: its decoded header); strings in
 * the batch arena. */
void worker_take_job(gl_worker *w, frame_msg *fm, const proto_msg *hdr, wjob *j);
/* worker_take_job_parts is worker_take_job from the parts of a JOB: its
 * header, inner command and inner body (a PACK's item: jobpack.c). */
void worker_take_job_parts(gl_worker *w, const proto_msg *hdr, int cmd, const void *body,
                           size_t len, wjob *j);
/* worker_recv is frame_recv(ZMQ_DONTWAIT) on the worker's socket, but gives
 * first the message a batch read and did not take (worker_carried). */
int worker_recv(gl_worker *w, frame_msg *fm);
/* worker_carried: 1 while such a message waits (the loop must not sleep). */
int worker_carried(const gl_worker *w);
/* worker_carried_drop lets go of that message and of a held PACK's items,
 * on a new connection to the broker: their job ids were the old
 * connection's (a restarted broker numbers its jobs afresh). */
void worker_carried_drop(gl_worker *w);
/* worker_take_late, for a batch of the alert lane (lane_alert; a routine
 * batch takes nothing), reads the alert-lane JOBs waiting on the socket,
 * without blocking, into w->late until w->late.n reaches room (at most
 * --batch) or a message it does not take, which it keeps for worker_recv;
 * nothing while such a message is kept. Returns how many it took. */
size_t worker_take_late(gl_worker *w, int lane_alert, size_t room);

/* jobbody.c — worker_decode_job decodes a JOB's inner body as worker_decode
 * does, but without checking its strings' UTF-8 again: the broker decoded
 * it with every check before it queued the job (PROTO_DEC_TRUSTED). */
int worker_decode_job(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena,
                      char *reason, size_t reason_len);

/* jobpack.c — JOBs the broker sent packed, several in one PACK (session 8) */
/* worker_pack_start holds a received PACK from the broker (fm: its parts
 * are moved out; close it as always) for worker_pack_take: 0, or
 * GL_EBADFRAME when its items frame is not 1 to PACK_MAX_ITEMS whole items
 * (dropped, logged and counted in bad_from_broker). */
int worker_pack_start(gl_worker *w, frame_msg *fm);
/* worker_pack_take makes j from the next item of the held PACK, as from
 * the JOB it stands for: 1, or 0 when no PACK is held (any more) or, with
 * alert_only, the next item is a routine one (it stays for later). Bad
 * items are skipped, logged and counted. */
int worker_pack_take(gl_worker *w, wjob *j, int alert_only);
/* worker_pack_held: 1 while a PACK has items left to take. */
int worker_pack_held(void);
/* worker_pack_drop lets go of a held PACK; returns how many items it had
 * left. */
size_t worker_pack_drop(void);

/* outbody.c — bodies made after the commit */
/* worker_out_filed queues the FILED reply to j for ev (id, seq, kind,
 * state; duplicate: a repeated SUBMIT's answer); durable, its body made by
 * worker_flush. 0, or GL_EINTERNAL when memory runs out. */
int worker_out_filed(gl_worker *w, const wjob *j, const gl_event *ev, int duplicate);
/* worker_out_make, in worker_flush, encodes the body of o (deferred) into
 * the batch arena: 0, or a GL_E* code when it cannot (logged; o is then
 * not to be sent). */
int worker_out_make(gl_worker *w, out_msg *o);
/* worker_out_made ends the making of a flush's bodies (the detail map's
 * pin). */
void worker_out_made(gl_worker *w);

#endif
