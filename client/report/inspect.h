/*
 * inspect.h - the describers behind vmd_store_inspect(), one file per kind of object.
 *
 * Each takes the object's name, writes a readable text (json 0) or one JSON
 * object and a newline (json 1) to f, and returns 0, -ENOENT (no such
 * object) or -EIO (corrupt: what decodes is written first, then the error
 * is reported through the store's callback). The name has been checked to
 * be of the describer's kind by inspect.c, which dispatches by name.
 */
#ifndef VMD_INSPECT_H
#define VMD_INSPECT_H

#include <stdint.h>
#include <stdio.h>

#include "rados/store_int.h"

/* Recipe r.<vm>.<seq8>: header, segment table, and the records it holds (inspect_recipe.c). */
int vmd_inspect_recipe(vmd_store *s, const char *oid, int json, FILE *f);

/* Catalog vm.<vm>: next_seq and one decoded line per snapshot (inspect_catalog.c). */
int vmd_inspect_catalog(vmd_store *s, const char *oid, int json, FILE *f);

/* The VM list vmd.vms (inspect_catalog.c). */
int vmd_inspect_vms(vmd_store *s, int json, FILE *f);

/* The CDS pointer vmd.cds (inspect_cds.c). */
int vmd_inspect_cds_pointer(vmd_store *s, int json, FILE *f);

/* A CDS manifest cds.<ver8>: header and entries, most popular first (inspect_cds.c). */
int vmd_inspect_cds_manifest(vmd_store *s, const char *oid, int json, FILE *f);

/* Writes n bytes as lowercase hex. */
void vmd_inspect_hex(FILE *f, const uint8_t *p, size_t n);

/* Writes a time as "2026-11-21T23:59:59Z". */
void vmd_inspect_time(FILE *f, int64_t t);

#endif /* VMD_INSPECT_H */
