/*
 * Exact decimal numbers for prices and volumes: money-like values are never binary
 * floating point. A decimal is coefficient × 10^-scale with up to 38 significant digits,
 * and behaves like PostgreSQL's NUMERIC where the two meet:
 *   - parsing keeps the scale written ("0.50" has scale 2, "1.5e-3" is 0.0015, scale 4;
 *     "12e2" is 1200, scale 0), as NUMERIC's input does;
 *   - a sum has the larger scale of its terms, as NUMERIC's + and sum() do;
 *   - formatting writes exactly NUMERIC's text ("180.50", "-0.0015", "0").
 * So a sum of volumes computed here equals, digit for digit, sum(volume) over the stored
 * NUMERIC column (tests/integration/trades.test.mjs compares them).
 *
 * Pure: unit-tested (tests/unit/test_decimal.c), fuzzed through the trade decoder.
 */
#ifndef TICKERFLOW_DECIMAL_H
#define TICKERFLOW_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DECIMAL_MAX_DIGITS 38 /* significant digits: what a 128-bit coefficient always holds */
#define DECIMAL_MAX_SCALE 38
/* Longest text decimal_format writes, NUL included: sign, 38 digits, "0." and zeros. */
#define DECIMAL_TEXT_MAX (DECIMAL_MAX_DIGITS + DECIMAL_MAX_SCALE + 4)

struct decimal {
    __int128 coefficient;
    int scale; /* 0 .. DECIMAL_MAX_SCALE */
};

/* Parses a JSON number's text (`-`? digits, `.` digits?, exponent?: RFC 8259's grammar,
 * so no leading '+', no leading zeros, no bare '.'), which need not be NUL-terminated.
 * Fails (err says why) on anything else, on more than DECIMAL_MAX_DIGITS significant
 * digits, and on a scale beyond DECIMAL_MAX_SCALE. */
int decimal_parse(const char *text, size_t length, struct decimal *out, struct error *err);

/* *sum += *term, exactly, at the larger scale of the two. Fails (sum unchanged) when the
 * result needs more than DECIMAL_MAX_DIGITS digits. */
int decimal_add(struct decimal *sum, const struct decimal *term, struct error *err);

/* <0, 0 or >0 as a < b, a == b (numerically: 0.5 == 0.50), a > b. */
int decimal_compare(const struct decimal *a, const struct decimal *b);

bool decimal_is_positive(const struct decimal *value);
bool decimal_is_negative(const struct decimal *value);

/* Zero at `scale` (0 .. DECIMAL_MAX_SCALE). */
struct decimal decimal_zero(int scale);

/* Writes NUMERIC's text of `value` into out (at least DECIMAL_TEXT_MAX bytes) and returns
 * its length. */
int decimal_format(const struct decimal *value, char *out, size_t out_size);

#endif
