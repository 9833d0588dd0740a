/* End to end: a terminal updates and cancels alerts it filed (issue 3), with
 * a real broker and two workers on a copy of the demo county whose call-box
 * plan for heping-g1 escalates after 1 s. Driven as a user would, through
 * bin/gridline (push, update, cancel, show, listen, accept, resolve); the
 * other recipients listen through the client API. Asserted: the CLI's
 * output and exit statuses, the NOTICEs every recipient receives, and the
 * stored event. */
#include "../proto/frame.h"
#include "support/workflow.h"

#include <sys/wait.h>
#include <zmq.h>

static char out[1 << 17];

/* ---- running bin/gridline ----------------------------------------------- */

/* cli runs gridline with args (NULL-terminated) and the test's endpoints,
 * stdout and stderr into out; returns the exit status. */
static int cli(const char *const args[])
{
    return tl_cli(&wf_env, args, 1, out, sizeof out, 15000);
}

static int has(const char *needle) { return strstr(out, needle) != NULL; }

#define ok_out(cond, ...)                                                      \
    do {                                                                       \
        if (!ok((cond), __VA_ARGS__))                                          \
            diag("output was: %s", out);                                       \
    } while (0)

/* cli_show runs gridline show ID --json and parses it (NULL on failure). */
static json_t *cli_show(const char *id)
{
    if (cli((const char *[]){"show", id, "--json", NULL}) != 0) {
        diag("show %s failed: %s", id, out);
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    if (!j)
        diag("show %s: not JSON (%s): %s", id, jerr.text, out);
    return j;
}

static const char *jstr(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int json_count(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *it;
    int n = 0;
    json_array_foreach(arr, i, it) {
        const char *v = jstr(it, key);
        n += v && strcmp(v, value) == 0;
    }
    return n;
}

static json_t *json_find(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        const char *v = jstr(it, key);
        if (v && strcmp(v, value) == 0)
            return it;
    }
    return NULL;
}

/* ---- listeners (workflow.h logs what they hear) ---------------------------- */

static const char *const teams[] = {
    "heping-duty", "heping-g1-team", "sq-heping-rescue-1-team", "sq-heping-rescue-2-team",
    "sq-xinsheng-rescue-1-team",
};
enum { DUTY, GRID, SQ1, SQ2, SQ3, NLISTENERS };

static const wf_msg *find_heard(int who, int cmd, const char *event, const char *what)
{
    return wf_heard(teams[who], cmd, event, what);
}

/* The coordinators listen through `gridline listen --json` into a file. */
static pid_t coord_pid;
static char coord_file[400];

static void start_coordinators(void)
{
    snprintf(coord_file, sizeof coord_file, "%s/coordinators.jsonl", wf_env.dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "exec '%s/gridline' listen --responders '%s' --team county-coordinators "
             "--member 值班长 --json > '%s'",
             wf_env.bin, wf_env.responders, coord_file);
    tl_env sh = wf_env;
    snprintf(sh.bin, sizeof sh.bin, "/bin");
    const char *argv[] = {"sh", "-c", cmd, NULL};
    coord_pid = tl_spawn(&sh, "sh", argv);
}

/* coordinator_notice finds in what `gridline listen --json` printed so far
 * the first notice what about event; returns it (caller decrefs) or NULL. */
static json_t *coordinator_notice(const char *event, const char *what, int *count)
{
    FILE *f = fopen(coord_file, "r");
    char line[8192];
    json_t *first = NULL;
    if (count)
        *count = 0;
    while (f && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *type = jstr(j, "type"), *ev = jstr(j, "event"), *w = jstr(j, "what");
        if (type && ev && w && strcmp(type, "notice") == 0 && strcmp(ev, event) == 0 &&
            strcmp(w, what) == 0) {
            if (count)
                (*count)++;
            if (!first) {
                first = j;
                continue;
            }
        }
        json_decref(j);
    }
    if (f)
        fclose(f);
    return first;
}

static int coordinator_dispatch(const char *event)
{
    FILE *f = fopen(coord_file, "r");
    char line[8192];
    int found = 0;
    while (!found && f && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *type = jstr(j, "type"), *ev = jstr(j, "event");
        found = type && ev && strcmp(type, "dispatch") == 0 && strcmp(ev, event) == 0;
        json_decref(j);
    }
    if (f)
        fclose(f);
    return found;
}

static int coordinator_count(const char *event, const char *what)
{
    int count = 0;
    json_decref(coordinator_notice(event, what, &count));
    return count;
}

static int coordinators_heard(const char *event, const char *what)
{
    return coordinator_count(event, what) > 0;
}

/* ---- the cases ------------------------------------------------------------ */

#define CALLBOX "heping-callbox-01"
#define NOTE_FALSE "误报：老人已自行起身"

static void case_cancel(void)
{
    is_int(cli((const char *[]){"push", "--kind", "alert", "--category", "fall", "--terminal",
                                CALLBOX, "--text", "一键呼叫", "--id", "cx-1", "--urgency",
                                "Immediate", "--severity", "Severe", NULL}),
           0, "a call box pushes a fall alert");
    ok_out(has("filed cx-1 seq "), "it is filed");
    WF_WAIT_FOR(find_heard(SQ2, PROTO_DISPATCH, "cx-1", NULL), 6000);
    ok(find_heard(SQ2, PROTO_DISPATCH, "cx-1", NULL) != NULL,
       "nobody acknowledged: after 1 s the second squad was called");

    is_int(cli((const char *[]){"cancel", "cx-1", "--note", NOTE_FALSE, "--terminal", CALLBOX,
                                NULL}), 0, "gridline cancel exits 0");
    static char first[sizeof out];
    memcpy(first, out, sizeof out);
    ok_out(strncmp(out, "cancelled cx-1 seq ", 19) == 0 && has(" (alert): state cancelled\n"),
           "and prints the new state");
    is_int(cli((const char *[]){"cancel", "cx-1", "--note", NOTE_FALSE, "--terminal", CALLBOX,
                                NULL}), 0, "a repeated cancel exits 0");
    is_str(out, first, "with the same answer");
    is_int(cli((const char *[]){"cancel", "cx-1", "--terminal", "heping-callbox-04", NULL}), 6,
           "a cancel from another terminal exits 6");
    ok_out(has("not_yours (202)"), "not_yours");

    /* Every recipient is told. */
    static const int told[] = {DUTY, GRID, SQ1, SQ2};
    WF_WAIT_FOR(find_heard(DUTY, PROTO_NOTICE, "cx-1", "cancelled") &&
                 find_heard(GRID, PROTO_NOTICE, "cx-1", "cancelled") &&
                 find_heard(SQ1, PROTO_NOTICE, "cx-1", "cancelled") &&
                 find_heard(SQ2, PROTO_NOTICE, "cx-1", "cancelled") &&
                 coordinators_heard("cx-1", "cancelled"),
             5000);
    for (size_t i = 0; i < GL_ARRAY_LEN(told); i++) {
        const wf_msg *h = find_heard(told[i], PROTO_NOTICE, "cx-1", "cancelled");
        ok(h && strcmp(h->by, CALLBOX) == 0 && strcmp(h->note, NOTE_FALSE) == 0,
           "%s got NOTICE cancelled, by the call box, with its note", teams[told[i]]);
    }
    json_t *cn = coordinator_notice("cx-1", "cancelled", NULL);
    ok(cn && jstr(cn, "by") && strcmp(jstr(cn, "by"), CALLBOX) == 0 && jstr(cn, "note") &&
           strcmp(jstr(cn, "note"), NOTE_FALSE) == 0,
       "county-coordinators (gridline listen --json) got NOTICE cancelled with by and note");
    json_decref(cn);

    /* Past the second step's 3 s deadline: nothing more happens. */
    wf_pump(4500);
    ok(!find_heard(SQ3, PROTO_DISPATCH, "cx-1", NULL), "the third squad was never called");
    ok(!coordinators_heard("cx-1", "unanswered"), "no alarm was raised");
    is_int(coordinator_count("cx-1", "escalated"), 1,
           "the coordinators heard of one escalation only, before the cancel");
    is_int(coordinator_count("cx-1", "cancelled"), 1,
           "and of the cancel once: the repeat told nobody again");

    json_t *j = cli_show("cx-1");
    is_str(jstr(j, "state"), "cancelled", "gridline show: the event is cancelled");
    ok(!json_object_get(j, "escalate_at_ms") && !json_object_get(j, "escalate_at") &&
           !json_object_get(j, "alarm"), "no deadline and no alarm left");
    ok(json_integer_value(json_object_get(j, "plan_step")) == 2, "it stopped at plan step 2");
    json_t *ds = json_object_get(j, "dispatches"), *hs = json_object_get(j, "history");
    size_t nd = json_array_size(ds);
    ok(nd == 5 && json_count(ds, "state", "cancelled") == (int)nd,
       "all %zu of its dispatches are cancelled (coordinators, duty, grid, two squads)", nd);
    ok(!json_find(ds, "team", "sq-xinsheng-rescue-1-team"), "none to the third squad");
    json_t *hc = json_find(hs, "what", "cancelled");
    ok(hc && jstr(hc, "who") && strcmp(jstr(hc, "who"), "terminal:" CALLBOX) == 0 && jstr(hc, "note") &&
           strcmp(jstr(hc, "note"), NOTE_FALSE) == 0,
       "history: cancelled by terminal:%s with the note", CALLBOX);
    ok(json_count(hs, "what", "cancelled") == 1 && json_count(hs, "what", "escalated") == 1 &&
           json_count(hs, "what", "unanswered") == 0,
       "history: one escalation, one cancel, no alarm");
    json_decref(j);

    is_int(cli((const char *[]){"show", "cx-1", NULL}), 0, "gridline show (text)");
    ok_out(has("state      cancelled\n") && has("plan step  2\n") && !has("escalates") &&
               has("cancelled: " NOTE_FALSE), "shows the state, the plan step and the history");

    is_int(cli((const char *[]){"update", "cx-1", "--severity", "minor", "--terminal", CALLBOX,
                                NULL}), 6, "an update after the cancel exits 6");
    ok_out(has("bad_state (108)"), "bad_state");
}

static void case_update(void)
{
    /* heping-g2's plan is the demo's own: 45 s before anything escalates. */
    is_int(cli((const char *[]){"push", "--kind", "alert", "--category", "fall", "--terminal",
                                "heping-callbox-02", "--text", "一键呼叫", "--id", "cx-2",
                                "--urgency", "Immediate", "--severity", "Moderate", NULL}),
           0, "another call box pushes a fall alert");
    WF_WAIT_FOR(find_heard(SQ2, PROTO_DISPATCH, "cx-2", NULL), 5000);
    is_int(cli((const char *[]){"update", "cx-2", "--severity", "extreme", "--text",
                                "老人昏迷，呼吸微弱", "--note", "家属来电补充", "--terminal",
                                "heping-callbox-02", "--json", NULL}),
           0, "gridline update exits 0");
    json_t *j = json_loads(out, 0, NULL);
    ok_out(j && jstr(j, "id") && strcmp(jstr(j, "id"), "cx-2") == 0 && jstr(j, "state") &&
               strcmp(jstr(j, "state"), "dispatched") == 0 && jstr(j, "kind") &&
               strcmp(jstr(j, "kind"), "alert") == 0 && json_integer_value(json_object_get(j, "seq")) > 0,
           "--json: id, seq, kind, state dispatched");
    json_decref(j);

    WF_WAIT_FOR(find_heard(DUTY, PROTO_NOTICE, "cx-2", "updated") &&
                 find_heard(SQ2, PROTO_NOTICE, "cx-2", "updated") &&
                 coordinators_heard("cx-2", "updated"),
             5000);
    const wf_msg *h = find_heard(SQ2, PROTO_NOTICE, "cx-2", "updated");
    ok(h && strcmp(h->by, "heping-callbox-02") == 0, "the squad got NOTICE updated, by the call box");
    ok(h && strstr(h->note, "家属来电补充") && strstr(h->note, "Extreme") &&
           strstr(h->note, "老人昏迷"), "its note has the reason, the severity and the text: %s",
       h ? h->note : "-");
    ok(find_heard(DUTY, PROTO_NOTICE, "cx-2", "updated") != NULL, "so did the duty team");
    ok(coordinators_heard("cx-2", "updated"), "and county-coordinators");
    ok(!find_heard(GRID, PROTO_NOTICE, "cx-2", "updated"),
       "heping-g1's team, which never had the alert, was not told");

    j = cli_show("cx-2");
    is_str(jstr(j, "severity"), "Extreme", "gridline show: the new severity");
    is_str(jstr(j, "text"), "老人昏迷，呼吸微弱", "the new text");
    is_str(jstr(j, "urgency"), "Immediate", "the urgency as it was");
    is_str(jstr(j, "state"), "dispatched", "still dispatched");
    ok(json_integer_value(json_object_get(j, "plan_step")) == 1 &&
           json_integer_value(json_object_get(j, "escalate_at_ms")) > 0 && jstr(j, "escalate_at"),
       "still escalating at step 1, deadline shown");
    json_t *hu = json_find(json_object_get(j, "history"), "what", "updated");
    ok(hu && jstr(hu, "who") && strcmp(jstr(hu, "who"), "terminal:heping-callbox-02") == 0,
       "history: updated by terminal:heping-callbox-02");
    json_decref(j);

    is_int(cli((const char *[]){"update", "cx-2", "--certainty", "Observed", "--terminal",
                                "heping-desk", NULL}), 6, "an update from another terminal exits 6");
    ok_out(has("not_yours"), "not_yours");
    is_int(cli((const char *[]){"update", "no-such-alert", "--severity", "Minor", NULL}), 6,
           "an update of an unknown event exits 6");
    ok_out(has("not_found (200)"), "not_found");
    is_int(cli((const char *[]){"cancel", "no-such-alert", NULL}), 6,
           "so does a cancel of one");
}

/* An UPDATE with nothing to change, sent raw (the client and the CLI refuse
 * it before sending): the service answers missing_field. */
static void case_update_nothing_raw(void)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, wait = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &wait, sizeof wait);
    zmq_connect(s, wf_env.intake);
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_UPDATE;
    m.rid = 77;
    m.ev.id = "cx-2";
    m.note = "nothing new";
    ok(frame_send_msg(s, NULL, 0, &m, 0) == 0, "a raw UPDATE with only an id and a note is sent");
    frame_msg fm;
    proto_msg r;
    gl_arena a = {0};
    int got = frame_recv(s, 0, 0, &fm) == 0;
    size_t len = 0;
    const void *body = got ? frame_body(&fm, &len) : NULL;
    got = got && fm.cmd == PROTO_ERROR && proto_decode(PROTO_ERROR, body, len, &r, &a, NULL, 0) == 0;
    ok(got && r.code == 104 && r.rid == 77, "answered ERROR missing_field (104), rid echoed");
    frame_close(&fm);
    arena_free(&a);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

/* A resolved event can no longer be cancelled. */
static void case_cancel_resolved(void)
{
    is_int(cli((const char *[]){"push", "--kind", "request", "--category", "repair",
                                "--terminal", "heping-g1-phone", "--text", "楼道灯坏了",
                                "--id", "cx-3", NULL}), 0, "a request is pushed");
    is_int(cli((const char *[]){"resolve", "--team", "heping-g1-team", "--event", "cx-3",
                                "--note", "已修好", NULL}), 0, "the grid team resolves it");
    is_int(cli((const char *[]){"cancel", "cx-3", "--terminal", "heping-g1-phone", NULL}), 6,
           "cancelling the resolved request exits 6");
    ok_out(has("bad_state (108)"), "bad_state");
    is_int(cli((const char *[]){"update", "cx-3", "--text", "灯又坏了", "--terminal",
                                "heping-g1-phone", NULL}), 0,
           "a resolved request can still be updated");
}

int main(void)
{
    tl_setup(&wf_env, "cancel");
    /* heping-g1's call-box (fall) plan: three squads, 1, 3 and 1 s. */
    static const wf_plan plans[] = {{"heping-g1", "fall",
                                     {"sq-heping-rescue-1-team", "sq-heping-rescue-2-team",
                                      "sq-xinsheng-rescue-1-team"},
                                     {1, 3, 1}}};
    if (wf_write_county(NULL, 0, plans, GL_ARRAY_LEN(plans)) != 0) {
        printf("Bail out! cannot write the test county\n");
        return 1;
    }
    if (wf_start(2, NULL) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    int listening = 1;
    for (int i = 0; i < NLISTENERS; i++)
        listening &= wf_listen(teams[i], "测试") == i;
    start_coordinators();
    ok(listening, "the duty team, the grid team and three squads are listening");
    /* A NOTICE reaches only who is present: wait until gridline listen is
     * (it prints the dispatch of a first alert, elsewhere in the county). */
    is_int(cli((const char *[]){"push", "--kind", "alert", "--category", "security", "--grid",
                                "mingzhu-g1", "--text", "warm-up", "--id", "cx-0", NULL}),
           0, "a first alert is pushed");
    WF_WAIT_FOR(coordinator_dispatch("cx-0"), 10000);
    ok(coordinator_dispatch("cx-0"), "gridline listen --team county-coordinators prints it");

    case_cancel();
    case_update();
    case_update_nothing_raw();
    case_cancel_resolved();

    int status = tl_stop(coord_pid);
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "gridline listen exits 0 on SIGTERM");
    return wf_finish();
}
