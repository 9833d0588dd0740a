/* directory.h — the county directory: who is where, and who must act.
 *
 * Loaded from a JSON file (docs: data/README.md; the demo county is
 * data/demo-county.json). Validation at load checks every reference (a grid's
 * team, a compound's property company, a plan's squads...) and reports the
 * first problem with its JSON path ("/communities/3/grids/0/team: unknown
 * team 'x'") or, for syntax errors, its line and column. A loaded directory
 * is immutable; reload by loading a new one and swapping pointers. */
#ifndef GL_DIRECTORY_H
#define GL_DIRECTORY_H

#include <stddef.h>

#include "records.h"

typedef struct directory directory;

/* Teams every directory has (the loader refuses a file without them). */
#define DIR_TEAM_TRIAGE "county-triage"
#define DIR_TEAM_COORDINATORS "county-coordinators"

#define DIR_MAX_ROUTE 16

/* One recipient of an event. role is one of: "grid" (the grid team), "claim"
 * (volunteer / party-member squad that may claim), "coordinator",
 * "squad" (response-plan squad), "property" (property company or the
 * branch-led / custodial team standing in for it), "owners" (owners'
 * committee), "informed" (told, does not act), "community" (community office
 * when no grid is known), "triage". */
typedef struct dir_recipient {
    const char *team;
    const char *role;
} dir_recipient;

typedef struct dir_route {
    dir_recipient to[DIR_MAX_ROUTE];
    int n;
    /* Where the event goes when every actionable recipient has declined, in
     * order (e.g. the community office, then county-triage). */
    const char *fallback[4];
    int nfallback;
    /* Location as resolved (filled in from grid/compound/terminal); all NULL
     * when located is 0. Location fields that contradict each other (a grid
     * of another community) make the event unlocated. */
    const char *community, *compound, *grid;
    int located;   /* 0 when the location was unknown → triage */
} dir_route;

typedef struct dir_plan_step {
    const char *squad;      /* team id of the squad */
    unsigned ack_within_s;  /* acknowledgement deadline for this step */
} dir_plan_step;

/* The time limits of a category, in the spirit of the service hotlines'
 * rules (seconds; 0 = no limit). */
typedef struct dir_policy {
    unsigned sign_within_s;     /* a dispatch must be acknowledged within this */
    unsigned resolve_within_s;  /* the event must be resolved within this of filing */
    unsigned remind_before_s;   /* the responsible team is reminded this long before due */
    unsigned lease_s;           /* claimable requests: how long a claim holds */
} dir_policy;

typedef struct dir_counts {
    size_t communities, compounds, grids, teams, squads, emergency_squads,
        volunteers, owners_committees, property_companies, no_property_compounds,
        plans, terminals;
} dir_counts;

/* dir_load parses and validates the file at path. On success *out is set and
 * 0 returned; on failure *out is NULL, GL_ECONFIG (GL_ESYS if unreadable,
 * GL_EINTERNAL out of memory) and a message naming the line or the JSON
 * path is written to err. */
int dir_load(const char *path, directory **out, char *err, size_t errlen);

/* dir_free frees a directory; *d becomes NULL; NULL is accepted. */
void dir_free(directory **d);

/* dir_has_team: 1 if team id exists. */
int dir_has_team(const directory *d, const char *team);

/* dir_category_known: 1 if category is defined for kind. */
int dir_category_known(const directory *d, int kind, const char *category);

/* dir_category_claimable: 1 if requests of this category are posted to the
 * community's volunteers and party members. */
int dir_category_claimable(const directory *d, const char *category);

/* dir_community_office / dir_community_duty return the team id of the
 * community's office (community workers) or duty officer, or NULL when the
 * community is unknown. */
const char *dir_community_office(const directory *d, const char *community);
const char *dir_community_duty(const directory *d, const char *community);

/* dir_category_policy fills p with the time limits of category (zeros when
 * the category is unknown or has none). */
void dir_category_policy(const directory *d, int kind, const char *category, dir_policy *p);

/* dir_route_event decides who receives ev (DESIGN.md §3). Strings in out point into
 * the directory. An unknown or missing location routes to county-triage (and
 * for alerts also county-coordinators); it never fails. */
void dir_route_event(const directory *d, const gl_event *ev, dir_route *out);

/* dir_plan finds the response plan for an alert category: the grid's, else
 * the community's, else the county default. Returns the number of steps
 * (written to steps, at most max) or 0 when there is none. */
int dir_plan(const directory *d, const char *community, const char *grid,
             const char *category, dir_plan_step *steps, int max);

/* dir_get_counts fills c with the directory's sizes. */
void dir_get_counts(const directory *d, dir_counts *c);

#endif
