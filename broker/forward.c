/* forward.c — the broker passes bodies on (a client's request to a worker,
 * a worker's reply or dispatch to clients and responders) as they came.
 * zmq_send would copy each into a new message (a malloc and a memcpy per
 * frame over 33 bytes); a zmq_msg_copy of the received frame shares its
 * buffer instead, counted by reference. */
#include "broker.h"

#include <string.h>

zmq_msg_t *frame_part_msg(frame_msg *fm, int index)
{
    int i = index + (fm->has_identity ? 1 : 0);
    return i < fm->nparts ? &fm->part[i] : NULL;
}

static int part(void *sock, const void *data, size_t len)
{
    return zmq_send(sock, data, len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0 ? -1 : 0;
}

/* A frame of constant bytes (the signature, a command's name: static
 * strings that live as long as the process) goes by reference: no copy. */
static int part_const(void *sock, const void *data, size_t len)
{
    return zmq_send_const(sock, data, len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0 ? -1 : 0;
}

int broker_forward(void *sock, const void *ident, size_t ident_len, int cmd, const void *header,
                   size_t header_len, int inner_cmd, zmq_msg_t *last)
{
    const char *name = proto_cmd_name(cmd);
    const char *inner_name = inner_cmd ? proto_cmd_name(inner_cmd) : NULL;
    if (!name || (inner_cmd && !inner_name) || !last)
        return GL_EINTERNAL;
    zmq_msg_t ref;
    zmq_msg_init(&ref);
    if (zmq_msg_copy(&ref, last) != 0) {
        zmq_msg_close(&ref);
        return GL_EINTERNAL;
    }
    /* ZeroMQ queues a multi-part message whole or not at all: only the
     * first part can fail for a peer gone or a full pipe. */
    if ((ident && part(sock, ident, ident_len) != 0) ||
        part_const(sock, PROTO_SIGNATURE, PROTO_SIGNATURE_LEN) != 0 ||
        part_const(sock, name, strlen(name)) != 0 ||
        (inner_cmd && (part(sock, header, header_len) != 0 ||
                       part_const(sock, inner_name, strlen(inner_name)) != 0)) ||
        zmq_msg_send(&ref, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&ref);
        return GL_EUNAVAILABLE;
    }
    return 0;
}
