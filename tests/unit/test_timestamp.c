#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "timestamp.h"

static int64_t parse_ok(const char *text)
{
    int64_t us = 0;
    struct error err;
    assert_int_equal(timestamp_parse(text, strlen(text), &us, &err), 0);
    return us;
}

static void expect_rejected(const char *text, const char *reason)
{
    int64_t us;
    struct error err = {0};
    assert_int_equal(timestamp_parse(text, strlen(text), &us, &err), -1);
    if (strstr(err.message, reason) == NULL)
        fail_msg("'%s': expected error containing '%s', got '%s'", text, reason, err.message);
}

static void formats_canonical_utc_with_microseconds(void **unused)
{
    char text[TIMESTAMP_TEXT_SIZE];
    assert_int_equal(timestamp_format(0, text), 27);
    assert_string_equal(text, "1970-01-01T00:00:00.000000Z");
    timestamp_format(1795437296789012LL, text);
    assert_string_equal(text, "2026-11-23T12:34:56.789012Z");
    timestamp_format(-1, text);
    assert_string_equal(text, "1969-12-31T23:59:59.999999Z");
    timestamp_format(951782400000000LL, text); /* leap day of a year divisible by 400 */
    assert_string_equal(text, "2000-02-29T00:00:00.000000Z");
    assert_int_equal(timestamp_format(TIMESTAMP_MAX_US + 1, text), -1);
    assert_int_equal(timestamp_format(TIMESTAMP_MIN_US - 1, text), -1);
}

static void parses_what_it_formats(void **unused)
{
    const int64_t samples[] = {0, 1, -1, 1795437296789012LL, 951782400000000LL, TIMESTAMP_MIN_US, TIMESTAMP_MAX_US};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char text[TIMESTAMP_TEXT_SIZE];
        timestamp_format(samples[i], text);
        assert_int_equal(parse_ok(text), samples[i]);
    }
}

static void parses_rfc3339_variants(void **unused)
{
    assert_int_equal(parse_ok("2026-11-23T12:34:56Z"), 1795437296000000LL);
    assert_int_equal(parse_ok("2026-11-23t12:34:56.7z"), 1795437296700000LL);
    assert_int_equal(parse_ok("2026-11-23 12:34:56.789012345Z"), 1795437296789012LL); /* truncated, not rounded */
    assert_int_equal(parse_ok("2026-11-23T13:34:56.789012+01:00"), 1795437296789012LL);
    assert_int_equal(parse_ok("2026-11-23T07:04:56.789012-05:30"), 1795437296789012LL);
}

static void rejects_every_malformed_time(void **unused)
{
    expect_rejected("", "not RFC 3339");
    expect_rejected("2026-11-23", "not RFC 3339");
    expect_rejected("2026/11/23T12:34:56Z", "not RFC 3339");
    expect_rejected("26-11-23T12:34:56Z", "not RFC 3339");
    expect_rejected("2026-11-23T12:34Z", "not RFC 3339");
    expect_rejected("2026-13-01T00:00:00Z", "invalid date");
    expect_rejected("2026-00-01T00:00:00Z", "invalid date");
    expect_rejected("2026-02-29T00:00:00Z", "invalid date");
    expect_rejected("2100-02-29T00:00:00Z", "invalid date");
    expect_rejected("0000-01-01T00:00:00Z", "invalid date");
    expect_rejected("2026-04-31T00:00:00Z", "invalid date");
    expect_rejected("2026-11-23T24:00:00Z", "invalid time of day");
    expect_rejected("2026-11-23T12:60:00Z", "invalid time of day");
    expect_rejected("2026-12-31T23:59:60Z", "invalid time of day");
    expect_rejected("2026-11-23T12:34:56.Z", "without fraction digits");
    expect_rejected("2026-11-23T12:34:56", "lacks a time zone");
    expect_rejected("2026-11-23T12:34:56+0100", "invalid UTC offset");
    expect_rejected("2026-11-23T12:34:56+24:00", "invalid UTC offset");
    expect_rejected("2026-11-23T12:34:56Zjunk", "trailing characters");
    expect_rejected("0001-01-01T00:00:00+01:00", "outside years");
}

static void ignores_bytes_past_the_given_length(void **unused)
{
    const char *text = "2026-11-23T12:34:56Z and more";
    int64_t us;
    assert_int_equal(timestamp_parse(text, 20, &us, NULL), 0);
    assert_int_equal(us, 1795437296000000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_canonical_utc_with_microseconds),
        cmocka_unit_test(parses_what_it_formats),
        cmocka_unit_test(parses_rfc3339_variants),
        cmocka_unit_test(rejects_every_malformed_time),
        cmocka_unit_test(ignores_bytes_past_the_given_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
