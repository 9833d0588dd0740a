#include "arena.h"

#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

void *arena_alloc(gl_arena *a, size_t len)
{
    len = (len + 15) & ~(size_t)15;
    struct arena_block *b = a->head;
    if (!b || b->cap - b->used < len) {
        size_t cap = b ? b->cap * 2 : 4096;
        while (cap < len)
            cap *= 2;
        struct arena_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += len;
    return p;
}

char *arena_strndup(gl_arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(gl_arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void *arena_grow(gl_arena *a, void *items, size_t n, size_t *cap, size_t size)
{
    if (items && n < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *grown = arena_alloc(a, ncap * size);
    if (!grown)
        return NULL;
    if (items && n)
        memcpy(grown, items, n * size);
    *cap = ncap;
    return grown;
}

void arena_reset(gl_arena *a)
{
    /* Each new block doubles the last, so the head is the largest. Keep the
     * largest block of at most ARENA_KEEP_MAX; give back the rest. */
    struct arena_block *keep = NULL, *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        if (!keep && b->cap <= ARENA_KEEP_MAX)
            keep = b;
        else
            free(b);
        b = n;
    }
    a->head = keep;
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
}

size_t arena_kept(const gl_arena *a)
{
    size_t n = 0;
    for (const struct arena_block *b = a->head; b; b = b->next)
        n += b->cap;
    return n;
}

void arena_free(gl_arena *a)
{
    arena_reset(a);
    free(a->head);
    a->head = NULL;
}
