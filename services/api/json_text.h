/*
 * A growing text buffer for the JSON bodies of the API's answers. Appends never fail
 * loudly: once out of memory the text is marked failed and the answer becomes a 500.
 */
#ifndef API_JSON_TEXT_H
#define API_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timestamp.h"

struct json_text {
    char *data; /* owned; NUL-terminated once anything was appended */
    size_t length, capacity;
    bool failed;
};

void json_text_append(struct json_text *text, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* RFC 3339 text of a time in microseconds, or "-infinity"/"infinity" beyond the range. */
void json_text_time(int64_t microseconds, char out[TIMESTAMP_TEXT_SIZE]);

#endif
