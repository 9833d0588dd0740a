/* store_members.h — which service a store belongs to.
 *
 * Several workers share one store, but only the workers of one service (one
 * broker): a worker of another broker on the same data directory would
 * resend that service's dispatches through the wrong broker and fire its
 * timers there. So each worker process registers in the store (db
 * "members": host, pid → service) and a process of another service is
 * refused while one of the first is alive. Entries of processes that died
 * without leaving are found by their pid and dropped. */
#ifndef GL_STORE_MEMBERS_H
#define GL_STORE_MEMBERS_H

#include <stddef.h>

#include "store.h"

/* store_join registers this process as a user of s for service (e.g. the
 * broker endpoint its workers connect to). Returns 0; GL_EBADSTATE when a
 * live process of this host uses the store for another service (then
 * other, if not NULL, describes it: "pid 123 (service tcp://...)"); or a
 * store error. */
int store_join(store *s, const char *service, char *other, size_t otherlen);

/* store_leave removes this process's entry (a clean exit); 0 or a store
 * error. */
int store_leave(store *s);

#endif
