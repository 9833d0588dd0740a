/* End to end: a category's time limits (issue 4, workflow 3), with a real
 * broker and two workers on a copy of the demo county where a repair must
 * be signed for within 1 s and resolved within 4 s, with a reminder 2 s
 * before it is due. Driven through the client API and `gridline extend` /
 * `gridline approve` as the grid teams and the community office would.
 * Asserted: the stored times, the history ("overdue", "extension
 * requested", "extension approved"), the alarm in SHOW and in the status
 * figures, and what each team's listener received ("reminder", "overdue",
 * "extension requested", "extended", the office's DISPATCH). */
#include "support/workflow.h"

#define SIGN_MS 1000
#define DUE_MS 4000
#define REMIND_BEFORE_MS 2000
#define OFFICE "heping-office"
#define G1 "heping-g1-team"
#define G2 "heping-g2-team"

static uint64_t created_sign, created_work; /* created_ms of dl-sign and dl-work */

/* store_figures: STATUS, and the store's figures in *m. 0, or -1. */
static int store_figures(proto_msg *m)
{
    int rc = client_status(wf_terminal, m, &wf_arena);
    if (rc != 0) {
        diag("STATUS: %s (%s)", gl_strerror(rc), client_reason(wf_terminal));
        return -1;
    }
    return m->store_figures ? 0 : -1;
}

/* wait_alarms polls STATUS (pumping the listeners) until the store figures
 * count want overdue events and list (or not) the ids given; at most ms. 1
 * when so; *n gets the last count seen. */
static int wait_alarms(uint64_t want, const char *listed, const char *unlisted, int ms,
                       uint64_t *n)
{
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    *n = UINT64_MAX;
    for (;;) {
        proto_msg m;
        if (store_figures(&m) == 0 &&
            wf_figure_u64(m.store_figures, m.store_figures_len, "overdue_events", n) == 0 &&
            *n == want &&
            (!listed || wf_figure_has_str(m.store_figures, m.store_figures_len, "overdue", listed)) &&
            (!unlisted ||
             !wf_figure_has_str(m.store_figures, m.store_figures_len, "overdue", unlisted)))
            return 1;
        if (clock_mono_ms() >= until)
            return 0;
        wf_pump(100);
    }
}

static void case_file(void)
{
    client_filed f;
    proto_msg m;
    is_int(wf_submit("dl-sign", GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g1", &f), 0,
           "a repair request for heping-g1 is filed (nobody will sign for it)");
    is_int(wf_submit("dl-work", GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g2", &f), 0,
           "a repair request for heping-g2 is filed");
    client_result r;
    is_int(wf_act(PROTO_ACK, "dl-work", G2, NULL, &r), 0, "heping-g2's team signs for it at once");
    is_int(wf_act(PROTO_ACCEPT, "dl-work", G2, NULL, &r), 0, "and accepts it");
    if (ok(wf_show("dl-sign", &m) == 0, "SHOW dl-sign")) {
        created_sign = m.ev.created_ms;
        is_int(m.ev.sign_by_ms, m.ev.created_ms + SIGN_MS, "sign_by_ms: filed + 1 s");
        is_int(m.ev.due_ms, m.ev.created_ms + DUE_MS, "due_ms: filed + 4 s");
        is_int(m.ev.remind_at_ms, m.ev.due_ms - REMIND_BEFORE_MS, "remind_at_ms: due - 2 s");
    }
    if (ok(wf_show("dl-work", &m) == 0, "SHOW dl-work")) {
        created_work = m.ev.created_ms;
        is_int(m.ev.sign_by_ms, 0, "signed for: no sign-for deadline left");
        is_int(m.ev.due_ms, m.ev.created_ms + DUE_MS, "but it is still due in 4 s");
    }
}

static void case_not_signed_for(void)
{
    proto_msg m;
    int found = wf_wait_history("dl-sign", "overdue", "not signed for in time", SIGN_MS + 3000, &m);
    if (!ok(found, "dl-sign: history overdue, not signed for in time"))
        wf_diag_event(&m);
    const gl_history *h = wf_history(&m, "overdue", "not signed for in time");
    ok(h && strstr(h->note, "to " OFFICE), "which names the community office (%s)",
       h ? h->note : "-");
    is_str(h ? h->who : NULL, "system", "by the system");
    ok(h && h->at_ms >= created_sign + SIGN_MS, "not before the limit (+%lld ms)",
       h ? (long long)(h->at_ms - created_sign) : 0LL);
    const gl_dispatch *d = wf_dispatch(&m, OFFICE);
    ok(d && strcmp(d->role, "community") == 0 && d->state == GL_DS_PENDING,
       "the community office is dispatched (community, pending)");
    ok(m.ev.alarm == NULL, "not signed for is not an alarm yet");
    WF_WAIT_FOR(wf_heard_nth(OFFICE, PROTO_DISPATCH, "dl-sign", NULL, "community", 0), 3000);
    ok(wf_heard_nth(OFFICE, PROTO_DISPATCH, "dl-sign", NULL, "community", 0) != NULL,
       "the office's listener receives the DISPATCH");
    if (wf_show("dl-work", &m) == 0)
        is_int(wf_history_count(&m, "overdue", NULL), 0, "dl-work, signed for, is not overdue");
}

static void case_reminder(void)
{
    WF_WAIT_FOR(wf_heard(G2, PROTO_NOTICE, "dl-work", "reminder") &&
                    wf_heard(G1, PROTO_NOTICE, "dl-sign", "reminder"),
                DUE_MS + 2000);
    const wf_msg *n = wf_heard(G2, PROTO_NOTICE, "dl-work", "reminder");
    ok(n != NULL, "the team working dl-work is reminded (NOTICE reminder)");
    ok(n && strstr(n->note, "due at "), "the reminder says when it is due (%s)", n ? n->note : "-");
    ok(n && n->wall_ms >= created_work + DUE_MS - REMIND_BEFORE_MS &&
           n->wall_ms < created_work + DUE_MS,
       "2 s before it is due, not after (+%lld ms)",
       n ? (long long)(n->wall_ms - created_work) : 0LL);
    ok(wf_heard(G1, PROTO_NOTICE, "dl-sign", "reminder") != NULL,
       "nobody holds dl-sign: the teams dispatched to it are reminded");
    is_int(wf_heard_count(G1, PROTO_NOTICE, "dl-work", "reminder"), 0,
           "a team that has nothing to do with dl-work is not");
}

static void case_overdue(void)
{
    proto_msg m;
    int found = wf_wait_history("dl-work", "overdue", "not resolved by its due time", 3000, &m);
    if (!ok(found, "dl-work: history overdue, not resolved by its due time"))
        wf_diag_event(&m);
    const gl_history *h = wf_history(&m, "overdue", "not resolved by its due time");
    ok(h && h->at_ms >= created_work + DUE_MS, "not before it was due (+%lld ms)",
       h ? (long long)(h->at_ms - created_work) : 0LL);
    is_str(m.ev.alarm, "overdue", "SHOW: the event carries the alarm overdue");
    is_int(m.ev.due_ms, created_work + DUE_MS, "due_ms stays the expected time that passed");
    is_str(gl_event_state_name(m.ev.state), "accepted", "the team still holds it");
    const gl_dispatch *d = wf_dispatch(&m, OFFICE);
    ok(d && strcmp(d->role, "community") == 0, "the community office is dispatched as community");
    WF_WAIT_FOR(wf_heard(G2, PROTO_NOTICE, "dl-work", "overdue") &&
                    wf_heard_nth(OFFICE, PROTO_DISPATCH, "dl-work", NULL, "community", 0),
                3000);
    ok(wf_heard(G2, PROTO_NOTICE, "dl-work", "overdue") != NULL,
       "the team holding it is told: overdue");
    ok(wf_heard_nth(OFFICE, PROTO_DISPATCH, "dl-work", NULL, "community", 0) != NULL,
       "the office's listener receives the DISPATCH");

    wf_wait_history("dl-sign", "overdue", "not resolved by its due time", 3000, &m);
    is_str(m.ev.alarm, "overdue", "dl-sign is overdue too");
    is_int(wf_history_count(&m, "overdue", NULL), 2,
           "dl-sign: overdue twice, not signed for and not resolved");

    uint64_t n = 0;
    ok(wait_alarms(2, "dl-work", NULL, 3000, &n),
       "status: the store figures count 2 overdue events (overdue_events %llu)",
       (unsigned long long)n);
    proto_msg s;
    if (store_figures(&s) == 0) {
        ok(wf_figure_has_str(s.store_figures, s.store_figures_len, "overdue", "dl-work") &&
               wf_figure_has_str(s.store_figures, s.store_figures_len, "overdue", "dl-sign"),
           "and name both events");
        uint64_t unanswered = 99;
        ok(wf_figure_u64(s.store_figures, s.store_figures_len, "unanswered_alerts", &unanswered) == 0 &&
               unanswered == 0 &&
               !wf_figure_has_str(s.store_figures, s.store_figures_len, "unanswered", "dl-work"),
           "overdue requests are not counted as unanswered alerts");
    }
}

static uint64_t asked_until;

static void case_extension(void)
{
    client_result r;
    proto_msg m;
    uint64_t now = clock_wall_ms();
    is_int(client_extend(wf_responder, "dl-work", G2, now + 6000, "测试员", NULL, &r), GL_EMISSING,
           "an extension without a reason is refused before sending");
    is_int(client_extend(wf_responder, "dl-work", G2, created_work + DUE_MS - 1000, "测试员", "等配件",
                         &r),
           GL_EBADFIELD, "an extension to before the due time: bad_field");
    is_int(client_extend(wf_responder, "dl-work", G1, now + 6000, "测试员", "等配件", &r),
           GL_ENOTYOURS, "a team it was not dispatched to cannot ask: not_yours");
    is_int(wf_act(PROTO_APPROVE, "dl-work", OFFICE, NULL, &r), GL_EBADSTATE,
           "nothing to approve yet: bad_state");

    asked_until = clock_wall_ms() + 6000;
    is_int(client_extend(wf_responder, "dl-work", G2, asked_until, "测试员", "等电梯配件到货", &r), 0,
           "the working team asks for 6 s more");
    if (wf_show("dl-work", &m) == 0) {
        is_int(m.ev.extension_ms, asked_until, "the stored event holds the time asked for");
        is_int(m.ev.due_ms, created_work + DUE_MS, "the due time is unchanged until approved");
        const gl_history *h = wf_history(&m, "extension requested", "等电梯配件到货");
        ok(h != NULL, "history: extension requested, with the reason");
        is_str(h ? h->who : NULL, "team:" G2 "/测试员", "by the working team");
    }
    WF_WAIT_FOR(wf_heard(OFFICE, PROTO_NOTICE, "dl-work", "extension requested"), 3000);
    const wf_msg *n = wf_heard(OFFICE, PROTO_NOTICE, "dl-work", "extension requested");
    ok(n != NULL, "the community office is told: extension requested");
    is_str(n ? n->by : NULL, G2, "by the working team");
    ok(n && strstr(n->note, "等电梯配件到货"), "with the reason");
    /* An EXTEND whose RESULT was lost is resent unchanged (PROTOCOL.md §11;
     * `gridline extend --help`: "acting twice is harmless"). */
    is_int(client_extend(wf_responder, "dl-work", G2, asked_until, "测试员", "等电梯配件到货", &r), 0,
           "the same request resent: the same answer");
    if (wf_show("dl-work", &m) == 0)
        is_int(wf_history_count(&m, "extension requested", NULL), 1,
               "and no second extension requested entry");
    wf_pump(300);
    is_int(wf_heard_count(OFFICE, PROTO_NOTICE, "dl-work", "extension requested"), 1,
           "and the office is not told twice");

    is_int(wf_act(PROTO_APPROVE, "dl-work", G2, NULL, &r), GL_ENOTYOURS,
           "the grid team cannot approve its own extension: not_yours");
    is_int(wf_act(PROTO_APPROVE, "dl-work", G1, NULL, &r), GL_ENOTYOURS,
           "nor can another grid team: not_yours");
    is_int(wf_act(PROTO_APPROVE, "dl-work", OFFICE, "同意延期", &r), 0,
           "the community office approves it");
    if (wf_show("dl-work", &m) == 0) {
        is_int(m.ev.due_ms, asked_until, "the new due time is recorded");
        is_int(m.ev.extension_ms, 0, "nothing is waiting for approval");
        ok(m.ev.alarm == NULL, "the overdue alarm is cleared");
        is_int(m.ev.remind_at_ms, asked_until - REMIND_BEFORE_MS, "a reminder 2 s before the new time");
        const gl_history *h = wf_history(&m, "extension approved", "new due time");
        ok(h != NULL, "history: extension approved, with the new due time");
        is_str(h ? h->who : NULL, "team:" OFFICE "/测试员", "by the community office");
    }
    WF_WAIT_FOR(wf_heard(G2, PROTO_NOTICE, "dl-work", "extended"), 3000);
    const wf_msg *e = wf_heard(G2, PROTO_NOTICE, "dl-work", "extended");
    ok(e != NULL, "the working team is told: extended");
    is_str(e ? e->by : NULL, OFFICE, "by the community office");
    /* An APPROVE whose RESULT was lost is resent: it took effect, so the
     * resend must not be refused (PROTOCOL.md §5: a repeated act returns
     * the same RESULT). */
    is_int(wf_act(PROTO_APPROVE, "dl-work", OFFICE, "同意延期", &r), 0,
           "the same approval resent: the same answer");
    if (wf_show("dl-work", &m) == 0) {
        is_int(wf_history_count(&m, "extension approved", NULL), 1,
               "and no second extension approved entry");
        is_int(m.ev.due_ms, asked_until, "the due time stays the one approved");
    }

    uint64_t count = 0;
    ok(wait_alarms(1, "dl-sign", "dl-work", 2500, &count),
       "status: one alarm left, dl-sign's; dl-work is no longer listed (%llu)",
       (unsigned long long)count);

    /* The county's coordinators approve without a dispatch of their own. */
    uint64_t until = clock_wall_ms() + 30000;
    is_int(client_extend(wf_responder, "dl-sign", G1, until, NULL, "住户不在家", &r), 0,
           "heping-g1's team asks for more time on dl-sign");
    is_int(wf_act(PROTO_APPROVE, "dl-sign", "county-coordinators", NULL, &r), 0,
           "the county's coordinators approve it");
    if (wf_show("dl-sign", &m) == 0) {
        is_int(m.ev.due_ms, until, "dl-sign's new due time is recorded");
        ok(m.ev.alarm == NULL, "and its alarm cleared");
    }
    ok(wait_alarms(0, NULL, "dl-sign", 2500, &count), "status: no alarm left (%llu)",
       (unsigned long long)count);
}

static void case_resolved_in_time(void)
{
    client_result r;
    proto_msg m;
    is_int(wf_act(PROTO_RESOLVE, "dl-work", G2, "配件已换好", &r), 0,
           "the team resolves dl-work before its new due time");
    if (wf_show("dl-work", &m) == 0) {
        ok(m.ev.due_ms == 0 && m.ev.remind_at_ms == 0 && m.ev.sign_by_ms == 0,
           "resolved: no time limit runs any more");
    }
    /* past the reminder and the due time dl-work had */
    uint64_t reminders = (uint64_t)wf_heard_count(G2, PROTO_NOTICE, "dl-work", "reminder");
    wf_pump_until_wall(asked_until + 1200);
    if (wf_show("dl-work", &m) == 0) {
        is_int(wf_history_count(&m, "overdue", NULL), 1, "resolved in time: not overdue again");
        ok(m.ev.alarm == NULL, "and no alarm");
    }
    is_int(wf_heard_count(G2, PROTO_NOTICE, "dl-work", "reminder"), reminders,
           "and no reminder after it was resolved");
}

/* Extension and approval as the teams type them. */
static void case_cli(void)
{
    proto_msg m;
    wf_submit("dl-cli", GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g3", NULL);
    client_result r;
    wf_act(PROTO_ACCEPT, "dl-cli", "heping-g3-team", NULL, &r);
    int status = wf_cli((const char *[]){"extend", "--team", "heping-g3-team", "--event", "dl-cli",
                                         "--until", "+2h", NULL});
    is_int(status, 2, "gridline extend without --note is bad input (exit 2)");
    uint64_t before = clock_wall_ms();
    status = wf_cli((const char *[]){"extend", "--team", "heping-g3-team", "--event", "dl-cli",
                                     "--until", "+2h", "--note", "需要协调供暖公司", NULL});
    uint64_t after = clock_wall_ms();
    if (!ok(status == 0, "gridline extend --until +2h exits 0"))
        diag("output: %s", wf_out);
    status = wf_cli((const char *[]){"approve", "--team", "heping-g3-team", "--event", "dl-cli", NULL});
    is_int(status, 6, "gridline approve by the grid team is refused (exit 6)");
    ok(wf_out_has("not_yours"), "as not_yours");
    status = wf_cli((const char *[]){"approve", "--team", OFFICE, "--event", "dl-cli", "--json", NULL});
    if (!ok(status == 0, "gridline approve by the community office exits 0"))
        diag("output: %s", wf_out);
    if (wf_show("dl-cli", &m) == 0) {
        ok(m.ev.due_ms >= before + 7200000 && m.ev.due_ms <= after + 7200000,
           "the due time asked for with gridline extend, in 2 h, is recorded");
        ok(wf_history(&m, "extension requested", "需要协调供暖公司") &&
               wf_history(&m, "extension approved", NULL),
           "history: extension requested and approved");
    }
}

int main(void)
{
    tl_setup(&wf_env, "deadlines");
    static const wf_limits limits[] = {
        {"request", "repair", SIGN_MS / 1000, DUE_MS / 1000, REMIND_BEFORE_MS / 1000, -1},
    };
    if (wf_write_county(limits, GL_ARRAY_LEN(limits), NULL, 0) != 0) {
        printf("Bail out! cannot write the test county\n");
        return 1;
    }
    if (wf_start(2, NULL) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    ok(wf_listen(G1, "网格员 钱静") >= 0 && wf_listen(G2, "网格员 田淑珍") >= 0 &&
           wf_listen(OFFICE, "社区书记 谭桂英") >= 0,
       "two grid teams and the community office are listening");
    case_file();
    case_not_signed_for();
    case_reminder();
    case_overdue();
    case_extension();
    case_resolved_in_time();
    case_cli();
    return wf_finish();
}
