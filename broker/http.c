/* http.c — the broker's HTTP endpoint (--http ADDR:PORT), served by
 * libmicrohttpd's internal thread:
 *
 *   GET /             the dashboard (one self-contained page)
 *   GET /metrics      Prometheus text format 0.0.4
 *   GET /api/status   FIGURES as JSON
 *   GET /api/scores?since=…&until=…   SCORECARD as JSON
 *
 * The broker's state belongs to its loop, so these threads never read it:
 * each request is a client of the broker like any other, with a DEALER
 * socket of its own connected over inproc:// to the intake socket, asking
 * STATUS or SCORES. libmicrohttpd gives each connection a thread, so a
 * scrape of /metrics does not wait behind a long SCORES. */
#include "broker.h"
#include "http_render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"

#define HTTP_INPROC "inproc://gridline-http"
#define HTTP_STATUS_WAIT_MS 2000
#define HTTP_SCORES_WAIT_MS 15000

struct broker_http {
    struct MHD_Daemon *daemon;
    void *ctx;             /* the broker's ZeroMQ context (thread-safe) */
};

/* One request's conversation with the broker. */
typedef struct http_ask {
    void *ctx;
    gl_arena arena;        /* the decoded reply */
} http_ask;

/* ask sends request m on a fresh DEALER and waits up to wait_ms for the
 * reply. 0 and *reply (strings in a->arena), or GL_EUNAVAILABLE. */
static int ask(http_ask *a, proto_msg *m, proto_msg *reply, int wait_ms)
{
    void *sock = zmq_socket(a->ctx, ZMQ_DEALER);
    int zero = 0, rc = GL_EUNAVAILABLE;
    if (!sock)
        return GL_EUNAVAILABLE;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    m->rid = 1;
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_connect(sock, HTTP_INPROC) == 0 && frame_send_msg(sock, NULL, 0, m, 0) == 0 &&
        zmq_poll(&item, 1, wait_ms) == 1) {
        frame_msg fm;
        if (frame_recv(sock, 0, ZMQ_DONTWAIT, &fm) == 0) {
            size_t len;
            const void *body = frame_body(&fm, &len);
            if (proto_decode(fm.cmd, body, len, reply, &a->arena, NULL, 0) == 0)
                rc = 0;
        }
        frame_close(&fm);
    }
    zmq_close(sock);
    return rc;
}

static json_t *to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 > (uint64_t)INT64_MAX ? json_real((double)o->via.u64)
                                                 : json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR: return json_stringn_nocheck(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++)
            json_array_append_new(a, to_json(&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR)
                json_object_setn_new_nocheck(m, k->via.str.ptr, k->via.str.size,
                                             to_json(&o->via.map.ptr[i].val));
        }
        return m;
    }
    default: return json_null();
    }
}

/* unpack decodes a figures map carried as msgpack bytes into o (zone-owned). */
static int unpack(msgpack_zone *zone, const void *data, size_t len, msgpack_object *o)
{
    size_t off = 0;
    return data && msgpack_unpack((const char *)data, len, &off, zone, o) == MSGPACK_UNPACK_SUCCESS;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               const void *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return respond(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14);
    enum MHD_Result ret = respond(conn, status, "application/json", text, strlen(text));
    free(text);
    return ret;
}

/* respond_error: a JSON body {error, code, reason} with the HTTP status that
 * fits the gridline code: 4xx for the request's fault, 503 when the service
 * cannot answer now. */
static enum MHD_Result respond_error(struct MHD_Connection *conn, int err, const char *reason)
{
    unsigned status = -err < 200 ? MHD_HTTP_BAD_REQUEST
                      : -err < 300 ? MHD_HTTP_CONFLICT
                                   : MHD_HTTP_SERVICE_UNAVAILABLE;
    return respond_json(conn, status,
                        json_pack("{s:s, s:i, s:s}", "error", gl_errname(err), "code", -err,
                                  "reason", reason ? reason : gl_strerror(err)));
}

static int status_figures(http_ask *h, proto_msg *reply)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_STATUS;
    int rc = ask(h, &m, reply, HTTP_STATUS_WAIT_MS);
    return rc == 0 && reply->cmd != PROTO_FIGURES ? GL_EUNAVAILABLE : rc;
}

static enum MHD_Result serve_metrics(http_ask *h, struct MHD_Connection *conn)
{
    proto_msg reply;
    int rc = status_figures(h, &reply);
    if (rc != 0)
        return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                       "the broker did not answer STATUS\n", 33);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object b, s;
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    if (unpack(&zone, reply.broker_figures, reply.broker_figures_len, &b)) {
        int have_store = unpack(&zone, reply.store_figures, reply.store_figures_len, &s);
        prom_render(&out, &b, have_store ? &s : NULL);
    }
    enum MHD_Result ret = respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                  out.data ? out.data : "", out.size);
    msgpack_sbuffer_destroy(&out);
    msgpack_zone_destroy(&zone);
    return ret;
}

static enum MHD_Result serve_status(http_ask *h, struct MHD_Connection *conn)
{
    proto_msg reply;
    int rc = status_figures(h, &reply);
    if (rc != 0)
        return respond_error(conn, rc, "the broker did not answer STATUS");
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object o;
    json_t *j = json_object();
    json_object_set_new(j, "at_ms", json_integer((json_int_t)reply.at_ms));
    if (unpack(&zone, reply.broker_figures, reply.broker_figures_len, &o))
        json_object_set_new(j, "broker", to_json(&o));
    if (unpack(&zone, reply.store_figures, reply.store_figures_len, &o))
        json_object_set_new(j, "store", to_json(&o));
    msgpack_zone_destroy(&zone);
    return respond_json(conn, MHD_HTTP_OK, j);
}

/* parse_when reads a time for /api/scores: ms since the epoch, "now", or a
 * span back from now ("90s", "30m", "24h", "7d"). 0, or -1 if malformed. */
static int parse_when(const char *s, uint64_t now, uint64_t *out)
{
    if (strcmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-' || s[0] == '+')
        return -1;
    if (*end == '\0') {
        *out = v;
        return 0;
    }
    uint64_t unit = strcmp(end, "s") == 0   ? 1000
                    : strcmp(end, "m") == 0 ? 60000
                    : strcmp(end, "h") == 0 ? 3600000
                    : strcmp(end, "d") == 0 ? 86400000
                                            : 0;
    if (!unit || v > now / unit)
        return -1;
    *out = now - v * unit;
    return 0;
}

static enum MHD_Result serve_scores(http_ask *h, struct MHD_Connection *conn)
{
    uint64_t now = clock_wall_ms();
    const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
    const char *until = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "until");
    proto_msg m, reply;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SCORES;
    m.since_ms = now - 7 * 86400000ull;
    m.until_ms = now + 1;
    if ((since && parse_when(since, now, &m.since_ms) != 0) ||
        (until && parse_when(until, now, &m.until_ms) != 0))
        return respond_error(conn, GL_EBADFIELD,
                             "since and until are ms since the epoch, now, or a span back "
                             "from now such as 7d, 24h, 30m, 90s");
    if (until && strcmp(until, "now") == 0)
        m.until_ms = now + 1;
    int rc = ask(h, &m, &reply, HTTP_SCORES_WAIT_MS);
    if (rc != 0)
        return respond_error(conn, rc, "no answer from the broker or its workers");
    if (reply.cmd == PROTO_ERROR)
        return respond_error(conn, -(int)reply.code, reply.reason);
    if (reply.cmd == PROTO_BUSY)
        return respond_error(conn, GL_EBUSY, "the broker is busy: try again shortly");
    if (reply.cmd != PROTO_SCORECARD)
        return respond_error(conn, GL_EINTERNAL, "unexpected reply");
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object o;
    json_t *j = json_object();
    json_object_set_new(j, "since_ms", json_integer((json_int_t)reply.since_ms));
    json_object_set_new(j, "until_ms", json_integer((json_int_t)reply.until_ms));
    json_object_set_new(j, "scanned", json_integer((json_int_t)reply.scanned));
    json_object_set_new(j, "truncated", json_boolean(reply.truncated));
    if (unpack(&zone, reply.scores, reply.scores_len, &o))
        json_object_set_new(j, "communities", to_json(&o));
    if (unpack(&zone, reply.scores_total, reply.scores_total_len, &o))
        json_object_set_new(j, "total", to_json(&o));
    msgpack_zone_destroy(&zone);
    return respond_json(conn, MHD_HTTP_OK, j);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    broker_http *h = cls;
    (void)version, (void)upload_data, (void)req_cls;
    if (*upload_data_size)
        return MHD_NO; /* no request here has a body */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        return respond(conn, MHD_HTTP_OK, "text/html; charset=utf-8", dashboard_html,
                       strlen(dashboard_html));
    http_ask a = {.ctx = h->ctx};
    enum MHD_Result ret;
    if (strcmp(url, "/metrics") == 0)
        ret = serve_metrics(&a, conn);
    else if (strcmp(url, "/api/status") == 0)
        ret = serve_status(&a, conn);
    else if (strcmp(url, "/api/scores") == 0)
        ret = serve_scores(&a, conn);
    else
        ret = respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
    arena_free(&a.arena);
    return ret;
}

/* parse_addr fills sa from "PORT" or "ADDR:PORT" (ADDR: an IPv4 address or
 * localhost). 0 or -1. */
static int parse_addr(const char *spec, struct sockaddr_in *sa)
{
    char host[64] = "127.0.0.1";
    const char *port = spec;
    const char *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n == 0 || n >= sizeof host)
            return -1;
        memcpy(host, spec, n);
        host[n] = '\0';
        port = colon + 1;
    }
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)p);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int broker_http_start(broker *b, const char *addr, int allow_public)
{
    struct sockaddr_in sa;
    if (parse_addr(addr, &sa) != 0) {
        LOG_E("bad --http %s: give PORT or ADDR:PORT with an IPv4 address", addr);
        return GL_ECONFIG;
    }
    if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127 && !allow_public) {
        LOG_E("--http %s is not a loopback address: the dashboard and metrics have no "
              "access control; add --http-public to serve them there anyway", addr);
        return GL_ECONFIG;
    }
    broker_http *h = calloc(1, sizeof *h);
    if (!h)
        return GL_EINTERNAL;
    h->ctx = b->ctx;
    if (zmq_bind(b->intake, HTTP_INPROC) != 0) {
        LOG_E("cannot bind %s: %s", HTTP_INPROC, zmq_strerror(errno));
        free(h);
        return GL_EINTERNAL;
    }
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                     MHD_USE_ERROR_LOG,
                                 0, NULL,
                                 NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!h->daemon) {
        LOG_E("cannot serve HTTP on %s (address in use?)", addr);
        zmq_unbind(b->intake, HTTP_INPROC);
        free(h);
        return GL_ESYS;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    LOG_I("http endpoint on http://%s:%u/ (dashboard; /metrics, /api/status, /api/scores)", ip,
          info ? (unsigned)info->port : (unsigned)ntohs(sa.sin_port));
    b->http = h;
    return 0;
}

void broker_http_stop(broker *b)
{
    broker_http *h = b->http;
    if (!h)
        return;
    /* The broker's loop has ended, so a request waiting for its answer
     * would wait its whole timeout: shutting the context down makes their
     * zmq_poll return at once (ETERM); they answer 503 and close their
     * sockets. The broker's own sockets are only closed after this. */
    zmq_ctx_shutdown(h->ctx);
    MHD_stop_daemon(h->daemon); /* joins the threads */
    free(h);
    b->http = NULL;
}
