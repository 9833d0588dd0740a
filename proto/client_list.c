/* client_list.c — the client side of the operators' LIST and REQUEUE
 * (issue 5; contracts in client.h). */
#include "client_impl.h"

#include <stdio.h>
#include <string.h>

static int too_long(client *c, const char *what, const char *s, size_t max)
{
    if (!s || client_str_ok(s, max))
        return 0;
    snprintf(c->reason, sizeof c->reason, "%s must be 1..%zu bytes", what, max);
    return 1;
}

int client_list(client *c, const client_list_query *q, proto_msg *out, gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    if (too_long(c, "community", q->community, GL_MAX_ID) || too_long(c, "grid", q->grid, GL_MAX_ID) ||
        too_long(c, "team", q->team, GL_MAX_ID) || too_long(c, "cursor", q->after, GL_MAX_SHORT))
        return GL_EBADFIELD;
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_LIST;
    req.ev.kind = q->kind;
    req.ev.state = q->state;
    req.ev.community = q->community;
    req.ev.grid = q->grid;
    req.team = q->team;
    req.since_ms = q->since_ms;
    req.until_ms = q->until_ms;
    req.overdue = q->overdue;
    req.dead = q->dead;
    req.with_history = q->history;
    req.limit = q->limit;
    req.after = q->after;
    return client_query(c, &req, NULL, PROTO_LISTING, out, arena);
}

int client_requeue(client *c, const char *id, const char *team, int close, const char *note,
                   proto_msg *out, gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    size_t n = id ? strlen(id) : 0;
    int id_ok = n > 0 && n <= GL_MAX_ID;
    for (size_t i = 0; id_ok && i < n; i++)
        id_ok = id[i] > ' ' && id[i] <= '~';
    if (!id_ok) {
        snprintf(c->reason, sizeof c->reason,
                 "event id must be 1..%d printable ASCII bytes, no spaces", GL_MAX_ID);
        return GL_EBADFIELD;
    }
    if (too_long(c, "team", team, GL_MAX_ID) || too_long(c, "note", note, GL_MAX_TEXT))
        return GL_EBADFIELD;
    proto_msg req;
    memset(&req, 0, sizeof req);
    req.cmd = PROTO_REQUEUE;
    req.ev.id = id;
    req.team = team;
    req.close = close != 0;
    req.note = note;
    return client_query(c, &req, id, PROTO_LISTING, out, arena);
}
