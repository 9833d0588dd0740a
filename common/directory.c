/* directory.c — lookups and routing over a loaded directory. Loading and
 * validation live in directory_load.c; the shared structures in
 * directory_impl.h. */
#include "directory.h"
#include "directory_impl.h"
#include "gl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const team_kind_names[DIR_TK_COUNT] = {
    "",       "triage",    "coordinators", "grid",   "community", "duty",
    "branch", "custodian", "property",     "owners", "squad"};

const char *dir_team_kind_name(int kind)
{
    return kind > 0 && kind < DIR_TK_COUNT ? team_kind_names[kind] : "";
}

/* FNV-1a: ids are short, so a simple byte hash is all we need. */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int dir_map_init(dir_map *m, gl_arena *a, size_t n)
{
    size_t cap = 8;
    while (cap < n * 2) /* load factor at most 1/2 keeps probes short */
        cap *= 2;
    m->keys = arena_alloc(a, cap * sizeof *m->keys);
    m->vals = arena_alloc(a, cap * sizeof *m->vals);
    if (!m->keys || !m->vals)
        return -1;
    memset(m->keys, 0, cap * sizeof *m->keys);
    memset(m->vals, 0, cap * sizeof *m->vals);
    m->mask = cap - 1;
    return 0;
}

void *dir_map_put(dir_map *m, const char *key, void *val)
{
    size_t i = (size_t)hash_str(key) & m->mask;
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
        i = (i + 1) & m->mask;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    return NULL;
}

void *dir_map_get(const dir_map *m, const char *key)
{
    if (!key || !m->keys)
        return NULL;
    size_t i = (size_t)hash_str(key) & m->mask;
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
        i = (i + 1) & m->mask;
    }
    return NULL;
}

void dir_free(directory **d)
{
    if (!d || !*d)
        return;
    arena_free(&(*d)->arena);
    free(*d);
    *d = NULL;
}

int dir_has_team(const directory *d, const char *team)
{
    return dir_map_get(&d->teams, team) != NULL;
}

int dir_category_known(const directory *d, int kind, const char *category)
{
    if (kind <= GL_KIND_NONE || kind > GL_KIND_FEEDBACK)
        return 0;
    return dir_map_get(&d->categories[kind], category) != NULL;
}

int dir_category_claimable(const directory *d, const char *category)
{
    const dir_category *c = dir_map_get(&d->categories[GL_KIND_REQUEST], category);
    return c && c->claimable;
}

const char *dir_community_office(const directory *d, const char *community)
{
    const dir_community *c = community ? dir_map_get(&d->communities, community) : NULL;
    return c ? c->office->id : NULL;
}

const char *dir_community_duty(const directory *d, const char *community)
{
    const dir_community *c = community ? dir_map_get(&d->communities, community) : NULL;
    return c ? c->duty->id : NULL;
}

void dir_category_policy(const directory *d, int kind, const char *category, dir_policy *p)
{
    const dir_category *c = kind >= GL_KIND_REQUEST && kind <= GL_KIND_FEEDBACK && category
                                ? dir_map_get(&d->categories[kind], category)
                                : NULL;
    if (c)
        *p = c->policy;
    else
        memset(p, 0, sizeof *p);
}

void dir_get_counts(const directory *d, dir_counts *c)
{
    *c = d->counts;
}

static const dir_plan_def *plan_find(const directory *d, const dir_community *c, const dir_grid *g,
                                     const char *category)
{
    const dir_category *cat = dir_map_get(&d->categories[GL_KIND_ALERT], category);
    if (!cat)
        return NULL;
    size_t i = cat->alert_index;
    if (g && g->plans[i])
        return g->plans[i];
    if (c && c->plans[i])
        return c->plans[i];
    return d->county_plans[i];
}

int dir_plan(const directory *d, const char *community, const char *grid, const char *category,
             dir_plan_step *steps, int max)
{
    const dir_grid *g = dir_map_get(&d->grids, grid);
    const dir_community *c = dir_map_get(&d->communities, community);
    if (!c && g)
        c = g->community;
    const dir_plan_def *p = plan_find(d, c, g, category);
    if (!p || !steps || max <= 0)
        return 0;
    int n = p->nsteps < (size_t)max ? (int)p->nsteps : max;
    memcpy(steps, p->steps, (size_t)n * sizeof *steps);
    return n;
}

/* An empty string counts as absent: a location field that says nothing
 * should not send an event to triage as "unknown". */
static const char *given(const char *s)
{
    return s && *s ? s : NULL;
}

typedef struct location {
    const dir_community *community;
    const dir_grid *grid;
    const dir_compound *compound;
} location;

/* resolve fills loc from the event's own location, or from its terminal when
 * the event names no place. Returns 0 when the event cannot be placed: a
 * named community, grid or compound is unknown, they contradict each other,
 * or neither the event nor its terminal says where it is. */
static int resolve(const directory *d, const gl_event *ev, location *loc)
{
    const char *community = given(ev->community), *grid = given(ev->grid),
               *compound = given(ev->compound);
    memset(loc, 0, sizeof *loc);
    if (!community && !grid && !compound) {
        const dir_terminal *t = dir_map_get(&d->terminals, given(ev->terminal));
        if (!t)
            return 0;
        loc->grid = t->grid;
        loc->community = t->community;
        return 1;
    }
    if (compound) {
        loc->compound = dir_map_get(&d->compounds, compound);
        if (!loc->compound)
            return 0;
        loc->grid = loc->compound->grid;
        loc->community = loc->compound->community;
    }
    if (grid) {
        const dir_grid *g = dir_map_get(&d->grids, grid);
        if (!g || (loc->grid && loc->grid != g))
            return 0;
        loc->grid = g;
        loc->community = g->community;
    }
    if (community) {
        const dir_community *c = dir_map_get(&d->communities, community);
        if (!c || (loc->community && loc->community != c))
            return 0;
        loc->community = c;
    }
    return 1;
}

static void add(dir_route *r, const dir_team *team, const char *role)
{
    if (!team || r->n >= DIR_MAX_ROUTE)
        return;
    for (int i = 0; i < r->n; i++)
        if (r->to[i].team == team->id)
            return;
    r->to[r->n].team = team->id;
    r->to[r->n].role = role;
    r->n++;
}

static void add_fallback(dir_route *r, const dir_team *team)
{
    if (team && r->nfallback < (int)GL_ARRAY_LEN(r->fallback))
        r->fallback[r->nfallback++] = team->id;
}

static void route_request(const directory *d, const gl_event *ev, const location *loc, dir_route *r)
{
    const dir_community *c = loc->community;
    if (loc->grid)
        add(r, loc->grid->team, "grid");
    else
        add(r, c->office, "community");
    if (dir_category_claimable(d, ev->category))
        for (size_t i = 0; i < c->nclaim; i++)
            add(r, c->claim[i], "claim");
    add_fallback(r, c->office);
}

static void route_alert(const directory *d, const gl_event *ev, const location *loc, dir_route *r)
{
    add(r, d->coordinators, "coordinator");
    add(r, loc->community->duty, "coordinator");
    if (loc->grid)
        add(r, loc->grid->team, "grid");
    const dir_plan_def *p = plan_find(d, loc->community, loc->grid, ev->category);
    if (p && p->nsteps > 0)
        add(r, dir_map_get(&d->teams, p->steps[0].squad), "squad");
}

/* Feedback goes to whoever runs the compound — its property company, or the
 * community's party branch (branch-led), or the custodian (custodial care) —
 * with the owners' committee and the community office beside it: the
 * three-party linkage of DESIGN.md §2 holds for every model. */
static void route_feedback(const location *loc, dir_route *r)
{
    const dir_compound *cp = loc->compound;
    const dir_community *c = loc->community;
    if (!cp) {
        add(r, c->office, "community");
    } else {
        switch (cp->model) {
        case DIR_MODEL_PROPERTY: add(r, cp->property->team, "property"); break;
        case DIR_MODEL_BRANCH: add(r, c->branch, "property"); break;
        case DIR_MODEL_CUSTODIAL: add(r, cp->custodian, "property"); break;
        }
        if (cp->owners)
            add(r, cp->owners->team, "owners");
        add(r, c->office, "informed");
    }
    add_fallback(r, c->office);
}

void dir_route_event(const directory *d, const gl_event *ev, dir_route *out)
{
    location loc;
    memset(out, 0, sizeof *out);
    out->located = resolve(d, ev, &loc);
    if (out->located) {
        out->community = loc.community ? loc.community->id : NULL;
        out->grid = loc.grid ? loc.grid->id : NULL;
        out->compound = loc.compound ? loc.compound->id : NULL;
    }
    int kind = ev->kind;
    if (!out->located || kind < GL_KIND_REQUEST || kind > GL_KIND_FEEDBACK) {
        /* Unplaced, or a kind we cannot route: people decide. */
        add(out, d->triage, "triage");
        if (kind == GL_KIND_ALERT)
            add(out, d->coordinators, "coordinator");
    } else if (kind == GL_KIND_REQUEST) {
        route_request(d, ev, &loc, out);
    } else if (kind == GL_KIND_ALERT) {
        route_alert(d, ev, &loc, out);
    } else {
        route_feedback(&loc, out);
    }
    add_fallback(out, d->triage);
}
