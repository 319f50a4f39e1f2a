#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

static size_t length_of(const char *text)
{
    return utf8_sequence_length((const unsigned char *)text, strlen(text));
}

static void test_valid_sequences(void **state)
{
    assert_int_equal(length_of("a"), 1);
    assert_int_equal(length_of("\xC3\xA9"), 2);          /* é */
    assert_int_equal(length_of("\xE2\x82\xAC"), 3);      /* € */
    assert_int_equal(length_of("\xF0\x9F\x93\x88"), 4);  /* 📈 */
    assert_int_equal(length_of("\xF4\x8F\xBF\xBF"), 4);  /* U+10FFFF */
    assert_int_equal(length_of("\xED\x9F\xBF"), 3);      /* U+D7FF, just below the surrogates */
}

static void test_invalid_sequences(void **state)
{
    assert_int_equal(length_of("\x80"), 0);              /* lone continuation */
    assert_int_equal(length_of("\xC0\xAF"), 0);          /* overlong '/' */
    assert_int_equal(length_of("\xE0\x80\xAF"), 0);      /* overlong, 3 bytes */
    assert_int_equal(length_of("\xED\xA0\x80"), 0);      /* surrogate U+D800 */
    assert_int_equal(length_of("\xF4\x90\x80\x80"), 0);  /* beyond U+10FFFF */
    assert_int_equal(length_of("\xF5\x80\x80\x80"), 0);
    assert_int_equal(length_of("\xE2\x82"), 0);          /* cut short */
    assert_int_equal(length_of("\xC3("), 0);             /* not followed by a continuation */
}

static void test_copy_replaces_invalid_bytes(void **state)
{
    char out[64];
    assert_int_equal(utf8_copy_valid(out, sizeof out, "from=\x8c\xC3\xA9x\xFF"), 10);
    assert_string_equal(out, "from=?\xC3\xA9x?");
}

static void test_copy_never_cuts_a_sequence(void **state)
{
    char out[7];
    /* "ab€€": the second € (bytes 5..7) does not fit in 6 bytes + NUL: it is left out whole. */
    assert_int_equal(utf8_copy_valid(out, sizeof out, "ab\xE2\x82\xAC\xE2\x82\xAC"), 5);
    assert_string_equal(out, "ab\xE2\x82\xAC");
    char one[1];
    assert_int_equal(utf8_copy_valid(one, sizeof one, "abc"), 0);
    assert_string_equal(one, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_sequences),
        cmocka_unit_test(test_invalid_sequences),
        cmocka_unit_test(test_copy_replaces_invalid_bytes),
        cmocka_unit_test(test_copy_never_cuts_a_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
