/*
 * The WebSocket side of the API server (protocol in docs/api.md): clients, what each one
 * watches, the ticker table with its recent windows, delivery of live ticks, resumes
 * (from the windows, or from PostgreSQL through the query pool), heartbeats, and the
 * limits that keep memory bounded whatever clients do. Made of live_hub.c, ws_client.c
 * and subscription.c (live_hub_internal.h says which does what).
 *
 * Service thread only: server.c calls these from its libwebsockets callbacks.
 */
#ifndef API_LIVE_HUB_H
#define API_LIVE_HUB_H

#include <libwebsockets.h>
#include <stddef.h>

#include "error.h"
#include "live_feed.h"
#include "query_pool.h"
#include "settings.h"

struct live_hub;
struct ws_client;

/* Bytes lws must allocate per WebSocket connection for a struct ws_client. */
extern const size_t WS_CLIENT_SIZE;

/* `settings` and `pool` must outlive the hub; the pool answers resume queries. */
struct live_hub *live_hub_new(const struct api_settings *settings, struct query_pool *pool, struct error *err);
void live_hub_destroy(struct live_hub *hub);

/* A connection was established. Returns -1 (after setting the close reason) to refuse it. */
int live_hub_open(struct live_hub *hub, struct ws_client *client, struct lws *wsi);

/* The connection is gone: forgets the client. Safe on a client that was refused. */
void live_hub_close(struct live_hub *hub, struct ws_client *client);

/* A fragment of a client message arrived. */
void live_hub_receive(struct live_hub *hub, struct ws_client *client, const void *data, size_t length);

/* The client answered a ping (it is not idle). */
void live_hub_heard(struct ws_client *client);

/* The connection can take a frame. Returns -1 to close it (a close code is set). */
int live_hub_writeable(struct live_hub *hub, struct ws_client *client);

/* Fans out ticks from the live feed (takes the list and frees it): each to its ticker's
 * subscribers, except values dated more than api.max_ahead_ms past the clock, which are
 * held until they are due. */
void live_hub_deliver(struct live_hub *hub, struct live_tick *ticks);

/* Fans out trades from the trades feed (takes the list and frees it), each to its pair's
 * subscribers, with the pair's live candle. */
void live_hub_deliver_trades(struct live_hub *hub, struct live_tick *trades);

/* Delivers the held values that are due now. Returns the microseconds until the next one
 * is, or -1 when none is held: the caller calls again then. */
int64_t live_hub_release_due(struct live_hub *hub);

/* Sends the batched frames that are due (docs/api.md, "batch_ms"). Returns the microseconds
 * until the next one is, or -1 when none waits: call again then, and after anything that
 * may add to a batch (delivery, a client message, a resume answered). */
int64_t live_hub_flush_due(struct live_hub *hub);

/* Finishes a resume with its rows. Takes the job (a QUERY_RESUME) and frees it. */
void live_hub_resume_answered(struct live_hub *hub, struct query_job *job);

/* Each client gets {"type":"heartbeat","time":...} once per heartbeat interval, sent in
 * slices: call this every interval / LIVE_HUB_HEARTBEAT_SLICES; it queues one to the next
 * 1/LIVE_HUB_HEARTBEAT_SLICES of the clients, round-robin. */
#define LIVE_HUB_HEARTBEAT_SLICES 32
void live_hub_heartbeat_slice(struct live_hub *hub);

#endif
