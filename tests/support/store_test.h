/* store_test.h — what the store's unit tests share (header-only: include
 * it after tap.h). */
#ifndef GL_TEST_STORE_TEST_H
#define GL_TEST_STORE_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/store.h"
#include "../../common/store_pending.h"

/* tl_store_reopen opens the store in dir with the tests' map of 64 MiB. */
static inline int tl_store_reopen(const char *dir, store **s)
{
    store_opts so = {.map_size = (size_t)64 << 20};
    return store_open(dir, &so, s);
}

/* tl_store_open_temp makes a directory /tmp/NAME.XXXXXX (its path written
 * into dir, len bytes) and opens a store there (tl_store_reopen): the
 * store, or NULL (with a diag) when either fails. */
static inline store *tl_store_open_temp(char *dir, size_t len, const char *name)
{
    snprintf(dir, len, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(dir))
        return NULL;
    store *s = NULL;
    if (tl_store_reopen(dir, &s) != 0) {
        diag("store_open failed");
        return NULL;
    }
    return s;
}

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

/* tl_store_pending returns STATUS's figure of PENDING dispatches (0 when the
 * store cannot be read). */
static inline uint64_t tl_store_pending(store *s)
{
    store_txn *t = NULL;
    store_stats st;
    memset(&st, 0, sizeof st);
    if (store_begin(s, 0, &t) == 0) {
        store_get_stats(t, &st);
        store_abort(&t);
    }
    return st.pending;
}

/* tl_store_staged returns count(t) (the entries waiting in a staging
 * database: store_pending_recent_count, store_board_recent_count) in a
 * read transaction of s. */
static inline uint64_t tl_store_staged(store *s, uint64_t (*count)(store_txn *t))
{
    store_txn *t = NULL;
    uint64_t n = 0;
    if (store_begin(s, 0, &t) == 0) {
        n = count(t);
        store_abort(&t);
    }
    return n;
}

/* tl_store_pending_recent returns the entries waiting in pending_recent. */
static inline uint64_t tl_store_pending_recent(store *s)
{
    return tl_store_staged(s, store_pending_recent_count);
}

/* tl_request_event is a routine request (a repair in heping-g3, filed)
 * with id. */
static inline gl_event tl_request_event(const char *id)
{
    gl_event ev = {0};
    ev.id = id;
    ev.kind = GL_KIND_REQUEST;
    ev.category = "repair";
    ev.grid = "heping-g3";
    ev.text = "楼道灯坏了";
    ev.state = GL_EV_FILED;
    ev.created_ms = 1718000001000ull;
    ev.updated_ms = 1718000001000ull;
    return ev;
}

/* tl_store_pend_seqs reads name's seqs (n bytes) in d's blocks and own
 * keys (pend_index: "pending"; board_index: the claim board), without the
 * staging database, through a pset_reader, in order: how many, the first
 * max of them into seqs (may be NULL), or -1. */
static inline int tl_store_pend_seqs(store *s, const struct blk_desc *d, const char *name,
                                     size_t n, uint64_t *seqs, size_t max)
{
    store_txn *t = NULL;
    int count = 0, have = 1;
    uint64_t from = 0, seq;
    if (store_begin(s, 0, &t) != 0)
        return -1;
    pset_reader *r = malloc(sizeof *r);
    if (!r) {
        store_abort(&t);
        return -1;
    }
    pset_reader_init(r, d, t, name, n);
    while (have) {
        if (pset_reader_next(r, from, &have, &seq) != 0) {
            count = -1;
            break;
        }
        if (have) {
            if (seqs && (size_t)count < max)
                seqs[count] = seq;
            count++;
            from = seq + 1;
        }
    }
    free(r);
    store_abort(&t);
    return count;
}

/* tl_store_file_event files ev (its seq the store's next, else -1000) and
 * its first history entry ("filed" by a terminal) in t. */
static inline int tl_store_file_event(store_txn *t, gl_event *ev)
{
    uint64_t next = 0;
    int rc = store_event_next_seq(t, &next);
    if (rc == 0 && next != ev->seq)
        rc = -1000;
    gl_history h = {.seq = ev->seq, .at_ms = ev->created_ms, .who = "terminal", .what = "filed"};
    if (rc == 0 && (rc = store_event_add(t, ev)) == 0)
        rc = store_history_add(t, &h);
    return rc;
}

#endif
