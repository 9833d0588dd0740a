/* mkcorpus.c — writes the seed corpus of fuzz_decode: for every command, the
 * body proto_encode makes of a message with every member set, of the same
 * message cut down to its required fields, and of a few in between; then a
 * handful of malformed bodies. Each file is one fuzz_decode input: the
 * command number as the first byte, the body after it.
 *
 *   mkcorpus DIR     writes the seeds into DIR (which must exist)
 *
 * The messages are built through proto.h alone, so a new command needs no
 * change here as long as its fields are members this file fills in. */
#include "../../proto/proto.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *outdir;
static int written, failures;

#define EVID "01J0ZK3V6Q8R2T4W6Y8Z0B2D4F"
#define EVID2 "01J0ZK3V6Q8R2T4W6Y8Z0B2D4G"
static const unsigned char client_id[] = {0x00, 0x6b, 0x8b, 0x45, 0x67};
/* {"lanes": {"alert": 0, "routine": 3}, "workers": 2} and {"events": 42} */
static const unsigned char broker_map[] = {0x82, 0xa5, 'l',  'a', 'n', 'e', 's', 0x82, 0xa5,
                                           'a',  'l',  'e',  'r', 't', 0x00, 0xa7, 'r',  'o',
                                           'u',  't',  'i',  'n', 'e', 0x03, 0xa7, 'w',  'o',
                                           'r',  'k',  'e',  'r', 's', 0x02};
static const unsigned char store_map[] = {0x81, 0xa6, 'e', 'v', 'e', 'n', 't', 's', 0x2a};

static gl_dispatch dispatches[2] = {
    {.seq = 42, .event = EVID, .team = "heping-g1-team", .role = "grid",
     .state = GL_DS_ACCEPTED, .member = "网格员 李娜", .note = "on my way", .attempts = 2,
     .created_ms = 1718000000100, .updated_ms = 1718000000200},
    {.seq = 42, .event = EVID, .team = "sq-heping-rescue-1-team", .role = "squad",
     .state = GL_DS_PENDING, .attempts = 1, .created_ms = 1718000000100,
     .updated_ms = 1718000000300, .next_retry_ms = 1718000090000},
};
static gl_event events[2] = {
    {.id = EVID, .seq = 42, .kind = GL_KIND_REQUEST, .category = "micro-wish",
     .community = "heping", .text = "想要一台收音机", .state = GL_EV_FILED,
     .created_ms = 1718000000000, .lease_until_ms = 1718003600000},
    {.id = EVID2, .seq = 43, .kind = GL_KIND_REQUEST, .category = "daily-help",
     .grid = "heping-g1", .text = "帮忙取药", .state = GL_EV_DISPATCHED,
     .due_ms = 1718086400000, .rating = "satisfied", .duplicate_of = EVID},
};
static gl_history history[2] = {
    {.seq = 42, .no = 1, .at_ms = 1718000000000, .who = "terminal:heping-desk", .what = "filed"},
    {.seq = 42, .no = 2, .at_ms = 1718000000200, .who = "team:heping-g1-team/李娜",
     .what = "accepted", .note = "on my way"},
};

/* full_msg: every member proto_msg has, set to a value some command accepts.
 * variant picks the enums and the optional parts, so that the seeds of one
 * command differ in more than their required fields. */
static proto_msg full_msg(int cmd, int variant)
{
    static const int kinds[] = {GL_KIND_ALERT, GL_KIND_REQUEST, GL_KIND_FEEDBACK};
    static const int ev_states[] = {GL_EV_DISPATCHED, GL_EV_FILED, GL_EV_CANCELLED};
    static const int ds_states[] = {GL_DS_ACCEPTED, GL_DS_DECLINED, GL_DS_RESOLVED};
    static const char *const categories[] = {"fall", "repair", "elevator"};
    int v = variant % 3;
    proto_msg m = {
        .cmd = cmd,
        .rid = 7,
        .ev = {.id = EVID, .seq = 42, .kind = kinds[v], .category = categories[v],
               .community = "heping", .compound = "heping-c1", .grid = "heping-g1",
               .terminal = "heping-desk", .address = "3号楼2单元401", .has_coords = v != 2,
               .lat = 38.9, .lon = 106.5, .text = "老人摔倒, cannot stand up",
               .contact = "+86 951 555 0101", .urgency = "Immediate", .severity = "Severe",
               .certainty = "Observed", .state = ev_states[v], .team = "heping-g1-team",
               .created_ms = 1718000000000, .updated_ms = 1718000001234, .plan_step = 1,
               .escalate_at_ms = 1718000061234, .alarm = v == 0 ? "unanswered" : NULL,
               .sign_by_ms = 1718001800000, .due_ms = 1718172800000,
               .remind_at_ms = 1718158400000, .lease_until_ms = v == 1 ? 1718003600000 : 0,
               .close_at_ms = 1718259200000, .extension_ms = v == 2 ? 1718259200000 : 0,
               .rating = v == 1 ? "unsatisfied" : "satisfied",
               .duplicate_of = v == 2 ? EVID2 : NULL},
        .event = EVID,
        .team = "heping-g1-team",
        .member = "网格员 李娜",
        .note = "on my way",
        .role = "grid",
        .what = "taken",
        .to = "county-triage",
        .into = EVID2,
        .until_ms = 1718259200000,
        .by = "sq-heping-rescue-1-team",
        .state = ds_states[v],
        .event_state = ev_states[v],
        .attempts = 3,
        .duplicate = v == 1,
        .code = 105,
        .reason = "missing field 'text'",
        .retry_after_ms = 250,
        .heartbeat_ms = 1000,
        .worker = "w1",
        .credit = 64,
        .pid = 4242,
        .host = "county-pc-1",
        .job = 987654321,
        .client = client_id,
        .client_len = sizeof client_id,
        .origin = v == 1 ? "responders" : "intake",
        .lane = v == 1 ? "routine" : "alert",
        .at_ms = 1718000002000,
        .broker_figures = broker_map,
        .broker_figures_len = sizeof broker_map,
        .store_figures = store_map,
        .store_figures_len = sizeof store_map,
        .dispatches = dispatches,
        .ndispatches = v == 2 ? 0 : 2,
        .history = history,
        .nhistory = v == 2 ? 1 : 2,
        .events = events,
        .nevents = v == 2 ? 0 : 2,
        /* LIST / LISTING / REQUEUE, SCORES / SCORECARD, JOB's principal */
        .since_ms = 1717000000000,
        .limit = 50,
        .overdue = v == 0,
        .dead = v == 1,
        .with_history = v == 2,
        .close = v == 1,
        .after = "AAAAAAAAAAAAAAAA",
        .next = "AAAAAAAAAAAAAAAB",
        .scope = "heping-desk",
        .scores = store_map,
        .scores_len = sizeof store_map,
        .scores_total = store_map,
        .scores_total_len = sizeof store_map,
        .scanned = 1234,
        .truncated = v == 2,
    };
    return m;
}

/* The members an encoder may leave out, one clearing step each. */
#define MEMBER(member) {offsetof(proto_msg, member), sizeof(((proto_msg *)0)->member)}
static const struct {
    size_t off, size;
} optional[] = {
    MEMBER(rid),           MEMBER(ev.category),    MEMBER(ev.community),
    MEMBER(ev.compound),   MEMBER(ev.grid),        MEMBER(ev.terminal),
    MEMBER(ev.address),    MEMBER(ev.has_coords),  MEMBER(ev.text),
    MEMBER(ev.contact),    MEMBER(ev.urgency),     MEMBER(ev.severity),
    MEMBER(ev.certainty),  MEMBER(ev.team),        MEMBER(ev.created_ms),
    MEMBER(ev.updated_ms), MEMBER(ev.plan_step),   MEMBER(ev.escalate_at_ms),
    MEMBER(ev.alarm),      MEMBER(ev.seq),         MEMBER(event),
    MEMBER(ev.sign_by_ms), MEMBER(ev.due_ms),      MEMBER(ev.remind_at_ms),
    MEMBER(ev.lease_until_ms), MEMBER(ev.close_at_ms), MEMBER(ev.extension_ms),
    MEMBER(ev.rating),     MEMBER(ev.duplicate_of), MEMBER(to),
    MEMBER(into),          MEMBER(until_ms),       MEMBER(nevents),
    MEMBER(team),          MEMBER(member),         MEMBER(note),
    MEMBER(role),          MEMBER(what),           MEMBER(by),
    MEMBER(attempts),      MEMBER(duplicate),      MEMBER(reason),
    MEMBER(retry_after_ms), MEMBER(heartbeat_ms),  MEMBER(worker),
    MEMBER(credit),        MEMBER(pid),            MEMBER(host),
    MEMBER(job),           MEMBER(client),
    MEMBER(origin),        MEMBER(lane),           MEMBER(at_ms),
    MEMBER(broker_figures), MEMBER(store_figures), MEMBER(ndispatches),
    MEMBER(nhistory),      MEMBER(code),           MEMBER(ev.id),
    MEMBER(since_ms),      MEMBER(limit),          MEMBER(overdue),
    MEMBER(dead),          MEMBER(with_history),   MEMBER(close),
    MEMBER(after),         MEMBER(next),           MEMBER(scope),
    MEMBER(scanned),       MEMBER(truncated),
};

static int encodes(const proto_msg *m)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    int rc = proto_encode(m, &buf);
    msgpack_sbuffer_destroy(&buf);
    return rc == 0;
}

/* cut_down clears every optional member whose step is selected by mask (bit
 * i % 2 of the step index picks even or odd steps; mask 3: all) as long as
 * the message still encodes. */
static proto_msg cut_down(proto_msg m, unsigned mask)
{
    for (size_t i = 0; i < GL_ARRAY_LEN(optional); i++) {
        if (!(mask & (1u << (i % 2))))
            continue;
        proto_msg t = m;
        memset((char *)&t + optional[i].off, 0, optional[i].size);
        if (encodes(&t))
            m = t;
    }
    return m;
}

static void write_file(const char *name, const void *a, size_t alen, const void *b, size_t blen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
        fclose(f) != 0) {
        fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    written++;
}

/* seed writes one input: the command byte, then body. */
static void seed(int cmd, const char *variant, const void *body, size_t len)
{
    char name[128], lower[32];
    const char *cname = proto_cmd_name(cmd);
    size_t i = 0;
    for (; cname && cname[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)cname[i]);
    lower[i] = '\0';
    snprintf(name, sizeof name, "%s-%s", cname ? lower : "unknown", variant);
    unsigned char c = (unsigned char)cmd;
    write_file(name, &c, 1, body, len);
}

/* seed_msg encodes m as a seed, unless an earlier seed of that command had
 * the same body. */
static void seed_msg(const proto_msg *m, const char *variant, msgpack_sbuffer *seen, size_t *nseen)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    int rc = proto_encode(m, &buf);
    if (rc != 0) {
        fprintf(stderr, "mkcorpus: %s %s does not encode: %s\n", proto_cmd_name(m->cmd), variant,
                gl_strerror(rc));
        failures++;
        msgpack_sbuffer_destroy(&buf);
        return;
    }
    for (size_t i = 0; i < *nseen; i++)
        if (seen[i].size == buf.size && memcmp(seen[i].data, buf.data, buf.size) == 0) {
            msgpack_sbuffer_destroy(&buf);
            return;
        }
    seed(m->cmd, variant, buf.data, buf.size);
    seen[(*nseen)++] = buf;
}

static void valid_seeds(void)
{
    for (int cmd = PROTO_NONE + 1; cmd < PROTO_CMD_COUNT; cmd++) {
        msgpack_sbuffer seen[16];
        size_t nseen = 0;
        char variant[32];
        for (int v = 0; v < 3; v++) {
            proto_msg full = full_msg(cmd, v);
            snprintf(variant, sizeof variant, "full%d", v);
            seed_msg(&full, variant, seen, &nseen);
            snprintf(variant, sizeof variant, "even%d", v);
            proto_msg even = cut_down(full, 1);
            seed_msg(&even, variant, seen, &nseen);
            snprintf(variant, sizeof variant, "odd%d", v);
            proto_msg odd = cut_down(full, 2);
            seed_msg(&odd, variant, seen, &nseen);
        }
        proto_msg min = cut_down(full_msg(cmd, 0), 3);
        seed_msg(&min, "min", seen, &nseen);
        for (size_t i = 0; i < nseen; i++)
            msgpack_sbuffer_destroy(&seen[i]);
    }
}

/* ---- Malformed bodies ----------------------------------------------------- */

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* submit_body packs a valid SUBMIT body, then extra: 0 none, 1 a wrongly
 * typed id, 2 a duplicate key, 3 invalid UTF-8 text, 4 a NUL in the id,
 * 5 a negative rid, 6 a non-string key, 7 lat without lon, 8 unknown kind. */
static void submit_body(msgpack_sbuffer *buf, int flaw)
{
    /* a stray continuation and an encoded surrogate */
    static const char bad_utf8[] = "smoke \xc3\x28 \xed\xa0\x80";
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, flaw == 2 || flaw == 6 || flaw == 7 ? 6 : 5);
    pack_cstr(&pk, "rid");
    if (flaw == 5)
        msgpack_pack_int64(&pk, -1);
    else
        msgpack_pack_uint64(&pk, 9);
    pack_cstr(&pk, "id");
    if (flaw == 1)
        msgpack_pack_uint64(&pk, 12345);
    else if (flaw == 4)
        msgpack_pack_str_with_body(&pk, "ab\0cd", 5);
    else
        pack_cstr(&pk, EVID);
    pack_cstr(&pk, "kind");
    pack_cstr(&pk, flaw == 8 ? "rumour" : "alert");
    pack_cstr(&pk, "category");
    pack_cstr(&pk, "fire");
    pack_cstr(&pk, "text");
    if (flaw == 3)
        msgpack_pack_str_with_body(&pk, bad_utf8, sizeof bad_utf8 - 1);
    else
        pack_cstr(&pk, "smoke from the third floor");
    if (flaw == 2) {
        pack_cstr(&pk, "kind");
        pack_cstr(&pk, "request");
    } else if (flaw == 6) {
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_true(&pk);
    } else if (flaw == 7) {
        pack_cstr(&pk, "lat");
        msgpack_pack_double(&pk, 38.9);
    }
}

static void malformed_seeds(void)
{
    static const struct {
        const char *name;
        int cmd;
        const char *bytes;
        size_t len;
    } raw[] = {
#define RAW(name, cmd, bytes) {name, cmd, bytes, sizeof bytes - 1}
        RAW("empty", PROTO_PING, ""),
        RAW("empty-map", PROTO_PING, "\x80"),
        RAW("not-msgpack", PROTO_PING, "\xc1"),
        RAW("array-body", PROTO_PING, "\x90"),
        RAW("trailing", PROTO_PING, "\x80\x80"),
        RAW("huge-map32", PROTO_SHOW, "\xdf\xff\xff\xff\xff"),
        RAW("huge-array32", PROTO_EVENT, "\x81\xaa" "dispatches" "\xdd\xff\xff\xff\xff"),
        RAW("huge-str32", PROTO_SHOW, "\x81\xa2" "id" "\xdb\x7f\xff\xff\xff"),
        RAW("deep", PROTO_PING,
            "\x81\xa1x\x81\xa1x\x81\xa1x\x81\xa1x\x81\xa1x\x81\xa1x\x81\xa1x\x81\xa1x"
            "\x81\xa1x\x80"),
        RAW("ext-values", PROTO_PING, "\x82\xa1x\xd4\x01\x02\xa1y\xc7\x02\x05\xab\xcd"),
        RAW("float-coords", PROTO_SUBMIT,
            "\x82\xa3lat\xca\x42\x1b\x99\x9a\xa3lon\xcb\x40\x5a\x00\x00\x00\x00\x00\x00"),
        RAW("empty-id", PROTO_SHOW, "\x81\xa2id\xa0"),
        RAW("unknown-cmd-0", PROTO_NONE, "\x80"),
        RAW("unknown-cmd-count", PROTO_CMD_COUNT, "\x80"),
#undef RAW
    };
    for (size_t i = 0; i < GL_ARRAY_LEN(raw); i++) {
        char name[64];
        snprintf(name, sizeof name, "bad-%s", raw[i].name);
        unsigned char c = (unsigned char)raw[i].cmd;
        write_file(name, &c, 1, raw[i].bytes, raw[i].len);
    }

    static const char *const flaws[] = {"ok", "id-type", "dup-key", "utf8", "nul",
                                        "negative", "int-key", "lat-only", "kind"};
    for (int flaw = 1; flaw < (int)GL_ARRAY_LEN(flaws); flaw++) {
        msgpack_sbuffer buf;
        char name[64];
        msgpack_sbuffer_init(&buf);
        submit_body(&buf, flaw);
        snprintf(name, sizeof name, "bad-%s", flaws[flaw]);
        seed(PROTO_SUBMIT, name, buf.data, buf.size);
        msgpack_sbuffer_destroy(&buf);
    }
    /* An EVENT with one dispatch more than the limit (1000), each an empty map. */
    msgpack_sbuffer many;
    msgpack_packer pk;
    msgpack_sbuffer_init(&many);
    msgpack_packer_init(&pk, &many, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_cstr(&pk, "dispatches");
    msgpack_pack_array(&pk, 1001);
    for (int i = 0; i < 1001; i++)
        msgpack_pack_map(&pk, 0);
    seed(PROTO_EVENT, "bad-too-many", many.data, many.size);
    msgpack_sbuffer_destroy(&many);

    /* A valid body cut short. */
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    submit_body(&buf, 0);
    seed(PROTO_SUBMIT, "bad-truncated", buf.data, buf.size / 2);
    msgpack_sbuffer_destroy(&buf);

    /* Whole inputs that are command frames, for proto_cmd_parse. */
    write_file("frame-submit", "SUBMIT", 6, NULL, 0);
    write_file("frame-signature", PROTO_SIGNATURE, PROTO_SIGNATURE_LEN, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkcorpus DIR\n");
        return 2;
    }
    outdir = argv[1];
    valid_seeds();
    malformed_seeds();
    printf("mkcorpus: %d seeds in %s\n", written, outdir);
    return failures ? 1 : 0;
}
