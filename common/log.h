/*
 * Logging to stderr, one line per event:
 *   2026-11-23T12:34:56.789Z WARN  bridge: dead-lettered malformed message ...
 * Safe to call from any thread; each line is written with a single write(2).
 */
#ifndef TICKERFLOW_LOG_H
#define TICKERFLOW_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_DEBUG,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
};

/* The level names accepted by --log-level, in enum order, NULL-terminated. */
extern const char *const LOG_LEVEL_NAMES[];

/* Sets the program name shown on every line and the lowest level printed.
 * Before it is called, the name is "tickerflow" and the level is INFO. */
void log_init(const char *program, enum log_level level);

/* Returns 0 and sets *level for "debug", "info", "warn" or "error"; -1 otherwise. */
int log_level_from_name(const char *name, enum log_level *level);

bool log_enabled(enum log_level level);

void log_message(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_message(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_message(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_message(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_message(LOG_ERROR, __VA_ARGS__)

#endif
