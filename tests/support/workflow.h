/* workflow.h — what the end-to-end tests of the county's workflows (issue 4)
 * share. Header only, like tap.h, so that a test program links nothing new:
 *
 *   - a copy of the demo county with short time limits and short plans
 *     (wf_write_county), in the test's temporary directory;
 *   - the real broker and workers (wf_start), a terminal on the intake
 *     endpoint and a one-shot responder on the responders endpoint;
 *   - listeners that log every DISPATCH and NOTICE they receive (wf_listen,
 *     wf_pump, wf_heard, WF_WAIT_FOR);
 *   - lookups in what SHOW returns (wf_history, wf_dispatch) and in the
 *     msgpack figure maps of STATUS (wf_figure_u64, wf_figure_has_str);
 *   - bin/gridline run as a user would (wf_cli, wf_cli_json).
 *
 * Everything here asserts nothing: the tests say what they expect. */
#ifndef GL_TEST_WORKFLOW_H
#define GL_TEST_WORKFLOW_H

#include "../../common/clock.h"
#include "../../proto/client.h"
#include "../tap.h"
#include "testlib.h"

#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tl_env wf_env;
static client *wf_terminal;  /* intake: SUBMIT, SHOW, RATE, TRACK, STATUS, BOARD */
static client *wf_responder; /* responders: the acts of teams nobody listens for */
static gl_arena wf_arena;    /* SHOW, TRACK, BOARD, STATUS replies: kept to the end */
static client_opts wf_opts;

#define WF_TERMINAL "test-desk"
#define WF_CONTACT "139-0951-2046"

/* ---- a county with short time limits -------------------------------------- */

/* The time limits of one category; a value < 0 keeps the demo's, 0 removes
 * the limit. */
typedef struct wf_limits {
    const char *kind; /* "request", "feedback" */
    const char *category;
    int sign_within_s, resolve_within_s, remind_before_s, lease_s;
} wf_limits;

/* A grid's response plan for one alert category: up to three squads. */
typedef struct wf_plan {
    const char *grid, *category;
    const char *squads[3];
    int ack_s[3];
} wf_plan;

static inline void wf_set_limit(json_t *cat, const char *key, int value)
{
    if (value > 0)
        json_object_set_new(cat, key, json_integer(value));
    else if (value == 0)
        json_object_del(cat, key);
}

/* wf_write_county copies the demo county into DIR/county.json with the
 * limits and plans given, and points wf_env.directory at it. 0, or -1 after a
 * diag. */
static inline int wf_write_county(const wf_limits *lim, size_t nlim, const wf_plan *plans,
                                  size_t nplans)
{
    json_error_t jerr;
    json_t *root = json_load_file(wf_env.directory, 0, &jerr);
    if (!root) {
        diag("cannot load %s: %s (line %d)", wf_env.directory, jerr.text, jerr.line);
        return -1;
    }
    for (size_t i = 0; i < nlim; i++) {
        json_t *cats = json_object_get(json_object_get(root, "categories"), lim[i].kind);
        json_t *cat, *found = NULL;
        size_t k;
        json_array_foreach(cats, k, cat) {
            const char *id = json_string_value(json_object_get(cat, "id"));
            if (id && strcmp(id, lim[i].category) == 0)
                found = cat;
        }
        if (!found) {
            diag("the demo county has no %s category '%s'", lim[i].kind, lim[i].category);
            json_decref(root);
            return -1;
        }
        wf_set_limit(found, "sign_within_s", lim[i].sign_within_s);
        wf_set_limit(found, "resolve_within_s", lim[i].resolve_within_s);
        wf_set_limit(found, "remind_before_s", lim[i].remind_before_s);
        wf_set_limit(found, "lease_s", lim[i].lease_s);
    }
    json_t *all_plans = json_object_get(root, "plans");
    for (size_t f = 0; f < nplans; f++) {
        json_t *steps = json_array(), *plan, *found = NULL;
        for (int s = 0; s < 3 && plans[f].squads[s]; s++)
            json_array_append_new(steps, json_pack("{s:s, s:i}", "team", plans[f].squads[s],
                                                   "ack_within_s", plans[f].ack_s[s]));
        size_t k;
        json_array_foreach(all_plans, k, plan) {
            const char *scope = json_string_value(json_object_get(plan, "scope"));
            const char *grid = json_string_value(json_object_get(plan, "grid"));
            const char *cat = json_string_value(json_object_get(plan, "category"));
            if (scope && grid && cat && strcmp(scope, "grid") == 0 &&
                strcmp(grid, plans[f].grid) == 0 && strcmp(cat, plans[f].category) == 0)
                found = plan;
        }
        if (!found) {
            char id[160];
            snprintf(id, sizeof id, "test-%s-%s", plans[f].grid, plans[f].category);
            found = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "scope", "grid", "grid",
                              plans[f].grid, "category", plans[f].category);
            json_array_append_new(all_plans, found);
        }
        json_object_set_new(found, "steps", steps);
    }
    char path[sizeof wf_env.directory];
    snprintf(path, sizeof path, "%s/county.json", wf_env.dir);
    int rc = json_dump_file(root, path, JSON_INDENT(1));
    json_decref(root);
    if (rc != 0) {
        diag("cannot write %s", path);
        return -1;
    }
    snprintf(wf_env.directory, sizeof wf_env.directory, "%s", path);
    return 0;
}

/* ---- the service ------------------------------------------------------------ */

/* wf_open_clients opens the terminal and the responder clients on the
 * service of wf_env (a 3 s timeout) and, with strict not NULL, a second
 * terminal that does not retry (5 s timeout), to see a first answer as it
 * is. 0, or -1. */
static inline int wf_open_clients(client **strict)
{
    client_opts_init(&wf_opts);
    wf_opts.timeout_ms = 3000;
    if (client_open(&wf_terminal, wf_env.intake, &wf_opts, NULL, 0) != 0 ||
        client_open(&wf_responder, wf_env.responders, &wf_opts, NULL, 0) != 0)
        return -1;
    if (!strict)
        return 0;
    client_opts strict_opts;
    client_opts_init(&strict_opts);
    strict_opts.timeout_ms = 5000;
    strict_opts.retries = 0;
    return client_open(strict, wf_env.intake, &strict_opts, NULL, 0) != 0 ? -1 : 0;
}

/* wf_start starts the broker and nworkers workers (with worker_extra, NULL or
 * NULL-terminated), waits until a worker answers, and opens the terminal and
 * the responder clients. 0, or -1. */
static inline int wf_start(int nworkers, const char *const worker_extra[])
{
    tl_broker(&wf_env, NULL);
    for (int i = 0; i < nworkers; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i + 1);
        tl_worker(&wf_env, name, worker_extra);
    }
    if (tl_wait_workers(&wf_env, 10000) != 0)
        return -1;
    return wf_open_clients(NULL);
}

/* wf_submit files an event from WF_TERMINAL with WF_CONTACT as the
 * reporter's contact. */
static inline int wf_submit(const char *id, int kind, const char *category,
                            const char *community, const char *compound, const char *grid,
                            client_filed *f)
{
    gl_event ev = {.id = id, .kind = kind, .category = category, .community = community,
                   .compound = compound, .grid = grid, .terminal = WF_TERMINAL,
                   .text = "测试：居民诉求", .contact = WF_CONTACT,
                   .address = "平罗县和平社区 3 号楼"};
    client_filed ignored;
    return client_submit(wf_terminal, &ev, f ? f : &ignored);
}

static inline int wf_show(const char *id, proto_msg *m)
{
    return client_show(wf_terminal, id, m, &wf_arena);
}

/* wf_act acts as team through the one-shot responder client. */
static inline int wf_act(int cmd, const char *event, const char *team, const char *note,
                         client_result *r)
{
    client_result ignored;
    return client_act(wf_responder, cmd, event, team, "测试员", note, r ? r : &ignored);
}

/* ---- what SHOW returned ---------------------------------------------------- */

/* wf_history returns the n-th (0-based) history entry with what (and, when
 * note_part is not NULL, a note containing it), or NULL. */
static inline const gl_history *wf_history_nth(const proto_msg *m, const char *what,
                                               const char *note_part, int n)
{
    for (size_t i = 0; i < m->nhistory; i++) {
        const gl_history *h = &m->history[i];
        if (h->what && strcmp(h->what, what) == 0 &&
            (!note_part || (h->note && strstr(h->note, note_part))) && n-- == 0)
            return h;
    }
    return NULL;
}

static inline const gl_history *wf_history(const proto_msg *m, const char *what,
                                           const char *note_part)
{
    return wf_history_nth(m, what, note_part, 0);
}

static inline int wf_history_count(const proto_msg *m, const char *what, const char *note_part)
{
    int n = 0;
    while (wf_history_nth(m, what, note_part, n))
        n++;
    return n;
}

/* wf_history_index returns the position of h in m's history (to check order). */
static inline long wf_history_index(const proto_msg *m, const gl_history *h)
{
    return h ? (long)(h - m->history) : -1;
}

static inline const gl_dispatch *wf_dispatch(const proto_msg *m, const char *team)
{
    for (size_t i = 0; i < m->ndispatches; i++)
        if (m->dispatches[i].team && strcmp(m->dispatches[i].team, team) == 0)
            return &m->dispatches[i];
    return NULL;
}

static inline const char *wf_str(const char *s) { return s ? s : "(none)"; }

/* wf_diag_event prints an event's state, dispatches and history. */
static inline void wf_diag_event(const proto_msg *m)
{
    diag("event %s: state %s, team %s, alarm %s", wf_str(m->ev.id),
         gl_event_state_name(m->ev.state), wf_str(m->ev.team), wf_str(m->ev.alarm));
    for (size_t i = 0; i < m->ndispatches; i++)
        diag("  dispatch %s (%s): %s", m->dispatches[i].team, wf_str(m->dispatches[i].role),
             gl_dispatch_state_name(m->dispatches[i].state));
    for (size_t i = 0; i < m->nhistory; i++)
        diag("  history %s by %s: %s", m->history[i].what, wf_str(m->history[i].who),
             wf_str(m->history[i].note));
}

/* ---- listeners, and what they heard --------------------------------------- */

typedef struct wf_msg {
    int cmd;      /* PROTO_DISPATCH or PROTO_NOTICE */
    int listener; /* index in wf_listeners */
    char team[GL_MAX_ID + 1], event[GL_MAX_ID + 1], what[64], by[GL_MAX_ID + 1], role[32];
    char note[400];
    int has_contact; /* DISPATCH: the detail carried the reporter's contact */
    int state;       /* DISPATCH: the dispatch state */
    uint32_t attempts;
    uint64_t at_ms;   /* monotonic */
    uint64_t wall_ms; /* wall clock, to compare with the records' times */
} wf_msg;

#define WF_MAX_HEARD 4096
#define WF_MAX_LISTENERS 16
static wf_msg wf_heard_log[WF_MAX_HEARD];
static int wf_nheard;
static struct {
    const char *team;
    client_listener *l;
} wf_listeners[WF_MAX_LISTENERS];
static int wf_nlisteners;

static inline void wf_pump(int ms);
static inline void wf_pump_idle(void) { wf_pump(0); }

/* wf_listen makes team present with a listener of member; its index, or -1
 * after a diag. From then on the listeners are pumped (and heartbeat) while
 * tl_run waits for a CLI command too. */
static inline int wf_listen(const char *team, const char *member)
{
    tl_run_idle = wf_pump_idle;
    char err[256] = "";
    if (wf_nlisteners == WF_MAX_LISTENERS)
        return -1;
    int i = wf_nlisteners;
    if (client_listen_open(&wf_listeners[i].l, wf_env.responders, team, member, &wf_opts, err,
                           sizeof err) != 0) {
        diag("%s cannot listen: %s", team, err);
        return -1;
    }
    wf_listeners[i].team = team;
    wf_nlisteners++;
    return i;
}

static inline void wf_copy(char *dst, size_t len, const char *s)
{
    snprintf(dst, len, "%s", s ? s : "");
}

/* wf_pump reads every listener for ms milliseconds (at least once; their
 * heartbeats go out meanwhile) and logs every DISPATCH and NOTICE. */
static inline void wf_pump(int ms)
{
    static gl_arena pump_arena;
    uint64_t until = clock_mono_ms() + (uint64_t)(ms > 0 ? ms : 0);
    do {
        int got = 0;
        for (int i = 0; i < wf_nlisteners; i++) {
            for (;;) {
                proto_msg m;
                arena_reset(&pump_arena);
                if (!wf_listeners[i].l ||
                    client_listen_next(wf_listeners[i].l, 0, &m, &pump_arena) != 0 ||
                    m.cmd == PROTO_NONE)
                    break;
                got = 1;
                if (wf_nheard == WF_MAX_HEARD)
                    continue;
                wf_msg *h = &wf_heard_log[wf_nheard++];
                memset(h, 0, sizeof *h);
                h->cmd = m.cmd;
                h->listener = i;
                wf_copy(h->team, sizeof h->team, wf_listeners[i].team);
                wf_copy(h->event, sizeof h->event, m.event);
                wf_copy(h->what, sizeof h->what, m.what);
                wf_copy(h->by, sizeof h->by, m.by);
                wf_copy(h->role, sizeof h->role, m.role);
                wf_copy(h->note, sizeof h->note, m.note);
                h->has_contact = m.cmd == PROTO_DISPATCH && m.ev.contact != NULL;
                h->state = m.state;
                h->attempts = m.attempts;
                h->at_ms = clock_mono_ms();
                h->wall_ms = clock_wall_ms();
            }
        }
        if (!got)
            tl_sleep_ms(10);
    } while (clock_mono_ms() < until);
}

/* wf_heard_nth: the n-th (0-based) message of cmd about event that team's
 * listeners received (what, role: NULL for any), or NULL. */
static inline const wf_msg *wf_heard_nth(const char *team, int cmd, const char *event,
                                           const char *what, const char *role, int n)
{
    for (int i = 0; i < wf_nheard; i++) {
        const wf_msg *h = &wf_heard_log[i];
        if (h->cmd == cmd && strcmp(h->team, team) == 0 && strcmp(h->event, event) == 0 &&
            (!what || strcmp(h->what, what) == 0) && (!role || strcmp(h->role, role) == 0) &&
            n-- == 0)
            return h;
    }
    return NULL;
}

static inline const wf_msg *wf_heard(const char *team, int cmd, const char *event,
                                       const char *what)
{
    return wf_heard_nth(team, cmd, event, what, NULL, 0);
}

static inline int wf_heard_count(const char *team, int cmd, const char *event, const char *what)
{
    int n = 0;
    while (wf_heard_nth(team, cmd, event, what, NULL, n))
        n++;
    return n;
}

/* WF_WAIT_FOR pumps the listeners until cond holds or ms pass. */
#define WF_WAIT_FOR(cond, ms)                                                  \
    do {                                                                       \
        uint64_t wf_until_ = clock_mono_ms() + (uint64_t)(ms);                 \
        while (!(cond) && clock_mono_ms() < wf_until_)                         \
            wf_pump(50);                                                       \
    } while (0)

/* wf_wait_history SHOWs id (pumping the listeners in between) until its
 * history has what with note_part, at most ms; the last SHOW is in *m.
 * 1 when found. */
static inline int wf_wait_history(const char *id, const char *what, const char *note_part,
                                  int ms, proto_msg *m)
{
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    for (;;) {
        if (wf_show(id, m) == 0 && wf_history(m, what, note_part))
            return 1;
        if (clock_mono_ms() >= until)
            return 0;
        wf_pump(100);
    }
}

/* wf_pump_until_wall pumps until the wall clock reaches at_ms. */
static inline void wf_pump_until_wall(uint64_t at_ms)
{
    while (clock_wall_ms() < at_ms)
        wf_pump(20);
}

/* ---- the figures of STATUS (msgpack maps) ----------------------------------- */

/* wf_figure_find looks up a dotted path of map keys ("responders.teams.X")
 * in the msgpack map data and returns the object (valid while *u lives), or
 * NULL. The caller destroys *u. */
static inline const msgpack_object *wf_figure_find(msgpack_unpacked *u, const void *data,
                                                   size_t len, const char *path)
{
    msgpack_unpacked_init(u);
    if (!data || msgpack_unpack_next(u, data, len, NULL) != MSGPACK_UNPACK_SUCCESS)
        return NULL;
    const msgpack_object *o = &u->data;
    char key[256];
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t klen = dot ? (size_t)(dot - p) : strlen(p);
        if (klen >= sizeof key || o->type != MSGPACK_OBJECT_MAP)
            return NULL;
        memcpy(key, p, klen);
        key[klen] = '\0';
        const msgpack_object *next = NULL;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
                memcmp(k->via.str.ptr, key, klen) == 0)
                next = &o->via.map.ptr[i].val;
        }
        if (!next)
            return NULL;
        o = next;
        p = dot ? dot + 1 : p + klen;
    }
    return o;
}

/* wf_figure_u64: the unsigned figure at path; 0 and *v, or -1 when absent or
 * not a number. */
static inline int wf_figure_u64(const void *data, size_t len, const char *path, uint64_t *v)
{
    msgpack_unpacked u;
    const msgpack_object *o = wf_figure_find(&u, data, len, path);
    int rc = -1;
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *v = o->via.u64;
        rc = 0;
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* wf_figure_type: the msgpack type at path, or -1 when absent. */
static inline int wf_figure_type(const void *data, size_t len, const char *path)
{
    msgpack_unpacked u;
    const msgpack_object *o = wf_figure_find(&u, data, len, path);
    int type = o ? (int)o->type : -1;
    msgpack_unpacked_destroy(&u);
    return type;
}

/* wf_figure_size: the number of elements of the array or map at path, or -1. */
static inline long wf_figure_size(const void *data, size_t len, const char *path)
{
    msgpack_unpacked u;
    const msgpack_object *o = wf_figure_find(&u, data, len, path);
    long n = !o ? -1
             : o->type == MSGPACK_OBJECT_ARRAY ? (long)o->via.array.size
             : o->type == MSGPACK_OBJECT_MAP   ? (long)o->via.map.size
                                               : -1;
    msgpack_unpacked_destroy(&u);
    return n;
}

/* wf_figure_has_str: 1 when the array at path holds the string s. */
static inline int wf_figure_has_str(const void *data, size_t len, const char *path,
                                    const char *s)
{
    msgpack_unpacked u;
    const msgpack_object *o = wf_figure_find(&u, data, len, path);
    int found = 0;
    for (uint32_t i = 0; o && o->type == MSGPACK_OBJECT_ARRAY && i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        found |= e->type == MSGPACK_OBJECT_STR && e->via.str.size == strlen(s) &&
                 memcmp(e->via.str.ptr, s, e->via.str.size) == 0;
    }
    msgpack_unpacked_destroy(&u);
    return found;
}

/* ---- bin/gridline, as a user runs it ---------------------------------------- */

static char wf_out[1 << 17];

/* wf_cli runs gridline with args (NULL-terminated; the test's endpoints go
 * after the verb), stdout and stderr into wf_out; returns the exit status. */
static inline int wf_cli(const char *const args[])
{
    return tl_cli(&wf_env, args, 1, wf_out, sizeof wf_out, 15000);
}

static inline int wf_out_has(const char *needle) { return strstr(wf_out, needle) != NULL; }

/* wf_cli_json runs gridline with args and parses the first line of its
 * output that is a JSON object (NULL, after a diag, when there is none).
 * *status gets the exit status. The caller json_decrefs. */
static inline json_t *wf_cli_json(const char *const args[], int *status)
{
    *status = wf_cli(args);
    for (const char *line = wf_out; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len && line[0] == '{') {
            json_error_t jerr;
            json_t *j = json_loadb(line, len, 0, &jerr);
            if (j)
                return j;
        }
        line = end ? end + 1 : NULL;
    }
    diag("gridline %s printed no JSON object (exit %d): %s", args[0], *status, wf_out);
    return NULL;
}

static inline const char *wf_jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* ---- the end ------------------------------------------------------------------ */

/* wf_finish closes every listener and client and prints the plan; returns
 * the exit status of the test. */
static inline int wf_finish(void)
{
    for (int i = 0; i < wf_nlisteners; i++)
        client_listen_close(&wf_listeners[i].l);
    client_close(&wf_terminal);
    client_close(&wf_responder);
    arena_free(&wf_arena);
    return done_testing();
}

#endif
