/*
 * test_class.c - the vmdedup class, loaded by real OSDs, answers through librados.
 *
 * Runs against the throwaway cluster that ctest's `cluster` fixture starts
 * (CEPH_CONF points at it). Without a reachable cluster every test fails:
 * there is no silent skip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rados/librados.h>

#include "cluster.h"
#include "vmd_test.h"
#include "vmd_test_cluster.h"
#include "format/class_msg.h"
#include "vmdedup/vmdedup.h"

static rados_t cluster;
static rados_ioctx_t meta;
static int connected;
static char oid[64];

/* Connects once; a failure here fails every test that needs the cluster. */
static int need_cluster(void)
{
    int err;

    if (connected)
        return 1;
    if (!vmd_test_have_cluster())
        return 0;
    err = vmd_test_rados_connect(&cluster);
    if (!err)
        err = rados_ioctx_create(cluster, "vmd.meta", &meta);
    if (err) {
        fprintf(stderr, "connecting to the cluster of %s: %s\n", getenv("CEPH_CONF"),
                strerror(-err));
        CU_FAIL("cannot connect to the throwaway cluster");
        return 0;
    }
    /* A namespace of our own keeps these objects apart from other tests'. */
    rados_ioctx_set_namespace(meta, "test-class");
    snprintf(oid, sizeof(oid), "probe.%d", (int)getpid());
    err = rados_write_full(meta, oid, "x", 1);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    connected = 1;
    return 1;
}

static void test_version_is_answered_by_the_class(void)
{
    char out[256];
    vmd_op_version_reply reply;
    int n;

    if (!need_cluster())
        return;
    n = rados_exec(meta, oid, VMD_CLS_NAME, "version", NULL, 0, out, sizeof(out));
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL_FATAL(vmd_op_version_reply_decode(&reply, (uint8_t *)out, (size_t)n), 0);
    CU_ASSERT_STRING_EQUAL(reply.name, "vmdedup");
    CU_ASSERT_EQUAL(reply.class_version, VMD_CLS_VERSION);
    CU_ASSERT_EQUAL(reply.wire_version, VMD_WIRE_VERSION);
    CU_ASSERT_EQUAL(reply.wire_compat, VMD_WIRE_COMPAT);
}

static void test_version_rejects_input(void)
{
    char out[256];
    int n;

    if (!need_cluster())
        return;
    n = rados_exec(meta, oid, VMD_CLS_NAME, "version", "junk", 4, out, sizeof(out));
    CU_ASSERT_EQUAL(n, -EINVAL);
}

static void test_unknown_method_is_eopnotsupp(void)
{
    char out[16];

    if (!need_cluster())
        return;
    CU_ASSERT_EQUAL(
        rados_exec(meta, oid, VMD_CLS_NAME, "no_such_method", NULL, 0, out, sizeof(out)),
        -EOPNOTSUPP);
}

static void test_read_method_on_missing_object_is_enoent(void)
{
    char out[256];

    if (!need_cluster())
        return;
    CU_ASSERT_EQUAL(
        rados_exec(meta, "no.such.object", VMD_CLS_NAME, "version", NULL, 0, out, sizeof(out)),
        -ENOENT);
}

static void test_osds_all_up_after_calls(void)
{
    char out[256];
    int i, n, up, total;

    if (!need_cluster())
        return;
    /* Many calls on many objects reach every OSD; all must still answer. */
    for (i = 0; i < 64; i++) {
        char name[64];
        snprintf(name, sizeof(name), "spread.%d.%d", (int)getpid(), i);
        CU_ASSERT_EQUAL_FATAL(rados_write_full(meta, name, "y", 1), 0);
        n = rados_exec(meta, name, VMD_CLS_NAME, "version", NULL, 0, out, sizeof(out));
        CU_ASSERT(n > 0);
        CU_ASSERT_EQUAL(rados_remove(meta, name), 0);
    }
    CU_ASSERT_EQUAL(vmd_test_osds_up(cluster, &up, &total), 0);
    CU_ASSERT(total >= 1);
    CU_ASSERT_EQUAL(up, total);
}

static void test_library_init_and_class_info(void)
{
    vmd_store_opts opts;
    vmd_store *s = NULL;
    vmd_class_info info;
    char nspace[64];

    if (!need_cluster())
        return;
    snprintf(nspace, sizeof(nspace), "test-lib-%d", (int)getpid());
    vmd_store_opts_init(&opts);
    opts.conf = getenv("CEPH_CONF");
    opts.nspace = nspace;
    opts.on_error = vmd_test_on_error;
    CU_ASSERT_EQUAL_FATAL(vmd_store_open(&s, &opts), 0);

    /* Before init: the settings object is missing, and the message says so. */
    CU_ASSERT_EQUAL(vmd_store_class_info(&info, s), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, "vmdedup init"));

    CU_ASSERT_EQUAL(vmd_store_partitions(s), -ENOENT);
    CU_ASSERT_EQUAL(vmd_store_init(s, NULL), 0);
    CU_ASSERT_EQUAL(vmd_store_partitions(s), VMD_DEFAULT_PARTITIONS);
    CU_ASSERT_EQUAL(vmd_store_class_info(&info, s), 0);
    CU_ASSERT_STRING_EQUAL(info.name, "vmdedup");
    CU_ASSERT_STRING_EQUAL(info.version, "0.1.0");
    CU_ASSERT_EQUAL(info.compatible, 1);

    /* A second init must not overwrite the store. */
    CU_ASSERT_EQUAL(vmd_store_init(s, NULL), -EEXIST);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, "already initialised"));
    vmd_store_close(s);
}

static void test_library_missing_pool_is_enoent(void)
{
    vmd_store_opts opts;
    vmd_store *s = NULL;

    if (!need_cluster())
        return;
    vmd_store_opts_init(&opts);
    opts.conf = getenv("CEPH_CONF");
    opts.data_pool = "no.such.pool";
    opts.on_error = vmd_test_on_error;
    CU_ASSERT_EQUAL(vmd_store_open(&s, &opts), -ENOENT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, "no.such.pool"));
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"version is answered by the class", test_version_is_answered_by_the_class},
        {"version rejects input", test_version_rejects_input},
        {"unknown method is EOPNOTSUPP", test_unknown_method_is_eopnotsupp},
        {"read method on missing object is ENOENT", test_read_method_on_missing_object_is_enoent},
        {"every OSD answers", test_osds_all_up_after_calls},
        {"library: init and class info", test_library_init_and_class_info},
        {"library: missing pool is ENOENT", test_library_missing_pool_is_enoent},
        {NULL, NULL},
    };
    int rc = vmd_test_main("class", cases);
    if (connected) {
        rados_remove(meta, oid);
        rados_ioctx_destroy(meta);
        rados_shutdown(cluster);
    }
    return rc;
}
