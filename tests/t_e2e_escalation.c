/* End to end: response-plan escalation of alerts (issue 3), with a real
 * broker and three workers on a copy of the demo county whose plans have
 * deadlines of seconds. Driven through the client API as terminals and
 * responders would: what the listeners of the coordinators and squads
 * receive, and what SHOW says afterwards.
 *
 *   (a) nobody acknowledges: the plan's squads 2 and 3 are dispatched in
 *       order, the coordinators are told "escalated" twice, then
 *       "unanswered", and the alert carries the alarm;
 *   (b) the step-1 squad acknowledges: no escalation, coordinators told;
 *   (c) deadlines survive SIGKILL of every process, whether they pass while
 *       nothing runs or after the restart;
 *   (d) with three workers, every deadline fires exactly once. */
#include "../common/clock.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tl_env env;
static client *terminal;
static gl_arena arena; /* SHOW replies: kept to the end */

/* ---- a county with short deadlines --------------------------------------- */

typedef struct plan_fix {
    const char *grid, *category;
    const char *squads[3];
    int ack_s[3];
} plan_fix;

/* write_county copies the demo county into DIR/county.json with every plan
 * step's deadline set to all_s seconds and the grid plans of fix replaced
 * (or added), and points env.directory at it. 0, or -1 after a diag. */
static int write_county(int all_s, const plan_fix *fix, size_t nfix)
{
    json_error_t jerr;
    json_t *root = json_load_file(env.directory, 0, &jerr);
    if (!root) {
        diag("cannot load %s: %s (line %d)", env.directory, jerr.text, jerr.line);
        return -1;
    }
    json_t *plans = json_object_get(root, "plans"), *plan, *step;
    size_t i, k;
    json_array_foreach(plans, i, plan) {
        json_array_foreach(json_object_get(plan, "steps"), k, step)
            json_object_set_new(step, "ack_within_s", json_integer(all_s));
    }
    for (size_t f = 0; f < nfix; f++) {
        json_t *steps = json_array();
        for (int s = 0; s < 3 && fix[f].squads[s]; s++)
            json_array_append_new(steps, json_pack("{s:s, s:i}", "team", fix[f].squads[s],
                                                   "ack_within_s", fix[f].ack_s[s]));
        json_t *found = NULL;
        json_array_foreach(plans, i, plan) {
            const char *scope = json_string_value(json_object_get(plan, "scope"));
            const char *grid = json_string_value(json_object_get(plan, "grid"));
            const char *cat = json_string_value(json_object_get(plan, "category"));
            if (scope && grid && cat && strcmp(scope, "grid") == 0 &&
                strcmp(grid, fix[f].grid) == 0 && strcmp(cat, fix[f].category) == 0)
                found = plan;
        }
        if (!found) {
            char id[160];
            snprintf(id, sizeof id, "test-%s-%s", fix[f].grid, fix[f].category);
            found = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "scope", "grid", "grid",
                              fix[f].grid, "category", fix[f].category);
            json_array_append_new(plans, found);
        }
        json_object_set_new(found, "steps", steps);
    }
    char path[sizeof env.directory];
    snprintf(path, sizeof path, "%s/county.json", env.dir);
    int rc = json_dump_file(root, path, JSON_INDENT(1));
    json_decref(root);
    if (rc != 0) {
        diag("cannot write %s", path);
        return -1;
    }
    snprintf(env.directory, sizeof env.directory, "%s", path);
    return 0;
}

/* ---- listeners, and what they heard ------------------------------------- */

typedef struct heard {
    int cmd; /* PROTO_DISPATCH or PROTO_NOTICE */
    char team[GL_MAX_ID + 1], event[GL_MAX_ID + 1], what[32], by[GL_MAX_ID + 1], role[32];
    char note[300];
    uint64_t at_ms; /* monotonic */
} heard;

#define MAX_HEARD 8192
static heard heard_log[MAX_HEARD];
static int nheard;

static struct {
    const char *team;
    client_listener *l;
} listeners[] = {
    {"county-coordinators", NULL},     {"heping-duty", NULL},
    {"sq-heping-rescue-1-team", NULL}, {"sq-heping-rescue-2-team", NULL},
    {"sq-xinsheng-rescue-1-team", NULL},
};
enum { COORD, DUTY, SQ1, SQ2, SQ3, NLISTENERS };

static void copy_str(char *dst, size_t len, const char *s) { snprintf(dst, len, "%s", s ? s : ""); }

/* pump reads every listener for ms milliseconds (heartbeats included) and
 * logs every DISPATCH and NOTICE. */
static void pump(int ms)
{
    static gl_arena pump_arena;
    uint64_t until = clock_mono_ms() + (uint64_t)(ms > 0 ? ms : 0);
    do {
        int got = 0;
        for (int i = 0; i < NLISTENERS; i++) {
            for (;;) {
                proto_msg m;
                arena_reset(&pump_arena);
                if (!listeners[i].l || client_listen_next(listeners[i].l, 0, &m, &pump_arena) != 0 ||
                    m.cmd == PROTO_NONE)
                    break;
                got = 1;
                if (nheard == MAX_HEARD)
                    continue;
                heard *h = &heard_log[nheard++];
                h->cmd = m.cmd;
                copy_str(h->team, sizeof h->team, listeners[i].team);
                copy_str(h->event, sizeof h->event, m.event);
                copy_str(h->what, sizeof h->what, m.what);
                copy_str(h->by, sizeof h->by, m.by);
                copy_str(h->role, sizeof h->role, m.role);
                copy_str(h->note, sizeof h->note, m.note);
                h->at_ms = clock_mono_ms();
            }
        }
        if (!got)
            tl_sleep_ms(10);
    } while (clock_mono_ms() < until);
}

/* The n-th (0-based) message of cmd about event heard by listener who (what:
 * NULL for any), or NULL. */
static const heard *nth_heard(int who, int cmd, const char *event, const char *what, int n)
{
    for (int i = 0; i < nheard; i++) {
        const heard *h = &heard_log[i];
        if (h->cmd == cmd && strcmp(h->team, listeners[who].team) == 0 &&
            strcmp(h->event, event) == 0 && (!what || strcmp(h->what, what) == 0) && n-- == 0)
            return h;
    }
    return NULL;
}

static int count_heard(int who, int cmd, const char *event, const char *what)
{
    int n = 0;
    while (nth_heard(who, cmd, event, what, n))
        n++;
    return n;
}

/* WAIT_FOR pumps the listeners until cond holds or ms pass. */
#define WAIT_FOR(cond, ms)                                                     \
    do {                                                                       \
        uint64_t wait_until_ = clock_mono_ms() + (ms);                         \
        while (!(cond) && clock_mono_ms() < wait_until_)                       \
            pump(50);                                                          \
    } while (0)

/* ---- terminals ------------------------------------------------------------ */

static int submit(const char *id, const char *category, const char *community,
                  const char *grid, client_filed *f)
{
    gl_event ev = {.id = id, .kind = GL_KIND_ALERT, .category = category,
                   .community = community, .grid = grid, .terminal = "test-desk",
                   .text = "测试：告警", .urgency = "Immediate", .severity = "Severe"};
    return client_submit(terminal, &ev, f);
}

static int show(const char *id, proto_msg *m) { return client_show(terminal, id, m, &arena); }

static int count_history(const proto_msg *m, const char *what, const char *note_prefix)
{
    int n = 0;
    for (size_t i = 0; i < m->nhistory; i++)
        if (m->history[i].what && strcmp(m->history[i].what, what) == 0 &&
            (!note_prefix || (m->history[i].note &&
                              strncmp(m->history[i].note, note_prefix, strlen(note_prefix)) == 0)))
            n++;
    return n;
}

static const gl_history *find_history(const proto_msg *m, const char *what, const char *note_prefix)
{
    for (size_t i = 0; i < m->nhistory; i++)
        if (m->history[i].what && strcmp(m->history[i].what, what) == 0 &&
            (!note_prefix || (m->history[i].note &&
                              strncmp(m->history[i].note, note_prefix, strlen(note_prefix)) == 0)))
            return &m->history[i];
    return NULL;
}

static const gl_dispatch *find_dispatch(const proto_msg *m, const char *team)
{
    for (size_t i = 0; i < m->ndispatches; i++)
        if (strcmp(m->dispatches[i].team, team) == 0)
            return &m->dispatches[i];
    return NULL;
}

/* count_in_worker_logs counts the lines of every worker's log that contain
 * needle. */
static int count_in_worker_logs(const char *needle, int *files_with)
{
    char pattern[400];
    snprintf(pattern, sizeof pattern, "%s/gridline-worker.*.log", env.dir);
    glob_t g;
    int n = 0;
    *files_with = 0;
    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        FILE *f = fopen(g.gl_pathv[i], "r");
        char line[2048];
        int here = 0;
        while (f && fgets(line, sizeof line, f))
            here += strstr(line, needle) != NULL;
        if (f)
            fclose(f);
        n += here;
        *files_with += here > 0;
    }
    globfree(&g);
    return n;
}

static pid_t broker_pid, worker_pids[3];

static int start_all(void)
{
    broker_pid = tl_broker(&env, NULL);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i + 1);
        worker_pids[i] = tl_worker(&env, name, NULL);
    }
    return tl_wait_workers(&env, 10000);
}

/* ---- the cases ------------------------------------------------------------ */

typedef struct alert {
    const char *id, *category, *community, *grid;
    int steps;               /* steps of its plan */
    const char *squad[3];    /* the plan's squads, in order */
    uint64_t filed_mono;
} alert;

/* (a) and (d): nobody acknowledges. */
static alert unanswered[] = {
    {"esc-a", "fall", "heping", "heping-g1", 3,
     {"sq-heping-rescue-1-team", "sq-heping-rescue-2-team", "sq-xinsheng-rescue-1-team"}, 0},
    {"esc-d1", "fall", "heping", "heping-g1", 3,
     {"sq-heping-rescue-1-team", "sq-heping-rescue-2-team", "sq-xinsheng-rescue-1-team"}, 0},
    {"esc-d2", "fire", "heping", "heping-g2", 3, /* heping's community plan */
     {"sq-heping-rescue-1-team", "sq-heping-rescue-2-team", "sq-mingzhu-rescue-1-team"}, 0},
    {"esc-d3", "gas", "yuhuangge", "yuhuangge-g1", 3, /* the grid's plan */
     {"sq-yuhuangge-rescue-1-team", "sq-yuhuangge-rescue-2-team", "sq-dongjie-rescue-1-team"}, 0},
    {"esc-d4", "medical", "heping", "heping-g3", 2, /* a two-step plan */
     {"sq-heping-rescue-2-team", "sq-heping-rescue-1-team", NULL}, 0},
};
#define NUNANSWERED (sizeof unanswered / sizeof unanswered[0])

static int all_unanswered(void)
{
    for (size_t i = 0; i < NUNANSWERED; i++)
        if (count_heard(COORD, PROTO_NOTICE, unanswered[i].id, "unanswered") == 0)
            return 0;
    return 1;
}

static void case_nobody_answers(void)
{
    const alert *a = &unanswered[0];
    proto_msg m;
    if (!ok(show(a->id, &m) == 0, "(a) SHOW %s", a->id))
        return;
    is_str(m.ev.alarm, "unanswered", "(a) the alert carries the alarm 'unanswered'");
    is_int(m.ev.plan_step, 3, "(a) plan_step 3: the last step was called");
    is_int(m.ev.escalate_at_ms, 0, "(a) escalate_at_ms 0: nothing more to escalate");
    is_int(count_history(&m, "escalated", NULL), 2, "(a) history: escalated twice");
    is_int(count_history(&m, "unanswered", NULL), 1, "(a) history: unanswered once");
    const gl_history *h2 = find_history(&m, "escalated", "step 2: sq-heping-rescue-2-team");
    const gl_history *h3 = find_history(&m, "escalated", "step 3: sq-xinsheng-rescue-1-team");
    const gl_history *hu = find_history(&m, "unanswered", NULL);
    ok(h2 && h3 && hu, "(a) step 2 called rescue-2, step 3 xinsheng (notes: %s | %s)",
       h2 ? h2->note : "-", h3 ? h3->note : "-");
    ok(h2 && strstr(h2->note, "no acknowledgement from sq-heping-rescue-1-team within 1s"),
       "(a) the note says which squad did not acknowledge, within what");
    if (h2 && h3 && hu) {
        ok(h2->at_ms >= m.ev.created_ms + 1000 && h3->at_ms >= h2->at_ms + 1000 &&
               hu->at_ms >= h3->at_ms + 1000,
           "(a) no step came before its deadline (+%llu, +%llu, +%llu ms)",
           (unsigned long long)(h2->at_ms - m.ev.created_ms),
           (unsigned long long)(h3->at_ms - h2->at_ms), (unsigned long long)(hu->at_ms - h3->at_ms));
    }
    const gl_dispatch *d2 = find_dispatch(&m, "sq-heping-rescue-2-team");
    const gl_dispatch *d3 = find_dispatch(&m, "sq-xinsheng-rescue-1-team");
    ok(d2 && d3 && strcmp(d2->role, "squad") == 0 && strcmp(d3->role, "squad") == 0 &&
           d2->state == GL_DS_PENDING && d3->state == GL_DS_PENDING,
       "(a) both escalation squads have a pending dispatch with role squad");

    const heard *s2 = nth_heard(SQ2, PROTO_DISPATCH, a->id, NULL, 0);
    const heard *s3 = nth_heard(SQ3, PROTO_DISPATCH, a->id, NULL, 0);
    ok(s2 && s3, "(a) the listeners of squads 2 and 3 received the DISPATCH");
    ok(s2 && s3 && s2->at_ms < s3->at_ms && strcmp(s2->role, "squad") == 0,
       "(a) squad 2 before squad 3, as squads");
    ok(nth_heard(SQ1, PROTO_DISPATCH, a->id, NULL, 0) != NULL,
       "(a) squad 1 had received it at filing");
    const heard *e1 = nth_heard(COORD, PROTO_NOTICE, a->id, "escalated", 0);
    const heard *e2 = nth_heard(COORD, PROTO_NOTICE, a->id, "escalated", 1);
    const heard *un = nth_heard(COORD, PROTO_NOTICE, a->id, "unanswered", 0);
    is_int(count_heard(COORD, PROTO_NOTICE, a->id, "escalated"), 2,
           "(a) county-coordinators got NOTICE escalated twice");
    ok(e1 && e2 && strncmp(e1->note, "step 2: ", 8) == 0 && strncmp(e2->note, "step 3: ", 8) == 0,
       "(a) first for step 2, then for step 3 (%s)", e1 ? e1->note : "-");
    ok(e2 && un && e2->at_ms <= un->at_ms, "(a) then NOTICE unanswered");
    ok(un && strstr(un->note, "exhausted") != NULL, "(a) saying the plan is exhausted: %s",
       un ? un->note : "-");
    ok(count_heard(DUTY, PROTO_NOTICE, a->id, "escalated") == 2 &&
           count_heard(DUTY, PROTO_NOTICE, a->id, "unanswered") == 1,
       "(a) the community's duty team (a coordinator too) was told the same");
    int files = 0;
    is_int(count_in_worker_logs("ALARM: alert esc-a is unanswered", &files), 1,
           "(a) exactly one worker logged the ALARM");
}

static void case_acknowledged(const char *id, uint64_t filed_mono)
{
    /* Past two deadlines of 1 s (and the workers' heartbeat-long look). */
    while (clock_mono_ms() < filed_mono + 3500)
        pump(50);
    proto_msg m;
    if (!ok(show(id, &m) == 0, "(b) SHOW %s", id))
        return;
    is_int(count_history(&m, "escalated", NULL), 0, "(b) an acknowledged alert did not escalate");
    ok(!find_dispatch(&m, "sq-heping-rescue-2-team"), "(b) no dispatch to the step-2 squad");
    is_int(count_heard(SQ2, PROTO_DISPATCH, id, NULL), 0, "(b) and its listener heard nothing");
    is_int(m.ev.escalate_at_ms, 0, "(b) escalate_at_ms 0");
    is_int(m.ev.plan_step, 1, "(b) plan_step stays 1");
    ok(m.ev.alarm == NULL, "(b) no alarm");
    const gl_dispatch *d1 = find_dispatch(&m, "sq-heping-rescue-1-team");
    ok(d1 && d1->state == GL_DS_ACKED, "(b) the step-1 squad's dispatch is acked");
    const heard *n = nth_heard(COORD, PROTO_NOTICE, id, "acked", 0);
    ok(n && strcmp(n->by, "sq-heping-rescue-1-team") == 0,
       "(b) county-coordinators got NOTICE acked by the squad");
    ok(nth_heard(DUTY, PROTO_NOTICE, id, "acked", 0) != NULL, "(b) so did the duty team");
    is_int(count_heard(COORD, PROTO_NOTICE, id, "escalated"), 0, "(b) and no NOTICE escalated");
}

static void case_each_fires_once(void)
{
    for (size_t i = 0; i < NUNANSWERED; i++) {
        const alert *a = &unanswered[i];
        proto_msg m;
        if (!ok(show(a->id, &m) == 0, "(d) SHOW %s", a->id))
            continue;
        int once = count_history(&m, "unanswered", NULL) == 1;
        for (int s = 2; s <= a->steps; s++) {
            char prefix[100];
            snprintf(prefix, sizeof prefix, "step %d: %s", s, a->squad[s - 1]);
            once &= count_history(&m, "escalated", prefix) == 1;
        }
        once &= count_history(&m, "escalated", NULL) == a->steps - 1;
        if (!ok(once, "(d) %s (%d steps): each step escalated exactly once, then unanswered once",
                a->id, a->steps))
            for (size_t h = 0; h < m.nhistory; h++)
                diag("  %s: %s", m.history[h].what, m.history[h].note ? m.history[h].note : "");
        ok(count_heard(COORD, PROTO_NOTICE, a->id, "escalated") == a->steps - 1 &&
               count_heard(COORD, PROTO_NOTICE, a->id, "unanswered") == 1,
           "(d) %s: the coordinators were told each once (%d escalated)", a->id,
           count_heard(COORD, PROTO_NOTICE, a->id, "escalated"));
        is_int(m.ev.plan_step, a->steps, "(d) %s: plan_step is the last step", a->id);
        char needle[100];
        int files = 0, total = 0;
        for (int s = 2; s <= a->steps; s++) {
            snprintf(needle, sizeof needle, "alert %s escalated: step %d:", a->id, s);
            total += count_in_worker_logs(needle, &files) == 1;
        }
        is_int(total, a->steps - 1, "(d) %s: one worker log line per escalation", a->id);
    }
    int files = 0;
    count_in_worker_logs(" escalated: step ", &files);
    diag("escalations were fired by %d of the 3 workers", files);
}

static void case_restart(void)
{
    client_filed f;
    proto_msg m1, m2;
    int rc1 = submit("esc-c1", "fall", "heping", "heping-g2", &f);
    int rc2 = submit("esc-c2", "fall", "heping", "heping-g3", &f);
    ok(rc1 == 0 && rc2 == 0, "(c) two alerts filed");
    if (!ok(show("esc-c1", &m1) == 0 && show("esc-c2", &m2) == 0, "(c) and shown"))
        return;
    uint64_t due1 = m1.ev.escalate_at_ms, due2 = m2.ev.escalate_at_ms;
    ok(due1 >= m1.ev.created_ms + 2000 && due1 <= m1.ev.created_ms + 2100 &&
           due2 >= m2.ev.created_ms + 6000 && due2 <= m2.ev.created_ms + 6100,
       "(c) their first deadlines are the plans' 2 s and 6 s");

    tl_kill9(broker_pid);
    for (int i = 0; i < 3; i++)
        tl_kill9(worker_pids[i]);
    /* The first deadline passes while nothing runs. */
    while (clock_wall_ms() < due1 + 500)
        pump(50);
    uint64_t restarted = clock_wall_ms();
    if (!ok(start_all() == 0, "(c) broker and three workers restarted after SIGKILL"))
        return;
    ok(restarted > due1 && restarted < due2, "(c) after the first deadline, before the second");

    const gl_history *h1 = NULL, *h2 = NULL;
    uint64_t until = clock_mono_ms() + 10000;
    while ((!h1 || !h2) && clock_mono_ms() < until) {
        pump(200);
        if (!h1 && show("esc-c1", &m1) == 0)
            h1 = find_history(&m1, "escalated", "step 2: sq-heping-rescue-1-team");
        if (!h2 && show("esc-c2", &m2) == 0)
            h2 = find_history(&m2, "escalated", "step 2: sq-heping-rescue-2-team");
    }
    ok(h1 != NULL, "(c) the deadline that passed while everything was down still escalated");
    ok(h1 && h1->at_ms >= due1 && h1->at_ms >= restarted,
       "(c) after the restart (+%lld ms after its deadline)",
       h1 ? (long long)(h1->at_ms - due1) : -1LL);
    ok(h2 != NULL, "(c) the deadline that fell after the restart escalated too");
    ok(h2 && h2->at_ms >= due2, "(c) at or after its deadline (+%lld ms)",
       h2 ? (long long)(h2->at_ms - due2) : -1LL);
    /* A dispatch waits in the store for its team; a NOTICE goes to whoever
     * is present when it is sent. The listeners noticed the broker's death
     * and said HELLO again well before the second deadline. */
    WAIT_FOR(nth_heard(SQ1, PROTO_DISPATCH, "esc-c1", NULL, 0) &&
                 count_heard(COORD, PROTO_NOTICE, "esc-c2", "escalated") > 0,
             5000);
    ok(client_listen_reconnects(listeners[COORD].l) > 0 &&
           client_listen_reconnects(listeners[SQ1].l) > 0,
       "(c) the listeners said HELLO again to the new broker");
    ok(nth_heard(SQ1, PROTO_DISPATCH, "esc-c1", NULL, 0) != NULL,
       "(c) the step-2 squad's listener received esc-c1 (pending, resent on HELLO)");
    const heard *e = nth_heard(COORD, PROTO_NOTICE, "esc-c2", "escalated", 0);
    ok(e && strncmp(e->note, "step 2: sq-heping-rescue-2-team", 31) == 0,
       "(c) the coordinators were told of the escalation after the restart");
}

int main(void)
{
    tl_setup(&env, "escalation");
    static const plan_fix fix[] = {
        {"heping-g1", "fall",
         {"sq-heping-rescue-1-team", "sq-heping-rescue-2-team", "sq-xinsheng-rescue-1-team"},
         {1, 1, 1}},
        {"heping-g2", "fall",
         {"sq-heping-rescue-2-team", "sq-heping-rescue-1-team", "sq-xinsheng-rescue-1-team"},
         {2, 1, 1}},
        {"heping-g3", "fall",
         {"sq-heping-rescue-1-team", "sq-heping-rescue-2-team", "sq-xinsheng-rescue-1-team"},
         {6, 1, 1}},
    };
    if (write_county(1, fix, GL_ARRAY_LEN(fix)) != 0) {
        printf("Bail out! cannot write the test county\n");
        return 1;
    }
    if (start_all() != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 3000;
    client_open(&terminal, env.intake, &o, NULL, 0);
    int listening = 1;
    for (int i = 0; i < NLISTENERS; i++)
        listening &= client_listen_open(&listeners[i].l, env.responders, listeners[i].team,
                                        "测试", &o, NULL, 0) == 0;
    ok(listening, "coordinators, duty team and three squads are listening");

    /* Phase 1: (a), (b) and (d) run side by side. */
    client_filed f;
    int filed = 1;
    for (size_t i = 0; i < NUNANSWERED; i++) {
        filed &= submit(unanswered[i].id, unanswered[i].category, unanswered[i].community,
                        unanswered[i].grid, &f) == 0;
        unanswered[i].filed_mono = clock_mono_ms();
    }
    ok(filed, "%zu alerts filed that nobody will acknowledge", NUNANSWERED);
    is_int(submit("esc-b", "fall", "heping", "heping-g1", &f), 0, "(b) an alert filed");
    uint64_t b_filed = clock_mono_ms();
    client_result r;
    is_int(client_listen_act(listeners[SQ1].l, PROTO_ACK, "esc-b", NULL, &r), 0,
           "(b) the step-1 squad acknowledges it at once");
    is_int(r.state, GL_DS_ACKED, "(b) its dispatch is acked");

    WAIT_FOR(all_unanswered(), 15000);
    ok(all_unanswered(), "every unacknowledged alert ended unanswered (%.1f s)",
       (double)(clock_mono_ms() - unanswered[0].filed_mono) / 1000.0);
    pump(1500); /* a deadline fired twice would show up here */

    case_nobody_answers();
    case_acknowledged("esc-b", b_filed);
    case_each_fires_once();
    /* The squad's ACK rewrote the alert and its dispatch from the records
     * as read (issue 7): the indexes still agree with them. */
    static char out[8192];
    int rc = tl_cli(&env, (const char *[]){"fsck", "--data", env.store, NULL}, 0, out, sizeof out,
                    20000);
    ok(rc == 0 && strstr(out, "consistent"), "gridline fsck finds the store consistent");
    if (rc != 0)
        diag("%s", out);

    /* Phase 2: (c) every process is killed and restarted. */
    case_restart();

    for (int i = 0; i < NLISTENERS; i++)
        client_listen_close(&listeners[i].l);
    client_close(&terminal);
    arena_free(&arena);
    return done_testing();
}
