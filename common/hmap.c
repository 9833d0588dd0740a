#include "hmap.h"
#include "gl.h"

#include <stdlib.h>
#include <string.h>

/* Keys of up to HMAP_INLINE bytes (job ids, most names) live in the slot
 * itself, so putting one costs no allocation: the broker puts and deletes
 * a job id per event. Longer keys are copied to the heap. */
#define HMAP_INLINE 16

struct hmap_slot {
    uint64_t hash;   /* 0 = empty */
    union {
        void *ptr;   /* len > HMAP_INLINE */
        unsigned char bytes[HMAP_INLINE];
    } key;
    size_t len;
    void *value;
};

static const void *slot_key(const struct hmap_slot *s)
{
    return s->len > HMAP_INLINE ? s->key.ptr : s->key.bytes;
}

static void slot_key_free(struct hmap_slot *s)
{
    if (s->len > HMAP_INLINE)
        free(s->key.ptr);
}

struct hmap {
    struct hmap_slot *slots;
    size_t cap;      /* power of two */
    size_t count;
};

static uint64_t hmap_hash(const void *key, size_t len)
{
    /* FNV-1a, then a finaliser so that short integer keys spread. */
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

hmap *hmap_new(void)
{
    hmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void hmap_free(hmap **mp)
{
    if (!mp || !*mp)
        return;
    hmap *m = *mp;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash)
            slot_key_free(&m->slots[i]);
    free(m->slots);
    free(m);
    *mp = NULL;
}

static size_t hmap_find(const hmap *m, uint64_t h, const void *key, size_t len, int *found)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    for (;;) {
        const struct hmap_slot *s = &m->slots[i];
        if (!s->hash) {
            *found = 0;
            return i;
        }
        if (s->hash == h && s->len == len && memcmp(slot_key(s), key, len) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

void *hmap_get(const hmap *m, const void *key, size_t len)
{
    int found;
    size_t i = hmap_find(m, hmap_hash(key, len), key, len, &found);
    return found ? m->slots[i].value : NULL;
}

static int hmap_grow(hmap *m)
{
    size_t ncap = m->cap * 2;
    struct hmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return GL_EINTERNAL;
    for (size_t i = 0; i < m->cap; i++) {
        struct hmap_slot *s = &m->slots[i];
        if (!s->hash)
            continue;
        size_t j = (size_t)s->hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int hmap_put(hmap *m, const void *key, size_t len, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && hmap_grow(m) != 0)
        return GL_EINTERNAL;
    uint64_t h = hmap_hash(key, len);
    int found;
    size_t i = hmap_find(m, h, key, len, &found);
    if (found) {
        m->slots[i].value = value;
        return 0;
    }
    struct hmap_slot s = {.hash = h, .len = len, .value = value};
    if (len > HMAP_INLINE) {
        if (!(s.key.ptr = malloc(len)))
            return GL_EINTERNAL;
        memcpy(s.key.ptr, key, len);
    } else if (len) {
        memcpy(s.key.bytes, key, len);
    }
    m->slots[i] = s;
    m->count++;
    return 0;
}

void *hmap_del(hmap *m, const void *key, size_t len)
{
    int found;
    size_t i = hmap_find(m, hmap_hash(key, len), key, len, &found);
    if (!found)
        return NULL;
    void *value = m->slots[i].value;
    slot_key_free(&m->slots[i]);
    m->slots[i].hash = 0;
    m->count--;
    /* Backward-shift: move later members of the probe run into the hole. */
    size_t mask = m->cap - 1, hole = i, j = (i + 1) & mask;
    while (m->slots[j].hash) {
        size_t home = (size_t)m->slots[j].hash & mask;
        /* Move j into the hole if its home is not within (hole, j]. */
        int between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            m->slots[hole] = m->slots[j];
            m->slots[j].hash = 0;
            hole = j;
        }
        j = (j + 1) & mask;
    }
    return value;
}

size_t hmap_count(const hmap *m) { return m->count; }

int hmap_each(const hmap *m, int (*fn)(void *, const void *, size_t, void *), void *ctx)
{
    for (size_t i = 0; i < m->cap; i++) {
        const struct hmap_slot *s = &m->slots[i];
        if (s->hash) {
            int rc = fn(ctx, slot_key(s), s->len, s->value);
            if (rc)
                return rc;
        }
    }
    return 0;
}
