#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metric_type {
    METRIC_COUNTER,
    METRIC_GAUGE,
    METRIC_HISTOGRAM,
};

struct metric {
    const char *name;
    const char *help;
    enum metric_type type;
    atomic_llong value; /* a histogram's count */
    /* Histograms only: observations per bucket (not cumulative; the last is above every
     * bound) and their sum. */
    const int64_t *bounds;
    size_t bound_count;
    bool milliseconds; /* recorded in ms, rendered in seconds */
    atomic_llong buckets[METRICS_BUCKETS_MAX + 1];
    atomic_llong sum;
};

static struct metric registry[METRICS_MAX];
static atomic_int registered;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_valid_name(const char *name)
{
    if (name == NULL || name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (const char *c = name; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == ':'))
            return false;
    }
    return true;
}

static struct metric *register_metric(const char *name, const char *help, enum metric_type type,
                                      const int64_t *bounds, size_t bound_count, bool milliseconds)
{
    if (!is_valid_name(name))
        return NULL;
    struct metric *metric = NULL;
    pthread_mutex_lock(&registry_lock);
    int count = atomic_load(&registered);
    for (int i = 0; i < count && metric == NULL; i++) {
        if (strcmp(registry[i].name, name) == 0)
            metric = &registry[i];
    }
    if (metric == NULL && count < METRICS_MAX) {
        metric = &registry[count];
        metric->name = name;
        metric->help = help;
        metric->type = type;
        metric->bounds = bounds;
        metric->bound_count = bound_count;
        metric->milliseconds = milliseconds;
        atomic_store(&metric->value, 0);
        atomic_store(&registered, count + 1); /* published last: renderers see whole entries */
    }
    pthread_mutex_unlock(&registry_lock);
    return metric;
}

struct metric *metrics_counter(const char *name, const char *help)
{
    return register_metric(name, help, METRIC_COUNTER, NULL, 0, false);
}

struct metric *metrics_gauge(const char *name, const char *help)
{
    return register_metric(name, help, METRIC_GAUGE, NULL, 0, false);
}

struct metric *metrics_gauge_ms(const char *name, const char *help)
{
    return register_metric(name, help, METRIC_GAUGE, NULL, 0, true);
}

static struct metric *register_histogram(const char *name, const char *help, const int64_t *bounds, size_t count,
                                         bool milliseconds)
{
    if (bounds == NULL || count == 0 || count > METRICS_BUCKETS_MAX)
        return NULL;
    for (size_t i = 1; i < count; i++) {
        if (bounds[i] <= bounds[i - 1])
            return NULL;
    }
    return register_metric(name, help, METRIC_HISTOGRAM, bounds, count, milliseconds);
}

struct metric *metrics_histogram(const char *name, const char *help, const int64_t *bounds, size_t count)
{
    return register_histogram(name, help, bounds, count, false);
}

struct metric *metrics_histogram_ms(const char *name, const char *help, const int64_t *bounds, size_t count)
{
    return register_histogram(name, help, bounds, count, true);
}

void metric_observe(struct metric *metric, int64_t value)
{
    if (metric == NULL || metric->type != METRIC_HISTOGRAM)
        return;
    size_t bucket = 0;
    while (bucket < metric->bound_count && value > metric->bounds[bucket])
        bucket++;
    atomic_fetch_add(&metric->buckets[bucket], 1);
    atomic_fetch_add(&metric->sum, value);
    atomic_fetch_add(&metric->value, 1);
}

void metric_add(struct metric *metric, int64_t amount)
{
    if (metric != NULL)
        atomic_fetch_add(&metric->value, amount);
}

void metric_set(struct metric *metric, int64_t value)
{
    if (metric != NULL)
        atomic_store(&metric->value, value);
}

int64_t metric_value(const struct metric *metric)
{
    return metric != NULL ? atomic_load(&((struct metric *)metric)->value) : 0;
}

/* A value as text: milliseconds as exact decimal seconds ("1.5", "0.005", "-2"). */
static void format_value(const struct metric *metric, int64_t value, char out[32])
{
    if (!metric->milliseconds) {
        snprintf(out, 32, "%lld", (long long)value);
        return;
    }
    unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
    int length = snprintf(out, 32, "%s%llu.%03llu", value < 0 ? "-" : "", magnitude / 1000, magnitude % 1000);
    while (out[length - 1] == '0')
        out[--length] = '\0';
    if (out[length - 1] == '.')
        out[--length] = '\0';
}

/* Cumulative buckets, sum and count. Observations may land between the loads: each line is
 * read once, and the count is the +Inf bucket, so the text stays consistent with itself. */
static void render_histogram(FILE *out, struct metric *metric)
{
    long long cumulative = 0;
    char text[32];
    for (size_t i = 0; i <= metric->bound_count; i++) {
        cumulative += atomic_load(&metric->buckets[i]);
        if (i < metric->bound_count) {
            format_value(metric, metric->bounds[i], text);
            fprintf(out, "%s_bucket{le=\"%s\"} %lld\n", metric->name, text, cumulative);
        } else {
            fprintf(out, "%s_bucket{le=\"+Inf\"} %lld\n", metric->name, cumulative);
        }
    }
    format_value(metric, atomic_load(&metric->sum), text);
    fprintf(out, "%s_sum %s\n%s_count %lld\n", metric->name, text, metric->name, cumulative);
}

char *metrics_render(size_t *length)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL)
        return NULL;
    int count = atomic_load(&registered);
    for (int i = 0; i < count; i++) {
        struct metric *metric = &registry[i];
        static const char *const TYPE_NAMES[] = {"counter", "gauge", "histogram"};
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", metric->name, metric->help, metric->name,
                TYPE_NAMES[metric->type]);
        if (metric->type == METRIC_HISTOGRAM) {
            render_histogram(out, metric);
        } else {
            char value[32];
            format_value(metric, atomic_load(&metric->value), value);
            fprintf(out, "%s %s\n", metric->name, value);
        }
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    *length = size;
    return text;
}
