/*
 * json.h - the few JSON writing helpers the library's describers share.
 *
 * Output is written straight to a FILE: the describers print one JSON
 * object per call, so no document model is needed, only correct escaping.
 */
#ifndef VMD_JSON_H
#define VMD_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes s[0..n) as a JSON string literal, quotes included; bytes outside
 * printable ASCII are escaped as \u00XX, so even binary input gives valid JSON. */
void vmd_json_write_strn(FILE *f, const char *s, size_t n);

/* Same for a NUL-terminated string. */
void vmd_json_write_str(FILE *f, const char *s);

#endif /* VMD_JSON_H */
