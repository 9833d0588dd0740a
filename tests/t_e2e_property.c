/* End to end: the property three-party office ("三方联动", issue 4, workflow
 * 2) with a real broker and two workers on the demo county. Residents'
 * feedback goes to the compound's property company and owners' committee
 * together, the community informed; the property company resolves; the
 * owners' committee confirms (the community is told) or disputes (the
 * property company is asked again and the community office takes over the
 * coordination). Compounds without a property company: the party branch
 * leads (支部领办), or the custodian (托管). Driven through the client API
 * and `gridline confirm` / `gridline dispute`; asserted on the RESULTs, the
 * stored event and history, and what each party's listener received. */
#include "support/workflow.h"

#define PROPERTY "pc-anhe-team"
#define OWNERS "oc-heping-c1-team"
#define OFFICE "heping-office"
#define LEAK_RESOLVE_MS (259200ull * 1000) /* the demo county's limit for leaks */

static void case_route(void)
{
    client_filed f;
    is_int(wf_submit("fb-lift", GL_KIND_FEEDBACK, "elevator", "heping", "heping-c1", NULL, &f), 0,
           "a resident of heping-c1 reports the lift");
    WF_WAIT_FOR(wf_heard(PROPERTY, PROTO_DISPATCH, "fb-lift", NULL) &&
                    wf_heard(OWNERS, PROTO_DISPATCH, "fb-lift", NULL) &&
                    wf_heard(OFFICE, PROTO_DISPATCH, "fb-lift", NULL),
                5000);
    const wf_msg *p = wf_heard(PROPERTY, PROTO_DISPATCH, "fb-lift", NULL);
    const wf_msg *o = wf_heard(OWNERS, PROTO_DISPATCH, "fb-lift", NULL);
    const wf_msg *c = wf_heard(OFFICE, PROTO_DISPATCH, "fb-lift", NULL);
    ok(p && strcmp(p->role, "property") == 0, "the property company receives it as property");
    ok(o && strcmp(o->role, "owners") == 0, "the owners' committee receives it as owners");
    ok(c && strcmp(c->role, "informed") == 0, "the community office is informed");
    ok(p && p->has_contact, "the property company sees the resident's contact");
    ok(o && c && !o->has_contact && !c->has_contact, "the owners and the office do not");
}

static void case_confirm(void)
{
    client_result r;
    proto_msg m;
    is_int(wf_act(PROTO_CONFIRM, "fb-lift", OWNERS, NULL, &r), GL_EBADSTATE,
           "the owners cannot confirm before the property company resolves: bad_state");
    is_int(wf_act(PROTO_RESOLVE, "fb-lift", OFFICE, NULL, &r), GL_EBADSTATE,
           "the informed community office cannot resolve it: bad_state");
    is_int(wf_act(PROTO_ACCEPT, "fb-lift", PROPERTY, NULL, &r), 0, "the property company accepts");
    is_int(wf_act(PROTO_RESOLVE, "fb-lift", PROPERTY, "电梯已修复并年检", &r), 0,
           "and resolves it with a note");
    is_str(gl_event_state_name(r.event_state), "resolved", "the event is resolved");
    is_int(wf_act(PROTO_CONFIRM, "fb-lift", PROPERTY, NULL, &r), GL_EBADSTATE,
           "the property company cannot confirm its own work: bad_state");
    is_int(wf_act(PROTO_CONFIRM, "fb-lift", OFFICE, NULL, &r), GL_EBADSTATE,
           "nor can the community office: only the owners' committee");

    is_int(wf_act(PROTO_CONFIRM, "fb-lift", OWNERS, "业委会现场查看，运行正常", &r), 0,
           "the owners' committee confirms");
    is_str(gl_dispatch_state_name(r.state), "resolved", "RESULT: the owners' part is done");
    is_str(gl_event_state_name(r.event_state), "resolved",
           "RESULT: the event stays resolved (the resident's rating closes it)");
    if (ok(wf_show("fb-lift", &m) == 0, "SHOW fb-lift")) {
        const gl_history *h = wf_history(&m, "confirmed", NULL);
        ok(h && h->note && strcmp(h->note, "业委会现场查看，运行正常") == 0,
           "history: confirmed, with the committee's note");
        is_str(h ? h->who : NULL, "team:" OWNERS "/测试员", "by the owners' committee");
        is_str(m.ev.team, PROPERTY, "the property company resolved it");
    }
    WF_WAIT_FOR(wf_heard(OFFICE, PROTO_NOTICE, "fb-lift", "confirmed"), 5000);
    const wf_msg *n = wf_heard(OFFICE, PROTO_NOTICE, "fb-lift", "confirmed");
    ok(n != NULL, "the community office is told: confirmed");
    is_str(n ? n->by : NULL, OWNERS, "by the owners' committee");
    /* A CONFIRM whose RESULT was lost is resent (PROTOCOL.md §11): acts are
     * idempotent, so the resend gets the same answer and changes nothing. */
    is_int(wf_act(PROTO_CONFIRM, "fb-lift", OWNERS, "业委会现场查看，运行正常", &r), 0,
           "confirming again is harmless: the same answer");
    is_str(gl_dispatch_state_name(r.state), "resolved", "the owners' part is still done");
    if (wf_show("fb-lift", &m) == 0)
        is_int(wf_history_count(&m, "confirmed", NULL), 1, "and no second confirmed entry");
    wf_pump(500);
    is_int(wf_heard_count(OFFICE, PROTO_NOTICE, "fb-lift", "confirmed"), 1,
           "and the office is not told a second time");
}

static void case_dispute(void)
{
    client_result r;
    proto_msg m;
    wf_submit("fb-leak", GL_KIND_FEEDBACK, "leak", "heping", "heping-c1", NULL, NULL);
    WF_WAIT_FOR(wf_heard(PROPERTY, PROTO_DISPATCH, "fb-leak", NULL) &&
                    wf_heard(OFFICE, PROTO_DISPATCH, "fb-leak", NULL),
                5000);
    is_int(wf_act(PROTO_RESOLVE, "fb-leak", PROPERTY, "已更换水管", &r), 0,
           "the property company resolves the leak");
    is_int(client_act(wf_responder, PROTO_DISPUTE, "fb-leak", OWNERS, NULL, NULL, &r), GL_EMISSING,
           "a dispute without a reason is refused before sending (missing_field)");
    is_int(wf_act(PROTO_DISPUTE, "fb-leak", PROPERTY, "不同意", &r), GL_EBADSTATE,
           "the property company cannot dispute: bad_state");

    uint64_t disputed_at = clock_wall_ms();
    is_int(wf_act(PROTO_DISPUTE, "fb-leak", OWNERS, "楼上仍在渗水", &r), 0,
           "the owners' committee disputes it, with a reason");
    is_str(gl_event_state_name(r.event_state), "dispatched", "RESULT: the event is dispatched again");
    if (ok(wf_show("fb-leak", &m) == 0, "SHOW fb-leak")) {
        is_str(gl_event_state_name(m.ev.state), "dispatched", "stored: dispatched");
        ok(m.ev.team == NULL, "nobody holds it");
        ok(m.ev.due_ms >= disputed_at + LEAK_RESOLVE_MS,
           "the reopened feedback is timed again from the dispute (leak: 3 days)");
        is_int(m.ev.close_at_ms, 0, "and no longer closes by itself");
        const gl_history *d = wf_history(&m, "disputed", NULL);
        const gl_history *e = wf_history(&m, "escalated", "disputed by the owners' committee");
        ok(d && d->note && strcmp(d->note, "楼上仍在渗水") == 0,
           "history: disputed, with the committee's reason");
        is_str(d ? d->who : NULL, "team:" OWNERS "/测试员", "by the owners' committee");
        ok(e && strstr(e->note, OFFICE), "history: escalated to the community office (%s)",
           e ? e->note : "-");
        ok(wf_history_index(&m, d) < wf_history_index(&m, e), "disputed, then escalated");
        const gl_dispatch *pd = wf_dispatch(&m, PROPERTY);
        const gl_dispatch *cd = wf_dispatch(&m, OFFICE);
        ok(pd && pd->state == GL_DS_PENDING && strcmp(pd->role, "property") == 0,
           "the property company is dispatched again (pending, property)");
        ok(cd && cd->state == GL_DS_PENDING && strcmp(cd->role, "community") == 0,
           "the community office is dispatched as community (pending)");
        if (!pd || !cd)
            wf_diag_event(&m);
    }
    /* A DISPUTE whose RESULT was lost is resent unchanged (PROTOCOL.md
     * §11; `gridline dispute --help`: "acting twice is harmless"). */
    is_int(wf_act(PROTO_DISPUTE, "fb-leak", OWNERS, "楼上仍在渗水", &r), 0,
           "the same dispute resent: the same answer");
    is_str(gl_event_state_name(r.event_state), "dispatched", "the event is still dispatched");
    if (wf_show("fb-leak", &m) == 0)
        ok(wf_history_count(&m, "disputed", NULL) == 1 && wf_history_count(&m, "escalated", NULL) == 1,
           "and no second disputed or escalated entry (%d, %d)",
           wf_history_count(&m, "disputed", NULL), wf_history_count(&m, "escalated", NULL));
    WF_WAIT_FOR(wf_heard_nth(PROPERTY, PROTO_DISPATCH, "fb-leak", NULL, NULL, 1) &&
                    wf_heard_nth(OFFICE, PROTO_DISPATCH, "fb-leak", NULL, "community", 0),
                5000);
    const wf_msg *again = wf_heard_nth(PROPERTY, PROTO_DISPATCH, "fb-leak", NULL, NULL, 1);
    ok(again && strcmp(again->role, "property") == 0,
       "the property company's listener receives a second DISPATCH");
    ok(wf_heard_nth(OFFICE, PROTO_DISPATCH, "fb-leak", NULL, "community", 0) != NULL,
       "the office's listener receives a DISPATCH with role community");
    WF_WAIT_FOR(wf_heard(PROPERTY, PROTO_NOTICE, "fb-leak", "disputed"), 3000);
    const wf_msg *why = wf_heard(PROPERTY, PROTO_NOTICE, "fb-leak", "disputed");
    ok(why && strcmp(why->by, OWNERS) == 0 && strcmp(why->note, "楼上仍在渗水") == 0,
       "and the property company is told why: NOTICE disputed, by the owners, with the reason");
    is_int(wf_heard_count(PROPERTY, PROTO_NOTICE, "fb-leak", "disputed"), 1,
           "once, though the dispute was sent twice");

    /* The community coordinates; the property company resolves again and
     * the owners are satisfied this time. */
    is_int(wf_act(PROTO_ACK, "fb-leak", OFFICE, NULL, &r), 0, "the community office acknowledges");
    is_int(wf_act(PROTO_RESOLVE, "fb-leak", PROPERTY, "已找到楼上漏点并修复", &r), 0,
           "the property company resolves it again");
    is_int(wf_act(PROTO_CONFIRM, "fb-leak", OWNERS, NULL, &r), 0, "the owners confirm now");
    if (wf_show("fb-leak", &m) == 0) {
        is_str(gl_event_state_name(m.ev.state), "resolved", "the event is resolved");
        is_int(wf_history_count(&m, "resolved", NULL), 2, "history: resolved twice");
        ok(wf_history(&m, "confirmed", NULL) != NULL, "history: confirmed");
    }
    WF_WAIT_FOR(wf_heard(OFFICE, PROTO_NOTICE, "fb-leak", "confirmed"), 5000);
    ok(wf_heard(OFFICE, PROTO_NOTICE, "fb-leak", "confirmed") != NULL,
       "the community office is told: confirmed");
}

static void case_without_property(void)
{
    client_result r;
    proto_msg m;
    /* taixi-c1 has no property company: its party branch leads (支部领办),
     * with a "red" owners' committee. */
    wf_submit("fb-branch", GL_KIND_FEEDBACK, "leak", "taixi", "taixi-c1", NULL, NULL);
    WF_WAIT_FOR(wf_heard("taixi-branch", PROTO_DISPATCH, "fb-branch", NULL), 5000);
    const wf_msg *b = wf_heard("taixi-branch", PROTO_DISPATCH, "fb-branch", NULL);
    ok(b && strcmp(b->role, "property") == 0,
       "branch-led compound: the party branch's listener receives it as property");
    if (wf_show("fb-branch", &m) == 0) {
        const gl_dispatch *o = wf_dispatch(&m, "oc-taixi-c1-team");
        const gl_dispatch *c = wf_dispatch(&m, "taixi-office");
        ok(o && strcmp(o->role, "owners") == 0, "its owners' committee is in it");
        ok(c && strcmp(c->role, "informed") == 0, "the community is informed");
        ok(!wf_dispatch(&m, PROPERTY) && !wf_dispatch(&m, "pc-shahu-team") &&
               !wf_dispatch(&m, "pc-huize-team"),
           "no property company is involved");
    }
    is_int(wf_act(PROTO_RESOLVE, "fb-branch", "taixi-branch", "支部组织党员修好了", &r), 0,
           "the branch resolves it");
    is_int(wf_act(PROTO_CONFIRM, "fb-branch", "oc-taixi-c1-team", NULL, &r), 0,
           "the owners' committee confirms");
    WF_WAIT_FOR(wf_heard("taixi-office", PROTO_NOTICE, "fb-branch", "confirmed"), 5000);
    ok(wf_heard("taixi-office", PROTO_NOTICE, "fb-branch", "confirmed") != NULL,
       "taixi's office is told: confirmed");

    /* xijie-c1 is in custodial care (托管). */
    wf_submit("fb-custody", GL_KIND_FEEDBACK, "cleaning", "xijie", "xijie-c1", NULL, NULL);
    if (wf_show("fb-custody", &m) == 0) {
        const gl_dispatch *d = wf_dispatch(&m, "custodian-south");
        ok(d && strcmp(d->role, "property") == 0,
           "custodial compound: the custodian acts as property");
    }
}

/* The owners' committee through bin/gridline. */
static void case_cli(void)
{
    client_result r;
    proto_msg m;
    wf_submit("fb-cli-1", GL_KIND_FEEDBACK, "parking", "heping", "heping-c1", NULL, NULL);
    wf_submit("fb-cli-2", GL_KIND_FEEDBACK, "fees", "heping", "heping-c1", NULL, NULL);
    wf_act(PROTO_RESOLVE, "fb-cli-1", PROPERTY, "已划定车位", &r);
    wf_act(PROTO_RESOLVE, "fb-cli-2", PROPERTY, "已公示收费标准", &r);
    int status = wf_cli((const char *[]){"confirm", "--team", OWNERS, "--event", "fb-cli-1",
                                         "--member", "业委会主任 崔金山", NULL});
    if (!ok(status == 0, "gridline confirm exits 0"))
        diag("output: %s", wf_out);
    if (wf_show("fb-cli-1", &m) == 0) {
        const gl_history *h = wf_history(&m, "confirmed", NULL);
        is_str(h ? h->who : NULL, "team:" OWNERS "/业委会主任 崔金山", "history: confirmed by the chair");
    }
    status = wf_cli((const char *[]){"dispute", "--team", OWNERS, "--event", "fb-cli-2", NULL});
    is_int(status, 2, "gridline dispute without --note is bad input (exit 2)");
    status = wf_cli((const char *[]){"dispute", "--team", OWNERS, "--event", "fb-cli-2", "--note",
                                     "收费标准未经业主大会表决", NULL});
    if (!ok(status == 0, "gridline dispute --note exits 0"))
        diag("output: %s", wf_out);
    if (wf_show("fb-cli-2", &m) == 0) {
        is_str(gl_event_state_name(m.ev.state), "dispatched", "the disputed feedback is dispatched");
        ok(wf_history(&m, "disputed", "收费标准未经业主大会表决") != NULL,
           "history: disputed, with the reason");
        const gl_dispatch *cd = wf_dispatch(&m, OFFICE);
        ok(cd && strcmp(cd->role, "community") == 0, "the office now coordinates it");
    }
    status = wf_cli((const char *[]){"confirm", "--team", PROPERTY, "--event", "fb-cli-1", NULL});
    is_int(status, 6, "gridline confirm by the property company is refused (exit 6)");
}

int main(void)
{
    tl_setup(&wf_env, "property");
    if (wf_start(2, NULL) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    ok(wf_listen(PROPERTY, "安和物业客服") >= 0 && wf_listen(OWNERS, "业委会主任 崔金山") >= 0 &&
           wf_listen(OFFICE, "社区书记 谭桂英") >= 0 && wf_listen("taixi-branch", "支部书记") >= 0 &&
           wf_listen("taixi-office", "太西社区") >= 0,
       "property company, owners' committee, offices and a party branch are listening");
    case_route();
    case_confirm();
    case_dispute();
    case_without_property();
    case_cli();
    return wf_finish();
}
