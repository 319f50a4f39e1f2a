/*
 * The last few live frames of every ticker, replayed to a client when it subscribes.
 *
 * History comes from Postgres, which the bridge fills a little behind Kafka; a tick that
 * went live just before a client subscribed may not be stored yet. Replaying the recent
 * window lets the client stitch history and live together without a hole (it drops what
 * it already has by time). Service thread only.
 */
#ifndef API_RECENT_TICKS_H
#define API_RECENT_TICKS_H

#include <stddef.h>

#include "error.h"
#include "frame.h"

struct recent_ticks;

/* Keeps up to `per_ticker` frames for each of up to `max_tickers` tickers. */
struct recent_ticks *recent_ticks_new(size_t per_ticker, size_t max_tickers, struct error *err);

/* Releases every frame held. NULL does nothing. */
void recent_ticks_destroy(struct recent_ticks *recent);

/* Remembers `frame` under frame->ticker, taking a reference of its own and dropping the
 * ticker's oldest frame once the window is full. */
void recent_ticks_remember(struct recent_ticks *recent, struct frame *frame);

/* Copies the ticker's frames, oldest first, into `out` (at most `max`) and returns how
 * many. No reference is added: take one for each frame you keep. */
size_t recent_ticks_of(const struct recent_ticks *recent, const char *ticker, struct frame **out, size_t max);

#endif
