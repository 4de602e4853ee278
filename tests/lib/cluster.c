/*
 * cluster.c - opening a store on the throwaway cluster (cluster.h).
 *
 * The error callback's argument is the log prefix given to
 * vmd_test_store_open(): NULL keeps the library quiet, as a test whose
 * expected errors would otherwise fill its log wants.
 */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char vmd_test_last_error[512];

void vmd_test_on_error(void *arg, int err, const char *msg)
{
    (void)err;
    snprintf(vmd_test_last_error, sizeof(vmd_test_last_error), "%s", msg);
    if (arg)
        fprintf(stderr, "%s: %s\n", (const char *)arg, msg);
}

void vmd_test_nspace(char *buf, size_t cap, const char *prefix)
{
    snprintf(buf, cap, "%s-%d-%ld", prefix, (int)getpid(), (long)time(NULL));
}

int vmd_test_store_open(vmd_store **out, const char *nspace, int init,
                        const vmd_init_opts *init_opts, const char *log)
{
    vmd_store_opts opts;
    int err;

    *out = NULL;
    vmd_store_opts_init(&opts);
    opts.conf = getenv("CEPH_CONF");
    opts.nspace = nspace;
    opts.on_error = vmd_test_on_error;
    opts.error_arg = (void *)log;
    err = vmd_store_open(out, &opts);
    if (!err && init)
        err = vmd_store_init(*out, init_opts);
    if (err) {
        fprintf(stderr, "opening a store in namespace %s: %s (%s)\n", nspace, strerror(-err),
                vmd_test_last_error);
        vmd_store_close(*out);
        *out = NULL;
    }
    return err;
}
