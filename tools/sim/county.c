/* county.c — the places and teams the simulator draws from, read from the
 * directory file (data/README.md describes its keys). */
#include "sim.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int add_team(sim_county *c, size_t *cap, const char *team)
{
    if (!*team)
        return 0;
    for (size_t i = 0; i < c->nteams; i++)
        if (strcmp(c->teams[i], team) == 0)
            return 0;
    if (c->nteams == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        void *p = realloc(c->teams, ncap * sizeof *c->teams);
        if (!p)
            return -1;
        c->teams = p;
        *cap = ncap;
    }
    snprintf(c->teams[c->nteams++], sizeof c->teams[0], "%s", team);
    return 0;
}

static sim_place *add_place(sim_place **arr, size_t *n)
{
    sim_place *p = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!p)
        return NULL;
    *arr = p;
    memset(&p[*n], 0, sizeof p[*n]);
    return &p[(*n)++];
}

int sim_county_load(const char *path, sim_county *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    size_t team_cap = 0, i, j;
    json_t *t, *cm, *g, *x;
    json_array_foreach(json_object_get(root, "teams"), i, t)
        if (add_team(c, &team_cap, str_of(t, "id")) != 0)
            goto oom;
    json_array_foreach(json_object_get(root, "communities"), i, cm) {
        json_array_foreach(json_object_get(cm, "grids"), j, g) {
            sim_place *p = add_place(&c->grids, &c->ngrids);
            if (!p)
                goto oom;
            snprintf(p->community, sizeof p->community, "%s", str_of(cm, "id"));
            snprintf(p->grid, sizeof p->grid, "%s", str_of(g, "id"));
        }
        json_array_foreach(json_object_get(cm, "compounds"), j, x) {
            sim_place *p = add_place(&c->compounds, &c->ncompounds);
            if (!p)
                goto oom;
            snprintf(p->community, sizeof p->community, "%s", str_of(cm, "id"));
            snprintf(p->compound, sizeof p->compound, "%s", str_of(x, "id"));
        }
    }
    json_array_foreach(json_object_get(root, "terminals"), i, t)
        if (strcmp(str_of(t, "kind"), "call-box") == 0) {
            sim_place *p = add_place(&c->callboxes, &c->ncallboxes);
            if (!p)
                goto oom;
            snprintf(p->terminal, sizeof p->terminal, "%s", str_of(t, "id"));
        }
    json_decref(root);
    if (!c->ngrids || !c->ncompounds) {
        snprintf(err, errlen, "%s: no grids or compounds to draw events from", path);
        sim_county_free(c);
        return -1;
    }
    return 0;
oom:
    json_decref(root);
    sim_county_free(c);
    snprintf(err, errlen, "out of memory reading %s", path);
    return -1;
}

void sim_county_free(sim_county *c)
{
    free(c->grids);
    free(c->compounds);
    free(c->callboxes);
    free(c->teams);
    memset(c, 0, sizeof *c);
}
