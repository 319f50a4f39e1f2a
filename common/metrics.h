/*
 * Process-wide metrics, served in Prometheus text format by the admin server.
 *
 * Register at start-up (main thread, before the metrics are used); update from any
 * thread: updates are atomic. A handle stays valid for the life of the process.
 * Every function accepts a NULL handle and then does nothing (or returns 0).
 */
#ifndef TICKERFLOW_METRICS_H
#define TICKERFLOW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX 64
#define METRICS_BUCKETS_MAX 16

struct metric;

/* Registers a counter or gauge named [a-zA-Z_:][a-zA-Z0-9_:]*; `name` and `help` must be
 * string literals (they are kept, not copied). Registering a name twice returns the same
 * metric. Returns NULL for an invalid name or when METRICS_MAX are registered. */
struct metric *metrics_counter(const char *name, const char *help);
struct metric *metrics_gauge(const char *name, const char *help);

/* A gauge set in milliseconds and served in seconds, Prometheus' base unit (name it
 * ..._seconds): metric_set(gauge, 1234) is rendered 1.234. */
struct metric *metrics_gauge_ms(const char *name, const char *help);

/* Registers a histogram of integer observations with `count` (at most METRICS_BUCKETS_MAX)
 * ascending upper bounds; `bounds` must outlive the process (a static array). Rendered as
 * Prometheus renders one: cumulative name_bucket{le="..."} lines up to le="+Inf", then
 * name_sum and name_count. NULL for an invalid name or bounds. */
struct metric *metrics_histogram(const char *name, const char *help, const int64_t *bounds, size_t count);

/* The same for durations observed (and bounded) in milliseconds and served in seconds:
 * bound 5 is rendered le="0.005". */
struct metric *metrics_histogram_ms(const char *name, const char *help, const int64_t *bounds, size_t count);

/* Counts one observation into a histogram. */
void metric_observe(struct metric *metric, int64_t value);

void metric_add(struct metric *metric, int64_t amount);
void metric_set(struct metric *metric, int64_t value);
/* A counter's or gauge's value; a histogram's count of observations. */
int64_t metric_value(const struct metric *metric);

/* Renders every metric ("# HELP", "# TYPE", "name value" lines). Returns a NUL-terminated
 * string the caller frees, or NULL when out of memory. */
char *metrics_render(size_t *length);

#endif
