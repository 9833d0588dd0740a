/* jobbody.c — decoding a JOB's inner body, which the broker checked.
 *
 * The inner body of a JOB is a client's request as the broker received it:
 * the broker decoded it with every check before it queued the job
 * (broker_decode), and forwards the same bytes. So the worker decodes it
 * without walking its strings' UTF-8 again (PROTO_DEC_TRUSTED): that walk
 * was about 1,450 of the ~90k instructions the filing worker spends on an
 * event (callgrind, bench/README.md, session 8). Everything else is still
 * checked: a body the quick decoder does not take goes to proto_decode,
 * which checks all of it, so a malformed body is answered with its error,
 * never worked. */
#include "worker.h"

int worker_decode_job(int cmd, const void *body, size_t len, proto_msg *m, gl_arena *arena,
                      char *reason, size_t reason_len)
{
    if (proto_decode_flat_ex(cmd, body, len, m, arena, PROTO_DEC_TRUSTED) == 0)
        return 0;
    return proto_decode(cmd, body, len, m, arena, reason, reason_len);
}
