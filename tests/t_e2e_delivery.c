/* End to end: delivery of dispatches to responders.
 *
 * (a) A dispatch nobody acknowledges is sent again after the retry interval,
 *     with attempts 2, 3, ...; once acknowledged it is not sent again, and
 *     SHOW says acked with the attempts it took.
 * (b) Every connected member of a team receives the team's dispatch.
 * (c) A member that leaves (client_listen_close) or dies (a listener process
 *     killed with SIGKILL) is forgotten after the liveness interval, and the
 *     team's dispatches still reach the members that remain.
 * (d) A team that says HELLO gets its pending dispatches resent at once
 *     (PRESENCE), not only when the retry timer (here: one minute) fires:
 *     also when it connected while no worker was running (after a restart,
 *     say) and a worker comes later; and also when 90 teams connect at once
 *     while the worker is busy. */
#include "../common/clock.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define HEARTBEAT_MS 200
#define LIVENESS 3
#define RETRY_MAX_MS 600

static tl_env env;
static gl_arena arena;
static client *terminal;
static client_opts lopts;

static const char *const broker_extra[] = {"--heartbeat-ms", "200", "--liveness", "3", NULL};
static const char *const worker_extra[] = {"--heartbeat-ms", "200", "--retry-ms", "300",
                                           "--retry-max-ms", "600", NULL};

static int submit(const char *id, const char *community, const char *grid, client_filed *f)
{
    gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair",
                   .community = community, .grid = grid, .text = "楼道灯坏了",
                   .contact = "139-0000-0000"};
    return client_submit(terminal, &ev, f);
}

/* A listening member and the DISPATCHes it has received. Every wait below
 * services all the members it is given, so that each keeps its heartbeats
 * going: a member left unread for 3 heartbeat intervals would be dropped by
 * the broker. */
#define MAX_SEEN 64
typedef struct member {
    client_listener *l;
    char event[MAX_SEEN][GL_MAX_ID + 1];
    int attempts[MAX_SEEN];
    int n;
    proto_msg first;     /* the first DISPATCH received, strings in arena */
} member;

static int member_open(member *mb, const char *team, const char *name)
{
    memset(mb, 0, sizeof *mb);
    char err[200] = "";
    if (client_listen_open(&mb->l, env.responders, team, name, &lopts, err, sizeof err) != 0) {
        diag("listener %s/%s: %s", team, name, err);
        return 0;
    }
    return 1;
}

/* Reads what arrives for each member during ms (at least one round). */
static void pump(member *mbs, int n, int ms)
{
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    do {
        for (int i = 0; i < n; i++) {
            proto_msg m;
            if (!mbs[i].l)
                continue;
            if (client_listen_next(mbs[i].l, 10, &m, &arena) == 0 && m.cmd == PROTO_DISPATCH &&
                m.event && mbs[i].n < MAX_SEEN) {
                if (mbs[i].n == 0)
                    mbs[i].first = m;
                snprintf(mbs[i].event[mbs[i].n], GL_MAX_ID + 1, "%s", m.event);
                mbs[i].attempts[mbs[i].n++] = m.attempts ? (int)m.attempts : 1;
            }
        }
    } while (clock_mono_ms() < until);
}

/* The highest attempts of event id that mb received (0: none). */
static int seen(const member *mb, const char *id)
{
    int top = 0;
    for (int i = 0; i < mb->n; i++)
        if (strcmp(mb->event[i], id) == 0 && mb->attempts[i] > top)
            top = mb->attempts[i];
    return top;
}

/* Copies of event id that mb received with attempts > above. */
static int copies_above(const member *mb, const char *id, int above)
{
    int n = 0;
    for (int i = 0; i < mb->n; i++)
        n += strcmp(mb->event[i], id) == 0 && mb->attempts[i] > above;
    return n;
}

/* Pumps until every member in mbs[0..n) has received event id with attempts
 * >= min, or ms passed; returns how many have. */
static int wait_all(member *mbs, int n, const char *id, int min, int ms)
{
    int have = 0;
    for (int waited = 0; waited <= ms; waited += 50) {
        have = 0;
        for (int i = 0; i < n; i++)
            have += seen(&mbs[i], id) >= min;
        if (have == n)
            break;
        pump(mbs, n, 50);
    }
    return have;
}

static const gl_dispatch *find_dispatch(const proto_msg *m, const char *team)
{
    for (size_t i = 0; i < m->ndispatches; i++)
        if (strcmp(m->dispatches[i].team, team) == 0)
            return &m->dispatches[i];
    return NULL;
}

/* 1 when a broker log has a line containing a and b. */
static int broker_log_has(const char *a, const char *b)
{
    DIR *d = opendir(env.dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "gridline-broker.", 16) != 0)
            continue;
        char path[600], line[1024];
        snprintf(path, sizeof path, "%s/%s", env.dir, e->d_name);
        FILE *f = fopen(path, "r");
        while (f && !found && fgets(line, sizeof line, f))
            found = strstr(line, a) && strstr(line, b);
        if (f)
            fclose(f);
    }
    closedir(d);
    return found;
}

/* --- (a) resend until acknowledged --- */

static void part_resend(void)
{
    const char *team = "mingzhu-g1-team";
    member mb;
    ok(member_open(&mb, team, "网格员 王芳"), "a member of %s is listening", team);
    client_filed f;
    is_int(submit("dl-resend-1", "mingzhu", "mingzhu-g1", &f), 0, "a request for mingzhu-g1 is filed");

    is_int(wait_all(&mb, 1, "dl-resend-1", 1, 3000), 1, "the team receives its DISPATCH");
    const proto_msg *m1 = &mb.first;
    ok(mb.n > 0 && m1->attempts == 1 && m1->ev.seq == f.seq && m1->role &&
           strcmp(m1->role, "grid") == 0 && m1->state == GL_DS_PENDING && m1->ev.text &&
           strcmp(m1->ev.text, "楼道灯坏了") == 0,
       "as a pending grid dispatch with attempts 1, carrying the event (seq %llu)",
       (unsigned long long)f.seq);

    /* Nobody acknowledges: it comes again, attempts 2, then 3. */
    is_int(wait_all(&mb, 1, "dl-resend-1", 2, 4 * RETRY_MAX_MS), 1,
           "unacknowledged, it is sent again with attempts 2");
    is_int(wait_all(&mb, 1, "dl-resend-1", 3, 4 * RETRY_MAX_MS), 1, "and again with attempts 3");

    client_result r;
    is_int(client_listen_act(mb.l, PROTO_ACK, "dl-resend-1", NULL, &r), 0, "the member ACKs it");
    is_str(gl_dispatch_state_name(r.state), "acked", "the dispatch is acked");
    proto_msg m;
    is_int(client_show(terminal, "dl-resend-1", &m, &arena), 0, "SHOW answers");
    const gl_dispatch *d = find_dispatch(&m, team);
    int attempts = d ? (int)d->attempts : 0;
    ok(d && d->state == GL_DS_ACKED && attempts >= 3,
       "SHOW: the dispatch is acked after %d attempts", attempts);

    /* A copy sent before the ACK may still be on its way; a copy with more
     * attempts than the store counted at the ACK would be a resend after it. */
    int before = mb.n;
    pump(&mb, 1, 4 * RETRY_MAX_MS);
    is_int(copies_above(&mb, "dl-resend-1", attempts), 0,
           "no new copy in %d ms (4 retry intervals) after the ACK", 4 * RETRY_MAX_MS);
    ok(mb.n - before <= 1, "at most one copy that was already on its way (%d)", mb.n - before);
    is_int(client_show(terminal, "dl-resend-1", &m, &arena), 0, "SHOW again");
    d = find_dispatch(&m, team);
    ok(d && d->state == GL_DS_ACKED && (int)d->attempts == attempts && d->next_retry_ms == 0,
       "still acked, attempts unchanged (%u), no retry scheduled", d ? d->attempts : 0);
    int acked = 0;
    for (size_t i = 0; i < m.nhistory; i++)
        acked += strcmp(m.history[i].what, "acked") == 0 && m.history[i].who &&
                 strcmp(m.history[i].who, "team:mingzhu-g1-team/网格员 王芳") == 0;
    is_int(acked, 1, "history has one 'acked' by the member");
    client_listen_close(&mb.l);
}

/* --- (b) every member of a team --- */

static void part_members(void)
{
    const char *team = "xinshiji-g1-team";
    const char *names[3] = {"网格员 赵强", "社区民警 孙丽", "消防员 周杰"};
    member mbs[3];
    int open = 0;
    for (int i = 0; i < 3; i++)
        open += member_open(&mbs[i], team, names[i]);
    is_int(open, 3, "three members of %s are listening", team);
    client_filed f;
    is_int(submit("dl-members-1", "xinshiji", "xinshiji-g1", &f), 0,
           "a request for their grid is filed");
    is_int(wait_all(mbs, 3, "dl-members-1", 1, 3000), 3, "the one dispatch reached all three members");
    is_int(wait_all(mbs, 3, "dl-members-1", 2, 4 * RETRY_MAX_MS), 3, "so did its resend");
    client_result r;
    is_int(client_listen_act(mbs[1].l, PROTO_ACCEPT, "dl-members-1", NULL, &r), 0,
           "one member accepts for the team");
    proto_msg m;
    client_show(terminal, "dl-members-1", &m, &arena);
    is_str(m.ev.team, team, "the event is the team's");
    for (int i = 0; i < 3; i++)
        client_listen_close(&mbs[i].l);
}

/* --- (c) members that leave or die --- */

static void run_listener(const char *team, const char *name, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    client_listener *l = NULL;
    if (fd < 0 || client_listen_open(&l, env.responders, team, name, &lopts, NULL, 0) != 0)
        _exit(1);
    if (write(fd, "welcome\n", 8) != 8)
        _exit(1);
    gl_arena a = {0};
    for (int i = 0; i < 600; i++) { /* at most a minute; the test kills it sooner */
        proto_msg m;
        arena_reset(&a);
        if (client_listen_next(l, 100, &m, &a) == 0 && m.cmd == PROTO_DISPATCH) {
            char line[128];
            int n = snprintf(line, sizeof line, "%s\n", m.event);
            if (write(fd, line, (size_t)n) != n)
                _exit(1);
        }
    }
    _exit(0);
}

static int file_has_line(const char *path, const char *want)
{
    FILE *f = fopen(path, "r");
    char line[128];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        found = strcmp(line, want) == 0;
    }
    if (f)
        fclose(f);
    return found;
}

static int wait_file_line(const char *path, const char *want, int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        if (file_has_line(path, want))
            return 1;
        tl_sleep_ms(50);
    }
    return 0;
}

static void part_leaving(void)
{
    const char *team = "heping-g3-team";
    char path[400];
    snprintf(path, sizeof path, "%s/recv-child.txt", env.dir);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        run_listener(team, "child-member", path);
    ok(wait_file_line(path, "welcome", 5000), "a listener process joined %s as child-member", team);
    enum { CLOSING, STAYING };
    member mbs[2];
    ok(member_open(&mbs[CLOSING], team, "closing-member") &&
           member_open(&mbs[STAYING], team, "staying-member"),
       "two more members joined in this process");

    client_filed f;
    is_int(submit("dl-leave-1", "heping", "heping-g3", &f), 0, "a request for heping-g3 is filed");
    is_int(wait_all(mbs, 2, "dl-leave-1", 1, 3000), 2, "both members in this process received it");
    ok(wait_file_line(path, "dl-leave-1", 3000), "so did the listener process");
    client_listen_act(mbs[STAYING].l, PROTO_ACK, "dl-leave-1", NULL, NULL);

    /* One member leaves politely, the other process dies. */
    client_listen_close(&mbs[CLOSING].l);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    is_int(submit("dl-leave-2", "heping", "heping-g3", &f), 0,
           "a request filed right after they left");
    is_int(wait_all(&mbs[STAYING], 1, "dl-leave-2", 1, 3000), 1,
           "reaches the remaining member at once, before the dead one is forgotten");
    client_listen_act(mbs[STAYING].l, PROTO_ACK, "dl-leave-2", NULL, NULL);

    /* After the liveness interval the broker forgets them; the remaining
     * member keeps its heartbeats going meanwhile. */
    int forgot_dead = 0, forgot_closed = 0;
    for (int waited = 0; waited < 10 * HEARTBEAT_MS * LIVENESS && !(forgot_dead && forgot_closed);
         waited += 100) {
        pump(&mbs[STAYING], 1, 100);
        forgot_dead = broker_log_has("heping-g3-team/child-member", "left");
        forgot_closed = broker_log_has("heping-g3-team/closing-member", "left");
    }
    ok(forgot_dead, "the broker log says the killed member left (its heartbeats stopped)");
    ok(forgot_closed, "and that the closed member left");
    ok(!broker_log_has("heping-g3-team/staying-member", "left"),
       "the remaining member, which kept its heartbeats, was not dropped");

    is_int(submit("dl-leave-3", "heping", "heping-g3", &f), 0,
           "a request filed after they were forgotten");
    is_int(wait_all(&mbs[STAYING], 1, "dl-leave-3", 1, 3000), 1, "reaches the remaining member");
    client_listen_act(mbs[STAYING].l, PROTO_ACK, "dl-leave-3", NULL, NULL);

    /* A newcomer gets what is still pending for the team, and new work. */
    is_int(submit("dl-leave-4", "heping", "heping-g3", &f), 0, "one more request, not acknowledged");
    member late[2];
    late[0] = mbs[STAYING];
    ok(member_open(&late[1], team, "new-member"), "a new member joins");
    is_int(wait_all(late, 2, "dl-leave-4", 1, 3000), 2,
           "the remaining member and the newcomer both receive the pending dispatch");
    client_listen_close(&late[1].l);
    client_listen_close(&late[0].l);
}

/* --- (d) pending dispatches resent when a team says HELLO --- */

/* The grid teams of the demo county, then its community offices: n ids
 * into teams (strings in arena), and for each the community and grid (NULL
 * for an office) an event needs to reach it. */
static int county_teams(const char **teams, const char **communities, const char **grids,
                        int n)
{
    const char *data = getenv("GRIDLINE_DATA");
    char path[600];
    snprintf(path, sizeof path, "%s/demo-county.json", data ? data : "data");
    json_t *root = json_load_file(path, 0, NULL);
    json_t *cs = json_object_get(root, "communities");
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < json_array_size(cs) && k < n; i++) {
            json_t *c = json_array_get(cs, i);
            const char *cid = json_string_value(json_object_get(c, "id"));
            if (pass == 1) {
                teams[k] = arena_strdup(&arena, json_string_value(json_object_get(c, "office")));
                communities[k] = arena_strdup(&arena, cid);
                grids[k++] = NULL;
                continue;
            }
            json_t *gs = json_object_get(c, "grids");
            for (size_t g = 0; g < json_array_size(gs) && k < n; g++) {
                json_t *grid = json_array_get(gs, g);
                teams[k] = arena_strdup(&arena, json_string_value(json_object_get(grid, "team")));
                communities[k] = arena_strdup(&arena, cid);
                grids[k++] = arena_strdup(&arena, json_string_value(json_object_get(grid, "id")));
            }
        }
    json_decref(root);
    return k;
}

/* Waits (at most 5 s) until the broker has logged worker name as lost. */
static int wait_worker_lost(const char *name)
{
    char what[80];
    snprintf(what, sizeof what, "worker %s lost", name);
    for (int waited = 0; waited < 5000; waited += 50) {
        if (broker_log_has(what, ""))
            return 1;
        tl_sleep_ms(50);
    }
    return 0;
}

#define MAX_TEAMS 90

/* Workers whose retry timer (a minute) cannot hide a missing PRESENCE resend. */
static const char *const long_retry[] = {"--heartbeat-ms", "200", "--retry-ms", "60000",
                                         "--retry-max-ms", "60000", NULL};

/* Takes what has arrived for each of n members without waiting (which also
 * keeps their heartbeats going); returns how many have received the event
 * "dl-TAG-NN" addressed to them (NN: their index). */
static int collect_pending(member *mbs, int n, const char *tag)
{
    int have = 0;
    for (int i = 0; i < n; i++) {
        proto_msg m;
        while (mbs[i].l && client_listen_next(mbs[i].l, 0, &m, &arena) == 0 &&
               m.cmd == PROTO_DISPATCH && mbs[i].n < MAX_SEEN) {
            snprintf(mbs[i].event[mbs[i].n], GL_MAX_ID + 1, "%s", m.event);
            mbs[i].attempts[mbs[i].n++] = 1;
        }
        char id[40];
        snprintf(id, sizeof id, "dl-%s-%02d", tag, i);
        have += seen(&mbs[i], id) > 0;
    }
    return have;
}

/* Files "dl-TAG-NN" for each of the n teams (nobody of them listening). */
static int file_for_teams(int n, const char *tag, const char **communities, const char **grids)
{
    int filed = 0;
    for (int i = 0; i < n; i++) {
        char id[40];
        snprintf(id, sizeof id, "dl-%s-%02d", tag, i);
        client_filed f;
        filed += submit(id, communities[i], grids[i], &f) == 0;
    }
    return filed;
}

/* One round: n teams each get a request while nobody listens; the only
 * worker stops; the teams connect; a worker starts. Returns how many teams
 * received their pending dispatch within 2 s. */
static int presence_round(int n, const char *tag, int *wno)
{
    static const char *teams[MAX_TEAMS], *communities[MAX_TEAMS], *grids[MAX_TEAMS];
    n = county_teams(teams, communities, grids, n);
    char name[16];
    snprintf(name, sizeof name, "w%d", ++*wno);
    pid_t w = tl_worker(&env, name, long_retry);
    if (tl_wait_workers(&env, 10000) != 0)
        return -1;
    if (file_for_teams(n, tag, communities, grids) != n)
        diag("not every request was filed");
    tl_stop(w);
    if (!wait_worker_lost(name))
        diag("the broker did not log %s as lost", name);

    /* The teams connect while no worker is there. */
    static member mbs[MAX_TEAMS];
    void *ctx = zmq_ctx_new();
    client_opts o = lopts;
    o.zmq_ctx = ctx;
    int open = 0;
    for (int i = 0; i < n; i++) {
        memset(&mbs[i], 0, sizeof mbs[i]);
        open += client_listen_open(&mbs[i].l, env.responders, teams[i], "值班", &o, NULL, 0) == 0;
    }
    if (open != n)
        diag("only %d of %d listeners connected", open, n);
    snprintf(name, sizeof name, "w%d", ++*wno);
    w = tl_worker(&env, name, long_retry);
    int have = 0;
    for (int waited = 0; waited < 2000 && have < n; waited += 100) {
        have = collect_pending(mbs, n, tag);
        tl_sleep_ms(100);
    }
    for (int i = 0; i < n; i++) {
        char id[40];
        snprintf(id, sizeof id, "dl-%s-%02d", tag, i);
        if (!seen(&mbs[i], id))
            diag("  %s did not receive %s", teams[i], id);
        client_listen_close(&mbs[i].l);
    }
    zmq_ctx_term(ctx);
    tl_stop(w);
    return have;
}

/* Many teams say HELLO while the only worker is busy (frozen for a moment
 * here, as in a long batch; the broker's liveness is long enough that it is
 * not declared gone): their PRESENCE messages queue up and the worker reads
 * them all at once. Returns how many teams received their pending dispatch
 * within 2 s. */
static int presence_burst(int n, const char *tag)
{
    static const char *teams[MAX_TEAMS], *communities[MAX_TEAMS], *grids[MAX_TEAMS];
    n = county_teams(teams, communities, grids, n);
    pid_t w = tl_worker(&env, "w-burst", long_retry);
    if (tl_wait_workers(&env, 10000) != 0)
        return -1;
    if (file_for_teams(n, tag, communities, grids) != n)
        diag("not every request was filed");
    tl_sleep_ms(300); /* idle */
    static member mbs[MAX_TEAMS];
    void *ctx = zmq_ctx_new();
    client_opts o = lopts;
    o.zmq_ctx = ctx;
    kill(w, SIGSTOP);
    int open = 0;
    for (int i = 0; i < n; i++) {
        memset(&mbs[i], 0, sizeof mbs[i]);
        open += client_listen_open(&mbs[i].l, env.responders, teams[i], "值班", &o, NULL, 0) == 0;
    }
    kill(w, SIGCONT);
    if (open != n)
        diag("only %d of %d listeners connected", open, n);
    int have = 0;
    for (int waited = 0; waited < 2000 && have < n; waited += 100) {
        have = collect_pending(mbs, n, tag);
        tl_sleep_ms(100);
    }
    int missing = 0;
    for (int i = 0; i < n; i++) {
        char id[40];
        snprintf(id, sizeof id, "dl-%s-%02d", tag, i);
        if (!seen(&mbs[i], id) && missing++ < 5)
            diag("  %s did not receive %s", teams[i], id);
        client_listen_close(&mbs[i].l);
    }
    zmq_ctx_term(ctx);
    tl_stop(w);
    return have;
}

static void part_presence(pid_t *b, pid_t *w1, pid_t *w2)
{
    /* The short-retry workers would resend everything within a second and
     * hide what is tested: replace them by workers with a one-minute retry. */
    tl_stop(*w1);
    tl_stop(*w2);
    *w1 = *w2 = 0;
    wait_worker_lost("w1");
    wait_worker_lost("w2");
    int wno = 2, few = 16;
    is_int(presence_round(few, "few", &wno), few,
           "%d teams that connected while no worker ran all get their pending dispatch "
           "when a worker starts", few);

    /* A broker whose liveness outlasts a worker's short freeze. */
    tl_stop(*b);
    const char *const patient[] = {"--heartbeat-ms", "200", "--liveness", "25", NULL};
    *b = tl_broker(&env, patient);
    int many = 90;
    is_int(presence_burst(many, "burst"), many,
           "%d teams that connected at once while the worker was busy all get their pending "
           "dispatch", many);
}

int main(void)
{
    tl_setup(&env, "delivery");
    pid_t b = tl_broker(&env, broker_extra);
    pid_t w1 = tl_worker(&env, "w1", worker_extra);
    pid_t w2 = tl_worker(&env, "w2", worker_extra);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! broker and workers did not come up\n");
        return 1;
    }
    client_opts_init(&lopts);
    lopts.timeout_ms = 2000;
    lopts.heartbeat_ms = HEARTBEAT_MS;
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 3000;
    client_open(&terminal, env.intake, &o, NULL, 0);

    part_resend();
    part_members();
    part_leaving();
    ok(tl_alive(w1) && tl_alive(w2), "both workers are running");
    part_presence(&b, &w1, &w2);

    client_close(&terminal);
    arena_free(&arena);
    return done_testing();
}
