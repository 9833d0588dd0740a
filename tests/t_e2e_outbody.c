/* End to end: the DISPATCH bodies a worker makes after its commit
 * (workers/outbody.c). A terminal keeps many SUBMITs in flight, so the
 * worker files them in batches of several events, and makes all of a
 * batch's DISPATCH and FILED bodies once the batch is committed. What the
 * teams and the terminal notice: each DISPATCH carries its own event (the
 * id, the text, the seq its terminal was told, the category and place),
 * never a neighbour's from the same batch; the grid team sees the
 * reporter's contact and the owners' committee does not; every FILED
 * names its own event; and a repeated SUBMIT in a later batch is answered
 * with the first seq. */
#include "support/raw.h"
#include "support/workflow.h"

#include <stdio.h>

#define EVENTS 60
#define GRID_TEAM "heping-g1-team"
#define OWNERS "oc-heping-c1-team"

static void submit(void *sock, int i)
{
    char id[32], text[64], contact[32];
    snprintf(id, sizeof id, "ob-%02d", i);
    snprintf(text, sizeof text, "第 %d 件：楼道灯坏了", i);
    snprintf(contact, sizeof contact, "139-0000-%04d", i);
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SUBMIT;
    m.rid = (uint64_t)i + 1;
    m.ev.id = id;
    m.ev.text = text;
    m.ev.contact = contact;
    m.ev.terminal = WF_TERMINAL;
    m.ev.community = "heping";
    if (i % 2) {
        m.ev.kind = GL_KIND_FEEDBACK;
        m.ev.category = "leak";
        m.ev.compound = "heping-c1";
    } else {
        m.ev.kind = GL_KIND_REQUEST;
        m.ev.category = "repair";
        m.ev.grid = "heping-g1";
    }
    if (frame_send_msg(sock, NULL, 0, &m, 0) != 0)
        diag("could not send SUBMIT %s", id);
}

/* What the test expects of event i's DISPATCH to team (its seq, filed). */
static int dispatch_right(const proto_msg *m, const uint64_t *seqs, int *event)
{
    int i = -1;
    if (!m->event || sscanf(m->event, "ob-%d", &i) != 1 || i < 0 || i >= EVENTS)
        return 0;
    *event = i;
    char text[64], contact[32];
    snprintf(text, sizeof text, "第 %d 件：楼道灯坏了", i);
    snprintf(contact, sizeof contact, "139-0000-%04d", i);
    int owners = i % 2;
    const char *category = owners ? "leak" : "repair";
    int right = m->ev.id && strcmp(m->ev.id, m->event) == 0 && m->ev.text &&
                strcmp(m->ev.text, text) == 0 && m->ev.seq == seqs[i] && m->ev.category &&
                strcmp(m->ev.category, category) == 0 && m->ev.community &&
                strcmp(m->ev.community, "heping") == 0 &&
                (owners ? !m->ev.contact : m->ev.contact && strcmp(m->ev.contact, contact) == 0);
    if (!right)
        diag("DISPATCH of %s: id %s, text %s, seq %llu (filed %llu), category %s, contact %s",
             m->event, wf_str(m->ev.id), wf_str(m->ev.text), (unsigned long long)m->ev.seq,
             (unsigned long long)seqs[i], wf_str(m->ev.category), wf_str(m->ev.contact));
    return right;
}

int main(void)
{
    tl_setup(&wf_env, "outbody");
    if (wf_start(1, NULL) != 0) {
        printf("Bail out! the service did not come up\n");
        return 1;
    }
    client_listener *grid = NULL, *owners = NULL;
    char err[256] = "";
    ok(client_listen_open(&grid, wf_env.responders, GRID_TEAM, "网格员 钱静", &wf_opts, err,
                          sizeof err) == 0 &&
           client_listen_open(&owners, wf_env.responders, OWNERS, "业委会主任 崔金山",
                              &wf_opts, err, sizeof err) == 0,
       "the grid team and the owners' committee listen (%s)", err);

    /* All in flight at once: the worker takes them in batches. */
    void *ctx = zmq_ctx_new();
    void *raw = raw_open(ctx, wf_env.intake);
    for (int i = 0; i < EVENTS; i++)
        submit(raw, i);
    gl_arena arena;
    memset(&arena, 0, sizeof arena);
    uint64_t seqs[EVENTS] = {0};
    int filed = 0, wrong_filed = 0;
    uint64_t until = clock_mono_ms() + 15000;
    while (filed + wrong_filed < EVENTS && clock_mono_ms() < until) {
        proto_msg m;
        int cmd = raw_recv(raw, 500, &m, &arena);
        if (cmd == PROTO_NONE)
            continue;
        int i = (int)m.rid - 1;
        char id[32];
        snprintf(id, sizeof id, "ob-%02d", i);
        if (cmd == PROTO_FILED && i >= 0 && i < EVENTS && !seqs[i] && m.ev.id &&
            strcmp(m.ev.id, id) == 0 && m.ev.seq && !m.duplicate) {
            seqs[i] = m.ev.seq;
            filed++;
        } else {
            wrong_filed++;
            diag("reply %s to rid %llu: %s", proto_cmd_name(cmd), (unsigned long long)m.rid,
                 wf_str(m.ev.id));
        }
    }
    is_int(filed, EVENTS, "every SUBMIT is answered FILED with its own id");

    int heard[EVENTS] = {0}, wrong = 0, foreign = 0;
    int expected = EVENTS, got = 0;
    until = clock_mono_ms() + 15000;
    while (got < expected && clock_mono_ms() < until) {
        client_listener *ls[2] = {grid, owners};
        for (int k = 0; k < 2; k++) {
            proto_msg m;
            if (!ls[k] || client_listen_next(ls[k], 50, &m, &arena) != 0 ||
                m.cmd != PROTO_DISPATCH)
                continue;
            int i = -1;
            if (!dispatch_right(&m, seqs, &i)) {
                wrong++;
                continue;
            }
            /* requests go to the grid team, feedback to the owners */
            if ((i % 2) != k) {
                foreign++;
                continue;
            }
            if (!heard[i]++)
                got++;
        }
    }
    is_int(got, expected, "each event's DISPATCH reaches its team");
    is_int(wrong, 0, "every DISPATCH carries its own event as filed: id, text, seq, category, "
                     "place; the contact to the grid team only");
    is_int(foreign, 0, "and goes to no team of the other kind");

    /* A repeat in a later batch: the first answer. */
    client_filed f;
    gl_event again = {.id = "ob-07", .kind = GL_KIND_FEEDBACK, .category = "leak",
                      .community = "heping", .compound = "heping-c1", .terminal = WF_TERMINAL,
                      .text = "第 7 件：楼道灯坏了"};
    is_int(client_submit(wf_terminal, &again, &f), 0, "a repeated SUBMIT is answered");
    ok(f.duplicate && f.seq == seqs[7], "FILED, duplicate, with the first seq (%llu)",
       (unsigned long long)seqs[7]);

    client_listen_close(&grid);
    client_listen_close(&owners);
    zmq_close(raw);
    zmq_ctx_term(ctx);
    arena_free(&arena);
    return wf_finish();
}
