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

/* Defines void T_init(T *opts): every field zero or NULL; NULL is ignored. */
#define VMD_OPTS_INIT(T)                                                                           \
    void T##_init(T *opts)                                                                         \
    {                                                                                              \
        if (opts)                                                                                  \
            memset(opts, 0, sizeof(*opts));                                                        \
    }

VMD_OPTS_INIT(vmd_store_opts)
VMD_OPTS_INIT(vmd_init_opts)
VMD_OPTS_INIT(vmd_backup_opts)
VMD_OPTS_INIT(vmd_restore_opts)
VMD_OPTS_INIT(vmd_cds_update_opts)
VMD_OPTS_INIT(vmd_stats_opts)
