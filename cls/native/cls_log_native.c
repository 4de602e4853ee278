/*
 * cls_log_native.c - vmd_cls_log() outside the OSD: silent unless VMD_CLS_LOG
 * is set in the environment, then to stderr. Linked into unit tests and
 * fuzzers instead of cls_main.c's OSD version.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "methods/cls_methods.h"

void vmd_cls_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (!getenv("VMD_CLS_LOG"))
        return;
    fprintf(stderr, "cls[%d]: ", level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
