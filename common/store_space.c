/* store_space.c — how much room the store has left: the map grows towards
 * its ceiling, the data file towards the end of its disk (or of the
 * process's file-size limit), and the last part of either — the reserve — is
 * kept for alerts by the workers (store.h, PROTOCOL.md "Storage full").
 *
 * LMDB's rules for growing the map (lmdb.h, mdb_env_set_mapsize): it may be
 * called only while this process has no transaction open; the new size
 * reaches other processes with our next commit, and their mdb_txn_begin
 * then returns MDB_MAP_RESIZED once the data has grown beyond their map
 * (store_begin adopts the size then). */
#include "gl.h"
#include "log.h"
#include "store_impl.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

static int env_figures(store *s, uint64_t *size, uint64_t *used)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
        return GL_ESTORAGE;
    *size = info.me_mapsize;
    *used = (info.me_last_pgno + 1) * (uint64_t)st.ms_psize;
    return 0;
}

uint64_t store_disk_free(store *s, uint64_t *file_size)
{
    mdb_filehandle_t fd;
    struct stat st;
    struct statvfs vfs;
    if (file_size)
        *file_size = 0;
    if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0 || fstatvfs(fd, &vfs) != 0)
        return UINT64_MAX; /* unknown: do not claim the disk is full */
    if (file_size)
        *file_size = (uint64_t)st.st_size;
    uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        uint64_t room = rl.rlim_cur > (rlim_t)st.st_size ? (uint64_t)(rl.rlim_cur - (rlim_t)st.st_size) : 0;
        if (room < free_bytes)
            free_bytes = room;
    }
    return free_bytes;
}

int store_space_get(store *s, store_space *sp)
{
    memset(sp, 0, sizeof *sp);
    int err = env_figures(s, &sp->map_size, &sp->map_used);
    if (err)
        return err;
    sp->map_max = s->map_max > sp->map_size ? s->map_max : sp->map_size;
    sp->reserve = s->reserve;
    uint64_t file = 0;
    sp->disk_free = store_disk_free(s, &file);
    /* The file's part past the pages in use (written ahead, store_grow.h)
     * is room the store grows into without taking any of the disk's. */
    if (sp->disk_free != UINT64_MAX && file > sp->map_used)
        sp->disk_free += file - sp->map_used;
    return 0;
}

int store_space_low(const store_space *sp)
{
    return sp->map_used + sp->reserve >= sp->map_max || sp->disk_free < sp->reserve;
}

int store_can_grow(const store *s)
{
    MDB_envinfo info;
    return s->map_full && mdb_env_info(s->env, &info) == 0 && info.me_mapsize < s->map_max;
}

void store_space_grow(store *s)
{
    uint64_t size, used;
    if (env_figures(s, &size, &used) != 0 || size >= s->map_max)
        return;
    if (!s->map_full && used < size / 4 * 3)
        return;
    uint64_t grown = size * 2;
    while (grown < used + used / 4)
        grown *= 2;
    if (grown > s->map_max)
        grown = s->map_max;
    int rc = mdb_env_set_mapsize(s->env, (size_t)grown);
    if (rc) {
        LOG_E("store: cannot grow the map to %llu bytes: %s", (unsigned long long)grown,
              mdb_strerror(rc));
        return;
    }
    s->map_full = 0;
    LOG_I("store: map grown from %llu to %llu bytes (%llu in use, ceiling %llu)",
          (unsigned long long)size, (unsigned long long)grown, (unsigned long long)used,
          (unsigned long long)s->map_max);
}

int store_space_failed(store *s, int rc)
{
    if (rc == MDB_MAP_FULL)
        s->map_full = 1;
    if (rc == EIO) {
        /* LMDB reports a short write (the disk filled mid-write) as EIO. */
        uint64_t threshold = s->reserve > ((uint64_t)1 << 20) ? s->reserve : (uint64_t)1 << 20;
        if (store_disk_free(s, NULL) < threshold)
            return ENOSPC;
    }
    return rc;
}
