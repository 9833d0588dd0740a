/* keys.h — the keys directory: who may connect over CURVE, with which role
 * and scope (proto/PROTOCOL.md, "Security").
 *
 * One principal per file DIR/NAME.pub, lines "key value" ('#' comments):
 *
 *     public-key  <40 characters of Z85: the principal's CURVE public key>
 *     role        terminal | member | operator | worker
 *     scope       terminal: its terminal id; member: its team id;
 *                 operator: "*" (or a county name); worker: "*"
 *
 * NAME (1..GL_MAX_ID of [A-Za-z0-9._-]) is the principal's name: the ZAP
 * User-Id. A key pair for the client side lives in NAME.secret (mode 0600):
 * the same lines plus "secret-key". keys_keygen writes both. The broker's
 * own pair is made the same way with role "broker" (never a client). */
#ifndef GL_KEYS_H
#define GL_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "gl.h"

#define KEYS_Z85_LEN 40 /* a 32-byte CURVE key in Z85 */

enum keys_role { KEYS_NONE = 0, KEYS_TERMINAL, KEYS_MEMBER, KEYS_OPERATOR, KEYS_WORKER,
                 KEYS_BROKER };

typedef struct keys_principal {
    char name[GL_MAX_ID + 1];
    int role;                              /* enum keys_role */
    char scope[GL_MAX_ID + 1];
    char public_key[KEYS_Z85_LEN + 1];     /* Z85 */
    unsigned char public_bin[32];
} keys_principal;

/* A key pair read from a .secret file. */
typedef struct keys_pair {
    keys_principal who;
    char secret_key[KEYS_Z85_LEN + 1];     /* Z85 */
} keys_pair;

typedef struct keys keys;

/* keys_role_name returns "terminal", "member", ... ("" for KEYS_NONE);
 * keys_role_parse the reverse, KEYS_NONE for an unknown name. */
const char *keys_role_name(int role);
int keys_role_parse(const char *name);

/* keys_load reads every DIR/ *.pub file into a new table (*out). Returns 0;
 * GL_ECONFIG when the directory cannot be read, a file is malformed (a bad
 * or missing public-key, role or scope, an unknown line, a bad name) or two
 * files hold the same public key — err then names the file and line and what
 * is wrong, and *out is NULL. Principals of role broker are skipped. */
int keys_load(const char *dir, keys **out, char *err, size_t errlen);

/* keys_free frees *k and sets it to NULL; NULL is fine. */
void keys_free(keys **k);

/* keys_count returns the number of principals in k. */
size_t keys_count(const keys *k);

/* keys_by_public returns the principal whose public key is the 32 bytes at
 * key, or NULL; keys_by_name the one called name, or NULL. Pointers stay
 * valid until keys_free. */
const keys_principal *keys_by_public(const keys *k, const unsigned char key[32]);
const keys_principal *keys_by_name(const keys *k, const char *name);

/* keys_parse_file parses one .pub or .secret file (path) into *out (its name
 * from the file name). secret: 1 to require a secret-key line (and a mode
 * no one but the owner may read), 0 to refuse one. Returns 0 or GL_ECONFIG
 * with "path:line: reason" in err. */
int keys_parse_file(const char *path, int secret, keys_pair *out, char *err, size_t errlen);

/* keys_read_public gives the Z85 public key named by spec: 40 characters of
 * Z85 as they are, or a .pub / .secret file holding a public-key line.
 * Returns 0 and out (KEYS_Z85_LEN + 1 bytes), or GL_ECONFIG with err. */
int keys_read_public(const char *spec, char *out, char *err, size_t errlen);

/* keys_name_ok: 1 when name may name a principal (and a file). */
int keys_name_ok(const char *name);

/* keys_keygen makes a CURVE key pair for name with role and scope and writes
 * DIR/NAME.pub (0644) and DIR/NAME.secret (0600); it refuses to overwrite
 * either. Returns 0 and *out (may be NULL); GL_ECONFIG for a bad name, role
 * or scope, or existing files; GL_ESYS when a file cannot be written
 * (err says why). */
int keys_keygen(const char *dir, const char *name, int role, const char *scope,
                keys_pair *out, char *err, size_t errlen);

#endif
