/* store_members.c — see store_members.h. */
#include "store_members.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gl.h"
#include "store_impl.h"

/* Key: host name, NUL, pid as 4 bytes big-endian. Value: the service. */
static size_t member_key(unsigned char *key, size_t cap, const char *host, unsigned pid)
{
    size_t n = strlen(host);
    if (n + 5 > cap)
        n = cap - 5;
    memcpy(key, host, n);
    key[n] = '\0';
    for (int i = 0; i < 4; i++)
        key[n + 1 + (size_t)i] = (unsigned char)(pid >> (24 - 8 * i));
    return n + 5;
}

static unsigned key_pid(const unsigned char *key, size_t len)
{
    unsigned pid = 0;
    for (size_t i = len - 4; i < len; i++)
        pid = pid << 8 | key[i];
    return pid;
}

static void this_host(char *host, size_t len)
{
    if (gethostname(host, len - 1) != 0 || !host[0])
        snprintf(host, len, "localhost");
    host[len - 1] = '\0';
}

int store_join(store *s, const char *service, char *other, size_t otherlen)
{
    char host[256] = "";
    this_host(host, sizeof host);
    size_t hlen = strlen(host);
    store_txn *t = NULL;
    int err = store_begin(s, 1, &t);
    if (err)
        return err;
    MDB_cursor *c = NULL;
    if ((err = store_txn_cursor(t, DB_MEMBERS, &c)) != 0)
        goto out;
    MDB_val k, v;
    unsigned char stale[64][300];
    size_t stale_len[64], nstale = 0;
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !err;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        /* Only this host's processes can be looked at (LMDB's lock file
         * works on one host only anyway). */
        if (k.mv_size != hlen + 5 || memcmp(k.mv_data, host, hlen) != 0)
            continue;
        unsigned pid = key_pid(k.mv_data, k.mv_size);
        int alive = pid == (unsigned)getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM;
        if (!alive) {
            if (nstale < 64 && k.mv_size <= sizeof stale[0]) {
                memcpy(stale[nstale], k.mv_data, k.mv_size);
                stale_len[nstale++] = k.mv_size;
            }
            continue;
        }
        if (pid != (unsigned)getpid() &&
            (v.mv_size != strlen(service) || memcmp(v.mv_data, service, v.mv_size) != 0)) {
            if (other)
                snprintf(other, otherlen, "pid %u (service %.*s)", pid, (int)v.mv_size,
                         (const char *)v.mv_data);
            err = GL_EBADSTATE;
        }
    }
    if (!err && rc != MDB_NOTFOUND)
        err = store_error(rc, "members");
    for (size_t i = 0; !err && i < nstale; i++) {
        MDB_val sk = store_val(stale[i], stale_len[i]);
        err = store_txn_del(t, DB_MEMBERS, &sk);
    }
    if (!err) {
        unsigned char key[300];
        MDB_val mk = store_val(key, member_key(key, sizeof key, host, (unsigned)getpid()));
        MDB_val mv = store_val(service, strlen(service));
        err = store_txn_put(t, DB_MEMBERS, &mk, &mv, 0);
    }
out:
    if (err) {
        store_abort(&t);
        return err;
    }
    return store_commit(&t);
}

int store_leave(store *s)
{
    char host[256] = "";
    this_host(host, sizeof host);
    store_txn *t = NULL;
    int err = store_begin(s, 1, &t);
    if (err)
        return err;
    unsigned char key[300];
    MDB_val k = store_val(key, member_key(key, sizeof key, host, (unsigned)getpid()));
    if ((err = store_txn_del(t, DB_MEMBERS, &k)) != 0) {
        store_abort(&t);
        return err;
    }
    return store_commit(&t);
}
