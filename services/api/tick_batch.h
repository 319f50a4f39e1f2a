/*
 * The messages gathered for one batched frame ({"type":"ticks","ticks":[...]}, docs/api.md):
 * a client's own, or a shared stream's (one frame for every board with the same options).
 *
 * Messages stay in the order they were added, except that a conflated tick replaces the
 * newest one of its key in place (counting the values it stands for) and a live candle
 * replaces its key's earlier candle: the caller keeps, per key, a slot (uint32_t, 0 = not in
 * the batch) that the batch sets and clears. Pure; service thread only.
 */
#ifndef API_TICK_BATCH_H
#define API_TICK_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* More messages than this go out at once, whatever the interval: a batch's memory is bounded. */
#define TICK_BATCH_MAX_ITEMS 1024

struct tick_batch {
    struct batch_item *items; /* owned */
    size_t count, capacity;
    int64_t deadline_us; /* when it is due; INT64_MAX while empty */
};

void tick_batch_init(struct tick_batch *batch);

/* Adds a tick or trade (taking the caller's reference to `frame`) standing for `count` values
 * after position `after`. With `slot` and *slot set, the key's tick already in the batch is
 * replaced (its `after` kept, the counts added): that is conflation. Returns -1 when out of
 * memory (the frame released). */
int tick_batch_add_tick(struct tick_batch *batch, struct frame *frame, int64_t count, int64_t after, bool conflated,
                        uint32_t *slot);

/* Adds a message that supersedes its key's earlier one (a live candle: whole), in that one's
 * place when `slot` says there is one. Takes the reference; -1 when out of memory. */
int tick_batch_add_latest(struct tick_batch *batch, struct frame *frame, uint32_t *slot);

/* Appends a message (a gap). Takes the reference; -1 when out of memory. */
int tick_batch_add(struct tick_batch *batch, struct frame *frame);

/* The batch is due no later than `deadline_us`. */
static inline void tick_batch_due_by(struct tick_batch *batch, int64_t deadline_us)
{
    if (deadline_us < batch->deadline_us)
        batch->deadline_us = deadline_us;
}

static inline bool tick_batch_full(const struct tick_batch *batch)
{
    return batch->count >= TICK_BATCH_MAX_ITEMS;
}

/* The item a slot's owner is leaving: its slot pointer is dropped (the item stays). */
void tick_batch_forget(struct tick_batch *batch, uint32_t *slot);

/* The batch as one frame (a reference for the caller), and the batch empty again with its
 * slots cleared. NULL when empty or out of memory (then the messages are lost: the caller
 * counts it). */
struct frame *tick_batch_take(struct tick_batch *batch);

/* Releases every message and the storage. */
void tick_batch_clear(struct tick_batch *batch);

#endif
