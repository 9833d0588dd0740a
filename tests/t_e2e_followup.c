/* End to end: the resident's side (issue 4, workflows 4 and 7), with a real
 * broker and two workers (--close-unrated-s 3) on the demo county. A
 * terminal asks what became of its event (TRACK, Open311 style: status,
 * responsible team, expected time, latest note — never the reporter's
 * contact) and rates the outcome: satisfied closes the event; unsatisfied
 * reopens it to the same team with the reason; an unrated event closes on
 * its own. Driven through client_track / client_rate and `gridline track` /
 * `gridline rate`; asserted on the replies, the stored event and history,
 * and what the team's listener received. */
#include "support/workflow.h"

#define CLOSE_UNRATED_MS 3000
#define G1 "heping-g1-team"
#define G2 "heping-g2-team"
#define ENVIRONMENT_RESOLVE_MS (259200ull * 1000) /* the demo county's limit */

static int track(const char *id, proto_msg *m)
{
    return client_track(wf_terminal, id, m, &wf_arena);
}

static int rate(const char *id, const char *rating, const char *note, client_filed *f)
{
    return client_rate(wf_terminal, id, WF_TERMINAL, rating, note, f);
}

static void case_track(void)
{
    proto_msg m, t;
    client_result r;
    wf_submit("tr-1", GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g1", NULL);
    if (!ok(wf_show("tr-1", &m) == 0, "a repair request is filed"))
        return;
    if (ok(track("tr-1", &t) == 0, "TRACK tr-1 answers")) {
        is_str(t.ev.id, "tr-1", "the event id");
        is_str(gl_event_state_name(t.ev.state), "dispatched", "status: dispatched");
        ok(t.ev.team == NULL, "no team has taken it yet");
        ok(t.ev.due_ms > 0 && t.ev.due_ms == m.ev.due_ms, "the expected time is the due time");
        is_str(t.note, "heping-g1-team (grid)", "the latest note: where it was dispatched");
        ok(t.ev.contact == NULL, "the reporter's contact is not in the reply");
        is_str(t.ev.category, "repair", "the category");
    }
    wf_act(PROTO_ACCEPT, "tr-1", G1, NULL, &r);
    if (track("tr-1", &t) == 0) {
        is_str(gl_event_state_name(t.ev.state), "accepted", "accepted: status accepted");
        is_str(t.ev.team, G1, "the responsible team is the grid team");
    }
    wf_act(PROTO_RESOLVE, "tr-1", G1, "路灯已更换", &r);
    if (track("tr-1", &t) == 0) {
        is_str(gl_event_state_name(t.ev.state), "resolved", "resolved: status resolved");
        is_str(t.ev.team, G1, "by the grid team");
        is_str(t.note, "路灯已更换", "the latest note is the resolution note");
        ok(t.ev.contact == NULL, "still no contact");
    }
    is_int(track("no-such-event", &t), GL_ENOTFOUND, "TRACK of an unknown id: not_found");
}

static void case_satisfied(void)
{
    client_filed f;
    client_result r;
    proto_msg m;
    wf_submit("fu-ok", GL_KIND_REQUEST, "environment", "heping", NULL, "heping-g1", NULL);
    is_int(rate("fu-ok", "satisfied", NULL, &f), GL_EBADSTATE,
           "rating an event that is not resolved: bad_state");
    wf_act(PROTO_RESOLVE, "fu-ok", G1, "垃圾已清运", &r);
    is_int(client_rate(wf_terminal, "fu-ok", "other-desk", "satisfied", NULL, &f), GL_ENOTYOURS,
           "another terminal cannot rate it: not_yours");
    is_int(client_rate(wf_terminal, "fu-ok", WF_TERMINAL, "so-so", NULL, &f), GL_EBADFIELD,
           "a rating that is neither satisfied nor unsatisfied: bad_field");
    is_int(rate("fu-ok", "satisfied", "很及时，谢谢", &f), 0, "the resident is satisfied");
    is_str(gl_event_state_name(f.state), "closed", "CHANGED: the event is closed");
    uint64_t seq = f.seq;
    if (wf_show("fu-ok", &m) == 0) {
        is_str(gl_event_state_name(m.ev.state), "closed", "stored: closed");
        is_str(m.ev.rating, "satisfied", "with the rating");
        const gl_history *h = wf_history(&m, "rated satisfied", NULL);
        ok(h && h->note && strcmp(h->note, "很及时，谢谢") == 0,
           "history: rated satisfied, with the resident's words");
        is_str(h ? h->who : NULL, "terminal:" WF_TERMINAL, "by the terminal");
        is_int(m.ev.close_at_ms, 0, "nothing is waiting to close it");
    }
    is_int(rate("fu-ok", "satisfied", "很及时，谢谢", &f), 0, "rating it satisfied again");
    ok(f.seq == seq && f.state == GL_EV_CLOSED, "gets the same answer");
    if (wf_show("fu-ok", &m) == 0)
        is_int(wf_history_count(&m, "rated satisfied", NULL), 1, "and no second history entry");
    is_int(rate("fu-ok", "unsatisfied", "改主意了", &f), GL_EBADSTATE,
           "a closed event cannot be rated unsatisfied afterwards: bad_state");
    is_int(rate("no-such-event", "satisfied", NULL, &f), GL_ENOTFOUND, "an unknown id: not_found");
}

static void case_unsatisfied(void)
{
    client_filed f;
    client_result r;
    proto_msg m;
    wf_submit("fu-bad", GL_KIND_REQUEST, "environment", "heping", NULL, "heping-g2", NULL);
    WF_WAIT_FOR(wf_heard(G2, PROTO_DISPATCH, "fu-bad", NULL), 3000);
    wf_act(PROTO_ACCEPT, "fu-bad", G2, NULL, &r);
    wf_act(PROTO_RESOLVE, "fu-bad", G2, "已清理楼道", &r);
    if (wf_show("fu-bad", &m) == 0) {
        is_int(m.ev.due_ms, 0, "resolved: its due time no longer runs");
        ok(m.ev.close_at_ms >= m.ev.updated_ms + CLOSE_UNRATED_MS - 50,
           "and it closes by itself in --close-unrated-s");
    }
    uint64_t rated_at = clock_wall_ms();
    is_int(rate("fu-bad", "unsatisfied", "楼道还是很脏", &f), 0,
           "the resident is not satisfied, and says why");
    is_str(gl_event_state_name(f.state), "dispatched", "CHANGED: the event is reopened (dispatched)");
    if (ok(wf_show("fu-bad", &m) == 0, "SHOW fu-bad")) {
        is_str(gl_event_state_name(m.ev.state), "dispatched", "stored: dispatched");
        ok(m.ev.team == NULL, "nobody holds it until the team takes it again");
        is_str(m.ev.rating, "unsatisfied", "the rating is kept");
        is_int(m.ev.close_at_ms, 0, "it no longer closes by itself");
        ok(m.ev.due_ms >= rated_at + ENVIRONMENT_RESOLVE_MS,
           "its time limit starts again from the rating (environment: 3 days)");
        const gl_history *rh = wf_history(&m, "rated unsatisfied", "楼道还是很脏");
        const gl_history *oh = wf_history(&m, "reopened", "楼道还是很脏");
        ok(rh != NULL, "history: rated unsatisfied, with the reason");
        is_str(rh ? rh->who : NULL, "terminal:" WF_TERMINAL, "by the terminal");
        ok(oh != NULL, "history: reopened, with the reason");
        ok(wf_history_index(&m, rh) < wf_history_index(&m, oh), "rated, then reopened");
        const gl_dispatch *d = wf_dispatch(&m, G2);
        ok(d && d->state == GL_DS_PENDING && strcmp(d->role, "grid") == 0,
           "the same team is dispatched again (pending, grid)");
        if (!d || d->state != GL_DS_PENDING)
            wf_diag_event(&m);
    }
    WF_WAIT_FOR(wf_heard_nth(G2, PROTO_DISPATCH, "fu-bad", NULL, NULL, 1) &&
                    wf_heard(G2, PROTO_NOTICE, "fu-bad", "reopened"),
                3000);
    ok(wf_heard_nth(G2, PROTO_DISPATCH, "fu-bad", NULL, NULL, 1) != NULL,
       "the team's listener receives a new DISPATCH");
    const wf_msg *n = wf_heard(G2, PROTO_NOTICE, "fu-bad", "reopened");
    ok(n && strcmp(n->note, "楼道还是很脏") == 0, "and NOTICE reopened with the reason");
    is_int(wf_heard_count(G1, PROTO_NOTICE, "fu-bad", NULL), 0, "another team hears nothing of it");
    /* A RATE whose CHANGED was lost is resent unchanged (PROTOCOL.md §11). */
    is_int(rate("fu-bad", "unsatisfied", "楼道还是很脏", &f), 0,
           "the same rating resent: the same answer");
    is_str(gl_event_state_name(f.state), "dispatched", "still reopened");
    if (wf_show("fu-bad", &m) == 0)
        ok(wf_history_count(&m, "rated unsatisfied", NULL) == 1 &&
               wf_history_count(&m, "reopened", NULL) == 1,
           "and it is not rated or reopened a second time");
    wf_pump(300);
    is_int(wf_heard_count(G2, PROTO_NOTICE, "fu-bad", "reopened"), 1,
           "the team is not told twice");

    is_int(wf_act(PROTO_RESOLVE, "fu-bad", G2, "重新彻底清扫", &r), 0, "the team resolves it again");
    is_int(rate("fu-bad", "satisfied", NULL, &f), 0, "and this time the resident is satisfied");
    if (wf_show("fu-bad", &m) == 0) {
        is_str(gl_event_state_name(m.ev.state), "closed", "closed");
        is_str(m.ev.rating, "satisfied", "the rating is now satisfied");
    }
}

static void case_unrated(void)
{
    client_filed f;
    client_result r;
    proto_msg m;
    wf_submit("fu-quiet", GL_KIND_REQUEST, "consultation", "heping", NULL, "heping-g1", NULL);
    is_int(wf_act(PROTO_RESOLVE, "fu-quiet", G1, "已电话答复", &r), 0, "a consultation is resolved");
    uint64_t resolved = clock_wall_ms();
    int found = wf_wait_history("fu-quiet", "closed", NULL, CLOSE_UNRATED_MS + 3000, &m);
    if (!ok(found, "nobody rates it: it closes (history closed)"))
        wf_diag_event(&m);
    const gl_history *h = wf_history(&m, "closed", NULL);
    is_str(h ? h->who : NULL, "system", "by the system");
    is_str(h ? h->note : NULL, "not rated in time", "not rated in time");
    ok(h && h->at_ms + 50 >= resolved + CLOSE_UNRATED_MS, "not before --close-unrated-s (+%lld ms)",
       h ? (long long)(h->at_ms - resolved) : 0LL);
    is_str(gl_event_state_name(m.ev.state), "closed", "stored: closed");
    ok(m.ev.rating == NULL, "without a rating");
    is_int(rate("fu-quiet", "satisfied", NULL, &f), GL_EBADSTATE, "too late to rate: bad_state");
}

/* The resident's side through bin/gridline. */
static void case_cli(void)
{
    client_result r;
    proto_msg m;
    wf_submit("fu-cli", GL_KIND_REQUEST, "paperwork", "heping", NULL, "heping-g1", NULL);
    int status;
    json_t *j = wf_cli_json((const char *[]){"track", "fu-cli", "--json", NULL}, &status);
    is_int(status, 0, "gridline track --json exits 0");
    is_str(wf_jstr(j, "service_request_id"), "fu-cli", "service_request_id: the event id");
    is_str(wf_jstr(j, "status"), "open", "status: open");
    is_str(wf_jstr(j, "state"), "dispatched", "state: dispatched");
    ok(j && json_is_null(json_object_get(j, "agency_responsible")),
       "agency_responsible: null, nobody holds it yet");
    ok(wf_jstr(j, "expected_datetime") != NULL, "expected_datetime: the due time");
    ok(!wf_out_has(WF_CONTACT), "but not the reporter's contact");
    json_decref(j);
    status = wf_cli((const char *[]){"rate", "fu-cli", "satisfied", "--terminal", WF_TERMINAL, NULL});
    is_int(status, 6, "gridline rate of an unresolved event is refused (exit 6)");

    wf_act(PROTO_RESOLVE, "fu-cli", G1, "证明已开具", &r);
    j = wf_cli_json((const char *[]){"track", "fu-cli", "--json", NULL}, &status);
    is_str(wf_jstr(j, "status"), "closed", "gridline track: status closed");
    is_str(wf_jstr(j, "state"), "resolved", "state resolved");
    is_str(wf_jstr(j, "agency_responsible"), G1, "agency_responsible: the grid team");
    is_str(wf_jstr(j, "status_notes"), "证明已开具", "status_notes: the latest note");
    ok(!wf_out_has(WF_CONTACT), "still no contact");
    json_decref(j);
    status = wf_cli((const char *[]){"rate", "fu-cli", "unsatisfied", "--terminal", WF_TERMINAL,
                                     "--note", "证明上名字写错了", NULL});
    if (!ok(status == 0, "gridline rate unsatisfied exits 0"))
        diag("output: %s", wf_out);
    if (wf_show("fu-cli", &m) == 0) {
        is_str(gl_event_state_name(m.ev.state), "dispatched", "the event is reopened");
        ok(wf_history(&m, "reopened", "证明上名字写错了") != NULL, "with the reason");
    }
    status = wf_cli((const char *[]){"track", "no-such-event", NULL});
    is_int(status, 6, "gridline track of an unknown id exits 6");
}

int main(void)
{
    tl_setup(&wf_env, "followup");
    char close_s[16];
    snprintf(close_s, sizeof close_s, "%d", CLOSE_UNRATED_MS / 1000);
    const char *const extra[] = {"--close-unrated-s", close_s, NULL};
    if (wf_start(2, extra) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    ok(wf_listen(G1, "网格员 钱静") >= 0 && wf_listen(G2, "网格员 田淑珍") >= 0,
       "two grid teams are listening");
    case_track();
    case_satisfied();
    case_unsatisfied();
    case_unrated();
    case_cli();
    return wf_finish();
}
