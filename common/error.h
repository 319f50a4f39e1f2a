/*
 * The one error convention of tickerflow.
 *
 * Every function that can fail returns 0 on success and -1 on failure. On failure it
 * has written a one-line, human-readable reason into the caller's struct error (which
 * may be NULL when the caller does not care). Functions returning a pointer return NULL
 * on failure and fill the struct error the same way.
 *
 * A function that fails undoes its own partial work before it returns.
 */
#ifndef TICKERFLOW_ERROR_H
#define TICKERFLOW_ERROR_H

#define ERROR_MESSAGE_MAX 256

struct error {
    char message[ERROR_MESSAGE_MAX];
};

/* Formats the reason into err (if not NULL) and returns -1, so callers can write
 * `return error_set(err, "bad %s", what);`. */
int error_set(struct error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the existing reason with more context: "context: old reason". Returns -1. */
int error_wrap(struct error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
