/* store_fsck.h — the fsck the store's unit tests run (header-only: include
 * it after tap.h and common/store.h). */
#ifndef GL_TEST_STORE_FSCK_H
#define GL_TEST_STORE_FSCK_H

#include <string.h>

/* tl_store_fsck runs store_fsck on s and returns the problems it found
 * (each shown as a diag), or -1 when fsck itself failed. With expect and
 * named, *named says whether one of the problems shown holds expect. */
static inline int tl_store_fsck(store *s, const char *expect, int *named)
{
    store_fsck_report r;
    memset(&r, 0, sizeof r);
    if (named)
        *named = 0;
    if (store_fsck(s, &r) != 0)
        return -1;
    for (int i = 0; i < r.nfirst; i++) {
        diag("  %s", r.first[i]);
        if (expect && named && strstr(r.first[i], expect))
            *named = 1;
    }
    return (int)r.problems;
}

#endif
