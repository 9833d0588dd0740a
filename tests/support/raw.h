/* raw.h — what tests that keep many requests in flight share (header only,
 * like workflow.h): a raw DEALER terminal on the intake, SUBMITs sent
 * without waiting, replies read one at a time; and counting lines in the
 * logs the test's processes write (DIR/PROG.N.log). */
#ifndef GL_TEST_RAW_H
#define GL_TEST_RAW_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "../../common/arena.h"
#include "../../proto/frame.h"
#include "../../proto/proto.h"
#include "../tap.h"

/* raw_open connects a DEALER of ctx to endpoint (the test bails out if it
 * cannot). */
static inline void *raw_open(void *ctx, const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    if (s)
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (!s || zmq_connect(s, endpoint) != 0) {
        printf("Bail out! cannot connect a DEALER to %s\n", endpoint);
        exit(1);
    }
    return s;
}

/* raw_submit sends a SUBMIT of a heping event (a grid for requests and
 * alerts, a compound for feedback) with request id rid, without waiting. */
static inline void raw_submit(void *sock, uint64_t rid, const char *id, int kind,
                              const char *category, const char *text)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SUBMIT;
    m.rid = rid;
    m.ev.id = id;
    m.ev.kind = kind;
    m.ev.category = category;
    m.ev.community = "heping";
    if (kind == GL_KIND_FEEDBACK)
        m.ev.compound = "heping-c1";
    else
        m.ev.grid = "heping-g1";
    m.ev.text = text ? text : "背压测试";
    if (frame_send_msg(sock, NULL, 0, &m, 0) != 0)
        diag("could not send SUBMIT %s", id);
}

/* raw_show sends a SHOW of id with request id rid, without waiting. */
static inline void raw_show(void *sock, uint64_t rid, const char *id)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SHOW;
    m.rid = rid;
    m.ev.id = id;
    if (frame_send_msg(sock, NULL, 0, &m, 0) != 0)
        diag("could not send SHOW %s", id);
}

/* raw_recv waits up to timeout_ms for one reply; returns its command
 * (decoded into *out, strings in arena) or PROTO_NONE on silence. */
static inline int raw_recv(void *sock, int timeout_ms, proto_msg *out, gl_arena *arena)
{
    memset(out, 0, sizeof *out);
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return PROTO_NONE;
    frame_msg fm;
    int rc = frame_recv(sock, 0, ZMQ_DONTWAIT, &fm);
    if (rc == 0) {
        size_t len;
        const void *body = frame_body(&fm, &len);
        rc = proto_decode(fm.cmd, body, len, out, arena, NULL, 0);
    }
    frame_close(&fm);
    return rc == 0 ? out->cmd : PROTO_NONE;
}

/* tl_log_count counts the lines holding both a and b in the logs of prog
 * in dir (DIR/PROG.N.log, one per process started). */
static inline int tl_log_count(const char *dir, const char *prog, const char *a, const char *b)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    size_t plen = strlen(prog);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, prog, plen) != 0 || e->d_name[plen] != '.' || n < 4 ||
            strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char path[600], line[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f))
            found += strstr(line, a) && strstr(line, b);
        if (f)
            fclose(f);
    }
    closedir(d);
    return found;
}

#endif
