/*
 * options.c - the defaults of the public options records.
 *
 * Every options record of vmdedup.h is an open struct whose defaults are all
 * zero or NULL (each field documents what 0 stands for), so each _init is a
 * memset. They exist so that a caller does not depend on that: a caller that
 * calls _init and then sets the fields it knows gets the default of every
 * field added later (fields may still be added while the version is 0.x).
 */
#include <string.h>

#include "vmdedup/vmdedup.h"

void vmd_store_opts_init(vmd_store_opts *opts)
{
    if (opts)
        memset(opts, 0, sizeof(*opts));
}

void vmd_init_opts_init(vmd_init_opts *opts)
{
    if (opts)
        memset(opts, 0, sizeof(*opts));
}

void vmd_backup_opts_init(vmd_backup_opts *opts)
{
    if (opts)
        memset(opts, 0, sizeof(*opts));
}

void vmd_restore_opts_init(vmd_restore_opts *opts)
{
    if (opts)
        memset(opts, 0, sizeof(*opts));
}

void vmd_cds_update_opts_init(vmd_cds_update_opts *opts)
{
    if (opts)
        memset(opts, 0, sizeof(*opts));
}

void vmd_stats_opts_init(vmd_stats_opts *opts)
{
    if (opts)
        memset(opts, 0, sizeof(*opts));
}
