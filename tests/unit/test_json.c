/*
 * test_json.c - the JSON string helpers of client/util/json.c.
 *
 * vmd_json_quote() builds the names in mon commands (placement of objects):
 * every byte that JSON does not allow raw is escaped, the result always fits
 * its buffer, and a name that does not fit is refused, never cut.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "vmd_test.h"

static void test_quote_plain_and_escaped(void)
{
    char out[64];

    CU_ASSERT_EQUAL(vmd_json_quote(out, sizeof(out), "vmd.meta"), 10);
    CU_ASSERT_STRING_EQUAL(out, "\"vmd.meta\"");
    CU_ASSERT_EQUAL(vmd_json_quote(out, sizeof(out), ""), 2);
    CU_ASSERT_STRING_EQUAL(out, "\"\"");
    CU_ASSERT_EQUAL(vmd_json_quote(out, sizeof(out), "q\"u\\o\tte\x01"), 23);
    CU_ASSERT_STRING_EQUAL(out, "\"q\\\"u\\\\o\\u0009te\\u0001\"");
}

static void test_quote_bounds(void)
{
    char out[8];

    /* "abcde" quoted is 7 bytes plus the NUL: fits exactly in 8 */
    CU_ASSERT_EQUAL(vmd_json_quote(out, sizeof(out), "abcde"), 7);
    CU_ASSERT_STRING_EQUAL(out, "\"abcde\"");
    CU_ASSERT_EQUAL(vmd_json_quote(out, sizeof(out), "abcdef"), -ENAMETOOLONG);
    CU_ASSERT_STRING_EQUAL(out, "");
    /* an escape that would cross the end is refused whole */
    CU_ASSERT_EQUAL(vmd_json_quote(out, sizeof(out), "ab\"cd"), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(vmd_json_quote(out, 2, "a"), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(vmd_json_quote(out, 3, ""), 2);
}

/* What the FILE writer prints is what the buffer form builds. */
static void test_writer_agrees(void)
{
    const char *s = "a\"b\\c\nd\x7f";
    char quoted[64], *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    vmd_json_write_str(f, s);
    fclose(f);
    CU_ASSERT(vmd_json_quote(quoted, sizeof(quoted), s) > 0);
    CU_ASSERT_STRING_EQUAL(mem, quoted);
    free(mem);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"quote: plain and escaped bytes", test_quote_plain_and_escaped},
        {"quote: bounds", test_quote_bounds},
        {"quote agrees with the FILE writer", test_writer_agrees},
        {NULL, NULL},
    };
    return vmd_test_main("json", cases);
}
