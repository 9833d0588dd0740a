/* frame.h — sending and receiving whole gridline messages on ZeroMQ sockets.
 *
 * A message on the wire is [identity] "GL/1" COMMAND BODY [COMMAND2 BODY2]:
 * the identity frame only on the ROUTER side; the last two frames only on the
 * envelope commands JOB, DONE and DELIVER. frame_recv reads every part of one
 * multi-part message (so a malformed message is always consumed whole) and
 * checks the shape; decoding the body is proto_decode's job. A BATCH is
 * "GL/1" "BATCH" BODY followed by items of three frames each (HEADER
 * COMMAND BODY, the last three frames of a DONE or DELIVER): frame_recv
 * reads up to its body, frame_next_item the items, frame_close the rest.
 * A PACK is "GL/1" "PACK" BODY ITEMS, exactly four frames, its items
 * packed in the last (pack.h; at most PACK_MAX_BYTES, else too_large). */
#ifndef GL_FRAME_H
#define GL_FRAME_H

#include <stddef.h>
#include <zmq.h>

#include "proto.h"

#define FRAME_MAX_PARTS 8

typedef struct frame_msg {
    zmq_msg_t part[FRAME_MAX_PARTS];
    int nparts;            /* frames kept (at most FRAME_MAX_PARTS) */
    int total_parts;       /* frames received, even those dropped */
    int has_identity;      /* part[0] is a ROUTER identity */
    int cmd;               /* enum proto_cmd of the outer command */
    int inner_cmd;         /* envelope commands: the inner command, else 0 */
    /* BATCH (worker → broker): frame_recv stops after the BATCH's body and
     * frame_next_item reads the items, three frames each, one at a time. */
    void *sock;            /* where the unread items wait (NULL: none) */
    zmq_msg_t item[3];     /* the current item: header, command, body */
    int nitem;             /* frames of the current item held in item[] */
    int item_init;         /* of item[], those initialised (kept from item to item) */
    int prev_item_cmd;     /* the last item command parsed (PROTO_NONE: none yet) */
    const char *prev_item_name; /* its name */
    size_t prev_item_len;
    int item_cmd;          /* the item's command (PROTO_NONE: unknown) */
    int item_err;          /* 0, or the item's shape error (GL_EBADFRAME: the
                              message ended inside it; GL_EUNKNOWNCMD; GL_ETOOLARGE) */
} frame_msg;

/* frame_recv reads one whole message from sock (flags: 0 or ZMQ_DONTWAIT).
 * router: 1 when sock is a ROUTER (expects an identity frame first).
 * Returns 0 and a well-shaped message; GL_EUNAVAILABLE when nothing was
 * waiting (ZMQ_DONTWAIT) or the call was interrupted (errno EINTR/EAGAIN);
 * or a GL_E* shape error (GL_EBADFRAME, GL_EVERSION, GL_EUNKNOWNCMD,
 * GL_ETOOLARGE), in which case the identity (if any) is still in part[0] so
 * the caller can send an ERROR reply. Call frame_close in every case. */
int frame_recv(void *sock, int router, int flags, frame_msg *m);

/* frame_close releases the parts (and reads and drops a BATCH's unread
 * items, so that the next receive starts at a message boundary); safe to
 * call twice. */
void frame_close(frame_msg *m);

/* frame_next_item reads the next item of a BATCH received by frame_recv
 * into m->item (releasing the previous one): returns 1 with the item
 * (m->item_err says whether it is well-shaped; a malformed item is read
 * whole, so the next one can still be read), or 0 when no item is left. */
int frame_next_item(frame_msg *m);

/* frame_identity / frame_body / frame_inner_body give pointers into m's
 * parts; NULL/0 when absent. */
const void *frame_identity(frame_msg *m, size_t *len);
const void *frame_body(frame_msg *m, size_t *len);
const void *frame_inner_body(frame_msg *m, size_t *len);

/* frame_send sends [identity] "GL/1" cmd body [inner_cmd inner_body].
 * identity may be NULL (DEALER side); inner_cmd 0 means no inner frames.
 * flags: 0 or ZMQ_DONTWAIT. Returns 0, or GL_EUNAVAILABLE when the message
 * could not be queued (peer gone on a ROUTER with MANDATORY, or HWM). */
int frame_send(void *sock, const void *identity, size_t idlen, int cmd,
               const void *body, size_t bodylen, int inner_cmd,
               const void *inner_body, size_t inner_len, int flags);

/* frame_send_msg encodes m with proto_encode into a scratch buffer and sends
 * it with frame_send (no inner frames). Returns 0 or a GL_E* code. */
int frame_send_msg(void *sock, const void *identity, size_t idlen,
                   const proto_msg *m, int flags);

/* frame_send_error sends an ERROR reply with code err (a GL_E*), the reason
 * text (NULL → gl_strerror(err)), the event id if known and rid. */
int frame_send_error(void *sock, const void *identity, size_t idlen, int err,
                     const char *reason, const char *id, uint64_t rid);

#endif
