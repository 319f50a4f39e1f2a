/* Exact decimals (common/decimal.h): NUMERIC's text, scale and sums, to the last digit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "decimal.h"

static struct decimal parsed(const char *text)
{
    struct decimal value;
    struct error err = {0};
    if (decimal_parse(text, strlen(text), &value, &err) != 0)
        fail_msg("%s: %s", text, err.message);
    return value;
}

static void assert_text(const struct decimal *value, const char *want)
{
    char text[DECIMAL_TEXT_MAX];
    assert_int_equal(decimal_format(value, text, sizeof text), (int)strlen(want));
    assert_string_equal(text, want);
}

static void parsing_keeps_the_scale_written_as_numeric_does(void **unused)
{
    /* What PostgreSQL's numeric input gives for each (checked with psql). */
    const char *cases[][2] = {
        {"0", "0"}, {"180", "180"}, {"0.6174", "0.6174"}, {"0.61740", "0.61740"}, {"180.50", "180.50"},
        {"-3.25", "-3.25"}, {"-0", "0"}, {"-0.00", "0.00"}, {"1e3", "1000"}, {"12E2", "1200"},
        {"1.5e-3", "0.0015"}, {"1.50e+1", "15.0"}, {"0.0000000000000000000000000000000000001", "0.0000000000000000000000000000000000001"},
        {"99999999999999999999999999999999999999", "99999999999999999999999999999999999999"},
        {"0.6178606418423568", "0.6178606418423568"}, {"2.5e0", "2.5"}, {"0e5", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct decimal value = parsed(cases[i][0]);
        assert_text(&value, cases[i][1]);
    }
    assert_int_equal(parsed("180.50").scale, 2);
    assert_int_equal(parsed("1.5e-3").scale, 4);
}

static void only_json_numbers_within_38_digits_are_taken(void **unused)
{
    const char *bad[] = {"", "-", "+1", "01", "1.", ".5", "1.2.3", "1e", "1e+", "0x10", "1,5", " 1", "1 ",
                         "NaN", "Infinity", "1..2", "--1", "1e5x",
                         "999999999999999999999999999999999999999", /* 39 digits */
                         "1e38",                                     /* 39 digits once written out */
                         "1e-39"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct decimal value;
        struct error err = {0};
        if (decimal_parse(bad[i], strlen(bad[i]), &value, &err) == 0)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(err.message[0] != '\0');
    }
    /* Leading zeros of a fraction are not significant digits. */
    parsed("0.00000000000000000000000000000000000012");
}

static void sums_are_exact_at_the_larger_scale(void **unused)
{
    /* 0.1 + 0.2 is 0.3, not 0.30000000000000004. */
    struct decimal sum = parsed("0.1");
    struct decimal term = parsed("0.2");
    assert_int_equal(decimal_add(&sum, &term, NULL), 0);
    assert_text(&sum, "0.3");
    /* NUMERIC's sum keeps the larger scale: 180 + 0.50 = 180.50. */
    sum = parsed("180");
    term = parsed("0.50");
    assert_int_equal(decimal_add(&sum, &term, NULL), 0);
    assert_text(&sum, "180.50");
    /* A million terms of 0.00000001 add up to exactly 0.01000000. */
    sum = decimal_zero(0);
    term = parsed("0.00000001");
    for (int i = 0; i < 1000000; i++)
        assert_int_equal(decimal_add(&sum, &term, NULL), 0);
    assert_text(&sum, "0.01000000");
    /* Beyond 38 digits the sum fails and is left as it was. */
    sum = parsed("99999999999999999999999999999999999999");
    term = parsed("1");
    struct error err = {0};
    assert_int_equal(decimal_add(&sum, &term, &err), -1);
    assert_text(&sum, "99999999999999999999999999999999999999");
    sum = parsed("1");
    term = parsed("0.0000000000000000000000000000000000001"); /* 38 digits at scale 37: fits */
    assert_int_equal(decimal_add(&sum, &term, &err), 0);
    assert_text(&sum, "1.0000000000000000000000000000000000001");
    sum = parsed("10");
    term = parsed("0.00000000000000000000000000000000000001"); /* 40 digits at scale 38 */
    assert_int_equal(decimal_add(&sum, &term, &err), -1);
    assert_text(&sum, "10");
}

static void comparison_is_numeric(void **unused)
{
    struct decimal half = parsed("0.5"), half2 = parsed("0.50"), one = parsed("1"), minus = parsed("-2.5");
    assert_int_equal(decimal_compare(&half, &half2), 0);
    assert_true(decimal_compare(&half, &one) < 0);
    assert_true(decimal_compare(&one, &half) > 0);
    assert_true(decimal_compare(&minus, &half) < 0);
    struct decimal big = parsed("99999999999999999999999999999999999999");
    struct decimal tiny = parsed("0.0000000000000000000000000000000000001");
    assert_true(decimal_compare(&big, &tiny) > 0); /* no common scale holds both */
    assert_true(decimal_compare(&tiny, &big) < 0);
    struct decimal negative_big = parsed("-99999999999999999999999999999999999999");
    assert_true(decimal_compare(&negative_big, &minus) < 0);
    struct decimal zero = parsed("0"), zeros = parsed("0.000");
    assert_int_equal(decimal_compare(&zero, &zeros), 0);
    assert_true(decimal_is_positive(&half) && !decimal_is_positive(&zero) && decimal_is_negative(&minus));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parsing_keeps_the_scale_written_as_numeric_does),
        cmocka_unit_test(only_json_numbers_within_38_digits_are_taken),
        cmocka_unit_test(sums_are_exact_at_the_larger_scale),
        cmocka_unit_test(comparison_is_numeric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
