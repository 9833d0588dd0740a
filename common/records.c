#include "records.h"
#include "gl.h"

#include <string.h>

static const char *const kind_names[] = {"", "request", "alert", "feedback"};
static const char *const event_state_names[] = {
    "", "filed", "dispatched", "accepted", "resolved", "closed", "cancelled", "merged"};
static const char *const dispatch_state_names[] = {
    "", "pending", "acked", "accepted", "declined", "taken", "resolved", "cancelled", "returned",
    "dead"};

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v > 0 && (size_t)v < n ? names[v] : "";
}

static int parse_of(const char *const *names, size_t n, const char *s)
{
    if (!s)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return 0;
}

const char *gl_kind_name(int v) { return name_of(kind_names, GL_ARRAY_LEN(kind_names), v); }
int gl_kind_parse(const char *s) { return parse_of(kind_names, GL_ARRAY_LEN(kind_names), s); }
const char *gl_event_state_name(int v)
{
    return name_of(event_state_names, GL_ARRAY_LEN(event_state_names), v);
}
int gl_event_state_parse(const char *s)
{
    return parse_of(event_state_names, GL_ARRAY_LEN(event_state_names), s);
}
const char *gl_dispatch_state_name(int v)
{
    return name_of(dispatch_state_names, GL_ARRAY_LEN(dispatch_state_names), v);
}
int gl_dispatch_state_parse(const char *s)
{
    return parse_of(dispatch_state_names, GL_ARRAY_LEN(dispatch_state_names), s);
}
