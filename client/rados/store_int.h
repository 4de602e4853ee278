/*
 * store_int.h - the inside of a vmd_store, shared by the library's files.
 *
 * A store is one librados cluster handle and one I/O context per pool, all
 * set to the tenant's namespace. librados handles are thread-safe, and the
 * struct is immutable after vmd_store_open(), so a store can be shared by
 * threads without locking.
 */
#ifndef VMD_STORE_INT_H
#define VMD_STORE_INT_H

#include <errno.h>
#include <stdlib.h>

#include <rados/librados.h>

#include "vmdedup/vmdedup.h"

/*
 * The installed header repeats VMD_VM_ID_MAX for the library's users, who
 * cannot include format/limits.h. Its value, taken before limits.h defines
 * the one, must be that one (store.c includes this header first).
 */
enum { VMD_API_VM_ID_MAX = VMD_VM_ID_MAX };
#include "format/limits.h"
VMD_STATIC_ASSERT(VMD_API_VM_ID_MAX == VMD_VM_ID_MAX,
                  "vmdedup/vmdedup.h and format/limits.h disagree on VMD_VM_ID_MAX");

/* Name of the settings object in the meta pool. */
#define VMD_STORE_OBJECT "vmd.store"

/* Index partitions: 2^k with k <= this. */
#define VMD_MAX_PARTITION_BITS VMD_IDX_MAX_BITS /* format/limits.h */

/* Version of the store layout written by vmd_store_init(). */
#define VMD_STORE_FORMAT 1

struct vmd_store {
    rados_t cluster;
    rados_ioctx_t meta;
    rados_ioctx_t data;
    rados_ioctx_t popular;
    char *meta_pool;
    char *data_pool;
    char *popular_pool;
    vmd_error_fn on_error;
    void *error_arg;
    int partition_bits; /* k of 2^k index partitions; -1 while the store is not initialised */
    /* Data path settings (vmd.store; defaults for stores initialised without them). */
    uint32_t chunk_min, chunk_avg, chunk_max; /* content-defined chunking, bytes */
    uint32_t container_size;                  /* target size of a container object, bytes */
    int zstd_level;                           /* per-chunk compression level (0: none) */
    uint64_t cds_budget; /* host memory for the common data set (vmd_store_opts; never 0) */
};

/* Defaults of the data path settings that vmd_store_init() writes (the others: vmdedup.h). */
#define VMD_DEFAULT_CONTAINER_SIZE (4u << 20)

/*
 * Reports a failure: formats the message, appends ": <strerror(-err)>",
 * passes it to the store's error callback and returns err, so callers write
 * `return vmd_fail(s, err, "reading %s", oid);`. s may be NULL (then the
 * callback given is used; fn may be NULL too).
 */
int vmd_fail_cb(vmd_error_fn fn, void *arg, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define vmd_fail(s, err, ...) vmd_fail_cb((s)->on_error, (s)->error_arg, (err), __VA_ARGS__)

#endif /* VMD_STORE_INT_H */
