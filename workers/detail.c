/* detail.c — the "detail" map of a DISPATCH, encoded once per event.
 *
 * An event filed goes to about two teams, and each DISPATCH carries the
 * whole event as its "detail" map: the same bytes for every team, less the
 * reporter's contact for the teams that may not see it. So the map is
 * encoded once, the map without "contact" is cut from it, and the bytes are
 * spliced into each body (proto_encode_ex). The cache keeps a copy of the
 * event it encoded, so a later event, or the same one changed, is told
 * apart by its fields, whatever its address. */
#include "worker.h"

#include <string.h>

#include "../common/log.h"

/* keep copies len bytes of the scratch buffer into the cache's arena. */
static void *keep(gl_worker *w, size_t *len)
{
    void *bytes = arena_alloc(&w->details.arena, w->sbuf.size);
    if (bytes)
        memcpy(bytes, w->sbuf.data, w->sbuf.size);
    *len = w->sbuf.size;
    return bytes;
}

const void *worker_detail(gl_worker *w, const gl_event *ev, int with_contact, size_t *len)
{
    return worker_detail_of(w, NULL, ev, with_contact, len);
}

void worker_detail_pin(gl_worker *w, const gl_event *ev)
{
    detail_cache *c = &w->details;
    if (c->map_pinned) /* made of the pinned event, which was not kept */
        c->map = c->map_no_contact = NULL;
    c->map_pinned = 0;
    c->pinned = ev;
    c->pinned_seq = ev ? ev->seq : 0;
    c->pinned_copy = NULL;
}

const void *worker_detail_of(gl_worker *w, const gl_event *src, const gl_event *ev,
                             int with_contact, size_t *len)
{
    detail_cache *c = &w->details;
    /* The pinned event itself, as pinned (a DISPATCH carries the seq of its
     * record, the event's): the map made of it holds. */
    int pinned = src && src == c->pinned && ev->seq == c->pinned_seq;
    int same = c->map && (pinned ? c->map_pinned
                                 : !c->map_pinned && proto_event_same(&c->event, ev));
    if (!same) {
        c->map = c->map_no_contact = NULL;
        c->map_pinned = 0;
        arena_reset(&c->arena);
        w->sbuf.size = 0;
        /* Its strings came from a decoded SUBMIT or UPDATE, the directory
         * or the store: checked on their way in. */
        int rc = proto_encode_event(ev, PROTO_ENC_TRUSTED, &w->sbuf);
        if (rc != 0) {
            LOG_E("cannot encode the detail of event %s: %s", ev->id ? ev->id : "?",
                  gl_strerror(rc));
            return NULL;
        }
        void *map = keep(w, &c->len);
        /* A pinned event is not copied: nothing compares with it. */
        if (!map || (!pinned && proto_event_copy(&c->event, ev, &c->arena) != 0))
            return NULL;
        c->map = map;
        c->map_pinned = pinned;
    }
    if (with_contact || !ev->contact) {
        *len = c->len;
        return c->map;
    }
    if (!c->map_no_contact) {
        w->sbuf.size = 0;
        if (proto_map_without(c->map, c->len, "contact", &w->sbuf) != 0)
            return NULL;
        c->map_no_contact = keep(w, &c->len_no_contact);
    }
    *len = c->len_no_contact;
    return c->map_no_contact;
}

void worker_detail_free(gl_worker *w)
{
    arena_free(&w->details.arena);
    w->details.map = w->details.map_no_contact = NULL;
    w->details.map_pinned = 0;
    w->details.pinned = NULL;
}
