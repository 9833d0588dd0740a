/* output.c — text and JSON output of bin/gridline (see output.h). */
#include "output.h"

#include "../../common/clock.h"
#include "../../common/records.h"

#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* out_str makes a JSON string of n bytes; jansson refuses invalid UTF-8, so
 * such bytes (which the codec does not let through anyway) become '?'. */
static json_t *out_str(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *copy = malloc(n + 1);
    if (!copy)
        return json_null();
    for (size_t i = 0; i < n; i++)
        copy[i] = (unsigned char)s[i] >= 0x80 || s[i] == '\0' ? '?' : s[i];
    j = json_stringn(copy, n);
    free(copy);
    return j ? j : json_null();
}

static json_t *out_from_msgpack(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return json_integer(o->via.u64 > (uint64_t)INT64_MAX ? INT64_MAX
                                                             : (json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return out_str(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++)
            json_array_append_new(a, out_from_msgpack(&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *obj = json_object();
        for (uint32_t i = 0; obj && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                continue;
            char key[GL_MAX_SHORT + 1];
            size_t n = kv->key.via.str.size < GL_MAX_SHORT ? kv->key.via.str.size : GL_MAX_SHORT;
            memcpy(key, kv->key.via.str.ptr, n);
            key[n] = '\0';
            json_object_set_new(obj, key, out_from_msgpack(&kv->val));
        }
        return obj;
    }
    default:
        return json_null();
    }
}

/* Converts the one msgpack map in buf to a JSON object and frees buf. */
static json_t *out_map_json(msgpack_sbuffer *buf)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    json_t *j = NULL;
    if (msgpack_unpack_next(&u, buf->data, buf->size, NULL) == MSGPACK_UNPACK_SUCCESS)
        j = out_from_msgpack(&u.data);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(buf);
    return j && json_is_object(j) ? j : (json_decref(j), json_object());
}

json_t *out_msgpack_json(const void *data, size_t len)
{
    if (!data)
        return NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    json_t *j = NULL;
    if (msgpack_unpack_next(&u, data, len, NULL) == MSGPACK_UNPACK_SUCCESS)
        j = out_from_msgpack(&u.data);
    msgpack_unpacked_destroy(&u);
    return j;
}

#define OUT_PACKED_JSON(pack_fn, rec)                                          \
    do {                                                                       \
        msgpack_sbuffer buf;                                                   \
        msgpack_sbuffer_init(&buf);                                            \
        msgpack_packer pk;                                                     \
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);                 \
        pack_fn(&pk, (rec));                                                   \
        return out_map_json(&buf);                                             \
    } while (0)

static json_t *out_event_json(const gl_event *ev) { OUT_PACKED_JSON(proto_pack_event, ev); }

static json_t *out_dispatch_json(const gl_dispatch *d) { OUT_PACKED_JSON(proto_pack_dispatch, d); }

static json_t *out_history_json(const gl_history *h)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    proto_pack_history(&pk, h);
    json_t *j = out_map_json(&buf);
    char when[32];
    json_t *at = json_string(clock_format_utc(h->at_ms, when, sizeof when));
    /* "at" first: it is what a reader looks for. */
    json_t *ordered = json_object();
    json_object_set_new(ordered, "at", at);
    json_object_update(ordered, j);
    json_decref(j);
    if (!h->note)
        json_object_set_new(ordered, "note", json_null());
    return ordered;
}

void out_json_line(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
    fflush(stdout);
}

static void out_set_str(json_t *obj, const char *key, const char *value)
{
    if (value)
        json_object_set_new(obj, key, out_str(value, strlen(value)));
}

static const char *out_or(const char *s, const char *dflt) { return s && *s ? s : dflt; }

/* out_oneline prints s with line breaks and tabs as spaces: listen prints
 * one line per message, for people and for line-reading scripts. */
static void out_oneline(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s);
}

void out_filed(const client_filed *f, int json)
{
    if (json) {
        json_t *j = json_object();
        out_set_str(j, "id", f->id);
        json_object_set_new(j, "seq", json_integer((json_int_t)f->seq));
        out_set_str(j, "kind", gl_kind_name(f->kind));
        out_set_str(j, "state", gl_event_state_name(f->state));
        json_object_set_new(j, "duplicate", json_boolean(f->duplicate));
        out_json_line(j);
        return;
    }
    printf("filed %s seq %llu%s\n", f->id, (unsigned long long)f->seq,
           f->duplicate ? " (duplicate)" : "");
    fflush(stdout);
}

void out_changed(const char *verb, const client_filed *f, int json)
{
    if (json) {
        json_t *j = json_object();
        out_set_str(j, "id", f->id);
        json_object_set_new(j, "seq", json_integer((json_int_t)f->seq));
        out_set_str(j, "kind", gl_kind_name(f->kind));
        out_set_str(j, "state", gl_event_state_name(f->state));
        out_json_line(j);
        return;
    }
    printf("%s %s seq %llu (%s): state %s\n", strcmp(verb, "cancel") == 0 ? "cancelled" : "updated",
           f->id, (unsigned long long)f->seq, out_or(gl_kind_name(f->kind), "?"),
           out_or(gl_event_state_name(f->state), "?"));
    fflush(stdout);
}

/* out_set_time sets key (ISO-8601 UTC) and, when ms_key is not NULL, ms_key
 * (the number) for a time that is set. */
static void out_set_time(json_t *obj, const char *key, const char *ms_key, uint64_t ms)
{
    char when[32];
    if (!ms)
        return;
    out_set_str(obj, key, clock_format_utc(ms, when, sizeof when));
    if (ms_key)
        json_object_set_new(obj, ms_key, json_integer((json_int_t)ms));
}

void out_result(const char *verb, const char *event, const char *team,
                const client_result *r, const out_act_extra *x, int json)
{
    static const out_act_extra none;
    char when[32];
    if (!x)
        x = &none;
    if (json) {
        json_t *j = json_object();
        out_set_str(j, "event", event);
        out_set_str(j, "team", team);
        out_set_str(j, "act", verb);
        out_set_str(j, "state", gl_dispatch_state_name(r->state));
        out_set_str(j, "event_state", gl_event_state_name(r->event_state));
        out_set_str(j, "to", x->to);
        out_set_str(j, "into", x->into);
        out_set_time(j, "extension", "extension_ms", x->extension_ms);
        out_set_time(j, "until", "until_ms", r->until_ms);
        out_json_line(j);
        return;
    }
    printf("%s %s team %s", verb, event, team);
    if (x->to)
        printf(" to %s", x->to);
    if (x->into)
        printf(" into %s", x->into);
    if (x->extension_ms)
        printf(" asking until %s", clock_format_utc(x->extension_ms, when, sizeof when));
    printf(": dispatch %s, event %s", out_or(gl_dispatch_state_name(r->state), "?"),
           out_or(gl_event_state_name(r->event_state), "?"));
    if (r->until_ms)
        printf(", lease until %s", clock_format_utc(r->until_ms, when, sizeof when));
    printf("\n");
    fflush(stdout);
}

void out_rated(const client_filed *f, const char *rating, int json)
{
    if (json) {
        json_t *j = json_object();
        out_set_str(j, "id", f->id);
        json_object_set_new(j, "seq", json_integer((json_int_t)f->seq));
        out_set_str(j, "kind", gl_kind_name(f->kind));
        out_set_str(j, "state", gl_event_state_name(f->state));
        out_set_str(j, "rating", rating);
        out_json_line(j);
        return;
    }
    printf("rated %s seq %llu (%s) %s: state %s\n", f->id, (unsigned long long)f->seq,
           out_or(gl_kind_name(f->kind), "?"), rating,
           out_or(gl_event_state_name(f->state), "?"));
    fflush(stdout);
}

void out_board(const char *community, const proto_msg *m, int json)
{
    char when[32];
    if (json) {
        for (size_t i = 0; i < m->nevents; i++) {
            json_t *j = out_event_json(&m->events[i]);
            out_set_time(j, "created", NULL, m->events[i].created_ms);
            out_json_line(j);
        }
        return;
    }
    printf("board %s: %zu open to claim\n", community, m->nevents);
    for (size_t i = 0; i < m->nevents; i++) {
        const gl_event *ev = &m->events[i];
        printf("%s seq %llu %s", out_or(ev->id, "?"), (unsigned long long)ev->seq,
               out_or(ev->category, "?"));
        if (ev->grid || ev->compound)
            printf(" at %s", ev->grid ? ev->grid : ev->compound);
        if (ev->created_ms)
            printf(" since %s", clock_format_utc(ev->created_ms, when, sizeof when));
        if (ev->due_ms)
            printf(" due %s", clock_format_utc(ev->due_ms, when, sizeof when));
        if (ev->text) {
            printf(": ");
            out_oneline(ev->text);
        }
        printf("\n");
    }
    fflush(stdout);
}

/* Open311 GeoReport v2 has two statuses; gridline's states map onto them. */
static const char *out_open311_status(int state)
{
    switch (state) {
    case GL_EV_FILED:
    case GL_EV_DISPATCHED:
    case GL_EV_ACCEPTED:
        return "open";
    case GL_EV_RESOLVED:
    case GL_EV_CLOSED:
    case GL_EV_CANCELLED:
    case GL_EV_MERGED:
        return "closed";
    default:
        return NULL;
    }
}

/* Sets key to s, or to null: Open311 keys are always present. */
static void out_set_or_null(json_t *obj, const char *key, const char *s)
{
    if (s)
        out_set_str(obj, key, s);
    else
        json_object_set_new(obj, key, json_null());
}

void out_track(const proto_msg *m, int json)
{
    const gl_event *ev = &m->ev;
    char due[32] = "", updated[32] = "", requested[32] = "";
    if (ev->due_ms)
        clock_format_utc(ev->due_ms, due, sizeof due);
    if (ev->updated_ms)
        clock_format_utc(ev->updated_ms, updated, sizeof updated);
    if (ev->created_ms)
        clock_format_utc(ev->created_ms, requested, sizeof requested);
    const char *status = out_open311_status(ev->state);
    const char *state = gl_event_state_name(ev->state);
    if (json) {
        json_t *j = json_object();
        out_set_or_null(j, "service_request_id", ev->id);
        out_set_or_null(j, "status", status);
        out_set_or_null(j, "state", state && *state ? state : NULL);
        out_set_or_null(j, "agency_responsible", ev->team);
        out_set_or_null(j, "expected_datetime", due[0] ? due : NULL);
        out_set_or_null(j, "updated_datetime", updated[0] ? updated : NULL);
        out_set_or_null(j, "status_notes", m->note);
        out_set_str(j, "duplicate_of", ev->duplicate_of);
        out_set_or_null(j, "service_code", ev->category);
        out_set_or_null(j, "description", ev->text);
        out_set_or_null(j, "requested_datetime", requested[0] ? requested : NULL);
        out_set_or_null(j, "address", ev->address);
        if (ev->has_coords) {
            json_object_set_new(j, "lat", json_real(ev->lat));
            json_object_set_new(j, "long", json_real(ev->lon));
        }
        out_set_str(j, "kind", gl_kind_name(ev->kind));
        json_object_set_new(j, "seq", json_integer((json_int_t)ev->seq));
        out_json_line(j);
        return;
    }
    printf("%-19s %s\n", "service_request_id", out_or(ev->id, "?"));
    printf("%-19s %s (%s)\n", "status", out_or(status, "?"), out_or(state, "?"));
    printf("%-19s %s\n", "agency_responsible", out_or(ev->team, "-"));
    printf("%-19s %s\n", "expected_datetime", due[0] ? due : "-");
    printf("%-19s %s\n", "updated_datetime", updated[0] ? updated : "-");
    printf("%-19s ", "status_notes");
    out_oneline(out_or(m->note, "-"));
    printf("\n");
    if (ev->duplicate_of)
        printf("%-19s %s\n", "duplicate_of", ev->duplicate_of);
    printf("%-19s %s/%s\n", "service_code", out_or(gl_kind_name(ev->kind), "?"),
           out_or(ev->category, "?"));
    if (requested[0])
        printf("%-19s %s\n", "requested_datetime", requested);
    if (ev->address)
        printf("%-19s %s\n", "address", ev->address);
    if (ev->text) {
        printf("%-19s ", "description");
        out_oneline(ev->text);
        printf("\n");
    }
    fflush(stdout);
}

static void out_line(const char *label, const char *value)
{
    if (value && *value)
        printf("%-10s %s\n", label, value);
}

static void out_time(const char *label, uint64_t ms)
{
    char when[32];
    if (ms)
        out_line(label, clock_format_utc(ms, when, sizeof when));
}

static void out_show_text(const proto_msg *m)
{
    const gl_event *ev = &m->ev;
    char buf[64];
    out_line("event", ev->id);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)ev->seq);
    out_line("seq", buf);
    out_line("kind", gl_kind_name(ev->kind));
    out_line("category", ev->category);
    out_line("state", gl_event_state_name(ev->state));
    out_line("team", ev->team);
    out_line("community", ev->community);
    out_line("compound", ev->compound);
    out_line("grid", ev->grid);
    out_line("address", ev->address);
    if (ev->has_coords) {
        snprintf(buf, sizeof buf, "%.6f, %.6f", ev->lat, ev->lon);
        out_line("location", buf);
    }
    out_line("terminal", ev->terminal);
    out_line("contact", ev->contact);
    out_line("urgency", ev->urgency);
    out_line("severity", ev->severity);
    out_line("certainty", ev->certainty);
    out_time("created", ev->created_ms);
    out_time("updated", ev->updated_ms);
    if (ev->plan_step) {
        snprintf(buf, sizeof buf, "%u", ev->plan_step);
        out_line("plan step", buf);
    }
    out_time("escalates", ev->escalate_at_ms);
    out_line("alarm", ev->alarm);
    out_time("sign by", ev->sign_by_ms);
    out_time("due", ev->due_ms);
    out_time("reminder", ev->remind_at_ms);
    out_time("lease", ev->lease_until_ms);
    if (ev->extension_ms) {
        char when[32];
        printf("%-10s %s asked for, awaiting approval\n", "extension",
               clock_format_utc(ev->extension_ms, when, sizeof when));
    }
    out_time("closes", ev->close_at_ms);
    out_line("rating", ev->rating);
    out_line("duplicate of", ev->duplicate_of);
    out_line("text", ev->text);

    printf("\ndispatches (%zu):\n", m->ndispatches);
    for (size_t i = 0; i < m->ndispatches; i++) {
        const gl_dispatch *d = &m->dispatches[i];
        char when[32];
        printf("  %-16s role %-11s state %-9s attempts %u", out_or(d->team, "?"),
               out_or(d->role, "-"), out_or(gl_dispatch_state_name(d->state), "?"),
               d->attempts);
        if (d->member)
            printf("  member %s", d->member);
        if (d->updated_ms)
            printf("  updated %s", clock_format_utc(d->updated_ms, when, sizeof when));
        if (d->next_retry_ms)
            printf("  next retry %s", clock_format_utc(d->next_retry_ms, when, sizeof when));
        printf("\n");
        if (d->note)
            printf("    note: %s\n", d->note);
    }
    printf("\nhistory (%zu):\n", m->nhistory);
    for (size_t i = 0; i < m->nhistory; i++) {
        const gl_history *h = &m->history[i];
        char when[32];
        printf("  %s  %-22s %s%s%s\n", clock_format_utc(h->at_ms, when, sizeof when),
               out_or(h->who, "-"), out_or(h->what, "?"), h->note ? ": " : "",
               h->note ? h->note : "");
    }
    fflush(stdout);
}

void out_show(const proto_msg *m, int json)
{
    if (!json) {
        out_show_text(m);
        return;
    }
    json_t *j = out_event_json(&m->ev);
    out_set_time(j, "escalate_at", NULL, m->ev.escalate_at_ms);
    out_set_time(j, "sign_by", NULL, m->ev.sign_by_ms);
    out_set_time(j, "due", NULL, m->ev.due_ms);
    out_set_time(j, "remind_at", NULL, m->ev.remind_at_ms);
    out_set_time(j, "lease_until", NULL, m->ev.lease_until_ms);
    out_set_time(j, "close_at", NULL, m->ev.close_at_ms);
    out_set_time(j, "extension", NULL, m->ev.extension_ms);
    json_t *ds = json_array(), *hs = json_array();
    for (size_t i = 0; i < m->ndispatches; i++)
        json_array_append_new(ds, out_dispatch_json(&m->dispatches[i]));
    for (size_t i = 0; i < m->nhistory; i++)
        json_array_append_new(hs, out_history_json(&m->history[i]));
    json_object_set_new(j, "dispatches", ds);
    json_object_set_new(j, "history", hs);
    out_json_line(j);
}

void out_dispatch(const proto_msg *m, int json)
{
    const gl_event *ev = &m->ev;
    if (json) {
        json_t *j = json_object();
        out_set_str(j, "type", "dispatch");
        out_set_str(j, "event", m->event);
        json_object_set_new(j, "seq", json_integer((json_int_t)ev->seq));
        out_set_str(j, "team", m->team);
        out_set_str(j, "role", m->role);
        out_set_str(j, "state", gl_dispatch_state_name(m->state));
        json_object_set_new(j, "attempts", json_integer(m->attempts));
        if (ev->id)
            json_object_set_new(j, "detail", out_event_json(ev));
        out_json_line(j);
        return;
    }
    printf("dispatch %s seq %llu team %s role %s state %s attempts %u",
           out_or(m->event, "?"), (unsigned long long)ev->seq, out_or(m->team, "?"),
           out_or(m->role, "-"), out_or(gl_dispatch_state_name(m->state), "?"), m->attempts);
    if (ev->id) {
        printf(": %s/%s", out_or(gl_kind_name(ev->kind), "?"), out_or(ev->category, "?"));
        if (ev->grid || ev->compound || ev->community)
            printf(" at %s", ev->grid ? ev->grid : ev->compound ? ev->compound : ev->community);
        if (ev->address)
            printf(" (%s)", ev->address);
        if (ev->urgency || ev->severity)
            printf(" [%s %s]", out_or(ev->urgency, "-"), out_or(ev->severity, "-"));
        if (ev->text) {
            printf(": ");
            out_oneline(ev->text);
        }
    }
    printf("\n");
    fflush(stdout);
}

void out_notice(const proto_msg *m, int json)
{
    if (json) {
        json_t *j = json_object();
        out_set_str(j, "type", "notice");
        out_set_str(j, "event", m->event);
        out_set_str(j, "team", m->team);
        out_set_str(j, "what", m->what);
        out_set_str(j, "note", m->note);
        out_set_str(j, "by", m->by);
        out_json_line(j);
        return;
    }
    printf("notice %s team %s: %s", out_or(m->event, "?"), out_or(m->team, "?"),
           out_or(m->what, "?"));
    if (m->by)
        printf(" by %s", m->by);
    if (m->note) {
        printf(": ");
        out_oneline(m->note);
    }
    printf("\n");
    fflush(stdout);
}

void out_pong(const char *endpoint, uint64_t ms, int json)
{
    if (json) {
        json_t *j = json_object();
        out_set_str(j, "endpoint", endpoint);
        json_object_set_new(j, "ms", json_integer((json_int_t)ms));
        out_json_line(j);
        return;
    }
    printf("pong from %s in %llu ms\n", endpoint, (unsigned long long)ms);
    fflush(stdout);
}
