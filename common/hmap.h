/* hmap.h — a hash map from byte strings to pointers.
 *
 * Open addressing with linear probing and backward-shift deletion, so there
 * are no tombstones and lookups stay short under churn (responders come and
 * go, jobs finish). Keys are copied (short ones into the map's own slots,
 * without an allocation); values are the caller's. */
#ifndef GL_HMAP_H
#define GL_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hmap hmap;

/* hmap_new returns an empty map, or NULL on ENOMEM. */
hmap *hmap_new(void);

/* hmap_free frees the map and its key copies (not the values); *m becomes
 * NULL; NULL is accepted. */
void hmap_free(hmap **m);

/* hmap_get returns the value stored under key, or NULL. */
void *hmap_get(const hmap *m, const void *key, size_t len);

/* hmap_put stores value under key, replacing any previous value. Returns 0
 * or GL_EINTERNAL (ENOMEM; the map is unchanged). */
int hmap_put(hmap *m, const void *key, size_t len, void *value);

/* hmap_del removes key; returns the value it had, or NULL. */
void *hmap_del(hmap *m, const void *key, size_t len);

/* hmap_count returns the number of keys. */
size_t hmap_count(const hmap *m);

/* hmap_each calls fn for every entry (in no order) until fn returns
 * non-zero; the map must not be changed during the walk. */
int hmap_each(const hmap *m, int (*fn)(void *ctx, const void *key, size_t len, void *value),
              void *ctx);

/* Integer keys, for convenience. */
static inline void *hmap_get_u64(const hmap *m, uint64_t k) { return hmap_get(m, &k, sizeof k); }
static inline int hmap_put_u64(hmap *m, uint64_t k, void *v) { return hmap_put(m, &k, sizeof k, v); }
static inline void *hmap_del_u64(hmap *m, uint64_t k) { return hmap_del(m, &k, sizeof k); }

#endif
