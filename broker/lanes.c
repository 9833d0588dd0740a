/* lanes.c — jobs waiting in lanes, handed to workers by credit, taken back
 * from workers that die. */
#include "broker.h"
#include "peek.h"
#include "../proto/pack.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"

static const char *const lane_names[LANE_COUNT] = {"alert", "routine"};
static const char *const origin_names[] = {"intake", "responders"};

static void list_push_back(job_list *l, job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->count++;
    l->bytes += j->body_len;
}

static void list_push_front(job_list *l, job *j)
{
    j->prev = NULL;
    j->next = l->head;
    if (l->head)
        l->head->prev = j;
    else
        l->tail = j;
    l->head = j;
    l->count++;
    l->bytes += j->body_len;
}

static void list_remove(job_list *l, job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->count--;
    l->bytes -= j->body_len;
}

int broker_routine_full(const broker *b)
{
    const job_list *r = &b->lanes[LANE_ROUTINE];
    return (long)r->count >= b->cfg.max_queue || (long)r->bytes >= b->cfg.max_queue_bytes;
}

uint32_t broker_retry_after_ms(const broker *b)
{
    /* Time for the workers to drain half the routine queue at the rate they
     * have lately shown, within bounds a terminal can live with. The
     * smoothed rate lags a burst after an idle spell (it is near zero
     * then), so the current second counts too, and while no rate is known
     * at all a short wait is asked for rather than the longest. */
    uint64_t now = clock_mono_ms();
    double current = now > b->rate_window_start_ms
                         ? (double)b->rate_window_done / (double)(now - b->rate_window_start_ms)
                         : 0.0;
    double rate = b->done_per_ms > current ? b->done_per_ms : current;
    if (rate < 0.01)
        return b->nworkers ? 50 : 1000;
    double ms = (double)b->lanes[LANE_ROUTINE].count / 2.0 / rate;
    if (ms < 20)
        ms = 20;
    if (ms > 5000)
        ms = 5000;
    return (uint32_t)ms;
}

/* Finished jobs are kept for the next ones, up to this many: no malloc and
 * free per job, and a burst's worth of memory given back after it. Few: the
 * jobs kept are the last freed, spread over the heap a burst took, and each
 * keeps its page resident (4096 of them kept 12 MiB of a drained 30 MiB
 * burst; t_e2e_memory). */
#define JOB_POOL_MAX 256

static job *job_new(broker *b)
{
    job *j = b->job_pool;
    if (j) {
        b->job_pool = j->next;
        b->job_pool_count--;
    } else if (!(j = malloc(sizeof *j))) {
        return NULL;
    }
    memset(j, 0, offsetof(job, body));
    zmq_msg_init(&j->body);
    return j;
}

static void job_free(broker *b, job *j)
{
    zmq_msg_close(&j->body);
    if (b->job_pool_count >= JOB_POOL_MAX) {
        free(j);
        return;
    }
    j->next = b->job_pool;
    b->job_pool = j;
    b->job_pool_count++;
}

/* job_unpin gives a job that waits in a lane a body of its own. A frame
 * received over tcp:// may share its buffer (8 KiB) with the frames that
 * came with it, and a reference held keeps all of it: fine for the jobs in
 * flight (credit bounds them), not for a lane that may hold --max-queue
 * of them. */
static void job_unpin(job *j)
{
    zmq_msg_t own;
    if (zmq_msg_init_size(&own, j->body_len) != 0)
        return; /* out of memory: keep the shared buffer */
    memcpy(zmq_msg_data(&own), zmq_msg_data(&j->body), j->body_len);
    zmq_msg_move(&j->body, &own); /* releases the shared one */
    zmq_msg_close(&own);
}

static void pump(broker *b, int flush);

int broker_enqueue(broker *b, int origin, int lane, int cmd, frame_msg *fm)
{
    if (lane == LANE_ALERT && (long)b->lanes[LANE_ALERT].count >= b->cfg.max_alert_queue)
        return GL_EBUSY;
    size_t client_len;
    const void *client = frame_identity(fm, &client_len);
    zmq_msg_t *body = frame_part_msg(fm, 2);
    if (!client || client_len > sizeof ((job *)0)->client || !body)
        return GL_EINTERNAL;
    job *j = job_new(b);
    if (!j)
        return GL_EINTERNAL;
    j->id = ++b->next_job_id;
    j->origin = origin;
    j->lane = lane;
    j->cmd = cmd;
    j->enqueued_us = clock_mono_us();
    j->client_len = client_len;
    memcpy(j->client, client, client_len);
    zmq_msg_move(&j->body, body);
    j->body_len = zmq_msg_size(&j->body);
    j->principal_role = b->principal.role;
    memcpy(j->principal_scope, b->principal.scope, sizeof j->principal_scope);
    list_push_back(&b->lanes[lane], j);
    b->counters.received[lane]++;
    /* Hand it out now, not after the rest of the slice: a worker with
     * credit gets it at once, and a STATUS answered later in the same
     * slice shows it in flight rather than waiting. To a worker that
     * takes packed JOBs a routine job is sent with the others of this
     * slice, in one PACK, at its end (broker_pump in the main loop); an
     * alert at once. */
    pump(b, lane == LANE_ALERT);
    if (!j->owner)
        job_unpin(j);
    return 0;
}

static worker *worker_find(broker *b, const void *ident, size_t len, int *index)
{
    for (int i = 0; i < b->nworkers; i++)
        if (b->workers[i]->ident_len == len && memcmp(b->workers[i]->ident, ident, len) == 0) {
            if (index)
                *index = i;
            return b->workers[i];
        }
    return NULL;
}

/* The event id an alert-lane job names, in place: a SUBMIT's or an UPDATE's
 * or CANCEL's "id", an act's "event". 0 when it names none. */
static int job_event_id(job *j, const char **id, size_t *len)
{
    static const char *const names[] = {"id", "event"};
    peek_value v[2];
    if (peek_map(zmq_msg_data(&j->body), zmq_msg_size(&j->body), names, v, 2) != 0)
        return 0;
    const peek_value *p = v[1].type == PEEK_STR ? &v[1] : v[0].type == PEEK_STR ? &v[0] : NULL;
    if (!p || p->len == 0 || p->len > GL_MAX_ID)
        return 0;
    *id = p->str;
    *len = p->len;
    return 1;
}

/* An alert's DISPATCHes go out early, before its commit (PROTOCOL.md §12),
 * and a responder may ACK at once. Its act must not reach another worker
 * before the alert is filed, or that worker finds no such event: while the
 * alert's SUBMIT is in flight, alert-lane jobs naming its id follow it to
 * the worker holding it, which works them in order, after the filing. */
static void alert_filing_set(broker *b, job *j, worker *w)
{
    const char *id;
    size_t len;
    if (j->cmd != PROTO_SUBMIT || j->lane != LANE_ALERT || !job_event_id(j, &id, &len))
        return;
    if (w)
        hmap_put(b->alerts_filing, id, len, w); /* ENOMEM: acts go the usual way */
    else if (hmap_get(b->alerts_filing, id, len) == j->owner)
        hmap_del(b->alerts_filing, id, len);
}

static worker *alert_holder(broker *b, job *j)
{
    const char *id;
    size_t len;
    if (hmap_count(b->alerts_filing) == 0 || !job_event_id(j, &id, &len))
        return NULL;
    return hmap_get(b->alerts_filing, id, len);
}

/* job_take_back moves j, the newest of w's jobs in flight, back to the
 * front of its lane: no longer w's, nor in flight. */
static void job_take_back(broker *b, worker *w, job *j)
{
    list_remove(&w->inflight, j);
    if (j->lane == LANE_ROUTINE)
        w->routine_inflight--;
    hmap_del_u64(b->jobs_in_flight, j->id);
    alert_filing_set(b, j, NULL);
    j->owner = NULL;
    list_push_front(&b->lanes[j->lane], j);
}

/* Puts a worker's in-flight jobs back at the front of their lanes, oldest
 * first, so another worker takes them before anything newer. */
static void worker_requeue(broker *b, worker *w)
{
    job *j;
    w->unsent = NULL; /* not sent: they go back too */
    while ((j = w->inflight.tail) != NULL) {
        job_take_back(b, w, j);
        b->counters.requeued++;
    }
}

/* worker_remove forgets the worker at index, its in-flight jobs back to the
 * lanes. A worker that said BYE (said_bye) left (a stop, or its store
 * failed: it logs which); any other removal is a loss, counted and logged
 * as one. */
static void worker_remove(broker *b, int index, const char *why, int said_bye)
{
    worker *w = b->workers[index];
    size_t n = w->inflight.count;
    worker_requeue(b, w);
    if (said_bye) {
        LOG_I("worker %s left (%s): %zu in-flight jobs handed back to the lanes", w->name, why, n);
        b->counters.workers_left++;
    } else {
        LOG_W("worker %s lost (%s): %zu in-flight jobs handed back to the lanes", w->name, why, n);
        b->counters.workers_lost++;
    }
    b->workers[index] = b->workers[--b->nworkers];
    free(w);
}

/* The worker with the most free credit among those that take the lane;
 * routine work must leave alert_reserve slots free so an alert never waits
 * for a busy worker. An alert-lane job goes to a worker that takes only the
 * alert lane whenever one has credit: it is never in the middle of a routine
 * batch, and acts on an alert then follow the alert through the same worker,
 * in order.
 *
 * While a worker is kept for alerts, routine work is packed instead: it goes
 * to the first worker (in the order they joined, as long as none leaves)
 * that has room, and spills to the next only when that one's credit is
 * full. The store
 * takes one writer at a time, so two workers sharing a backlog take turns at
 * the lock with half batches; one worker with the whole backlog commits it
 * in whole batches, each ending in one fsync (bench_throughput: 23k events/s
 * with one general worker, 17-20k with two sharing). The others stand by,
 * with whatever spills over, and take the work of one that is lost. */
/* Routine jobs waiting in the broker before packed work spills over to a
 * second worker: about a commit's worth at full load. */
#define ROUTINE_SPILL_MIN 64

static worker *worker_pick(broker *b, int lane, int may_spill)
{
    worker *best = NULL;
    long best_free = 0;
    int best_dedicated = 0, seen = 0;
    /* With a worker kept for alerts, the alert lane does not wait behind the
     * others' routine jobs: their routine window need not be small. */
    int alert_kept = 0;
    for (int i = 0; lane == LANE_ROUTINE && i < b->nworkers && !alert_kept; i++)
        alert_kept = b->workers[i]->lanes == 1u << LANE_ALERT;
    for (int i = 0; i < b->nworkers; i++) {
        worker *w = b->workers[i];
        if (!(w->lanes & (1u << lane)))
            continue;
        int first_general = seen++ == 0;
        int dedicated = w->lanes == (1u << lane);
        long free_slots = (long)w->credit - (long)w->inflight.count;
        if (lane == LANE_ROUTINE) {
            long reserve = b->cfg.alert_reserve < (long)w->credit ? b->cfg.alert_reserve : (long)w->credit - 1;
            free_slots -= reserve;
            /* A worker works what it holds in order: an alert that reaches
             * it waits for the routine jobs ahead of it. Holding at most a
             * window of them bounds that wait to one small batch; the rest
             * of the backlog waits here, behind any alert. */
            long window = b->cfg.routine_window - (long)w->routine_inflight;
            if (!alert_kept && window < free_slots)
                free_slots = window;
        }
        if (free_slots <= 0 || (best_dedicated && !dedicated))
            continue;
        if (lane == LANE_ROUTINE && alert_kept)
            return first_general || may_spill ? w : NULL; /* the first with room */
        if (dedicated > best_dedicated || free_slots > best_free) {
            best = w;
            best_free = free_slots;
            best_dedicated = dedicated;
        }
    }
    return best;
}

/* JOB_HEADER_MAX: broker.h. */

/* A fixstr of n < 32 bytes. */
static unsigned char *put_fixstr(unsigned char *p, const char *s, size_t n)
{
    *p++ = (unsigned char)(0xa0 | n);
    memcpy(p, s, n);
    return p + n;
}

/* job_header_plain writes j's JOB header without a principal into out
 * (JOB_HEADER_MAX bytes) exactly as msgpack-c packs it (the smallest form
 * of each value) and returns its length. */
static size_t job_header_plain(unsigned char *out, const job *j)
{
    static const unsigned char origin_len[] = {6, 10}, lane_len[] = {5, 7};
    unsigned char *p = out;
    *p++ = 0x84;
    p = put_fixstr(p, "job", 3);
    uint64_t id = j->id;
    if (id < 0x80) {
        *p++ = (unsigned char)id;
    } else {
        unsigned bytes = id < 0x100 ? 1 : id < 0x10000 ? 2 : id <= UINT32_MAX ? 4 : 8;
        *p++ = bytes == 1 ? 0xcc : bytes == 2 ? 0xcd : bytes == 4 ? 0xce : 0xcf;
        for (unsigned i = bytes; i-- > 0;)
            *p++ = (unsigned char)(id >> (8 * i));
    }
    p = put_fixstr(p, "client", 6);
    if (j->client_len < 0x100) {
        *p++ = 0xc4;
        *p++ = (unsigned char)j->client_len;
    } else {
        *p++ = 0xc5;
        *p++ = (unsigned char)(j->client_len >> 8);
        *p++ = (unsigned char)j->client_len;
    }
    memcpy(p, j->client, j->client_len);
    p += j->client_len;
    p = put_fixstr(p, "origin", 6);
    p = put_fixstr(p, origin_names[j->origin], origin_len[j->origin]);
    p = put_fixstr(p, "lane", 4);
    p = put_fixstr(p, lane_names[j->lane], lane_len[j->lane]);
    return (size_t)(p - out);
}

const void *broker_job_header(broker *b, const job *j, unsigned char *plain, size_t *len)
{
    if (!j->principal_role) {
        /* The plain header, as proto_encode writes it (the rows in table
         * order, the smallest forms), without its checks of values that
         * are the broker's own: written byte by byte, it costs a tenth. */
        *len = job_header_plain(plain, j);
        return plain;
    }
    proto_msg hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.cmd = PROTO_JOB;
    hdr.job = j->id;
    hdr.client = j->client;
    hdr.client_len = j->client_len;
    hdr.origin = origin_names[j->origin];
    hdr.lane = lane_names[j->lane];
    /* who asks, for the worker's own checks (auth.h) */
    hdr.role = keys_role_name(j->principal_role);
    hdr.scope = j->principal_scope;
    b->sbuf.size = 0;
    if (proto_encode(&hdr, &b->sbuf) != 0)
        return NULL;
    *len = b->sbuf.size;
    return b->sbuf.data;
}

static int job_send(broker *b, worker *w, job *j)
{
    size_t head_len;
    unsigned char plain[JOB_HEADER_MAX];
    const void *head = broker_job_header(b, j, plain, &head_len);
    int rc = head ? broker_forward(b->workers_sock, w->ident, w->ident_len, PROTO_JOB, head,
                                   head_len, j->cmd, &j->body)
                  : GL_EBADFIELD;
    if (rc == 0)
        w->last_sent_ms = clock_mono_ms();
    return rc;
}

/* jobs_unsend takes w's jobs not sent yet back to the front of their
 * lanes, as they were before the pump handed them out: no credit, not in
 * flight. */
static void jobs_unsend(broker *b, worker *w)
{
    job *j, *stop = w->unsent ? w->unsent->prev : NULL;
    while (w->unsent && (j = w->inflight.tail) != stop) {
        job_take_back(b, w, j);
        job_unpin(j);
    }
    w->unsent = NULL;
}

/* jobs_flush sends w the jobs handed to it and not sent yet, in order: a
 * PACK of those that fit in one, and so on; one left alone goes as a JOB.
 * When the worker's pipe is gone or full, the rest go back to the lanes. */
static int jobs_flush(broker *b, worker *w)
{
    while (w->unsent) {
        size_t n = 0;
        int rc = broker_send_jobs(b, w, w->unsent, &n), single = rc == 1;
        if (single)
            rc = job_send(b, w, w->unsent);
        if (rc != 0) {
            LOG_W("could not send %s to worker %s", single ? "a job" : "a PACK of jobs", w->name);
            jobs_unsend(b, w);
            return rc;
        }
        w->last_sent_ms = clock_mono_ms();
        for (; n > 0 && w->unsent; n--)
            w->unsent = w->unsent->next;
    }
    return 0;
}

static void jobs_flush_all(broker *b)
{
    for (int i = 0; i < b->nworkers; i++)
        if (b->workers[i]->unsent)
            jobs_flush(b, b->workers[i]);
}

/* pump hands out the lanes' jobs to the workers with credit, the alert
 * lane first. A worker that takes packed JOBs gets its jobs as a PACK: they
 * are its own at once (credit, in flight) and sent when this pass has
 * handed out the alert lane's (no alert waits for anything) and, for the
 * routine lane, at its end when flush, or else at the end of the
 * broker's slice (broker_pump in the main loop), at the latest. */
static void pump(broker *b, int flush)
{
    int handed_alert = 0; /* an alert-lane job was handed out: send it now */
    for (int lane = 0; lane < LANE_COUNT; lane++) {
        job_list *q = &b->lanes[lane];
        /* Packed routine work spills over to a second worker only with a
         * batch's worth waiting, and then all of it goes: a few jobs at a
         * time would cost the first worker its turn at the store's lock
         * for a small commit. Below that they wait for the first worker's
         * credit, which its next commit frees. */
        int may_spill = lane != LANE_ROUTINE || q->count >= ROUTINE_SPILL_MIN;
        while (q->head) {
            job *j = q->head;
            /* An act on an alert still being filed goes where it is filed,
             * whatever that worker's credit. */
            worker *w = lane == LANE_ALERT ? alert_holder(b, j) : NULL;
            if (!w)
                w = worker_pick(b, lane, may_spill);
            if (!w)
                break;
            list_remove(q, j);
            if (!w->takes_pack && job_send(b, w, j) != 0) {
                /* The worker's pipe is gone or full: keep the job, stop
                 * pumping until the worker is heard from or declared dead. */
                list_push_front(q, j);
                LOG_W("could not send job to worker %s", w->name);
                /* What this pass handed to packing workers still goes
                 * now (an alert at once), not at the next tick. */
                if (handed_alert || flush)
                    jobs_flush_all(b);
                return;
            }
            j->owner = w;
            list_push_back(&w->inflight, j);
            if (w->takes_pack && !w->unsent)
                w->unsent = j;
            if (j->lane == LANE_ROUTINE)
                w->routine_inflight++;
            if (hmap_put_u64(b->jobs_in_flight, j->id, j) != 0)
                LOG_E("out of memory tracking job %llu", (unsigned long long)j->id);
            alert_filing_set(b, j, w);
            handed_alert |= lane == LANE_ALERT;
        }
        if (handed_alert || flush)
            jobs_flush_all(b);
    }
}

void broker_pump(broker *b)
{
    pump(b, 1);
}

/* job_done finishes j, just taken off jobs_in_flight. */
static void job_done(broker *b, job *j)
{
    alert_filing_set(b, j, NULL);
    if (j->owner->unsent == j) /* a DONE for a job not sent yet: none of a working worker */
        j->owner->unsent = j->next;
    list_remove(&j->owner->inflight, j);
    if (j->lane == LANE_ROUTINE)
        j->owner->routine_inflight--;
    b->counters.done[j->lane]++;
    job_free(b, j);
    b->counters.completed++;
    b->rate_window_done++;
}

/* Forwards the inner reply of a DONE (or of a BATCH's or PACK's reply item) to the
 * client it belongs to. */
void broker_on_done(broker *b, const proto_msg *hdr, int inner_cmd, zmq_msg_t *reply)
{
    /* One lookup: the job is taken off the map as it is found. None: it
     * finished twice (requeued after a worker was thought dead). */
    job *j = hmap_del_u64(b->jobs_in_flight, hdr->job);
    if (j) {
        broker_metrics_done(b, j->cmd, j->lane, j->enqueued_us, inner_cmd, zmq_msg_data(reply),
                            zmq_msg_size(reply));
        job_done(b, j);
    }
    /* broker_worker_envelope sets origin to one of origin_names. */
    void *sock = hdr->origin == origin_names[ORIGIN_RESPONDERS] ||
                         strcmp(hdr->origin, origin_names[ORIGIN_RESPONDERS]) == 0
                     ? b->responders
                     : b->intake;
    /* A client that went away is not an error: it will retry with its id. */
    broker_forward(sock, hdr->client, hdr->client_len, inner_cmd, NULL, 0, 0, reply);
}

/* Sends a DELIVER's (or a BATCH's or PACK's delivery item's) inner message to the
 * team's present members. */
void broker_on_deliver(broker *b, const char *team, int inner_cmd, zmq_msg_t *body)
{
    broker_metrics_deliver(b, inner_cmd, zmq_msg_data(body), zmq_msg_size(body));
    broker_deliver(b, team, inner_cmd, body);
}

static void on_ready(broker *b, frame_msg *fm, const proto_msg *m)
{
    size_t len;
    const void *ident = frame_identity(fm, &len);
    int index;
    worker *w = worker_find(b, ident, len, &index);
    char host[256] = "";
    int local = m->host && gethostname(host, sizeof host - 1) == 0 && strcmp(host, m->host) == 0;
    if (!w && local && m->pid) {
        /* The same process on a new connection (it thought us silent, e.g.
         * while it waited for the store's lock): forget the old entry,
         * without fencing it — it is this very process. */
        for (int i = 0; i < b->nworkers; i++)
            if (b->workers[i]->local && b->workers[i]->pid == m->pid) {
                worker_remove(b, i, "reconnected", 0);
                break;
            }
    }
    if (w) {
        /* A READY from a known worker means it restarted its session: what
         * we thought it had in flight it no longer has. */
        worker_requeue(b, w);
    } else {
        if (b->nworkers == BROKER_MAX_WORKERS || len > BROKER_IDENT_MAX) {
            LOG_E("refusing worker %s: %d workers connected already", m->worker, b->nworkers);
            return;
        }
        w = calloc(1, sizeof *w);
        if (!w)
            return;
        memcpy(w->ident, ident, len);
        w->ident_len = len;
        b->workers[b->nworkers++] = w;
    }
    snprintf(w->name, sizeof w->name, "%s", m->worker);
    w->credit = m->credit > 4096 ? 4096 : m->credit;
    w->pid = m->pid;
    w->local = local;
    w->lanes = !m->lane || strcmp(m->lane, "all") == 0 ? (1u << LANE_ALERT) | (1u << LANE_ROUTINE)
               : strcmp(m->lane, "alert") == 0         ? 1u << LANE_ALERT
                                                       : 1u << LANE_ROUTINE;
    w->last_heard_ms = clock_mono_ms();
    w->takes_pack = m->pack;
    LOG_I("worker %s ready, credit %u, lanes %s%s (%d connected)", w->name, w->credit,
          m->lane ? m->lane : "all", m->pack ? ", JOBs packed" : "", b->nworkers);
    broker_send_heartbeat(b, b->workers_sock, w->ident, w->ident_len);
}

static int flush_presence(void *ctx, const void *key, size_t len, void *value)
{
    (void)value;
    char team[GL_MAX_ID + 1];
    snprintf(team, sizeof team, "%.*s", (int)len, (const char *)key);
    broker_send_presence(ctx, team, NULL);
    return 0;
}

/* filing_alert: w holds an alert it is filing, whose DISPATCHes it may have
 * sent early (before its commit, PROTOCOL.md §12). */
static int filing_alert(const worker *w)
{
    for (const job *j = w->inflight.head; j; j = j->next)
        if (j->lane == LANE_ALERT && j->cmd == PROTO_SUBMIT)
            return 1;
    return 0;
}

void broker_send_presence(broker *b, const char *team, const char *member)
{
    /* After the JOBs handed out before it (PROTOCOL.md §6, PRESENCE). */
    jobs_flush_all(b);
    worker *w = worker_pick(b, LANE_ALERT, 1);
    if (!w && b->nworkers > 0)
        w = b->workers[0];
    if (!w) {
        hmap_put(b->presence_pending, team, strlen(team), (void *)1);
        return;
    }
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_PRESENCE;
    m.team = team;
    m.member = member;
    broker_reply(b, b->workers_sock, w->ident, w->ident_len, &m);
    /* An alert being filed elsewhere may have sent its DISPATCH to this team
     * early, when nobody of it was present, and its dispatch record is not
     * committed yet: the worker picked finds nothing pending. The worker
     * filing it reads this PRESENCE after that alert's JOB, so only once the
     * commit is done, and then resends the record. */
    for (int i = 0; i < b->nworkers; i++)
        if (b->workers[i] != w && filing_alert(b->workers[i]))
            broker_reply(b, b->workers_sock, b->workers[i]->ident, b->workers[i]->ident_len, &m);
    hmap_del(b->presence_pending, team, strlen(team));
}

/* broker_worker_envelope reads the header of a DONE or DELIVER (cmd), the
 * messages that come with every job and dispatch, in place (peek.h)
 * instead of decoding it: the keys the broker acts on, with the decoder's
 * checks of their type and size (a worker builds them with proto_encode).
 * team: room for a DELIVER's team. Returns 0, or -1 with the reason. */
/* envelope_as_packed reads a DONE's or DELIVER's header laid out exactly
 * as a worker packs it (batchmsg.c, proto_encode: these keys in this
 * order, each value in its smallest form) straight from the bytes, with
 * the checks broker_worker_envelope makes; -1 for anything else, which
 * then goes the general way (and gets its reason there). */
static int envelope_as_packed(int cmd, const unsigned char *p, size_t n, proto_msg *m, char *team)
{
    const unsigned char *end = p + n;
    size_t len;
    if (cmd == PROTO_DELIVER) {
        if (n < 7 || memcmp(p, "\x81\xa4team", 6) != 0)
            return -1;
        p += 6;
        if (*p >= 0xa0 && *p <= 0xbf) {
            len = *p++ & 0x1fu;
        } else if (*p == 0xd9 && end - p >= 2) {
            len = p[1];
            p += 2;
        } else {
            return -1;
        }
        if (len == 0 || len > GL_MAX_ID || (size_t)(end - p) != len || memchr(p, '\0', len))
            return -1;
        memcpy(team, p, len);
        team[len] = '\0';
        m->team = team;
        return 0;
    }
    const unsigned char *client;
    uint64_t id;
    size_t client_len;
    p = pack_peek_job_client(p, end, 3, 8, &id, &client, &client_len);
    if (!p || memcmp(p, "\xa6origin", 7) != 0 || p[7] < 0xa0 || p[7] > 0xbf)
        return -1;
    len = p[7] & 0x1fu;
    p += 8;
    if ((size_t)(end - p) != len)
        return -1;
    for (size_t i = 0; i < GL_ARRAY_LEN(origin_names); i++)
        if (strlen(origin_names[i]) == len && memcmp(origin_names[i], p, len) == 0)
            m->origin = origin_names[i];
    if (!m->origin)
        return -1;
    m->job = id;
    m->client = client;
    m->client_len = client_len;
    return 0;
}

int broker_worker_envelope(int cmd, const void *body, size_t blen, proto_msg *m, char *team,
                           char *reason, size_t len)
{
    static const char *const wanted[] = {"job", "client", "origin", "team"};
    peek_value v[4];
    memset(m, 0, sizeof *m);
    m->cmd = cmd;
    if (body && envelope_as_packed(cmd, body, blen, m, team) == 0)
        return 0;
    memset(m, 0, sizeof *m);
    m->cmd = cmd;
    if (peek_map(body, blen, wanted, v, cmd == PROTO_DONE ? 3 : 4) != 0) {
        snprintf(reason, len, "body is not a msgpack map");
        return -1;
    }
    if (cmd == PROTO_DELIVER) {
        if (v[3].type != PEEK_STR || v[3].len == 0 || v[3].len > GL_MAX_ID ||
            memchr(v[3].str, '\0', v[3].len)) {
            snprintf(reason, len, "field 'team' must be a string of 1..%d bytes", GL_MAX_ID);
            return -1;
        }
        memcpy(team, v[3].str, v[3].len);
        team[v[3].len] = '\0';
        m->team = team;
        return 0;
    }
    if (v[0].type != PEEK_UINT) {
        snprintf(reason, len, "field 'job' must be an unsigned integer");
        return -1;
    }
    if (v[1].type != PEEK_BIN || v[1].len == 0 || v[1].len > 255) {
        snprintf(reason, len, "field 'client' must be 1..255 bytes of binary");
        return -1;
    }
    for (size_t i = 0; i < GL_ARRAY_LEN(origin_names) && !m->origin; i++)
        if (v[2].type == PEEK_STR && strlen(origin_names[i]) == v[2].len &&
            memcmp(origin_names[i], v[2].str, v[2].len) == 0)
            m->origin = origin_names[i];
    if (!m->origin) {
        snprintf(reason, len, "field 'origin' must be one of intake|responders");
        return -1;
    }
    m->job = v[0].u;
    m->client = v[1].str;
    m->client_len = v[1].len;
    return 0;
}

void broker_on_worker_msg(broker *b, frame_msg *fm)
{
    size_t len;
    const void *ident = frame_identity(fm, &len);
    worker *w = worker_find(b, ident, len, NULL);
    if (w)
        w->last_heard_ms = clock_mono_ms();
    proto_msg m;
    char reason[160];
    arena_reset(&b->scratch);
    size_t blen;
    const void *body = frame_body(fm, &blen);
    char team[GL_MAX_ID + 1];
    int rc = fm->cmd == PROTO_DONE || fm->cmd == PROTO_DELIVER
                 ? broker_worker_envelope(fm->cmd, body, blen, &m, team, reason, sizeof reason)
                 : proto_decode(fm->cmd, body, blen, &m, &b->scratch, reason, sizeof reason);
    if (rc != 0) {
        b->counters.bad_worker_msgs++;
        log_limited(LOG_WARN, "bad-worker-msg", "bad %s from a worker: %s",
                    proto_cmd_name(fm->cmd), reason);
        return;
    }
    if (!w && fm->cmd == PROTO_HEARTBEAT && m.pid) {
        /* A worker's watchdog on its own connection: alive, maybe waiting
         * for the store's lock; never answered. */
        char host[256] = "";
        int local = m.host && gethostname(host, sizeof host - 1) == 0 && strcmp(host, m.host) == 0;
        for (int i = 0; i < b->nworkers && local; i++)
            if (b->workers[i]->local && b->workers[i]->pid == m.pid)
                b->workers[i]->last_heard_ms = clock_mono_ms();
        return;
    }
    if (fm->cmd == PROTO_BYE) {
        /* The worker is leaving (its store failed, or it was stopped): its in-flight jobs go
         * to the others now, not after liveness heartbeats of silence. A
         * BYE from a connection that is not a worker is ignored. */
        int index;
        if (w && worker_find(b, ident, len, &index))
            worker_remove(b, index, "it said BYE", 1);
        return;
    }
    switch (fm->cmd) {
    case PROTO_READY:
        on_ready(b, fm, &m);
        if (hmap_count(b->presence_pending)) {
            /* Sending takes a team off the pending map: walk a detached copy,
             * never the map being changed. */
            hmap *pending = b->presence_pending;
            b->presence_pending = hmap_new();
            if (!b->presence_pending) {
                b->presence_pending = pending;
                return;
            }
            hmap_each(pending, flush_presence, b);
            hmap_free(&pending);
        }
        return;
    case PROTO_HEARTBEAT:
        break;
    case PROTO_PING: /* "is a broker here?" (a second broker checking an ipc endpoint) */
        broker_pong(b, b->workers_sock, ident, len, m.rid);
        return;
    case PROTO_REPORT:
        broker_on_report(b, &m);
        break;
    case PROTO_DONE:
        broker_on_done(b, &m, fm->inner_cmd, frame_part_msg(fm, 4));
        break;
    case PROTO_DELIVER:
        broker_on_deliver(b, m.team, fm->inner_cmd, frame_part_msg(fm, 4));
        break;
    case PROTO_BATCH:
        broker_on_batch(b, fm);
        break;
    case PROTO_PACK:
        broker_on_pack(b, fm);
        break;
    default:
        b->counters.bad_worker_msgs++;
        log_limited(LOG_WARN, "worker-cmd", "unexpected %s on the workers endpoint",
                    proto_cmd_name(fm->cmd));
        return;
    }
    if (!w) {
        /* Not registered (the broker restarted under it): tell it to say
         * READY again; its DONE/DELIVER/BATCH/PACK was still honoured above. */
        broker_reply_error(b, b->workers_sock, fm, GL_EBADSTATE, "unknown worker: send READY",
                           NULL, 0);
    }
}

/* A worker that stops answering may be stuck inside its LMDB write
 * transaction, holding the lock every other worker waits for: with --fence
 * the broker kills it (a dead owner's lock is released by LMDB's robust
 * mutex), then gives the others one more liveness interval, since they may
 * only have been waiting for that lock. */
static int worker_fence(broker *b, worker *w, uint64_t now_ms)
{
    if (!b->cfg.fence || !w->local || w->pid <= 1)
        return 0;
    for (int i = 0; i < b->nworkers; i++)
        if (b->workers[i] != w && b->workers[i]->local && b->workers[i]->pid == w->pid)
            return 0; /* that process is alive on another connection */
    if (kill((pid_t)w->pid, SIGKILL) == 0)
        LOG_W("worker %s (pid %u) fenced: killed so that it cannot hold the store's write lock",
              w->name, w->pid);
    b->fence_grace_until_ms = now_ms + (uint64_t)(b->cfg.heartbeat_ms * b->cfg.liveness);
    return 1;
}

void broker_worker_tick(broker *b, uint64_t now_ms)
{
    uint64_t dead_after = (uint64_t)(b->cfg.heartbeat_ms * b->cfg.liveness);
    /* The longest silent first: it is the likeliest lock holder. */
    int order[BROKER_MAX_WORKERS], n = b->nworkers;
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && b->workers[order[k]]->last_heard_ms <
                                      b->workers[order[k - 1]]->last_heard_ms; k--) {
            int tmp = order[k];
            order[k] = order[k - 1];
            order[k - 1] = tmp;
        }
    int lost = -1;
    for (int i = 0; i < n && lost < 0; i++) {
        worker *w = b->workers[order[i]];
        if (now_ms - w->last_heard_ms > dead_after && now_ms >= b->fence_grace_until_ms)
            lost = order[i];
    }
    if (lost >= 0) {
        /* One at a time: the others are looked at again next tick. */
        worker_fence(b, b->workers[lost], now_ms);
        worker_remove(b, lost, "heartbeat lost", 0);
    }
    jobs_flush_all(b); /* what a worker is sent keeps its order */
    for (int i = b->nworkers - 1; i >= 0; i--) {
        worker *w = b->workers[i];
        if (now_ms - w->last_sent_ms >= (uint64_t)b->cfg.heartbeat_ms)
            broker_send_heartbeat(b, b->workers_sock, w->ident, w->ident_len);
    }
    /* Completion rate over the last second, smoothed, for BUSY hints. */
    if (now_ms - b->rate_window_start_ms >= 1000) {
        double rate = (double)b->rate_window_done / (double)(now_ms - b->rate_window_start_ms);
        b->done_per_ms = b->done_per_ms * 0.5 + rate * 0.5;
        b->rate_window_start_ms = now_ms;
        b->rate_window_done = 0;
    }
}

void broker_free_jobs(broker *b)
{
    for (int i = 0; i < b->nworkers; i++) {
        worker_requeue(b, b->workers[i]);
        free(b->workers[i]);
    }
    b->nworkers = 0;
    for (int lane = 0; lane < LANE_COUNT; lane++) {
        job *j;
        while ((j = b->lanes[lane].head) != NULL) {
            list_remove(&b->lanes[lane], j);
            job_free(b, j);
        }
    }
    job *j;
    while ((j = b->job_pool) != NULL) {
        b->job_pool = j->next;
        free(j);
    }
    b->job_pool_count = 0;
}
