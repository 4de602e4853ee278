/*
 * json.h - the few JSON writing helpers the library's describers share.
 *
 * Output is written straight to a FILE: the describers print one JSON
 * object per call, so no document model is needed, only correct escaping.
 * vmd_json_quote() escapes into a buffer instead, for JSON that is sent
 * (mon commands) rather than printed.
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

/*
 * Writes s as a JSON string literal, quotes included and NUL-terminated,
 * into out[0..cap). Returns its length, or -ENAMETOOLONG when it does not
 * fit (out is then the empty string).
 */
int vmd_json_quote(char *out, size_t cap, const char *s);

#endif /* VMD_JSON_H */
