/* Unit test for common/hmap: the map the broker keeps responders and jobs in. */
#include "../common/hmap.h"
#include "tap.h"

#include <stdio.h>
#include <stdint.h>

int main(void)
{
    hmap *m = hmap_new();
    ok(m != NULL, "map created");
    static int values[20000];
    int put_ok = 1;
    for (uint64_t i = 0; i < 20000; i++)
        put_ok &= hmap_put_u64(m, i * 7919, &values[i]) == 0;
    ok(put_ok, "20000 integer keys stored");
    is_int(hmap_count(m), 20000, "count after puts");
    int all_found = 1;
    for (uint64_t i = 0; i < 20000; i++)
        all_found &= hmap_get_u64(m, i * 7919) == &values[i];
    ok(all_found, "every key finds its value");
    ok(hmap_get_u64(m, 3) == NULL, "absent key gives NULL");
    int del_ok = 1;
    for (uint64_t i = 0; i < 20000; i += 2)
        del_ok &= hmap_del_u64(m, i * 7919) == &values[i];
    ok(del_ok, "half the keys deleted, each returning its value");
    int rest_ok = 1;
    for (uint64_t i = 0; i < 20000; i++)
        rest_ok &= hmap_get_u64(m, i * 7919) == (i % 2 ? &values[i] : NULL);
    ok(rest_ok, "deleted keys gone, the others still found after backward shifts");
    is_int(hmap_count(m), 10000, "count after deletes");

    char team[32];
    int sok = 1;
    for (int i = 0; i < 100; i++) {
        int n = snprintf(team, sizeof team, "heping-g%d-team", i);
        sok &= hmap_put(m, team, (size_t)n, &values[i]) == 0;
    }
    ok(sok && hmap_get(m, "heping-g42-team", 15) == &values[42], "string keys work beside integer keys");
    hmap_put(m, "heping-g42-team", 15, &values[7]);
    ok(hmap_get(m, "heping-g42-team", 15) == &values[7], "put replaces a value");

    /* Keys on both sides of the length kept inside the map (16 bytes), and
     * long ones such as event ids, through puts, deletes and growth. */
    char key[64];
    int lok = 1;
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(key, sizeof key, "%0*d", 14 + i % 30, i);
        lok &= hmap_put(m, key, (size_t)n, &values[i]) == 0;
    }
    for (int i = 0; i < 3000; i += 3) {
        int n = snprintf(key, sizeof key, "%0*d", 14 + i % 30, i);
        lok &= hmap_del(m, key, (size_t)n) == &values[i];
    }
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(key, sizeof key, "%0*d", 14 + i % 30, i);
        lok &= hmap_get(m, key, (size_t)n) == (i % 3 ? &values[i] : NULL);
    }
    ok(lok, "keys of 14 to 43 bytes stored, deleted and found");
    ok(hmap_get(m, "0000000000000002", 16) == &values[2] &&
           hmap_get(m, "00000000000000002", 17) == NULL,
       "a key is found only at its own length");
    hmap_free(&m);
    ok(m == NULL, "free clears the pointer");
    return done_testing();
}
