/* auth.c — CURVE, the ZAP handler and the roles (auth.h). */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct broker_auth {
    char *keys_dir;
    keys_pair server;          /* the broker's own pair */
    pthread_mutex_t lock;      /* guards table and last_refused */
    keys *table;
    pthread_t thread;
    int thread_started;
    void *zap;                 /* the handler's REP socket (the thread's) */
    atomic_uint_fast64_t refused, refused_logged;
    char last_refused[200];    /* "KEY from ADDRESS on DOMAIN", for the log */
    uint64_t forbidden;        /* commands refused by role (main thread) */
    uint64_t refused_logged_ms;
};

/* --- endpoints --- */

static int host_is_loopback(const char *host, size_t len)
{
    static const char *const loopback[] = {"localhost", "[::1]", "::1", "lo"};
    for (size_t i = 0; i < GL_ARRAY_LEN(loopback); i++)
        if (len == strlen(loopback[i]) && strncmp(host, loopback[i], len) == 0)
            return 1;
    return len > 4 && strncmp(host, "127.", 4) == 0;
}

int broker_auth_check_endpoints(const char *const *endpoints, size_t n, int secure, int insecure,
                                char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *ep = endpoints[i];
        if (strncmp(ep, "tcp://", 6) != 0 || secure || insecure)
            continue;
        const char *host = ep + 6;
        const char *colon = strrchr(host, ':');
        size_t len = colon ? (size_t)(colon - host) : strlen(host);
        if (!host_is_loopback(host, len)) {
            snprintf(err, errlen,
                     "%s is not a loopback address: plain (unauthenticated) connections from the "
                     "network are refused. Give --keys DIR and --curve-secret FILE for CURVE "
                     "(see gridline keygen), or --insecure to force plain mode",
                     ep);
            return GL_ECONFIG;
        }
    }
    return 0;
}

/* --- the ZAP handler (RFC 27) --- */

static void zap_reply(void *sock, const zmq_msg_t *request_id, const char *code,
                      const char *text, const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id),
             ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

static int part_is(zmq_msg_t *m, const char *s)
{
    return zmq_msg_size(m) == strlen(s) && memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

/* Answers one request; the frames are version, request id, domain, address,
 * routing id, mechanism, then the mechanism's credentials. */
static void zap_answer(broker_auth *a, zmq_msg_t *parts, int n)
{
    enum { VERSION, REQUEST_ID, DOMAIN, ADDRESS, ROUTING_ID, MECHANISM, CREDENTIAL };
    if (n < MECHANISM + 1 || !part_is(&parts[VERSION], "1.0")) {
        if (n > REQUEST_ID)
            zap_reply(a->zap, &parts[REQUEST_ID], "500", "bad ZAP request", "");
        else
            zap_reply(a->zap, &parts[0], "500", "bad ZAP request", ""); /* keep REP in step */
        return;
    }
    if (part_is(&parts[MECHANISM], "NULL")) {
        /* A plain endpoint (ipc://): its clients are trusted by the file's
         * permissions; no User-Id, no role. */
        zap_reply(a->zap, &parts[REQUEST_ID], "200", "OK", "");
        return;
    }
    char domain[32], address[64];
    snprintf(domain, sizeof domain, "%.*s", (int)zmq_msg_size(&parts[DOMAIN]),
             (const char *)zmq_msg_data(&parts[DOMAIN]));
    snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&parts[ADDRESS]),
             (const char *)zmq_msg_data(&parts[ADDRESS]));
    char key[KEYS_Z85_LEN + 1] = "?";
    const char *why = "not CURVE";
    if (part_is(&parts[MECHANISM], "CURVE") && n == CREDENTIAL + 1 &&
        zmq_msg_size(&parts[CREDENTIAL]) == 32) {
        const unsigned char *bin = zmq_msg_data(&parts[CREDENTIAL]);
        zmq_z85_encode(key, bin, 32);
        char user[GL_MAX_ID + 1] = "";
        int role = KEYS_NONE;
        pthread_mutex_lock(&a->lock);
        const keys_principal *p = keys_by_public(a->table, bin);
        if (p) {
            snprintf(user, sizeof user, "%s", p->name);
            role = p->role;
        }
        pthread_mutex_unlock(&a->lock);
        int on_workers = strcmp(domain, "workers") == 0;
        why = role == KEYS_NONE                          ? "unknown key"
              : on_workers != (role == KEYS_WORKER)      ? "wrong endpoint for its role"
                                                         : NULL;
        if (!why) {
            zap_reply(a->zap, &parts[REQUEST_ID], "200", "OK", user);
            return;
        }
    }
    /* 400: the handshake fails and the client never gets a reply. */
    zap_reply(a->zap, &parts[REQUEST_ID], "400", why, "");
    pthread_mutex_lock(&a->lock);
    snprintf(a->last_refused, sizeof a->last_refused, "%s from %s on %s (%s)", key, address,
             domain, why);
    pthread_mutex_unlock(&a->lock);
    atomic_fetch_add(&a->refused, 1);
}

static void *zap_thread(void *arg)
{
    broker_auth *a = arg;
    for (;;) {
        zmq_msg_t parts[8];
        int n = 0, more = 1, failed = 0;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, a->zap, 0) < 0) {
                zmq_msg_close(&part);
                if (errno == EINTR && n == 0)
                    break;
                failed = 1;
                break;
            }
            more = zmq_msg_more(&part);
            if (n < (int)GL_ARRAY_LEN(parts))
                parts[n++] = part;
            else
                zmq_msg_close(&part);
        }
        int err = failed ? zmq_errno() : 0;
        if (err == ETERM) {
            for (int i = 0; i < n; i++)
                zmq_msg_close(&parts[i]);
            break;
        }
        /* Whatever came, answer it: a REP socket that received must send
         * before it can receive again. */
        if (n > 0)
            zap_answer(a, parts, failed ? 1 : n);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&parts[i]);
    }
    zmq_close(a->zap);
    return NULL;
}

/* --- start, reload, stop --- */

int broker_auth_start(void *ctx, const char *keys_dir, const char *curve_secret,
                      broker_auth **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!zmq_has("curve")) {
        snprintf(err, errlen, "this libzmq was built without CURVE");
        return GL_ECONFIG;
    }
    broker_auth *a = calloc(1, sizeof *a);
    if (!a || !(a->keys_dir = strdup(keys_dir))) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return GL_EINTERNAL;
    }
    pthread_mutex_init(&a->lock, NULL);
    int rc = keys_parse_file(curve_secret, 1, &a->server, err, errlen);
    if (rc == 0 && a->server.who.role != KEYS_BROKER) {
        snprintf(err, errlen, "%s: role is %s: the broker's pair has role broker (gridline "
                 "keygen NAME --role broker)", curve_secret, keys_role_name(a->server.who.role));
        rc = GL_ECONFIG;
    }
    if (rc == 0)
        rc = keys_load(keys_dir, &a->table, err, errlen);
    if (rc == 0) {
        a->zap = zmq_socket(ctx, ZMQ_REP);
        int zero = 0;
        if (!a->zap || zmq_setsockopt(a->zap, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zmq_bind(a->zap, ZAP_ENDPOINT) != 0) {
            snprintf(err, errlen, "cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
            rc = GL_ESYS;
        } else if (pthread_create(&a->thread, NULL, zap_thread, a) != 0) {
            snprintf(err, errlen, "cannot start the ZAP thread");
            rc = GL_ESYS;
        } else
            a->thread_started = 1;
    }
    if (rc) {
        if (a->zap)
            zmq_close(a->zap);
        a->zap = NULL;
        broker_auth_stop(&a, NULL);
        return rc;
    }
    LOG_I("CURVE on tcp:// endpoints, %zu keys from %s, server key %s", keys_count(a->table),
          keys_dir, a->server.who.public_key);
    *out = a;
    return 0;
}

int broker_auth_socket(broker_auth *a, void *sock, const char *endpoint, const char *domain)
{
    if (!a || strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, a->server.secret_key, KEYS_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0) {
        LOG_E("cannot make the %s endpoint a CURVE server: %s", domain,
              zmq_strerror(zmq_errno()));
        return GL_ESYS;
    }
    return 0;
}

void broker_auth_reload(broker_auth *a)
{
    if (!a)
        return;
    keys *fresh = NULL;
    char err[512];
    if (keys_load(a->keys_dir, &fresh, err, sizeof err) != 0) {
        LOG_E("keys reload failed, keeping the keys in use: %s", err);
        return;
    }
    pthread_mutex_lock(&a->lock);
    keys *old = a->table;
    a->table = fresh;
    pthread_mutex_unlock(&a->lock);
    keys_free(&old);
    LOG_I("keys reloaded from %s: %zu principals", a->keys_dir, keys_count(fresh));
}

void broker_auth_tick(broker *b)
{
    broker_auth *a = b->auth;
    if (!a)
        return;
    uint64_t n = atomic_load(&a->refused), seen = atomic_load(&a->refused_logged);
    uint64_t now = clock_mono_ms();
    /* A client retrying with a refused key comes back every few hundred
     * ms: one line per 10 s at most says how many were turned away. */
    if (n == seen || (a->refused_logged_ms && now - a->refused_logged_ms < 10000))
        return;
    a->refused_logged_ms = now;
    char last[sizeof a->last_refused];
    pthread_mutex_lock(&a->lock);
    memcpy(last, a->last_refused, sizeof last);
    pthread_mutex_unlock(&a->lock);
    LOG_W("refused %llu connection attempts (%llu in all), the last: key %s",
          (unsigned long long)(n - seen), (unsigned long long)n, last);
    atomic_store(&a->refused_logged, n);
}

void broker_auth_stop(broker_auth **ap, void *ctx)
{
    broker_auth *a = *ap;
    if (!a)
        return;
    if (a->thread_started) {
        /* Shutting the context down makes the thread's blocking receive
         * return ETERM; it closes its socket and ends. */
        zmq_ctx_shutdown(ctx);
        pthread_join(a->thread, NULL);
    }
    if (a->forbidden || atomic_load(&a->refused))
        LOG_I("security: %llu connection attempts refused, %llu commands forbidden",
              (unsigned long long)atomic_load(&a->refused), (unsigned long long)a->forbidden);
    keys_free(&a->table);
    pthread_mutex_destroy(&a->lock);
    free(a->keys_dir);
    free(a);
    *ap = NULL;
}

/* --- roles --- */

static int is_act(int cmd)
{
    switch (cmd) {
    case PROTO_ACK: case PROTO_ACCEPT: case PROTO_DECLINE: case PROTO_RESOLVE:
    case PROTO_CLAIM: case PROTO_RELEASE: case PROTO_RETURN: case PROTO_REDIRECT:
    case PROTO_CONFIRM: case PROTO_DISPUTE: case PROTO_EXTEND: case PROTO_APPROVE:
    case PROTO_MERGE:
        return 1;
    default:
        return 0;
    }
}

/* Why p may not send cmd (m) on endpoint, or NULL when it may. The reason
 * goes into the ERROR: it names the rule, never another principal's data. */
static const char *refusal(const keys_principal *p, int cmd, const proto_msg *m, int intake,
                           char *buf, size_t len)
{
    int housekeeping = cmd == PROTO_PING || cmd == PROTO_HEARTBEAT || cmd == PROTO_BYE;
    switch (p->role) {
    case KEYS_TERMINAL:
        if (!intake)
            return housekeeping ? NULL : "a terminal submits and asks on the intake endpoint only";
        if (cmd == PROTO_PING || cmd == PROTO_SHOW || cmd == PROTO_TRACK)
            return NULL; /* the worker checks the event is this terminal's */
        if (cmd == PROTO_SUBMIT || cmd == PROTO_UPDATE || cmd == PROTO_CANCEL ||
            cmd == PROTO_RATE) {
            /* What it files carries its terminal; a change names it or not
             * (the worker checks the stored event's terminal either way). */
            if (m->ev.terminal ? strcmp(m->ev.terminal, p->scope) == 0 : cmd != PROTO_SUBMIT)
                return NULL;
            if (m->ev.terminal)
                snprintf(buf, len, "this key is terminal %s: %s cannot name another terminal",
                         p->scope, proto_cmd_name(cmd));
            else
                snprintf(buf, len, "this key is terminal %s: SUBMIT must carry terminal \"%s\"",
                         p->scope, p->scope);
            return buf;
        }
        return "a terminal may only submit, update, cancel, rate, track and show its own events";
    case KEYS_MEMBER:
        if (housekeeping || cmd == PROTO_SHOW || cmd == PROTO_BOARD ||
            (intake && cmd == PROTO_TRACK))
            return NULL;
        if (!intake && (cmd == PROTO_HELLO || is_act(cmd))) {
            if (m->team && strcmp(m->team, p->scope) == 0)
                return NULL;
            snprintf(buf, len, "this key is a member of team %s: it may %s only as team %s",
                     p->scope, cmd == PROTO_HELLO ? "listen" : "act", p->scope);
            return buf;
        }
        return intake ? "a team member may not submit: it acts on the responders endpoint"
                      : "a team member may listen and act for its own team only";
    case KEYS_OPERATOR:
        if (housekeeping || cmd == PROTO_STATUS || cmd == PROTO_SHOW || cmd == PROTO_BOARD ||
            cmd == PROTO_TRACK || (intake && (cmd == PROTO_LIST || cmd == PROTO_REQUEUE || cmd == PROTO_SCORES)))
            return NULL;
        return "an operator may read (status, show, track, board, list, scores) and requeue dead "
               "letters, not submit or act";
    case KEYS_WORKER:
        return "a worker key may connect to the workers endpoint only";
    default:
        return "this key has no role";
    }
}

int broker_auth_allow(broker *b, frame_msg *fm, const proto_msg *m, const char *endpoint)
{
    memset(&b->principal, 0, sizeof b->principal);
    broker_auth *a = b->auth;
    /* Any part of a message from a CURVE connection carries the metadata;
     * the ROUTER's own identity frame does not, so ask the signature. */
    const char *user = a && fm->nparts > 1 ? zmq_msg_gets(&fm->part[1], "User-Id") : NULL;
    if (!user || !*user)
        return 0; /* plain connection (ipc://, or no --keys) */
    const char *why;
    char buf[200];
    pthread_mutex_lock(&a->lock);
    const keys_principal *p = keys_by_name(a->table, user);
    if (p) {
        b->principal = *p;
        why = refusal(p, fm->cmd, m, strcmp(endpoint, "intake") == 0, buf, sizeof buf);
    } else
        why = "this key was removed from the keys directory";
    pthread_mutex_unlock(&a->lock);
    if (!why)
        return 0;
    a->forbidden++;
    log_limited(LOG_WARN, "forbidden", "forbidden: %s from %s on %s: %s",
                proto_cmd_name(fm->cmd), user, endpoint, why);
    broker_reply_error(b, endpoint[0] == 'i' ? b->intake : b->responders, fm, GL_EFORBIDDEN, why,
                       m->ev.id ? m->ev.id : m->event, m->rid);
    memset(&b->principal, 0, sizeof b->principal);
    return GL_EFORBIDDEN;
}
