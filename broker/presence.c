/* presence.c — responders on the responders endpoint: who of each team is
 * connected, their heartbeats, and delivery of dispatches to every member. */
#include "broker.h"
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

static team_members *team_get(broker *b, const char *team, int create)
{
    team_members *t = hmap_get(b->teams, team, strlen(team));
    if (t || !create)
        return t;
    t = calloc(1, sizeof *t);
    if (t && hmap_put(b->teams, team, strlen(team), t) != 0) {
        free(t);
        t = NULL;
    }
    return t;
}

static void responder_unlink(broker *b, responder *r)
{
    team_members *t = team_get(b, r->team, 0);
    if (!t)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        t->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    if (--t->count == 0) {
        hmap_del(b->teams, r->team, strlen(r->team));
        free(t);
    }
}

static void responder_remove(broker *b, responder *r, const char *why)
{
    LOG_I("responder %s/%s left (%s)", r->team, r->member, why);
    responder_unlink(b, r);
    hmap_del(b->responders_by_ident, r->ident, r->ident_len);
    free(r);
}

static void on_hello(broker *b, frame_msg *fm, const proto_msg *m)
{
    size_t len;
    const void *ident = frame_identity(fm, &len);
    if (len > BROKER_IDENT_MAX)
        return;
    responder *r = hmap_get(b->responders_by_ident, ident, len);
    if (r)
        responder_unlink(b, r);
    else {
        r = calloc(1, sizeof *r);
        if (!r || hmap_put(b->responders_by_ident, ident, len, r) != 0) {
            free(r);
            broker_reply_error(b, b->responders, fm, GL_EINTERNAL, "out of memory", NULL, m->rid);
            return;
        }
        memcpy(r->ident, ident, len);
        r->ident_len = len;
    }
    snprintf(r->team, sizeof r->team, "%s", m->team);
    snprintf(r->member, sizeof r->member, "%s", m->member);
    team_members *t = team_get(b, r->team, 1);
    if (!t) {
        hmap_del(b->responders_by_ident, ident, len);
        free(r);
        return;
    }
    r->next = t->head;
    if (t->head)
        t->head->prev = r;
    t->head = r;
    t->count++;
    r->last_heard_ms = r->last_sent_ms = clock_mono_ms();

    proto_msg w;
    memset(&w, 0, sizeof w);
    w.cmd = PROTO_WELCOME;
    w.rid = m->rid;
    w.team = r->team;
    w.member = r->member;
    w.heartbeat_ms = (uint32_t)b->cfg.heartbeat_ms;
    broker_reply(b, b->responders, r->ident, r->ident_len, &w);
    LOG_I("responder %s/%s connected (%zu of the team)", r->team, r->member, t->count);
    /* A worker resends what is pending for the team, oldest first. */
    broker_send_presence(b, r->team, r->member);
}

void broker_on_responder_msg(broker *b, frame_msg *fm)
{
    size_t len;
    const void *ident = frame_identity(fm, &len);
    responder *r = hmap_get(b->responders_by_ident, ident, len);
    if (r)
        r->last_heard_ms = clock_mono_ms();
    switch (fm->cmd) {
    case PROTO_HELLO: case PROTO_HEARTBEAT: case PROTO_BYE: case PROTO_PING: case PROTO_STATUS:
    case PROTO_ACK: case PROTO_ACCEPT: case PROTO_DECLINE: case PROTO_RESOLVE: case PROTO_SHOW:
    case PROTO_CLAIM: case PROTO_RELEASE: case PROTO_RETURN: case PROTO_REDIRECT:
    case PROTO_CONFIRM: case PROTO_DISPUTE: case PROTO_EXTEND: case PROTO_APPROVE:
    case PROTO_MERGE: case PROTO_BOARD:
        break;
    default:
        b->counters.bad_input++;
        broker_reply_error(b, b->responders, fm, GL_EUNKNOWNCMD,
                           "command not accepted on the responders endpoint", NULL, 0);
        return;
    }
    proto_msg m;
    int rc = broker_decode(b, b->responders, fm, &m, "responders");
    if (rc != 0 || broker_auth_allow(b, fm, &m, "responders") != 0)
        return;
    switch (fm->cmd) {
    case PROTO_HELLO:
        on_hello(b, fm, &m);
        return;
    case PROTO_HEARTBEAT:
        if (!r)
            broker_reply_error(b, b->responders, fm, GL_EBADSTATE, "unknown responder: send HELLO",
                               NULL, 0);
        return;
    case PROTO_BYE:
        if (r)
            responder_remove(b, r, "bye");
        return;
    case PROTO_PING:
        broker_pong(b, b->responders, ident, len, m.rid);
        return;
    case PROTO_STATUS:
        broker_on_status(b, b->responders, ident, len, m.rid);
        return;
    case PROTO_SHOW:
    case PROTO_BOARD:
        /* A query is routine work, bounded like the rest of it. */
        if (broker_routine_full(b)) {
            broker_reply_busy(b, b->responders, ident, len, m.ev.id, m.rid);
            return;
        }
        rc = broker_enqueue(b, ORIGIN_RESPONDERS, LANE_ROUTINE, fm->cmd, fm);
        if (rc != 0)
            broker_reply_error(b, b->responders, fm, rc, NULL, m.ev.id, m.rid);
        return;
    case PROTO_ACK:
    case PROTO_ACCEPT:
    case PROTO_DECLINE:
    case PROTO_RESOLVE:
    case PROTO_CLAIM:
    case PROTO_RELEASE:
    case PROTO_RETURN:
    case PROTO_REDIRECT:
    case PROTO_CONFIRM:
    case PROTO_DISPUTE:
    case PROTO_EXTEND:
    case PROTO_APPROVE:
    case PROTO_MERGE:
        /* Responders' actions ride the alert lane: an acknowledgement is
         * what stops an alert escalating, so it must not wait behind
         * routine filing. They are never refused as busy. */
        rc = broker_enqueue(b, ORIGIN_RESPONDERS, LANE_ALERT, fm->cmd, fm);
        if (rc != 0)
            broker_reply_error(b, b->responders, fm, rc, NULL, m.event, m.rid);
        return;
    default:
        return; /* refused above */
    }
}

void broker_deliver(broker *b, const char *team, int cmd, zmq_msg_t *body)
{
    b->counters.deliveries++;
    team_members *t = team_get(b, team, 0);
    if (!t) {
        /* Nobody of the team is connected: the dispatch stays pending in the
         * store and is resent when a member says HELLO. */
        b->counters.undeliverable++;
        return;
    }
    uint64_t now = clock_mono_ms();
    for (responder *r = t->head; r; r = r->next) {
        if (broker_forward(b->responders, r->ident, r->ident_len, cmd, NULL, 0, 0, body) == 0) {
            b->counters.delivered_copies++;
            r->last_sent_ms = now;
        } else {
            /* Its connection holds --responder-queue messages already (it
             * stopped reading), or is gone: the dispatch stays pending in
             * the store and is resent. */
            b->counters.copies_not_sent++;
        }
    }
}

struct tick_ctx {
    broker *b;
    uint64_t now, dead_after;
    responder *expired[256];
    size_t nexpired;
};

static int tick_one(void *c, const void *key, size_t len, void *value)
{
    (void)key;
    (void)len;
    struct tick_ctx *ctx = c;
    responder *r = value;
    if (ctx->now - r->last_heard_ms > ctx->dead_after) {
        if (ctx->nexpired < GL_ARRAY_LEN(ctx->expired))
            ctx->expired[ctx->nexpired++] = r;
        return 0;
    }
    if (ctx->now - r->last_sent_ms >= (uint64_t)ctx->b->cfg.heartbeat_ms) {
        broker_send_heartbeat(ctx->b, ctx->b->responders, r->ident, r->ident_len);
        r->last_sent_ms = ctx->now;
    }
    return 0;
}

void broker_responder_tick(broker *b, uint64_t now_ms)
{
    /* Collect first: removing while walking the map would reorder it. The
     * rest of a burst of more than 256 expiries goes on the next tick. */
    struct tick_ctx ctx = {b, now_ms, (uint64_t)(b->cfg.heartbeat_ms * b->cfg.liveness), {0}, 0};
    hmap_each(b->responders_by_ident, tick_one, &ctx);
    for (size_t i = 0; i < ctx.nexpired; i++)
        responder_remove(b, ctx.expired[i], "heartbeat lost");
}

static int free_value(void *ctx, const void *key, size_t len, void *value)
{
    (void)ctx;
    (void)key;
    (void)len;
    free(value);
    return 0;
}

void broker_free_responders(broker *b)
{
    hmap_each(b->responders_by_ident, free_value, NULL);
    hmap_each(b->teams, free_value, NULL);
}
