/* End to end: duplicates, returns and re-routing (issue 4, workflows 5 and
 * 6), with a real broker and two workers on the demo county.
 *
 *   - merge: a team (or the community office) marks an event as a duplicate
 *     of another; the duplicate's teams are told, both histories say so, and
 *     its reporter follows the original's progress through TRACK;
 *   - return (退单): a team that is the wrong recipient gives the event back
 *     with a reason; it goes to county triage, which re-routes it (REDIRECT)
 *     to the right team.
 *
 * Driven through the client API and `gridline merge` / `return` /
 * `redirect` / `track`; asserted on the RESULTs, the stored events and
 * histories, and what each team's listener received. */
#include "support/workflow.h"

#define G1 "heping-g1-team"
#define G2 "heping-g2-team"
#define G3 "heping-g3-team"
#define TRIAGE "county-triage"
#define OFFICE "heping-office"

static int submit_from(const char *id, const char *terminal, const char *grid)
{
    gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair", .community = "heping",
                   .grid = grid, .terminal = terminal, .text = "3号楼门口路灯不亮",
                   .contact = WF_CONTACT};
    client_filed f;
    return client_submit(wf_terminal, &ev, &f);
}

static void case_merge(void)
{
    client_result r;
    proto_msg m, t;
    ok(submit_from("dup-a", "desk-a", "heping-g1") == 0 && submit_from("dup-b", "desk-b", "heping-g1") == 0 &&
           submit_from("dup-c", "desk-c", "heping-g1") == 0,
       "three residents report the same broken street light");
    WF_WAIT_FOR(wf_heard(G1, PROTO_DISPATCH, "dup-b", NULL), 3000);
    is_int(wf_act(PROTO_ACCEPT, "dup-a", G1, NULL, &r), 0, "the grid team accepts the first report");

    is_int(client_merge(wf_responder, "dup-b", G1, "dup-b", NULL, NULL, &r), GL_EBADFIELD,
           "an event cannot be a duplicate of itself: bad_field");
    is_int(client_merge(wf_responder, "dup-b", G1, "no-such-event", NULL, NULL, &r), GL_ENOTFOUND,
           "nor of an event that does not exist: not_found");
    is_int(client_merge(wf_responder, "dup-b", G2, "dup-a", NULL, NULL, &r), GL_ENOTYOURS,
           "a team it was not dispatched to cannot merge it: not_yours");

    is_int(client_merge(wf_responder, "dup-b", G1, "dup-a", "测试员", "同一盏路灯", &r), 0,
           "the grid team merges the second report into the first");
    is_str(gl_event_state_name(r.event_state), "merged", "RESULT: the event is merged");
    is_str(gl_dispatch_state_name(r.state), "cancelled", "RESULT: its dispatch is cancelled");
    if (ok(wf_show("dup-b", &m) == 0, "SHOW dup-b")) {
        is_str(gl_event_state_name(m.ev.state), "merged", "stored: merged");
        is_str(m.ev.duplicate_of, "dup-a", "duplicate_of names the original");
        const gl_dispatch *d = wf_dispatch(&m, G1);
        ok(d && d->state == GL_DS_CANCELLED, "its live dispatch is cancelled");
        const gl_history *h = wf_history(&m, "merged", "duplicate of dup-a");
        ok(h != NULL, "history: merged, duplicate of dup-a");
        is_str(h ? h->who : NULL, "team:" G1 "/测试员", "by the grid team");
        ok(m.ev.due_ms == 0 && m.ev.sign_by_ms == 0, "its own time limits stop");
    }
    if (ok(wf_show("dup-a", &m) == 0, "SHOW dup-a")) {
        ok(wf_history(&m, "duplicate", "dup-b") != NULL, "the original's history: duplicate dup-b merged in");
        is_str(gl_event_state_name(m.ev.state), "accepted", "the original is untouched: accepted");
    }
    WF_WAIT_FOR(wf_heard(G1, PROTO_NOTICE, "dup-b", "merged"), 3000);
    const wf_msg *n = wf_heard(G1, PROTO_NOTICE, "dup-b", "merged");
    ok(n != NULL, "the duplicate's team is told: merged");
    ok(n && strcmp(n->note, "duplicate of dup-a") == 0, "duplicate of dup-a (%s)", n ? n->note : "-");
    is_str(n ? n->by : NULL, G1, "by the team that merged it");

    is_int(client_merge(wf_responder, "dup-b", G1, "dup-a", "测试员", NULL, &r), 0,
           "merging it again is harmless: the same answer");
    if (wf_show("dup-b", &m) == 0)
        is_int(wf_history_count(&m, "merged", NULL), 1, "and no second merged entry");
    is_int(wf_act(PROTO_ACCEPT, "dup-b", G1, NULL, &r), GL_EBADSTATE,
           "a merged event cannot be accepted: bad_state");
    client_filed f;
    is_int(client_update(wf_terminal, "dup-b", "desk-b", "更多描述", NULL, NULL, NULL, NULL, &f),
           GL_EBADSTATE, "nor updated by its terminal: bad_state");
    is_int(client_merge(wf_responder, "dup-c", G1, "dup-b", NULL, NULL, &r), GL_EBADSTATE,
           "an event cannot be merged into a duplicate: bad_state");

    /* The duplicate's reporter follows the original. */
    if (ok(client_track(wf_terminal, "dup-b", &t, &wf_arena) == 0, "TRACK dup-b")) {
        is_str(t.ev.id, "dup-b", "the reporter's own id");
        is_str(t.ev.duplicate_of, "dup-a", "duplicate_of the original");
        is_str(gl_event_state_name(t.ev.state), "accepted", "with the original's state: accepted");
        is_str(t.ev.team, G1, "and its responsible team");
        ok(t.ev.contact == NULL, "without the contact");
    }
    is_int(wf_act(PROTO_RESOLVE, "dup-a", G1, "路灯已修复", &r), 0, "the grid team resolves the original");
    if (client_track(wf_terminal, "dup-b", &t, &wf_arena) == 0) {
        is_str(gl_event_state_name(t.ev.state), "resolved", "TRACK dup-b: resolved, as the original");
        is_str(t.note, "路灯已修复", "with the original's latest note");
    }

    /* The community office merges without a dispatch of its own, as a user
     * would type it. */
    int status;
    json_t *j = wf_cli_json((const char *[]){"merge", "--team", OFFICE, "--event", "dup-c", "--into",
                                             "dup-a", "--json", NULL},
                            &status);
    is_int(status, 0, "gridline merge by the community office exits 0");
    is_str(wf_jstr(j, "event_state"), "merged", "and prints event_state merged");
    json_decref(j);
    WF_WAIT_FOR(wf_heard(G1, PROTO_NOTICE, "dup-c", "merged"), 3000);
    n = wf_heard(G1, PROTO_NOTICE, "dup-c", "merged");
    ok(n && strcmp(n->by, OFFICE) == 0, "the grid team is told dup-c was merged, by the office");
    j = wf_cli_json((const char *[]){"track", "dup-c", "--json", NULL}, &status);
    is_int(status, 0, "gridline track of the duplicate exits 0");
    is_str(wf_jstr(j, "duplicate_of"), "dup-a", "duplicate_of: dup-a");
    is_str(wf_jstr(j, "state"), "resolved", "state: the original's, resolved");
    ok(!wf_out_has(WF_CONTACT), "no contact");
    json_decref(j);
}

static void case_return(void)
{
    client_result r;
    proto_msg m;
    submit_from("ret-1", "desk-a", "heping-g3");
    WF_WAIT_FOR(wf_heard(G3, PROTO_DISPATCH, "ret-1", NULL), 3000);
    is_int(client_act(wf_responder, PROTO_RETURN, "ret-1", G3, NULL, NULL, &r), GL_EMISSING,
           "a return without a reason is refused before sending");
    is_int(wf_act(PROTO_RETURN, "ret-1", G3, "该楼栋属于第一网格，不归本网格管理", &r), 0,
           "the third grid's team returns it: not its territory");
    is_str(gl_dispatch_state_name(r.state), "returned", "RESULT: its dispatch is returned");
    is_str(gl_event_state_name(r.event_state), "dispatched", "RESULT: the event is dispatched");
    if (ok(wf_show("ret-1", &m) == 0, "SHOW ret-1")) {
        const gl_dispatch *d = wf_dispatch(&m, G3);
        ok(d && d->state == GL_DS_RETURNED && d->note && strstr(d->note, "属于第一网格"),
           "the team's dispatch is returned, with the reason");
        const gl_dispatch *t = wf_dispatch(&m, TRIAGE);
        ok(t && strcmp(t->role, "triage") == 0 && t->state == GL_DS_PENDING,
           "county triage is dispatched (triage, pending)");
        const gl_history *h = wf_history(&m, "returned", "不归本网格管理");
        ok(h != NULL, "history: returned, with the reason");
        is_str(h ? h->who : NULL, "team:" G3 "/测试员", "naming the team that returned it");
    }
    WF_WAIT_FOR(wf_heard(TRIAGE, PROTO_DISPATCH, "ret-1", NULL), 3000);
    const wf_msg *td = wf_heard(TRIAGE, PROTO_DISPATCH, "ret-1", NULL);
    ok(td && strcmp(td->role, "triage") == 0, "triage's listener receives it as triage");
    is_int(wf_act(PROTO_RETURN, "ret-1", G3, "该楼栋属于第一网格，不归本网格管理", &r), 0,
           "returning it again is harmless: the same answer");
    if (wf_show("ret-1", &m) == 0)
        is_int(wf_history_count(&m, "returned", NULL), 1, "and no second returned entry");
    is_int(wf_act(PROTO_RETURN, "ret-1", TRIAGE, "不知道给谁", &r), GL_EBADSTATE,
           "triage does not return; it re-routes (bad_state)");

    /* Triage re-routes it. */
    is_int(client_redirect(wf_responder, "ret-1", G3, G1, NULL, NULL, &r), GL_EBADSTATE,
           "a grid team cannot re-route: bad_state");
    is_int(client_redirect(wf_responder, "ret-1", TRIAGE, "no-such-team", NULL, NULL, &r), GL_EBADFIELD,
           "to a team the directory does not know: bad_field");
    is_int(client_redirect(wf_responder, "ret-1", TRIAGE, NULL, NULL, NULL, &r), GL_EMISSING,
           "without a team to go to: refused before sending");
    is_int(client_redirect(wf_responder, "ret-1", TRIAGE, G1, "分拣员", "第一网格负责3号楼", &r), 0,
           "triage gives it to the first grid's team");
    if (ok(wf_show("ret-1", &m) == 0, "SHOW ret-1")) {
        const gl_dispatch *d = wf_dispatch(&m, G1);
        ok(d && strcmp(d->role, "assigned") == 0 && d->state == GL_DS_PENDING,
           "the first grid's team is dispatched (assigned, pending)");
        const gl_dispatch *t = wf_dispatch(&m, TRIAGE);
        ok(t && t->state == GL_DS_RESOLVED, "triage's part is done");
        const gl_history *h = wf_history(&m, "redirected", "to " G1 ": 第一网格负责3号楼");
        ok(h != NULL, "history: redirected to the team, with triage's note");
        is_str(h ? h->who : NULL, "team:" TRIAGE "/分拣员", "by triage");
    }
    /* A REDIRECT whose RESULT was lost is resent unchanged (PROTOCOL.md
     * §11; `gridline redirect --help`: "acting twice is harmless"). */
    is_int(client_redirect(wf_responder, "ret-1", TRIAGE, G1, "分拣员", "第一网格负责3号楼", &r), 0,
           "the same redirect resent: the same answer");
    if (wf_show("ret-1", &m) == 0)
        is_int(wf_history_count(&m, "redirected", NULL), 1, "and no second redirected entry");
    WF_WAIT_FOR(wf_heard(G1, PROTO_DISPATCH, "ret-1", NULL), 3000);
    const wf_msg *gd = wf_heard(G1, PROTO_DISPATCH, "ret-1", NULL);
    ok(gd && strcmp(gd->role, "assigned") == 0, "its listener receives the DISPATCH as assigned");
    ok(gd && gd->has_contact, "with the contact, to reach the resident");
    is_int(wf_act(PROTO_ACCEPT, "ret-1", G1, NULL, &r), 0, "the first grid's team accepts");
    is_int(wf_act(PROTO_RESOLVE, "ret-1", G1, "已修", &r), 0, "and resolves it");
}

static void case_return_accepted(void)
{
    client_result r;
    proto_msg m;
    /* An unlocated request goes to triage first; triage sends it to a team
     * that accepts it, finds it is not theirs after all, and returns it. */
    gl_event ev = {.id = "ret-lost", .kind = GL_KIND_REQUEST, .category = "eldercare",
                   .grid = "nowhere-g9", .terminal = "desk-x", .text = "老人需要助餐"};
    client_filed f;
    is_int(client_submit(wf_terminal, &ev, &f), 0, "a request from an unknown grid is filed");
    is_int(client_redirect(wf_responder, "ret-lost", TRIAGE, G2, NULL, "按地址应属第二网格", &r), 0,
           "triage sends it to the second grid's team");
    is_int(wf_act(PROTO_ACCEPT, "ret-lost", G2, NULL, &r), 0, "which accepts it");
    is_int(wf_act(PROTO_RETURN, "ret-lost", G2, "实际地址在明珠社区", &r), 0,
           "then returns it: the address is in another community");
    if (wf_show("ret-lost", &m) == 0) {
        is_str(gl_event_state_name(m.ev.state), "dispatched", "the event is dispatched again");
        ok(m.ev.team == NULL, "nobody holds it");
        const gl_dispatch *t = wf_dispatch(&m, TRIAGE);
        ok(t && t->state == GL_DS_PENDING, "triage has it again (pending)");
        ok(wf_history(&m, "returned", "实际地址在明珠社区") != NULL, "history: returned, with why");
    }

    /* The same by hand: gridline return, then gridline redirect. */
    submit_from("ret-cli", "desk-a", "heping-g2");
    int status = wf_cli((const char *[]){"return", "--team", G2, "--event", "ret-cli", NULL});
    is_int(status, 2, "gridline return without --note is bad input (exit 2)");
    status = wf_cli((const char *[]){"return", "--team", G2, "--event", "ret-cli", "--member",
                                     "网格员 田淑珍", "--note", "不是本网格的楼", NULL});
    if (!ok(status == 0, "gridline return --note exits 0"))
        diag("output: %s", wf_out);
    json_t *j = wf_cli_json((const char *[]){"redirect", "--team", TRIAGE, "--event", "ret-cli", "--to",
                                             G3, "--json", NULL},
                            &status);
    is_int(status, 0, "gridline redirect exits 0");
    is_str(wf_jstr(j, "to"), G3, "and prints where it went");
    json_decref(j);
    if (wf_show("ret-cli", &m) == 0) {
        const gl_history *h = wf_history(&m, "returned", "不是本网格的楼");
        is_str(h ? h->who : NULL, "team:" G2 "/网格员 田淑珍", "history: returned by the member named");
        const gl_dispatch *d = wf_dispatch(&m, G3);
        ok(d && strcmp(d->role, "assigned") == 0, "the third grid's team has it, assigned");
    }
    WF_WAIT_FOR(wf_heard(G3, PROTO_DISPATCH, "ret-cli", NULL), 3000);
    ok(wf_heard(G3, PROTO_DISPATCH, "ret-cli", NULL) != NULL, "and its listener received it");
    status = wf_cli((const char *[]){"redirect", "--team", G2, "--event", "ret-cli", "--to", G1, NULL});
    is_int(status, 6, "gridline redirect by a grid team is refused (exit 6)");
}

int main(void)
{
    tl_setup(&wf_env, "workflows");
    if (wf_start(2, NULL) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    ok(wf_listen(G1, "网格员 钱静") >= 0 && wf_listen(G3, "网格员 薛明") >= 0 &&
           wf_listen(TRIAGE, "县分拣中心") >= 0,
       "two grid teams and county triage are listening");
    case_merge();
    case_return();
    case_return_accepted();
    return wf_finish();
}
