/*
 * UTF-8 validity, for text that quotes what a client sent back to it: an error reason
 * must become a JSON string, and JSON (jansson) refuses invalid UTF-8, so one stray byte
 * would turn a clear error into no answer at all.
 */
#ifndef TICKERFLOW_UTF8_H
#define TICKERFLOW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF) at the start of `text` (`length` bytes), or 0 when it does not start with one. */
size_t utf8_sequence_length(const unsigned char *text, size_t length);

/* Copies the NUL-terminated `in` into `out` (out_size >= 1 bytes, always NUL-terminated),
 * replacing each byte that does not start a valid sequence with '?', and never cutting a
 * sequence in two when `out` is too short. Returns the length written. */
size_t utf8_copy_valid(char *out, size_t out_size, const char *in);

#endif
