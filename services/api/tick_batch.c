#include "tick_batch.h"

#include <stdlib.h>

#define INITIAL_CAPACITY 8

void tick_batch_init(struct tick_batch *batch)
{
    *batch = (struct tick_batch){.deadline_us = INT64_MAX};
}

static struct batch_item *append(struct tick_batch *batch)
{
    if (batch->count == batch->capacity) {
        size_t capacity = batch->capacity ? batch->capacity * 2 : INITIAL_CAPACITY;
        struct batch_item *grown = realloc(batch->items, capacity * sizeof *grown);
        if (grown == NULL)
            return NULL;
        batch->items = grown;
        batch->capacity = capacity;
    }
    return &batch->items[batch->count++];
}

/* Appends `item`, marking its slot. */
static int add_item(struct tick_batch *batch, struct batch_item item)
{
    struct batch_item *added = append(batch);
    if (added == NULL) {
        frame_release(item.frame);
        return -1;
    }
    *added = item;
    if (item.slot != NULL)
        *item.slot = (uint32_t)batch->count; /* index + 1 */
    return 0;
}

int tick_batch_add_tick(struct tick_batch *batch, struct frame *frame, int64_t count, int64_t after, bool conflated,
                        uint32_t *slot)
{
    if (slot != NULL && *slot != 0) {
        struct batch_item *kept = &batch->items[*slot - 1];
        frame_release(kept->frame);
        kept->frame = frame;
        kept->count += count;
        kept->conflated = kept->conflated || conflated;
        return 0;
    }
    return add_item(batch, (struct batch_item){.frame = frame, .count = count, .after = after, .conflated = conflated,
                                               .slot = slot});
}

int tick_batch_add_latest(struct tick_batch *batch, struct frame *frame, uint32_t *slot)
{
    if (slot != NULL && *slot != 0) {
        struct batch_item *kept = &batch->items[*slot - 1];
        frame_release(kept->frame);
        kept->frame = frame;
        return 0;
    }
    return add_item(batch, (struct batch_item){.frame = frame, .count = 1, .after = INT64_MIN, .slot = slot});
}

int tick_batch_add(struct tick_batch *batch, struct frame *frame)
{
    return add_item(batch, (struct batch_item){.frame = frame, .count = 1, .after = INT64_MIN});
}

void tick_batch_forget(struct tick_batch *batch, uint32_t *slot)
{
    if (*slot != 0 && *slot <= batch->count && batch->items[*slot - 1].slot == slot)
        batch->items[*slot - 1].slot = NULL;
    *slot = 0;
}

/* Empties the batch's bookkeeping (the items themselves have gone elsewhere). */
static void reset(struct tick_batch *batch)
{
    for (size_t i = 0; i < batch->count; i++) {
        if (batch->items[i].slot != NULL)
            *batch->items[i].slot = 0;
    }
    batch->count = 0;
    batch->deadline_us = INT64_MAX;
}

struct frame *tick_batch_take(struct tick_batch *batch)
{
    size_t count = batch->count;
    if (count == 0) {
        batch->deadline_us = INT64_MAX;
        return NULL;
    }
    /* The frame keeps its items (to coalesce for a client that falls behind) in an array of
     * its own size; the batch keeps its storage for the next interval. */
    struct batch_item *items = malloc(count * sizeof *items);
    if (items != NULL) {
        for (size_t i = 0; i < count; i++)
            items[i] = (struct batch_item){.frame = batch->items[i].frame, .count = batch->items[i].count,
                                           .after = batch->items[i].after, .conflated = batch->items[i].conflated};
    } else {
        for (size_t i = 0; i < count; i++)
            frame_release(batch->items[i].frame);
    }
    reset(batch);
    return items != NULL ? frame_new_batch(items, count) : NULL;
}

void tick_batch_clear(struct tick_batch *batch)
{
    for (size_t i = 0; i < batch->count; i++) {
        if (batch->items[i].slot != NULL)
            *batch->items[i].slot = 0;
        frame_release(batch->items[i].frame);
    }
    free(batch->items);
    tick_batch_init(batch);
}
