/* Unit tests for common/: error names, records, arena, ids, clock. */
#include "../common/arena.h"
#include "../common/clock.h"
#include "../common/gl.h"
#include "../common/ids.h"
#include "../common/records.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    is_str(gl_errname(GL_EBUSY), "busy", "busy has its wire name");
    is_str(gl_errname(-9999), "unknown", "unknown code has a name");
    ok(strlen(gl_strerror(GL_ETOOLARGE)) > 0, "too_large has a description");

    is_int(gl_kind_parse("alert"), GL_KIND_ALERT, "alert parses");
    is_int(gl_kind_parse("nonsense"), GL_KIND_NONE, "unknown kind gives NONE");
    is_str(gl_event_state_name(GL_EV_RESOLVED), "resolved", "state names");
    is_int(gl_dispatch_state_parse("taken"), GL_DS_TAKEN, "dispatch state parses");
    is_int(gl_dispatch_state_parse(NULL), GL_DS_NONE, "NULL dispatch state gives NONE");

    gl_arena a = {0};
    char *s = arena_strdup(&a, "grid-7");
    is_str(s, "grid-7", "arena copies a string");
    char *big = arena_alloc(&a, 100000);
    ok(big != NULL, "arena grows past a block");
    memset(big, 'x', 100000);
    is_str(s, "grid-7", "earlier strings survive growth");
    arena_reset(&a);
    ok(arena_kept(&a) > 0 && arena_kept(&a) <= ARENA_KEEP_MAX,
       "a reset keeps its largest block for reuse (%zu bytes)", arena_kept(&a));
    ok(arena_strdup(&a, "again") != NULL, "arena usable after reset");
    /* A burst (4,096 events resent to a team that came back) grows the
     * arena past what a batch needs; the reset gives that back. */
    for (int i = 0; i < 4096; i++)
        if (!arena_alloc(&a, 1500))
            break;
    ok(arena_kept(&a) > ARENA_KEEP_MAX, "a burst grows the arena past the cap (%zu bytes)",
       arena_kept(&a));
    arena_reset(&a);
    ok(arena_kept(&a) <= ARENA_KEEP_MAX && arena_kept(&a) > ARENA_KEEP_MAX / 4,
       "a reset after it keeps one block of at most %zu bytes, not the burst's (%zu)",
       ARENA_KEEP_MAX, arena_kept(&a));
    ok(arena_strdup(&a, "after") != NULL, "and the arena is usable again");
    arena_free(&a);
    is_int((int)arena_kept(&a), 0, "a freed arena holds nothing");

    char id1[IDS_LEN + 1], id2[IDS_LEN + 1];
    int sorted = 1;
    ids_new(id1);
    for (int i = 0; i < 10000; i++) {
        ids_new(id2);
        if (strcmp(id1, id2) >= 0)
            sorted = 0;
        memcpy(id1, id2, sizeof id1);
    }
    ok(sorted, "10000 ids in a row are strictly increasing");
    is_int(strlen(id1), IDS_LEN, "an id has 26 characters");

    /* "ab" + 汉 + the first 2 of 字's 3 bytes: what snprintf leaves in 8 bytes */
    char cut[8] = {'a', 'b', '\xe6', '\xb1', '\x89', '\xe5', '\xad', '\0'};
    is_int(gl_utf8_trim(cut), 5, "a UTF-8 character cut by snprintf is removed whole");
    is_str(cut, "ab汉", "what remains is valid text");
    char whole[] = "ab汉";
    is_int(gl_utf8_trim(whole), 5, "a complete string is left alone");

    char when[32];
    is_str(clock_format_utc(86400000ull + 1234, when, sizeof when),
           "1970-01-02T00:00:01.234Z", "UTC formatting");
    return done_testing();
}
