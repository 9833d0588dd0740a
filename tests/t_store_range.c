/* Tests for common/store_range: the events filed in a period, found by a
 * binary search on filing time over seqs — periods before, inside, across
 * and after the events, an empty store, a limit that cuts the walk short,
 * an event filed a moment out of order, and a visitor that stops it. */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include "../common/arena.h"
#include "../common/gl.h"
#include "../common/store.h"
#include "../common/store_range.h"
#include "tap.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char root[64];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    if (root[0])
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

typedef struct seen {
    uint64_t seqs[2000];
    size_t n;
    size_t stop_after; /* 0: never */
} seen;

static int visit(void *ctx, const gl_event *ev)
{
    seen *s = ctx;
    if (s->n < GL_ARRAY_LEN(s->seqs))
        s->seqs[s->n++] = ev->seq;
    if (!ev->id || strncmp(ev->id, "r-", 2) != 0)
        return -1; /* strings must be readable in the visitor */
    return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

/* range runs store_event_range over [since, until) with limit, from *next
 * (NULL: from the start, and *truncated tells whether it stopped before the
 * end); the seqs visited go to s (kept when going on from *next). */
static int range_from(store *st, uint64_t since, uint64_t until, size_t limit, seen *s,
                      uint64_t *visited, int *truncated, uint64_t *next)
{
    store_txn *t = NULL;
    gl_arena arena = {0};
    uint64_t start = 0, *cursor = next ? next : &start;
    if (!next || !*next) {
        size_t stop = s->stop_after;
        memset(s, 0, sizeof *s);
        s->stop_after = stop;
    }
    int rc = store_begin(st, 0, &t);
    if (rc == 0)
        rc = store_event_range(t, since, until, cursor, limit, &arena, visit, s, visited);
    store_abort(&t);
    arena_free(&arena);
    if (truncated)
        *truncated = *cursor != 0;
    return rc;
}

static int range(store *st, uint64_t since, uint64_t until, size_t limit, seen *s,
                 uint64_t *visited, int *truncated)
{
    return range_from(st, since, until, limit, s, visited, truncated, NULL);
}

#define BASE 1700000000000ull

int main(void)
{
    snprintf(root, sizeof root, "/tmp/gl-range-XXXXXX");
    if (!mkdtemp(root)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    atexit(cleanup);
    store *st = NULL;
    store_opts opts = {.map_size = 64 << 20};
    if (store_open(root, &opts, &st) != 0) {
        printf("Bail out! store_open\n");
        return 1;
    }
    seen s = {0};
    uint64_t visited = 99;
    int truncated = 9;
    is_int(range(st, 0, UINT64_MAX, 0, &s, &visited, &truncated), 0, "an empty store: no error");
    ok(s.n == 0 && visited == 0 && truncated == 0, "nothing visited, not truncated");

    /* 1000 events, one a second from BASE; event 500 is filed 3 s "early"
     * (a worker that read its clock before waiting for the lock). */
    store_txn *t = NULL;
    int rc = store_begin(st, 1, &t);
    for (int i = 1; rc == 0 && i <= 1000; i++) {
        char id[16];
        snprintf(id, sizeof id, "r-%04d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "repair", .text = "x",
                       .state = GL_EV_FILED,
                       .created_ms = BASE + (uint64_t)i * 1000 - (i == 500 ? 3000 : 0)};
        rc = store_event_add(t, &ev);
    }
    if (rc == 0)
        rc = store_commit(&t);
    else
        store_abort(&t);
    is_int(rc, 0, "1000 events filed");

    range(st, 0, BASE, 0, &s, &visited, &truncated);
    is_int(s.n, 0, "a period before them all: none");
    range(st, BASE + 2000000, BASE + 3000000, 0, &s, &visited, &truncated);
    is_int(s.n, 0, "a period after them all: none");
    range(st, 0, UINT64_MAX, 0, &s, &visited, &truncated);
    ok(s.n == 1000 && s.seqs[0] == 1 && s.seqs[999] == 1000, "all time: all 1000, in seq order");
    range(st, BASE + 100000, BASE + 200000, 0, &s, &visited, &truncated);
    ok(s.n == 100 && s.seqs[0] == 100 && s.seqs[99] == 199,
       "[100 s, 200 s): seqs 100..199 (%zu, first %llu, last %llu)", s.n,
       (unsigned long long)(s.n ? s.seqs[0] : 0), (unsigned long long)(s.n ? s.seqs[s.n - 1] : 0));
    range(st, BASE + 1000, BASE + 1001, 0, &s, &visited, &truncated);
    ok(s.n == 1 && s.seqs[0] == 1, "a one-millisecond period holds the first event");
    range(st, BASE + 1000000, BASE + 1000001, 0, &s, &visited, &truncated);
    ok(s.n == 1 && s.seqs[0] == 1000, "and one the last");
    range(st, BASE + 498000, BASE + 502000, 0, &s, &visited, &truncated);
    int has500 = 0;
    for (size_t i = 0; i < s.n; i++)
        has500 |= s.seqs[i] == 500;
    ok(s.n == 3 && !has500,
       "[498 s, 502 s): seqs 498, 499, 501, not 500 filed at 497 s (%zu)", s.n);
    range(st, BASE + 496500, BASE + 497500, 0, &s, &visited, &truncated);
    ok(s.n == 2 && s.seqs[0] == 497 && s.seqs[1] == 500,
       "[496.5 s, 497.5 s): 497 and the out-of-order 500, found past 498 and 499");
    range(st, BASE + 499500, BASE + 500500, 0, &s, &visited, &truncated);
    ok(s.n == 0, "[499.5 s, 500.5 s): none (500 was filed at 497 s, 501 at 501 s)");
    range(st, BASE + 100000, BASE + 200000, 10, &s, &visited, &truncated);
    ok(s.n == 10 && visited == 10 && truncated == 1, "a limit of 10 stops the walk: truncated");
    range(st, BASE + 100000, BASE + 110000, 10, &s, &visited, &truncated);
    ok(s.n == 10 && truncated == 0, "a period of exactly the limit is read to its end");
    /* Chunk by chunk, each in a transaction of its own, as SCORES reads. */
    uint64_t next = 0, total = 0;
    int chunks = 0;
    do {
        range_from(st, BASE + 100000, BASE + 200000, 30, &s, &visited, &truncated, &next);
        total += visited;
        chunks++;
    } while (next && chunks < 100);
    ok(chunks == 4 && total == 100 && s.n == 100 && s.seqs[0] == 100 && s.seqs[99] == 199,
       "in chunks of 30: 4 calls, the same 100 events in order (%d chunks, %llu)", chunks,
       (unsigned long long)total);
    s.stop_after = 3;
    is_int(range(st, 0, UINT64_MAX, 0, &s, &visited, &truncated), 7,
           "a visitor's non-zero value stops the walk and is returned");
    is_int(s.n, 3, "after 3 events");
    store_close(&st);
    return done_testing();
}
