/* Unit test for common/keys: the keys directory the broker admits CURVE
 * clients from, key files made by keygen, and the errors a bad file gets
 * (which file, which line, what is wrong). */
#include "../common/keys.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void write_file(const char *name, mode_t mode, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

static void remove_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

/* parse: keys_parse_file on DIR/name; err gets the message. */
static int parse(const char *name, int secret, keys_pair *p, char *err, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    err[0] = '\0';
    return keys_parse_file(path, secret, p, err, len);
}

static void bad_file(const char *text, const char *want_in_err, const char *what)
{
    write_file("bad.pub", 0644, text);
    keys_pair p;
    char err[512];
    int rc = parse("bad.pub", 0, &p, err, sizeof err);
    ok(rc == GL_ECONFIG && strstr(err, want_in_err) != NULL, "%s: refused with '%s'", what,
       want_in_err);
    if (!strstr(err, want_in_err))
        diag("got: %s", err);
    /* One bad file refuses the whole directory: a typo must not silently
     * lock a terminal out (or let a key in with the wrong role). */
    keys *k = NULL;
    rc = keys_load(dir, &k, err, sizeof err);
    ok(rc == GL_ECONFIG && k == NULL && strstr(err, "bad.pub"), "%s: the directory is refused, "
       "naming the file", what);
    remove_file("bad.pub");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/t_keys.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("Bail out! cannot make a temporary directory\n");
        return 1;
    }
    keys_pair t1, m1, op, br;
    char err[512] = "";
    is_int(keys_keygen(dir, "desk-1", KEYS_TERMINAL, "T-1", &t1, err, sizeof err), 0,
           "keygen makes a terminal's pair");
    is_int(keys_keygen(dir, "heping-zhang", KEYS_MEMBER, "heping-g1-team", &m1, err, sizeof err),
           0, "and a team member's");
    is_int(keys_keygen(dir, "duty-officer", KEYS_OPERATOR, "*", &op, err, sizeof err), 0,
           "and an operator's");
    is_int(keys_keygen(dir, "broker", KEYS_BROKER, "*", &br, err, sizeof err), 0,
           "and the broker's");
    is_int(keys_keygen(dir, "desk-1", KEYS_TERMINAL, "T-1", NULL, err, sizeof err), GL_ECONFIG,
           "keygen never overwrites a pair");
    ok(strstr(err, "not overwritten") != NULL, "and says so: %s", err);
    is_int(keys_keygen(dir, "../evil", KEYS_TERMINAL, "T-1", NULL, err, sizeof err), GL_ECONFIG,
           "a name with a slash is refused");
    is_int(keys_keygen(dir, "x", KEYS_NONE, "T-1", NULL, err, sizeof err), GL_ECONFIG,
           "a pair without a role is refused");

    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/desk-1.secret", dir);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the secret file is mode 0600");
    keys_pair back;
    is_int(parse("desk-1.secret", 1, &back, err, sizeof err), 0, "the secret file reads back");
    ok(strcmp(back.who.public_key, t1.who.public_key) == 0 &&
           strcmp(back.secret_key, t1.secret_key) == 0 && back.who.role == KEYS_TERMINAL &&
           strcmp(back.who.scope, "T-1") == 0 && strcmp(back.who.name, "desk-1") == 0,
       "with the same keys, role, scope and name");
    is_int(parse("desk-1.pub", 0, &back, err, sizeof err), 0, "the public file reads back");
    ok(back.secret_key[0] == '\0' && strcmp(back.who.public_key, t1.who.public_key) == 0,
       "and holds the public key only");
    chmod(path, 0644);
    is_int(parse("desk-1.secret", 1, &back, err, sizeof err), GL_ECONFIG,
           "a secret file others may read is refused");
    ok(strstr(err, "too open") != NULL, "saying why: %s", err);
    chmod(path, 0600);

    keys *k = NULL;
    is_int(keys_load(dir, &k, err, sizeof err), 0, "the directory loads");
    is_int(keys_count(k), 3, "three principals (the broker's own pair is not one)");
    const keys_principal *p = keys_by_public(k, t1.who.public_bin);
    ok(p && strcmp(p->name, "desk-1") == 0 && p->role == KEYS_TERMINAL, "found by public key");
    p = keys_by_name(k, "heping-zhang");
    ok(p && p->role == KEYS_MEMBER && strcmp(p->scope, "heping-g1-team") == 0,
       "found by name, with role and scope");
    ok(keys_by_public(k, br.who.public_bin) == NULL, "the broker's key admits no client");
    ok(keys_by_name(k, "nobody") == NULL, "an unknown name is not found");
    keys_free(&k);
    ok(k == NULL, "keys_free clears the pointer");

    char z85[KEYS_Z85_LEN + 1];
    is_int(keys_read_public(t1.who.public_key, z85, err, sizeof err), 0,
           "a server key given as Z85 text");
    snprintf(path, sizeof path, "%s/broker.pub", dir);
    is_int(keys_read_public(path, z85, err, sizeof err), 0, "or as the broker's .pub file");
    is_str(z85, br.who.public_key, "the key read is the broker's");
    is_int(keys_read_public("not-a-key", z85, err, sizeof err), GL_ECONFIG,
           "anything else is refused");

    /* Bad files: the error names the file and the line. */
    char text[512];
    bad_file("role terminal\nscope T-9\n", "no public-key line", "no public key");
    snprintf(text, sizeof text, "public-key %s\nrole terminal\n", t1.who.public_key);
    bad_file(text, "no scope line", "no scope");
    bad_file("# comment\n\npublic-key tooshort\nrole terminal\nscope T\n",
             "bad.pub:3: public-key must be 40 characters of Z85", "a short key");
    snprintf(text, sizeof text, "public-key %s\nrole admin\nscope *\n", t1.who.public_key);
    bad_file(text, "bad.pub:2: role must be", "an unknown role");
    snprintf(text, sizeof text, "public-key %s\nrole member\nscope two words\n",
             t1.who.public_key);
    bad_file(text, "bad.pub:3: scope must be", "a scope with a space");
    snprintf(text, sizeof text, "public-key %s\nrole member\nscope A\ncolour blue\n",
             m1.who.public_key);
    bad_file(text, "bad.pub:4: unknown line 'colour'", "an unknown line");
    snprintf(text, sizeof text, "public-key %s\nsecret-key %s\nrole member\nscope A\n",
             m1.who.public_key, m1.secret_key);
    bad_file(text, "bad.pub:2: a secret key in a .pub file", "a secret key where it is public");

    snprintf(text, sizeof text, "public-key %s\nrole operator\nscope *\n", op.who.public_key);
    write_file("twin.pub", 0644, text);
    is_int(keys_load(dir, &k, err, sizeof err), GL_ECONFIG,
           "two files with the same public key are refused");
    ok(strstr(err, "same public key") != NULL, "saying so: %s", err);
    remove_file("twin.pub");
    write_file("bad name!.pub", 0644, "");
    is_int(keys_load(dir, &k, err, sizeof err), GL_ECONFIG, "a file name that is no principal "
           "name is refused");
    remove_file("bad name!.pub");
    is_int(keys_load("/nonexistent/keys", &k, err, sizeof err), GL_ECONFIG,
           "a missing directory is refused");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
