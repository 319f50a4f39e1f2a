#include "flat_json.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "utf8.h"

struct reader {
    const char *text;
    size_t length, at;
    struct error *err;
};

static int fail(struct reader *reader, const char *what)
{
    return error_set(reader->err, "invalid JSON at byte %zu: %s", reader->at, what);
}

static void skip_whitespace(struct reader *reader)
{
    while (reader->at < reader->length) {
        char c = reader->text[reader->at];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        reader->at++;
    }
}

static bool peek(const struct reader *reader, char c)
{
    return reader->at < reader->length && reader->text[reader->at] == c;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Skips a string (the reader at its opening quote); *content and *content_length span
 * what is between the quotes. Checks escapes and UTF-8. */
static int read_string(struct reader *reader, const char **content, size_t *content_length)
{
    reader->at++; /* the quote */
    size_t start = reader->at;
    while (reader->at < reader->length) {
        unsigned char c = (unsigned char)reader->text[reader->at];
        if (c == '"') {
            *content = reader->text + start;
            *content_length = reader->at - start;
            reader->at++;
            return 0;
        }
        if (c >= 0x20 && c < 0x80 && c != '\\') { /* plain ASCII: the common case */
            reader->at++;
            continue;
        }
        if (c < 0x20)
            return fail(reader, "a control character in a string");
        if (c == '\\') {
            if (reader->at + 1 >= reader->length)
                return fail(reader, "an unfinished escape");
            char escaped = reader->text[reader->at + 1];
            if (escaped == 'u') {
                if (reader->at + 6 > reader->length)
                    return fail(reader, "an unfinished \\u escape");
                for (size_t i = 2; i < 6; i++) {
                    if (hex_value(reader->text[reader->at + i]) < 0)
                        return fail(reader, "a \\u escape needs four hex digits");
                }
                reader->at += 6;
                continue;
            }
            if (strchr("\"\\/bfnrt", escaped) == NULL || escaped == '\0')
                return fail(reader, "an unknown escape");
            reader->at += 2;
            continue;
        }
        size_t sequence = utf8_sequence_length((const unsigned char *)reader->text + reader->at,
                                               reader->length - reader->at);
        if (sequence == 0)
            return fail(reader, "invalid UTF-8 in a string");
        reader->at += sequence;
    }
    return fail(reader, "an unfinished string");
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A number per RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int read_number(struct reader *reader)
{
    const char *t = reader->text;
    size_t n = reader->length;
    if (peek(reader, '-'))
        reader->at++;
    if (reader->at >= n || !is_digit(t[reader->at]))
        return fail(reader, "a number needs a digit");
    if (t[reader->at] == '0')
        reader->at++;
    else
        while (reader->at < n && is_digit(t[reader->at]))
            reader->at++;
    if (peek(reader, '.')) {
        reader->at++;
        if (reader->at >= n || !is_digit(t[reader->at]))
            return fail(reader, "a point needs digits after it");
        while (reader->at < n && is_digit(t[reader->at]))
            reader->at++;
    }
    if (peek(reader, 'e') || peek(reader, 'E')) {
        reader->at++;
        if (peek(reader, '+') || peek(reader, '-'))
            reader->at++;
        if (reader->at >= n || !is_digit(t[reader->at]))
            return fail(reader, "an exponent needs digits");
        while (reader->at < n && is_digit(t[reader->at]))
            reader->at++;
    }
    return 0;
}

static int read_literal(struct reader *reader, const char *word)
{
    size_t length = strlen(word);
    if (reader->length - reader->at < length || memcmp(reader->text + reader->at, word, length) != 0)
        return fail(reader, "an unknown literal");
    reader->at += length;
    return 0;
}

static int skip_value(struct reader *reader, int depth);

/* Skips an object or array (the reader at its opening bracket), checking it is valid. */
static int skip_container(struct reader *reader, int depth)
{
    if (depth > FLAT_JSON_MAX_DEPTH)
        return fail(reader, "nested too deeply");
    bool object = reader->text[reader->at] == '{';
    char close = object ? '}' : ']';
    reader->at++;
    skip_whitespace(reader);
    if (peek(reader, close)) {
        reader->at++;
        return 0;
    }
    for (;;) {
        if (object) {
            const char *name;
            size_t name_length;
            if (!peek(reader, '"'))
                return fail(reader, "a name must be a string");
            if (read_string(reader, &name, &name_length) < 0)
                return -1;
            skip_whitespace(reader);
            if (!peek(reader, ':'))
                return fail(reader, "':' expected");
            reader->at++;
            skip_whitespace(reader);
        }
        if (skip_value(reader, depth + 1) < 0)
            return -1;
        skip_whitespace(reader);
        if (peek(reader, close)) {
            reader->at++;
            return 0;
        }
        if (!peek(reader, ','))
            return fail(reader, object ? "',' or '}' expected" : "',' or ']' expected");
        reader->at++;
        skip_whitespace(reader);
    }
}

static int skip_value(struct reader *reader, int depth)
{
    if (reader->at >= reader->length)
        return fail(reader, "a value expected");
    const char *content;
    size_t content_length;
    switch (reader->text[reader->at]) {
    case '"':
        return read_string(reader, &content, &content_length);
    case '{':
    case '[':
        return skip_container(reader, depth);
    case 't':
        return read_literal(reader, "true");
    case 'f':
        return read_literal(reader, "false");
    case 'n':
        return read_literal(reader, "null");
    default:
        return read_number(reader);
    }
}

/* Decodes string content (escapes checked by read_string) into out; *decoded_length (may be
 * NULL) gets the bytes written before the NUL. */
static int decode_string(const char *content, size_t length, char *out, size_t out_size, size_t *decoded_length,
                         struct error *err)
{
    if (memchr(content, '\\', length) == NULL) { /* no escape: the bytes as they are (read_string checked them) */
        if (length + 1 > out_size)
            return error_set(err, "a string longer than %zu bytes", out_size - 1);
        memcpy(out, content, length);
        out[length] = '\0';
        if (decoded_length != NULL)
            *decoded_length = length;
        return 0;
    }
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        uint32_t code = (unsigned char)content[i];
        size_t width = 1;
        char bytes[4];
        if (code == '\\') {
            char escaped = content[++i];
            if (escaped == 'u') {
                code = 0;
                for (size_t k = 1; k <= 4; k++)
                    code = code * 16 + (uint32_t)hex_value(content[i + k]);
                i += 4;
                /* A surrogate pair makes one code point; a lone surrogate is refused. */
                if (code >= 0xD800 && code <= 0xDBFF && i + 6 < length && content[i + 1] == '\\' &&
                    content[i + 2] == 'u') {
                    uint32_t low = 0;
                    for (size_t k = 3; k <= 6; k++)
                        low = low * 16 + (uint32_t)hex_value(content[i + k]);
                    if (low >= 0xDC00 && low <= 0xDFFF) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        i += 6;
                    }
                }
                if (code >= 0xD800 && code <= 0xDFFF)
                    return error_set(err, "a lone UTF-16 surrogate in a \\u escape");
            } else {
                const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                code = (unsigned char)to[strchr(from, escaped) - from];
            }
            if (code == 0)
                return error_set(err, "a NUL character in a string");
            if (code < 0x80) {
                bytes[0] = (char)code;
            } else if (code < 0x800) {
                bytes[0] = (char)(0xC0 | (code >> 6));
                bytes[1] = (char)(0x80 | (code & 0x3F));
                width = 2;
            } else if (code < 0x10000) {
                bytes[0] = (char)(0xE0 | (code >> 12));
                bytes[1] = (char)(0x80 | ((code >> 6) & 0x3F));
                bytes[2] = (char)(0x80 | (code & 0x3F));
                width = 3;
            } else {
                bytes[0] = (char)(0xF0 | (code >> 18));
                bytes[1] = (char)(0x80 | ((code >> 12) & 0x3F));
                bytes[2] = (char)(0x80 | ((code >> 6) & 0x3F));
                bytes[3] = (char)(0x80 | (code & 0x3F));
                width = 4;
            }
        } else {
            bytes[0] = (char)code;
        }
        if (used + width + 1 > out_size)
            return error_set(err, "a string longer than %zu bytes", out_size - 1);
        memcpy(out + used, bytes, width);
        used += width;
    }
    out[used] = '\0';
    if (decoded_length != NULL)
        *decoded_length = used;
    return 0;
}

int flat_json_parse(const char *text, size_t length, struct flat_json *object, struct error *err)
{
    struct reader reader = {text, length, 0, err};
    object->count = 0;
    skip_whitespace(&reader);
    if (!peek(&reader, '{'))
        return length == 0 ? error_set(err, "invalid JSON: empty message") : fail(&reader, "an object expected");
    reader.at++;
    skip_whitespace(&reader);
    bool empty = peek(&reader, '}');
    while (!empty) {
        if (!peek(&reader, '"'))
            return fail(&reader, "a name must be a string");
        const char *name;
        size_t name_length;
        if (read_string(&reader, &name, &name_length) < 0)
            return -1;
        if (object->count == FLAT_JSON_MAX_MEMBERS)
            return fail(&reader, "too many members");
        struct json_member *member = &object->members[object->count];
        struct error name_error;
        if (decode_string(name, name_length, member->name, sizeof member->name, &member->name_length, &name_error) < 0)
            return error_set(err, "invalid JSON at byte %zu: name: %s", reader.at, name_error.message);
        for (size_t i = 0; i < object->count; i++) {
            if (object->members[i].name_length == member->name_length &&
                memcmp(object->members[i].name, member->name, member->name_length) == 0)
                return error_set(err, "duplicate member '%s'", member->name);
        }
        skip_whitespace(&reader);
        if (!peek(&reader, ':'))
            return fail(&reader, "':' expected");
        reader.at++;
        skip_whitespace(&reader);
        size_t start = reader.at;
        if (skip_value(&reader, 1) < 0)
            return -1;
        char first = text[start];
        member->kind = first == '"' ? JSON_STRING : first == '{' ? JSON_OBJECT : first == '[' ? JSON_ARRAY
                       : first == 't' ? JSON_TRUE : first == 'f' ? JSON_FALSE : first == 'n' ? JSON_NULL
                                                                              : JSON_NUMBER;
        member->raw = text + start + (first == '"');
        member->raw_length = reader.at - start - (first == '"' ? 2 : 0);
        object->count++;
        skip_whitespace(&reader);
        if (peek(&reader, '}'))
            break;
        if (!peek(&reader, ','))
            return fail(&reader, "',' or '}' expected");
        reader.at++;
        skip_whitespace(&reader);
    }
    reader.at++; /* the closing brace */
    skip_whitespace(&reader);
    if (reader.at != length)
        return fail(&reader, "something after the object");
    return 0;
}

const struct json_member *flat_json_find(const struct flat_json *object, const char *name)
{
    size_t length = strlen(name);
    for (size_t i = 0; i < object->count; i++) {
        if (object->members[i].name_length == length && memcmp(object->members[i].name, name, length) == 0)
            return &object->members[i];
    }
    return NULL;
}

int flat_json_string(const struct json_member *member, char *out, size_t out_size, struct error *err)
{
    if (member->kind != JSON_STRING)
        return error_set(err, "'%s' must be a string", member->name);
    if (decode_string(member->raw, member->raw_length, out, out_size, NULL, err) < 0)
        return error_wrap(err, "'%s'", member->name);
    return 0;
}

int flat_json_integer(const struct json_member *member, int64_t *out, struct error *err)
{
    if (member->kind != JSON_NUMBER)
        return error_set(err, "field '%s' must be an integer", member->name);
    /* flat_json_parse checked the number's grammar: an optional '-', then digits, and a
     * fraction or exponent, which an integer must not have. */
    const char *digit = member->raw, *end = member->raw + member->raw_length;
    bool negative = digit < end && *digit == '-';
    digit += negative;
    if (digit == end)
        return error_set(err, "field '%s' must be an integer", member->name);
    uint64_t magnitude = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool overflow = false;
    for (; digit < end; digit++) {
        if (*digit < '0' || *digit > '9')
            return error_set(err, "field '%s' must be an integer", member->name);
        unsigned value = (unsigned)(*digit - '0');
        if (magnitude > (limit - value) / 10)
            overflow = true; /* keep reading: a fraction after it still makes it no integer */
        else
            magnitude = magnitude * 10 + value;
    }
    if (overflow)
        return error_set(err, "field '%s' is outside the 64-bit range", member->name);
    *out = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return 0;
}
