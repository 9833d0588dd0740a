/* fuzz_jobpack.c — libFuzzer target for a worker taking a PACK of JOBs from
 * the broker (workers/jobpack.c, PROTOCOL.md §6): the worker's own code,
 * compiled in, fed an ITEMS frame it did not write.
 *
 * Input: byte 0 says how the items are taken (bit 0: as an alert batch's
 * late take, alert-lane items only; else as the main loop); the rest is
 * the ITEMS frame, in a message of exactly its size, so AddressSanitizer
 * sees any read past it. Checked, aborting on any break:
 *   - worker_pack_start accepts exactly the frames pack_count accepts;
 *   - the jobs taken plus the items skipped (bad_from_broker) never exceed
 *     the items, and a main-loop take leaves nothing held;
 *   - every job taken has a known inner command and its decode result is
 *     0 or a GL_E* code;
 *   - a JOB header read the quick way (header_as_sent) is one proto_decode
 *     takes, with the same job, client, origin and lane.
 * Not part of `make fuzz`: build and run it by hand,
 *   make build/fuzz/fuzz_jobpack && build/fuzz/fuzz_jobpack -max_total_time=60
 * (a corpus directory as the last argument keeps what it finds). */
#include "../../workers/jobbody.c"
#include "../../workers/jobpack.c"
#include "../../workers/take.c"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int alert_only = data[0] & 1;
    const uint8_t *items = data + 1;
    size_t len = size - 1;

    static gl_worker w; /* its arena kept from run to run, reset each time */
    arena_reset(&w.batch_arena);
    w.counters.bad_from_broker = 0;
    w.cfg.batch = 64;

    frame_msg fm;
    memset(&fm, 0, sizeof fm);
    static const char *const head[] = {"GL/1", "PACK", "\x80"};
    for (int i = 0; i < 3; i++) {
        zmq_msg_init_size(&fm.part[i], strlen(head[i]));
        memcpy(zmq_msg_data(&fm.part[i]), head[i], strlen(head[i]));
    }
    if (zmq_msg_init_size(&fm.part[3], len) != 0)
        abort();
    if (len)
        memcpy(zmq_msg_data(&fm.part[3]), items, len);
    fm.nparts = fm.total_parts = 4;
    fm.cmd = PROTO_PACK;

    size_t count = pack_count(items, len);
    /* A header read the quick way (header_as_sent) is one the decoder
     * takes, with the same values. */
    pack_item pi;
    size_t at = 0;
    while (count && pack_next(items, len, &at, &pi)) {
        proto_msg quick, full;
        if (header_as_sent(pi.header, pi.header_len, &quick) != 0)
            continue;
        if (proto_decode(PROTO_JOB, pi.header, pi.header_len, &full, &w.batch_arena, NULL, 0) !=
                0 ||
            quick.job != full.job || quick.client_len != full.client_len ||
            memcmp(quick.client, full.client, quick.client_len) != 0 || !full.origin ||
            strcmp(quick.origin, full.origin) != 0 || !full.lane ||
            strcmp(quick.lane, full.lane) != 0 || full.role || full.scope)
            abort();
    }
    int rc = worker_pack_start(&w, &fm);
    frame_close(&fm);
    if ((rc == 0) != (count != 0))
        abort();
    size_t taken = 0;
    wjob j;
    while (taken <= PACK_MAX_ITEMS && worker_pack_take(&w, &j, alert_only)) {
        if (proto_cmd_name(j.cmd) == NULL || j.decode_err > 0)
            abort();
        taken++;
    }
    if (rc == 0 && taken + w.counters.bad_from_broker > count)
        abort();
    if (!alert_only && worker_pack_held())
        abort();
    if (worker_pack_held()) /* an alert take stopped at a routine item: drop it */
        pack_release();
    return 0;
}
