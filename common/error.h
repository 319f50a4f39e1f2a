/*
 * The one error convention of tickerflow.
 *
 * Every function that can fail returns 0 on success and -1 on failure. On failure it
 * has written a one-line, human-readable reason into the caller's struct error (which
 * may be NULL when the caller does not care). Functions returning a pointer return NULL
 * on failure and fill the struct error the same way.
 *
 * The error also carries its kind, so the code that decides (a retry loop, a daemon's
 * main) never guesses from global state:
 *   ERROR_FAILED     an ordinary failure; trying again later may succeed (a server away);
 *   ERROR_PERMANENT  trying again would fail the same way (credentials rejected, a topic
 *                    deleted, a schema that cannot be applied): retry loops give up, and a
 *                    daemon that meets one stops with a non-zero exit code;
 *   ERROR_STOPPED    the call gave up because the daemon was asked to stop: not a
 *                    failure, the daemon exits 0.
 *
 * A function that fails undoes its own partial work before it returns.
 */
#ifndef TICKERFLOW_ERROR_H
#define TICKERFLOW_ERROR_H

#define ERROR_MESSAGE_MAX 256

enum error_kind {
    ERROR_FAILED = 0,
    ERROR_PERMANENT,
    ERROR_STOPPED,
};

struct error {
    enum error_kind kind;
    char message[ERROR_MESSAGE_MAX];
};

/* Formats the reason into err (if not NULL), kind ERROR_FAILED, and returns -1, so
 * callers can write `return error_set(err, "bad %s", what);`. */
int error_set(struct error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The same with kind ERROR_PERMANENT. */
int error_permanent(struct error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Kind ERROR_STOPPED, reason "stop requested while <doing>". Returns -1. */
int error_stopped(struct error *err, const char *doing);

/* Prefixes the existing reason with more context: "context: old reason". Keeps the kind.
 * Returns -1. */
int error_wrap(struct error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Marks an existing error permanent (its reason unchanged). Returns -1. */
int error_make_permanent(struct error *err);

#endif
