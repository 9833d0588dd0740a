/* client_curve.c — a client's CURVE keys from key files (client.h,
 * client_opts_curve). */
#include "client.h"

#include <stdio.h>
#include <string.h>

#include "../common/keys.h"

int client_opts_curve(client_opts *o, const char *key_file, const char *server_key, char *err,
                      size_t errlen)
{
    if (key_file && !*key_file)
        key_file = NULL;
    if (server_key && !*server_key)
        server_key = NULL;
    if (!key_file && !server_key)
        return 0;
    if (!key_file || !server_key) {
        snprintf(err, errlen, "--key and --server-key go together: this principal's .secret "
                 "file and the broker's public key");
        return GL_ECONFIG;
    }
    keys_pair pair;
    char server[KEYS_Z85_LEN + 1];
    int rc = keys_parse_file(key_file, 1, &pair, err, errlen);
    if (rc == 0)
        rc = keys_read_public(server_key, server, err, errlen);
    if (rc)
        return rc;
    memcpy(o->curve_server_key, server, sizeof o->curve_server_key);
    memcpy(o->curve_public_key, pair.who.public_key, sizeof o->curve_public_key);
    memcpy(o->curve_secret_key, pair.secret_key, sizeof o->curve_secret_key);
    explicit_bzero(&pair, sizeof pair);
    return 0;
}
