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
};

struct metric {
    const char *name;
    const char *help;
    enum metric_type type;
    atomic_llong value;
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

static struct metric *register_metric(const char *name, const char *help, enum metric_type type)
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
        atomic_store(&metric->value, 0);
        atomic_store(&registered, count + 1); /* published last: renderers see whole entries */
    }
    pthread_mutex_unlock(&registry_lock);
    return metric;
}

struct metric *metrics_counter(const char *name, const char *help)
{
    return register_metric(name, help, METRIC_COUNTER);
}

struct metric *metrics_gauge(const char *name, const char *help)
{
    return register_metric(name, help, METRIC_GAUGE);
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

char *metrics_render(size_t *length)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL)
        return NULL;
    int count = atomic_load(&registered);
    for (int i = 0; i < count; i++) {
        const struct metric *metric = &registry[i];
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", metric->name, metric->help, metric->name,
                metric->type == METRIC_COUNTER ? "counter" : "gauge", metric->name,
                (long long)atomic_load(&((struct metric *)metric)->value));
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    *length = size;
    return text;
}
