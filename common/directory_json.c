/* directory_json.c — checked reads of JSON values, with messages that name
 * the JSON pointer at fault (see directory_json.h). */
#include "directory_json.h"
#include "gl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dirjson_fail(dirjson *j, const char *fmt, ...)
{
    if (j->err && j->errlen) {
        int n = snprintf(j->err, j->errlen, "%s: ", j->file);
        if (n >= 0 && (size_t)n < j->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(j->err + n, j->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return GL_ECONFIG;
}

/* where names a path in a message; the root's JSON pointer is "". */
static const char *where(const char *path)
{
    return *path ? path : "top level";
}

int dirjson_nomem(dirjson *j)
{
    dirjson_fail(j, "out of memory while loading the directory");
    return GL_EINTERNAL;
}

void dirjson_path(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

void *dirjson_alloc(dirjson *j, size_t len)
{
    void *p = arena_alloc(j->arena, len ? len : 1);
    if (p)
        memset(p, 0, len ? len : 1);
    return p;
}

const char *dirjson_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

int dirjson_keys(dirjson *j, const char *path, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        (void)v;
        if (key[0] == '_')
            continue;
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i])
            return dirjson_fail(j, "%s: unknown key '%s'", path, key);
    }
    return 0;
}

int dirjson_object(dirjson *j, const char *path, json_t *v)
{
    if (!json_is_object(v))
        return dirjson_fail(j, "%s: expected an object, got %s", path, dirjson_type(v));
    return 0;
}

static int is_slug(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

/* check_str checks a JSON string value of 1..max bytes (an ASCII slug when
 * slug is set) and copies it into the arena. */
static int check_str(dirjson *j, const char *path, json_t *v, size_t max, int slug,
                     const char **out)
{
    if (!json_is_string(v))
        return dirjson_fail(j, "%s: expected a string, got %s", path, dirjson_type(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > max)
        return dirjson_fail(j, "%s: must be 1 to %zu bytes long", path, max);
    if (strlen(s) != len)
        return dirjson_fail(j, "%s: contains a NUL character", path);
    if (slug && !is_slug(s))
        return dirjson_fail(j, "%s: '%s' is not an id (letters, digits, '-', '_', '.')", path, s);
    *out = arena_strndup(j->arena, s, len);
    return *out ? 0 : dirjson_nomem(j);
}

int dirjson_str(dirjson *j, const char *path, json_t *obj, const char *key, int required,
                size_t max, int slug, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? dirjson_fail(j, "%s: missing required key '%s'", where(path), key) : 0;
    char p[DIRJSON_PATH_LEN];
    dirjson_path(p, sizeof p, "%s/%s", path, key);
    return check_str(j, p, v, max, slug, out);
}

int dirjson_id(dirjson *j, const char *path, json_t *obj, const char *key, int required,
               const char **out)
{
    return dirjson_str(j, path, obj, key, required, GL_MAX_ID, 1, out);
}

int dirjson_name(dirjson *j, const char *path, json_t *obj, const char **out)
{
    return dirjson_str(j, path, obj, "name", 1, GL_MAX_SHORT, 0, out);
}

int dirjson_int(dirjson *j, const char *path, json_t *obj, const char *key, long long min,
                long long max, long long *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return dirjson_fail(j, "%s: missing required key '%s'", where(path), key);
    if (!json_is_integer(v))
        return dirjson_fail(j, "%s/%s: expected an integer, got %s", path, key, dirjson_type(v));
    long long n = json_integer_value(v);
    if (n < min || n > max)
        return dirjson_fail(j, "%s/%s: %lld is out of range %lld..%lld", path, key, n, min, max);
    *out = n;
    return 0;
}

int dirjson_bool(dirjson *j, const char *path, json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return dirjson_fail(j, "%s/%s: expected a boolean, got %s", path, key, dirjson_type(v));
    *out = json_is_true(v);
    return 0;
}

int dirjson_array(dirjson *j, const char *path, json_t *obj, const char *key, int required,
                  json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return required ? dirjson_fail(j, "%s: missing required key '%s'", where(path), key) : 0;
    if (!json_is_array(v))
        return dirjson_fail(j, "%s/%s: expected an array, got %s", path, key, dirjson_type(v));
    *out = v;
    return 0;
}

int dirjson_list(dirjson *j, const char *path, json_t *obj, const char *key, size_t max, int slug,
                 const char ***out, size_t *n)
{
    json_t *arr;
    int rc = dirjson_array(j, path, obj, key, 0, &arr);
    *out = NULL;
    *n = 0;
    if (rc || !arr)
        return rc;
    size_t len = json_array_size(arr);
    const char **list = dirjson_alloc(j, len * sizeof *list);
    if (!list)
        return dirjson_nomem(j);
    for (size_t i = 0; i < len; i++) {
        char p[DIRJSON_PATH_LEN];
        dirjson_path(p, sizeof p, "%s/%s/%zu", path, key, i);
        if ((rc = check_str(j, p, json_array_get(arr, i), max, slug, &list[i])))
            return rc;
        for (size_t k = 0; k < i; k++)
            if (strcmp(list[k], list[i]) == 0)
                return dirjson_fail(j, "%s: '%s' is listed twice", p, list[i]);
    }
    *out = list;
    *n = len;
    return 0;
}

int dirjson_enum(dirjson *j, const char *path, json_t *obj, const char *key,
                 const char *const *names, int *out)
{
    const char *s;
    int rc = dirjson_str(j, path, obj, key, 1, GL_MAX_ID, 1, &s);
    if (rc)
        return rc;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) {
            *out = i + 1;
            return 0;
        }
    char choices[200] = "";
    for (int i = 0; names[i]; i++) {
        size_t used = strlen(choices);
        snprintf(choices + used, sizeof choices - used, "%s%s", i ? ", " : "", names[i]);
    }
    return dirjson_fail(j, "%s/%s: unknown value '%s' (one of: %s)", path, key, s, choices);
}

int dirjson_forbid(dirjson *j, const char *path, json_t *obj, const char *key, const char *why)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_null(v))
        return dirjson_fail(j, "%s/%s: %s", path, key, why);
    return 0;
}
