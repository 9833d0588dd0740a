/* Tests for common/directory: the demo county against the seed report's
 * figures, routing of every kind of event, response-plan precedence, and
 * the loader's refusal of bad files with a message that names the place.
 * The demo file is found through $GRIDLINE_DATA (default "data"). */
#include "../common/directory.h"
#include "../common/gl.h"
#include "../common/records.h"
#include "tap.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static directory *dir;

/* route_of routes an event and renders the recipients as "team:role,..." so
 * a whole route is checked in one comparison. */
static const char *route_of(int kind, const char *category, const char *community, const char *grid,
                            const char *compound, const char *terminal, dir_route *r)
{
    static char buf[2048];
    gl_event ev = {.id = "t-1",
                   .kind = kind,
                   .category = category,
                   .community = community,
                   .grid = grid,
                   .compound = compound,
                   .terminal = terminal};
    dir_route_event(dir, &ev, r);
    buf[0] = '\0';
    for (int i = 0; i < r->n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "%s%s:%s", i ? "," : "", r->to[i].team,
                 r->to[i].role);
    }
    return buf;
}

static const char *fallback_of(const dir_route *r)
{
    static char buf[512];
    buf[0] = '\0';
    for (int i = 0; i < r->nfallback; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "%s%s", i ? "," : "", r->fallback[i]);
    }
    return buf;
}

static int has_duplicates(const dir_route *r)
{
    for (int i = 0; i < r->n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(r->to[i].team, r->to[j].team) == 0)
                return 1;
    return 0;
}

static void test_figures(const char *path)
{
    dir_counts c;
    dir_get_counts(dir, &c);
    is_int(c.communities, 29, "29 communities");
    is_int(c.grids, 61, "61 grids (grid party groups)");
    is_int(c.emergency_squads, 53, "53 emergency-rescue squads");
    is_int(c.owners_committees, 51, "51 owners' committees");
    is_int(c.property_companies, 3, "3 property companies");
    is_int(c.compounds, 70, "70 compounds");
    is_int(c.no_property_compounds, 22,
           "22 compounds without a property company (14 branch-led, 8 custodial)");
    is_int(c.squads, 111, "111 squads: 53 emergency + 58 service");
    is_int(c.volunteers, 1163 + 2807, "volunteers of every squad");
    is_int(c.teams, 317, "317 teams");
    is_int(c.plans, 49, "49 response plans");
    is_int(c.terminals, 105, "105 terminals");

    /* Figures the counts do not carry, read from the file itself. */
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    ok(root != NULL, "the demo file parses as JSON");
    if (!root)
        return;
    int stars[6] = {0}, custodial = 0, branch = 0, red = 0, members = 0, volunteers = 0;
    int custodial_routed = 0, branch_routed = 0, property_routed = 0, grids_routed = 0;
    size_t i, j;
    json_t *cm, *v;
    json_array_foreach (json_object_get(root, "communities"), i, cm) {
        const char *cid = json_string_value(json_object_get(cm, "id"));
        char want[256];
        stars[json_integer_value(json_object_get(cm, "stars")) % 6]++;
        json_array_foreach (json_object_get(cm, "grids"), j, v) {
            dir_route r;
            const char *gid = json_string_value(json_object_get(v, "id"));
            route_of(GL_KIND_REQUEST, "repair", NULL, gid, NULL, NULL, &r);
            if (r.located && r.n == 1 &&
                strcmp(r.to[0].team, json_string_value(json_object_get(v, "team"))) == 0 &&
                strcmp(r.community, cid) == 0)
                grids_routed++;
        }
        json_array_foreach (json_object_get(cm, "compounds"), j, v) {
            const char *model = json_string_value(json_object_get(v, "model"));
            const char *kid = json_string_value(json_object_get(v, "id"));
            dir_route r;
            route_of(GL_KIND_FEEDBACK, "leak", NULL, NULL, kid, NULL, &r);
            const char *got = route_of(GL_KIND_FEEDBACK, "leak", NULL, NULL, kid, NULL, &r);
            if (strcmp(model, "custodial") == 0) {
                custodial++;
                snprintf(want, sizeof want, "%s:property,",
                         json_string_value(json_object_get(v, "custodian")));
                custodial_routed += strncmp(got, want, strlen(want)) == 0;
            } else if (strcmp(model, "branch") == 0) {
                branch++;
                snprintf(want, sizeof want, "%s-branch:property,", cid);
                branch_routed += strncmp(got, want, strlen(want)) == 0;
            } else {
                snprintf(want, sizeof want, "%s-team:property,oc-%s-team:owners,",
                         json_string_value(json_object_get(v, "property")), kid);
                property_routed += strncmp(got, want, strlen(want)) == 0;
            }
            red += json_is_true(json_object_get(v, "red_property"));
        }
    }
    json_array_foreach (json_object_get(root, "owners_committees"), i, v)
        members += (int)json_integer_value(json_object_get(v, "members"));
    json_array_foreach (json_object_get(root, "squads"), i, v)
        if (strcmp(json_string_value(json_object_get(v, "kind")), "emergency") == 0)
            volunteers += (int)json_integer_value(json_object_get(v, "volunteers"));
    ok(stars[5] == 7 && stars[4] == 18 && stars[3] == 4,
       "7 five-star, 18 four-star, 4 three-star communities (got %d/%d/%d)", stars[5], stars[4],
       stars[3]);
    is_int(custodial, 8, "8 old compounds in custodial care");
    is_int(branch, 14, "14 branch-led compounds");
    is_int(red, 12, "12 red-property compounds");
    is_int(members, 261, "261 owners' committee members");
    ok(volunteers >= 1160 && volunteers < 1170, "about 1160 emergency volunteers (%d)", volunteers);
    is_int(grids_routed, 61, "a request at each of the 61 grids goes to that grid's team only");
    is_int(custodial_routed, 8, "feedback at each custodial compound goes to its custodian");
    is_int(branch_routed, 14,
           "feedback at each branch-led compound goes to the community's branch");
    is_int(property_routed, 48, "feedback at each of the 48 managed compounds goes to its company");
    json_decref(root);
}

static void test_lookups(void)
{
    ok(dir_has_team(dir, DIR_TEAM_TRIAGE) && dir_has_team(dir, DIR_TEAM_COORDINATORS),
       "county-triage and county-coordinators exist");
    ok(dir_has_team(dir, "heping-g1-team"), "a grid team exists");
    ok(!dir_has_team(dir, "nobody") && !dir_has_team(dir, NULL), "unknown or NULL team: no");
    ok(dir_category_known(dir, GL_KIND_ALERT, "fall"), "fall is an alert category");
    ok(!dir_category_known(dir, GL_KIND_REQUEST, "fall"), "fall is not a request category");
    ok(!dir_category_known(dir, GL_KIND_NONE, "fall"), "no categories for kind NONE");
    ok(dir_category_claimable(dir, "micro-wish") && dir_category_claimable(dir, "service-order") &&
           dir_category_claimable(dir, "daily-help"),
       "micro-wish, service-order, daily-help are claimable");
    ok(!dir_category_claimable(dir, "repair") && !dir_category_claimable(dir, "nope"),
       "repair and unknown categories are not claimable");
}

static void test_requests(void)
{
    dir_route r;
    is_str(route_of(GL_KIND_REQUEST, "repair", "heping", "heping-g1", NULL, NULL, &r),
           "heping-g1-team:grid", "request → the grid team");
    ok(r.located, "request located");
    is_str(fallback_of(&r), "heping-office,county-triage", "request fallback: office, then triage");
    is_str(route_of(GL_KIND_REQUEST, "repair", NULL, NULL, "heping-c2", NULL, &r),
           "heping-g2-team:grid", "a compound alone gives its grid");
    ok(r.located && r.grid && strcmp(r.grid, "heping-g2") == 0 && r.community &&
           strcmp(r.community, "heping") == 0 && r.compound && strcmp(r.compound, "heping-c2") == 0,
       "the resolved location is filled in");
    is_str(route_of(GL_KIND_REQUEST, "micro-wish", NULL, "mingzhu-g1", NULL, NULL, &r),
           "mingzhu-g1-team:grid,sq-mingzhu-redvest-team:claim,sq-mingzhu-party-team:claim",
           "claimable request → grid team + the community's service squads");
    is_str(route_of(GL_KIND_REQUEST, "paperwork", "xijie", NULL, NULL, NULL, &r),
           "xijie-office:community", "community but no grid → community office");
    is_str(route_of(GL_KIND_REQUEST, "daily-help", "xijie", NULL, NULL, NULL, &r),
           "xijie-office:community,sq-xijie-redvest-team:claim,sq-xijie-party-team:claim",
           "claimable request without a grid → office + service squads");
    is_str(route_of(GL_KIND_REQUEST, "no-such-category", NULL, "heping-g3", NULL, NULL, &r),
           "heping-g3-team:grid", "an unknown category still routes");
    is_str(route_of(GL_KIND_REQUEST, "repair", NULL, NULL, NULL, "xinsheng-desk", &r),
           "xinsheng-office:community", "a service desk alone places the event in its community");
    is_str(route_of(GL_KIND_REQUEST, "repair", NULL, "mingzhu-g2", NULL, "xinsheng-desk", &r),
           "mingzhu-g2-team:grid", "the event's own location beats its terminal's");
    is_str(route_of(GL_KIND_REQUEST, "repair", "", "heping-g1", "", NULL, &r),
           "heping-g1-team:grid", "empty location strings count as absent");
}

static void test_alerts(void)
{
    dir_route r;
    is_str(route_of(GL_KIND_ALERT, "fire", "heping", "heping-g1", NULL, NULL, &r),
           "county-coordinators:coordinator,heping-duty:coordinator,heping-g1-team:grid,"
           "sq-heping-rescue-1-team:squad",
           "alert → coordinators + duty + grid team + first squad of the plan");
    is_str(fallback_of(&r), "county-triage", "alert fallback: triage");
    is_str(route_of(GL_KIND_ALERT, "fall", NULL, NULL, NULL, "heping-callbox-02", &r),
           "county-coordinators:coordinator,heping-duty:coordinator,heping-g2-team:grid,"
           "sq-heping-rescue-2-team:squad",
           "a call box alone → its grid, and the grid's fall plan");
    ok(r.located && r.grid && strcmp(r.grid, "heping-g2") == 0, "call box located at heping-g2");
    is_str(route_of(GL_KIND_ALERT, "gas", NULL, NULL, "anju-c1", NULL, &r),
           "county-coordinators:coordinator,anju-duty:coordinator,anju-g1-team:grid,"
           "sq-dongjie-rescue-1-team:squad",
           "no local gas plan → the county's first squad");
    is_str(route_of(GL_KIND_ALERT, "no-such-alert", NULL, "anju-g2", NULL, NULL, &r),
           "county-coordinators:coordinator,anju-duty:coordinator,anju-g2-team:grid",
           "an alert with no plan still reaches coordinators and the grid");
}

static void test_feedback(void)
{
    dir_route r;
    is_str(route_of(GL_KIND_FEEDBACK, "elevator", NULL, NULL, "mingzhu-c1", NULL, &r),
           "pc-anhe-team:property,oc-mingzhu-c1-team:owners,mingzhu-office:informed",
           "feedback → property company + owners' committee + community informed");
    is_str(fallback_of(&r), "mingzhu-office,county-triage", "feedback fallback: office, triage");
    is_str(route_of(GL_KIND_FEEDBACK, "cleaning", NULL, NULL, "anju-c1", NULL, &r),
           "anju-branch:property,anju-office:informed",
           "branch-led compound → the community's party branch stands in for a company");
    is_str(route_of(GL_KIND_FEEDBACK, "fees", NULL, NULL, "taixi-c1", NULL, &r),
           "taixi-branch:property,oc-taixi-c1-team:owners,taixi-office:informed",
           "branch-led compound with a red owners' committee");
    is_str(route_of(GL_KIND_FEEDBACK, "leak", NULL, NULL, "yuhuangge-c1", NULL, &r),
           "custodian-north:property,yuhuangge-office:informed",
           "custodial compound → the custodian");
    is_str(route_of(GL_KIND_FEEDBACK, "parking", "kanghu", "kanghu-g2", NULL, NULL, &r),
           "kanghu-office:community", "no compound → the community office");
}

static void test_unlocated(void)
{
    dir_route r;
    static const struct {
        const char *community, *grid, *compound, *terminal, *why;
    } cases[] = {
        {NULL, "heping-g9", NULL, NULL, "unknown grid"},
        {"atlantis", NULL, NULL, NULL, "unknown community"},
        {NULL, NULL, "nowhere-c1", NULL, "unknown compound"},
        {"atlantis", "heping-g1", NULL, NULL, "known grid, unknown community"},
        {"mingzhu", "heping-g1", NULL, NULL, "grid of another community"},
        {NULL, "heping-g1", "mingzhu-c1", NULL, "compound in another grid"},
        {NULL, NULL, NULL, "callbox-99", "unknown terminal only"},
        {NULL, NULL, NULL, NULL, "no location at all"},
    };
    for (size_t i = 0; i < GL_ARRAY_LEN(cases); i++) {
        is_str(route_of(GL_KIND_REQUEST, "repair", cases[i].community, cases[i].grid,
                        cases[i].compound, cases[i].terminal, &r),
               "county-triage:triage", "request, %s → triage", cases[i].why);
        ok(!r.located && !r.community && !r.grid && !r.compound, "%s: not located", cases[i].why);
        is_str(route_of(GL_KIND_ALERT, "fire", cases[i].community, cases[i].grid, cases[i].compound,
                        cases[i].terminal, &r),
               "county-triage:triage,county-coordinators:coordinator",
               "alert, %s → triage + coordinators", cases[i].why);
    }
    is_str(route_of(GL_KIND_FEEDBACK, "leak", NULL, NULL, NULL, NULL, &r), "county-triage:triage",
           "feedback without a place → triage");
    is_str(route_of(GL_KIND_NONE, "repair", NULL, "heping-g1", NULL, NULL, &r),
           "county-triage:triage", "an unknown kind → triage");
    is_str(fallback_of(&r), "county-triage", "every fallback list ends at triage");
}

static void test_no_duplicates(void)
{
    /* A team that is both a grid's first responder and a plan's squad would
     * be dispatched twice; every route over the demo's places is checked. */
    static const char *const places[] = {"heping-g1",  "heping-g2",    "heping-g3", "mingzhu-g1",
                                         "yinmahu-g1", "yuhuangge-g2", "anju-g1"};
    static const char *const alerts[] = {"fire", "medical", "fall", "gas", "flood", "security"};
    int dup = 0, n = 0;
    dir_route r;
    for (size_t i = 0; i < GL_ARRAY_LEN(places); i++) {
        for (size_t j = 0; j < GL_ARRAY_LEN(alerts); j++, n++) {
            route_of(GL_KIND_ALERT, alerts[j], NULL, places[i], NULL, NULL, &r);
            dup += has_duplicates(&r) || r.n != 4;
        }
        route_of(GL_KIND_REQUEST, "micro-wish", NULL, places[i], NULL, NULL, &r);
        dup += has_duplicates(&r);
    }
    is_int(dup, 0, "%d alert routes have 4 distinct recipients, claim routes no repeats", n);
}

static void test_plans(void)
{
    dir_plan_step s[8];
    int n = dir_plan(dir, "heping", "heping-g1", "fall", s, 8);
    ok(n == 3 && strcmp(s[0].squad, "sq-heping-rescue-1-team") == 0 && s[0].ack_within_s == 45,
       "a grid's own plan comes first (heping-g1 fall: 3 steps, 45 s)");
    n = dir_plan(dir, "heping", "heping-g1", "fire", s, 8);
    ok(n == 3 && strcmp(s[0].squad, "sq-heping-rescue-1-team") == 0 && s[0].ack_within_s == 60 &&
           strcmp(s[2].squad, "sq-mingzhu-rescue-1-team") == 0,
       "no grid plan → the community's (heping fire)");
    n = dir_plan(dir, NULL, "heping-g1", "medical", s, 8);
    ok(n == 2 && strcmp(s[0].squad, "sq-heping-rescue-2-team") == 0,
       "the grid's community is used when the community is not given");
    n = dir_plan(dir, "anju", "anju-g1", "gas", s, 8);
    ok(n == 3 && strcmp(s[0].squad, "sq-dongjie-rescue-1-team") == 0 && s[0].ack_within_s == 90,
       "no grid or community plan → the county's");
    n = dir_plan(dir, NULL, NULL, "flood", s, 8);
    ok(n == 2 && strcmp(s[0].squad, "sq-yinmahu-rescue-1-team") == 0, "no place → the county's");
    n = dir_plan(dir, "yinmahu", "yinmahu-g1", "flood", s, 8);
    ok(n == 2 && strcmp(s[0].squad, "sq-yinmahu-rescue-2-team") == 0,
       "yinmahu-g1 has its own flood plan");
    is_int(dir_plan(dir, "heping", "heping-g1", "fall", s, 1), 1, "at most max steps are written");
    is_int(dir_plan(dir, "heping", "heping-g1", "repair", s, 8), 0,
           "no plan for a request category");
    is_int(dir_plan(dir, "heping", "heping-g1", "nope", s, 8), 0,
           "no plan for an unknown category");
}

/* A small valid directory; each bad case below changes one thing in it. */
static const char base_json[] =
    "{\"version\": 1, \"county\": {\"id\": \"t\", \"name\": \"T\"},\n"
    " \"teams\": [{\"id\": \"county-triage\", \"name\": \"t\", \"kind\": \"triage\"},\n"
    "  {\"id\": \"county-coordinators\", \"name\": \"c\", \"kind\": \"coordinators\"},\n"
    "  {\"id\": \"a-office\", \"name\": \"o\", \"kind\": \"community\"},\n"
    "  {\"id\": \"a-duty\", \"name\": \"d\", \"kind\": \"duty\"},\n"
    "  {\"id\": \"a-branch\", \"name\": \"b\", \"kind\": \"branch\"},\n"
    "  {\"id\": \"a-g1-team\", \"name\": \"g\", \"kind\": \"grid\", \"members\": [\"x\"]},\n"
    "  {\"id\": \"sq-a-team\", \"name\": \"s\", \"kind\": \"squad\"}],\n"
    " \"categories\": {\"request\": [{\"id\": \"repair\", \"name\": \"r\"}],\n"
    "  \"alert\": [{\"id\": \"fire\", \"name\": \"f\"}], \"feedback\": []},\n"
    " \"communities\": [{\"id\": \"a\", \"name\": \"A\", \"stars\": 4, \"office\": \"a-office\",\n"
    "  \"duty\": \"a-duty\", \"branch\": \"a-branch\",\n"
    "  \"grids\": [{\"id\": \"a-g1\", \"name\": \"g1\", \"team\": \"a-g1-team\"}],\n"
    "  \"compounds\": [{\"id\": \"a-c1\", \"name\": \"c1\", \"grid\": \"a-g1\",\n"
    "   \"model\": \"branch\"}]}],\n"
    " \"squads\": [{\"id\": \"sq-a\", \"team\": \"sq-a-team\", \"community\": \"a\",\n"
    "  \"kind\": \"emergency\", \"volunteers\": 10}],\n"
    " \"plans\": [{\"id\": \"p\", \"scope\": \"county\", \"category\": \"fire\",\n"
    "  \"steps\": [{\"team\": \"sq-a-team\", \"ack_within_s\": 60}]}],\n"
    " \"terminals\": [{\"id\": \"box\", \"kind\": \"call-box\", \"grid\": \"a-g1\"}]}\n";

static char tmpdir[] = "/tmp/t_directory.XXXXXX";

/* set_at replaces (or adds) the value at a JSON pointer of plain keys and
 * indexes; value NULL deletes it. */
static void set_at(json_t *root, const char *pointer, json_t *value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", pointer);
    json_t *node = root;
    char *save = NULL, *seg = strtok_r(buf, "/", &save);
    while (seg) {
        char *next = strtok_r(NULL, "/", &save);
        if (!next) {
            size_t index = strtoul(seg, NULL, 10);
            if (json_is_array(node) && index >= json_array_size(node))
                json_array_append_new(node, value);
            else if (json_is_array(node))
                json_array_set_new(node, index, value);
            else if (value)
                json_object_set_new(node, seg, value);
            else
                json_object_del(node, seg);
            return;
        }
        node = json_is_array(node) ? json_array_get(node, strtoul(seg, NULL, 10))
                                   : json_object_get(node, seg);
        seg = next;
    }
}

/* try_text writes text to a file in tmpdir, loads it, removes it, and
 * returns the load's result with its message in err. */
static int try_text(const char *text, char *err, size_t errlen)
{
    char path[300];
    snprintf(path, sizeof path, "%s/dir.json", tmpdir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -9999;
    fputs(text, f);
    fclose(f);
    directory *d = (directory *)1;
    int rc = dir_load(path, &d, err, errlen);
    if (rc == 0)
        dir_free(&d);
    else if (d)
        rc = -9998; /* a failed load must leave *out NULL */
    unlink(path);
    return rc;
}

static int try_change(const char *pointer, json_t *value, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loads(base_json, 0, &jerr);
    if (!root)
        return -9997;
    set_at(root, pointer, value);
    char *text = json_dumps(root, JSON_INDENT(1));
    int rc = try_text(text, err, errlen);
    free(text);
    json_decref(root);
    return rc;
}

static void refused(const char *pointer, json_t *value, const char *want, const char *what)
{
    char err[512];
    int rc = try_change(pointer, value, err, sizeof err);
    ok(rc == GL_ECONFIG && strstr(err, want) != NULL, "%s is refused", what);
    if (rc != GL_ECONFIG || !strstr(err, want))
        diag("rc %d, message: %s (wanted '%s')", rc, err, want);
}

static void test_validation(void)
{
    char err[512];
    if (!mkdtemp(tmpdir)) {
        ok(0, "mkdtemp");
        return;
    }
    is_int(try_text(base_json, err, sizeof err), 0, "the small base file loads");

    int rc = try_text("{\"version\": 1,\n \"county\": {\"id\": \"t\",\n  \"name\": \"T\"}\n"
                      " \"teams\": []}\n",
                      err, sizeof err);
    ok(rc == GL_ECONFIG && strstr(err, "line 4"), "a syntax error is refused with its line");
    diag("%s", err);
    rc = try_text("{\"version\": 1,\n \"version\": 1}\n", err, sizeof err);
    ok(rc == GL_ECONFIG && strstr(err, "line 2") && strstr(err, "duplicate"),
       "a duplicate key is refused with its line");
    snprintf(err, sizeof err, "%s/missing.json", tmpdir);
    directory *d = NULL;
    ok(dir_load(err, &d, err, sizeof err) == GL_ESYS && d == NULL, "a missing file gives GL_ESYS");

    refused("/communities/0/grids/0/team", json_string("nope"),
            "/communities/0/grids/0/team: unknown team 'nope'", "an unknown team");
    refused("/teams/2/id", json_string("county-triage"),
            "/teams/2/id: duplicate team id 'county-triage' (also /teams/0)",
            "a duplicate team id");
    refused("/teams/0/id", json_string("triage"), "'county-triage'",
            "a file without county-triage");
    refused("/teams/1/kind", json_string("grid"),
            "/teams/1/kind: team 'county-coordinators' must have kind 'coordinators'",
            "county-coordinators of the wrong kind");
    refused("/communities/0/stars", json_string("4"),
            "/communities/0/stars: expected an integer, got a string",
            "a string where a number belongs");
    refused("/teams", json_object(), "/teams: expected an array, got an object",
            "teams as an object");
    refused("/teams/5/members/0", json_integer(7), "/teams/5/members/0: expected a string",
            "a number among the members");
    refused("/communities/0/grids/0/teem", json_string("x"),
            "/communities/0/grids/0: unknown key 'teem'", "a misspelt key");
    refused("/communities/0/office", json_string("a-duty"),
            "/communities/0/office: team 'a-duty' has kind 'duty', expected 'community'",
            "an office of the wrong team kind");
    refused("/communities/0/name", NULL, "/communities/0: missing required key 'name'",
            "a missing name");
    refused("/communities/0/compounds/0/model", json_string("property"),
            "/communities/0/compounds/0: missing required key 'property'",
            "a property-model compound without a company");
    refused("/communities/0/compounds/0/grid", json_string("b-g1"),
            "/communities/0/compounds/0/grid: unknown grid 'b-g1'",
            "a compound in an unknown grid");
    refused("/communities/0/compounds/0/model", json_string("magic"),
            "/communities/0/compounds/0/model: unknown value 'magic'", "an unknown model");
    refused("/plans/0/steps/0/team", json_string("a-g1-team"),
            "/plans/0/steps/0/team: team 'a-g1-team' has kind 'grid', expected 'squad'",
            "a plan step that is not a squad");
    refused("/plans/0/category", json_string("repair"),
            "/plans/0/category: 'repair' is not an alert category",
            "a plan for a request category");
    refused("/plans/0/steps", json_array(), "/plans/0/steps: a plan has 1 to",
            "a plan without steps");
    refused("/categories/alert/0/claimable", json_true(),
            "/categories/alert/0/claimable: only request categories", "a claimable alert");
    refused("/terminals/0/community", json_string("a"),
            "/terminals/0: a terminal names exactly one of", "a terminal with two places");
    refused("/version", json_integer(2), "/version: format version 2 is not supported",
            "an unknown format version");
    refused("/communities/0/grids/0/id", json_string("a grid"),
            "/communities/0/grids/0/id: 'a grid' is not an id", "an id with a space");
    refused("/owners_committees",
            json_pack("[{s:s, s:s, s:i, s:s}]", "id", "oc", "compound", "a-c1", "members", 5,
                      "team", "a-office"),
            "/owners_committees/0/team: team 'a-office' has kind 'community', expected 'owners'",
            "an owners' committee whose team is a community office");
    refused("/terminals/0/grid", json_string("a-g2"), "/terminals/0/grid: unknown grid 'a-g2'",
            "a terminal in an unknown grid");
    refused("/plans/1",
            json_pack("{s:s, s:s, s:s, s:[{s:s, s:i}]}", "id", "p2", "scope", "county", "category",
                      "fire", "steps", "team", "sq-a-team", "ack_within_s", 30),
            "/plans/1: the county already has a 'fire' plan ('p', /plans/0)",
            "two county plans for one category");
    rmdir(tmpdir);
}

int main(void)
{
    const char *data = getenv("GRIDLINE_DATA");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/demo-county.json", data && *data ? data : "data");

    int rc = dir_load(path, &dir, err, sizeof err);
    ok(rc == 0 && dir != NULL, "the demo county loads (%s)", path);
    if (rc) {
        diag("%s", err);
        return done_testing();
    }
    test_figures(path);
    test_lookups();
    test_requests();
    test_alerts();
    test_feedback();
    test_unlocated();
    test_no_duplicates();
    test_plans();
    test_validation();
    dir_free(&dir);
    ok(dir == NULL, "dir_free clears the pointer");
    dir_free(&dir);
    dir_free(NULL);
    ok(1, "dir_free accepts NULL");
    return done_testing();
}
