/* auth.c — the worker's part of security (proto/PROTOCOL.md, "Security"):
 * its own CURVE keys for the workers endpoint, and the checks only the store
 * can answer — is this event the asking terminal's, may the asker see the
 * reporter's contact. The broker has checked the role and command already. */
#include "worker.h"

#include <string.h>

#include "../common/keys.h"
#include "../proto/client.h"

static client_opts worker_keys; /* only the curve_* members are used */

int worker_curve_init(const char *key_file, const char *server_key, char *err, size_t errlen)
{
    return client_opts_curve(&worker_keys, key_file, server_key, err, errlen);
}

int worker_curve_socket(void *sock, const char *endpoint)
{
    if (!worker_keys.curve_server_key[0] || strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, worker_keys.curve_server_key, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, worker_keys.curve_public_key, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, worker_keys.curve_secret_key, 40) != 0)
        return GL_ESYS;
    return 0;
}

/* The event id a terminal's command is about. */
static const char *terminal_event_id(const wjob *j)
{
    switch (j->cmd) {
    case PROTO_SHOW: case PROTO_TRACK: case PROTO_UPDATE: case PROTO_CANCEL: case PROTO_RATE:
        return j->msg.ev.id;
    default:
        return NULL;
    }
}

int worker_auth_refuse(gl_worker *w, store_txn *t, const wjob *j)
{
    if (j->principal_role != KEYS_TERMINAL || !j->principal_scope)
        return 0;
    const char *id = terminal_event_id(j);
    if (!id)
        return 0;
    uint64_t seq;
    gl_event ev;
    int rc = store_event_find(t, id, &seq);
    if (rc == GL_ENOTFOUND)
        return 0; /* the command's own handler answers not_found */
    if (rc || (rc = store_event_get(t, seq, &ev, &w->batch_arena)) != 0)
        return rc;
    if (ev.terminal && strcmp(ev.terminal, j->principal_scope) == 0)
        return 0;
    worker_out_error(w, j, GL_EFORBIDDEN, "the event was filed by another terminal");
    return 1;
}

/* The dispatch roles whose teams must reach the resident (as delivery.c
 * decides for DISPATCH: not "informed", "claim" or "owners"). */
static int role_sees_contact(const char *role)
{
    return role && strcmp(role, "informed") != 0 && strcmp(role, "claim") != 0 &&
           strcmp(role, "owners") != 0;
}

int worker_auth_sees_contact(const wjob *j, const gl_dispatch *dispatches, size_t n)
{
    switch (j->principal_role) {
    case KEYS_NONE:     /* plain mode: a trusted local link */
    case KEYS_OPERATOR:
    case KEYS_TERMINAL: /* its own event: worker_auth_refuse saw to that */
        return 1;
    case KEYS_MEMBER:
        for (size_t i = 0; i < n; i++)
            if (dispatches[i].team && j->principal_scope &&
                strcmp(dispatches[i].team, j->principal_scope) == 0 &&
                role_sees_contact(dispatches[i].role))
                return 1;
        return 0;
    default:
        return 0;
    }
}
