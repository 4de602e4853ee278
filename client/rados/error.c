/*
 * error.c - one clear line per failure.
 *
 * The library never prints. Every failure is described once, at the place
 * that knows which object, pool or file was involved, and handed to the
 * caller's callback together with the errno it returns.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rados/store_int.h"

int vmd_fail_cb(vmd_error_fn fn, void *arg, int err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int n;

    if (!fn)
        return err;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(msg) && err < 0)
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(-err));
    fn(arg, err, msg);
    return err;
}
