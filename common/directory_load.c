/* directory_load.c — reading and validating a directory file (format:
 * data/README.md). Every check reports the first problem with the JSON
 * pointer of the value at fault, so whoever edits the county's file can go
 * straight to it. */
#include "directory.h"
#include "directory_impl.h"
#include "directory_json.h"
#include "gl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR_FORMAT_VERSION 1
#define DIR_MAX_STEPS      8     /* steps in one response plan */
#define DIR_MAX_ACK_S      86400 /* a plan step's deadline, at most a day */

typedef struct loader {
    dirjson j;
    directory *d;
} loader;

/* get_team reads a team reference and checks the team's kind (0: any). */
static int get_team(loader *l, const char *path, json_t *obj, const char *key, int required,
                    int kind, const dir_team **out)
{
    const char *id;
    int rc = dirjson_id(&l->j, path, obj, key, required, &id);
    *out = NULL;
    if (rc || !id)
        return rc;
    const dir_team *t = dir_map_get(&l->d->teams, id);
    if (!t)
        return dirjson_fail(&l->j, "%s/%s: unknown team '%s'", path, key, id);
    if (kind && t->kind != kind)
        return dirjson_fail(&l->j, "%s/%s: team '%s' has kind '%s', expected '%s'", path, key, id,
                            dir_team_kind_name(t->kind), dir_team_kind_name(kind));
    *out = t;
    return 0;
}

static int load_county(loader *l, json_t *root)
{
    static const char *const keys[] = {"id", "name", "region", NULL};
    json_t *c = json_object_get(root, "county");
    const char *region;
    int rc;
    if (!c)
        return dirjson_fail(&l->j, "top level: missing required key 'county'");
    if ((rc = dirjson_object(&l->j, "/county", c)) ||
        (rc = dirjson_keys(&l->j, "/county", c, keys)) ||
        (rc = dirjson_id(&l->j, "/county", c, "id", 1, &l->d->county_id)) ||
        (rc = dirjson_name(&l->j, "/county", c, &l->d->county_name)) ||
        (rc = dirjson_str(&l->j, "/county", c, "region", 0, GL_MAX_SHORT, 0, &region)))
        return rc;
    return 0;
}

static int load_teams(loader *l, json_t *root)
{
    static const char *const keys[] = {"id", "name", "kind", "members", NULL};
    static const char *const kinds[] = {"triage", "coordinators", "grid",      "community",
                                        "duty",   "branch",       "custodian", "property",
                                        "owners", "squad",        NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, "", root, "teams", 1, &arr);
    if (rc)
        return rc;
    if (dir_map_init(&d->teams, &d->arena, json_array_size(arr)))
        return dirjson_nomem(&l->j);
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/teams/%zu", i);
        dir_team *t = dirjson_alloc(&l->j, sizeof *t);
        if (!t)
            return dirjson_nomem(&l->j);
        t->at = i;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &t->id)) ||
            (rc = dirjson_name(&l->j, p, v, &t->name)) ||
            (rc = dirjson_enum(&l->j, p, v, "kind", kinds, &t->kind)) ||
            (rc = dirjson_list(&l->j, p, v, "members", GL_MAX_ID, 0, &t->members, &t->nmembers)))
            return rc;
        const dir_team *old = dir_map_put(&d->teams, t->id, t);
        if (old)
            return dirjson_fail(&l->j, "%s/id: duplicate team id '%s' (also /teams/%zu)", p, t->id,
                                old->at);
    }
    static const struct {
        const char *id;
        int kind;
    } required[] = {{DIR_TEAM_TRIAGE, DIR_TK_TRIAGE}, {DIR_TEAM_COORDINATORS, DIR_TK_COORDINATORS}};
    for (i = 0; i < GL_ARRAY_LEN(required); i++) {
        const dir_team *t = dir_map_get(&d->teams, required[i].id);
        if (!t)
            return dirjson_fail(&l->j, "/teams: the team '%s' (kind %s) is required",
                                required[i].id, dir_team_kind_name(required[i].kind));
        if (t->kind != required[i].kind)
            return dirjson_fail(&l->j, "/teams/%zu/kind: team '%s' must have kind '%s'", t->at,
                                t->id, dir_team_kind_name(required[i].kind));
    }
    d->triage = dir_map_get(&d->teams, DIR_TEAM_TRIAGE);
    d->coordinators = dir_map_get(&d->teams, DIR_TEAM_COORDINATORS);
    d->counts.teams = json_array_size(arr);
    return 0;
}

/* The optional time limits of a category, each 1 s .. 365 days. */
static int load_policy(loader *l, const char *p, json_t *v, dir_policy *policy)
{
    static const char *const keys[] = {"sign_within_s", "resolve_within_s", "remind_before_s",
                                       "lease_s"};
    unsigned *fields[] = {&policy->sign_within_s, &policy->resolve_within_s,
                          &policy->remind_before_s, &policy->lease_s};
    for (size_t i = 0; i < GL_ARRAY_LEN(keys); i++) {
        long long n;
        int rc;
        if (!json_object_get(v, keys[i]))
            continue;
        if ((rc = dirjson_int(&l->j, p, v, keys[i], 1, 365LL * 86400, &n)))
            return rc;
        *fields[i] = (unsigned)n;
    }
    if (policy->remind_before_s && policy->remind_before_s >= policy->resolve_within_s)
        return dirjson_fail(&l->j, "%s/remind_before_s: must be less than resolve_within_s", p);
    return 0;
}

static int load_categories(loader *l, json_t *root)
{
    static const char *const keys[] = {"request", "alert", "feedback", NULL};
    static const char *const item_keys[] = {"id", "name", "claimable", "sign_within_s",
                                            "resolve_within_s", "remind_before_s", "lease_s",
                                            NULL};
    directory *d = l->d;
    json_t *cats = json_object_get(root, "categories");
    int rc;
    if (!cats)
        return dirjson_fail(&l->j, "top level: missing required key 'categories'");
    if ((rc = dirjson_object(&l->j, "/categories", cats)) ||
        (rc = dirjson_keys(&l->j, "/categories", cats, keys)))
        return rc;
    for (int kind = GL_KIND_REQUEST; kind <= GL_KIND_FEEDBACK; kind++) {
        const char *kname = gl_kind_name(kind);
        json_t *arr, *v;
        size_t i;
        if ((rc = dirjson_array(&l->j, "/categories", cats, kname, 1, &arr)))
            return rc;
        if (dir_map_init(&d->categories[kind], &d->arena, json_array_size(arr)))
            return dirjson_nomem(&l->j);
        json_array_foreach (arr, i, v) {
            char p[DIRJSON_PATH_LEN];
            dirjson_path(p, sizeof p, "/categories/%s/%zu", kname, i);
            dir_category *c = dirjson_alloc(&l->j, sizeof *c);
            if (!c)
                return dirjson_nomem(&l->j);
            c->kind = kind;
            c->at = i;
            if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, item_keys)) ||
                (rc = dirjson_id(&l->j, p, v, "id", 1, &c->id)) ||
                (rc = dirjson_name(&l->j, p, v, &c->name)) ||
                (rc = dirjson_bool(&l->j, p, v, "claimable", &c->claimable)))
                return rc;
            if (c->claimable && kind != GL_KIND_REQUEST)
                return dirjson_fail(&l->j, "%s/claimable: only request categories can be claimed",
                                    p);
            if ((rc = load_policy(l, p, v, &c->policy)))
                return rc;
            if (c->policy.lease_s && !c->claimable)
                return dirjson_fail(&l->j, "%s/lease_s: only claimable categories have a lease", p);
            const dir_category *old = dir_map_put(&d->categories[kind], c->id, c);
            if (old)
                return dirjson_fail(&l->j,
                                    "%s/id: duplicate %s category '%s' (also /categories/%s/%zu)",
                                    p, kname, c->id, kname, old->at);
            if (kind == GL_KIND_ALERT)
                c->alert_index = d->nalert++;
        }
    }
    d->county_plans = dirjson_alloc(&l->j, d->nalert * sizeof *d->county_plans);
    return d->county_plans ? 0 : dirjson_nomem(&l->j);
}

static int load_properties(loader *l, json_t *root)
{
    static const char *const keys[] = {"id", "name", "team", NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, "", root, "property_companies", 0, &arr);
    if (rc)
        return rc;
    if (dir_map_init(&d->properties, &d->arena, json_array_size(arr)))
        return dirjson_nomem(&l->j);
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/property_companies/%zu", i);
        dir_property *pc = dirjson_alloc(&l->j, sizeof *pc);
        if (!pc)
            return dirjson_nomem(&l->j);
        pc->at = i;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &pc->id)) ||
            (rc = dirjson_name(&l->j, p, v, &pc->name)) ||
            (rc = get_team(l, p, v, "team", 1, DIR_TK_PROPERTY, &pc->team)))
            return rc;
        const dir_property *old = dir_map_put(&d->properties, pc->id, pc);
        if (old)
            return dirjson_fail(&l->j,
                                "%s/id: duplicate property company id '%s' (also "
                                "/property_companies/%zu)",
                                p, pc->id, old->at);
    }
    d->counts.property_companies = json_array_size(arr);
    return 0;
}

/* count_nested adds up the sizes of every community's grids or compounds
 * array, to size the maps before the communities are read (wrong types are
 * reported later, when each community is checked). */
static size_t count_nested(json_t *communities, const char *key)
{
    size_t n = 0, i;
    json_t *v;
    json_array_foreach (communities, i, v) {
        json_t *a = json_is_object(v) ? json_object_get(v, key) : NULL;
        n += json_is_array(a) ? json_array_size(a) : 0;
    }
    return n;
}

static int load_grids(loader *l, const char *cpath, json_t *cv, dir_community *c)
{
    static const char *const keys[] = {"id", "name", "team", NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, cpath, cv, "grids", 1, &arr);
    if (rc)
        return rc;
    json_array_foreach (arr, i, v) {
        dir_grid *g = dirjson_alloc(&l->j, sizeof *g);
        if (!g)
            return dirjson_nomem(&l->j);
        dirjson_path(g->path, sizeof g->path, "%s/grids/%zu", cpath, i);
        g->community = c;
        g->plans = dirjson_alloc(&l->j, d->nalert * sizeof *g->plans);
        if (!g->plans)
            return dirjson_nomem(&l->j);
        const char *p = g->path;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &g->id)) ||
            (rc = dirjson_name(&l->j, p, v, &g->name)) ||
            (rc = get_team(l, p, v, "team", 1, DIR_TK_GRID, &g->team)))
            return rc;
        const dir_grid *old = dir_map_put(&d->grids, g->id, g);
        if (old)
            return dirjson_fail(&l->j, "%s/id: duplicate grid id '%s' (also %s)", p, g->id,
                                old->path);
    }
    d->counts.grids += json_array_size(arr);
    return 0;
}

static int load_compounds(loader *l, const char *cpath, json_t *cv, dir_community *c)
{
    static const char *const keys[] = {"id",       "name",      "grid",         "model",
                                       "property", "custodian", "red_property", NULL};
    static const char *const models[] = {"property", "branch", "custodial", NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, cpath, cv, "compounds", 1, &arr);
    if (rc)
        return rc;
    json_array_foreach (arr, i, v) {
        dir_compound *cp = dirjson_alloc(&l->j, sizeof *cp);
        if (!cp)
            return dirjson_nomem(&l->j);
        dirjson_path(cp->path, sizeof cp->path, "%s/compounds/%zu", cpath, i);
        cp->community = c;
        const char *p = cp->path, *grid, *property;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &cp->id)) ||
            (rc = dirjson_name(&l->j, p, v, &cp->name)) ||
            (rc = dirjson_id(&l->j, p, v, "grid", 1, &grid)) ||
            (rc = dirjson_enum(&l->j, p, v, "model", models, &cp->model)) ||
            (rc = dirjson_id(&l->j, p, v, "property", 0, &property)) ||
            (rc = get_team(l, p, v, "custodian", 0, DIR_TK_CUSTODIAN, &cp->custodian)) ||
            (rc = dirjson_bool(&l->j, p, v, "red_property", &cp->red_property)))
            return rc;
        const dir_compound *old = dir_map_put(&d->compounds, cp->id, cp);
        if (old)
            return dirjson_fail(&l->j, "%s/id: duplicate compound id '%s' (also %s)", p, cp->id,
                                old->path);
        cp->grid = dir_map_get(&d->grids, grid);
        if (!cp->grid)
            return dirjson_fail(&l->j, "%s/grid: unknown grid '%s'", p, grid);
        if (cp->grid->community != c)
            return dirjson_fail(&l->j, "%s/grid: grid '%s' belongs to community '%s', not '%s'", p,
                                grid, cp->grid->community->id, c->id);
        if (property) {
            cp->property = dir_map_get(&d->properties, property);
            if (!cp->property)
                return dirjson_fail(&l->j, "%s/property: unknown property company '%s'", p,
                                    property);
        }
        switch (cp->model) {
        case DIR_MODEL_PROPERTY:
            if (!cp->property)
                return dirjson_fail(&l->j, "%s: missing required key 'property' (model 'property')",
                                    p);
            rc = dirjson_forbid(&l->j, p, v, "custodian",
                                "only a 'custodial' compound has a custodian");
            break;
        case DIR_MODEL_BRANCH:
            if ((rc = dirjson_forbid(&l->j, p, v, "property",
                                     "a 'branch' compound has no property "
                                     "company (use model 'property')")))
                break;
            rc = dirjson_forbid(&l->j, p, v, "custodian",
                                "only a 'custodial' compound has a custodian");
            break;
        case DIR_MODEL_CUSTODIAL:
            if (!cp->custodian)
                return dirjson_fail(&l->j,
                                    "%s: missing required key 'custodian' (model 'custodial')", p);
            rc = dirjson_forbid(&l->j, p, v, "property",
                                "a 'custodial' compound has no property company "
                                "(use model 'property')");
            break;
        }
        if (rc)
            return rc;
        if (cp->red_property && cp->model != DIR_MODEL_PROPERTY)
            return dirjson_fail(&l->j,
                                "%s/red_property: only a compound with a property company has a "
                                "red-property council",
                                p);
        if (cp->model != DIR_MODEL_PROPERTY)
            d->counts.no_property_compounds++;
    }
    d->counts.compounds += json_array_size(arr);
    return 0;
}

static int load_communities(loader *l, json_t *root)
{
    static const char *const keys[] = {"id",     "name",        "stars", "office",    "duty",
                                       "branch", "claim_teams", "grids", "compounds", NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, "", root, "communities", 1, &arr);
    if (rc)
        return rc;
    if (dir_map_init(&d->communities, &d->arena, json_array_size(arr)) ||
        dir_map_init(&d->grids, &d->arena, count_nested(arr, "grids")) ||
        dir_map_init(&d->compounds, &d->arena, count_nested(arr, "compounds")))
        return dirjson_nomem(&l->j);
    /* Every community and grid first, so that a compound naming another
     * community's grid is told so rather than "unknown grid". */
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/communities/%zu", i);
        dir_community *c = dirjson_alloc(&l->j, sizeof *c);
        long long stars;
        if (!c || !(c->plans = dirjson_alloc(&l->j, d->nalert * sizeof *c->plans)))
            return dirjson_nomem(&l->j);
        c->at = i;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &c->id)) ||
            (rc = dirjson_name(&l->j, p, v, &c->name)) ||
            (rc = dirjson_int(&l->j, p, v, "stars", 1, 5, &stars)) ||
            (rc = get_team(l, p, v, "office", 1, DIR_TK_COMMUNITY, &c->office)) ||
            (rc = get_team(l, p, v, "duty", 1, DIR_TK_DUTY, &c->duty)) ||
            (rc = get_team(l, p, v, "branch", 1, DIR_TK_BRANCH, &c->branch)))
            return rc;
        c->stars = (int)stars;
        const dir_community *old = dir_map_put(&d->communities, c->id, c);
        if (old)
            return dirjson_fail(&l->j, "%s/id: duplicate community id '%s' (also /communities/%zu)",
                                p, c->id, old->at);
        if ((rc = load_grids(l, p, v, c)))
            return rc;
    }
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/communities/%zu", i);
        dir_community *c =
            dir_map_get(&d->communities, json_string_value(json_object_get(v, "id")));
        if ((rc = load_compounds(l, p, v, c)))
            return rc;
    }
    d->counts.communities = json_array_size(arr);
    return 0;
}

static int load_squads(loader *l, json_t *root)
{
    static const char *const keys[] = {"id",   "name",   "team",       "community",
                                       "kind", "skills", "volunteers", NULL};
    static const char *const kinds[] = {"emergency", "service", NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, "", root, "squads", 0, &arr);
    if (rc)
        return rc;
    if (dir_map_init(&d->squads, &d->arena, json_array_size(arr)) ||
        dir_map_init(&d->squad_teams, &d->arena, json_array_size(arr)))
        return dirjson_nomem(&l->j);
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/squads/%zu", i);
        dir_squad *s = dirjson_alloc(&l->j, sizeof *s);
        const char *community;
        long long volunteers;
        if (!s)
            return dirjson_nomem(&l->j);
        s->at = i;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &s->id)) ||
            (rc = dirjson_str(&l->j, p, v, "name", 0, GL_MAX_SHORT, 0, &s->name)) ||
            (rc = get_team(l, p, v, "team", 1, DIR_TK_SQUAD, &s->team)) ||
            (rc = dirjson_id(&l->j, p, v, "community", 0, &community)) ||
            (rc = dirjson_enum(&l->j, p, v, "kind", kinds, &s->kind)) ||
            (rc = dirjson_list(&l->j, p, v, "skills", GL_MAX_ID, 1, &s->skills, &s->nskills)) ||
            (rc = dirjson_int(&l->j, p, v, "volunteers", 0, 1000000, &volunteers)))
            return rc;
        s->volunteers = (long)volunteers;
        if (community && !(s->community = dir_map_get(&d->communities, community)))
            return dirjson_fail(&l->j, "%s/community: unknown community '%s'", p, community);
        const dir_squad *old = dir_map_put(&d->squads, s->id, s);
        if (old)
            return dirjson_fail(&l->j, "%s/id: duplicate squad id '%s' (also /squads/%zu)", p,
                                s->id, old->at);
        old = dir_map_put(&d->squad_teams, s->team->id, s);
        if (old)
            return dirjson_fail(&l->j,
                                "%s/team: team '%s' already belongs to squad '%s' (/squads/%zu)", p,
                                s->team->id, old->id, old->at);
        d->counts.volunteers += (size_t)s->volunteers;
        if (s->kind == DIR_SQ_EMERGENCY)
            d->counts.emergency_squads++;
    }
    d->counts.squads = json_array_size(arr);
    return 0;
}

/* load_claims reads each community's claim_teams, once the squads are known. */
static int load_claims(loader *l, json_t *root)
{
    directory *d = l->d;
    json_t *arr = json_object_get(root, "communities"), *v;
    size_t i;
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/communities/%zu", i);
        dir_community *c =
            dir_map_get(&d->communities, json_string_value(json_object_get(v, "id")));
        const char **ids;
        size_t n;
        int rc = dirjson_list(&l->j, p, v, "claim_teams", GL_MAX_ID, 1, &ids, &n);
        if (rc)
            return rc;
        /* The grid team comes first in a route; the rest must fit beside it. */
        if (n > DIR_MAX_ROUTE - 1)
            return dirjson_fail(&l->j, "%s/claim_teams: at most %d teams", p, DIR_MAX_ROUTE - 1);
        c->claim = dirjson_alloc(&l->j, n * sizeof *c->claim);
        if (!c->claim)
            return dirjson_nomem(&l->j);
        for (size_t j = 0; j < n; j++) {
            const dir_squad *s = dir_map_get(&d->squad_teams, ids[j]);
            if (!s && !dir_map_get(&d->teams, ids[j]))
                return dirjson_fail(&l->j, "%s/claim_teams/%zu: unknown team '%s'", p, j, ids[j]);
            if (!s || s->kind != DIR_SQ_SERVICE)
                return dirjson_fail(&l->j,
                                    "%s/claim_teams/%zu: team '%s' is not a service squad's team",
                                    p, j, ids[j]);
            c->claim[j] = s->team;
        }
        c->nclaim = n;
    }
    return 0;
}

static int load_owners(loader *l, json_t *root)
{
    static const char *const keys[] = {"id", "compound", "members", "team", NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, "", root, "owners_committees", 0, &arr);
    if (rc)
        return rc;
    if (dir_map_init(&d->owners, &d->arena, json_array_size(arr)))
        return dirjson_nomem(&l->j);
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/owners_committees/%zu", i);
        dir_owners *o = dirjson_alloc(&l->j, sizeof *o);
        const char *compound;
        long long members;
        if (!o)
            return dirjson_nomem(&l->j);
        o->at = i;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &o->id)) ||
            (rc = dirjson_id(&l->j, p, v, "compound", 1, &compound)) ||
            (rc = dirjson_int(&l->j, p, v, "members", 1, 1000, &members)) ||
            (rc = get_team(l, p, v, "team", 1, DIR_TK_OWNERS, &o->team)))
            return rc;
        o->members = (long)members;
        const dir_owners *old = dir_map_put(&d->owners, o->id, o);
        if (old)
            return dirjson_fail(&l->j,
                                "%s/id: duplicate owners' committee id '%s' (also "
                                "/owners_committees/%zu)",
                                p, o->id, old->at);
        dir_compound *cp = dir_map_get(&d->compounds, compound);
        if (!cp)
            return dirjson_fail(&l->j, "%s/compound: unknown compound '%s'", p, compound);
        if (cp->owners)
            return dirjson_fail(&l->j,
                                "%s/compound: compound '%s' already has owners' committee '%s' "
                                "(/owners_committees/%zu)",
                                p, compound, cp->owners->id, cp->owners->at);
        cp->owners = o;
        o->compound = cp;
    }
    d->counts.owners_committees = json_array_size(arr);
    return 0;
}

static int load_steps(loader *l, const char *path, json_t *pv, dir_plan_def *pl)
{
    static const char *const keys[] = {"team", "ack_within_s", NULL};
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, path, pv, "steps", 1, &arr);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    if (n < 1 || n > DIR_MAX_STEPS)
        return dirjson_fail(&l->j, "%s/steps: a plan has 1 to %d steps", path, DIR_MAX_STEPS);
    pl->steps = dirjson_alloc(&l->j, n * sizeof *pl->steps);
    if (!pl->steps)
        return dirjson_nomem(&l->j);
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "%s/steps/%zu", path, i);
        const dir_team *t;
        long long ack;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = get_team(l, p, v, "team", 1, DIR_TK_SQUAD, &t)) ||
            (rc = dirjson_int(&l->j, p, v, "ack_within_s", 1, DIR_MAX_ACK_S, &ack)))
            return rc;
        if (!dir_map_get(&l->d->squad_teams, t->id))
            return dirjson_fail(&l->j, "%s/team: team '%s' is not the team of any squad", p, t->id);
        for (size_t j = 0; j < i; j++)
            if (pl->steps[j].squad == t->id)
                return dirjson_fail(&l->j, "%s/team: squad team '%s' is already step %zu", p, t->id,
                                    j);
        pl->steps[i].squad = t->id;
        pl->steps[i].ack_within_s = (unsigned)ack;
    }
    pl->nsteps = n;
    return 0;
}

static int load_plans(loader *l, json_t *root)
{
    static const char *const keys[] = {"id",       "scope", "community", "grid",
                                       "category", "steps", NULL};
    static const char *const scopes[] = {"county", "community", "grid", NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, "", root, "plans", 0, &arr);
    if (rc)
        return rc;
    if (dir_map_init(&d->plans, &d->arena, json_array_size(arr)))
        return dirjson_nomem(&l->j);
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/plans/%zu", i);
        dir_plan_def *pl = dirjson_alloc(&l->j, sizeof *pl);
        const char *category;
        if (!pl)
            return dirjson_nomem(&l->j);
        pl->at = i;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &pl->id)) ||
            (rc = dirjson_enum(&l->j, p, v, "scope", scopes, &pl->scope)) ||
            (rc = dirjson_id(&l->j, p, v, "category", 1, &category)))
            return rc;
        const dir_plan_def *old = dir_map_put(&d->plans, pl->id, pl);
        if (old)
            return dirjson_fail(&l->j, "%s/id: duplicate plan id '%s' (also /plans/%zu)", p, pl->id,
                                old->at);
        pl->category = dir_map_get(&d->categories[GL_KIND_ALERT], category);
        if (!pl->category)
            return dirjson_fail(&l->j, "%s/category: '%s' is not an alert category", p, category);
        dir_plan_table table = d->county_plans;
        const char *where = "the county";
        if (pl->scope == DIR_SCOPE_COUNTY) {
            if ((rc = dirjson_forbid(&l->j, p, v, "community",
                                     "a county plan names no community")) ||
                (rc = dirjson_forbid(&l->j, p, v, "grid", "a county plan names no grid")))
                return rc;
        } else if (pl->scope == DIR_SCOPE_COMMUNITY) {
            if ((rc = dirjson_forbid(&l->j, p, v, "grid",
                                     "a community plan names no grid (use scope "
                                     "'grid')")) ||
                (rc = dirjson_id(&l->j, p, v, "community", 1, &pl->target)))
                return rc;
            const dir_community *c = dir_map_get(&d->communities, pl->target);
            if (!c)
                return dirjson_fail(&l->j, "%s/community: unknown community '%s'", p, pl->target);
            table = c->plans;
            where = c->id;
        } else {
            if ((rc = dirjson_forbid(&l->j, p, v, "community",
                                     "a grid plan names no community (the grid "
                                     "says which)")) ||
                (rc = dirjson_id(&l->j, p, v, "grid", 1, &pl->target)))
                return rc;
            const dir_grid *g = dir_map_get(&d->grids, pl->target);
            if (!g)
                return dirjson_fail(&l->j, "%s/grid: unknown grid '%s'", p, pl->target);
            table = g->plans;
            where = g->id;
        }
        size_t ci = pl->category->alert_index;
        if (table[ci])
            return dirjson_fail(&l->j, "%s: %s already has a '%s' plan ('%s', /plans/%zu)", p,
                                where, category, table[ci]->id, table[ci]->at);
        if ((rc = load_steps(l, p, v, pl)))
            return rc;
        table[ci] = pl;
    }
    d->counts.plans = json_array_size(arr);
    return 0;
}

static int load_terminals(loader *l, json_t *root)
{
    static const char *const keys[] = {"id", "name", "kind", "grid", "community", NULL};
    static const char *const kinds[] = {"service-desk", "grid-phone", "call-box", "property-desk",
                                        NULL};
    directory *d = l->d;
    json_t *arr, *v;
    size_t i;
    int rc = dirjson_array(&l->j, "", root, "terminals", 0, &arr);
    if (rc)
        return rc;
    if (dir_map_init(&d->terminals, &d->arena, json_array_size(arr)))
        return dirjson_nomem(&l->j);
    json_array_foreach (arr, i, v) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "/terminals/%zu", i);
        dir_terminal *t = dirjson_alloc(&l->j, sizeof *t);
        const char *grid, *community;
        int kind;
        if (!t)
            return dirjson_nomem(&l->j);
        t->at = i;
        if ((rc = dirjson_object(&l->j, p, v)) || (rc = dirjson_keys(&l->j, p, v, keys)) ||
            (rc = dirjson_id(&l->j, p, v, "id", 1, &t->id)) ||
            (rc = dirjson_str(&l->j, p, v, "name", 0, GL_MAX_SHORT, 0, &t->name)) ||
            (rc = dirjson_enum(&l->j, p, v, "kind", kinds, &kind)) ||
            (rc = dirjson_id(&l->j, p, v, "grid", 0, &grid)) ||
            (rc = dirjson_id(&l->j, p, v, "community", 0, &community)))
            return rc;
        t->kind = kinds[kind - 1];
        if (!grid == !community)
            return dirjson_fail(&l->j, "%s: a terminal names exactly one of 'grid' or 'community'",
                                p);
        if (grid) {
            if (!(t->grid = dir_map_get(&d->grids, grid)))
                return dirjson_fail(&l->j, "%s/grid: unknown grid '%s'", p, grid);
            t->community = t->grid->community;
        } else if (!(t->community = dir_map_get(&d->communities, community))) {
            return dirjson_fail(&l->j, "%s/community: unknown community '%s'", p, community);
        }
        const dir_terminal *old = dir_map_put(&d->terminals, t->id, t);
        if (old)
            return dirjson_fail(&l->j, "%s/id: duplicate terminal id '%s' (also /terminals/%zu)", p,
                                t->id, old->at);
    }
    d->counts.terminals = json_array_size(arr);
    return 0;
}

static int load_all(loader *l, json_t *root)
{
    static const char *const keys[] = {"version", "county", "teams", "categories",
                                       "communities", "property_companies",
                                       "owners_committees", "squads", "plans", "terminals",
                                       NULL};
    long long version;
    int rc;
    if (!json_is_object(root))
        return dirjson_fail(&l->j, "top level: expected an object, got %s", dirjson_type(root));
    if ((rc = dirjson_keys(&l->j, "top level", root, keys)) ||
        (rc = dirjson_int(&l->j, "", root, "version", 1, 1000000, &version)))
        return rc;
    if (version != DIR_FORMAT_VERSION)
        return dirjson_fail(&l->j,
                            "/version: format version %lld is not supported (this build reads %d)",
                            version, DIR_FORMAT_VERSION);
    /* Order matters: each part refers only to parts already loaded, except
     * the communities' claim_teams, read once the squads are known. */
    if ((rc = load_county(l, root)) || (rc = load_teams(l, root)) ||
        (rc = load_categories(l, root)) || (rc = load_properties(l, root)) ||
        (rc = load_communities(l, root)) || (rc = load_squads(l, root)) ||
        (rc = load_claims(l, root)) || (rc = load_owners(l, root)) || (rc = load_plans(l, root)) ||
        (rc = load_terminals(l, root)))
        return rc;
    return 0;
}

int dir_load(const char *path, directory **out, char *err, size_t errlen)
{
    json_error_t jerr;
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    /* Duplicate keys in one object are refused: the second "team" of a grid
     * would otherwise silently win. */
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_cannot_open_file) {
            if (err && errlen)
                snprintf(err, errlen, "%s", jerr.text);
            return GL_ESYS;
        }
        if (err && errlen)
            snprintf(err, errlen, "%s: line %d, column %d: %s", path, jerr.line, jerr.column,
                     jerr.text);
        return GL_ECONFIG;
    }
    directory *d = calloc(1, sizeof *d);
    if (!d) {
        json_decref(root);
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", path);
        return GL_EINTERNAL;
    }
    loader l = {.j = {.arena = &d->arena, .file = path, .err = err, .errlen = errlen}, .d = d};
    int rc = load_all(&l, root);
    json_decref(root);
    if (rc) {
        dir_free(&d);
        return rc;
    }
    *out = d;
    return 0;
}
