/*
 * The admin port every daemon serves (libmicrohttpd, on its own thread):
 *   GET /healthz   200 {"status":"ok"} when healthy, 503 {"status":"<why not>"} otherwise
 *   GET /metrics   metrics.h's metrics in Prometheus text format
 * Meant for health checks and scrapers, not for the public: keep it off the internet.
 */
#ifndef TICKERFLOW_ADMIN_SERVER_H
#define TICKERFLOW_ADMIN_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Reports health: true when healthy; otherwise writes a short reason into `reason`.
 * Runs on the admin server's thread. */
typedef bool admin_health_fn(void *context, char *reason, size_t reason_size);

struct admin_server;

/* Listens on `port` on all interfaces. Fails (NULL, err set) when the port is taken.
 * `health` may be NULL (always healthy). Stop with admin_server_stop. */
struct admin_server *admin_server_start(int port, admin_health_fn *health, void *context, struct error *err);

/* Stops serving and frees the server. NULL does nothing. */
void admin_server_stop(struct admin_server *server);

#endif
