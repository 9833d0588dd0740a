/* store_info.h — figures about the LMDB environment itself, beyond
 * store_get_stats (store.h): for operators' metrics. */
#ifndef GL_STORE_INFO_H
#define GL_STORE_INFO_H

#include <stdint.h>

#include "store.h"

/* store_readers sets *used to the reader slots in use in the environment
 * (every process's open read transactions, stale ones of dead processes
 * included until cleared) and *max to how many there are. 0 or GL_ESTORAGE. */
int store_readers(store_txn *t, uint64_t *used, uint64_t *max);

#endif
