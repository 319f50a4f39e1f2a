#include "decimal.h"

#include <stdio.h>
#include <string.h>

/* 10^n for n in 0..38, as 128-bit integers. */
/* 10^0 ... 10^38, as constants: every parse, sum and comparison looks them up (a loop of
 * 128-bit multiplications per lookup took a tenth of the aggregator's time per trade). */
#define E19 ((__int128)10000000000000000000ULL)
static const __int128 POWERS_OF_TEN[DECIMAL_MAX_DIGITS + 1] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
    E19 * 10ULL,
    E19 * 100ULL,
    E19 * 1000ULL,
    E19 * 10000ULL,
    E19 * 100000ULL,
    E19 * 1000000ULL,
    E19 * 10000000ULL,
    E19 * 100000000ULL,
    E19 * 1000000000ULL,
    E19 * 10000000000ULL,
    E19 * 100000000000ULL,
    E19 * 1000000000000ULL,
    E19 * 10000000000000ULL,
    E19 * 100000000000000ULL,
    E19 * 1000000000000000ULL,
    E19 * 10000000000000000ULL,
    E19 * 100000000000000000ULL,
    E19 * 1000000000000000000ULL,
    E19 * 10000000000000000000ULL,
};
#undef E19

static __int128 power_of_ten(int n)
{
    return POWERS_OF_TEN[n];
}

/* The largest coefficient: 38 nines. */
static __int128 max_coefficient(void)
{
    return power_of_ten(DECIMAL_MAX_DIGITS) - 1;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int decimal_parse(const char *text, size_t length, struct decimal *out, struct error *err)
{
    size_t i = 0;
    bool negative = false;
    if (i < length && text[i] == '-') {
        negative = true;
        i++;
    }
    if (i == length || !is_digit(text[i]))
        return error_set(err, "not a number: it must start with a digit (after an optional '-')");
    if (text[i] == '0' && i + 1 < length && is_digit(text[i + 1]))
        return error_set(err, "not a number: a leading zero must stand alone before the point");
    __int128 coefficient = 0;
    int digits = 0, fraction_digits = 0;
    bool seen_point = false;
    for (; i < length; i++) {
        char c = text[i];
        if (c == '.') {
            if (seen_point)
                return error_set(err, "not a number: two points");
            if (i + 1 == length || !is_digit(text[i + 1]))
                return error_set(err, "not a number: a point must be followed by digits");
            seen_point = true;
            continue;
        }
        if (!is_digit(c))
            break;
        if (digits > 0 || c != '0')
            digits++; /* leading zeros are not significant */
        if (digits > DECIMAL_MAX_DIGITS)
            return error_set(err, "more than %d significant digits", DECIMAL_MAX_DIGITS);
        coefficient = coefficient * 10 + (c - '0');
        fraction_digits += seen_point;
    }
    long exponent = 0;
    if (i < length && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        bool exponent_negative = false;
        if (i < length && (text[i] == '+' || text[i] == '-'))
            exponent_negative = text[i++] == '-';
        if (i == length || !is_digit(text[i]))
            return error_set(err, "not a number: an exponent needs digits");
        for (; i < length && is_digit(text[i]); i++) {
            if (exponent < 1000)
                exponent = exponent * 10 + (text[i] - '0');
        }
        exponent = exponent_negative ? -exponent : exponent;
    }
    if (i != length)
        return error_set(err, "not a number: unexpected '%c' at byte %zu", text[i], i);
    long scale = fraction_digits - exponent;
    if (scale < 0) {
        /* A positive exponent beyond the fraction: whole digits, scale 0 (NUMERIC's 12e2). */
        if (digits - scale > DECIMAL_MAX_DIGITS && coefficient != 0)
            return error_set(err, "more than %d significant digits", DECIMAL_MAX_DIGITS);
        if (-scale > DECIMAL_MAX_DIGITS)
            scale = -DECIMAL_MAX_DIGITS; /* only reachable with a zero coefficient */
        coefficient *= power_of_ten((int)-scale);
        scale = 0;
    }
    if (scale > DECIMAL_MAX_SCALE)
        return error_set(err, "more than %d digits after the point", DECIMAL_MAX_SCALE);
    out->coefficient = negative ? -coefficient : coefficient;
    out->scale = (int)scale;
    return 0;
}

/* `value`'s coefficient at the larger `scale`, or false when it would not fit. */
static bool rescale(const struct decimal *value, int scale, __int128 *coefficient)
{
    int shift = scale - value->scale;
    if (shift == 0) {
        *coefficient = value->coefficient;
        return true;
    }
    /* magnitude * 10^shift <= 10^38 - 1 exactly when magnitude < 10^(38 - shift): no division. */
    __int128 magnitude = value->coefficient < 0 ? -value->coefficient : value->coefficient;
    if (magnitude >= power_of_ten(DECIMAL_MAX_DIGITS - shift))
        return false;
    *coefficient = value->coefficient * power_of_ten(shift);
    return true;
}

int decimal_add(struct decimal *sum, const struct decimal *term, struct error *err)
{
    int scale = sum->scale > term->scale ? sum->scale : term->scale;
    __int128 a, b;
    if (!rescale(sum, scale, &a) || !rescale(term, scale, &b))
        return error_set(err, "a sum beyond %d significant digits", DECIMAL_MAX_DIGITS);
    __int128 total = a + b;
    if (total > max_coefficient() || total < -max_coefficient())
        return error_set(err, "a sum beyond %d significant digits", DECIMAL_MAX_DIGITS);
    sum->coefficient = total;
    sum->scale = scale;
    return 0;
}

/* Compares magnitudes: integer parts first, then the fractions at the larger scale (a
 * fraction below 10^scale always fits there). */
static int compare_magnitudes(__int128 a, int a_scale, __int128 b, int b_scale)
{
    __int128 a_unit = power_of_ten(a_scale), b_unit = power_of_ten(b_scale);
    __int128 a_whole = a / a_unit, b_whole = b / b_unit;
    if (a_whole != b_whole)
        return a_whole < b_whole ? -1 : 1;
    int scale = a_scale > b_scale ? a_scale : b_scale;
    __int128 a_fraction = (a % a_unit) * power_of_ten(scale - a_scale);
    __int128 b_fraction = (b % b_unit) * power_of_ten(scale - b_scale);
    return a_fraction < b_fraction ? -1 : a_fraction > b_fraction;
}

int decimal_compare(const struct decimal *a, const struct decimal *b)
{
    if (a->scale == b->scale) /* the common case (one pair's prices): no division */
        return a->coefficient < b->coefficient ? -1 : a->coefficient > b->coefficient;
    int a_sign = a->coefficient < 0 ? -1 : a->coefficient > 0;
    int b_sign = b->coefficient < 0 ? -1 : b->coefficient > 0;
    if (a_sign != b_sign)
        return a_sign < b_sign ? -1 : 1;
    if (a_sign == 0)
        return 0;
    int magnitudes = compare_magnitudes(a->coefficient * a_sign, a->scale, b->coefficient * b_sign, b->scale);
    return a_sign > 0 ? magnitudes : -magnitudes;
}

bool decimal_is_positive(const struct decimal *value)
{
    return value->coefficient > 0;
}

bool decimal_is_negative(const struct decimal *value)
{
    return value->coefficient < 0;
}

struct decimal decimal_zero(int scale)
{
    return (struct decimal){0, scale};
}

int decimal_format(const struct decimal *value, char *out, size_t out_size)
{
    char digits[DECIMAL_MAX_DIGITS + 2];
    __int128 magnitude = value->coefficient < 0 ? -value->coefficient : value->coefficient;
    int count = 0;
    do {
        digits[count++] = (char)('0' + (int)(magnitude % 10));
        magnitude /= 10;
    } while (magnitude > 0);
    /* At least scale + 1 digits, so there is a "0" before the point. */
    while (count < value->scale + 1)
        digits[count++] = '0';
    char text[DECIMAL_TEXT_MAX];
    size_t used = 0;
    if (value->coefficient < 0)
        text[used++] = '-';
    for (int i = count - 1; i >= 0; i--) {
        text[used++] = digits[i];
        if (i == value->scale && i > 0)
            text[used++] = '.';
    }
    text[used] = '\0';
    return snprintf(out, out_size, "%s", text);
}
