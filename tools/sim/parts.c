/* parts.c — one simulated terminal, and one process of simulated responders. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/clock.h"
#include "../../proto/client.h"

typedef struct sample {
    const char *category, *text;
} sample;

static const sample requests[] = {
    {"repair", "3号楼2单元楼道灯不亮，老人晚上出门不方便"},
    {"repair", "小区北门下水道堵塞，污水外溢"},
    {"dispute", "楼上装修噪音扰民，双方协商未果，请求调解"},
    {"dispute", "邻里因停车位发生争执，请网格员协调"},
    {"eldercare", "独居老人王奶奶需要每周两次上门送餐"},
    {"paperwork", "需要开具居住证明，腿脚不便无法到社区"},
    {"micro-wish", "微心愿：希望有人陪读小学三年级的孙子功课"},
    {"micro-wish", "微心愿：想要一台收音机听秦腔"},
    {"service-order", "订单式服务：为小区老人集中理发"},
    {"daily-help", "帮忙代买降压药，子女在外地"},
};
static const sample feedbacks[] = {
    {"elevator", "5号楼电梯停运两天，无人维修"},
    {"leak", "顶楼漏水，雨天屋内滴水"},
    {"parking", "消防通道被私家车长期占用"},
    {"cleaning", "垃圾清运不及时，楼下堆积有异味"},
    {"fees", "物业费收费标准不公示"},
    {"property-staff", "门岗夜间无人值守"},
};
static const sample alerts[] = {
    {"fire", "楼道电动车充电起火，有烟雾"},
    {"medical", "居民突发胸痛，需要急救"},
    {"gas", "厨房闻到浓烈燃气味"},
    {"flood", "地下车库进水，水位上涨"},
    {"security", "小区内有可疑人员撬门"},
};

#define PICK(arr) (&(arr)[(size_t)rand() % (sizeof(arr) / sizeof((arr)[0]))])

int sim_terminal(const sim_config *cfg, const sim_county *c, sim_counters *k, int index)
{
    srand((unsigned)(cfg->seed * 7919 + index));
    client_opts o;
    client_opts_init(&o);
    o.stop = &sim_stop; /* Ctrl-C interrupts a call that is waiting or retrying */
    client *cl = NULL;
    if (client_open(&cl, cfg->intake, &o, NULL, 0) != 0)
        return 1;
    double per_second = (double)cfg->rate / (double)cfg->terminals;
    uint64_t interval_us = (uint64_t)(1e6 / per_second);
    uint64_t next = clock_mono_us();
    /* The requests and feedback this terminal filed, to follow up on. */
    enum { FOLLOW = 256 };
    static char follow[FOLLOW][GL_MAX_ID + 1];
    size_t nfollow = 0, turn = 0;
    gl_arena a = {0};
    while (!sim_stop) {
        uint64_t now = clock_mono_us();
        if (now < next) {
            usleep((useconds_t)(next - now));
            continue;
        }
        next += interval_us;
        gl_event ev;
        memset(&ev, 0, sizeof ev);
        char contact[32];
        snprintf(contact, sizeof contact, "139%08d", rand() % 100000000);
        ev.contact = contact;
        int r = rand() % 100, slot;
        const sim_place *p;
        const sample *s;
        if (r < 70) {
            p = &c->grids[(size_t)rand() % c->ngrids];
            s = PICK(requests);
            ev.kind = GL_KIND_REQUEST;
            ev.community = p->community;
            ev.grid = p->grid;
            slot = 0;
        } else if (r < 92) {
            p = &c->compounds[(size_t)rand() % c->ncompounds];
            s = PICK(feedbacks);
            ev.kind = GL_KIND_FEEDBACK;
            ev.community = p->community;
            ev.compound = p->compound;
            slot = 2;
        } else {
            ev.kind = GL_KIND_ALERT;
            slot = 1;
            if (c->ncallboxes && rand() % 2) {
                /* the one-button call box: nothing but its own id */
                ev.terminal = c->callboxes[(size_t)rand() % c->ncallboxes].terminal;
                static const sample fall = {"fall", "一键呼叫：老人跌倒，呼叫求助"};
                s = &fall;
                ev.urgency = "Immediate";
                ev.severity = "Severe";
                ev.certainty = "Observed";
            } else {
                p = &c->grids[(size_t)rand() % c->ngrids];
                s = PICK(alerts);
                ev.community = p->community;
                ev.grid = p->grid;
                ev.urgency = "Immediate";
                ev.severity = "Severe";
                ev.certainty = "Likely";
            }
        }
        ev.category = s->category;
        ev.text = s->text;
        client_filed f;
        int rc = client_submit(cl, &ev, &f);
        if (rc == 0 && slot != 1)
            snprintf(follow[nfollow++ % FOLLOW], GL_MAX_ID + 1, "%s", f.id);
        /* Every few events, ask what became of an earlier one and, once it
         * is resolved, rate it as the resident would: mostly satisfied,
         * sometimes not (which reopens it to the same team). */
        if (nfollow > FOLLOW / 4 && ++turn % 3 == 0) {
            const char *id = follow[(size_t)rand() % (nfollow < FOLLOW ? nfollow : FOLLOW)];
            proto_msg st;
            arena_reset(&a);
            if (client_track(cl, id, &st, &a) == 0 && st.ev.state == GL_EV_RESOLVED) {
                int happy = rand() % 5 != 0;
                if (client_rate(cl, id, NULL, happy ? "satisfied" : "unsatisfied",
                                happy ? "处理及时，满意" : "问题没有彻底解决", NULL) == 0)
                    SIM_ADD(*(happy ? &k->rated_satisfied : &k->rated_unsatisfied));
            }
        }
        if (rc == 0)
            SIM_ADD(k->filed[slot]);
        else if (rc == GL_EBUSY)
            SIM_ADD(k->busy);
        else
            SIM_ADD(k->errors);
    }
    client_close(&cl);
    arena_free(&a);
    return 0;
}

/* --- responders --- */

typedef struct work {
    char event[65];
    int team;          /* index into the listeners */
    int step;          /* 1: accept (or claim) next, 2: resolve next, 3: owners review */
    int claim;         /* the team is a claim squad: it claims rather than accepts */
    int tries;
    uint64_t due_ms;
} work;

static int acts_on(const char *role)
{
    return strcmp(role, "informed") != 0 && strcmp(role, "coordinator") != 0;
}

static uint64_t think(const sim_config *cfg)
{
    return cfg->work_ms ? (uint64_t)(cfg->work_ms / 2 + rand() % (cfg->work_ms + 1)) : 0;
}

int sim_responders(const sim_config *cfg, const sim_county *c, sim_counters *k, int index)
{
    srand((unsigned)(cfg->seed * 104729 + index));
    size_t nteams = cfg->teams > 0 && (size_t)cfg->teams < c->nteams ? (size_t)cfg->teams : c->nteams;
    size_t mine = 0;
    client_listener **ls = calloc(nteams, sizeof *ls);
    int *team_of = calloc(nteams, sizeof *team_of);
    work *todo = calloc(4096, sizeof *todo);
    size_t ntodo = 0;
    if (!ls || !team_of || !todo)
        return 1;
    client_opts o;
    client_opts_init(&o);
    o.stop = &sim_stop;
    for (size_t i = (size_t)index; i < nteams; i += (size_t)cfg->responder_procs) {
        char member[64];
        snprintf(member, sizeof member, "sim-%d", index);
        if (client_listen_open(&ls[mine], cfg->responders, c->teams[i], member, &o, NULL, 0) == 0)
            team_of[mine++] = (int)i;
    }
    gl_arena a = {0};
    while (!sim_stop) {
        int idle = 1;
        for (size_t i = 0; i < mine && !sim_stop; i++) {
            proto_msg m;
            arena_reset(&a);
            if (client_listen_next(ls[i], 0, &m, &a) != 0 || m.cmd == PROTO_NONE)
                continue;
            idle = 0;
            if (m.cmd == PROTO_NOTICE) {
                if (m.what && strcmp(m.what, "taken") == 0)
                    SIM_ADD(k->taken);
                continue;
            }
            SIM_ADD(k->dispatches);
            if (m.state != GL_DS_PENDING)
                continue;
            if (client_listen_act(ls[i], PROTO_ACK, m.event, NULL, NULL) == 0)
                SIM_ADD(k->acked);
            if (!m.role || !acts_on(m.role) || ntodo == 4096)
                continue;
            int dup = 0;
            for (size_t w = 0; w < ntodo; w++)
                dup |= todo[w].team == (int)i && strcmp(todo[w].event, m.event) == 0;
            if (dup)
                continue;
            work *w = &todo[ntodo++];
            snprintf(w->event, sizeof w->event, "%s", m.event);
            w->team = (int)i;
            w->claim = strcmp(m.role, "claim") == 0;
            w->step = strcmp(m.role, "owners") == 0 ? 3 : 1;
            w->tries = 0;
            /* the owners' committee looks once the property side is done */
            w->due_ms = clock_mono_ms() + think(cfg) * (w->step == 3 ? 3 : 1);
        }
        uint64_t now = clock_mono_ms();
        for (size_t w = 0; w < ntodo;) {
            work *it = &todo[w];
            if (it->due_ms > now) {
                w++;
                continue;
            }
            client_listener *l = ls[it->team];
            int rc, done = 1;
            if (it->step == 3) {
                /* 三方联动: confirm the property company's work, or dispute it */
                int dispute = rand() % 5 == 0;
                rc = client_listen_act(l, dispute ? PROTO_DISPUTE : PROTO_CONFIRM, it->event,
                                       dispute ? "业主反映问题仍未解决" : "业主委员会确认已处理", NULL);
                if (rc == 0)
                    SIM_ADD(*(dispute ? &k->disputed : &k->confirmed));
                else if (rc == GL_EBADSTATE && ++it->tries < 5) {
                    it->due_ms = now + think(cfg) * 2; /* not resolved yet: look again */
                    done = 0;
                }
            } else if (it->step == 1 && rand() % 20 == 0) {
                rc = client_listen_act(l, PROTO_DECLINE, it->event, "不属于本队职责范围", NULL);
                if (rc == 0)
                    SIM_ADD(k->declined);
            } else if (it->step == 1) {
                rc = client_listen_act(l, it->claim ? PROTO_CLAIM : PROTO_ACCEPT, it->event, NULL,
                                       NULL);
                if (rc == 0) {
                    SIM_ADD(k->accepted);
                    if (it->claim)
                        SIM_ADD(k->claimed);
                    it->step = 2;
                    it->due_ms = now + think(cfg);
                    done = 0;
                }
            } else {
                rc = client_listen_act(l, PROTO_RESOLVE, it->event, "已上门处理，居民确认", NULL);
                if (rc == 0)
                    SIM_ADD(k->resolved);
            }
            if (done)
                todo[w] = todo[--ntodo];
            else
                w++;
        }
        if (idle)
            usleep(10 * 1000);
    }
    for (size_t i = 0; i < mine; i++)
        client_listen_close(&ls[i]);
    arena_free(&a);
    free(ls);
    free(team_of);
    free(todo);
    return 0;
}
