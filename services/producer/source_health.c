#include <stdio.h>

#include "source.h"

void source_health_init(struct source_health *health, const char *reason)
{
    pthread_mutex_init(&health->lock, NULL);
    health->ready = false;
    snprintf(health->reason, sizeof health->reason, "%s", reason);
}

void source_health_set(struct source_health *health, bool ready, const char *reason)
{
    pthread_mutex_lock(&health->lock);
    health->ready = ready;
    snprintf(health->reason, sizeof health->reason, "%s", reason);
    pthread_mutex_unlock(&health->lock);
}

bool source_health_get(void *context, char *reason, size_t size)
{
    struct source_health *health = context;
    pthread_mutex_lock(&health->lock);
    bool ready = health->ready;
    snprintf(reason, size, "%s", health->reason);
    pthread_mutex_unlock(&health->lock);
    return ready;
}
