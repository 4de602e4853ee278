/*
 * json.c - JSON string escaping for the library's describers (see json.h).
 */
#include "util/json.h"

#include <errno.h>
#include <string.h>

/* The escaped form of byte c into e (at most 7 bytes with the NUL); its length. */
static int escape_byte(unsigned char c, char e[8])
{
    if (c == '"' || c == '\\')
        return snprintf(e, 8, "\\%c", c);
    if (c < 0x20 || c >= 0x7f)
        return snprintf(e, 8, "\\u%04x", c);
    e[0] = (char)c;
    e[1] = 0;
    return 1;
}

void vmd_json_write_strn(FILE *f, const char *s, size_t n)
{
    char e[8];
    size_t i;

    fputc('"', f);
    for (i = 0; i < n; i++)
        fwrite(e, 1, (size_t)escape_byte((unsigned char)s[i], e), f);
    fputc('"', f);
}

void vmd_json_write_str(FILE *f, const char *s)
{
    vmd_json_write_strn(f, s, strlen(s));
}

int vmd_json_quote(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    char e[8];
    int k;

    if (cap < 3)
        goto too_long;
    out[n++] = '"';
    for (; *s; s++) {
        k = escape_byte((unsigned char)*s, e);
        if (n + (size_t)k + 2 > cap)
            goto too_long;
        memcpy(out + n, e, (size_t)k);
        n += (size_t)k;
    }
    out[n++] = '"';
    out[n] = 0;
    return (int)n;
too_long:
    if (cap)
        out[0] = 0;
    return -ENAMETOOLONG;
}
