/* End to end: authentication and roles (issue 6, point 4). A real broker
 * on tcp://127.0.0.1 (free ports) with CURVE and a keys directory made by
 * `gridline keygen`, a worker that connects with a worker key. Asserted as a
 * user would see it: who gets an answer at all (an unknown key gets none and
 * files nothing), who is told forbidden (a terminal acking, a terminal
 * asking about another's event, team A resolving team B's dispatch, an
 * operator submitting), who sees the reporter's contact, what is stored,
 * that SIGHUP reloads the keys, and that the broker refuses to listen
 * unauthenticated on a non-loopback address. */
#include "../common/keys.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEAM_A "heping-g1-team"
#define TEAM_B "mingzhu-g1-team"
#define CONTACT "139-0951-2046"

static tl_env env;
static char keys_dir[400], other_dir[400], broker_pub[500];
static char intake[64], responders[64], workers[64];
static gl_arena arena;

/* A free TCP port on 127.0.0.1: bind port 0, read it, close. */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* port_bindable: 1 when nobody listens on 127.0.0.1:port (we can bind it). */
static int port_bindable(const char *host, int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int ok_ = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0;
    if (s >= 0)
        close(s);
    return ok_;
}

static int keygen(const char *dir, const char *name, const char *role, const char *scope)
{
    char out[512];
    const char *argv[] = {"gridline", "keygen", name, "--role", role, "--keys", dir,
                          scope ? "--scope" : NULL, scope, NULL};
    return tl_run(&env, "gridline", argv, out, sizeof out, 10000);
}

/* A client on ep as principal name (its .secret in dir); NULL dir: plain. */
static client *open_as(const char *dir, const char *name, const char *ep, int timeout_ms,
                       int retries)
{
    client_opts o;
    client_opts_init(&o);
    o.timeout_ms = timeout_ms;
    o.retries = retries;
    o.busy_retries = 3;
    char err[512] = "", secret[500];
    if (dir) {
        snprintf(secret, sizeof secret, "%s/%s.secret", dir, name);
        if (client_opts_curve(&o, secret, broker_pub, err, sizeof err) != 0) {
            diag("keys of %s: %s", name, err);
            return NULL;
        }
    }
    client *c = NULL;
    if (client_open(&c, ep, &o, err, sizeof err) != 0)
        diag("open %s: %s", ep, err);
    return c;
}

static int submit(client *c, const char *id, const char *terminal, const char *grid,
                  const char *community)
{
    gl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.id = id;
    ev.kind = GL_KIND_REQUEST;
    ev.category = "repair";
    ev.community = community;
    ev.grid = grid;
    ev.terminal = terminal;
    ev.text = "the stairwell light is out";
    ev.contact = CONTACT;
    client_filed f;
    return client_submit(c, &ev, &f);
}

/* show: SHOW id through c; sets *contact to whether the reply carried it and
 * *state to the event's state. Returns the call's result. */
static int show(client *c, const char *id, int *contact, int *state)
{
    proto_msg m;
    int rc = client_show(c, id, &m, &arena);
    if (rc == 0) {
        if (contact)
            *contact = m.ev.contact && strcmp(m.ev.contact, CONTACT) == 0;
        if (state)
            *state = m.ev.state;
    }
    return rc;
}

static void case_refuse_plain_network(void)
{
    int port = free_port();
    char ep[64], out[256];
    snprintf(ep, sizeof ep, "tcp://0.0.0.0:%d", port);
    const char *argv[] = {"gridline-broker", "--intake", ep, "--workers", env.workers,
                          "--responders", env.responders, NULL};
    is_int(tl_run(&env, "gridline-broker", argv, out, sizeof out, 10000), 2,
           "a broker asked to listen plain on 0.0.0.0 refuses to start (exit 2)");
    ok(port_bindable("0.0.0.0", port), "and never bound the port");
    snprintf(ep, sizeof ep, "tcp://*:%d", port);
    is_int(tl_run(&env, "gridline-broker", argv, out, sizeof out, 10000), 2,
           "nor on tcp://*: (every interface)");
    const char *argv2[] = {"gridline-broker", "--intake", intake, "--workers", env.workers,
                           "--responders", env.responders, "--keys", keys_dir, NULL};
    is_int(tl_run(&env, "gridline-broker", argv2, out, sizeof out, 10000), 2,
           "--keys without --curve-secret is refused (exit 2)");
}

int main(void)
{
    tl_setup(&env, "e2e_auth");
    snprintf(keys_dir, sizeof keys_dir, "%s/keys", env.dir);
    snprintf(other_dir, sizeof other_dir, "%s/elsewhere", env.dir);
    snprintf(broker_pub, sizeof broker_pub, "%s/broker.pub", keys_dir);
    snprintf(intake, sizeof intake, "tcp://127.0.0.1:%d", free_port());
    snprintf(responders, sizeof responders, "tcp://127.0.0.1:%d", free_port());
    snprintf(workers, sizeof workers, "tcp://127.0.0.1:%d", free_port());

    /* --- keys made as an administrator would --- */
    int made = keygen(keys_dir, "broker", "broker", NULL) == 0 &&
               keygen(keys_dir, "desk-1", "terminal", "T-1") == 0 &&
               keygen(keys_dir, "desk-2", "terminal", "T-2") == 0 &&
               keygen(keys_dir, "zhang", "member", TEAM_A) == 0 &&
               keygen(keys_dir, "li", "member", TEAM_B) == 0 &&
               keygen(keys_dir, "duty", "operator", NULL) == 0 &&
               keygen(keys_dir, "worker-1", "worker", NULL) == 0 &&
               keygen(other_dir, "intruder", "terminal", "T-1") == 0;
    ok(made, "gridline keygen made the broker's, the terminals', members', operator's, worker's "
       "and an outsider's pairs");
    if (!made)
        return done_testing();
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/desk-1.secret", keys_dir);
    ok(stat(path, &st) == 0 && (st.st_mode & 077) == 0, "a secret file only its owner can read");
    is_int(keygen(keys_dir, "desk-1", "terminal", "T-1"), 2,
           "keygen refuses to overwrite a pair (exit 2)");

    case_refuse_plain_network();

    /* --- the service, with CURVE --- */
    snprintf(path, sizeof path, "%s/broker.secret", keys_dir);
    const char *bargs[] = {"--keys", keys_dir, "--curve-secret", path, "--heartbeat-ms", "500",
                           NULL};
    snprintf(env.intake, sizeof env.intake, "%s", intake);
    snprintf(env.responders, sizeof env.responders, "%s", responders);
    snprintf(env.workers, sizeof env.workers, "%s", workers);
    pid_t broker = tl_broker(&env, bargs);
    char wkey[600];
    snprintf(wkey, sizeof wkey, "%s/worker-1.secret", keys_dir);
    const char *wargs[] = {"--key", wkey, "--server-key", broker_pub, "--heartbeat-ms", "500",
                           NULL};
    tl_worker(&env, "w1", wargs);

    client *desk1 = open_as(keys_dir, "desk-1", intake, 2000, 10);
    int rc = GL_EUNAVAILABLE;
    for (int i = 0; i < 40 && desk1 && (rc = show(desk1, "warm-up", NULL, NULL)) != GL_ENOTFOUND;
         i++)
        tl_sleep_ms(250);
    is_int(rc, GL_ENOTFOUND, "a known terminal reaches a worker over CURVE (SHOW: not found)");
    if (rc != GL_ENOTFOUND) {
        printf("Bail out! the service did not come up\n");
        return 1;
    }

    /* A known terminal files an event. */
    is_int(submit(desk1, "ev-1", "T-1", "heping-g1", "heping"), 0,
           "terminal T-1 files an event with its key");
    int contact = 0, state = 0;
    is_int(show(desk1, "ev-1", &contact, &state), 0, "and can show its own event");
    ok(contact, "with the reporter's contact");

    /* Wrong key: no answer at all, nothing stored. */
    client *intruder = open_as(other_dir, "intruder", intake, 400, 1);
    is_int(submit(intruder, "ev-intruder", "T-1", "heping-g1", "heping"), GL_EUNAVAILABLE,
           "an unknown key gets no answer (the handshake is refused)");
    is_int(show(desk1, "ev-intruder", NULL, NULL), GL_ENOTFOUND, "and nothing was stored");
    client *plain = open_as(NULL, NULL, intake, 400, 1);
    is_int(client_ping(plain), GL_EUNAVAILABLE, "a plain client gets no answer either");
    client *wk = open_as(keys_dir, "worker-1", intake, 400, 1);
    is_int(client_ping(wk), GL_EUNAVAILABLE, "nor a worker key on the intake endpoint");

    /* A terminal files only as itself, and only asks about its own events. */
    is_int(submit(desk1, "ev-spoof", "T-2", "heping-g1", "heping"), GL_EFORBIDDEN,
           "terminal T-1 cannot file as terminal T-2 (forbidden)");
    ok(strstr(client_reason(desk1), "T-1") != NULL, "the reason names the rule: %s",
       client_reason(desk1));
    client *desk2 = open_as(keys_dir, "desk-2", intake, 2000, 5);
    is_int(show(desk2, "ev-1", NULL, NULL), GL_EFORBIDDEN,
           "terminal T-2 asking SHOW of T-1's event is forbidden");
    proto_msg tr;
    is_int(client_track(desk2, "ev-1", &tr, &arena), GL_EFORBIDDEN, "and TRACK too");
    is_int(client_cancel(desk2, "ev-1", "T-2", "not mine", NULL), GL_EFORBIDDEN,
           "and it cannot cancel it");
    is_int(client_cancel(desk2, "ev-1", NULL, "not mine", NULL), GL_EFORBIDDEN,
           "not even without naming a terminal");
    is_int(client_update(desk1, "ev-1", "T-2", "new text", NULL, NULL, NULL, NULL, NULL),
           GL_EFORBIDDEN, "terminal T-1 cannot name another terminal in an UPDATE");
    is_int(client_update(desk1, "ev-1", NULL, "the light on floor 3", NULL, NULL, NULL, NULL,
                         NULL), 0, "but updates its own event");

    /* The CLI with --key and --server-key: push fills in the terminal. */
    char out[512], key1[600];
    snprintf(key1, sizeof key1, "%s/desk-1.secret", keys_dir);
    const char *push[] = {"gridline", "push", "--intake", intake, "--key", key1, "--server-key",
                          broker_pub, "--kind", "request", "--category", "repair", "--grid",
                          "heping-g1", "--text", "a loose handrail", "--id", "ev-cli", NULL};
    is_int(tl_run(&env, "gridline", push, out, sizeof out, 20000), 0,
           "gridline push --key ... --server-key ... files over CURVE");
    proto_msg shown;
    is_int(client_show(desk1, "ev-cli", &shown, &arena), 0, "the event is stored");
    is_str(shown.ev.terminal ? shown.ev.terminal : "(none)", "T-1",
           "as filed by the key's terminal");
    const char *push2[] = {"gridline", "push", "--intake", intake, "--key", key1, "--server-key",
                           broker_pub, "--kind", "request", "--category", "repair", "--grid",
                           "heping-g1", "--text", "x", "--terminal", "T-2", NULL};
    is_int(tl_run(&env, "gridline", push2, out, sizeof out, 20000), 6,
           "gridline push as another terminal exits 6 (forbidden)");
    is_int(client_status(desk1, &tr, &arena), GL_EFORBIDDEN, "a terminal may not read STATUS");

    /* A terminal cannot act as a team. */
    client *desk1r = open_as(keys_dir, "desk-1", responders, 2000, 5);
    is_int(client_act(desk1r, PROTO_ACK, "ev-1", TEAM_A, NULL, NULL, NULL), GL_EFORBIDDEN,
           "a terminal trying ACK is forbidden");

    /* Teams: A listens and gets the dispatch; B cannot touch it. */
    client_opts lo;
    client_opts_init(&lo);
    char secret[600], err[512] = "";
    snprintf(secret, sizeof secret, "%s/zhang.secret", keys_dir);
    client_opts_curve(&lo, secret, broker_pub, err, sizeof err);
    client_listener *spoof = NULL;
    is_int(client_listen_open(&spoof, responders, TEAM_B, "zhang", &lo, err, sizeof err),
           GL_EFORBIDDEN, "a member of team A cannot listen as team B");
    client_listener *la = NULL;
    is_int(client_listen_open(&la, responders, TEAM_A, "zhang", &lo, err, sizeof err), 0,
           "a member of team A listens as team A");
    proto_msg d;
    int got = 0;
    for (int i = 0; i < 20 && la && !got; i++)
        if (client_listen_next(la, 500, &d, &arena) == 0 && d.cmd == PROTO_DISPATCH &&
            d.event && strcmp(d.event, "ev-1") == 0)
            got = 1;
    ok(got, "and receives the dispatch of ev-1");
    ok(got && d.ev.contact && strcmp(d.ev.contact, CONTACT) == 0,
       "with the contact (the grid team must reach the resident)");

    client *li = open_as(keys_dir, "li", responders, 2000, 5);
    is_int(client_act(li, PROTO_RESOLVE, "ev-1", TEAM_A, NULL, "done", NULL), GL_EFORBIDDEN,
           "team B's member cannot resolve team A's dispatch in team A's name");
    is_int(client_act(li, PROTO_ACCEPT, "ev-1", TEAM_B, NULL, NULL, NULL), GL_ENOTYOURS,
           "nor in its own team's name (not_yours)");
    is_int(show(li, "ev-1", &contact, &state), 0, "team B's member may show the event");
    ok(!contact, "but without the reporter's contact");
    client *duty = open_as(keys_dir, "duty", intake, 2000, 5);
    is_int(show(duty, "ev-1", &contact, &state), 0, "the operator shows the event");
    is_str(gl_event_state_name(state), "dispatched", "which is still dispatched: nothing changed");
    ok(contact, "an operator sees the contact");

    is_int(got ? client_listen_act(la, PROTO_ACCEPT, "ev-1", NULL, NULL) : -1, 0,
           "team A accepts its dispatch");
    is_int(got ? client_listen_act(la, PROTO_RESOLVE, "ev-1", "fixed", NULL) : -1, 0,
           "and resolves it");
    client *zhang = open_as(keys_dir, "zhang", responders, 2000, 5);
    is_int(show(zhang, "ev-1", &contact, &state), 0, "team A's member shows the event");
    ok(contact, "with the contact");
    is_str(gl_event_state_name(state), "resolved", "resolved by team A");

    /* Operators read, never write. */
    is_int(submit(duty, "ev-op", "T-1", "heping-g1", "heping"), GL_EFORBIDDEN,
           "the operator cannot SUBMIT");
    is_int(show(desk1, "ev-op", NULL, NULL), GL_ENOTFOUND, "and nothing was filed");
    is_int(client_status(duty, &tr, &arena), 0, "the operator reads STATUS");
    client_list_query lq = {.kind = 0};
    is_int(client_list(duty, &lq, &tr, &arena), 0, "the operator lists events (LIST)");
    ok(tr.nevents >= 1, "and sees the events filed");
    is_int(client_list(desk1, &lq, &tr, &arena), GL_EFORBIDDEN, "a terminal cannot LIST");
    is_int(client_requeue(desk1, "ev-1", NULL, 0, NULL, &tr, &arena), GL_EFORBIDDEN,
           "nor REQUEUE");
    is_int(client_requeue(duty, "ev-1", NULL, 0, NULL, &tr, &arena), GL_EBADSTATE,
           "the operator may REQUEUE (ev-1 has no dead letter: bad_state, not forbidden)");
    client *dutyr = open_as(keys_dir, "duty", responders, 2000, 5);
    is_int(client_act(dutyr, PROTO_ACK, "ev-1", TEAM_A, NULL, NULL, NULL), GL_EFORBIDDEN,
           "the operator cannot act on a dispatch");
    is_int(client_rate(desk1, "ev-1", "T-1", "satisfied", NULL, NULL), 0,
           "the reporting terminal rates the outcome");

    /* SIGHUP: keys added or removed take effect without a restart. */
    client *late = NULL;
    is_int(keygen(keys_dir, "desk-3", "terminal", "T-3"), 0, "a new terminal's pair is made");
    late = open_as(keys_dir, "desk-3", intake, 400, 1);
    is_int(client_ping(late), GL_EUNAVAILABLE, "it is refused until the broker reloads");
    kill(broker, SIGHUP);
    tl_sleep_ms(300);
    client_close(&late);
    late = open_as(keys_dir, "desk-3", intake, 2000, 5);
    is_int(client_ping(late), 0, "after SIGHUP it is admitted");
    snprintf(path, sizeof path, "%s/desk-2.pub", keys_dir);
    unlink(path);
    kill(broker, SIGHUP);
    /* The reload is done when a message of desk-2 is refused (PING too). */
    for (int i = 0; i < 50 && client_ping(desk2) == 0; i++)
        tl_sleep_ms(100);
    is_int(submit(desk2, "ev-2", "T-2", "heping-g1", "heping"), GL_EFORBIDDEN,
           "a removed key is refused from its next message, though still connected");

    ok(tl_alive(broker), "the broker survived all of it");
    client_close(&desk1);
    client_close(&desk2);
    client_close(&desk1r);
    client_close(&intruder);
    client_close(&plain);
    client_close(&wk);
    client_close(&li);
    client_close(&zhang);
    client_close(&duty);
    client_close(&dutyr);
    client_close(&late);
    client_listen_close(&la);
    client_listen_close(&spoof);
    arena_free(&arena);
    return done_testing();
}
