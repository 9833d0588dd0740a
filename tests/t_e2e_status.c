/* End to end: the service's status (issue 3: "the unanswered-alert alarm
 * must be visible in status"), with a real broker and two workers on a copy
 * of the demo county where a fall in heping-g1 calls one squad that has 1 s
 * to acknowledge. Asked as an operator would: client_status on both
 * endpoints and `gridline status` (text and --json). Asserted: the broker's
 * figures (lanes, workers, responders per team, counters), the store's
 * figures (events, escalating and unanswered alerts with their ids), and
 * that an alert nobody acknowledges shows up there within two heartbeats
 * of its deadline and leaves when a squad answers or it is withdrawn. */
#include "support/workflow.h"

#define HEARTBEAT_MS 1000
#define POLL_SLACK_MS 250 /* STATUS is polled every 50 ms, plus its round trip */
#define SQUAD "sq-heping-rescue-1-team"
#define COORD "county-coordinators"
#define DUTY "heping-duty"

static int coord_a, coord_b, duty;

static int status(client *c, proto_msg *m)
{
    int rc = client_status(c, m, &wf_arena);
    if (rc != 0)
        diag("STATUS: %s (%s)", gl_strerror(rc), client_reason(c));
    return rc;
}

static uint64_t figure(const proto_msg *m, int store, const char *path)
{
    uint64_t v = UINT64_MAX;
    if (store)
        wf_figure_u64(m->store_figures, m->store_figures_len, path, &v);
    else
        wf_figure_u64(m->broker_figures, m->broker_figures_len, path, &v);
    return v;
}

/* wait_store polls STATUS until the store figures count want unanswered
 * alerts, listing listed (NULL: any) and not unlisted (NULL: any), at most
 * ms; the wall time it was first seen, or 0. */
static uint64_t wait_store(uint64_t want, const char *listed, const char *unlisted, int ms)
{
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    for (;;) {
        proto_msg m;
        if (client_status(wf_terminal, &m, &wf_arena) == 0 && m.store_figures &&
            figure(&m, 1, "unanswered_alerts") == want &&
            (!listed || wf_figure_has_str(m.store_figures, m.store_figures_len, "unanswered", listed)) &&
            (!unlisted ||
             !wf_figure_has_str(m.store_figures, m.store_figures_len, "unanswered", unlisted)))
            return clock_wall_ms();
        if (clock_mono_ms() >= until)
            return 0;
        wf_pump(50);
    }
}

/* heard_by: 1 when listener i received NOTICE what about event. */
static int heard_by(int i, const char *event, const char *what)
{
    for (int k = 0; k < wf_nheard; k++)
        if (wf_heard_log[k].listener == i && wf_heard_log[k].cmd == PROTO_NOTICE &&
            strcmp(wf_heard_log[k].event, event) == 0 && strcmp(wf_heard_log[k].what, what) == 0)
            return 1;
    return 0;
}

static void case_figures(void)
{
    proto_msg m;
    /* Workers come up on their own time: wait until both said READY. */
    uint64_t until = clock_mono_ms() + 5000;
    while (status(wf_terminal, &m) == 0 &&
           wf_figure_size(m.broker_figures, m.broker_figures_len, "workers") < 2 &&
           clock_mono_ms() < until)
        wf_pump(50);
    uint64_t before = clock_wall_ms();
    if (!ok(status(wf_terminal, &m) == 0, "STATUS on the intake endpoint answers"))
        return;
    ok(m.at_ms >= before && m.at_ms <= clock_wall_ms(), "at_ms is now");
    const void *b = m.broker_figures;
    size_t blen = m.broker_figures_len;
    ok(b && wf_figure_type(b, blen, "") == MSGPACK_OBJECT_MAP, "the broker's figures are a map");
    ok(figure(&m, 0, "uptime_ms") != UINT64_MAX, "uptime_ms");
    ok(figure(&m, 0, "lanes.alert.depth") != UINT64_MAX &&
           figure(&m, 0, "lanes.routine.depth") != UINT64_MAX,
       "lanes: alert and routine, with their depth (%llu, %llu)",
       (unsigned long long)figure(&m, 0, "lanes.alert.depth"),
       (unsigned long long)figure(&m, 0, "lanes.routine.depth"));
    ok(figure(&m, 0, "lanes.alert.received") != UINT64_MAX &&
           figure(&m, 0, "lanes.routine.oldest_ms") != UINT64_MAX,
       "each lane with its counters");
    is_int(wf_figure_size(b, blen, "workers"), 2, "workers: the two workers");
    ok(figure(&m, 0, "responders.connected") >= 3, "responders: %llu connected",
       (unsigned long long)figure(&m, 0, "responders.connected"));
    is_int(figure(&m, 0, "responders.teams." COORD), 2,
           "two members of the county's coordinators are counted");
    is_int(figure(&m, 0, "responders.teams." DUTY), 1, "one of heping's duty team");
    ok(figure(&m, 0, "responders.teams." SQUAD) == UINT64_MAX, "an absent team is not listed");
    ok(figure(&m, 0, "counters.completed") != UINT64_MAX, "counters: completed");

    /* The store's figures come with the workers' next report. */
    until = clock_mono_ms() + 3 * HEARTBEAT_MS;
    while (!m.store_figures && clock_mono_ms() < until) {
        wf_pump(100);
        status(wf_terminal, &m);
    }
    if (!ok(m.store_figures != NULL, "the store's figures are there within a few heartbeats"))
        return;
    is_int(figure(&m, 1, "events"), 0, "events: none yet");
    is_int(figure(&m, 1, "unanswered_alerts"), 0, "unanswered_alerts: 0");
    is_int(wf_figure_size(m.store_figures, m.store_figures_len, "unanswered"), 0,
           "unanswered: an empty list");
    ok(figure(&m, 1, "escalating_alerts") == 0 && figure(&m, 1, "pending_dispatches") == 0,
       "escalating_alerts and pending_dispatches: 0");
    ok(figure(&m, 1, "map_size_bytes") > 0, "map_size_bytes");

    if (ok(status(wf_responder, &m) == 0, "STATUS on the responders endpoint answers too"))
        is_int(figure(&m, 0, "responders.teams." COORD), 2, "with the same figures");
}

static void case_unanswered(void)
{
    client_filed f;
    proto_msg m;
    gl_event ev = {.id = "st-alarm", .kind = GL_KIND_ALERT, .category = "fall", .community = "heping",
                   .grid = "heping-g1", .terminal = "heping-callbox-01", .text = "一键呼叫",
                   .urgency = "Immediate", .severity = "Severe"};
    is_int(client_submit(wf_terminal, &ev, &f), 0, "a call box raises a fall alert");
    if (!ok(wf_show("st-alarm", &m) == 0, "SHOW st-alarm"))
        return;
    uint64_t deadline = m.ev.escalate_at_ms;
    is_int(deadline, m.ev.created_ms + 1000, "its only squad has 1 s to acknowledge");

    proto_msg s;
    if (status(wf_terminal, &s) == 0 && s.store_figures && clock_wall_ms() + 200 < deadline)
        ok(figure(&s, 1, "unanswered_alerts") == 0, "before the deadline it is not unanswered");
    /* Nobody acknowledges. */
    uint64_t seen = wait_store(1, "st-alarm", NULL, (int)(deadline - clock_wall_ms()) + 2 * HEARTBEAT_MS + 1500);
    ok(seen != 0, "status: unanswered_alerts 1, listing st-alarm");
    ok(seen && seen <= deadline + 2 * HEARTBEAT_MS + POLL_SLACK_MS,
       "within two heartbeats of the deadline (+%lld ms)",
       seen ? (long long)seen - (long long)deadline : -1LL);
    if (status(wf_terminal, &s) == 0 && s.store_figures) {
        is_int(figure(&s, 1, "escalating_alerts"), 0, "escalating_alerts: 0, the plan is exhausted");
        is_int(figure(&s, 1, "events"), 1, "events: 1");
    }
    if (wf_show("st-alarm", &m) == 0)
        is_str(m.ev.alarm, "unanswered", "SHOW: the alert carries the alarm");
    WF_WAIT_FOR(heard_by(coord_a, "st-alarm", "unanswered") &&
                    heard_by(coord_b, "st-alarm", "unanswered") &&
                    heard_by(duty, "st-alarm", "unanswered"),
                3000);
    ok(heard_by(coord_a, "st-alarm", "unanswered") && heard_by(coord_b, "st-alarm", "unanswered"),
       "both members of the coordinators were told: unanswered");
    ok(heard_by(duty, "st-alarm", "unanswered"), "so was the duty team");

    /* The squad answers after all. */
    client_result r;
    is_int(wf_act(PROTO_ACK, "st-alarm", SQUAD, NULL, &r), 0, "the squad acknowledges late");
    uint64_t acked = clock_wall_ms();
    uint64_t gone = wait_store(0, NULL, "st-alarm", 2 * HEARTBEAT_MS + 1500);
    ok(gone != 0, "status: unanswered_alerts back to 0, st-alarm no longer listed");
    ok(gone && gone <= acked + 2 * HEARTBEAT_MS + POLL_SLACK_MS, "within two heartbeats (+%lld ms)",
       gone ? (long long)(gone - acked) : -1LL);
}

static void case_two_and_cancel(void)
{
    client_filed f;
    for (int i = 0; i < 2; i++) {
        gl_event ev = {.id = i ? "st-2b" : "st-2a", .kind = GL_KIND_ALERT, .category = "fall",
                       .community = "heping", .grid = "heping-g1", .terminal = "heping-callbox-02",
                       .text = "一键呼叫", .urgency = "Immediate", .severity = "Severe"};
        client_submit(wf_terminal, &ev, &f);
    }
    ok(wait_store(2, "st-2a", NULL, 1000 + 2 * HEARTBEAT_MS + 1500) != 0,
       "two more alerts nobody answers: unanswered_alerts 2");
    proto_msg s;
    if (status(wf_terminal, &s) == 0 && s.store_figures)
        ok(wf_figure_has_str(s.store_figures, s.store_figures_len, "unanswered", "st-2a") &&
               wf_figure_has_str(s.store_figures, s.store_figures_len, "unanswered", "st-2b") &&
               !wf_figure_has_str(s.store_figures, s.store_figures_len, "unanswered", "st-alarm"),
           "listing both, and not the one answered");
    is_int(client_cancel(wf_terminal, "st-2a", "heping-callbox-02", "误触", &f), 0,
           "the call box withdraws one: a false alarm");
    ok(wait_store(1, "st-2b", "st-2a", 2 * HEARTBEAT_MS + 1500) != 0,
       "status: one unanswered alert left, st-2b");
}

/* The store's dispatches by state, as status gives them, against what SHOW
 * says of every event filed: counted in the store, they must agree. */
static void case_dispatch_states(void)
{
    static const char *const ids[] = {"st-alarm", "st-2a", "st-2b"};
    uint64_t want[GL_DS_COUNT] = {0};
    for (size_t i = 0; i < GL_ARRAY_LEN(ids); i++) {
        proto_msg m;
        if (wf_show(ids[i], &m) != 0)
            continue;
        for (size_t d = 0; d < m.ndispatches; d++)
            if (m.dispatches[d].state > 0 && m.dispatches[d].state < GL_DS_COUNT)
                want[m.dispatches[d].state]++;
    }
    ok(want[GL_DS_PENDING] > 0 && want[GL_DS_ACKED] > 0 && want[GL_DS_CANCELLED] > 0,
       "SHOW: the alerts' dispatches are pending, acked and cancelled");
    int same = 0;
    uint64_t until = clock_mono_ms() + 2 * HEARTBEAT_MS + 1500;
    proto_msg s;
    while (!same && clock_mono_ms() < until) {
        same = status(wf_terminal, &s) == 0 && s.store_figures != NULL;
        for (int st = GL_DS_PENDING; same && st < GL_DS_COUNT; st++) {
            char path[64];
            uint64_t v = UINT64_MAX;
            snprintf(path, sizeof path, "dispatches_by_state.%s", gl_dispatch_state_name(st));
            same = wf_figure_u64(s.store_figures, s.store_figures_len, path, &v) == 0 &&
                   v == want[st];
        }
        if (!same)
            wf_pump(100);
    }
    ok(same, "status: dispatches_by_state matches SHOW (pending %llu, acked %llu, cancelled %llu)",
       (unsigned long long)want[GL_DS_PENDING], (unsigned long long)want[GL_DS_ACKED],
       (unsigned long long)want[GL_DS_CANCELLED]);
    uint64_t fp = UINT64_MAX, ps = 0;
    int have = s.store_figures &&
               wf_figure_u64(s.store_figures, s.store_figures_len, "free_pages", &fp) == 0 &&
               wf_figure_u64(s.store_figures, s.store_figures_len, "page_size", &ps) == 0;
    ok(have && ps >= 512 && fp < UINT64_MAX, "status: the map's free pages (%llu) and page size (%llu)", (unsigned long long)fp,
       (unsigned long long)ps);
}

static void case_cli(void)
{
    int rc;
    json_t *j = wf_cli_json((const char *[]){"status", "--json", NULL}, &rc);
    is_int(rc, 0, "gridline status --json exits 0");
    json_t *store = json_object_get(j, "store"), *broker = json_object_get(j, "broker");
    ok(json_is_object(store) && json_is_object(broker), "with the broker's and the store's figures");
    is_int(json_integer_value(json_object_get(store, "unanswered_alerts")), 1,
           "store.unanswered_alerts: 1");
    json_t *ids = json_object_get(store, "unanswered");
    ok(json_is_array(ids) && json_array_size(ids) == 1 &&
           strcmp(json_string_value(json_array_get(ids, 0)) ? json_string_value(json_array_get(ids, 0)) : "",
                  "st-2b") == 0,
       "store.unanswered: [\"st-2b\"]");
    json_t *teams = json_object_get(json_object_get(broker, "responders"), "teams");
    is_int(json_integer_value(json_object_get(teams, DUTY)), 1, "broker.responders.teams: heping-duty 1");
    ok(json_is_object(json_object_get(json_object_get(broker, "lanes"), "alert")),
       "broker.lanes.alert");
    json_decref(j);

    rc = wf_cli((const char *[]){"status", NULL});
    is_int(rc, 0, "gridline status exits 0");
    ok(wf_out_has("st-2b"), "and the text names the unanswered alert");
    if (!ok(strstr(wf_out, "unanswered") || strstr(wf_out, "UNANSWERED"), "as unanswered"))
        diag("output: %s", wf_out);
}

static void case_responder_leaves(void)
{
    client_listen_close(&wf_listeners[coord_b].l);
    proto_msg s;
    uint64_t until = clock_mono_ms() + 6 * HEARTBEAT_MS; /* BYE may be lost: then 3 silent beats */
    uint64_t n = UINT64_MAX;
    do {
        wf_pump(100);
        if (status(wf_terminal, &s) == 0)
            n = figure(&s, 0, "responders.teams." COORD);
    } while (n != 1 && clock_mono_ms() < until);
    is_int(n, 1, "a coordinator who leaves is no longer counted");
}

int main(void)
{
    tl_setup(&wf_env, "status");
    static const wf_plan plans[] = {{"heping-g1", "fall", {SQUAD, NULL, NULL}, {1, 0, 0}}};
    if (wf_write_county(NULL, 0, plans, GL_ARRAY_LEN(plans)) != 0) {
        printf("Bail out! cannot write the test county\n");
        return 1;
    }
    if (wf_start(2, NULL) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    coord_a = wf_listen(COORD, "值班长");
    coord_b = wf_listen(COORD, "值班员");
    duty = wf_listen(DUTY, "值班社区干部 孟涛");
    ok(coord_a >= 0 && coord_b >= 0 && duty >= 0,
       "two coordinators and heping's duty officer are listening");
    case_figures();
    case_unanswered();
    case_two_and_cancel();
    case_dispatch_states();
    case_cli();
    case_responder_leaves();
    return wf_finish();
}
