/* chunks.c - the chunk makers of chunks.h. */
#include "chunks.h"

#include <string.h>

#include "rng.h"

void vmd_test_fill_words(uint8_t *p, size_t n, const char *const *words, size_t nwords, uint64_t *s)
{
    size_t i = 0;

    while (i < n) {
        const char *w = words[vmd_test_xorshift64(s) % nwords];
        size_t l = strlen(w);
        if (l > n - i)
            l = n - i;
        memcpy(p + i, w, l);
        i += l;
    }
}
