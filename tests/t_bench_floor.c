/* The floor instrument (bench/floor_broker.c, bench_throughput --floor,
 * bench/README.md "Session 9"): what it sends must be what gridline sends,
 * or its figures say nothing about gridline's topology.
 *
 * - For 2,000 events of the benchmark's mix (every kind, category, grid
 *   and compound of the demo county), the FILED floor_filed writes is the
 *   codec's FILED for the same event byte for byte; each DISPATCH
 *   floor_dispatch writes decodes as a DISPATCH, goes to the teams the
 *   worker's routing picks, and has the size of the DISPATCH the worker
 *   encodes (the event record with the location the directory resolved,
 *   without the contact for the roles that may not see it).
 * - A SUBMIT body cut short anywhere, or not a map, is refused by
 *   floor_submit_read (under SANITIZE=address: without a read past it).
 * - bench_throughput --floor hop --quick (from the bench folder next to
 *   this test's) exits 0 with events filed and dispatches delivered to
 *   every team of the county, the floor's processes stopped cleanly. */
#include "../bench/bench_county.h"
#include "../bench/bench_floor.h"
#include "../proto/proto.h"
#include "support/testlib.h"
#include "tap.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tl_env env;

static int encode(const proto_msg *m, msgpack_sbuffer *sb)
{
    sb->size = 0;
    return proto_encode(m, sb);
}

static void check_bodies(void)
{
    char err[600];
    bench_county county;
    mix_cfg mix;
    directory *dir = NULL;
    if (county_load(&county, env.directory, err, sizeof err) != 0 ||
        mix_init(&mix, &county, 5, 20, 300, 600) != 0 ||
        dir_load(env.directory, &dir, err, sizeof err) != 0) {
        ok(0, "the demo county loads: %s", err);
        return;
    }
    msgpack_sbuffer sub, want, got;
    msgpack_sbuffer_init(&sub);
    msgpack_sbuffer_init(&want);
    msgpack_sbuffer_init(&got);
    mix_scratch sc = {.cfg = &mix};
    gl_arena arena = {0};
    long events = 0, read_ok = 0, filed_same = 0, routes_same = 0, dispatches = 0,
         disp_decode = 0, disp_size = 0, disp_fields = 0, hidden = 0, resolved = 0;
    for (uint64_t k = 0; k < 2000; k++) {
        char id[48];
        snprintf(id, sizeof id, "%012" PRIx64 "-t%02d-%" PRIu64, UINT64_C(0x1944f3a2b1c0) + k,
                 (int)(k % 16), k);
        proto_msg m;
        memset(&m, 0, sizeof m);
        m.cmd = PROTO_SUBMIT;
        m.rid = k % 7 ? k << 16 | 3 : 0; /* some without a rid */
        mix_event(&sc, k, id, m.rid, &m.ev);
        if (encode(&m, &sub) != 0)
            continue;
        events++;
        floor_submit s;
        if (floor_submit_read(sub.data, sub.size, &s) != 0)
            continue;
        read_ok++;
        /* the worker's view: the SUBMIT decoded, routed, filed */
        proto_msg in;
        arena_reset(&arena);
        if (proto_decode(PROTO_SUBMIT, sub.data, sub.size, &in, &arena, NULL, 0) != 0)
            continue;
        uint64_t seq = k + 1, now = UINT64_C(1764300000000) + k;
        dir_route route, floor_r;
        gl_event ev = in.ev;
        dir_route_event(dir, &ev, &route);
        floor_route(dir, &s, &floor_r);
        int same = route.n == floor_r.n;
        for (int i = 0; same && i < route.n; i++)
            same = strcmp(route.to[i].team, floor_r.to[i].team) == 0 &&
                   strcmp(route.to[i].role, floor_r.to[i].role) == 0;
        routes_same += same;

        proto_msg f;
        memset(&f, 0, sizeof f);
        f.cmd = PROTO_FILED;
        f.rid = in.rid;
        f.ev.id = in.ev.id;
        f.ev.seq = seq;
        f.ev.kind = in.ev.kind;
        f.ev.state = GL_EV_DISPATCHED;
        mp_writer w = {&got, 0};
        got.size = 0;
        floor_filed(&w, &s, seq);
        if (encode(&f, &want) == 0 && !w.failed && got.size == want.size &&
            memcmp(got.data, want.data, got.size) == 0)
            filed_same++;

        /* the record as worker_route_new leaves it when its DISPATCHes go */
        ev.seq = seq;
        ev.state = GL_EV_FILED;
        ev.created_ms = ev.updated_ms = now;
        if (!ev.community)
            ev.community = route.community;
        if (!ev.grid)
            ev.grid = route.grid;
        if (!ev.compound)
            ev.compound = route.compound;
        resolved += (!in.ev.grid && ev.grid) || (!in.ev.compound && ev.compound);
        for (int i = 0; i < route.n; i++) {
            proto_msg d;
            memset(&d, 0, sizeof d);
            d.cmd = PROTO_DISPATCH;
            d.event = ev.id;
            d.ev = ev;
            d.team = route.to[i].team;
            d.role = route.to[i].role;
            d.state = GL_DS_PENDING;
            d.attempts = 1;
            if (floor_hides_contact(d.role)) {
                d.ev.contact = NULL;
                hidden++;
            }
            got.size = 0;
            w.failed = 0;
            floor_dispatch(&w, &s, &floor_r, seq, d.team, d.role, now);
            dispatches++;
            if (encode(&d, &want) != 0 || w.failed)
                continue;
            disp_size += got.size == want.size;
            proto_msg back;
            if (proto_decode(PROTO_DISPATCH, got.data, got.size, &back, &arena, NULL, 0) != 0)
                continue;
            disp_decode++;
            disp_fields += strcmp(back.event, ev.id) == 0 && back.ev.seq == seq &&
                           strcmp(back.team, d.team) == 0 && strcmp(back.role, d.role) == 0 &&
                           proto_event_same(&back.ev, &d.ev);
        }
    }
    ok(events == 2000 && read_ok == events, "floor_submit_read reads every benchmark SUBMIT (%ld of %ld)",
       read_ok, events);
    ok(routes_same == read_ok, "floor_route picks the worker's teams and roles (%ld of %ld)",
       routes_same, read_ok);
    ok(filed_same == read_ok, "floor_filed writes the codec's FILED byte for byte (%ld of %ld)",
       filed_same, read_ok);
    ok(dispatches > 3000 && disp_decode == dispatches,
       "every floor DISPATCH decodes as a DISPATCH (%ld of %ld)", disp_decode, dispatches);
    ok(disp_fields == dispatches,
       "each carries the event, seq, team, role and the worker's event record (%ld of %ld)",
       disp_fields, dispatches);
    ok(disp_size == dispatches && hidden > 0 && resolved > 0,
       "each has the size of the worker's DISPATCH, contact left out for %ld and a resolved "
       "location added in %ld events (%ld of %ld)",
       hidden, resolved, disp_size, dispatches);

    /* bad input: every prefix of a body, and a body that is not a map */
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_SUBMIT;
    m.rid = 77;
    mix_event(&sc, 3, "0194a2b3c4d5-t01-3", m.rid, &m.ev);
    encode(&m, &sub);
    long refused = 0;
    for (size_t n = 0; n < sub.size; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, sub.data, n);
        floor_submit s;
        refused += floor_submit_read(cut, n, &s) != 0;
        free(cut);
    }
    floor_submit s;
    static const unsigned char not_map[] = {0x93, 0x01, 0x02, 0x03};
    ok(refused == (long)sub.size && floor_submit_read(not_map, sizeof not_map, &s) != 0,
       "a SUBMIT cut short anywhere (%ld prefixes) or not a map is refused", refused);
    arena_free(&arena);
    msgpack_sbuffer_destroy(&sub);
    msgpack_sbuffer_destroy(&want);
    msgpack_sbuffer_destroy(&got);
    dir_free(&dir);
    mix_free(&mix);
    county_free(&county);
}

/* The JSON line bench_throughput prints, parsed; NULL when absent. */
static json_t *json_line(const char *out)
{
    const char *p = strstr(out, "{\"bench\":\"throughput\"");
    if (!p)
        return NULL;
    const char *nl = strchr(p, '\n');
    return json_loadb(p, nl ? (size_t)(nl - p) : strlen(p), 0, NULL);
}

static void check_run(void)
{
    /* bench_throughput and floor_broker are built next to this test's
     * folder: build/rel/bench (Makefile). */
    tl_env benv = env;
    char self[sizeof benv.bin - 16];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        ok(0, "this test finds its own path");
        return;
    }
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(benv.bin, sizeof benv.bin, "%s/../bench", self);
    static char out[1 << 16];
    const char *argv[] = {"bench_throughput", "--floor", "hop", "--quick", NULL};
    int rc = tl_run(&benv, "bench_throughput", argv, out, sizeof out, 60000);
    is_int(rc, 0, "bench_throughput --floor hop --quick exits 0");
    ok(!strstr(out, "did not exit cleanly"),
       "the floor broker and its workers stop cleanly on SIGTERM");
    json_t *j = json_line(out);
    ok(j != NULL, "it prints its JSON line");
    if (!j) {
        diag("output: %s", out);
        return;
    }
    double filed = json_number_value(json_object_get(j, "filed"));
    double disp = json_number_value(json_object_get(j, "dispatches"));
    json_int_t teams = json_integer_value(json_object_get(j, "teams_present"));
    json_int_t errors = json_integer_value(json_object_get(j, "errors"));
    ok(filed > 1000, "the floor files events (%.0f in the window)", filed);
    ok(disp > 1.5 * filed && disp < 2.5 * filed,
       "and delivers about 1.9 dispatches per event, as gridline (%.0f, %.2f per event)", disp,
       filed > 0 ? disp / filed : 0);
    ok(teams == 317 && errors == 0, "to all 317 teams present, with no error (%lld teams, %lld errors)",
       (long long)teams, (long long)errors);
    json_t *floor = json_object_get(j, "floor"), *cpu = json_object_get(j, "cpu_s_per_10k");
    ok(floor && strcmp(json_string_value(floor), "hop") == 0 && !json_object_get(j, "store") &&
           json_object_get(cpu, "broker") && json_object_get(cpu, "w1") &&
           json_object_get(cpu, "bench"),
       "the JSON names the floor, has no store, and CPU per 10k events for broker, w1 and bench");
    json_decref(j);
}

int main(void)
{
    tl_setup(&env, "bench-floor");
    check_bodies();
    check_run();
    return done_testing();
}
