/* keys.c — the keys directory (keys.h). */
#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "hmap.h"

struct keys {
    keys_principal *items;
    size_t n, cap;
    hmap *by_public, *by_name;
};

static const char *const role_names[] = {"", "terminal", "member", "operator", "worker",
                                         "broker"};

const char *keys_role_name(int role)
{
    return role > 0 && role < (int)GL_ARRAY_LEN(role_names) ? role_names[role] : "";
}

int keys_role_parse(const char *name)
{
    for (int i = 1; i < (int)GL_ARRAY_LEN(role_names); i++)
        if (strcmp(name, role_names[i]) == 0)
            return i;
    return KEYS_NONE;
}

static void keys_errf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void keys_errf(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

int keys_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > GL_MAX_ID || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* A scope is an id of the directory (or "*"): printable ASCII, no spaces. */
static int scope_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GL_MAX_ID)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            return 0;
    return 1;
}

static int z85_key_ok(const char *z, unsigned char bin[32])
{
    unsigned char tmp[32];
    return strlen(z) == KEYS_Z85_LEN && zmq_z85_decode(bin ? bin : tmp, z) != NULL;
}

/* Splits "key value" (value to the end of the line, trimmed). */
static int split_line(char *line, char **key, char **value)
{
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line + strspn(line, " \t");
    if (*p == '\0' || *p == '#')
        return 0;
    *key = p;
    p += strcspn(p, " \t");
    if (*p)
        *p++ = '\0';
    p += strspn(p, " \t");
    char *end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    *value = p;
    return 1;
}

int keys_parse_file(const char *path, int secret, keys_pair *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *ext = strrchr(base, '.');
    size_t name_len = ext ? (size_t)(ext - base) : strlen(base);
    if (name_len > GL_MAX_ID) {
        keys_errf(err, errlen, "%s: the name is longer than %d bytes", path, GL_MAX_ID);
        return GL_ECONFIG;
    }
    memcpy(out->who.name, base, name_len);
    out->who.name[name_len] = '\0';
    if (!keys_name_ok(out->who.name)) {
        keys_errf(err, errlen, "%s: '%s' is not a principal name (1..%d of A-Z a-z 0-9 . _ -)",
                  path, out->who.name, GL_MAX_ID);
        return GL_ECONFIG;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        keys_errf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return GL_ECONFIG;
    }
    if (secret && (st.st_mode & 077)) {
        keys_errf(err, errlen, "%s: permissions %04o are too open: a secret key file must be "
                  "readable by its owner only (chmod 600)", path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return GL_ECONFIG;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        keys_errf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return GL_ECONFIG;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            keys_errf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = GL_ECONFIG;
            break;
        }
        char *key, *value;
        if (!split_line(line, &key, &value))
            continue;
        if (strcmp(key, "public-key") == 0) {
            if (!z85_key_ok(value, out->who.public_bin)) {
                keys_errf(err, errlen, "%s:%d: public-key must be %d characters of Z85",
                          path, lineno, KEYS_Z85_LEN);
                rc = GL_ECONFIG;
            } else
                memcpy(out->who.public_key, value, KEYS_Z85_LEN + 1);
        } else if (strcmp(key, "secret-key") == 0 && secret) {
            if (!z85_key_ok(value, NULL)) {
                keys_errf(err, errlen, "%s:%d: secret-key must be %d characters of Z85",
                          path, lineno, KEYS_Z85_LEN);
                rc = GL_ECONFIG;
            } else
                memcpy(out->secret_key, value, KEYS_Z85_LEN + 1);
        } else if (strcmp(key, "role") == 0) {
            out->who.role = keys_role_parse(value);
            if (!out->who.role) {
                keys_errf(err, errlen, "%s:%d: role must be terminal, member, operator, worker "
                          "or broker, not '%s'", path, lineno, value);
                rc = GL_ECONFIG;
            }
        } else if (strcmp(key, "scope") == 0) {
            if (!scope_ok(value)) {
                keys_errf(err, errlen, "%s:%d: scope must be 1..%d printable characters "
                          "without spaces", path, lineno, GL_MAX_ID);
                rc = GL_ECONFIG;
            } else
                snprintf(out->who.scope, sizeof out->who.scope, "%s", value);
        } else if (strcmp(key, "secret-key") == 0) {
            keys_errf(err, errlen, "%s:%d: a secret key in a .pub file: move it to a .secret "
                      "file, and make a new pair (this one is exposed)", path, lineno);
            rc = GL_ECONFIG;
        } else {
            keys_errf(err, errlen, "%s:%d: unknown line '%s' (public-key, role, scope%s)",
                      path, lineno, key, secret ? ", secret-key" : "");
            rc = GL_ECONFIG;
        }
    }
    fclose(f);
    if (rc)
        return rc;
    const char *missing = !out->who.public_key[0]          ? "public-key"
                          : !out->who.role                 ? "role"
                          : !out->who.scope[0]             ? "scope"
                          : secret && !out->secret_key[0] ? "secret-key"
                                                           : NULL;
    if (missing) {
        keys_errf(err, errlen, "%s: no %s line", path, missing);
        return GL_ECONFIG;
    }
    return 0;
}

void keys_free(keys **kp)
{
    keys *k = *kp;
    if (!k)
        return;
    hmap_free(&k->by_public);
    hmap_free(&k->by_name);
    free(k->items);
    free(k);
    *kp = NULL;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

int keys_load(const char *dir, keys **out, char *err, size_t errlen)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        keys_errf(err, errlen, "keys directory %s: %s", dir, strerror(errno));
        return GL_ECONFIG;
    }
    keys *k = calloc(1, sizeof *k);
    int rc = 0;
    if (!k) {
        keys_errf(err, errlen, "out of memory");
        rc = GL_EINTERNAL;
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".pub"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        keys_pair pair;
        if ((rc = keys_parse_file(path, 0, &pair, err, errlen)) != 0)
            goto out;
        if (pair.who.role == KEYS_BROKER)
            continue;
        if (k->n == k->cap) {
            size_t cap = k->cap ? k->cap * 2 : 64;
            keys_principal *items = realloc(k->items, cap * sizeof *items);
            if (!items) {
                keys_errf(err, errlen, "out of memory");
                rc = GL_EINTERNAL;
                goto out;
            }
            k->items = items;
            k->cap = cap;
        }
        k->items[k->n++] = pair.who;
    }
    /* Index only once the array stops moving. */
    k->by_public = hmap_new();
    k->by_name = hmap_new();
    if (!k->by_public || !k->by_name) {
        keys_errf(err, errlen, "out of memory");
        rc = GL_EINTERNAL;
        goto out;
    }
    for (size_t i = 0; i < k->n; i++) {
        keys_principal *p = &k->items[i];
        const keys_principal *twin = hmap_get(k->by_public, p->public_bin, 32);
        if (twin) {
            keys_errf(err, errlen, "%s/%s.pub: the same public key as %s/%s.pub: every "
                      "principal needs a key pair of its own", dir, p->name, dir, twin->name);
            rc = GL_ECONFIG;
            goto out;
        }
        if (hmap_put(k->by_public, p->public_bin, 32, p) != 0 ||
            hmap_put(k->by_name, p->name, strlen(p->name), p) != 0) {
            keys_errf(err, errlen, "out of memory");
            rc = GL_EINTERNAL;
            goto out;
        }
    }
out:
    closedir(d);
    if (rc)
        keys_free(&k);
    *out = k;
    return rc;
}

size_t keys_count(const keys *k) { return k ? k->n : 0; }

const keys_principal *keys_by_public(const keys *k, const unsigned char key[32])
{
    return k ? hmap_get(k->by_public, key, 32) : NULL;
}

const keys_principal *keys_by_name(const keys *k, const char *name)
{
    return k && name ? hmap_get(k->by_name, name, strlen(name)) : NULL;
}

int keys_read_public(const char *spec, char *out, char *err, size_t errlen)
{
    if (strlen(spec) == KEYS_Z85_LEN && z85_key_ok(spec, NULL) && access(spec, F_OK) != 0) {
        memcpy(out, spec, KEYS_Z85_LEN + 1);
        return 0;
    }
    keys_pair pair;
    int rc = keys_parse_file(spec, has_suffix(spec, ".secret"), &pair, err, errlen);
    if (rc == 0)
        memcpy(out, pair.who.public_key, KEYS_Z85_LEN + 1);
    return rc;
}

static int write_key_file(const char *path, mode_t mode, const keys_pair *p, int secret,
                          char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        keys_errf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == EEXIST ? GL_ECONFIG : GL_ESYS;
    }
    fchmod(fd, mode); /* whatever the umask */
    char buf[1024];
    int n = snprintf(buf, sizeof buf,
                     "# gridline %s of principal %s (proto/PROTOCOL.md, \"Security\")\n"
                     "public-key %s\n%s%s%srole %s\nscope %s\n",
                     secret ? "key pair: keep it secret" : "public key", p->who.name,
                     p->who.public_key, secret ? "secret-key " : "", secret ? p->secret_key : "",
                     secret ? "\n" : "", keys_role_name(p->who.role), p->who.scope);
    int ok = write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        keys_errf(err, errlen, "%s: %s", path, strerror(e));
        unlink(path);
        return GL_ESYS;
    }
    return 0;
}

int keys_keygen(const char *dir, const char *name, int role, const char *scope,
                keys_pair *out, char *err, size_t errlen)
{
    if (!name || !keys_name_ok(name)) {
        keys_errf(err, errlen, "'%s' is not a principal name (1..%d of A-Z a-z 0-9 . _ -)",
                  name ? name : "", GL_MAX_ID);
        return GL_ECONFIG;
    }
    if (!keys_role_name(role)[0]) {
        keys_errf(err, errlen, "role must be terminal, member, operator, worker or broker");
        return GL_ECONFIG;
    }
    if (!scope || !scope_ok(scope)) {
        keys_errf(err, errlen, "scope must be 1..%d printable characters without spaces",
                  GL_MAX_ID);
        return GL_ECONFIG;
    }
    keys_pair p;
    memset(&p, 0, sizeof p);
    snprintf(p.who.name, sizeof p.who.name, "%s", name);
    snprintf(p.who.scope, sizeof p.who.scope, "%s", scope);
    p.who.role = role;
    if (zmq_curve_keypair(p.who.public_key, p.secret_key) != 0) {
        keys_errf(err, errlen, "cannot make a CURVE key pair: %s", zmq_strerror(zmq_errno()));
        return GL_ESYS;
    }
    zmq_z85_decode(p.who.public_bin, p.who.public_key);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        keys_errf(err, errlen, "cannot make the keys directory %s: %s", dir, strerror(errno));
        return GL_ESYS;
    }
    char pub[4096], sec[4096];
    snprintf(pub, sizeof pub, "%s/%s.pub", dir, name);
    snprintf(sec, sizeof sec, "%s/%s.secret", dir, name);
    if (access(pub, F_OK) == 0 || access(sec, F_OK) == 0) {
        keys_errf(err, errlen, "%s.pub or %s.secret exists in %s: not overwritten", name, name,
                  dir);
        return GL_ECONFIG;
    }
    int rc = write_key_file(sec, 0600, &p, 1, err, errlen);
    if (rc == 0 && (rc = write_key_file(pub, 0644, &p, 0, err, errlen)) != 0)
        unlink(sec);
    if (rc == 0 && out)
        *out = p;
    return rc;
}
