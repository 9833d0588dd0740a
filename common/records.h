/* records.h — gridline's data model: events, dispatches, history entries.
 *
 * The same structs travel on the wire (proto/) and sit in the store
 * (common/store.h). Strings are NUL-terminated and borrowed: whoever filled
 * the struct says who owns them (usually an arena, see arena.h). NULL means
 * "absent". */
#ifndef GL_RECORDS_H
#define GL_RECORDS_H

#include <stdint.h>

/* The values of these three enums are stored as numbers (store_records.h):
 * new values go at the end (before GL_DS_COUNT), never between, each with
 * its name at the end of its table in records.c: a stored number is read
 * back only if this build has a name for it. */
enum gl_kind { GL_KIND_NONE = 0, GL_KIND_REQUEST, GL_KIND_ALERT, GL_KIND_FEEDBACK };

/* Event lifecycle (DESIGN.md §3). */
enum gl_event_state {
    GL_EV_NONE = 0,
    GL_EV_FILED,      /* on disk, not yet dispatched */
    GL_EV_DISPATCHED, /* at least one dispatch record exists */
    GL_EV_ACCEPTED,   /* a responder accepted or claimed it */
    GL_EV_RESOLVED,   /* the responder resolved it */
    GL_EV_CLOSED,     /* rated or aged out */
    GL_EV_CANCELLED,  /* withdrawn by its terminal */
    GL_EV_MERGED,     /* duplicate of another event */
};

/* Dispatch lifecycle: one record per (event, team). */
enum gl_dispatch_state {
    GL_DS_NONE = 0,
    GL_DS_PENDING,   /* sent (or waiting to be sent), not yet acknowledged */
    GL_DS_ACKED,     /* a member of the team has seen it */
    GL_DS_ACCEPTED,  /* this team accepted / claimed the event */
    GL_DS_DECLINED,  /* this team declined it, with a reason */
    GL_DS_TAKEN,     /* another team accepted it first */
    GL_DS_RESOLVED,  /* this team resolved it */
    GL_DS_CANCELLED, /* the event was cancelled or merged */
    GL_DS_RETURNED,  /* this team returned it as not its own (退单), to triage */
    GL_DS_DEAD,      /* a dead letter: not acknowledged after the delivery limit
                        (note: the reason); an operator requeues or closes it */
    GL_DS_COUNT      /* not a state: how many values there are */
};

typedef struct gl_event {
    const char *id;        /* terminal-chosen id, 1..GL_MAX_ID bytes */
    uint64_t seq;          /* store sequence number, 0 until filed */
    int kind;              /* enum gl_kind */
    const char *category;
    const char *community; /* location, any of which may be absent */
    const char *compound;
    const char *grid;
    const char *terminal;  /* submitting terminal's id */
    const char *address;
    int has_coords;
    double lat, lon;
    const char *text;
    const char *contact;   /* reporter contact: private */
    const char *urgency;   /* CAP 1.2 values, alerts only */
    const char *severity;
    const char *certainty;
    int state;             /* enum gl_event_state */
    const char *team;      /* the team that accepted it, if any */
    uint64_t created_ms;   /* wall clock, ms since epoch */
    uint64_t updated_ms;
    /* Alerts with a response plan: the step whose squad was last dispatched
     * (1-based; 0 = no plan), and when that step's acknowledgement deadline
     * passes (0 = not escalating: acknowledged, exhausted, or cancelled). */
    uint32_t plan_step;
    uint64_t escalate_at_ms;
    const char *alarm;     /* operator alarm on the event ("unanswered", "overdue"), or NULL */
    /* Workflows (issue 4): deadlines from the category's policy, the claim
     * lease, the resident's rating, merging. 0 / NULL = none. */
    uint64_t sign_by_ms;     /* dispatches must be acknowledged by then */
    uint64_t due_ms;         /* must be resolved by then (expected time) */
    uint64_t remind_at_ms;   /* the responsible team is reminded then */
    uint64_t lease_until_ms; /* a claim holds until then */
    uint64_t close_at_ms;    /* a resolved, unrated event closes then */
    uint64_t extension_ms;   /* a new due time asked for, awaiting approval */
    const char *rating;      /* "satisfied" or "unsatisfied" */
    const char *duplicate_of;/* merged into this event id */
} gl_event;

typedef struct gl_dispatch {
    uint64_t seq;          /* the event's seq */
    const char *event;     /* the event's id */
    const char *team;
    const char *role;      /* "grid", "claim", "coordinator", "squad", "property",
                              "owners", "informed", "triage", "community" */
    int state;             /* enum gl_dispatch_state */
    const char *member;    /* the member who last acted, if any */
    const char *note;      /* decline reason or resolution note */
    uint32_t attempts;     /* times sent */
    uint64_t created_ms;
    uint64_t updated_ms;
    uint64_t next_retry_ms; /* wall ms when a PENDING dispatch is resent; 0 = none */
} gl_dispatch;

typedef struct gl_history {
    uint64_t seq;          /* the event's seq */
    uint32_t no;           /* 1, 2, 3 ... per event */
    uint64_t at_ms;
    const char *who;       /* "terminal:ID", "team:ID/member", "worker:NAME", "system" */
    const char *what;      /* "filed", "dispatched", "acked", "accepted", ... */
    const char *note;
} gl_history;

/* Names used on the wire, in JSON and in the store's records before
 * session 7. *_name returns a static string ("" for NONE); *_parse returns
 * the enum value, or 0 (NONE) for an unknown name. */
const char *gl_kind_name(int kind);
int gl_kind_parse(const char *name);
const char *gl_event_state_name(int state);
int gl_event_state_parse(const char *name);
const char *gl_dispatch_state_name(int state);
int gl_dispatch_state_parse(const char *name);

#endif
