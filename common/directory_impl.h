/* directory_impl.h — the directory's insides, shared by directory.c (lookups,
 * routing) and directory_load.c (the file's schema and its validation, on top
 * of the checked JSON readers in directory_json.c). Nothing outside
 * common/directory*.c includes this; everyone else uses directory.h.
 *
 * A loaded directory copies everything it keeps into one arena, so the JSON
 * tree is freed right after loading and dir_free is one arena_free. Entities
 * point at each other directly; ids are found through open-addressing hash
 * maps, so dir_route_event costs a handful of hash probes per event. */
#ifndef GL_DIRECTORY_IMPL_H
#define GL_DIRECTORY_IMPL_H

#include <stddef.h>

#include "arena.h"
#include "directory.h"

enum dir_team_kind {
    DIR_TK_NONE = 0,
    DIR_TK_TRIAGE,
    DIR_TK_COORDINATORS,
    DIR_TK_GRID,
    DIR_TK_COMMUNITY,
    DIR_TK_DUTY,
    DIR_TK_BRANCH,
    DIR_TK_CUSTODIAN,
    DIR_TK_PROPERTY,
    DIR_TK_OWNERS,
    DIR_TK_SQUAD,
    DIR_TK_COUNT
};

enum dir_model { DIR_MODEL_NONE = 0, DIR_MODEL_PROPERTY, DIR_MODEL_BRANCH, DIR_MODEL_CUSTODIAL };
enum dir_scope { DIR_SCOPE_NONE = 0, DIR_SCOPE_COUNTY, DIR_SCOPE_COMMUNITY, DIR_SCOPE_GRID };
enum dir_squad_kind { DIR_SQ_NONE = 0, DIR_SQ_EMERGENCY, DIR_SQ_SERVICE };

/* A string-keyed hash map; keys and values are borrowed from the arena. */
typedef struct dir_map {
    size_t mask; /* capacity - 1; capacity is a power of two */
    const char **keys;
    void **vals;
} dir_map;

typedef struct dir_team {
    const char *id, *name;
    int kind; /* enum dir_team_kind */
    const char **members;
    size_t nmembers;
    size_t at; /* index in /teams, for error messages */
} dir_team;

typedef struct dir_category {
    const char *id, *name;
    int kind; /* enum gl_kind */
    int claimable;
    dir_policy policy;  /* time limits; 0 = none */
    size_t alert_index; /* index among alert categories (plans tables) */
    size_t at;
} dir_category;

typedef struct dir_plan_def {
    const char *id;
    int scope;          /* enum dir_scope */
    const char *target; /* community or grid id; NULL for the county */
    const dir_category *category;
    dir_plan_step *steps;
    size_t nsteps;
    size_t at;
} dir_plan_def;

/* Plans of one scope, indexed by dir_category.alert_index; NULL = none. */
typedef const dir_plan_def **dir_plan_table;

typedef struct dir_community {
    const char *id, *name;
    int stars;
    const dir_team *office, *duty, *branch;
    const dir_team **claim; /* service squads' teams that claim requests */
    size_t nclaim;
    dir_plan_table plans;
    size_t at;
} dir_community;

typedef struct dir_grid {
    const char *id, *name;
    const dir_community *community;
    const dir_team *team;
    dir_plan_table plans;
    char path[64]; /* "/communities/3/grids/0", for error messages */
} dir_grid;

struct dir_property;
struct dir_owners;

typedef struct dir_compound {
    const char *id, *name;
    const dir_community *community;
    const dir_grid *grid;
    int model; /* enum dir_model */
    const struct dir_property *property;
    const struct dir_owners *owners; /* set when /owners_committees names it */
    const dir_team *custodian;
    int red_property;
    char path[64];
} dir_compound;

typedef struct dir_property {
    const char *id, *name;
    const dir_team *team;
    size_t at;
} dir_property;

typedef struct dir_owners {
    const char *id;
    const dir_compound *compound;
    long members;
    const dir_team *team;
    size_t at;
} dir_owners;

typedef struct dir_squad {
    const char *id, *name;
    const dir_team *team;
    const dir_community *community; /* NULL: county-wide */
    int kind;                       /* enum dir_squad_kind */
    const char **skills;
    size_t nskills;
    long volunteers;
    size_t at;
} dir_squad;

typedef struct dir_terminal {
    const char *id, *name, *kind;
    const dir_grid *grid;           /* one of grid / community is set */
    const dir_community *community; /* the grid's community when grid is set */
    size_t at;
} dir_terminal;

struct directory {
    gl_arena arena;
    const char *county_id, *county_name;
    const dir_team *triage, *coordinators;

    dir_map teams, communities, grids, compounds, properties, owners, squads, squad_teams, plans,
        terminals;
    dir_map categories[4]; /* indexed by enum gl_kind */
    size_t nalert;         /* alert categories: the size of every plan table */
    dir_plan_table county_plans;

    dir_counts counts;
};

/* dir_map_init sizes m for n keys in arena a; -1 on ENOMEM. */
int dir_map_init(dir_map *m, gl_arena *a, size_t n);

/* dir_map_put adds key → val. If key is already there, nothing changes and
 * the existing value is returned; otherwise NULL. The map never fills up
 * because dir_map_init sized it for every key the loader will add. */
void *dir_map_put(dir_map *m, const char *key, void *val);

/* dir_map_get returns the value for key, or NULL (also for a NULL key or a
 * map that was never initialised). */
void *dir_map_get(const dir_map *m, const char *key);

/* dir_team_kind_name returns "grid", "squad", ... for an enum dir_team_kind. */
const char *dir_team_kind_name(int kind);

#endif
