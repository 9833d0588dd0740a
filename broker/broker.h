/* broker.h — the broker's internals, shared by its files (not an API for
 * anyone else).
 *
 * The broker holds no durable state. It keeps: two lanes of jobs waiting for
 * a worker (alert before routine), the jobs in flight at each worker (so they
 * can be handed to another worker when one dies), and who of each team is
 * connected on the responders endpoint. */
#ifndef GL_BROKER_H
#define GL_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/hmap.h"
#include "../common/keys.h"
#include "../proto/frame.h"

enum { LANE_ALERT = 0, LANE_ROUTINE = 1, LANE_COUNT };
enum { ORIGIN_INTAKE = 0, ORIGIN_RESPONDERS = 1 };

#define BROKER_MAX_WORKERS 64
#define BROKER_IDENT_MAX 256

typedef struct job {
    uint64_t id;
    int origin;               /* ORIGIN_* */
    int lane;                 /* LANE_* */
    int cmd;                  /* the client's command (SUBMIT, ACK, ...) */
    uint64_t enqueued_us;
    struct worker *owner;     /* NULL while waiting in a lane */
    struct job *prev, *next;  /* in a lane queue or a worker's in-flight list; next in the pool */
    size_t client_len, body_len;
    int principal_role;       /* the sender's keys_role (KEYS_NONE: plain), for the worker */
    char principal_scope[GL_MAX_ID + 1];
    /* The client's body frame as received: it goes to a worker as a
     * reference (zmq_msg_copy), not a copy, and stays here until the job
     * is done, in case it must go to another worker. A job left waiting in
     * a lane gets a copy of its own instead (job_unpin in lanes.c). */
    zmq_msg_t body;
    unsigned char client[BROKER_IDENT_MAX]; /* the client's ROUTER identity */
} job;

typedef struct job_list {
    job *head, *tail;
    size_t count, bytes;
} job_list;

typedef struct worker {
    unsigned char ident[BROKER_IDENT_MAX];
    size_t ident_len;
    char name[GL_MAX_ID + 1];
    uint32_t credit;          /* window the worker asked for */
    uint32_t pid;             /* from READY, 0 if not given */
    int local;                /* READY named this host: the worker can be fenced */
    unsigned lanes;           /* bit (1 << LANE_*) per lane it takes, from READY */
    job_list inflight;
    uint32_t routine_inflight; /* of inflight, the routine-lane jobs */
    uint64_t last_heard_ms, last_sent_ms;
    /* Session 8: READY said "pack": its JOBs go packed (jobpack.c). The
     * jobs handed to it and not sent yet are the tail of inflight from
     * unsent on (NULL: none); they go out at the end of the broker's
     * slice, or at once with an alert. */
    int takes_pack;
    job *unsent;
} worker;

typedef struct responder {
    unsigned char ident[BROKER_IDENT_MAX];
    size_t ident_len;
    char team[GL_MAX_ID + 1];
    char member[GL_MAX_ID + 1];
    uint64_t last_heard_ms, last_sent_ms;
    struct responder *prev, *next;   /* members of the same team */
} responder;

typedef struct team_members {
    responder *head;
    size_t count;
} team_members;

typedef struct broker_config {
    const char *intake_ep, *workers_ep, *responders_ep;
    long max_queue;           /* routine jobs waiting, beyond which BUSY */
    long max_queue_bytes;     /* and bytes */
    long max_alert_queue;     /* hard cap for the alert lane (memory bound) */
    long heartbeat_ms;
    long liveness;            /* missed heartbeats before a peer is dead */
    long alert_reserve;       /* credit per worker kept free for alerts */
    long routine_window;      /* routine jobs in flight per worker at most */
    long stats_interval_s;
    int fence;                /* SIGKILL silent local workers (they may hold the write lock) */
    long memory_trim_ms;      /* free heap pages given back this often (memory.c); 0: never */
    long responder_queue;     /* messages queued per responder connection at most */
} broker_config;

typedef struct broker_counters {
    uint64_t received[LANE_COUNT], done[LANE_COUNT], completed, busy_replies, requeued, workers_lost,
        deliveries, delivered_copies, undeliverable, bad_input, bad_worker_msgs, copies_not_sent,
        workers_left; /* workers that said BYE (stopped, or their store failed) */
    uint64_t job_packs, jobs_packed; /* PACKs of JOBs sent to workers, and the JOBs in them */
} broker_counters;

typedef struct broker {
    broker_config cfg;
    void *ctx, *intake, *workers_sock, *responders;
    job_list lanes[LANE_COUNT];
    hmap *jobs_in_flight;     /* job id → job */
    worker *workers[BROKER_MAX_WORKERS];
    int nworkers;
    hmap *responders_by_ident;
    hmap *teams;              /* team id → team_members */
    hmap *presence_pending;   /* teams whose PRESENCE no worker has heard yet */
    hmap *alerts_filing;      /* event id → the worker holding its alert SUBMIT (lanes.c) */
    uint64_t next_job_id;
    uint64_t fence_grace_until_ms; /* after a fence, other silent workers get time */
    double done_per_ms;       /* smoothed completion rate, for retry_after_ms */
    uint64_t rate_window_start_ms, rate_window_done;
    broker_counters counters;
    uint64_t started_ms;
    uint64_t minute_start_ms, minute_in[LANE_COUNT], minute_out[LANE_COUNT],
        minute_base_in[LANE_COUNT], minute_base_out[LANE_COUNT];
    void *store_figures;      /* the latest REPORT's store map (msgpack) */
    size_t store_figures_len;
    uint64_t store_figures_at_ms;
    char store_figures_from[GL_MAX_ID + 1];
    gl_arena scratch;         /* decoding scratch, reset per message */
    msgpack_sbuffer sbuf;     /* encoding scratch */
    struct broker_auth *auth; /* NULL in plain mode (auth.h) */
    keys_principal principal; /* sender of the message being handled (role 0: plain) */
    struct broker_metrics *metrics; /* metrics.c; NULL: not counted */
    struct broker_http *http; /* http.c; NULL: no HTTP endpoint */
    job *job_pool;            /* finished jobs kept for reuse (lanes.c), a list by next */
    size_t job_pool_count;
    uint64_t mem_next_trim_ms, mem_trims, mem_trim_us, mem_trim_max_us; /* memory.c */
} broker;

/* lanes.c — jobs and workers */
/* broker_enqueue queues a client's request (fm, a well-shaped message from
 * a ROUTER: its body frame is taken out of fm) in lane and hands out what
 * the workers have credit for at once (broker_pump); 0, GL_EBUSY (the
 * alert lane's hard cap) or GL_EINTERNAL (fm keeps its body then). */
int broker_enqueue(broker *b, int origin, int lane, int cmd, frame_msg *fm);
int broker_routine_full(const broker *b);
uint32_t broker_retry_after_ms(const broker *b);
void broker_pump(broker *b);
void broker_on_worker_msg(broker *b, frame_msg *fm);
void broker_worker_tick(broker *b, uint64_t now_ms);
void broker_send_presence(broker *b, const char *team, const char *member);
void broker_free_jobs(broker *b);
/* The acts of a worker's DONE and DELIVER, also done per item of a BATCH
 * (batch.c): the reply forwarded to its client and the job's credit freed;
 * the dispatch sent to the team. reply/body: the inner frame, shared. */
void broker_on_done(broker *b, const proto_msg *hdr, int inner_cmd, zmq_msg_t *reply);
void broker_on_deliver(broker *b, const char *team, int inner_cmd, zmq_msg_t *body);
/* broker_worker_envelope checks and reads a DONE's or DELIVER's (cmd)
 * header in place; team: room for GL_MAX_ID + 1 bytes. 0, or -1 with the
 * reason. */
int broker_worker_envelope(int cmd, const void *body, size_t blen, proto_msg *m, char *team,
                           char *reason, size_t len);

/* batch.c — a worker's BATCH: the DONEs and DELIVERs of one commit in one
 * message, acted on item by item, in order. */
void broker_on_batch(broker *b, frame_msg *fm);

/* pack.c — a worker's PACK: a BATCH's items packed into one frame
 * (proto/pack.h), checked whole, then acted on item by item, in order. */
void broker_on_pack(broker *b, frame_msg *fm);

/* forward.c — messages passed on without copying their body */
/* frame_part_msg returns part index of fm (0: the first after any identity,
 * as frame_body counts: 2 is the body, 4 the inner body), or NULL. */
zmq_msg_t *frame_part_msg(frame_msg *fm, int index);
/* broker_forward sends [ident] "GL/1" cmd [header inner_cmd] last on sock
 * (header and inner_cmd only when inner_cmd is not 0), ZMQ_DONTWAIT. last
 * goes as a reference to its buffer (zmq_msg_copy): the caller keeps it.
 * Returns 0 or GL_EUNAVAILABLE (peer gone, or its pipe full). */
int broker_forward(void *sock, const void *ident, size_t ident_len, int cmd, const void *header,
                   size_t header_len, int inner_cmd, zmq_msg_t *last);

/* presence.c — responders */
void broker_on_responder_msg(broker *b, frame_msg *fm);
/* broker_deliver sends body (cmd: DISPATCH or NOTICE, a worker's inner
 * frame, shared, not copied) to every connected member of team. */
void broker_deliver(broker *b, const char *team, int cmd, zmq_msg_t *body);
void broker_responder_tick(broker *b, uint64_t now_ms);
void broker_free_responders(broker *b);

/* status.c — STATUS answered from memory */
void broker_on_report(broker *b, const proto_msg *m);
void broker_on_status(broker *b, void *sock, const void *ident, size_t len, uint64_t rid);
void broker_minute_tick(broker *b, uint64_t now_ms);

/* main.c — shared helpers */
void broker_reply(broker *b, void *sock, const void *ident, size_t ident_len,
                  const proto_msg *m);
void broker_reply_error(broker *b, void *sock, frame_msg *fm, int err, const char *reason,
                        const char *id, uint64_t rid);
void broker_send_heartbeat(broker *b, void *sock, const void *ident, size_t ident_len);
void broker_pong(broker *b, void *sock, const void *ident, size_t ident_len, uint64_t rid);
/* broker_decode decodes fm's body into m (strings in b->scratch). On
 * failure it counts the bad input, logs it (rate-limited) and answers ERROR
 * with the code and reason, then returns the GL_E* code. */
int broker_decode(broker *b, void *sock, frame_msg *fm, proto_msg *m, const char *endpoint);
/* broker_reply_busy answers BUSY with a retry_after_ms hint, and counts it. */
void broker_reply_busy(broker *b, void *sock, const void *ident, size_t ident_len,
                       const char *id, uint64_t rid);

/* metrics.c — counters for operators, passed on in FIGURES (keys filed,
 * duplicates, errors, redeliveries, filing_latency) */
typedef struct broker_metrics broker_metrics;
/* broker_metrics_new returns zeroed counters, or NULL (ENOMEM). */
broker_metrics *broker_metrics_new(void);
void broker_metrics_free(broker_metrics **m);
/* broker_metrics_error counts one ERROR reply with code err (a GL_E*). */
void broker_metrics_error(broker *b, int err);
/* broker_metrics_done counts a job's reply as it passes: FILED by kind and
 * the filing latency of a SUBMIT (cmd) enqueued at enqueued_us in lane, and
 * ERROR replies by code. */
void broker_metrics_done(broker *b, int cmd, int lane, uint64_t enqueued_us, int reply_cmd,
                         const void *body, size_t len);
/* broker_metrics_deliver counts a DISPATCH delivered again (attempts > 1). */
void broker_metrics_deliver(broker *b, int inner_cmd, const void *body, size_t len);
/* broker_metrics_pack writes the metrics as 5 key/value pairs of the map
 * being packed (the FIGURES broker map). */
void broker_metrics_pack(const broker *b, msgpack_packer *pk);

/* memory.c — the heap under sustained load */
/* broker_memory_tick gives the heap's free pages back to the system
 * (malloc_trim) once every cfg.memory_trim_ms, so that resident memory
 * follows the bytes in use instead of creeping up to the largest size the
 * heap ever had. */
void broker_memory_tick(broker *b, uint64_t now_ms);
/* broker_memory_log logs the anonymous RSS, the heap's bytes in use and
 * free (mallinfo2) and what the trims cost, with the counters' line. */
void broker_memory_log(const broker *b);

/* http.c — the HTTP endpoint (--http): /metrics, /api/status, /api/scores
 * and the dashboard, served by libmicrohttpd's threads, which ask the
 * broker over inproc:// connections to the intake socket like any client
 * (they never read the broker's state). */
typedef struct broker_http broker_http;
/* broker_http_start binds the intake socket also to an inproc endpoint and
 * starts serving on addr ("PORT", "ADDR:PORT"; ADDR defaults to 127.0.0.1).
 * A non-loopback ADDR is refused unless allow_public. 0, GL_ECONFIG (bad or
 * refused address), GL_ESYS (cannot listen), GL_EINTERNAL. */
int broker_http_start(broker *b, const char *addr, int allow_public);
/* broker_http_stop stops serving, after the broker's loop has ended: it
 * shuts the ZeroMQ context down (so requests still waiting for the broker
 * return at once) and joins the HTTP threads; only zmq_close and
 * zmq_ctx_term may follow. Nothing happens when no endpoint was started. */
void broker_http_stop(broker *b);


/* jobpack.c — JOBs to a worker that takes them packed (session 8): the
 * jobs of one slice for one worker in one PACK (PROTOCOL.md §6). */
/* A plain JOB header: a map of 4, "job" up to a uint64 (9), "client" a
 * bin of up to BROKER_IDENT_MAX bytes (3 + 256), "origin" and "lane" short
 * strings. */
#define JOB_HEADER_MAX (1 + 4 + 9 + 7 + 3 + BROKER_IDENT_MAX + 7 + 11 + 5 + 8)
/* broker_job_header gives j's JOB header (lanes.c): written into plain
 * (JOB_HEADER_MAX bytes) or, with a principal, encoded into b->sbuf;
 * NULL when it cannot be encoded. */
const void *broker_job_header(broker *b, const job *j, unsigned char *plain, size_t *len);
/* broker_send_jobs sends w the jobs from first on (by next) that fit in
 * one PACK (at most PACK_MAX_ITEMS and PACK_MAX_BYTES) and sets *n to how
 * many it sent. When only first fits (the next is absent or too big), it
 * sends nothing, sets *n to 1 and returns 1: the caller sends it as a
 * JOB. Else 0, or GL_EUNAVAILABLE / GL_EINTERNAL (nothing sent). */
int broker_send_jobs(broker *b, worker *w, job *first, size_t *n);
#endif
