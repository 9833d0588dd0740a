/* gl.h — what every gridline module shares: error codes and limits.
 *
 * One error convention: 0 is success, a negative GL_E* is an error.
 * The absolute value of a GL_E* code is the number sent on the wire in an
 * ERROR reply (proto/PROTOCOL.md, "Error codes"), so a terminal sees the same
 * code the process logged. */
#ifndef GL_GL_H
#define GL_GL_H

#include <stddef.h>
#include <stdint.h>

/* Wire error codes. 1xx: the request is malformed; 2xx: the request is well
 * formed but cannot apply; 3xx: the service cannot take it now. */
enum gl_err {
    GL_OK = 0,
    GL_EBADFRAME = -100,     /* wrong frame count or signature */
    GL_EVERSION = -101,      /* protocol version not supported */
    GL_EUNKNOWNCMD = -102,   /* command not known on this endpoint */
    GL_EBADBODY = -103,      /* body is not one msgpack map, or has trailing bytes */
    GL_EMISSING = -104,      /* a required field is absent */
    GL_EBADFIELD = -105,     /* a field has the wrong type, length or value */
    GL_EUNKNOWNKIND = -106,  /* kind is not request, alert or feedback */
    GL_ETOOLARGE = -107,     /* message larger than GL_MAX_BODY */
    GL_EBADSTATE = -108,     /* the transition is not allowed in this state */
    GL_ENOTFOUND = -200,     /* no such event */
    GL_ETAKEN = -201,        /* another team or member already accepted it */
    GL_ENOTYOURS = -202,     /* the event was never dispatched to this team */
    GL_EBUSY = -300,         /* routine queue full: retry after retry_after_ms */
    GL_EUNAVAILABLE = -301,  /* no worker connected / broker unreachable */
    GL_ESTORAGEFULL = -302,  /* the store's map or the disk is full */
    GL_ESTORAGE = -303,      /* the store failed (PROTOCOL.md: 303) */
    GL_EINTERNAL = -304,     /* a bug or resource failure (ENOMEM) */
    GL_ECONFIG = -305,       /* configuration or directory file invalid */
    GL_ESYS = -306,          /* a system call failed; see errno in the log */
    GL_EFORBIDDEN = -203,    /* the sender's role or scope does not allow this */
};

/* gl_strerror returns a static, stable description of a GL_E* code (or of 0).
 * Unknown codes give "unknown error". */
const char *gl_strerror(int err);

/* gl_errname returns the short snake_case name of a GL_E* code as used on the
 * wire ("bad_frame", "busy", ...); unknown codes give "unknown". */
const char *gl_errname(int err);

/* gl_utf8_trim cuts an incomplete UTF-8 sequence off the end of s (what
 * snprintf leaves when it truncates Chinese text), so the string stays valid
 * UTF-8 — the protocol refuses anything else. Returns the new length. */
size_t gl_utf8_trim(char *s);

/* Limits, documented in proto/PROTOCOL.md. */
#define GL_MAX_BODY (64 * 1024)   /* bytes in one msgpack body frame */
#define GL_MAX_ID 64              /* bytes in an event id, team id, member name */
#define GL_MAX_TEXT 4096          /* bytes in an event's text or a note */
#define GL_MAX_SHORT 256          /* bytes in other string fields */

#define GL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
