/* batch.c — a worker's BATCH: the replies and deliveries of one commit in
 * one multi-part message, instead of a DONE or DELIVER of five frames each.
 *
 * Each item is the last three frames of the message it stands for: HEADER
 * COMMAND BODY. An item whose command is DISPATCH or NOTICE is a DELIVER
 * (header {team}), any other a DONE (header {job, client, origin}). Items
 * are read one at a time (frame_next_item) and acted on at once, in order,
 * exactly as a DONE or DELIVER would be; the body frame is forwarded by
 * reference, as theirs are. Each item is checked as strictly as the
 * message it stands for; a malformed one is skipped and counted as a bad
 * worker message, and the items around it are still acted on: they are
 * the replies of work already on disk, and a reply dropped would hold its
 * job's credit for ever. */
#include "broker.h"

#include <stdio.h>

#include "../common/log.h"

void broker_on_batch(broker *b, frame_msg *fm)
{
    char reason[160], team[GL_MAX_ID + 1];
    for (size_t n = 0; frame_next_item(fm); n++) {
        int kind = fm->item_cmd == PROTO_DISPATCH || fm->item_cmd == PROTO_NOTICE ? PROTO_DELIVER
                                                                                 : PROTO_DONE;
        proto_msg m;
        int rc = fm->item_err ? -1
                              : broker_worker_envelope(kind, zmq_msg_data(&fm->item[0]),
                                                       zmq_msg_size(&fm->item[0]), &m, team,
                                                       reason, sizeof reason);
        if (fm->item_err)
            snprintf(reason, sizeof reason, "%s", gl_strerror(fm->item_err));
        if (rc != 0) {
            b->counters.bad_worker_msgs++;
            log_limited(LOG_WARN, "bad-worker-msg", "bad item %zu of a BATCH from a worker: %s", n,
                        reason);
            continue;
        }
        if (kind == PROTO_DONE)
            broker_on_done(b, &m, fm->item_cmd, &fm->item[2]);
        else
            broker_on_deliver(b, m.team, fm->item_cmd, &fm->item[2]);
    }
}
