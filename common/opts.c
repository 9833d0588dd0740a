#include "opts.h"
#include "gl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_def *opts_find(const opt_def *defs, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(defs[i].name) == len && strncmp(defs[i].name, name, len) == 0)
            return &defs[i];
    return NULL;
}

static int opts_set(const opt_def *d, const char *value, const char *where)
{
    switch (d->kind) {
    case OPT_STR:
        *(const char **)d->target = value;
        return 0;
    case OPT_FLAG:
        *(int *)d->target = value ? (strcmp(value, "0") != 0 && strcmp(value, "no") != 0) : 1;
        return 0;
    case OPT_INT: {
        if (!value) {
            fprintf(stderr, "%s: --%s needs a number\n", where, d->name);
            return GL_ECONFIG;
        }
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end) {
            fprintf(stderr, "%s: --%s: '%s' is not a number\n", where, d->name, value);
            return GL_ECONFIG;
        }
        *(long *)d->target = v;
        return 0;
    }
    }
    return GL_ECONFIG;
}

/* Config file lines are "name value" (value may contain spaces), '#' comments.
 * The lines' memory is kept for the life of the process. */
static int opts_file(const opt_def *defs, size_t n, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return GL_ECONFIG;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r\n")] = '\0';
        if (!*p || *p == '#')
            continue;
        size_t klen = strcspn(p, " \t");
        char *value = p + klen + strspn(p + klen, " \t");
        const opt_def *d = opts_find(defs, n, p, klen);
        char where[600];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!d) {
            fprintf(stderr, "%s: unknown option '%.*s'\n", where, (int)klen, p);
            rc = GL_ECONFIG;
            break;
        }
        char *kept = strdup(value);
        if (!kept) {
            rc = GL_EINTERNAL;
            break;
        }
        rc = opts_set(d, *kept ? kept : NULL, where);
    }
    fclose(f);
    return rc;
}

void opts_usage(const opt_def *defs, size_t n, const char *usage_line,
                const char *description, void *fp)
{
    FILE *f = fp;
    fprintf(f, "usage: %s\n\n%s\n\noptions (also settable as 'name value' lines in --config FILE):\n",
            usage_line, description);
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", defs[i].name,
                 defs[i].kind == OPT_FLAG ? "" : defs[i].kind == OPT_INT ? " N" : " VALUE");
        fprintf(f, "  %-26s %s", left, defs[i].help);
        if (defs[i].def)
            fprintf(f, " (default: %s)", defs[i].def);
        if (defs[i].env)
            fprintf(f, " [env %s]", defs[i].env);
        fprintf(f, "\n");
    }
    fprintf(f, "  %-26s %s\n  %-26s %s\n", "--config FILE", "read options from FILE",
            "--help", "print this help");
}

int opts_parse(const opt_def *defs, size_t n, int argc, char **argv,
               const char *usage_line, const char *description)
{
    for (size_t i = 0; i < n; i++) {
        const char *env = defs[i].env ? getenv(defs[i].env) : NULL;
        const char *v = env && *env ? env : defs[i].def;
        if (defs[i].kind == OPT_FLAG)
            *(int *)defs[i].target = v ? (strcmp(v, "0") != 0) : 0;
        else if (v && opts_set(&defs[i], v, "default") != 0)
            return GL_ECONFIG;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            opts_usage(defs, n, usage_line, description, stdout);
            return 1;
        }
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0) {
            int rc = opts_file(defs, n, argv[i + 1]);
            if (rc)
                return rc;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "unexpected argument '%s' (see --help)\n", a);
            return GL_ECONFIG;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const opt_def *d = opts_find(defs, n, name, len);
        if (!d) {
            fprintf(stderr, "unknown option '%s' (see --help)\n", a);
            return GL_ECONFIG;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && d->kind != OPT_FLAG) {
            if (i + 1 >= argc) {
                fprintf(stderr, "--%s needs a value (see --help)\n", d->name);
                return GL_ECONFIG;
            }
            value = argv[++i];
        }
        if (opts_set(d, value, "command line") != 0)
            return GL_ECONFIG;
    }
    return 0;
}
