/* directory_json.h — checked reads of the directory file's JSON values.
 *
 * Each reader takes the JSON pointer of the object it reads from ("" for the
 * top level) and, on a missing key, a wrong type or a bad value, writes
 * "FILE: /pointer/key: what is wrong" into the caller's buffer and returns
 * GL_ECONFIG (GL_EINTERNAL on ENOMEM). Strings are copied into the arena, so
 * the JSON tree can be freed once reading is done. Used by
 * directory_load.c only. */
#ifndef GL_DIRECTORY_JSON_H
#define GL_DIRECTORY_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"

/* Paths hold fixed keys and indexes, never ids, so this is ample; a longer
 * path is cut short in the message. */
#define DIRJSON_PATH_LEN 128

typedef struct dirjson {
    gl_arena *arena;  /* where strings and dirjson_alloc memory go */
    const char *file; /* prefixed to every message */
    char *err;        /* message buffer, may be NULL */
    size_t errlen;
} dirjson;

/* dirjson_fail writes "FILE: " and the formatted message to j->err and
 * returns GL_ECONFIG. */
int dirjson_fail(dirjson *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dirjson_nomem reports ENOMEM and returns GL_EINTERNAL. */
int dirjson_nomem(dirjson *j);

/* dirjson_path formats a JSON pointer into buf (truncating). */
void dirjson_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* dirjson_alloc returns len zeroed bytes from the arena, or NULL (ENOMEM). */
void *dirjson_alloc(dirjson *j, size_t len);

/* dirjson_type names a value's type for messages ("an integer"). */
const char *dirjson_type(const json_t *v);

/* dirjson_object checks that v, found at path, is an object. */
int dirjson_object(dirjson *j, const char *path, json_t *v);

/* dirjson_keys refuses keys of obj not in allowed (NULL-terminated), so a
 * misspelt key is an error rather than a silently missing value. Keys that
 * start with '_' are comments and always allowed. */
int dirjson_keys(dirjson *j, const char *path, json_t *obj, const char *const *allowed);

/* dirjson_str reads obj[key] as a string of 1..max bytes (an ASCII slug of
 * letters, digits, '-', '_', '.' when slug is set). Absent or null gives
 * *out = NULL, an error when required. */
int dirjson_str(dirjson *j, const char *path, json_t *obj, const char *key, int required,
                size_t max, int slug, const char **out);

/* dirjson_id reads an id: a slug of 1..GL_MAX_ID bytes. */
int dirjson_id(dirjson *j, const char *path, json_t *obj, const char *key, int required,
               const char **out);

/* dirjson_name reads the required "name": 1..GL_MAX_SHORT bytes of UTF-8. */
int dirjson_name(dirjson *j, const char *path, json_t *obj, const char **out);

/* dirjson_int reads a required integer in min..max. */
int dirjson_int(dirjson *j, const char *path, json_t *obj, const char *key, long long min,
                long long max, long long *out);

/* dirjson_bool reads an optional boolean; absent gives 0. */
int dirjson_bool(dirjson *j, const char *path, json_t *obj, const char *key, int *out);

/* dirjson_array finds obj[key] as an array; absent gives *out = NULL, an
 * error when required. */
int dirjson_array(dirjson *j, const char *path, json_t *obj, const char *key, int required,
                  json_t **out);

/* dirjson_list reads an optional array of distinct strings (as dirjson_str
 * checks them) into an arena array of *n pointers. */
int dirjson_list(dirjson *j, const char *path, json_t *obj, const char *key, size_t max, int slug,
                 const char ***out, size_t *n);

/* dirjson_enum reads a required string that must be one of names
 * (NULL-terminated); *out is its index + 1, so 0 stays "none". */
int dirjson_enum(dirjson *j, const char *path, json_t *obj, const char *key,
                 const char *const *names, int *out);

/* dirjson_forbid refuses obj[key] (unless absent or null) with the reason
 * why: a key that makes no sense in this place. */
int dirjson_forbid(dirjson *j, const char *path, json_t *obj, const char *key, const char *why);

#endif
