/* arena.h — a growable bump allocator for the strings of decoded records.
 *
 * Decoders copy strings into an arena; the structs that point at them live
 * as long as the arena is not reset. One arena is reused across messages, so
 * the hot path does not allocate once it has grown to the largest message. */
#ifndef GL_ARENA_H
#define GL_ARENA_H

#include <stddef.h>

typedef struct gl_arena {
    struct arena_block *head;  /* newest block first */
} gl_arena;

/* arena_alloc returns len bytes aligned for any type, or NULL on ENOMEM. */
void *arena_alloc(gl_arena *a, size_t len);

/* arena_strndup copies len bytes of s and a NUL; NULL on ENOMEM. */
char *arena_strndup(gl_arena *a, const char *s, size_t len);

/* arena_strdup copies a NUL-terminated string; NULL in gives NULL out. */
char *arena_strdup(gl_arena *a, const char *s);

/* arena_grow makes room for one more item in the array items (n in use,
 * *cap allocated, each size bytes): it returns items when there is room,
 * else a copy twice as large (at least 16), updating *cap; NULL on ENOMEM
 * (items stays valid). The old copy is left to the arena. */
void *arena_grow(gl_arena *a, void *items, size_t n, size_t *cap, size_t size);

/* ARENA_KEEP_MAX: the largest block arena_reset keeps. A routine batch of
 * 256 events needs about 2 MiB; a burst grows the arena past that (a
 * team's whole backlog resent on reconnection, up to 4,096 events), and
 * its blocks are given back, so that one burst does not pin its memory for
 * the process's life. */
#define ARENA_KEEP_MAX ((size_t)2 << 20)

/* arena_reset forgets every allocation and keeps the largest block of at
 * most ARENA_KEEP_MAX bytes, for reuse; it frees the others. */
void arena_reset(gl_arena *a);

/* arena_kept returns the bytes of block the arena holds (after a reset:
 * what it kept for reuse). */
size_t arena_kept(const gl_arena *a);

/* arena_free releases all memory; the arena can be used again after. */
void arena_free(gl_arena *a);

#endif
