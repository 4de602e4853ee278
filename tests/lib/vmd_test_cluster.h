/*
 * vmd_test_cluster.h - what integration tests ask the throwaway cluster itself.
 *
 * Header-only so each integration program includes what it uses; it needs
 * librados and nothing of vmdedup.
 */
#ifndef VMD_TEST_CLUSTER_H
#define VMD_TEST_CLUSTER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

/*
 * Connects *out as client.admin to the cluster of $CEPH_CONF, waiting at most
 * 30 s for the mons. Returns 0 or the librados error (*out then shut down).
 */
static inline int vmd_test_rados_connect(rados_t *out)
{
    int err = rados_create2(out, "ceph", "client.admin", 0);

    if (err)
        return err;
    err = rados_conf_read_file(*out, getenv("CEPH_CONF"));
    if (!err)
        err = rados_conf_set(*out, "client_mount_timeout", "30");
    if (!err)
        err = rados_connect(*out);
    if (err) {
        rados_shutdown(*out);
        *out = NULL;
    }
    return err;
}

/*
 * Asks the mon how many OSDs exist and how many are up (`osd stat`). Tests
 * that send hostile input to the class end with it: an OSD that crashed in
 * the class shows up here as up < total.
 */
static inline int vmd_test_osds_up(rados_t cluster, int *up, int *total)
{
    const char *cmd[] = {"{\"prefix\": \"osd stat\", \"format\": \"json\"}"};
    char *outbuf = NULL, *outs = NULL, *p;
    size_t outlen = 0, outslen = 0;
    int err;

    err = rados_mon_command(cluster, cmd, 1, NULL, 0, &outbuf, &outlen, &outs, &outslen);
    if (err < 0)
        return err;
    err = -EINVAL;
    *up = *total = -1;
    if (outbuf && (p = strstr(outbuf, "\"num_osds\":")))
        sscanf(p, "\"num_osds\":%d", total);
    if (outbuf && (p = strstr(outbuf, "\"num_up_osds\":")))
        sscanf(p, "\"num_up_osds\":%d", up);
    if (*up >= 0 && *total >= 0)
        err = 0;
    rados_buffer_free(outbuf);
    rados_buffer_free(outs);
    return err;
}

#endif /* VMD_TEST_CLUSTER_H */
