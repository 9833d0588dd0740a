#include "frame.h"

#include <errno.h>
#include <string.h>

#include "pack.h"

/* Envelope commands carry an inner command and body after their own body. */
static int frame_is_envelope(int cmd)
{
    return cmd == PROTO_JOB || cmd == PROTO_DONE || cmd == PROTO_DELIVER;
}

static void item_close(frame_msg *m)
{
    for (int i = 0; i < m->item_init; i++)
        zmq_msg_close(&m->item[i]);
    m->nitem = m->item_init = 0;
}

/* Reads the next frame of the message the BATCH m is into part (an
 * initialised message: zmq_msg_recv releases what it held, so the three
 * of an item are reused from item to item); 0 when none is left (the last
 * one read had no more, or the socket failed). */
static int batch_part(frame_msg *m, zmq_msg_t *part)
{
    if (!m->sock)
        return 0;
    /* The rest of a multi-part message is already here: this never waits. */
    if (zmq_msg_recv(part, m->sock, 0) < 0) {
        m->sock = NULL;
        return 0;
    }
    m->total_parts++;
    if (!zmq_msg_more(part))
        m->sock = NULL;
    return 1;
}

int frame_next_item(frame_msg *m)
{
    m->nitem = 0;
    m->item_cmd = PROTO_NONE;
    m->item_err = 0;
    for (; m->nitem < 3; m->nitem++) {
        if (!m->sock)
            break;
        if (m->nitem >= m->item_init)
            zmq_msg_init(&m->item[m->item_init++]);
        if (!batch_part(m, &m->item[m->nitem]))
            break;
    }
    if (m->nitem == 0)
        return 0;
    if (m->nitem < 3) {
        m->item_err = GL_EBADFRAME;
        return 1;
    }
    /* A BATCH's items come in runs of one command (the FILEDs, then the
     * DISPATCHes): the previous item's name is tried first. */
    const unsigned char *name = zmq_msg_data(&m->item[1]);
    size_t len = zmq_msg_size(&m->item[1]), i = 0;
    if (len == m->prev_item_len)
        while (i < len && name[i] == (unsigned char)m->prev_item_name[i])
            i++;
    if (m->prev_item_cmd != PROTO_NONE && len == m->prev_item_len && i == len) {
        m->item_cmd = m->prev_item_cmd;
    } else {
        m->item_cmd = proto_cmd_parse(name, len);
        m->prev_item_cmd = m->item_cmd;
        m->prev_item_name = proto_cmd_name(m->item_cmd);
        m->prev_item_len = m->prev_item_name ? strlen(m->prev_item_name) : 0;
    }
    if (m->item_cmd == PROTO_NONE)
        m->item_err = GL_EUNKNOWNCMD;
    else if (zmq_msg_size(&m->item[0]) > GL_MAX_BODY || zmq_msg_size(&m->item[2]) > GL_MAX_BODY)
        m->item_err = GL_ETOOLARGE;
    return 1;
}

void frame_close(frame_msg *m)
{
    for (int i = 0; i < m->nparts; i++)
        zmq_msg_close(&m->part[i]);
    m->nparts = 0;
    item_close(m);
    if (m->sock) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        while (batch_part(m, &part))
            ;
        zmq_msg_close(&part);
    }
}

/* The command frame of a message is BATCH (its items are left to be read
 * one at a time). */
static int frame_is_batch(zmq_msg_t *sig, zmq_msg_t *cmd)
{
    return zmq_msg_size(sig) == PROTO_SIGNATURE_LEN &&
           memcmp(zmq_msg_data(sig), PROTO_SIGNATURE, PROTO_SIGNATURE_LEN) == 0 &&
           proto_cmd_parse(zmq_msg_data(cmd), zmq_msg_size(cmd)) == PROTO_BATCH;
}

/* Reads the remaining parts of a multi-part message so that the next receive
 * starts at a message boundary, keeping at most FRAME_MAX_PARTS of them. */
static int frame_read_all(void *sock, int flags, frame_msg *m, int first)
{
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        /* Later parts of a message are already here: block only for the first. */
        if (zmq_msg_recv(&part, sock, m->total_parts ? 0 : flags) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            if (m->total_parts == 0)
                return GL_EUNAVAILABLE;
            errno = e;
            return GL_EBADFRAME;
        }
        more = zmq_msg_more(&part);
        if (m->nparts < FRAME_MAX_PARTS)
            m->part[m->nparts++] = part;
        else
            zmq_msg_close(&part);
        m->total_parts++;
        if (more && m->total_parts == first + 3 &&
            frame_is_batch(&m->part[first], &m->part[first + 1])) {
            m->sock = sock; /* the items: frame_next_item */
            break;
        }
    }
    return 0;
}

int frame_recv(void *sock, int router, int flags, frame_msg *m)
{
    memset(m, 0, sizeof *m);
    m->has_identity = router;
    int rc = frame_read_all(sock, flags, m, router ? 1 : 0);
    if (rc)
        return rc;
    int first = router ? 1 : 0;
    int n = m->total_parts - first;
    if (n < 1)
        return GL_EBADFRAME;
    zmq_msg_t *sig = &m->part[first];
    size_t siglen = zmq_msg_size(sig);
    const char *sigp = zmq_msg_data(sig);
    if (siglen != PROTO_SIGNATURE_LEN || memcmp(sigp, PROTO_SIGNATURE, siglen) != 0) {
        if (siglen >= 3 && memcmp(sigp, "GL/", 3) == 0)
            return GL_EVERSION;
        return GL_EBADFRAME;
    }
    if (n < 3)
        return GL_EBADFRAME;
    zmq_msg_t *cmd = &m->part[first + 1];
    m->cmd = proto_cmd_parse(zmq_msg_data(cmd), zmq_msg_size(cmd));
    if (m->cmd == PROTO_NONE)
        return GL_EUNKNOWNCMD;
    int want = frame_is_envelope(m->cmd) ? 5 : m->cmd == PROTO_PACK ? 4 : 3;
    if (n != want)
        return GL_EBADFRAME;
    if (zmq_msg_size(&m->part[first + 2]) > GL_MAX_BODY)
        return GL_ETOOLARGE;
    if (m->cmd == PROTO_PACK && zmq_msg_size(&m->part[first + 3]) > PACK_MAX_BYTES)
        return GL_ETOOLARGE; /* a PACK's items frame (pack.h) */
    if (want == 5) {
        zmq_msg_t *inner = &m->part[first + 3];
        m->inner_cmd = proto_cmd_parse(zmq_msg_data(inner), zmq_msg_size(inner));
        if (m->inner_cmd == PROTO_NONE)
            return GL_EUNKNOWNCMD;
        if (zmq_msg_size(&m->part[first + 4]) > GL_MAX_BODY)
            return GL_ETOOLARGE;
    }
    return 0;
}

const void *frame_identity(frame_msg *m, size_t *len)
{
    if (!m->has_identity || m->nparts < 1) {
        *len = 0;
        return NULL;
    }
    *len = zmq_msg_size(&m->part[0]);
    return zmq_msg_data(&m->part[0]);
}

static const void *frame_part(frame_msg *m, int index, size_t *len)
{
    int i = index + (m->has_identity ? 1 : 0);
    if (i >= m->nparts) {
        *len = 0;
        return NULL;
    }
    *len = zmq_msg_size(&m->part[i]);
    return zmq_msg_data(&m->part[i]);
}

const void *frame_body(frame_msg *m, size_t *len) { return frame_part(m, 2, len); }

const void *frame_inner_body(frame_msg *m, size_t *len)
{
    if (!m->inner_cmd) {
        *len = 0;
        return NULL;
    }
    return frame_part(m, 4, len);
}

static int frame_send_part(void *sock, const void *data, size_t len, int flags)
{
    return zmq_send(sock, data, len, flags) < 0 ? -1 : 0;
}

int frame_send(void *sock, const void *identity, size_t idlen, int cmd,
               const void *body, size_t bodylen, int inner_cmd,
               const void *inner_body, size_t inner_len, int flags)
{
    const char *name = proto_cmd_name(cmd);
    const char *inner_name = inner_cmd ? proto_cmd_name(inner_cmd) : NULL;
    if (!name || (inner_cmd && !inner_name))
        return GL_EINTERNAL;
    int more = flags | ZMQ_SNDMORE;
    /* Once the first part is queued the rest cannot fail for HWM reasons:
     * ZeroMQ queues multi-part messages atomically. */
    if (identity && frame_send_part(sock, identity, idlen, more) < 0)
        return GL_EUNAVAILABLE;
    if (frame_send_part(sock, PROTO_SIGNATURE, PROTO_SIGNATURE_LEN, more) < 0 ||
        frame_send_part(sock, name, strlen(name), more) < 0)
        return GL_EUNAVAILABLE;
    if (!inner_cmd)
        return frame_send_part(sock, body, bodylen, flags) < 0 ? GL_EUNAVAILABLE : 0;
    if (frame_send_part(sock, body, bodylen, more) < 0 ||
        frame_send_part(sock, inner_name, strlen(inner_name), more) < 0 ||
        frame_send_part(sock, inner_body, inner_len, flags) < 0)
        return GL_EUNAVAILABLE;
    return 0;
}

int frame_send_msg(void *sock, const void *identity, size_t idlen,
                   const proto_msg *m, int flags)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    int rc = proto_encode(m, &buf);
    if (rc == 0)
        rc = frame_send(sock, identity, idlen, m->cmd, buf.data, buf.size, 0, NULL, 0, flags);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int frame_send_error(void *sock, const void *identity, size_t idlen, int err,
                     const char *reason, const char *id, uint64_t rid)
{
    proto_msg m;
    memset(&m, 0, sizeof m);
    m.cmd = PROTO_ERROR;
    m.code = (uint32_t)(err < 0 ? -err : err);
    m.reason = reason ? reason : gl_strerror(err);
    m.ev.id = id;
    m.rid = rid;
    return frame_send_msg(sock, identity, idlen, &m, ZMQ_DONTWAIT);
}
