/* codec_table.h — private to proto/: the field tables that drive both the
 * encoder and the decoder in codec.c. One row per wire key; the body tables
 * of proto/PROTOCOL.md are these rows in prose, so a change here is a change
 * there in the same commit. */
#ifndef GL_CODEC_TABLE_H
#define GL_CODEC_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* The value kinds a field can hold: the msgpack type on the wire and the C
 * member it is decoded into. */
enum codec_type {
    CT_STR,        /* str → const char *, NUL-terminated copy in the arena */
    CT_UINT,       /* positive int → uint32_t or uint64_t (row.size) */
    CT_BOOL,       /* bool → int 0/1 */
    CT_COORD,      /* float or int → double; aux: the int has_coords flag */
    CT_BIN,        /* bin → const void *; aux: the size_t length */
    CT_KIND,       /* str "request"|"alert"|"feedback" → int enum gl_kind */
    CT_EVSTATE,    /* str → int enum gl_event_state */
    CT_DSSTATE,    /* str → int enum gl_dispatch_state */
    CT_EVENT,      /* map → gl_event (codec_event_table) */
    CT_DISPATCHES, /* array of maps → gl_dispatch *; aux: the size_t count */
    CT_HISTORY,    /* array of maps → gl_history *; aux: the size_t count */
    CT_EVENTS,     /* array of event maps → gl_event *; aux: the size_t count */
    CT_ERRNAME,    /* str, ERROR's "name": no member of its own; encoded as
                      gl_errname of the uint32 code at off, checked and
                      dropped on decode */
    CT_MAP,        /* any map → const void * to its msgpack bytes (copied into
                      the arena); aux: the size_t length. Carried through
                      unchanged: figures whose keys the tables do not fix */
};

enum codec_flag {
    CF_REQUIRED = 1, /* the key must be present (decoder) and set (encoder) */
    CF_ID = 2,       /* an event id: 1..GL_MAX_ID printable ASCII, no spaces */
};

typedef struct codec_field {
    const char *key;     /* wire key */
    unsigned char klen;  /* strlen(key), for the encoder */
    unsigned char type;  /* enum codec_type */
    unsigned char flags; /* enum codec_flag bits */
    unsigned short size; /* sizeof the C member (CT_UINT: 4 or 8) */
    uint32_t max;        /* CT_STR, CT_BIN: bytes; arrays: elements;
                            CT_COORD: largest magnitude */
    size_t off;          /* offset of the member in the struct filled */
    size_t aux;          /* see enum codec_type */
    const char *const *values; /* CT_STR: allowed values, NULL-terminated;
                                  NULL: any string */
} codec_field;

typedef struct codec_table {
    const codec_field *fields;
    size_t n;                  /* at most 64 (the decoder's seen-mask) */
} codec_table;

/* The record maps (PROTOCOL.md "Record maps"); rows point into gl_event,
 * gl_dispatch and gl_history. */
extern const codec_table codec_event_table;
extern const codec_table codec_dispatch_table;
extern const codec_table codec_history_table;

/* codec_command returns the body table of cmd (rows point into proto_msg),
 * or NULL when cmd is not a command. */
const codec_table *codec_command(int cmd);

#endif
