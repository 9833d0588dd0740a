/* client_impl.h — private to proto/client.c and proto/listener.c: the
 * handles' insides and the request machinery the listener reuses. Everyone
 * else includes client.h. */
#ifndef GL_CLIENT_IMPL_H
#define GL_CLIENT_IMPL_H

#include "client.h"
#include "frame.h"

#define CLIENT_REASON_LEN (GL_MAX_TEXT + 128) /* an ERROR reason is up to 4096 bytes */
#define CLIENT_SILENT_BEATS 3 /* heartbeat intervals of silence before re-HELLO */

struct client {
    void *ctx;
    int own_ctx;
    void *sock;          /* NULL between a timeout and the next send */
    char *endpoint;
    client_opts opts;
    uint64_t next_rid;
    int attempts;
    unsigned jitter_seed;
    gl_arena scratch;    /* replies are decoded here first, to check them */
    char reason[CLIENT_REASON_LEN];
};

struct client_listener {
    client *conn;        /* the HELLO/DISPATCH/HEARTBEAT socket */
    client *actor;       /* second socket for ACK & co, opened on first use */
    char team[GL_MAX_ID + 1];
    char member[GL_MAX_ID + 1];
    int heartbeat_ms;
    int hello_due;       /* the broker answered bad_state: it forgot us */
    uint64_t last_hello; /* monotonic ms of our last HELLO */
    uint64_t last_heard; /* monotonic ms of the last message from the broker */
    uint64_t last_sent;  /* monotonic ms of our last message to the broker */
    int reconnects;
};

/* client_errf formats into buf (len bytes) when buf is not NULL. */
void client_errf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* client_socket makes a DEALER on ctx connected to endpoint (LINGER 0), a
 * CURVE client when o says so and endpoint is tcp://. */
int client_socket(void *ctx, const char *endpoint, const client_opts *o, void **out,
                  char *errbuf, size_t errlen);
/* client_drop_socket closes c's socket; the next send opens a fresh one. */
void client_drop_socket(client *c);
/* client_str_ok: NULL, or 1..max bytes of valid text. */
int client_str_ok(const char *s, size_t max);
/* client_error_code maps a wire ERROR code to its negative GL_E*. */
int client_error_code(uint32_t code);
/* client_call sends req and waits for one of the expected replies, with
 * the Lazy Pirate retries (see client.c). */
int client_call(client *c, const proto_msg *req_in, const char *id, const int *expect,
                proto_msg *rep, frame_msg *fm);
/* client_query sends req and decodes the reply_cmd reply into out (strings
 * in arena); BUSY and ERROR become their GL_E* (see client.c). */
int client_query(client *c, const proto_msg *req, const char *id, int reply_cmd,
                 proto_msg *out, gl_arena *arena);

#endif
