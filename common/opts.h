/* opts.h — one table for command-line flags and config-file lines.
 *
 * A program declares its options once: name, kind, default, help. `--name
 * VALUE` on the command line and a line `name VALUE` in the file given by
 * `--config FILE` set the same option (the command line wins); `--help`
 * prints every option with its default. */
#ifndef GL_OPTS_H
#define GL_OPTS_H

#include <stddef.h>

enum opt_kind { OPT_STR, OPT_INT, OPT_FLAG };

typedef struct opt_def {
    const char *name;     /* without the leading "--" */
    int kind;             /* enum opt_kind */
    const char *def;      /* default as text (NULL: none) */
    const char *help;
    void *target;         /* const char ** for OPT_STR, long * for OPT_INT, int * for OPT_FLAG */
    const char *env;      /* environment variable consulted before the default, or NULL */
} opt_def;

/* opts_parse applies defaults, then the environment, then --config FILE, then
 * the command line. Prints usage and returns 1 for --help (caller exits 0);
 * returns 0 on success; prints a clear message to stderr and returns
 * GL_ECONFIG on an unknown option, a missing value or a bad number. Strings
 * point into argv, the environment or memory kept for the process. */
int opts_parse(const opt_def *defs, size_t n, int argc, char **argv,
               const char *usage_line, const char *description);

/* opts_usage prints the usage block to f (FILE *). */
void opts_usage(const opt_def *defs, size_t n, const char *usage_line,
                const char *description, void *f);

#endif
