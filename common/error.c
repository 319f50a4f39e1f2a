#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(struct error *err, const char *format, ...)
{
    if (err == NULL)
        return -1;
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
    return -1;
}

int error_wrap(struct error *err, const char *format, ...)
{
    if (err == NULL)
        return -1;
    char context[ERROR_MESSAGE_MAX];
    va_list args;
    va_start(args, format);
    vsnprintf(context, sizeof context, format, args);
    va_end(args);

    char previous[ERROR_MESSAGE_MAX];
    memcpy(previous, err->message, sizeof previous);
    /* Truncation is acceptable: the reason stays a readable prefix. */
    size_t used = strlen(context);
    if (used > sizeof err->message - 1)
        used = sizeof err->message - 1;
    memcpy(err->message, context, used);
    snprintf(err->message + used, sizeof err->message - used, ": %s", previous);
    return -1;
}
