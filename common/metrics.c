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
                                      const int64_t *bounds, size_t bound_count)
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
        atomic_store(&metric->value, 0);
        atomic_store(&registered, count + 1); /* published last: renderers see whole entries */
    }
    pthread_mutex_unlock(&registry_lock);
    return metric;
}

struct metric *metrics_counter(const char *name, const char *help)
{
    return register_metric(name, help, METRIC_COUNTER, NULL, 0);
}

struct metric *metrics_gauge(const char *name, const char *help)
{
    return register_metric(name, help, METRIC_GAUGE, NULL, 0);
}

struct metric *metrics_histogram(const char *name, const char *help, const int64_t *bounds, size_t count)
{
    if (bounds == NULL || count == 0 || count > METRICS_BUCKETS_MAX)
        return NULL;
    for (size_t i = 1; i < count; i++) {
        if (bounds[i] <= bounds[i - 1])
            return NULL;
    }
    return register_metric(name, help, METRIC_HISTOGRAM, bounds, count);
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

/* Cumulative buckets, sum and count. Observations may land between the loads: each line is
 * read once, and the count is the +Inf bucket, so the text stays consistent with itself. */
static void render_histogram(FILE *out, struct metric *metric)
{
    long long cumulative = 0;
    for (size_t i = 0; i <= metric->bound_count; i++) {
        cumulative += atomic_load(&metric->buckets[i]);
        if (i < metric->bound_count)
            fprintf(out, "%s_bucket{le=\"%lld\"} %lld\n", metric->name, (long long)metric->bounds[i], cumulative);
        else
            fprintf(out, "%s_bucket{le=\"+Inf\"} %lld\n", metric->name, cumulative);
    }
    fprintf(out, "%s_sum %lld\n%s_count %lld\n", metric->name, (long long)atomic_load(&metric->sum), metric->name,
            cumulative);
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
        if (metric->type == METRIC_HISTOGRAM)
            render_histogram(out, metric);
        else
            fprintf(out, "%s %lld\n", metric->name, (long long)atomic_load(&metric->value));
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    *length = size;
    return text;
}
