/*
 * json.c - JSON string escaping for the library's describers (see json.h).
 */
#include "util/json.h"

#include <string.h>

void vmd_json_write_strn(FILE *f, const char *s, size_t n)
{
    size_t i;

    fputc('"', f);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void vmd_json_write_str(FILE *f, const char *s)
{
    vmd_json_write_strn(f, s, strlen(s));
}
