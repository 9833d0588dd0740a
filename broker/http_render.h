/* http_render.h — what the HTTP endpoint's thread renders (private to
 * broker/http.c, prom.c and dashboard.c). These functions see only the
 * figures the broker sent in FIGURES, never the broker's state. */
#ifndef GL_HTTP_RENDER_H
#define GL_HTTP_RENDER_H

#include <msgpack.h>

/* http_appendf appends formatted text to out. */
void http_appendf(msgpack_sbuffer *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* prom_render appends the Prometheus text exposition (format 0.0.4) of the
 * broker's figures and the store's (NULL when no worker reported yet). */
void prom_render(msgpack_sbuffer *out, const msgpack_object *broker,
                 const msgpack_object *store);

/* dashboard_html is the whole dashboard page: HTML, CSS and script in one,
 * nothing fetched from elsewhere. */
extern const char dashboard_html[];

#endif
