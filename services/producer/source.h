/*
 * The producer's sources of messages, each in its own file:
 *   walk_source.c   the random walk of the tickers (the default): ticker messages
 *   trade_source.c  market trades, from a live WebSocket feed or a recorded file
 * main() opens the admin port and the publisher, then runs the source the settings choose
 * until a stop is requested (ERROR_STOPPED) or it cannot go on (the cause in err).
 */
#ifndef PRODUCER_SOURCE_H
#define PRODUCER_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "publisher.h"
#include "settings.h"

/* What /healthz says: set by the source on the main thread, read on the admin server's. */
struct source_health {
    pthread_mutex_t lock;
    bool ready;
    char reason[320]; /* why not ready */
};

void source_health_init(struct source_health *health, const char *reason);
void source_health_set(struct source_health *health, bool ready, const char *reason);
/* An admin_health_fn (admin_server.h); `context` is the struct source_health. */
bool source_health_get(void *context, char *reason, size_t size);

int walk_source_run(const struct producer_settings *settings, struct publisher *publisher,
                    struct source_health *health, struct error *err);
int trade_source_run(const struct producer_settings *settings, struct publisher *publisher,
                     struct source_health *health, struct error *err);

#endif
