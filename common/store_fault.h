/* store_fault.h — the store's test seam for injecting LMDB failures.
 *
 * Only tests include this. When store_fault_hook is set, the store calls it
 * with the name of each LMDB operation just before performing it:
 *   "begin"   mdb_txn_begin in store_begin
 *   "put"     every mdb_put (records and indexes)
 *   "del"     every mdb_del (index entries going stale)
 *   "commit"  mdb_txn_commit in store_commit (write transactions only)
 *   "sync"    mdb_env_sync after a write transaction committed (store_commit)
 * A non-zero return is taken as the LMDB error that operation returned (for
 * example MDB_MAP_FULL, ENOSPC, EIO), and the operation is not performed: the
 * store translates and logs it exactly as it would a real failure. As with a
 * real LMDB write error, a write transaction that saw a failed "put" or "del"
 * can only be aborted: store_commit discards it and returns the same error.
 * A failed "commit" discards the transaction, so nothing of it is stored.
 * A failed "sync" comes after the commit: the transaction is stored, the
 * commit reports GL_ESTORAGE and the handle refuses every later begin.
 *
 * The hook is process-wide and not thread-safe; set it, run the operation
 * under test, and set it back to NULL. */
#ifndef GL_STORE_FAULT_H
#define GL_STORE_FAULT_H

extern int (*store_fault_hook)(const char *op);

#endif
