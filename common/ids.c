#define _DEFAULT_SOURCE
#include "ids.h"
#include "clock.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>

static const char ids_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void ids_new(char out[IDS_LEN + 1])
{
    /* Monotonic within a process: same millisecond → increment the random
     * part, as the ULID spec does. */
    static uint64_t last_ms;
    static uint8_t last_rand[10];
    uint64_t ms = clock_wall_ms();
    uint8_t rnd[10];
    if (ms <= last_ms) {
        ms = last_ms;
        memcpy(rnd, last_rand, sizeof rnd);
        for (int i = 9; i >= 0 && ++rnd[i] == 0; i--)
            ;
    } else if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        /* getrandom on Linux ≥ 3.17 does not fail for 10 bytes once the pool
         * is initialised; mix the clock in as a last resort. */
        uint64_t t = clock_mono_us();
        memcpy(rnd, &t, 8);
        rnd[8] = (uint8_t)(ms >> 3);
        rnd[9] = (uint8_t)ms;
    }
    last_ms = ms;
    memcpy(last_rand, rnd, sizeof rnd);

    uint8_t bytes[16];
    for (int i = 0; i < 6; i++)
        bytes[i] = (uint8_t)(ms >> (40 - 8 * i));
    memcpy(bytes + 6, rnd, 10);
    /* 128 bits → 26 base32 digits, most significant first (first digit
     * carries 3 bits). */
    int bit = -2; /* 26*5 = 130 bits: two leading zero bits */
    for (int i = 0; i < IDS_LEN; i++) {
        unsigned v = 0;
        for (int b = 0; b < 5; b++, bit++) {
            v <<= 1;
            if (bit >= 0)
                v |= (bytes[bit / 8] >> (7 - bit % 8)) & 1u;
        }
        out[i] = ids_alphabet[v];
    }
    out[IDS_LEN] = '\0';
}
