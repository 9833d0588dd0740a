/* store_info.c — see store_info.h. */
#include "store_info.h"
#include "store_impl.h"

int store_readers(store_txn *t, uint64_t *used, uint64_t *max)
{
    MDB_envinfo info;
    int rc = mdb_env_info(t->s->env, &info);
    if (rc)
        return store_error(rc, "env info");
    *used = info.me_numreaders;
    *max = info.me_maxreaders;
    return 0;
}
