#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void format_into(struct error *err, enum error_kind kind, const char *format, va_list args)
{
    err->kind = kind;
    vsnprintf(err->message, sizeof err->message, format, args);
}

int error_set(struct error *err, const char *format, ...)
{
    if (err == NULL)
        return -1;
    va_list args;
    va_start(args, format);
    format_into(err, ERROR_FAILED, format, args);
    va_end(args);
    return -1;
}

int error_permanent(struct error *err, const char *format, ...)
{
    if (err == NULL)
        return -1;
    va_list args;
    va_start(args, format);
    format_into(err, ERROR_PERMANENT, format, args);
    va_end(args);
    return -1;
}

int error_stopped(struct error *err, const char *doing)
{
    if (err == NULL)
        return -1;
    err->kind = ERROR_STOPPED;
    snprintf(err->message, sizeof err->message, "stop requested while %s", doing);
    return -1;
}

int error_make_permanent(struct error *err)
{
    if (err != NULL)
        err->kind = ERROR_PERMANENT;
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
