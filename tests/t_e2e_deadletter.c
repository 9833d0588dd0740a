/* End to end: dead letters (issue 5, point 5) with a real broker and a
 * worker whose dispatches are resent every 300 ms and dead-lettered after 3
 * sends (--delivery-limit 3).
 *   - Two requests to a grid team that never acknowledges — the worker
 *     SIGKILLed and restarted three times meanwhile — are each sent exactly
 *     3 times and parked with their reason: `gridline deadletters`, `gridline
 *     show` (state dead, history dead-lettered), the store figures
 *     (dead_letters) and a log line say so;
 *   - they survive a SIGKILL of the worker, and are not resent when the team
 *     comes online;
 *   - `gridline requeue` sends one again with a fresh count: the team
 *     receives it (attempts 1), acknowledges it, and it leaves the dead
 *     letters; requeueing it again is refused;
 *   - `gridline close-dead` closes the other, with a note;
 *   - a team online that never acknowledges reaches the limit as well, and
 *     cancelling the event closes its dead letter;
 *   - an event every candidate declines is parked as unrouted. */
#include "support/workflow.h"

#include <dirent.h>
#include <signal.h>

#define TEAM "mingzhu-g1-team"
#define LIMIT 3

static const char *const worker_extra[] = {"--heartbeat-ms", "200", "--retry-ms", "300",
                                           "--retry-max-ms", "300", "--delivery-limit", "3",
                                           NULL};
static pid_t worker;

static int start(void)
{
    tl_broker(&wf_env, (const char *const[]){"--heartbeat-ms", "200", NULL});
    worker = tl_worker(&wf_env, "w1", worker_extra);
    if (tl_wait_workers(&wf_env, 10000) != 0)
        return -1;
    client_opts_init(&wf_opts);
    wf_opts.timeout_ms = 3000;
    if (client_open(&wf_terminal, wf_env.intake, &wf_opts, NULL, 0) != 0 ||
        client_open(&wf_responder, wf_env.responders, &wf_opts, NULL, 0) != 0)
        return -1;
    return 0;
}

static void restart_worker(void)
{
    tl_kill9(worker);
    worker = tl_worker(&wf_env, "w1", worker_extra);
    tl_wait_workers(&wf_env, 10000);
}

/* The dead letters `gridline deadletters --json` lists: how many, and
 * whether event id is among them (its reason and attempts copied out). */
typedef struct dead_seen {
    int n, has;
    char reason[200], team[GL_MAX_ID + 1];
    long attempts;
} dead_seen;

static int dead_letters(const char *id, dead_seen *s)
{
    memset(s, 0, sizeof *s);
    int status = wf_cli((const char *const[]){"deadletters", "--json", "--all", NULL});
    for (const char *line = wf_out; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        json_t *j = len && line[0] == '{' ? json_loadb(line, len, 0, NULL) : NULL;
        if (j) {
            s->n++;
            const char *ev = json_string_value(json_object_get(j, "event"));
            if (ev && strcmp(ev, id) == 0) {
                s->has = 1;
                snprintf(s->reason, sizeof s->reason, "%s",
                         json_string_value(json_object_get(j, "reason")) ?: "");
                snprintf(s->team, sizeof s->team, "%s",
                         json_string_value(json_object_get(j, "team")) ?: "");
                s->attempts = (long)json_integer_value(json_object_get(j, "attempts"));
            }
            json_decref(j);
        }
        if (!end)
            break;
        line = end + 1;
    }
    return status;
}

static uint64_t store_figure(const char *name)
{
    proto_msg m;
    uint64_t v = UINT64_MAX;
    if (client_status(wf_terminal, &m, &wf_arena) == 0 && m.store_figures)
        wf_figure_u64(m.store_figures, m.store_figures_len, name, &v);
    return v;
}

static int wait_figure(const char *name, uint64_t want, int ms)
{
    uint64_t until = clock_mono_ms() + (uint64_t)ms;
    while (store_figure(name) != want && clock_mono_ms() < until)
        wf_pump(100);
    return store_figure(name) == want;
}

/* Whether a worker's log holds a line with both needles. */
static int logged(const char *a, const char *b)
{
    DIR *d = opendir(wf_env.dir);
    int found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "gridline-worker", 15) != 0)
            continue;
        char path[600], line[1024];
        snprintf(path, sizeof path, "%s/%s", wf_env.dir, e->d_name);
        FILE *f = fopen(path, "r");
        while (f && !found && fgets(line, sizeof line, f))
            found = strstr(line, a) && strstr(line, b);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

static void case_dead_letter(void)
{
    client_filed f;
    ok(wf_submit("dl-a", GL_KIND_REQUEST, "repair", "mingzhu", NULL, "mingzhu-g1", &f) == 0 &&
           wf_submit("dl-b", GL_KIND_REQUEST, "repair", "mingzhu", NULL, "mingzhu-g1", &f) == 0,
       "two requests filed for %s, which nobody answers", TEAM);
    /* A crash loop: the worker is killed between sends, three times. */
    for (int i = 0; i < 3; i++) {
        tl_sleep_ms(350);
        restart_worker();
    }
    dead_seen a, b;
    uint64_t until = clock_mono_ms() + 20000;
    do {
        wf_pump(200);
        dead_letters("dl-a", &a);
        dead_letters("dl-b", &b);
    } while (!(a.has && b.has) && clock_mono_ms() < until);
    ok(a.has && b.has, "both are listed by gridline deadletters after the delivery limit");
    ok(strcmp(a.team, TEAM) == 0 && strstr(a.reason, "not acknowledged after 3 sends") != NULL,
       "with the team and the reason ('%s')", a.reason);
    ok(a.attempts == LIMIT && b.attempts == LIMIT,
       "each was sent exactly %d times, the worker's crashes notwithstanding (%ld, %ld)", LIMIT,
       a.attempts, b.attempts);

    proto_msg m;
    const gl_dispatch *d = wf_show("dl-a", &m) == 0 ? wf_dispatch(&m, TEAM) : NULL;
    ok(d && d->state == GL_DS_DEAD && d->next_retry_ms == 0 && wf_history(&m, "dead-lettered", TEAM),
       "SHOW: the dispatch is dead, no resend scheduled, history dead-lettered");
    int status = wf_cli((const char *const[]){"show", "dl-a", NULL});
    ok(status == 0 && wf_out_has("state dead") && wf_out_has("not acknowledged after 3 sends"),
       "gridline show shows it dead with its reason");
    ok(wait_figure("dead_letters", 2, 5000), "gridline status's store figures: dead_letters 2");
    status = wf_cli((const char *const[]){"status", "--json", NULL});
    ok(status == 0 && wf_out_has("\"dead_letters\":2"), "gridline status --json shows it");
    status = wf_cli((const char *const[]){"status", NULL});
    const char *row = strstr(wf_out, "dead letters");
    ok(status == 0 && row && strtol(row + strlen("dead letters"), NULL, 10) == 2,
       "and gridline status: 'dead letters 2'");
    ok(logged("dead-lettered", "dl-a") && logged("dead-lettered", TEAM),
       "the worker logged a line naming the event and the team");

    /* Survives a SIGKILL; nobody resends it. */
    restart_worker();
    dead_letters("dl-a", &a);
    ok(a.has && a.n == 2, "after a SIGKILL of the worker both are still dead letters");
    int me = wf_listen(TEAM, "网格员 王芳");
    wf_pump(1500);
    ok(me >= 0 && !wf_heard(TEAM, PROTO_DISPATCH, "dl-a", NULL),
       "the team coming online does not get a dead letter resent");

    status = wf_cli((const char *const[]){"requeue", "dl-a", NULL});
    ok(status == 0 && wf_out_has("requeued dl-a team " TEAM ": dispatch pending, attempts 1"),
       "gridline requeue sends it again with a fresh count");
    WF_WAIT_FOR(wf_heard(TEAM, PROTO_DISPATCH, "dl-a", NULL), 5000);
    const wf_msg *got = wf_heard(TEAM, PROTO_DISPATCH, "dl-a", NULL);
    ok(got && got->attempts == 1, "the team receives it (attempts %u)", got ? got->attempts : 0);
    client_result r;
    ok(wf_act(PROTO_ACK, "dl-a", TEAM, NULL, &r) == 0 && r.state == GL_DS_ACKED,
       "and acknowledges it");
    d = wf_show("dl-a", &m) == 0 ? wf_dispatch(&m, TEAM) : NULL;
    ok(d && d->state == GL_DS_ACKED && wf_history(&m, "requeued", TEAM),
       "SHOW: acked, history requeued");
    dead_letters("dl-a", &a);
    ok(!a.has && a.n == 1, "it left the dead letters; the other is still there");
    status = wf_cli((const char *const[]){"requeue", "dl-a", NULL});
    ok(status == 6 && wf_out_has("no dead letter"), "requeueing it again is refused (exit 6)");
    status = wf_cli((const char *const[]){"requeue", "dl-nope", NULL});
    ok(status == 6 && wf_out_has("not_found"), "requeue of an unknown event: not_found, exit 6");

    status = wf_cli((const char *const[]){"close-dead", "dl-b", NULL});
    ok(status == 2 && wf_out_has("--note"), "close-dead needs --note");
    status = wf_cli((const char *const[]){"close-dead", "dl-b", "--note", "grid merged", NULL});
    ok(status == 0 && wf_out_has("closed dl-b team " TEAM ": dispatch cancelled"),
       "gridline close-dead closes it");
    d = wf_show("dl-b", &m) == 0 ? wf_dispatch(&m, TEAM) : NULL;
    ok(d && d->state == GL_DS_CANCELLED && wf_history(&m, "dead letter closed", "grid merged"),
       "SHOW: cancelled, history says who closed it and why");
    ok(wait_figure("dead_letters", 0, 5000), "dead_letters back to 0");
    wf_pump(1000);
    ok(wf_heard_count(TEAM, PROTO_DISPATCH, "dl-b", NULL) == 0, "a closed dead letter is not sent");
}

/* A team online that receives but never acknowledges reaches the limit too;
 * cancelling the event closes its dead letter. */
static void case_cancelled(void)
{
    client_filed f;
    wf_submit("dl-d", GL_KIND_REQUEST, "repair", "mingzhu", NULL, "mingzhu-g1", &f);
    dead_seen d;
    uint64_t until = clock_mono_ms() + 15000;
    do {
        wf_pump(200);
        dead_letters("dl-d", &d);
    } while (!d.has && clock_mono_ms() < until);
    ok(d.has && wf_heard_count(TEAM, PROTO_DISPATCH, "dl-d", NULL) == LIMIT,
       "received %d times but never acknowledged: a dead letter",
       wf_heard_count(TEAM, PROTO_DISPATCH, "dl-d", NULL));
    client_filed c;
    ok(client_cancel(wf_terminal, "dl-d", WF_TERMINAL, "误报", &c) == 0, "its terminal cancels it");
    dead_letters("dl-d", &d);
    proto_msg m;
    const gl_dispatch *x = wf_show("dl-d", &m) == 0 ? wf_dispatch(&m, TEAM) : NULL;
    ok(!d.has && x && x->state == GL_DS_CANCELLED,
       "the dead letter is cancelled with the event");
    int status = wf_cli((const char *const[]){"requeue", "dl-d", NULL});
    ok(status == 6, "requeue of a cancelled event is refused (exit 6)");
}

static void case_unrouted(void)
{
    client_filed f;
    wf_submit("dl-c", GL_KIND_REQUEST, "repair", "xinsheng", NULL, "xinsheng-g2", &f);
    /* Every team it goes to declines: grid team, community office, triage. */
    int declined = 0;
    for (int round = 0; round < 6; round++) {
        proto_msg m;
        if (wf_show("dl-c", &m) != 0)
            break;
        const gl_dispatch *live = NULL;
        for (size_t i = 0; i < m.ndispatches; i++)
            if (m.dispatches[i].state == GL_DS_PENDING)
                live = &m.dispatches[i];
        if (!live)
            break;
        client_result r;
        declined += wf_act(PROTO_DECLINE, "dl-c", live->team, "不归我们管", &r) == 0;
    }
    dead_seen c;
    dead_letters("dl-c", &c);
    ok(declined >= 3 && c.has && strcmp(c.team, "county-triage") == 0 &&
           strstr(c.reason, "unrouted") != NULL,
       "declined by all %d candidates, it is a dead letter on county-triage ('%s')", declined,
       c.reason);
    int status = wf_cli((const char *const[]){"requeue", "dl-c", "--team", "county-triage", NULL});
    ok(status == 0 && wf_out_has("requeued dl-c team county-triage"),
       "requeue --team picks that dead letter and sends it to triage again");
}

int main(void)
{
    tl_setup(&wf_env, "deadletter");
    if (start() != 0) {
        printf("Bail out! broker and worker did not come up\n");
        return 1;
    }
    case_dead_letter();
    case_cancelled();
    case_unrouted();
    return wf_finish();
}
