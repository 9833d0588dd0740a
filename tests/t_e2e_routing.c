/* End to end: a real broker and two workers on the demo county. Routing of
 * each kind, the responder lifecycle, a claim race, decline and re-dispatch,
 * duplicate ids — asserted on the replies, the stored record (SHOW) and the
 * dispatches that reached listening teams. */
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tl_env env;
static client *terminal, *responder;
static gl_arena arena;

static int submit(const char *id, int kind, const char *category, const char *community,
                  const char *compound, const char *grid, const char *term, client_filed *f)
{
    gl_event ev = {.id = id, .kind = kind, .category = category, .community = community,
                   .compound = compound, .grid = grid, .terminal = term,
                   .text = "测试：楼道灯坏了", .contact = "139-0000-0000"};
    return client_submit(terminal, &ev, f);
}

static const gl_dispatch *find_dispatch(const proto_msg *m, const char *team)
{
    for (size_t i = 0; i < m->ndispatches; i++)
        if (strcmp(m->dispatches[i].team, team) == 0)
            return &m->dispatches[i];
    return NULL;
}

static int has_history(const proto_msg *m, const char *what, const char *who)
{
    for (size_t i = 0; i < m->nhistory; i++)
        if (strcmp(m->history[i].what, what) == 0 &&
            (!who || (m->history[i].who && strcmp(m->history[i].who, who) == 0)))
            return 1;
    return 0;
}

static int show(const char *id, proto_msg *m)
{
    return client_show(terminal, id, m, &arena);
}

/* Routed to exactly these teams (with these roles). */
static void check_route(const char *id, const char *const *teams, const char *const *roles,
                        int n, const char *what)
{
    proto_msg m;
    int rc = show(id, &m);
    if (!ok(rc == 0, "%s: SHOW answers", what))
        return;
    int all = (int)m.ndispatches == n;
    for (int i = 0; i < n; i++) {
        const gl_dispatch *d = find_dispatch(&m, teams[i]);
        if (!d || strcmp(d->role, roles[i]) != 0) {
            diag("%s: no dispatch to %s as %s", what, teams[i], roles[i]);
            all = 0;
        }
    }
    if (!ok(all, "%s: dispatched to exactly %d teams with the right roles", what, n))
        for (size_t i = 0; i < m.ndispatches; i++)
            diag("  have %s (%s)", m.dispatches[i].team, m.dispatches[i].role);
    is_str(gl_event_state_name(m.ev.state), "dispatched", "%s: state is dispatched", what);
}

/* Waits for a DISPATCH (or NOTICE what) of event id on listener l. */
static int wait_for(client_listener *l, int cmd, const char *id, const char *what, int ms)
{
    proto_msg m;
    for (int waited = 0; waited < ms; waited += 100) {
        if (client_listen_next(l, 100, &m, &arena) != 0)
            return 0;
        if (m.cmd == cmd && m.event && strcmp(m.event, id) == 0 &&
            (!what || (m.what && strcmp(m.what, what) == 0)))
            return 1;
    }
    return 0;
}

int main(void)
{
    tl_setup(&env, "routing");
    tl_broker(&env, NULL);
    tl_worker(&env, "w1", NULL);
    tl_worker(&env, "w2", NULL);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 3000;
    client_open(&terminal, env.intake, &o, NULL, 0);
    client_open(&responder, env.responders, &o, NULL, 0);

    client_listener *grid_l = NULL, *coord_l = NULL;
    ok(client_listen_open(&grid_l, env.responders, "heping-g1-team", "网格员 李娜", &o, NULL, 0) == 0,
       "grid team listener connected");
    ok(client_listen_open(&coord_l, env.responders, "county-coordinators", "值班长", &o, NULL, 0) == 0,
       "coordinator listener connected");

    client_filed f;
    /* request → the grid team */
    is_int(submit("req-repair-1", GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g1", NULL, &f), 0,
           "a repair request is filed");
    ok(f.seq > 0 && !f.duplicate, "it has a sequence number and is new");
    check_route("req-repair-1", (const char *[]){"heping-g1-team"}, (const char *[]){"grid"}, 1,
                "repair request");
    ok(wait_for(grid_l, PROTO_DISPATCH, "req-repair-1", NULL, 5000),
       "the grid team's listener received the dispatch");

    /* the same id again: the first answer, no second record */
    uint64_t first_seq = f.seq;
    is_int(submit("req-repair-1", GL_KIND_REQUEST, "repair", "heping", NULL, "heping-g1", NULL, &f), 0,
           "the same id submitted again is answered");
    ok(f.duplicate && f.seq == first_seq, "as a duplicate with the first seq (%llu)",
       (unsigned long long)f.seq);

    /* claimable → grid team and the community's claim teams */
    submit("req-wish-1", GL_KIND_REQUEST, "micro-wish", "heping", NULL, "heping-g1", NULL, &f);
    check_route("req-wish-1",
                (const char *[]){"heping-g1-team", "sq-heping-redvest-team", "sq-heping-party-team"},
                (const char *[]){"grid", "claim", "claim"}, 3, "micro-wish");

    /* alert → coordinators, duty officer, grid team, first squad of the plan */
    is_int(submit("alert-fire-1", GL_KIND_ALERT, "fire", "heping", NULL, "heping-g1", NULL, &f), 0,
           "a fire alert is filed");
    proto_msg m;
    show("alert-fire-1", &m);
    ok(find_dispatch(&m, "county-coordinators") && find_dispatch(&m, "heping-duty") &&
           find_dispatch(&m, "heping-g1-team"),
       "the alert went to county-coordinators, the duty officer and the grid team");
    int squads = 0;
    for (size_t i = 0; i < m.ndispatches; i++)
        squads += strcmp(m.dispatches[i].role, "squad") == 0;
    is_int(squads, 1, "and to exactly one squad: the plan's first step");
    ok(wait_for(coord_l, PROTO_DISPATCH, "alert-fire-1", NULL, 5000),
       "the coordinators' listener received the alert");

    /* one-button call: only a terminal id */
    is_int(submit("alert-fall-1", GL_KIND_ALERT, "fall", NULL, NULL, NULL, "heping-callbox-01", &f), 0,
           "a one-button call with only its terminal id is filed");
    show("alert-fall-1", &m);
    ok(find_dispatch(&m, "heping-g1-team") != NULL, "the call box's grid team got it");
    is_str(m.ev.grid, "heping-g1", "the stored event carries the call box's grid");

    /* feedback with a property company, branch-led, custodial */
    submit("fb-lift-1", GL_KIND_FEEDBACK, "elevator", "heping", "heping-c1", NULL, NULL, &f);
    show("fb-lift-1", &m);
    const gl_dispatch *pd = find_dispatch(&m, "pc-anhe-team");
    const gl_dispatch *od = find_dispatch(&m, "oc-heping-c1-team");
    const gl_dispatch *id = find_dispatch(&m, "heping-office");
    ok(pd && strcmp(pd->role, "property") == 0, "feedback: the property company acts");
    ok(od && strcmp(od->role, "owners") == 0, "feedback: the owners' committee is in it");
    ok(id && strcmp(id->role, "informed") == 0, "feedback: the community is informed");

    submit("fb-leak-branch", GL_KIND_FEEDBACK, "leak", "taixi", "taixi-c1", NULL, NULL, &f);
    show("fb-leak-branch", &m);
    ok(find_dispatch(&m, "taixi-branch") && strcmp(find_dispatch(&m, "taixi-branch")->role, "property") == 0,
       "feedback in a compound without property company goes to the party branch");
    submit("fb-leak-custody", GL_KIND_FEEDBACK, "leak", "xijie", "xijie-c1", NULL, NULL, &f);
    show("fb-leak-custody", &m);
    ok(find_dispatch(&m, "custodian-south") != NULL,
       "feedback in a custodial compound goes to the custodian");

    /* unknown location → triage, never dropped */
    is_int(submit("req-lost-1", GL_KIND_REQUEST, "repair", NULL, NULL, "nowhere-g9", NULL, &f), 0,
           "a request for an unknown grid is filed");
    check_route("req-lost-1", (const char *[]){"county-triage"}, (const char *[]){"triage"}, 1,
                "unknown grid");
    show("req-lost-1", &m);
    ok(has_history(&m, "filed", NULL), "its history says it was filed");
    submit("alert-lost-1", GL_KIND_ALERT, "gas", NULL, NULL, NULL, NULL, &f);
    check_route("alert-lost-1", (const char *[]){"county-triage", "county-coordinators"},
                (const char *[]){"triage", "coordinator"}, 2, "alert without location");

    /* bad input: unknown category */
    int rc = submit("req-bad-cat", GL_KIND_REQUEST, "teleport", "heping", NULL, "heping-g1", NULL, &f);
    is_int(rc, GL_EBADFIELD, "an unknown category is refused as bad_field");
    ok(strstr(client_reason(terminal), "teleport") != NULL, "the reason names it: %s",
       client_reason(terminal));
    is_int(show("req-bad-cat", &m), GL_ENOTFOUND, "and nothing was stored");

    /* lifecycle: ack, accept, resolve — with history */
    client_result r;
    is_int(client_act(responder, PROTO_ACK, "req-repair-1", "heping-g1-team", "李娜", NULL, &r), 0,
           "the grid team acknowledges");
    is_str(gl_dispatch_state_name(r.state), "acked", "dispatch is acked");
    is_int(client_act(responder, PROTO_ACK, "req-repair-1", "heping-g1-team", "李娜", NULL, &r), 0,
           "a repeated ack is harmless");
    is_int(client_act(responder, PROTO_ACCEPT, "req-repair-1", "heping-g1-team", "李娜", NULL, &r), 0,
           "the grid team accepts");
    is_str(gl_event_state_name(r.event_state), "accepted", "event is accepted");
    is_int(client_act(responder, PROTO_RESOLVE, "req-repair-1", "heping-g1-team", "李娜", "灯已更换", &r), 0,
           "the grid team resolves with a note");
    is_str(gl_event_state_name(r.event_state), "resolved", "event is resolved");
    show("req-repair-1", &m);
    is_str(gl_event_state_name(m.ev.state), "resolved", "the stored event is resolved");
    is_str(m.ev.team, "heping-g1-team", "by the grid team");
    ok(has_history(&m, "acked", "team:heping-g1-team/李娜") && has_history(&m, "accepted", NULL) &&
           has_history(&m, "resolved", NULL),
       "history has acked (who: the member), accepted and resolved");
    size_t nhist = m.nhistory;
    client_act(responder, PROTO_ACK, "req-repair-1", "heping-g1-team", "李娜", NULL, &r);
    show("req-repair-1", &m);
    is_int(m.nhistory, nhist, "an ack after resolution adds no history");

    /* refusals */
    is_int(client_act(responder, PROTO_ACCEPT, "req-repair-1", "heping-g2-team", NULL, NULL, &r),
           GL_ENOTYOURS, "a team it was not dispatched to cannot act on it");
    is_int(client_act(responder, PROTO_ACK, "no-such-event", "heping-g1-team", NULL, NULL, &r),
           GL_ENOTFOUND, "acting on an unknown event is not_found");

    /* claim race: two squads accept the same micro-wish at once */
    client *other = NULL;
    client_open(&other, env.responders, &o, NULL, 0);
    client_listener *redvest_l = NULL, *party_l = NULL;
    client_listen_open(&redvest_l, env.responders, "sq-heping-redvest-team", "红马甲 张敏", &o, NULL, 0);
    client_listen_open(&party_l, env.responders, "sq-heping-party-team", "党员 刘伟", &o, NULL, 0);
    int wins = 0, taken = 0;
    client_result r1, r2;
    int rc1 = client_act(responder, PROTO_ACCEPT, "req-wish-1", "sq-heping-redvest-team", "张敏", NULL, &r1);
    int rc2 = client_act(other, PROTO_ACCEPT, "req-wish-1", "sq-heping-party-team", "刘伟", NULL, &r2);
    wins = (rc1 == 0) + (rc2 == 0);
    taken = (rc1 == GL_ETAKEN) + (rc2 == GL_ETAKEN);
    ok(wins == 1 && taken == 1, "claim race: one squad wins, the other is told it is taken");
    show("req-wish-1", &m);
    is_str(m.ev.team, rc1 == 0 ? "sq-heping-redvest-team" : "sq-heping-party-team",
           "the stored event names the winner");
    const gl_dispatch *loser = find_dispatch(&m, rc1 == 0 ? "sq-heping-party-team" : "sq-heping-redvest-team");
    ok(loser && loser->state == GL_DS_TAKEN, "the loser's dispatch is marked taken");
    ok(wait_for(rc1 == 0 ? party_l : redvest_l, PROTO_NOTICE, "req-wish-1", "taken", 5000),
       "the losing squad's listener is told it is taken");
    ok(wait_for(grid_l, PROTO_NOTICE, "req-wish-1", "taken", 5000),
       "the grid team is told too");

    /* decline → the next candidate */
    submit("req-dispute-1", GL_KIND_REQUEST, "dispute", "heping", NULL, "heping-g2", NULL, &f);
    is_int(client_act(responder, PROTO_DECLINE, "req-dispute-1", "heping-g2-team", NULL, "不属于本网格", &r),
           0, "the grid team declines with a reason");
    show("req-dispute-1", &m);
    const gl_dispatch *dd = find_dispatch(&m, "heping-g2-team");
    ok(dd && dd->state == GL_DS_DECLINED && dd->note && strcmp(dd->note, "不属于本网格") == 0,
       "the decline and its reason are stored");
    ok(find_dispatch(&m, "heping-office") && find_dispatch(&m, "heping-office")->state == GL_DS_PENDING,
       "the event was re-dispatched to the community office");
    ok(has_history(&m, "declined", NULL) && has_history(&m, "redispatched", NULL),
       "history names the decline and the re-dispatch");
    is_int(client_act(responder, PROTO_DECLINE, "req-dispute-1", "heping-office", NULL, "转县里", &r), 0,
           "the community office declines too");
    show("req-dispute-1", &m);
    ok(find_dispatch(&m, "county-triage") != NULL, "then it goes to county triage");

    /* a team that connects later gets what is pending, first */
    submit("req-later-1", GL_KIND_REQUEST, "eldercare", "mingzhu", NULL, "mingzhu-g1", NULL, &f);
    client_listener *late = NULL;
    client_listen_open(&late, env.responders, "mingzhu-g1-team", NULL, &o, NULL, 0);
    ok(wait_for(late, PROTO_DISPATCH, "req-later-1", NULL, 5000),
       "a team connecting after filing receives the pending dispatch");

    client_listen_close(&late);
    client_listen_close(&redvest_l);
    client_listen_close(&party_l);
    client_listen_close(&grid_l);
    client_listen_close(&coord_l);
    client_close(&other);
    client_close(&terminal);
    client_close(&responder);
    arena_free(&arena);
    return done_testing();
}
