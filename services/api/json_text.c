#include "json_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_text_append(struct json_text *text, const char *format, ...)
{
    if (text->failed)
        return;
    for (;;) {
        va_list args;
        va_start(args, format);
        int needed = vsnprintf(text->data + text->length, text->capacity - text->length, format, args);
        va_end(args);
        if (needed < 0) {
            text->failed = true;
            return;
        }
        if ((size_t)needed < text->capacity - text->length) {
            text->length += (size_t)needed;
            return;
        }
        size_t capacity = (text->capacity + (size_t)needed + 1) * 2;
        char *grown = realloc(text->data, capacity);
        if (grown == NULL) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
}

void json_text_time(int64_t microseconds, char out[TIMESTAMP_TEXT_SIZE])
{
    if (timestamp_format(microseconds, out) < 0)
        strcpy(out, microseconds < 0 ? "-infinity" : "infinity");
}
