/* old_records.h — the store's records as gridline wrote them before
 * session 7 (wire names as keys, kinds and states as names), packed with
 * msgpack-c for the tests that check they still read
 * (t_store_records_forms, t_e2e_oldrecords). Header only. */
#ifndef GL_TEST_OLD_RECORDS_H
#define GL_TEST_OLD_RECORDS_H

#include <string.h>

#include <msgpack.h>

#include "../../common/records.h"

/* Records as the encoder before session 7 wrote them, built with msgpack-c's
 * packer: its table's wire names, in its order, numbers always present,
 * strings when not NULL, kind and states as names. */
static inline void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static inline void old_event(msgpack_packer *pk, const gl_event *e)
{
    const char *const strs[][2] = {
        {"id", e->id},           {"category", e->category}, {"community", e->community},
        {"compound", e->compound}, {"grid", e->grid},       {"terminal", e->terminal},
        {"address", e->address}, {"text", e->text},         {"contact", e->contact},
        {"urgency", e->urgency}, {"severity", e->severity}, {"certainty", e->certainty},
        {"team", e->team},       {"alarm", e->alarm},       {"rating", e->rating},
        {"duplicate_of", e->duplicate_of}};
    size_t n = 13 + (e->has_coords ? 2 : 0);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        n += strs[i][1] != NULL;
    msgpack_pack_map(pk, (uint32_t)n);
#define OS(i) if (strs[i][1]) { pk_str(pk, strs[i][0]); pk_str(pk, strs[i][1]); }
#define ON(name, v) pk_str(pk, name); msgpack_pack_uint64(pk, v)
    OS(0);
    ON("seq", e->seq);
    pk_str(pk, "kind");
    pk_str(pk, gl_kind_name(e->kind));
    OS(1); OS(2); OS(3); OS(4); OS(5); OS(6);
    if (e->has_coords) {
        pk_str(pk, "lat");
        msgpack_pack_double(pk, e->lat);
        pk_str(pk, "lon");
        msgpack_pack_double(pk, e->lon);
    }
    OS(7); OS(8); OS(9); OS(10); OS(11);
    pk_str(pk, "state");
    pk_str(pk, gl_event_state_name(e->state));
    OS(12);
    ON("created_ms", e->created_ms); ON("updated_ms", e->updated_ms);
    ON("plan_step", e->plan_step); ON("escalate_at_ms", e->escalate_at_ms);
    OS(13);
    ON("sign_by_ms", e->sign_by_ms); ON("due_ms", e->due_ms);
    ON("remind_at_ms", e->remind_at_ms); ON("lease_until_ms", e->lease_until_ms);
    ON("close_at_ms", e->close_at_ms); ON("extension_ms", e->extension_ms);
    OS(14); OS(15);
}

static inline void old_dispatch(msgpack_packer *pk, const gl_dispatch *d)
{
    const char *const strs[][2] = {{"event", d->event}, {"team", d->team}, {"role", d->role},
                                   {"member", d->member}, {"note", d->note}};
    size_t n = 6;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        n += strs[i][1] != NULL;
    msgpack_pack_map(pk, (uint32_t)n);
    OS(0);
    ON("seq", d->seq);
    OS(1); OS(2);
    pk_str(pk, "state");
    pk_str(pk, gl_dispatch_state_name(d->state));
    OS(3); OS(4);
    ON("attempts", d->attempts); ON("created_ms", d->created_ms);
    ON("updated_ms", d->updated_ms); ON("next_retry_ms", d->next_retry_ms);
}

static inline void old_history(msgpack_packer *pk, const gl_history *h)
{
    const char *const strs[][2] = {{"who", h->who}, {"what", h->what}, {"note", h->note}};
    size_t n = 3;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        n += strs[i][1] != NULL;
    msgpack_pack_map(pk, (uint32_t)n);
    ON("seq", h->seq); ON("no", h->no); ON("at_ms", h->at_ms);
    OS(0); OS(1); OS(2);
#undef OS
#undef ON
}

#endif
