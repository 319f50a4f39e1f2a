/*
 * The API server's network side: one libwebsockets context (one service thread) that
 * serves the dashboard files, the JSON API under /api and the WebSocket /ws.
 *
 * Threads: everything here runs on the service thread except api_server_wake, which
 * any thread may call. Queries run on query_pool's threads and Kafka is read by the
 * live_feed's thread; both hand their results over through queues and wake the loop.
 */
#ifndef API_SERVER_H
#define API_SERVER_H

#include "error.h"
#include "settings.h"

struct api_server;

/* Listens on the configured port and starts the live feed and query threads.
 * `settings` must outlive the server. Stop with api_server_stop. */
struct api_server *api_server_start(const struct api_settings *settings, struct error *err);

/* Serves events until there is nothing to do or a wake; call in a loop. Returns -1 with
 * err set (ERROR_PERMANENT) when the server cannot go on: its topic was deleted. */
int api_server_service(struct api_server *server, struct error *err);

/* Makes api_server_service return soon. Any thread. */
void api_server_wake(struct api_server *server);

/* Stops the threads (cancelling queries under way), closes every connection and frees
 * everything, in that order: no thread wakes a context that is gone. NULL does nothing. */
void api_server_stop(struct api_server *server);

#endif
