/* http.h — what the tests of the broker's HTTP endpoint share (header only,
 * like workflow.h): a free loopback port, the broker and workers started
 * with --http on it, and a plain HTTP/1.0 GET over a TCP socket of the
 * test's own (so the test depends on no HTTP library). */
#ifndef GL_TEST_HTTP_H
#define GL_TEST_HTTP_H

#include "workflow.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static int ht_port;

/* ht_free_port asks the kernel for a free loopback port (bound and closed
 * at once: another process could take it meanwhile, which would make the
 * broker fail to start, loudly). 0 on failure. */
static inline int ht_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int port = 0;
    if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(s, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* ht_start is wf_start with the broker serving HTTP on 127.0.0.1:ht_port. */
static inline int ht_start(int nworkers, const char *const worker_extra[])
{
    static char addr[32];
    ht_port = ht_free_port();
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ht_port);
    const char *const extra[] = {"--http", addr, NULL};
    tl_broker(&wf_env, extra);
    for (int i = 0; i < nworkers; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i + 1);
        tl_worker(&wf_env, name, worker_extra);
    }
    if (!ht_port || tl_wait_workers(&wf_env, 10000) != 0)
        return -1;
    client_opts_init(&wf_opts);
    wf_opts.timeout_ms = 3000;
    if (client_open(&wf_terminal, wf_env.intake, &wf_opts, NULL, 0) != 0 ||
        client_open(&wf_responder, wf_env.responders, &wf_opts, NULL, 0) != 0)
        return -1;
    return 0;
}

typedef struct ht_reply {
    int status;              /* HTTP status, 0 when no answer */
    char content_type[128];
    char *body;              /* NUL-terminated, malloc'd; ht_reply_free */
    size_t len;
} ht_reply;

static inline void ht_reply_free(ht_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ht_request sends "METHOD path HTTP/1.0" to 127.0.0.1:ht_port and reads
 * the whole reply (the server closes after it), at most timeout_ms. 0, or
 * -1 when nothing usable came. */
static inline int ht_request(const char *method, const char *path, ht_reply *r, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ht_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0)
        return -1;
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(s);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    if (write(s, req, (size_t)n) != n) {
        close(s);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    uint64_t until = clock_mono_ms() + (uint64_t)timeout_ms;
    while (buf) {
        uint64_t now = clock_mono_ms();
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (now >= until || poll(&p, 1, (int)(until - now)) <= 0)
            break;
        if (len == cap) {
            char *more = realloc(buf, 2 * cap + 1);
            if (!more)
                break;
            buf = more;
            cap *= 2;
        }
        ssize_t got = read(s, buf + len, cap - len);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(s);
    if (!buf)
        return -1;
    buf[len] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    *end = '\0';
    for (char *h = strstr(buf, "\r\n"); h; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Content-Type:", 13) == 0) {
            const char *v = h + 15;
            while (*v == ' ')
                v++;
            size_t vl = strcspn(v, "\r");
            snprintf(r->content_type, sizeof r->content_type, "%.*s", (int)vl, v);
        }
    r->len = len - (size_t)(end + 4 - buf);
    r->body = malloc(r->len + 1);
    if (r->body) {
        memcpy(r->body, end + 4, r->len);
        r->body[r->len] = '\0';
    }
    free(buf);
    return r->body ? 0 : -1;
}

static inline int ht_get(const char *path, ht_reply *r)
{
    return ht_request("GET", path, r, 15000);
}

#endif
