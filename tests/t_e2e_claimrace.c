/* End to end: a truly concurrent claim race, twenty times.
 *
 * A micro-wish in heping-g1 goes to heping-g1-team (grid) and to the
 * community's two service squads (claim). For each of 20 such requests three
 * child processes — one per team, each with its own connection, already
 * connected — wait on a shared barrier (a pipe the parent closes) and then
 * ACCEPT at the same moment; two workers take the jobs, so the accepts meet
 * in the shared store. Exactly one must win, the others be told "taken", and
 * the stored event must name the winner. Then a few rounds where two members
 * of the same team race a third team: the team either wins for both its
 * members (a repeated act is the same act) or loses for both. */
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 20
#define TEAM_ROUNDS 5
#define RACERS 3

static tl_env env;
static gl_arena arena;

typedef struct racer {
    const char *team;
    const char *member;
    int cmd; /* PROTO_ACCEPT or PROTO_RESOLVE (which implies the accept) */
} racer;

typedef struct outcome {
    int index;
    int rc;
} outcome;

/* The child: connect, prove the connection with a PING, say ready, wait at
 * the barrier, act once, report. Never returns. */
static void race_child(int index, const racer *r, const char *event, int ready_fd,
                       int barrier_fd, int result_fd)
{
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 3000;
    o.retries = 3;
    client *c = NULL;
    outcome out = {index, GL_EINTERNAL};
    if (client_open(&c, env.responders, &o, NULL, 0) != 0 || client_ping(c) != 0)
        _exit(2);
    char one = 'r';
    if (write(ready_fd, &one, 1) != 1)
        _exit(2);
    char buf;
    ssize_t n;
    while ((n = read(barrier_fd, &buf, 1)) < 0 && errno == EINTR)
        ;
    client_result res;
    out.rc = client_act(c, r->cmd, event, r->team, r->member, NULL, &res);
    if (write(result_fd, &out, sizeof out) != (ssize_t)sizeof out)
        _exit(2);
    client_close(&c);
    _exit(0);
}

/* Runs one race of n racers on event; fills rcs[i] (GL_EINTERNAL when a
 * child never reported). Returns 0, or -1 when the children did not all get
 * ready (the race did not happen). */
static int race(const racer *racers, int n, const char *event, int *rcs)
{
    int ready[2], barrier[2], results[2];
    if (pipe(ready) != 0 || pipe(barrier) != 0 || pipe(results) != 0) {
        printf("Bail out! pipe: %s\n", strerror(errno));
        exit(1);
    }
    pid_t pids[RACERS];
    for (int i = 0; i < n; i++) {
        rcs[i] = GL_EINTERNAL;
        fflush(stdout);
        pids[i] = fork();
        if (pids[i] == 0) {
            close(ready[0]);
            close(barrier[1]);
            close(results[0]);
            race_child(i, &racers[i], event, ready[1], barrier[0], results[1]);
        }
    }
    close(ready[1]);
    close(barrier[0]);
    close(results[1]);
    int got_ready = 0;
    for (int waited = 0; got_ready < n && waited < 5000;) {
        struct pollfd p = {ready[0], POLLIN, 0};
        if (poll(&p, 1, 100) == 1) {
            char c;
            if (read(ready[0], &c, 1) == 1)
                got_ready++;
            else
                break; /* every child closed it: some died */
        } else
            waited += 100;
    }
    close(barrier[1]); /* all blocked readers see EOF at once: go */
    int reported = 0;
    for (int waited = 0; reported < n && waited < 10000;) {
        struct pollfd p = {results[0], POLLIN, 0};
        if (poll(&p, 1, 100) == 1) {
            outcome o;
            if (read(results[0], &o, sizeof o) != (ssize_t)sizeof o)
                break;
            if (o.index >= 0 && o.index < n)
                rcs[o.index] = o.rc;
            reported++;
        } else
            waited += 100;
    }
    for (int i = 0; i < n; i++) {
        int status;
        if (waitpid(pids[i], &status, WNOHANG) != pids[i]) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], &status, 0);
        }
    }
    close(ready[0]);
    close(results[0]);
    return got_ready == n ? 0 : -1;
}

static const gl_dispatch *find_dispatch(const proto_msg *m, const char *team)
{
    for (size_t i = 0; i < m->ndispatches; i++)
        if (strcmp(m->dispatches[i].team, team) == 0)
            return &m->dispatches[i];
    return NULL;
}

static int count_history(const proto_msg *m, const char *what)
{
    int n = 0;
    for (size_t i = 0; i < m->nhistory; i++)
        n += strcmp(m->history[i].what, what) == 0;
    return n;
}

int main(void)
{
    tl_setup(&env, "claimrace");
    tl_broker(&env, NULL);
    pid_t w1 = tl_worker(&env, "w1", NULL);
    pid_t w2 = tl_worker(&env, "w2", NULL);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    tl_sleep_ms(300); /* both workers READY, so the accepts can meet in two processes */
    client *terminal = NULL;
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 3000;
    client_open(&terminal, env.intake, &o, NULL, 0);

    racer teams[RACERS] = {
        {"sq-heping-redvest-team", "红马甲 张敏", PROTO_ACCEPT},
        {"sq-heping-party-team", "党员 刘伟", PROTO_ACCEPT},
        {"heping-g1-team", "网格员 李娜", PROTO_ACCEPT},
    };

    /* Rounds of three teams. */
    int raced = 0, one_winner = 0, others_taken = 0, stored_winner = 0, losers_marked = 0,
        one_accept = 0, wins[RACERS] = {0};
    for (int round = 0; round < ROUNDS; round++) {
        char id[32];
        snprintf(id, sizeof id, "race-%02d", round);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "micro-wish",
                       .community = "heping", .grid = "heping-g1",
                       .text = "微心愿：帮独居老人买药", .terminal = "heping-desk"};
        client_filed f;
        if (client_submit(terminal, &ev, &f) != 0) {
            diag("round %d: submit failed: %s", round, client_reason(terminal));
            continue;
        }
        /* Every fourth round one squad resolves at once (an implied accept). */
        racer rs[RACERS];
        memcpy(rs, teams, sizeof rs);
        if (round % 4 == 3)
            rs[round % RACERS].cmd = PROTO_RESOLVE;
        int rcs[RACERS];
        if (race(rs, RACERS, id, rcs) != 0) {
            diag("round %d: not every racer got ready", round);
            continue;
        }
        raced++;
        int winner = -1, nwin = 0, ntaken = 0;
        for (int i = 0; i < RACERS; i++) {
            if (rcs[i] == 0) {
                nwin++;
                winner = i;
            } else if (rcs[i] == GL_ETAKEN)
                ntaken++;
        }
        if (nwin != 1 || ntaken != RACERS - 1)
            diag("round %d: results %s / %s / %s", round, gl_errname(rcs[0]),
                 gl_errname(rcs[1]), gl_errname(rcs[2]));
        one_winner += nwin == 1;
        others_taken += ntaken == RACERS - 1;
        if (nwin != 1)
            continue;
        wins[winner]++;
        proto_msg m;
        arena_reset(&arena);
        if (client_show(terminal, id, &m, &arena) != 0)
            continue;
        int want_state = rs[winner].cmd == PROTO_RESOLVE ? GL_EV_RESOLVED : GL_EV_ACCEPTED;
        if (m.ev.team && strcmp(m.ev.team, rs[winner].team) == 0 && m.ev.state == want_state)
            stored_winner++;
        else
            diag("round %d: stored team %s state %s, winner %s", round,
                 m.ev.team ? m.ev.team : "(none)", gl_event_state_name(m.ev.state),
                 rs[winner].team);
        int marked = 1;
        for (int i = 0; i < RACERS; i++) {
            const gl_dispatch *d = find_dispatch(&m, rs[i].team);
            if (i != winner)
                marked &= d && d->state == GL_DS_TAKEN;
        }
        losers_marked += marked;
        int accepts = count_history(&m, "accepted") + count_history(&m, "resolved");
        one_accept += accepts == 1;
    }
    is_int(raced, ROUNDS, "%d races ran, three processes released together each time", ROUNDS);
    is_int(one_winner, raced, "every race had exactly one winner");
    is_int(others_taken, raced, "and the two others were told GL_ETAKEN");
    is_int(stored_winner, raced, "the stored event names the winner (accepted, or resolved)");
    is_int(losers_marked, raced, "the losers' dispatches are marked taken");
    is_int(one_accept, raced, "history has one accept (or resolve) per event");
    diag("wins: redvest %d, party %d, grid %d", wins[0], wins[1], wins[2]);

    /* Two members of one team against another team. */
    racer pair[RACERS] = {
        {"sq-heping-redvest-team", "红马甲 张敏", PROTO_ACCEPT},
        {"sq-heping-redvest-team", "红马甲 马丽", PROTO_ACCEPT},
        {"sq-heping-party-team", "党员 刘伟", PROTO_ACCEPT},
    };
    int consistent = 0, team_raced = 0;
    for (int round = 0; round < TEAM_ROUNDS; round++) {
        char id[32];
        snprintf(id, sizeof id, "race-team-%02d", round);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "service-order",
                       .community = "heping", .grid = "heping-g1", .text = "订单式服务：修水管"};
        client_filed f;
        int rcs[RACERS];
        if (client_submit(terminal, &ev, &f) != 0 || race(pair, RACERS, id, rcs) != 0)
            continue;
        team_raced++;
        proto_msg m;
        arena_reset(&arena);
        int shown = client_show(terminal, id, &m, &arena) == 0;
        int pair_won = rcs[0] == 0 && rcs[1] == 0 && rcs[2] == GL_ETAKEN;
        int pair_lost = rcs[0] == GL_ETAKEN && rcs[1] == GL_ETAKEN && rcs[2] == 0;
        const char *want = pair_won ? pair[0].team : pair[2].team;
        if ((pair_won || pair_lost) && shown && m.ev.team && strcmp(m.ev.team, want) == 0 &&
            count_history(&m, "accepted") == 1)
            consistent++;
        else
            diag("team round %d: %s / %s / %s, stored team %s", round, gl_errname(rcs[0]),
                 gl_errname(rcs[1]), gl_errname(rcs[2]), shown && m.ev.team ? m.ev.team : "-");
    }
    is_int(team_raced, TEAM_ROUNDS, "%d races of two members of one team against another team",
           TEAM_ROUNDS);
    is_int(consistent, team_raced,
           "each time the team won for both its members or lost for both, one accept stored");

    ok(tl_alive(w1) && tl_alive(w2), "both workers are running");
    client_close(&terminal);
    arena_free(&arena);
    return done_testing();
}
