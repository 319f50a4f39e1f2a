#include "timestamp.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm);
 * pure arithmetic, so it does not depend on the process time zone as mktime does. */
static int64_t days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    *day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    *month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    *year = year_of_era + era * 400 + (*month <= 2);
}

static bool is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : DAYS[month - 1];
}

int64_t timestamp_now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int64_t timestamp_monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t timestamp_monotonic_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int timestamp_format(int64_t microseconds, char out[TIMESTAMP_TEXT_SIZE])
{
    if (microseconds < TIMESTAMP_MIN_US || microseconds > TIMESTAMP_MAX_US)
        return -1;
    int64_t seconds = microseconds / 1000000;
    int64_t fraction = microseconds % 1000000;
    if (fraction < 0) {
        fraction += 1000000;
        seconds -= 1;
    }
    int64_t days = seconds / 86400;
    int64_t second_of_day = seconds % 86400;
    if (second_of_day < 0) {
        second_of_day += 86400;
        days -= 1;
    }
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    return snprintf(out, TIMESTAMP_TEXT_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)year, month, day,
                    (int)(second_of_day / 3600), (int)(second_of_day / 60 % 60), (int)(second_of_day % 60),
                    (int)fraction);
}

/* Reads exactly `count` decimal digits at text[*position]. */
static bool read_digits(const char *text, size_t length, size_t *position, int count, int *value)
{
    if (*position + (size_t)count > length)
        return false;
    int result = 0;
    for (int i = 0; i < count; i++) {
        char c = text[*position + (size_t)i];
        if (c < '0' || c > '9')
            return false;
        result = result * 10 + (c - '0');
    }
    *position += (size_t)count;
    *value = result;
    return true;
}

static bool expect_char(const char *text, size_t length, size_t *position, const char *accepted)
{
    if (*position >= length)
        return false;
    for (const char *a = accepted; *a != '\0'; a++) {
        if (text[*position] == *a) {
            (*position)++;
            return true;
        }
    }
    return false;
}

int timestamp_parse(const char *text, size_t length, int64_t *microseconds, struct error *err)
{
    size_t at = 0;
    int year, month, day, hour, minute, second;
    if (!read_digits(text, length, &at, 4, &year) || !expect_char(text, length, &at, "-") ||
        !read_digits(text, length, &at, 2, &month) || !expect_char(text, length, &at, "-") ||
        !read_digits(text, length, &at, 2, &day) || !expect_char(text, length, &at, "Tt ") ||
        !read_digits(text, length, &at, 2, &hour) || !expect_char(text, length, &at, ":") ||
        !read_digits(text, length, &at, 2, &minute) || !expect_char(text, length, &at, ":") ||
        !read_digits(text, length, &at, 2, &second))
        return error_set(err, "time is not RFC 3339 (expected YYYY-MM-DDTHH:MM:SS[.ffffff]Z)");

    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return error_set(err, "time has an invalid date");
    /* Leap seconds (second 60) are rejected: Postgres and the epoch count have none. */
    if (hour > 23 || minute > 59 || second > 59)
        return error_set(err, "time has an invalid time of day");

    int64_t fraction_us = 0;
    if (at < length && text[at] == '.') {
        at++;
        int digits = 0;
        while (at < length && text[at] >= '0' && text[at] <= '9') {
            if (digits < 6)
                fraction_us = fraction_us * 10 + (text[at] - '0');
            digits++;
            at++;
        }
        if (digits == 0)
            return error_set(err, "time has a '.' without fraction digits");
        for (; digits < 6; digits++)
            fraction_us *= 10;
    }

    int64_t offset_seconds = 0;
    if (expect_char(text, length, &at, "Zz")) {
        offset_seconds = 0;
    } else if (at < length && (text[at] == '+' || text[at] == '-')) {
        int sign = text[at] == '-' ? -1 : 1;
        at++;
        int offset_hours, offset_minutes;
        if (!read_digits(text, length, &at, 2, &offset_hours) || !expect_char(text, length, &at, ":") ||
            !read_digits(text, length, &at, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59)
            return error_set(err, "time has an invalid UTC offset (expected +HH:MM)");
        offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
    } else {
        return error_set(err, "time lacks a time zone (append Z for UTC)");
    }
    if (at != length)
        return error_set(err, "time has trailing characters");

    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                      offset_seconds;
    int64_t result = seconds * 1000000 + fraction_us;
    if (result < TIMESTAMP_MIN_US || result > TIMESTAMP_MAX_US)
        return error_set(err, "time is outside years 0001..9999 once converted to UTC");
    *microseconds = result;
    return 0;
}
