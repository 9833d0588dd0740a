#include "gl.h"

#include <string.h>

static const struct {
    int code;
    const char *name;
    const char *text;
} gl_errors[] = {
    {GL_OK, "ok", "success"},
    {GL_EBADFRAME, "bad_frame", "wrong frame count or protocol signature"},
    {GL_EVERSION, "bad_version", "protocol version not supported"},
    {GL_EUNKNOWNCMD, "unknown_command", "command not known on this endpoint"},
    {GL_EBADBODY, "bad_body", "body is not a single msgpack map"},
    {GL_EMISSING, "missing_field", "a required field is missing"},
    {GL_EBADFIELD, "bad_field", "a field has the wrong type, length or value"},
    {GL_EUNKNOWNKIND, "unknown_kind", "kind must be request, alert or feedback"},
    {GL_ETOOLARGE, "too_large", "message exceeds the size limit"},
    {GL_EBADSTATE, "bad_state", "transition not allowed in the current state"},
    {GL_ENOTFOUND, "not_found", "no such event"},
    {GL_ETAKEN, "taken", "already accepted by another responder"},
    {GL_ENOTYOURS, "not_yours", "the event was not dispatched to this team"},
    {GL_EBUSY, "busy", "queue full, retry later"},
    {GL_EUNAVAILABLE, "unavailable", "service unavailable"},
    {GL_ESTORAGEFULL, "storage_full", "storage full"},
    {GL_ESTORAGE, "storage_error", "storage error, retry later"},
    {GL_EINTERNAL, "internal", "internal error"},
    {GL_ECONFIG, "bad_config", "invalid configuration"},
    {GL_ESYS, "system_error", "system call failed"},
    {GL_EFORBIDDEN, "forbidden", "the sender's role or scope does not allow this"},
};

static int gl_err_index(int err)
{
    for (size_t i = 0; i < GL_ARRAY_LEN(gl_errors); i++)
        if (gl_errors[i].code == err)
            return (int)i;
    return -1;
}

const char *gl_strerror(int err)
{
    int i = gl_err_index(err);
    return i < 0 ? "unknown error" : gl_errors[i].text;
}

const char *gl_errname(int err)
{
    int i = gl_err_index(err);
    return i < 0 ? "unknown" : gl_errors[i].name;
}

size_t gl_utf8_trim(char *s)
{
    size_t n = strlen(s), lead = n;
    /* Find the start of the last character: at most 3 continuation bytes. */
    while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0)
        return n;
    unsigned char c = (unsigned char)s[lead - 1];
    size_t want = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (want && n - (lead - 1) < want)
        s[n = lead - 1] = '\0';
    return n;
}
