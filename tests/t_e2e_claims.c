/* End to end: the claim board with leases (issue 4, workflow 1), with a real
 * broker and two workers on a copy of the demo county whose micro-wishes
 * hold a claim for 2 s. Driven as the community's volunteers would: the
 * board through client_board and `gridline board`, claims, extensions,
 * releases and a lease that runs out, through the client API and
 * `gridline claim` / `gridline release`. Asserted: the board, the RESULT
 * (its lease end), the stored event and history, and what each squad's
 * listener received ("taken", "open"). */
#include "support/workflow.h"

#define REDVEST "sq-heping-redvest-team"
#define PARTY "sq-heping-party-team"
#define GRID "heping-g1-team"
#define LEASE_MS 2000

/* on_board: 1 when community's board lists id (contact: set to 1 when the
 * listed event carried the reporter's contact). -1 when BOARD failed. */
static int on_board(const char *community, const char *id, int *contact)
{
    proto_msg m;
    int rc = client_board(wf_terminal, community, &m, &wf_arena);
    if (rc != 0) {
        diag("BOARD %s: %s (%s)", community, gl_strerror(rc), client_reason(wf_terminal));
        return -1;
    }
    for (size_t i = 0; i < m.nevents; i++)
        if (m.events[i].id && strcmp(m.events[i].id, id) == 0) {
            if (contact)
                *contact = m.events[i].contact != NULL;
            return 1;
        }
    return 0;
}

/* open_notice: the NOTICE open about wish-1 with note_part that team heard. */
static const wf_msg *open_notice(const char *team, const char *note_part)
{
    const wf_msg *o;
    for (int n = 0; (o = wf_heard_nth(team, PROTO_NOTICE, "wish-1", "open", NULL, n)); n++)
        if (strstr(o->note, note_part))
            return o;
    return NULL;
}

static void case_board(void)
{
    client_filed f;
    is_int(wf_submit("wish-1", GL_KIND_REQUEST, "micro-wish", "heping", NULL, "heping-g1", &f), 0,
           "a resident's micro-wish is filed in heping-g1");
    is_str(gl_event_state_name(f.state), "dispatched", "and dispatched at once");
    wf_submit("wish-mz", GL_KIND_REQUEST, "micro-wish", "mingzhu", NULL, "mingzhu-g1", NULL);
    wf_submit("repair-1", GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g1", NULL);

    int contact = -1;
    is_int(on_board("heping", "wish-1", &contact), 1, "heping's board lists the micro-wish");
    is_int(contact, 0, "without the resident's contact");
    is_int(on_board("heping", "wish-mz", NULL), 0, "but not mingzhu's micro-wish");
    is_int(on_board("mingzhu", "wish-mz", NULL), 1, "which is on mingzhu's board");
    is_int(on_board("heping", "repair-1", NULL), 0, "a repair request is not claimable: not listed");
    is_int(on_board("no-such-community", "wish-1", NULL), 0,
           "an unknown community's board is empty");

    WF_WAIT_FOR(wf_heard(REDVEST, PROTO_DISPATCH, "wish-1", NULL) &&
                    wf_heard(PARTY, PROTO_DISPATCH, "wish-1", NULL) &&
                    wf_heard(GRID, PROTO_DISPATCH, "wish-1", NULL),
                5000);
    const wf_msg *r = wf_heard(REDVEST, PROTO_DISPATCH, "wish-1", NULL);
    const wf_msg *p = wf_heard(PARTY, PROTO_DISPATCH, "wish-1", NULL);
    const wf_msg *g = wf_heard(GRID, PROTO_DISPATCH, "wish-1", NULL);
    ok(r && p && strcmp(r->role, "claim") == 0 && strcmp(p->role, "claim") == 0,
       "both claim teams received the DISPATCH with role claim");
    ok(r && p && !r->has_contact && !p->has_contact, "volunteers do not see the contact");
    ok(g && strcmp(g->role, "grid") == 0 && g->has_contact,
       "the grid team received it as grid, with the contact");
}

static uint64_t first_until;

static void case_claim(void)
{
    client_result r;
    proto_msg m;
    uint64_t before = clock_wall_ms();
    is_int(wf_act(PROTO_CLAIM, "wish-1", PARTY, NULL, &r), 0, "the party-member squad claims it");
    uint64_t after = clock_wall_ms();
    is_str(gl_event_state_name(r.event_state), "accepted", "RESULT: the event is accepted");
    is_str(gl_dispatch_state_name(r.state), "accepted", "RESULT: the squad's dispatch is accepted");
    ok(r.until_ms >= before + LEASE_MS && r.until_ms <= after + LEASE_MS,
       "RESULT until_ms is the lease end, claim time + 2 s (+%lld ms)",
       (long long)r.until_ms - (long long)before);
    first_until = r.until_ms;

    if (ok(wf_show("wish-1", &m) == 0, "SHOW wish-1")) {
        is_str(m.ev.team, PARTY, "the stored event names the claimer");
        is_int(m.ev.lease_until_ms, r.until_ms, "and holds the lease until until_ms");
        const gl_history *h = wf_history(&m, "claimed", "lease until");
        ok(h != NULL, "history: claimed, with the lease end");
        is_str(h ? h->who : NULL, "team:" PARTY "/测试员", "by the squad's member");
    }
    is_int(on_board("heping", "wish-1", NULL), 0, "claimed, it leaves the board");

    WF_WAIT_FOR(wf_heard(REDVEST, PROTO_NOTICE, "wish-1", "taken") &&
                    wf_heard(GRID, PROTO_NOTICE, "wish-1", "taken"),
                5000);
    const wf_msg *t = wf_heard(REDVEST, PROTO_NOTICE, "wish-1", "taken");
    ok(t != NULL, "the other claim team is told: taken");
    is_str(t ? t->by : NULL, PARTY, "by the claimer");
    ok(wf_heard(GRID, PROTO_NOTICE, "wish-1", "taken") != NULL, "so is the grid team");
    is_int(wf_heard_count(PARTY, PROTO_NOTICE, "wish-1", "taken"), 0,
           "the claimer is not told it is taken");

    is_int(wf_act(PROTO_CLAIM, "wish-1", REDVEST, NULL, &r), GL_ETAKEN,
           "the red-vest squad's claim now is refused: taken");
    is_int(wf_act(PROTO_CLAIM, "wish-1", "mingzhu-g1-team", NULL, &r), GL_ENOTYOURS,
           "a team it was never posted to cannot claim it: not_yours");
    is_int(wf_act(PROTO_RELEASE, "wish-1", REDVEST, NULL, &r), GL_EBADSTATE,
           "a team that does not hold it cannot release it: bad_state");

    /* The claimer claims again: the lease is extended. */
    wf_pump(300);
    is_int(wf_act(PROTO_CLAIM, "wish-1", PARTY, NULL, &r), 0, "the claimer claims again");
    ok(r.until_ms > first_until + 200, "the lease is extended (+%lld ms)",
       (long long)r.until_ms - (long long)first_until);
    if (wf_show("wish-1", &m) == 0) {
        is_int(m.ev.lease_until_ms, r.until_ms, "the stored lease is the new one");
        is_int(wf_history_count(&m, "claimed", NULL), 1, "history: still one claimed");
        ok(wf_history(&m, "claim extended", "lease until") != NULL, "history: claim extended");
    }

    /* Released: back on the board. */
    int open_before = wf_heard_count(REDVEST, PROTO_NOTICE, "wish-1", "open");
    is_int(wf_act(PROTO_RELEASE, "wish-1", PARTY, "临时出差，无法完成", &r), 0,
           "the claimer releases it with a note");
    is_str(gl_event_state_name(r.event_state), "dispatched", "RESULT: the event is dispatched again");
    is_int(on_board("heping", "wish-1", NULL), 1, "released, it is back on the board");
    if (wf_show("wish-1", &m) == 0) {
        ok(m.ev.team == NULL, "nobody holds it");
        is_int(m.ev.lease_until_ms, 0, "and there is no lease");
        const gl_history *h = wf_history(&m, "released", NULL);
        ok(h && h->note && strcmp(h->note, "临时出差，无法完成") == 0,
           "history: released, with the claimer's note");
        is_str(h ? h->who : NULL, "team:" PARTY "/测试员", "by the claimer");
        const gl_dispatch *d = wf_dispatch(&m, REDVEST);
        ok(d && d->state == GL_DS_PENDING, "the red-vest squad's dispatch is pending again");
    }
    WF_WAIT_FOR(wf_heard_count(REDVEST, PROTO_NOTICE, "wish-1", "open") > open_before &&
                    wf_heard(GRID, PROTO_NOTICE, "wish-1", "open"),
                5000);
    const wf_msg *o = wf_heard(REDVEST, PROTO_NOTICE, "wish-1", "open");
    ok(o != NULL, "the red-vest squad is told: open");
    is_str(o ? o->by : NULL, PARTY, "released by the party-member squad");
    ok(wf_heard(GRID, PROTO_NOTICE, "wish-1", "open") != NULL, "the grid team is told too");
    is_int(wf_act(PROTO_RELEASE, "wish-1", PARTY, NULL, &r), 0,
           "releasing again is harmless: the same answer");
    is_str(gl_event_state_name(r.event_state), "dispatched", "still dispatched");
    if (wf_show("wish-1", &m) == 0)
        is_int(wf_history_count(&m, "released", NULL), 1, "and no second released entry");
}

static void case_lease_expires(void)
{
    client_result r;
    proto_msg m;
    is_int(wf_act(PROTO_CLAIM, "wish-1", REDVEST, NULL, &r), 0, "the red-vest squad claims it");
    uint64_t until = r.until_ms;
    is_int(on_board("heping", "wish-1", NULL), 0, "it is off the board");
    WF_WAIT_FOR(wf_heard(PARTY, PROTO_NOTICE, "wish-1", "taken"), 3000);
    ok(wf_heard(PARTY, PROTO_NOTICE, "wish-1", "taken") != NULL,
       "the party-member squad is told: taken");

    /* Nobody works it: the lease runs out. */
    int found = wf_wait_history("wish-1", "released", "lease expired", LEASE_MS + 4000, &m);
    if (!ok(found, "the lease expires: history released, note 'lease expired'"))
        wf_diag_event(&m);
    const gl_history *h = wf_history(&m, "released", "lease expired");
    is_str(h ? h->who : NULL, "system", "by the system");
    ok(h && h->at_ms >= until, "not before the lease end (+%lld ms)",
       h ? (long long)h->at_ms - (long long)until : 0LL);
    ok(h && h->at_ms <= until + 2500, "within a heartbeat or two of it");
    is_str(gl_event_state_name(m.ev.state), "dispatched", "the event is dispatched again");
    ok(m.ev.team == NULL && m.ev.lease_until_ms == 0, "nobody holds it, no lease");
    is_int(on_board("heping", "wish-1", NULL), 1, "it is back on the board");
    WF_WAIT_FOR(open_notice(PARTY, "lease expired") && open_notice(REDVEST, "lease expired"), 3000);
    ok(open_notice(PARTY, "lease expired") != NULL,
       "the other claim team is told it is open: lease expired");
    ok(open_notice(REDVEST, "lease expired") != NULL, "and so is the squad whose lease it was");

    /* Claimed and done: a resolved wish stays off the board and keeps no lease. */
    is_int(wf_act(PROTO_CLAIM, "wish-1", PARTY, NULL, &r), 0, "the party-member squad claims it");
    is_int(wf_act(PROTO_RESOLVE, "wish-1", PARTY, "已帮老人买好药", &r), 0, "and resolves it");
    is_str(gl_event_state_name(r.event_state), "resolved", "the event is resolved");
    wf_pump(LEASE_MS + 1200); /* past the lease it held */
    if (wf_show("wish-1", &m) == 0) {
        is_str(gl_event_state_name(m.ev.state), "resolved", "still resolved after its lease");
        is_int(m.ev.lease_until_ms, 0, "no lease left");
        is_int(wf_history_count(&m, "released", "lease expired"), 1,
               "the old lease did not release it again");
    }
    is_int(on_board("heping", "wish-1", NULL), 0, "a resolved wish is not on the board");
    is_int(wf_act(PROTO_CLAIM, "wish-1", REDVEST, NULL, &r), GL_ETAKEN,
           "claiming a wish another squad resolved: taken");
}

/* The same through bin/gridline, as a volunteer types it. */
static void case_cli(void)
{
    int status;
    wf_submit("wish-cli", GL_KIND_REQUEST, "daily-help", "heping", NULL, "heping-g2", NULL);
    json_t *j = wf_cli_json((const char *[]){"board", "--community", "heping", "--json", NULL},
                            &status);
    is_int(status, 0, "gridline board --community heping exits 0");
    ok(wf_out_has("\"wish-cli\""), "and lists the daily-help request");
    ok(!wf_out_has(WF_CONTACT), "without the resident's contact");
    json_decref(j);

    status = wf_cli((const char *[]){"claim", "--team", REDVEST, "--event", "wish-cli",
                                     "--member", "红马甲 张敏", NULL});
    if (!ok(status == 0, "gridline claim exits 0"))
        diag("output: %s", wf_out);
    proto_msg m;
    if (wf_show("wish-cli", &m) == 0) {
        is_str(m.ev.team, REDVEST, "the red-vest squad holds it");
        const gl_history *h = wf_history(&m, "claimed", NULL);
        is_str(h ? h->who : NULL, "team:" REDVEST "/红马甲 张敏", "claimed by the member named");
    }
    status = wf_cli((const char *[]){"claim", "--team", PARTY, "--event", "wish-cli", NULL});
    is_int(status, 6, "another squad's gridline claim is refused (exit 6)");
    ok(wf_out_has("taken"), "saying it is taken");
    status = wf_cli((const char *[]){"board", "--community", "heping", "--json", NULL});
    ok(status == 0 && !wf_out_has("\"wish-cli\""), "claimed, it is off gridline board");

    status = wf_cli((const char *[]){"release", "--team", REDVEST, "--event", "wish-cli", "--note",
                                     "人手不够", NULL});
    is_int(status, 0, "gridline release exits 0");
    status = wf_cli((const char *[]){"board", "--community", "heping", NULL});
    ok(status == 0 && wf_out_has("wish-cli"), "released, gridline board lists it again");
    if (wf_show("wish-cli", &m) == 0)
        ok(wf_history(&m, "released", "人手不够") != NULL, "history: released, with the note");
}

/* An ACK of a claimable request leaves it where it was: on the board
 * (issue 7: the ACK no longer writes the board entry again). Acknowledged
 * again, it answers the same and writes nothing more. */
static void case_ack_keeps_board(void)
{
    client_result r, again;
    proto_msg m;
    wf_submit("wish-ack", GL_KIND_REQUEST, "micro-wish", "heping", NULL, "heping-g1", NULL);
    is_int(on_board("heping", "wish-ack", NULL), 1, "a second micro-wish is on heping's board");
    is_int(wf_act(PROTO_ACK, "wish-ack", GRID, NULL, &r), 0, "the grid team acknowledges it");
    is_str(gl_dispatch_state_name(r.state), "acked", "RESULT: the grid team's dispatch is acked");
    is_str(gl_event_state_name(r.event_state), "dispatched", "RESULT: the event is still dispatched");
    is_int(on_board("heping", "wish-ack", NULL), 1, "acknowledged, it stays on the board");
    is_int(wf_act(PROTO_ACK, "wish-ack", GRID, NULL, &again), 0, "acknowledged again");
    ok(again.state == r.state && again.event_state == r.event_state,
       "the same answer: %s / %s", gl_dispatch_state_name(again.state),
       gl_event_state_name(again.event_state));
    if (ok(wf_show("wish-ack", &m) == 0, "SHOW wish-ack")) {
        const gl_dispatch *d = wf_dispatch(&m, GRID);
        is_str(d ? gl_dispatch_state_name(d->state) : NULL, "acked", "the stored dispatch is acked");
        is_int(d ? (long long)d->next_retry_ms : -1, 0, "and no longer scheduled to be sent again");
        is_int(wf_history_count(&m, "acked", NULL), 1, "history: one acked entry, not two");
        is_str(gl_event_state_name(m.ev.state), "dispatched", "the stored event is dispatched");
    }
    is_int(on_board("heping", "wish-ack", NULL), 1, "and still on the board");
    int rc = wf_cli((const char *[]){"fsck", "--data", wf_env.store, NULL});
    ok(rc == 0 && wf_out_has("consistent"), "gridline fsck finds the store consistent");
    if (rc != 0)
        diag("%s", wf_out);
}

int main(void)
{
    tl_setup(&wf_env, "claims");
    static const wf_limits limits[] = {
        {"request", "micro-wish", -1, -1, -1, LEASE_MS / 1000},
        {"request", "daily-help", -1, -1, -1, 60},
    };
    if (wf_write_county(limits, GL_ARRAY_LEN(limits), NULL, 0) != 0) {
        printf("Bail out! cannot write the test county\n");
        return 1;
    }
    if (wf_start(2, NULL) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    ok(wf_listen(REDVEST, "红马甲 张敏") >= 0 && wf_listen(PARTY, "党员 刘伟") >= 0 &&
           wf_listen(GRID, "网格员 李娜") >= 0,
       "the two claim teams and the grid team are listening");
    case_board();
    case_claim();
    case_lease_expires();
    case_cli();
    case_ack_keeps_board();
    return wf_finish();
}
