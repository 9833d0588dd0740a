/* End to end under fire: 10,000 mixed events from five terminals while a
 * worker is killed with SIGKILL twice and the broker once (each restarted).
 * Afterwards every event a terminal was told is filed is in the store exactly
 * once under the seq it was told, every dispatch to a listening team
 * reached that team, and the store passes fsck (a tenth of the events are
 * claimable requests, so the claim board is checked too). Two of the teams
 * ACK what they receive, so acknowledgements are written (and cut short) as
 * well.
 *
 * `make crashtest` runs the same program with GRIDLINE_CRASH_CYCLES=N: then
 * the terminals push until told to stop while a random process (broker or
 * either worker) is SIGKILLed at a random moment N times, each restarted. */
#include "../common/store.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TERMINALS 5
#define PER_TERMINAL 2000
#define TOTAL (TERMINALS * PER_TERMINAL)

static tl_env env;
static long crash_cycles; /* 0: the three planned kills of make check */
static char stop_path[400];
#define CRASH_CAP 100000 /* events per terminal at most, in crash mode */
static const char *const listened[] = {
    "heping-g1-team", "heping-g2-team", "heping-g3-team", "county-coordinators",
    "heping-duty", "pc-anhe-team", "oc-heping-c1-team", "heping-office",
};
#define NLISTENED ((int)(sizeof listened / sizeof listened[0]))

static const char *const broker_extra[] = {"--heartbeat-ms", "200", NULL};
/* With the data file written ahead (store_grow.h), so a kill may land
 * while zeros are written or flushed. */
static const char *const worker_extra[] = {"--heartbeat-ms", "200", "--retry-ms", "1500",
                                           "--retry-max-ms", "3000", "--grow-ahead-mb", "8",
                                           NULL};

static void path_of(char *out, size_t len, const char *what, const char *name)
{
    snprintf(out, len, "%s/%s-%s.txt", env.dir, what, name);
}

/* acks: the listened teams that ACK every DISPATCH (a grid team, and the
 * coordinators, whose ACK of an alert goes through the alert lane). */
static int acks(const char *team)
{
    return strcmp(team, "heping-g1-team") == 0 || strcmp(team, "county-coordinators") == 0;
}

static void run_listener(const char *team)
{
    char path[400];
    path_of(path, sizeof path, "recv", team);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 500;
    o.retries = 100;
    o.heartbeat_ms = 200;
    client_listener *l = NULL;
    if (client_listen_open(&l, env.responders, team, "chaos", &o, NULL, 0) != 0)
        _exit(1);
    gl_arena a = {0};
    for (;;) {
        proto_msg m;
        arena_reset(&a);
        if (client_listen_next(l, 1000, &m, &a) == 0 && m.cmd == PROTO_DISPATCH) {
            char line[128];
            int n = snprintf(line, sizeof line, "%s\n", m.event);
            if (write(fd, line, (size_t)n) != n)
                _exit(1);
            /* Some teams acknowledge what they receive, as responders do,
             * so that ACKs are committed (and killed) too; an ACK that
             * fails while a process is down is not sent again. */
            if (acks(team)) {
                client_result r;
                client_listen_act(l, PROTO_ACK, m.event, NULL, &r);
            }
        }
    }
}

static void run_terminal(int k)
{
    char path[400], name[16];
    snprintf(name, sizeof name, "%d", k);
    path_of(path, sizeof path, "filed", name);
    FILE *out = fopen(path, "w");
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = 800;
    o.retries = 40;
    o.busy_retries = 200;
    client *c = NULL;
    if (!out || client_open(&c, env.intake, &o, NULL, 0) != 0)
        _exit(1);
    setvbuf(out, NULL, _IOLBF, 0);
    static const char *const grids[] = {"heping-g1", "heping-g2", "heping-g3"};
    int failures = 0;
    int limit = crash_cycles ? CRASH_CAP : PER_TERMINAL;
    for (int i = 0; i < limit && !(crash_cycles && access(stop_path, F_OK) == 0); i++) {
        char id[64];
        snprintf(id, sizeof id, "chaos-%d-%05d", k, i);
        gl_event ev = {.id = id, .community = "heping", .text = "压力测试事件",
                       .terminal = "heping-desk"};
        int r = i % 10;
        if (r == 0) {
            ev.kind = GL_KIND_ALERT;
            ev.category = "medical";
            ev.grid = "heping-g1";
        } else if (r <= 2) {
            ev.kind = GL_KIND_FEEDBACK;
            ev.category = "elevator";
            ev.compound = "heping-c1";
        } else {
            /* One in ten a claimable request: on the claim board, its
             * entry staged and settled like the pending index's. */
            ev.kind = GL_KIND_REQUEST;
            ev.category = r == 9 ? "micro-wish" : "repair";
            ev.grid = grids[i % 3];
        }
        client_filed f;
        if (client_submit(c, &ev, &f) == 0)
            fprintf(out, "%s %llu\n", id, (unsigned long long)f.seq);
        else
            failures++;
    }
    fclose(out);
    client_close(&c);
    _exit(failures ? 2 : 0);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static int filed_so_far(void)
{
    int n = 0;
    for (int k = 0; k < TERMINALS; k++) {
        char path[400], name[16];
        snprintf(name, sizeof name, "%d", k);
        path_of(path, sizeof path, "filed", name);
        n += count_lines(path);
    }
    return n;
}

/* Set of event ids received by one team. */
static int received(const char *team, const char *id)
{
    char path[400], line[128];
    path_of(path, sizeof path, "recv", team);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        found = strcmp(line, id) == 0;
    }
    fclose(f);
    return found;
}

typedef struct expect {
    char id[64];
    char team[GL_MAX_ID + 1];
} expect;

typedef struct expect_ctx {
    expect *list;
    size_t n, cap;
} expect_ctx;

static int collect_expected(void *ctx, const gl_dispatch *d)
{
    expect_ctx *e = ctx;
    for (int i = 0; i < NLISTENED; i++)
        if (strcmp(d->team, listened[i]) == 0 && e->n < e->cap) {
            snprintf(e->list[e->n].id, sizeof e->list[e->n].id, "%s", d->event);
            snprintf(e->list[e->n].team, sizeof e->list[e->n].team, "%s", d->team);
            e->n++;
        }
    return 0;
}

/* Crash mode: kill a random process at a random moment, again and again. */
/* board_differs compares heping's claim board with the claimable requests
 * still open among the seqs filed (open[0..n), increasing): 0 when it
 * lists exactly those, in order. */
static int board_differs(store_txn *t, const uint64_t *open, size_t n)
{
    uint64_t *listed = calloc(n + 1, sizeof *listed);
    size_t got = 0;
    int rc = listed ? store_board_list(t, "heping", listed, n + 1, &got) : -1;
    int differ = rc != 0 || got != n || (n && memcmp(listed, open, n * sizeof *open) != 0);
    if (differ)
        diag("the board lists %zu, %zu claimable requests are open (rc %d)", got, n, rc);
    free(listed);
    return differ;
}

static int seq_order(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int random_kills(pid_t *broker, pid_t *w1, pid_t *w2)
{
    int kills = 0;
    srand(4242);
    for (long c = 0; c < crash_cycles; c++) {
        tl_sleep_ms(100 + rand() % 300);
        switch (rand() % 3) {
        case 0:
            tl_kill9(*broker);
            *broker = tl_broker(&env, broker_extra);
            break;
        case 1:
            tl_kill9(*w1);
            *w1 = tl_worker(&env, "w1", worker_extra);
            break;
        default:
            tl_kill9(*w2);
            *w2 = tl_worker(&env, "w2", worker_extra);
            break;
        }
        kills++;
        if (kills % 20 == 0)
            diag("%d kills, %d events filed so far", kills, filed_so_far());
    }
    FILE *f = fopen(stop_path, "w");
    if (f)
        fclose(f);
    return kills;
}

int main(void)
{
    tl_setup(&env, "chaos");
    const char *cycles = getenv("GRIDLINE_CRASH_CYCLES");
    crash_cycles = cycles ? strtol(cycles, NULL, 10) : 0;
    snprintf(stop_path, sizeof stop_path, "%s/stop", env.dir);
    pid_t broker = tl_broker(&env, broker_extra);
    pid_t w1 = tl_worker(&env, "w1", worker_extra);
    pid_t w2 = tl_worker(&env, "w2", worker_extra);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! service did not come up\n");
        return 1;
    }
    pid_t listeners[NLISTENED], terminals[TERMINALS];
    for (int i = 0; i < NLISTENED; i++) {
        fflush(stdout);
        if ((listeners[i] = fork()) == 0)
            run_listener(listened[i]);
    }
    tl_sleep_ms(300);
    for (int k = 0; k < TERMINALS; k++) {
        fflush(stdout);
        if ((terminals[k] = fork()) == 0)
            run_terminal(k);
    }

    int kills = 0, step = 0;
    if (crash_cycles) {
        kills = random_kills(&broker, &w1, &w2);
        is_int(kills, crash_cycles, "%d random SIGKILLs of the broker and the workers, mid-load",
               kills);
        goto wait_terminals;
    }
    /* Kill as the load progresses, so each kill lands mid-stream. */
    struct {
        int at;
        const char *what;
    } plan[] = {{TOTAL / 5, "worker w1"}, {TOTAL / 2, "the broker"}, {TOTAL * 7 / 10, "worker w2"}};
    for (int waited = 0; waited < 120000 && step < 3; waited += 10) {
        if (filed_so_far() >= plan[step].at) {
            if (step == 0) {
                tl_kill9(w1);
                w1 = tl_worker(&env, "w1", worker_extra);
            } else if (step == 1) {
                tl_kill9(broker);
                broker = tl_broker(&env, broker_extra);
            } else {
                tl_kill9(w2);
                w2 = tl_worker(&env, "w2", worker_extra);
            }
            diag("killed %s with SIGKILL after %d events filed, restarted it", plan[step].what,
                 filed_so_far());
            kills++;
            step++;
        }
        tl_sleep_ms(10);
    }
    is_int(kills, 3, "a worker was killed twice and the broker once, mid-load");
wait_terminals:;

    int clean = 1;
    for (int k = 0; k < TERMINALS; k++) {
        int status = -1;
        for (int waited = 0; waited < 180000; waited += 20) {
            if (waitpid(terminals[k], &status, WNOHANG) == terminals[k])
                break;
            tl_sleep_ms(20);
        }
        clean &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    ok(clean, "every terminal was told 'filed' for all its events (retrying with the same ids)");
    int total = crash_cycles ? filed_so_far() : TOTAL;
    if (crash_cycles)
        ok(total > 0, "%d events filed through the kills", total);
    else
        is_int(total, TOTAL, "%d events filed", TOTAL);

    /* Every filed event, exactly once, under the seq the terminal was told. */
    store *st = NULL;
    store_txn *t = NULL;
    if (store_open(env.store, NULL, &st) != 0 || store_begin(st, 0, &t) != 0) {
        printf("Bail out! cannot open the store\n");
        return 1;
    }
    int matched = 0, mismatched = 0;
    expect_ctx e = {calloc((size_t)total * 4, sizeof(expect)), 0, (size_t)total * 4};
    uint64_t *claimable = calloc((size_t)total + 1, sizeof *claimable);
    size_t nclaimable = 0;
    gl_arena arena = {0};
    for (int k = 0; k < TERMINALS; k++) {
        char path[400], name[16], line[128];
        snprintf(name, sizeof name, "%d", k);
        path_of(path, sizeof path, "filed", name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            char id[64];
            unsigned long long told;
            uint64_t seq;
            if (sscanf(line, "%63s %llu", id, &told) != 2)
                continue;
            if (store_event_find(t, id, &seq) == 0 && seq == told) {
                matched++;
                store_dispatch_list(t, seq, collect_expected, &e);
                gl_event ev;
                arena_reset(&arena);
                if (claimable && store_event_get(t, seq, &ev, &arena) == 0 &&
                    strcmp(ev.category, "micro-wish") == 0 && ev.state == GL_EV_DISPATCHED)
                    claimable[nclaimable++] = seq;
            } else
                mismatched++;
        }
        if (f)
            fclose(f);
    }
    store_stats stats;
    store_get_stats(t, &stats);
    is_int(matched, total, "every filed event is in the store under the seq its terminal was told");
    is_int(mismatched, 0, "no filed event is missing or under another seq");
    is_int(stats.events, total, "the store holds exactly %d events: no second record for any id", total);
    if (claimable)
        qsort(claimable, nclaimable, sizeof *claimable, seq_order);
    ok(claimable && nclaimable > 0 && !board_differs(t, claimable, nclaimable),
       "the claim board lists exactly the %zu claimable requests still open, in order",
       nclaimable);
    free(claimable);
    arena_free(&arena);
    store_abort(&t);
    store_fsck_report fr;
    int frc = store_fsck(st, &fr);
    for (int i = 0; i < fr.nfirst; i++)
        diag("fsck: %s", fr.first[i]);
    ok(frc == 0 && fr.problems == 0, "the store passes fsck after the kills: %llu events, "
       "%llu dispatches, %llu history entries, %llu problems", (unsigned long long)fr.events,
       (unsigned long long)fr.dispatches, (unsigned long long)fr.history,
       (unsigned long long)fr.problems);
    store_close(&st);

    /* Every dispatch to a listening team arrived (resent after the kills
     * where a delivery was lost). */
    size_t missing = 0;
    for (int waited = 0; waited <= 20000; waited += 500) {
        missing = 0;
        for (size_t i = 0; i < e.n; i++)
            if (!received(e.list[i].team, e.list[i].id))
                missing++;
        if (missing == 0)
            break;
        tl_sleep_ms(500);
    }
    ok(e.n > (size_t)total, "%zu dispatches went to the listening teams", e.n);
    is_int(missing, 0, "every one of them arrived at its team");
    ok(tl_alive(broker) && tl_alive(w1) && tl_alive(w2), "the restarted broker and workers are running");

    for (int i = 0; i < NLISTENED; i++) {
        kill(listeners[i], SIGKILL);
        waitpid(listeners[i], NULL, 0);
    }
    free(e.list);
    return done_testing();
}
