/* verbs_fsck.c — gridline fsck: the store's consistency check (store_fsck),
 * run by an operator on the machine that holds the store. The one verb that
 * opens the store itself, read-only; it may run while workers write (it
 * reads one snapshot). */
#include "cli.h"
#include "output.h"

#include "../../common/store.h"

#include <stdio.h>
#include <string.h>

#define FSCK_USAGE "gridline fsck [--data DIR] [--json]"
#define FSCK_DESCRIPTION                                                               \
    "Checks the store in DIR (the workers' --store), opened read-only, in one\n"      \
    "snapshot, so workers may keep running: each index against its records —\n"      \
    "event ids, dispatches, pending and due resends, escalation, workflow timers,\n" \
    "alarms, the claim board and history numbering; no orphan dispatches, a timer\n" \
    "for every open alert step. Prints the figures and the first problems found.\n"  \
    "--json prints one object {\"consistent\", \"events\", \"dispatches\",\n"          \
    "\"history\", \"problems\", \"first\": [...]}.\n\n"                                 \
    "exit status:\n"                                                                  \
    "  0  the store is consistent\n"                                                  \
    "  1  problems were found (listed)\n"                                             \
    "  2  the check could not run: bad flags, no store in DIR, a read error"

enum { FSCK_OK = 0, FSCK_PROBLEMS = 1, FSCK_ERROR = 2 };

int cli_fsck(int argc, char **argv)
{
    cli_common c;
    const char *dir = NULL;
    memset(&c, 0, sizeof c);
    opt_def defs[] = {
        CLI_COMMON_ROWS(c),
        {"data", OPT_STR, "var/store", "the store's directory (the workers' --store)", &dir,
         "GRIDLINE_STORE"},
    };
    int rc = cli_parse(defs, GL_ARRAY_LEN(defs), argc, argv, FSCK_USAGE, FSCK_DESCRIPTION, &c,
                       NULL, NULL);
    if (rc)
        return rc == 1 ? CLI_EXIT_OK : FSCK_ERROR;
    store *s = NULL;
    store_opts so = {.read_only = 1};
    if ((rc = store_open(dir, &so, &s)) != 0) {
        fprintf(stderr, "gridline fsck: cannot open a store in %s: %s\n", dir, gl_strerror(rc));
        return FSCK_ERROR;
    }
    store_fsck_report r;
    memset(&r, 0, sizeof r);
    rc = store_fsck(s, &r);
    store_close(&s);
    if (rc != 0) {
        fprintf(stderr, "gridline fsck: the check failed in %s: %s\n", dir, gl_strerror(rc));
        return FSCK_ERROR;
    }
    if (c.json) {
        json_t *first = json_array();
        for (int i = 0; i < r.nfirst; i++)
            json_array_append_new(first, json_string(r.first[i]));
        out_json_line(json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:o}", "consistent",
                                r.problems == 0, "store", dir, "events", (json_int_t)r.events,
                                "dispatches", (json_int_t)r.dispatches, "history",
                                (json_int_t)r.history, "problems", (json_int_t)r.problems,
                                "first", first));
    } else {
        printf("store %s: %llu events, %llu dispatches, %llu history entries\n", dir,
               (unsigned long long)r.events, (unsigned long long)r.dispatches,
               (unsigned long long)r.history);
        for (int i = 0; i < r.nfirst; i++)
            printf("problem: %s\n", r.first[i]);
        if (r.problems > (uint64_t)r.nfirst)
            printf("... and %llu more problems\n",
                   (unsigned long long)(r.problems - (uint64_t)r.nfirst));
        if (r.problems)
            printf("INCONSISTENT: %llu problem(s)\n", (unsigned long long)r.problems);
        else
            printf("consistent\n");
    }
    fflush(stdout);
    return r.problems ? FSCK_PROBLEMS : FSCK_OK;
}
