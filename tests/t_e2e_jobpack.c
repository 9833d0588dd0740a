/* End to end: JOBs packed (session 8), the broker's mirror of a worker's
 * PACK (proto/PROTOCOL.md §6). What users notice:
 *
 * 1. A worker that says "pack" in READY (the default): a burst of SUBMITs
 *    is answered FILED, every DISPATCH reaches both members of the team,
 *    and STATUS shows the broker sent them in PACKs of several JOBs.
 * 2. A worker started with --single-messages gets single JOBs (no PACK
 *    counted) and files a burst the same.
 * 3. A fake worker of an earlier version (READY without "pack") gets plain
 *    five-frame JOBs; a fake worker with "pack" gets PACKs laid out as the
 *    spec says (each item a JOB header, SUBMIT, the terminal's body
 *    byte for byte), and when it leaves (BYE) those jobs go to a real
 *    worker that files them: requeued, not lost.
 * 4. Alerts still go first: with routine work held back in the broker (the
 *    fake worker's routine window is full), an alert SUBMIT goes to it at
 *    once, ahead of the routine jobs that wait.
 * 5. A fake broker sends a real worker malformed PACKs (no items, a length
 *    past the frame, bytes after the last item, a bad header, an unknown
 *    command): the worker survives them and files the good PACK after. */
#include "../common/clock.h"
#include "../proto/client.h"
#include "../proto/pack.h"
#include "support/testlib.h"
#include "tap.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define BURST 200

#include "support/fakeworker.h"

/* What a fake worker received: JOB messages, PACK messages, the jobs in
 * all (each with its id, lane and body), and anything malformed. */
typedef struct got_jobs {
    int job_msgs, pack_msgs, max_items, jobs, bad;
    int alert_at;          /* the index in jobs of the first alert (-1: none) */
    char ids[64][32];      /* the SUBMIT bodies' event ids, in order */
} got_jobs;

/* The value of key in a msgpack map (data, len) as a string into out
 * (or "" when absent); 1 when the map decoded. */
static int map_str(const void *data, size_t len, const char *key, char *out, size_t cap)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    out[0] = '\0';
    int okd = msgpack_unpack_next(&u, data, len, NULL) == MSGPACK_UNPACK_SUCCESS &&
              u.data.type == MSGPACK_OBJECT_MAP;
    for (uint32_t i = 0; okd && i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0 &&
            (kv->val.type == MSGPACK_OBJECT_STR || kv->val.type == MSGPACK_OBJECT_BIN))
            snprintf(out, cap, "%.*s", (int)kv->val.via.str.size, kv->val.via.str.ptr);
    }
    msgpack_unpacked_destroy(&u);
    return okd;
}

static void got_one(got_jobs *g, const void *hdr, size_t hl, const char *cmd, size_t cl,
                    const void *body, size_t bl)
{
    char lane[16], origin[16], id[32];
    if (!map_str(hdr, hl, "lane", lane, sizeof lane) || !map_str(hdr, hl, "origin", origin, sizeof origin) ||
        strcmp(origin, "intake") != 0 || cl != 6 || memcmp(cmd, "SUBMIT", 6) != 0 ||
        !map_str(body, bl, "id", id, sizeof id)) {
        g->bad++;
        return;
    }
    if (strcmp(lane, "alert") == 0 && g->alert_at < 0)
        g->alert_at = g->jobs;
    if (g->jobs < 64)
        snprintf(g->ids[g->jobs], sizeof g->ids[0], "%s", id);
    g->jobs++;
}

/* Reads the fake worker s until want jobs came or nothing more within the
 * socket's timeout (HEARTBEATs skipped). */
static void read_jobs(void *s, got_jobs *g, int want)
{
    for (int n = 0; n < 1000 && g->jobs < want; n++) {
        zmq_msg_t part[8];
        int np = jp_recv_parts(s, part, 8);
        if (np == -2)
            g->bad++;
        if (np < 0)
            return;
        char cmd[16] = "";
        if (np >= 2)
            snprintf(cmd, sizeof cmd, "%.*s", (int)zmq_msg_size(&part[1]), (const char *)zmq_msg_data(&part[1]));
        if (strcmp(cmd, "JOB") == 0 && np == 5) {
            g->job_msgs++;
            got_one(g, zmq_msg_data(&part[2]), zmq_msg_size(&part[2]), zmq_msg_data(&part[3]),
                    zmq_msg_size(&part[3]), zmq_msg_data(&part[4]), zmq_msg_size(&part[4]));
        } else if (strcmp(cmd, "PACK") == 0 && np == 4 && zmq_msg_size(&part[2]) == 1 &&
                   *(const unsigned char *)zmq_msg_data(&part[2]) == 0x80) {
            const void *data = zmq_msg_data(&part[3]);
            size_t len = zmq_msg_size(&part[3]), pos = 0;
            size_t count = pack_count(data, len);
            g->pack_msgs++;
            if (count == 0)
                g->bad++;
            if ((int)count > g->max_items)
                g->max_items = (int)count;
            pack_item it;
            while (count && pack_next(data, len, &pos, &it))
                got_one(g, it.header, it.header_len, (const char *)it.cmd, it.cmd_len, it.body,
                        it.body_len);
        } else if (strcmp(cmd, "HEARTBEAT") != 0) {
            g->bad++;
        }
        for (int i = 0; i < np; i++)
            zmq_msg_close(&part[i]);
    }
}

/* Reads a raw terminal until n FILED came (or a 5 s timeout): how many. */
static int read_filed(void *s, int n)
{
    int filed = 0;
    for (int i = 0; i < n * 2 && filed < n; i++) {
        char cmd[32], body[4096];
        size_t blen = 0;
        if (recv_msg(s, cmd, sizeof cmd, body, sizeof body, &blen) < 0)
            break;
        filed += strcmp(cmd, "FILED") == 0;
    }
    return filed;
}

/* 5. A fake broker and a real worker. */
static void *fb;
static int ready_pack; /* the worker's READY said "pack": true */

static void fb_send_pack(const char *ident, size_t idl, const void *items, size_t len)
{
    zmq_send(fb, ident, idl, ZMQ_SNDMORE);
    send_frames(fb, (const void *[]){"GL/1", "PACK", "\x80", items}, (size_t[]){4, 4, 1, len}, 4);
}

/* The fake broker's next message from the worker: its command; the items
 * of a PACK counted into *done as FILED replies. HEARTBEATs and REPORTs
 * skipped; "" when nothing came within the timeout. */
static void fb_next(char *ident, size_t *idl, char *cmd, size_t cmdcap, int *filed)
{
    cmd[0] = '\0';
    for (int n = 0; n < 50; n++) {
        zmq_msg_t part[8];
        int np = jp_recv_parts(fb, part, 8);
        if (np < 0)
            return;
        if (np >= 3)
            snprintf(cmd, cmdcap, "%.*s", (int)zmq_msg_size(&part[2]), (const char *)zmq_msg_data(&part[2]));
        if (strcmp(cmd, "READY") == 0 && np == 4) { /* the main connection, not the watchdog's */
            *idl = zmq_msg_size(&part[0]) < 64 ? zmq_msg_size(&part[0]) : 64;
            memcpy(ident, zmq_msg_data(&part[0]), *idl);
            ready_pack = memmem(zmq_msg_data(&part[3]), zmq_msg_size(&part[3]), "\xa4pack\xc3", 6) != NULL;
        }
        if (strcmp(cmd, "PACK") == 0 && np == 5) {
            pack_item it;
            size_t pos = 0;
            while (pack_next(zmq_msg_data(&part[4]), zmq_msg_size(&part[4]), &pos, &it))
                *filed += it.cmd_len == 5 && memcmp(it.cmd, "FILED", 5) == 0;
        } else if (strcmp(cmd, "DONE") == 0 && np == 6) {
            *filed += zmq_msg_size(&part[4]) == 5 && memcmp(zmq_msg_data(&part[4]), "FILED", 5) == 0;
        }
        for (int i = 0; i < np; i++)
            zmq_msg_close(&part[i]);
        if (strcmp(cmd, "HEARTBEAT") != 0 && strcmp(cmd, "REPORT") != 0)
            return;
        cmd[0] = '\0';
    }
}

static void fake_broker(tl_env *env)
{
    char ep[600];
    snprintf(ep, sizeof ep, "ipc://%s/fakebroker.sock", env->dir);
    fb = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0, timeout = 5000;
    zmq_setsockopt(fb, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(fb, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind(fb, ep) != 0) {
        ok(0, "fake broker binds %s", ep);
        return;
    }
    char store[600];
    snprintf(store, sizeof store, "%s/store2", env->dir);
    pid_t w = tl_spawn(env, "gridline-worker",
                       (const char *const[]){"gridline-worker", "--broker", ep, "--store", store,
                                             "--directory", env->directory, "--name", "wfb",
                                             NULL});
    char ident[64], cmd[32];
    size_t idl = 0;
    int filed = 0;
    fb_next(ident, &idl, cmd, sizeof cmd, &filed);
    is_str(cmd, "READY", "the worker says READY to the fake broker");
    ok(ready_pack, "its READY says \"pack\": true");

    char h1[128], h2[128], bad_h[8] = "\x81\xa3job"; /* a map cut short */
    size_t l1 = jp_header(h1, sizeof h1, 101, "fb-client", 1, "routine"),
           l2 = jp_header(h2, sizeof h2, 102, "fb-client", 1, "routine");
    char s1[512], s2[512];
    size_t b1 = jp_submit_body(s1, sizeof s1, "fb-1", "request", "test", 1),
           b2 = jp_submit_body(s2, sizeof s2, "fb-2", "request", "test", 2);
    jp_items it = {0};
    /* No items at all. */
    fb_send_pack(ident, idl, "", 0);
    /* A header length past the end of the frame. */
    jp_item(&it, h1, l1, "SUBMIT", s1, b1);
    pack_put_len(it.p, 60000);
    fb_send_pack(ident, idl, it.p, it.len);
    /* Bytes after the last item. */
    it.len = 0;
    jp_item(&it, h1, l1, "SUBMIT", s1, b1);
    jp_items_put(&it, "\x00", 1);
    fb_send_pack(ident, idl, it.p, it.len);
    /* A length cut short. */
    fb_send_pack(ident, idl, "\x00\x00", 2);
    /* A bad header and an unknown command: the items skipped, the good
     * ones around them filed. */
    it.len = 0;
    jp_item(&it, bad_h, 5, "SUBMIT", s1, b1);
    jp_item(&it, h1, l1, "SUBMIT", s1, b1);
    jp_item(&it, h1, l1, "NOSUCHCMD", s1, b1);
    jp_item(&it, h2, l2, "SUBMIT", s2, b2);
    fb_send_pack(ident, idl, it.p, it.len);
    for (int i = 0; i < 10 && filed < 2; i++) {
        fb_next(ident, &idl, cmd, sizeof cmd, &filed);
        if (!cmd[0])
            break;
    }
    is_int(filed, 2, "a real worker files the good jobs of a PACK, skipping the bad items and "
                     "surviving the malformed PACKs before it");
    ok(tl_alive(w), "the worker is alive after the malformed PACKs");
    tl_stop(w);
    zmq_close(fb);
    free(it.p);
}

int main(void)
{
    tl_env env;
    pid_t b, w1;
    if (fakeworker_start(&env, "jobpack", &b, &w1) != 0)
        return 1;

    /* 1. Packed. */
    settle();
    uint64_t completed0 = counter("completed"), packs0 = counter("job_packs"),
             packed0 = counter("jobs_packed"), bad0 = counter("bad_worker_messages");
    int filed, heard[2];
    burst(env.intake, "packed", &filed, heard);
    is_int(filed, BURST, "packed JOBs: every SUBMIT of a burst of %d is answered FILED", BURST);
    ok(heard[0] == BURST && heard[1] == BURST,
       "packed JOBs: both members get every DISPATCH (%d, %d)", heard[0], heard[1]);
    is_int((long)(counter("completed") - completed0), BURST, "STATUS counts %d completed", BURST);
    uint64_t packs = counter("job_packs") - packs0, packed = counter("jobs_packed") - packed0;
    ok(packs > 0 && packed > packs && packed <= BURST,
       "the broker sent JOBs packed: %llu JOBs in %llu PACKs", (unsigned long long)packed,
       (unsigned long long)packs);
    is_int((long)(counter("bad_worker_messages") - bad0), 0, "no bad worker message");

    /* 2. A worker with --single-messages. */
    tl_stop(w1);
    pid_t w2 = tl_worker(&env, "w2", (const char *const[]){"--single-messages", NULL});
    tl_sleep_ms(300);
    if (tl_wait_workers(&env, 10000) != 0)
        diag("w2 did not come up");
    packs0 = counter("job_packs");
    completed0 = counter("completed");
    fakeworker_serves(&env);
    is_int((long)(counter("job_packs") - packs0), 0,
           "--single-messages: the worker gets single JOBs, no PACK");
    is_int((long)(counter("completed") - completed0), BURST, "--single-messages: %d completed",
           BURST);
    tl_stop(w2);
    tl_sleep_ms(300);

    /* 3. Fake workers: an old one gets JOBs, a new one PACKs. */
    void *cli = dealer(env.intake, "jp-client");
    void *old = dealer(env.workers, "old-worker");
    jp_send_ready(old, "old", 64, 0);
    for (int i = 0; i < 8; i++) {
        char id[32];
        snprintf(id, sizeof id, "old-%d", i);
        jp_send_submit(cli, id, "request", "test", (uint64_t)i + 1);
    }
    got_jobs g = {.alert_at = -1};
    read_jobs(old, &g, 8);
    ok(g.jobs == 8 && g.job_msgs == 8 && g.pack_msgs == 0 && g.bad == 0,
       "a worker whose READY has no \"pack\" gets 8 single JOBs (%d jobs, %d JOB, %d PACK, %d bad)",
       g.jobs, g.job_msgs, g.pack_msgs, g.bad);
    send_frames(old, (const void *[]){"GL/1", "BYE", "\x80"}, (size_t[]){4, 3, 1}, 3);
    zmq_close(old);

    void *neww = dealer(env.workers, "new-worker");
    jp_send_ready(neww, "new", 64, 1);
    tl_sleep_ms(200);
    /* The 8 handed back by the old one come first, then 24 more sent at once. */
    for (int i = 0; i < 24; i++) {
        char id[32];
        snprintf(id, sizeof id, "new-%d", i);
        jp_send_submit(cli, id, "request", "test", (uint64_t)i + 100);
    }
    got_jobs h = {.alert_at = -1};
    read_jobs(neww, &h, 32);
    ok(h.jobs == 32 && h.pack_msgs > 0 && h.max_items > 1 && h.bad == 0,
       "a worker that says \"pack\" gets its 32 JOBs in PACKs laid out as the spec says (%d jobs, "
       "%d PACKs of at most %d, %d JOB, %d bad)",
       h.jobs, h.pack_msgs, h.max_items, h.job_msgs, h.bad);
    int in_order = h.jobs == 32;
    for (int i = 0; i < 8 && in_order; i++) {
        char want[32];
        snprintf(want, sizeof want, "old-%d", i);
        in_order = strcmp(h.ids[i], want) == 0;
    }
    for (int i = 0; i < 24 && in_order; i++) {
        char want[32];
        snprintf(want, sizeof want, "new-%d", i);
        in_order = strcmp(h.ids[8 + i], want) == 0;
    }
    ok(in_order, "the jobs came in order, those handed back by the old worker first");

    /* 4. Alerts first: the fake holds 32 routine jobs, the broker's
     * routine window (32): more routine ones wait in the broker, and an
     * alert behind them goes out at once. */
    for (int i = 0; i < 10; i++) {
        char id[32];
        snprintf(id, sizeof id, "held-%d", i);
        jp_send_submit(cli, id, "request", "test", (uint64_t)i + 200);
    }
    jp_send_submit(cli, "alert-1", "alert", "test", 300);
    got_jobs a = {.alert_at = -1};
    read_jobs(neww, &a, 1);
    ok(a.jobs == 1 && a.alert_at == 0 && strcmp(a.ids[0], "alert-1") == 0,
       "an alert goes to the worker ahead of the routine jobs waiting in the broker (%d jobs, "
       "first %s)",
       a.jobs, a.jobs ? a.ids[0] : "none");

    /* The fake leaves: its jobs go to a real worker, which files them. */
    send_frames(neww, (const void *[]){"GL/1", "BYE", "\x80"}, (size_t[]){4, 3, 1}, 3);
    zmq_close(neww);
    pid_t w3 = tl_worker(&env, "w3", NULL);
    is_int(read_filed(cli, 43), 43,
           "the jobs of the workers that left (single and packed) and the 10 waiting are filed "
           "by a real worker: 43 FILED");
    zmq_close(cli);

    /* 5. Malformed PACKs to a real worker. */
    fake_broker(&env);

    ok(tl_alive(b), "the broker is alive");
    tl_stop(w3);
    client_close(&term);
    client_listen_close(&l[0]);
    client_listen_close(&l[1]);
    zmq_ctx_term(ctx);
    return done_testing();
}
