/* store_board.c — the claim board: a community's claimable requests, oldest
 * first (store.h). Written like the pending index (store_pending.h): a
 * request put on the board waits in board_recent (seq community → empty),
 * at its right edge, so a batch's entries share a leaf or two instead of
 * dirtying one leaf per community; the settle (store_pending_settle) moves
 * them into "board" in bulk, as blocks of up to PEND_MAX seqs per
 * community (community 0 first_seq 'B'). Entries of their own (community 0
 * seq), written before blocks, are read and taken off where they are. An
 * entry is in exactly one place: board_recent, a key of its own or one
 * block (fsck checks it). */
#include "gl.h"
#include "store_impl.h"
#include "store_pending.h"

int store_board_set(store_txn *t, const char *community, uint64_t seq, int on)
{
    if (t->failed)
        return t->failed;
    size_t n = store_name_len(t->s, 9, community); /* community 0 seq */
    if (!n)
        return GL_EBADFIELD;
    unsigned char key[STORE_KEY_MAX];
    store_put_be64(key, seq);
    memcpy(key + 8, community, n);
    MDB_val k = store_val(key, 8 + n), empty = store_val("", 0);
    if (on) {
        /* Already on (settled): stays where it is. */
        if (pset_has(&board_index, t, (const unsigned char *)community, n, seq))
            return 0;
        return store_txn_put_edge(t, DB_BOARD_RECENT, &k, &empty, 0);
    }
    int recent = 0;
    int err = store_txn_del_found(t, DB_BOARD_RECENT, &k, &recent);
    return err || recent ? err : pset_remove(&board_index, t, community, n, seq);
}

int store_board_list(store_txn *t, const char *community, uint64_t *seqs, size_t max,
                     size_t *n)
{
    size_t len = store_name_len(t->s, 9, community);
    *n = 0;
    if (!len)
        return GL_EBADFIELD;
    pset_merge m;
    int err = pset_merge_open(&m, &board_index, t, community, len);
    for (uint64_t from = 0; !err && *n < max;) {
        int have = 0;
        uint64_t seq = 0;
        if ((err = pset_merge_next(&m, from, &have, &seq)) != 0 || !have)
            break;
        seqs[(*n)++] = seq;
        if (seq == UINT64_MAX)
            break;
        from = seq + 1;
    }
    pset_merge_close(&m);
    return err;
}
