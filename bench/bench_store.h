/* bench_store.h — a benchmark's look at the workers' store from outside:
 * LMDB allows readers in any process, so a benchmark opens the environment
 * read-only and reads its write-transaction count while the workers run,
 * and the size of every database once they have stopped. Also the name of
 * the filesystem a path is on, for the conditions line.
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_STORE_H
#define GL_BENCH_STORE_H

#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>

#include "../common/gl.h"
#include "bench_util.h"

typedef struct bs_db {
    char name[32];
    uint64_t entries, pages, depth; /* pages: branch + leaf + overflow */
} bs_db;

typedef struct bs_figures {
    int ok;
    unsigned page_size;
    uint64_t last_txnid, last_pgno, map_size;
    long long file_bytes; /* data.mdb */
    uint64_t events;      /* entries of the "events" database */
    bs_db db[24];
    int ndb;
} bs_figures;

/* bs_open opens the environment in dir read-only (the workers have made
 * it); 0, or -1 with *env NULL. */
static inline int bs_open(const char *dir, MDB_env **env)
{
    *env = NULL;
    if (mdb_env_create(env) != 0)
        return -1;
    mdb_env_set_maxdbs(*env, 32);
    if (mdb_env_open(*env, dir, MDB_RDONLY | MDB_NOTLS, 0600) != 0) {
        mdb_env_close(*env);
        *env = NULL;
        return -1;
    }
    return 0;
}

/* bs_txnid returns the id of the last committed write transaction (0 if
 * env is NULL): write transactions committed since the store was made. */
static inline uint64_t bs_txnid(MDB_env *env)
{
    MDB_envinfo info;
    if (!env || mdb_env_info(env, &info) != 0)
        return 0;
    return (uint64_t)info.me_last_txnid;
}

/* bs_measure fills f with the store's size: the data file, the pages up
 * to the last in use, and each named database (listed in the main one). */
static inline void bs_measure(MDB_env *env, const char *dir, bs_figures *f)
{
    memset(f, 0, sizeof *f);
    char path[600];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    f->file_bytes = bu_file_size(path);
    if (!env)
        return;
    MDB_envinfo info;
    MDB_stat st;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi main_dbi;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &st) != 0 ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return;
    f->page_size = st.ms_psize;
    f->last_txnid = (uint64_t)info.me_last_txnid;
    f->last_pgno = (uint64_t)info.me_last_pgno;
    f->map_size = (uint64_t)info.me_mapsize;
    if (mdb_dbi_open(txn, NULL, 0, &main_dbi) == 0 && mdb_cursor_open(txn, main_dbi, &cur) == 0) {
        MDB_val k, v;
        int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (rc == 0 && f->ndb < (int)GL_ARRAY_LEN(f->db)) {
            bs_db *d = &f->db[f->ndb];
            size_t len = k.mv_size < sizeof d->name - 1 ? k.mv_size : sizeof d->name - 1;
            memcpy(d->name, k.mv_data, len);
            d->name[len] = '\0';
            MDB_dbi dbi;
            MDB_stat ds;
            if (mdb_dbi_open(txn, d->name, 0, &dbi) == 0 && mdb_stat(txn, dbi, &ds) == 0) {
                d->entries = ds.ms_entries;
                d->pages = ds.ms_branch_pages + ds.ms_leaf_pages + ds.ms_overflow_pages;
                d->depth = ds.ms_depth;
                if (strcmp(d->name, "events") == 0)
                    f->events = ds.ms_entries;
                f->ndb++;
            }
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    f->ok = 1;
}

/* bs_freelist reads LMDB's freelist (database 0, FREE_DBI) in a read
 * transaction: *records (one per write transaction that freed pages, not
 * yet reused) and *pages (the free page numbers they hold, each record an
 * ID list whose first word is its length, as mdb_stat -f counts them).
 * 0, or -1. */
static inline int bs_freelist(MDB_env *env, uint64_t *records, uint64_t *pages)
{
    *records = *pages = 0;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    if (!env || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    int rc = mdb_cursor_open(txn, 0, &cur);
    if (rc == 0) {
        MDB_val k, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            (*records)++;
            if (v.mv_size >= sizeof(size_t)) {
                size_t n;
                memcpy(&n, v.mv_data, sizeof n);
                *pages += n;
            }
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? 0 : -1;
}

/* bs_entries returns the entries of the named database (0 if there is no
 * such database or env is NULL). */
static inline uint64_t bs_entries(MDB_env *env, const char *name)
{
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_stat st;
    uint64_t n = 0;
    if (!env || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    if (mdb_dbi_open(txn, name, 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
        n = st.ms_entries;
    mdb_txn_abort(txn);
    return n;
}

/* bs_used_bytes: the pages up to the last in use, in bytes. */
static inline double bs_used_bytes(const bs_figures *f)
{
    return (double)(f->last_pgno + 1) * (double)f->page_size;
}

/* bs_fs_name names the filesystem path is on ("ext4", "tmpfs", ...). */
static inline const char *bs_fs_name(const char *path)
{
    struct statfs sf;
    if (statfs(path, &sf) != 0)
        return "?";
    switch ((unsigned long)sf.f_type) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683EUL: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: return "other";
    }
}

#endif
