/* fuzz_directory.c — libFuzzer target for the directory loader
 * (common/directory.h).
 *
 * dir_load reads a path, so each input is written to one temporary file made
 * once per process (mkstemp, unlinked at once and reached through
 * /proc/self/fd, so a crash leaves nothing behind). When the input loads, the
 * directory is queried the way a worker does, and what comes back is checked
 * against the input's own JSON (read separately with jansson):
 *   - dir_get_counts matches the sizes of the input's arrays;
 *   - every team and category the input lists is known, with the claimable
 *     flag and time limits (dir_category_policy) the input gives it;
 *   - each community's office and duty team is the one the input names;
 *   - dir_route_event, for events placed by each community, grid, compound
 *     and terminal of the input (and by contradictory or unknown places),
 *     gives at most DIR_MAX_ROUTE distinct, known teams with a role, at most
 *     four known fallbacks ending with county-triage, and sends an unplaced
 *     event to county-triage;
 *   - dir_plan gives known squad teams with deadlines of 1 s to a day.
 * A failed load must leave *out NULL and say why. dir_free must release
 * everything (LeakSanitizer). */
#include "../../common/directory.h"
#include "../../common/gl.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* At most this many ids of each list are used to place events (and the
 * first CROSS_IDS of them in pairs), so that a large input costs a bounded
 * number of routes. Categories: the first few of each kind, the first
 * claimable one, and those of the first few plans. */
#define IDS_PER_LIST 4
#define CROSS_IDS 2
#define CATEGORIES_PER_KIND 2
#define PLAN_CATEGORIES 3
#define MAX_CATEGORIES (3 * CATEGORIES_PER_KIND + 1 + PLAN_CATEGORIES + 1)
#define MAX_STEPS 16

static char input_path[64];
static int input_fd = -1;
static int verbose; /* FUZZ_VERBOSE set: say whether each input loaded */

static void __attribute__((noreturn, format(printf, 1, 2))) broken(const char *fmt, ...);

static void broken(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_directory: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static void remove_input(void)
{
    if (input_path[0] && strncmp(input_path, "/proc/", 6) != 0)
        unlink(input_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    /* TMPDIR if it is short enough for the name to fit input_path */
    const char *tmp = getenv("TMPDIR");
    char name[sizeof input_path];
    if (!tmp || !*tmp || strlen(tmp) > 40)
        tmp = "/tmp";
    snprintf(name, sizeof name, "%s/gl-fuzzdir-XXXXXX", tmp);
    input_fd = mkstemp(name);
    if (input_fd < 0) {
        perror("fuzz_directory: mkstemp");
        exit(1);
    }
    /* Reach the file through its descriptor when /proc allows it, and unlink
     * the name now; otherwise keep the name and unlink it at exit. */
    snprintf(input_path, sizeof input_path, "/proc/self/fd/%d", input_fd);
    if (access(input_path, R_OK) == 0) {
        unlink(name);
    } else {
        snprintf(input_path, sizeof input_path, "%s", name);
        atexit(remove_input);
    }
    return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
    if (ftruncate(input_fd, 0) != 0)
        broken("ftruncate: %s", strerror(errno));
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(input_fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            broken("pwrite: %s", strerror(errno));
        done += (size_t)n;
    }
}

/* ---- The input's own ids ------------------------------------------------- */

typedef struct ids {
    const char *v[MAX_CATEGORIES];
    size_t n, max;
} ids;

static void add_id(ids *l, json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s || l->n >= l->max)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return;
    l->v[l->n++] = s;
}

static size_t cross(const ids *l)
{
    return l->n < CROSS_IDS ? l->n : CROSS_IDS;
}

static size_t array_size_of(json_t *obj, const char *key)
{
    return json_array_size(json_object_get(obj, key));
}

/* ---- Checks -------------------------------------------------------------- */

static void check_counts(const directory *d, json_t *root)
{
    dir_counts c;
    size_t grids = 0, compounds = 0, i;
    json_t *v;
    dir_get_counts(d, &c);
    json_array_foreach (json_object_get(root, "communities"), i, v) {
        grids += array_size_of(v, "grids");
        compounds += array_size_of(v, "compounds");
    }
    static const char *const lists[] = {"communities", "teams", "squads", "owners_committees",
                                        "property_companies", "plans", "terminals"};
    const size_t got[] = {c.communities, c.teams, c.squads, c.owners_committees,
                          c.property_companies, c.plans, c.terminals};
    for (i = 0; i < GL_ARRAY_LEN(lists); i++)
        if (got[i] != array_size_of(root, lists[i]))
            broken("dir_get_counts: %zu %s, the file lists %zu", got[i], lists[i],
                   array_size_of(root, lists[i]));
    if (c.grids != grids || c.compounds != compounds)
        broken("dir_get_counts: %zu grids, %zu compounds; the file lists %zu, %zu", c.grids,
               c.compounds, grids, compounds);
    if (c.emergency_squads > c.squads || c.no_property_compounds > c.compounds)
        broken("dir_get_counts: parts larger than wholes");
}

/* json_uint reads an optional policy value: absent is 0. */
static unsigned json_uint(json_t *obj, const char *key)
{
    return (unsigned)json_integer_value(json_object_get(obj, key));
}

static void check_policy(const directory *d, int kind, json_t *cat, size_t at)
{
    const char *id = json_string_value(json_object_get(cat, "id"));
    dir_policy p;
    memset(&p, 0xa5, sizeof p); /* dir_category_policy must write every member */
    dir_category_policy(d, kind, id, &p);
    if (p.sign_within_s != json_uint(cat, "sign_within_s") ||
        p.resolve_within_s != json_uint(cat, "resolve_within_s") ||
        p.remind_before_s != json_uint(cat, "remind_before_s") ||
        p.lease_s != json_uint(cat, "lease_s"))
        broken("/categories/%s/%zu: dir_category_policy differs from the file",
               gl_kind_name(kind), at);
    if (p.remind_before_s && p.remind_before_s >= p.resolve_within_s)
        broken("/categories/%s/%zu: a reminder not before the deadline was loaded",
               gl_kind_name(kind), at);
    if (p.lease_s && !dir_category_claimable(d, id))
        broken("/categories/%s/%zu: a lease on a category that cannot be claimed",
               gl_kind_name(kind), at);
}

static void check_community(const directory *d, json_t *c, size_t at)
{
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *office = dir_community_office(d, id), *duty = dir_community_duty(d, id);
    if (!office || strcmp(office, json_string_value(json_object_get(c, "office"))) != 0 ||
        !duty || strcmp(duty, json_string_value(json_object_get(c, "duty"))) != 0)
        broken("/communities/%zu: office or duty differs from the file", at);
}

static void check_route(const directory *d, const gl_event *ev, const dir_route *r)
{
    if (r->n < 1 || r->n > DIR_MAX_ROUTE)
        broken("dir_route_event: %d recipients", r->n);
    for (int i = 0; i < r->n; i++) {
        if (!r->to[i].team || !r->to[i].role || !dir_has_team(d, r->to[i].team))
            broken("dir_route_event: recipient %d is not a known team with a role", i);
        for (int j = 0; j < i; j++)
            if (strcmp(r->to[i].team, r->to[j].team) == 0)
                broken("dir_route_event: team '%s' is listed twice", r->to[i].team);
    }
    if (r->nfallback < 1 || r->nfallback > (int)GL_ARRAY_LEN(r->fallback))
        broken("dir_route_event: %d fallbacks", r->nfallback);
    for (int i = 0; i < r->nfallback; i++)
        if (!r->fallback[i] || !dir_has_team(d, r->fallback[i]))
            broken("dir_route_event: fallback %d is not a known team", i);
    if (strcmp(r->fallback[r->nfallback - 1], DIR_TEAM_TRIAGE) != 0)
        broken("dir_route_event: the last fallback is '%s', not %s", r->fallback[r->nfallback - 1],
               DIR_TEAM_TRIAGE);
    if (r->located && !r->community)
        broken("dir_route_event: located without a community");
    if (!r->located && (r->community || r->grid || r->compound))
        broken("dir_route_event: unlocated but with a place");
    if (!r->located || ev->kind < GL_KIND_REQUEST || ev->kind > GL_KIND_FEEDBACK)
        if (strcmp(r->to[0].team, DIR_TEAM_TRIAGE) != 0)
            broken("dir_route_event: an unplaced or unroutable event goes to '%s' first",
                   r->to[0].team);
}

static void check_plan(const directory *d, const char *community, const char *grid,
                       const char *category)
{
    dir_plan_step steps[MAX_STEPS];
    int n = dir_plan(d, community, grid, category, steps, MAX_STEPS);
    if (n < 0 || n > MAX_STEPS)
        broken("dir_plan: %d steps", n);
    for (int i = 0; i < n; i++)
        if (!steps[i].squad || !dir_has_team(d, steps[i].squad) || steps[i].ack_within_s < 1 ||
            steps[i].ack_within_s > 86400)
            broken("dir_plan: step %d is not a known team with a deadline of 1 s to a day", i);
    /* A shorter buffer gets a prefix of the same plan. */
    if (n > 1) {
        dir_plan_step one;
        if (dir_plan(d, community, grid, category, &one, 1) != 1 || one.squad != steps[0].squad)
            broken("dir_plan: max 1 does not give the first step");
    }
}

static void route(const directory *d, gl_event *ev)
{
    static const int kinds[] = {GL_KIND_REQUEST, GL_KIND_ALERT, GL_KIND_FEEDBACK, GL_KIND_NONE};
    for (size_t k = 0; k < GL_ARRAY_LEN(kinds); k++) {
        dir_route r;
        ev->kind = kinds[k];
        dir_route_event(d, ev, &r);
        check_route(d, ev, &r);
    }
}

static void exercise(const directory *d, json_t *root)
{
    ids communities = {.max = IDS_PER_LIST}, grids = {.max = IDS_PER_LIST},
        compounds = {.max = IDS_PER_LIST}, terminals = {.max = IDS_PER_LIST},
        categories = {.max = MAX_CATEGORIES - 1};
    int claimable_seen = 0;
    size_t i, j;
    json_t *v, *w;

    check_counts(d, root);
    json_array_foreach (json_object_get(root, "teams"), i, v) {
        const char *id = json_string_value(json_object_get(v, "id"));
        if (!id || !dir_has_team(d, id))
            broken("/teams/%zu: not known after loading", i);
    }
    for (int kind = GL_KIND_REQUEST; kind <= GL_KIND_FEEDBACK; kind++) {
        json_t *list = json_object_get(json_object_get(root, "categories"), gl_kind_name(kind));
        size_t first = categories.n;
        json_array_foreach (list, i, v) {
            const char *id = json_string_value(json_object_get(v, "id"));
            if (!id || !dir_category_known(d, kind, id))
                broken("/categories/%s/%zu: not known after loading", gl_kind_name(kind), i);
            if (dir_category_claimable(d, id) != (kind == GL_KIND_REQUEST &&
                                                  json_is_true(json_object_get(v, "claimable"))))
                broken("/categories/%s/%zu: claimable is wrong", gl_kind_name(kind), i);
            check_policy(d, kind, v, i);
            int claimable = json_is_true(json_object_get(v, "claimable"));
            if (categories.n - first < CATEGORIES_PER_KIND || (claimable && !claimable_seen))
                add_id(&categories, v, "id");
            claimable_seen |= claimable;
        }
    }
    json_array_foreach (json_object_get(root, "plans"), i, v) {
        if (i >= PLAN_CATEGORIES)
            break;
        add_id(&categories, v, "category");
    }
    dir_policy none;
    dir_category_policy(d, GL_KIND_ALERT, "no-such-category", &none);
    dir_category_policy(d, 99, NULL, &none);
    if (none.sign_within_s || none.resolve_within_s || none.remind_before_s || none.lease_s)
        broken("dir_category_policy: limits for an unknown category");
    if (dir_community_office(d, "no-such-community") || dir_community_duty(d, NULL))
        broken("dir_community_office/duty: a team for an unknown community");
    json_array_foreach (json_object_get(root, "communities"), i, v) {
        check_community(d, v, i);
        add_id(&communities, v, "id");
        json_array_foreach (json_object_get(v, "grids"), j, w)
            add_id(&grids, w, "id");
        json_array_foreach (json_object_get(v, "compounds"), j, w)
            add_id(&compounds, w, "id");
    }
    json_array_foreach (json_object_get(root, "terminals"), i, v)
        add_id(&terminals, v, "id");
    categories.v[categories.n++] = "no-such-category";

    for (size_t c = 0; c < categories.n; c++) {
        gl_event ev = {.id = "fuzz-1", .category = categories.v[c], .text = "fuzz"};
        /* Placed by each kind of place alone, by a terminal, by nothing, by
         * an unknown place, and by an empty string (which counts as absent). */
        for (i = 0; i < communities.n; i++) {
            ev.community = communities.v[i];
            route(d, &ev);
            check_plan(d, ev.community, NULL, ev.category);
        }
        ev.community = NULL;
        for (i = 0; i < grids.n; i++) {
            ev.grid = grids.v[i];
            route(d, &ev);
            check_plan(d, NULL, ev.grid, ev.category);
            /* The grid with every community: all but its own contradict it. */
            for (j = 0; i < CROSS_IDS && j < cross(&communities); j++) {
                ev.community = communities.v[j];
                route(d, &ev);
                check_plan(d, ev.community, ev.grid, ev.category);
            }
            ev.community = NULL;
        }
        ev.grid = NULL;
        for (i = 0; i < compounds.n; i++) {
            ev.compound = compounds.v[i];
            route(d, &ev);
            for (j = 0; i < CROSS_IDS && j < cross(&grids); j++) {
                ev.grid = grids.v[j];
                route(d, &ev);
            }
            ev.grid = NULL;
        }
        ev.compound = "no-such-compound";
        route(d, &ev);
        ev.compound = NULL;
        for (i = 0; i < terminals.n; i++) {
            ev.terminal = terminals.v[i];
            route(d, &ev);
        }
        ev.terminal = "no-such-terminal";
        route(d, &ev);
        ev.terminal = NULL;
        route(d, &ev);
        ev.community = "";
        ev.grid = "";
        route(d, &ev);
        ev.grid = "no-such-grid";
        route(d, &ev);
        check_plan(d, "no-such-community", "no-such-grid", ev.category);
        check_plan(d, NULL, NULL, ev.category);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    directory *d = (directory *)1; /* dir_load must set it on every path */
    char err[512];
    write_input(data, size);
    int rc = dir_load(input_path, &d, err, sizeof err);
    if (verbose)
        fprintf(stderr, "fuzz_directory: %s\n", rc ? err : "loaded");
    if (rc != 0) {
        if (d != NULL)
            broken("dir_load failed (%s) but set *out", gl_errname(rc));
        if (rc != GL_ECONFIG && rc != GL_EINTERNAL)
            broken("dir_load returned %d (%s) for a readable file: %s", rc, gl_errname(rc), err);
        if (err[0] == '\0')
            broken("dir_load failed without a message");
        return 0;
    }
    if (!d)
        broken("dir_load succeeded without a directory");
    /* The loader accepted the file, so jansson reads it too. */
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!root)
        broken("dir_load accepted a file that jansson alone refuses");
    exercise(d, root);
    json_decref(root);
    dir_free(&d);
    if (d != NULL)
        broken("dir_free did not clear the pointer");
    dir_free(&d);
    return 0;
}
