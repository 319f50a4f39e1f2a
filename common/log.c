#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const LOG_LEVEL_NAMES[] = {"debug", "info", "warn", "error", NULL};
static const char *const LEVEL_LABELS[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

static const char *program_name = "tickerflow";
static enum log_level minimum_level = LOG_INFO;

void log_init(const char *program, enum log_level level)
{
    program_name = program;
    minimum_level = level;
}

int log_level_from_name(const char *name, enum log_level *level)
{
    for (int i = 0; LOG_LEVEL_NAMES[i] != NULL; i++) {
        if (strcmp(name, LOG_LEVEL_NAMES[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

bool log_enabled(enum log_level level)
{
    return level >= minimum_level;
}

void log_message(enum log_level level, const char *format, ...)
{
    if (!log_enabled(level))
        return;

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r(&now.tv_sec, &utc);

    char line[2048];
    size_t used = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &utc);
    used += (size_t)snprintf(line + used, sizeof line - used, ".%03ldZ %s %s: ",
                             now.tv_nsec / 1000000, LEVEL_LABELS[level], program_name);
    va_list args;
    va_start(args, format);
    int written = vsnprintf(line + used, sizeof line - used, format, args);
    va_end(args);
    if (written < 0)
        written = 0;
    used += (size_t)written;
    if (used > sizeof line - 2)
        used = sizeof line - 2; /* truncated: keep the newline */
    line[used++] = '\n';

    /* One write per line keeps lines from different threads whole. */
    ssize_t ignored = write(STDERR_FILENO, line, used);
    (void)ignored;
}
