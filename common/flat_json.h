/*
 * A strict reader of one flat JSON object that keeps each value's text as written:
 * numbers stay text (a price is never turned into a double), strings are decoded on
 * request, nested objects and arrays are kept whole (a feed's envelope is read again with
 * this reader). For the trade record and the trade feeds, whose numbers must be kept to
 * the last digit; jansson reads numbers into doubles.
 *
 * RFC 8259 JSON, strictly: the text is one object, with nothing after it but whitespace;
 * names are distinct; strings are valid UTF-8 without raw control characters; numbers
 * follow JSON's grammar. Pure: unit-tested and fuzzed (tests/fuzz/fuzz_trade_decode.c).
 */
#ifndef TICKERFLOW_FLAT_JSON_H
#define TICKERFLOW_FLAT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define FLAT_JSON_MAX_MEMBERS 32
#define FLAT_JSON_NAME_MAX 32
#define FLAT_JSON_MAX_DEPTH 16 /* of nested values kept whole */

enum json_kind {
    JSON_STRING,
    JSON_NUMBER,
    JSON_TRUE,
    JSON_FALSE,
    JSON_NULL,
    JSON_OBJECT,
    JSON_ARRAY,
};

/* One member. `raw` points into the parsed text (valid while it is): a number's or
 * literal's text, a string's content between its quotes (escapes not decoded), a nested
 * object's or array's text with its brackets. */
struct json_member {
    char name[FLAT_JSON_NAME_MAX + 1];
    size_t name_length;
    enum json_kind kind;
    const char *raw;
    size_t raw_length;
};

struct flat_json {
    struct json_member members[FLAT_JSON_MAX_MEMBERS];
    size_t count;
};

/* Parses `length` bytes (need not be NUL-terminated). Fails, err saying where and why, on
 * anything but one such object, on more than FLAT_JSON_MAX_MEMBERS members, on a name over
 * FLAT_JSON_NAME_MAX bytes, and on nesting deeper than FLAT_JSON_MAX_DEPTH. */
int flat_json_parse(const char *text, size_t length, struct flat_json *object, struct error *err);

/* The member called `name`, or NULL. */
const struct json_member *flat_json_find(const struct flat_json *object, const char *name);

/* A string member's decoded text into `out` (out_size bytes, NUL-terminated). Fails when
 * it does not fit or contains a NUL (U+0000). */
int flat_json_string(const struct json_member *member, char *out, size_t out_size, struct error *err);

/* A number member that is an integer (no fraction, no exponent) within int64, read exactly.
 * Fails with "field 'x' must be an integer" or "field 'x' is outside the 64-bit range". */
int flat_json_integer(const struct json_member *member, int64_t *out, struct error *err);

#endif
