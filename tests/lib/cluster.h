/*
 * cluster.h - a vmdedup store on the throwaway cluster, for the integration
 * tests and the benchmarks (tests/lib/vmd_test_cluster.h asks the cluster
 * itself; this opens the library on it).
 *
 * Every program that opens a store here shares one error callback: it keeps
 * the library's last message in vmd_test_last_error (tests assert on its
 * words) and, when the store was opened with a log prefix, also prints it on
 * stderr. The store lives in a RADOS namespace of the caller's choosing;
 * vmd_test_nspace() makes one that no other run uses.
 *
 * Built on the public API only (vmdedup/vmdedup.h): no CUnit, so benchmarks
 * link it too. Integration tests check for the cluster first with
 * vmd_test_have_cluster() (vmd_test.h).
 */
#ifndef VMD_TEST_STORE_CLUSTER_H
#define VMD_TEST_STORE_CLUSTER_H

#include <stddef.h>

#include "vmdedup/vmdedup.h"

/* The library's last error message on a store opened here ("" before the first). */
extern char vmd_test_last_error[512];

/*
 * The error callback of the stores opened here, for programs that fill
 * vmd_store_opts themselves: keeps msg in vmd_test_last_error and prints
 * "ARG: msg" on stderr when arg (a string) is not NULL.
 */
void vmd_test_on_error(void *arg, int err, const char *msg);

/* "PREFIX-PID-TIME" into buf (cap bytes): a namespace of this run alone. */
void vmd_test_nspace(char *buf, size_t cap, const char *prefix);

/*
 * Opens a store in namespace nspace on the cluster that $CEPH_CONF names
 * (librados' own search when it is unset) and, when init is non-zero,
 * initialises it with init_opts (NULL: defaults). log: the prefix of the
 * library's messages on stderr, or NULL to keep them in vmd_test_last_error
 * only. Returns 0 with *out open, or the library's error with *out NULL and
 * one line on stderr that names it.
 */
int vmd_test_store_open(vmd_store **out, const char *nspace, int init,
                        const vmd_init_opts *init_opts, const char *log);

#endif /* VMD_TEST_STORE_CLUSTER_H */
