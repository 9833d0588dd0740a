/* sim.h — the demo simulator's parts: the county as the simulator sees it
 * (places and teams to draw events from), terminals and responders. */
#ifndef GL_SIM_H
#define GL_SIM_H

#include <signal.h>
#include <stddef.h>

typedef struct sim_config {
    const char *intake, *responders, *directory;
    long terminals, rate, responder_procs, teams, work_ms, duration, seed;
} sim_config;

/* Figures shared by every simulator process (in shared memory). Counters
 * are updated with __atomic builtins. */
typedef struct sim_counters {
    unsigned long filed[3]; /* requests, alerts, feedback */
    unsigned long busy, errors, dispatches, acked, accepted, declined, resolved, taken;
    unsigned long claimed, confirmed, disputed, rated_satisfied, rated_unsatisfied;
} sim_counters;

typedef struct sim_place {
    char community[65], compound[65], grid[65], terminal[65];
} sim_place;

typedef struct sim_county {
    sim_place *grids;      /* community + grid */
    size_t ngrids;
    sim_place *compounds;  /* community + compound */
    size_t ncompounds;
    sim_place *callboxes;  /* terminal only */
    size_t ncallboxes;
    char (*teams)[65];     /* teams that events are routed to */
    size_t nteams;
} sim_county;

extern volatile sig_atomic_t sim_stop;

/* sim_county_load reads the places and teams from the directory file. 0, or
 * -1 with a message in err. */
int sim_county_load(const char *path, sim_county *c, char *err, size_t errlen);
void sim_county_free(sim_county *c);

/* sim_terminal / sim_responders run one child process's part until SIGTERM;
 * they return the process's exit status. */
int sim_terminal(const sim_config *cfg, const sim_county *c, sim_counters *k, int index);
int sim_responders(const sim_config *cfg, const sim_county *c, sim_counters *k, int index);

#define SIM_ADD(field) __atomic_add_fetch(&(field), 1, __ATOMIC_RELAXED)

#endif
