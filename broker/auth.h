/* auth.h — the broker's side of security (proto/PROTOCOL.md, "Security"):
 * CURVE on every tcp:// endpoint, a ZAP handler (RFC 27) that admits only
 * the public keys of the keys directory, and the role of each message's
 * sender checked before anything is queued.
 *
 * Without --keys the broker runs in plain mode, as before, and then only on
 * ipc:// and loopback tcp:// endpoints unless --insecure says otherwise. */
#ifndef GL_BROKER_AUTH_H
#define GL_BROKER_AUTH_H

#include "broker.h"
#include "../common/keys.h"

typedef struct broker_auth broker_auth;

/* broker_auth_check_endpoints refuses a start that would take plain
 * connections from the network: a tcp:// endpoint whose host is not
 * loopback (127.x, localhost, ::1) needs CURVE (secure: --keys and
 * --curve-secret given) unless insecure (--insecure). Runs before anything
 * is bound. Returns 0, or GL_ECONFIG with the reason in err. */
int broker_auth_check_endpoints(const char *const *endpoints, size_t n, int secure, int insecure,
                                char *err, size_t errlen);

/* broker_auth_start loads the keys directory and the broker's key pair
 * (curve_secret: a .secret file of role broker) and starts the ZAP handler
 * thread on ctx (inproc://zeromq.zap.01), which must happen before any
 * CURVE socket is bound. Returns 0 and *out; GL_ECONFIG (err says which
 * file and line) or GL_ESYS. */
int broker_auth_start(void *ctx, const char *keys_dir, const char *curve_secret,
                      broker_auth **out, char *err, size_t errlen);

/* broker_auth_socket makes sock, about to be bound to endpoint, a CURVE
 * server whose clients the ZAP handler checks in domain (the endpoint's
 * name: "intake", "responders", "workers"). Only tcp:// endpoints: ipc://
 * stays plain (the socket file's permissions guard it). a NULL: plain mode,
 * nothing to do. Returns 0 or GL_ESYS. */
int broker_auth_socket(broker_auth *a, void *sock, const char *endpoint, const char *domain);

/* broker_auth_reload reads the keys directory again (SIGHUP): new keys are
 * admitted on their next connection, removed keys refused from their next
 * message. A bad directory keeps the keys in use, with an error logged. */
void broker_auth_reload(broker_auth *a);

/* broker_auth_allow checks that the sender of fm (decoded into m) may send
 * m's command on the endpoint ("intake" or "responders"), by its role and
 * scope. A message from a plain connection (no User-Id) is allowed. When
 * allowed: returns 0 and sets b->principal to the sender (NULL if plain), to
 * travel with the job. Otherwise answers ERROR forbidden with the reason,
 * counts it, logs it (rate-limited) and returns GL_EFORBIDDEN. */
int broker_auth_allow(broker *b, frame_msg *fm, const proto_msg *m, const char *endpoint);

/* broker_auth_tick logs the handshakes refused since the last tick
 * (unknown keys), at most once a tick. */
void broker_auth_tick(broker *b);

/* broker_auth_stop stops the ZAP thread (it shuts ctx down: call it once
 * the loop is over) and frees *a; NULL is fine. */
void broker_auth_stop(broker_auth **a, void *ctx);

#endif
