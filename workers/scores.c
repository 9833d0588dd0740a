/* scores.c — SCORES: the three figures the service hotlines are judged by,
 * per community, over a period (PROTOCOL.md §4, "SCORES / SCORECARD"):
 *
 *   response rate     dispatches acknowledged within their time limit, of
 *                     the dispatches that have been answered or whose limit
 *                     has passed;
 *   resolution rate   events resolved (or closed after resolution), of the
 *                     events filed;
 *   satisfaction rate events rated satisfied, of the events rated.
 *
 * Read outside the batches' write transactions, only the events filed in
 * the period (store_range.h) with their dispatches and history, in chunks
 * of SCORES_CHUNK events, each in a read transaction of its own, between
 * which the worker's loop goes round: an alert never waits for more than one
 * chunk of a long report. */
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/hmap.h"
#include "../common/log.h"
#include "../common/store_range.h"

/* Most events one SCORES reads: a month of a large county, read in well
 * under a second. Beyond it the reply says truncated. */
#define SCORES_MAX_EVENTS 500000
#define SCORES_CHUNK 2000 /* events per read transaction: a few ms */
#define SCORES_MAX_COMMUNITIES 512 /* the reply must fit one body */
#define SCORES_PLAN_STEPS 16
#define SCORES_UNLOCATED "(unlocated)"

typedef struct score_figures {
    uint64_t events, resolved, rated, satisfied, dispatches, responded_in_time, overdue,
        unanswered;
} score_figures;

/* A SCORES being read, chunk by chunk: what the reply needs, where the
 * walk goes on, and the figures so far. */
typedef struct score_job {
    struct score_job *next;
    uint64_t job, rid, since_ms, until_ms;
    uint64_t next_seq;      /* store_event_range's cursor; 0 before the first chunk */
    uint64_t scanned;
    char origin[16];
    unsigned char client[256];
    size_t client_len;
    hmap *communities;      /* community → score_figures */
    score_figures total;
} score_job;

typedef struct score_run {
    gl_worker *w;
    store_txn *t;
    uint64_t now;
    score_job *sj;
} score_run;

/* One actionable dispatch of the event being read, and when its team first
 * answered it. */
typedef struct score_dispatch {
    const char *team;
    int state;
    uint64_t created_ms, first_answer_ms;
    unsigned limit_s;       /* 0: no time limit */
} score_dispatch;

typedef struct score_event {
    score_dispatch d[32];
    size_t n;
} score_event;

static const char *const answers[] = {"acked", "accepted", "claimed", "resolved",
                                      "declined", "returned", NULL};

static int collect_dispatch(void *ctx, const gl_dispatch *d)
{
    score_event *se = ctx;
    if (!actionable(d->role) || se->n == GL_ARRAY_LEN(se->d))
        return 0;
    score_dispatch *sd = &se->d[se->n++];
    memset(sd, 0, sizeof *sd);
    sd->team = d->team; /* a copy in the scratch arena */
    sd->state = d->state;
    sd->created_ms = d->created_ms;
    return 0;
}

/* history "who" is "team:ID" or "team:ID/member" for a team's act. */
static int collect_answer(void *ctx, const gl_history *h)
{
    score_event *se = ctx;
    if (!h->who || strncmp(h->who, "team:", 5) != 0 || !h->what)
        return 0;
    int answer = 0;
    for (int i = 0; answers[i] && !answer; i++)
        answer = strcmp(h->what, answers[i]) == 0;
    if (!answer)
        return 0;
    const char *team = h->who + 5;
    size_t len = strcspn(team, "/");
    for (size_t i = 0; i < se->n; i++) {
        score_dispatch *sd = &se->d[i];
        if (strlen(sd->team) == len && memcmp(sd->team, team, len) == 0 &&
            (!sd->first_answer_ms || h->at_ms < sd->first_answer_ms))
            sd->first_answer_ms = h->at_ms;
    }
    return 0;
}

static score_figures *figures_of(score_run *r, const char *community)
{
    hmap *m = r->sj->communities;
    const char *key = community && community[0] ? community : SCORES_UNLOCATED;
    score_figures *f = hmap_get(m, key, strlen(key));
    if (f || hmap_count(m) >= SCORES_MAX_COMMUNITIES)
        return f;
    f = calloc(1, sizeof *f);
    if (f && hmap_put(m, key, strlen(key), f) != 0) {
        free(f);
        f = NULL;
    }
    return f;
}

static int score_event_visit(void *ctx, const gl_event *ev)
{
    score_run *r = ctx;
    if (ev->state == GL_EV_CANCELLED || ev->state == GL_EV_MERGED)
        return 0; /* a false alarm or a duplicate is nobody's work */
    score_event se;
    se.n = 0;
    /* Team names must outlive the dispatch walk: copy them. */
    dispatch_list l;
    dispatch_list_init(&l, &r->w->scratch, GL_ARRAY_LEN(se.d) * 2);
    int rc = dispatch_list_event(r->t, ev->seq, &l);
    if (rc)
        return rc;
    for (size_t i = 0; i < l.n; i++)
        collect_dispatch(&se, &l.items[i]);
    if ((rc = store_history_list(r->t, ev->seq, collect_answer, &se)) != 0)
        return rc;

    dir_policy p;
    dir_category_policy(r->w->dir, ev->kind, ev->category, &p);
    dir_plan_step steps[SCORES_PLAN_STEPS];
    int nsteps = ev->kind == GL_KIND_ALERT
                     ? dir_plan(r->w->dir, ev->community, ev->grid, ev->category, steps,
                                SCORES_PLAN_STEPS)
                     : 0;

    score_figures one;
    memset(&one, 0, sizeof one);
    one.events = 1;
    one.resolved = ev->state == GL_EV_RESOLVED || ev->state == GL_EV_CLOSED;
    one.rated = ev->rating != NULL;
    one.satisfied = ev->rating && strcmp(ev->rating, "satisfied") == 0;
    one.overdue = ev->alarm && strcmp(ev->alarm, "overdue") == 0;
    one.unanswered = ev->alarm && strcmp(ev->alarm, "unanswered") == 0;
    for (size_t i = 0; i < se.n; i++) {
        score_dispatch *sd = &se.d[i];
        /* A squad of the alert's plan has its step's deadline; everyone
         * else the category's time to sign for it. */
        unsigned limit = p.sign_within_s;
        for (int k = 0; k < nsteps; k++)
            if (steps[k].squad && strcmp(steps[k].squad, sd->team) == 0)
                limit = steps[k].ack_within_s;
        uint64_t deadline = sd->created_ms + limit * 1000ull;
        if (sd->first_answer_ms) {
            one.dispatches++;
            one.responded_in_time += !limit || sd->first_answer_ms <= deadline;
        } else if (limit && r->now > deadline && sd->state != GL_DS_TAKEN &&
                   sd->state != GL_DS_CANCELLED) {
            one.dispatches++; /* unanswered past its limit */
        }
        /* Not counted yet: unanswered within its limit, or without one; and
         * those another team took before this one had to answer. */
    }
    score_figures *targets[] = {&r->sj->total, figures_of(r, ev->community)};
    for (size_t i = 0; i < GL_ARRAY_LEN(targets); i++) {
        score_figures *f = targets[i];
        if (!f)
            continue;
        f->events += one.events;
        f->resolved += one.resolved;
        f->rated += one.rated;
        f->satisfied += one.satisfied;
        f->overdue += one.overdue;
        f->unanswered += one.unanswered;
        f->dispatches += one.dispatches;
        f->responded_in_time += one.responded_in_time;
    }
    return 0;
}

static void pack_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    msgpack_pack_str_with_body(pk, key, strlen(key));
    msgpack_pack_uint64(pk, v);
}

/* A rate is left out when nothing counts towards it. */
static void pack_figures(msgpack_packer *pk, const score_figures *f)
{
    size_t n = 8 + (f->dispatches > 0) + (f->events > 0) + (f->rated > 0);
    msgpack_pack_map(pk, n);
    pack_u64(pk, "events", f->events);
    pack_u64(pk, "dispatches", f->dispatches);
    pack_u64(pk, "responded_in_time", f->responded_in_time);
    pack_u64(pk, "resolved", f->resolved);
    pack_u64(pk, "rated", f->rated);
    pack_u64(pk, "satisfied", f->satisfied);
    pack_u64(pk, "overdue", f->overdue);
    pack_u64(pk, "unanswered", f->unanswered);
    const struct {
        const char *key;
        uint64_t num, den;
    } rates[] = {{"response_rate", f->responded_in_time, f->dispatches},
                 {"resolution_rate", f->resolved, f->events},
                 {"satisfaction_rate", f->satisfied, f->rated}};
    for (size_t i = 0; i < GL_ARRAY_LEN(rates); i++)
        if (rates[i].den) {
            msgpack_pack_str_with_body(pk, rates[i].key, strlen(rates[i].key));
            msgpack_pack_double(pk, (double)rates[i].num / (double)rates[i].den);
        }
}

static int pack_community(void *ctx, const void *key, size_t len, void *value)
{
    msgpack_packer *pk = ctx;
    msgpack_pack_str_with_body(pk, key, len);
    pack_figures(pk, value);
    return 0;
}

static int free_figures(void *ctx, const void *key, size_t len, void *value)
{
    (void)ctx, (void)key, (void)len;
    free(value);
    return 0;
}

/* scores_wjob makes the wjob that worker_out_reply and worker_out_error
 * answer: the job's envelope and rid. */
static void scores_wjob(const score_job *sj, wjob *j)
{
    memset(j, 0, sizeof *j);
    j->id = sj->job;
    j->client = sj->client;
    j->client_len = sj->client_len;
    j->origin = sj->origin;
    j->cmd = PROTO_SCORES;
    j->msg.rid = sj->rid;
}

static void scores_reply(gl_worker *w, const score_job *sj, int truncated)
{
    msgpack_sbuffer communities, total;
    msgpack_packer pk;
    msgpack_sbuffer_init(&communities);
    msgpack_sbuffer_init(&total);
    msgpack_packer_init(&pk, &communities, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, hmap_count(sj->communities));
    hmap_each(sj->communities, pack_community, &pk);
    msgpack_packer_init(&pk, &total, msgpack_sbuffer_write);
    pack_figures(&pk, &sj->total);
    proto_msg out;
    memset(&out, 0, sizeof out);
    out.cmd = PROTO_SCORECARD;
    out.rid = sj->rid;
    out.since_ms = sj->since_ms;
    out.until_ms = sj->until_ms;
    out.scores = communities.data;
    out.scores_len = communities.size;
    out.scores_total = total.data;
    out.scores_total_len = total.size;
    out.scanned = sj->scanned;
    out.truncated = truncated;
    wjob j;
    scores_wjob(sj, &j);
    worker_out_reply(w, &j, &out, 0);
    msgpack_sbuffer_destroy(&communities);
    msgpack_sbuffer_destroy(&total);
}

static void scores_free(score_job **sj)
{
    if (!*sj)
        return;
    if ((*sj)->communities)
        hmap_each((*sj)->communities, free_figures, NULL);
    hmap_free(&(*sj)->communities);
    free(*sj);
    *sj = NULL;
}

size_t worker_answer_queries(gl_worker *w, wjob *jobs, size_t n)
{
    size_t kept = 0, answered = 0;
    score_job **tail = &w->scores;
    while (*tail)
        tail = &(*tail)->next;
    for (size_t i = 0; i < n; i++) {
        wjob *j = &jobs[i];
        if (j->cmd != PROTO_SCORES) {
            jobs[kept++] = *j;
            continue;
        }
        w->counters.jobs++;
        score_job *sj = NULL;
        if (j->decode_err) {
            worker_out_error(w, j, j->decode_err, j->reason);
        } else if (j->msg.until_ms <= j->msg.since_ms) {
            worker_out_error(w, j, GL_EBADFIELD, "field 'until_ms' must be after 'since_ms'");
        } else if (j->client_len > sizeof sj->client || !j->origin ||
                   strlen(j->origin) >= sizeof sj->origin ||
                   !(sj = calloc(1, sizeof *sj)) || !(sj->communities = hmap_new())) {
            scores_free(&sj);
            worker_out_error(w, j, GL_EINTERNAL, NULL);
        } else {
            sj->job = j->id;
            sj->rid = j->msg.rid;
            sj->since_ms = j->msg.since_ms;
            sj->until_ms = j->msg.until_ms;
            memcpy(sj->client, j->client, j->client_len);
            sj->client_len = j->client_len;
            snprintf(sj->origin, sizeof sj->origin, "%s", j->origin);
            *tail = sj;
            tail = &sj->next;
            continue;
        }
        answered++;
    }
    if (answered)
        worker_flush(w, 1, 0);
    return kept;
}

int worker_scores_pending(const gl_worker *w)
{
    return w->scores != NULL;
}

void worker_scores_step(gl_worker *w)
{
    score_job *sj = w->scores;
    if (!sj)
        return;
    score_run r = {.w = w, .now = clock_wall_ms(), .sj = sj};
    uint64_t visited = 0;
    arena_reset(&w->scratch);
    int rc = store_begin(w->st, 0, &r.t);
    if (rc == 0)
        rc = store_event_range(r.t, sj->since_ms, sj->until_ms, &sj->next_seq, SCORES_CHUNK,
                               &w->scratch, score_event_visit, &r, &visited);
    store_abort(&r.t);
    sj->scanned += visited;
    if (rc == 0 && sj->next_seq && sj->scanned < SCORES_MAX_EVENTS)
        return; /* more next time round the loop */
    if (rc != 0) {
        wjob j;
        scores_wjob(sj, &j);
        log_limited(LOG_ERROR, "scores", "SCORES not answered: %s", gl_strerror(rc));
        worker_out_error(w, &j, rc < 0 ? rc : GL_EINTERNAL, NULL);
    } else
        scores_reply(w, sj, sj->next_seq != 0);
    worker_flush(w, 1, 0);
    w->scores = sj->next;
    scores_free(&sj);
}

void worker_scores_free(gl_worker *w)
{
    while (w->scores) {
        score_job *sj = w->scores;
        w->scores = sj->next;
        scores_free(&sj);
    }
}
