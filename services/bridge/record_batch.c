#include "record_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

struct record_batch {
    char *text;
    size_t text_length;
    size_t text_capacity;
    size_t rows;
    size_t messages;
    struct record_batch_offset *offsets;
    size_t offset_count;
    size_t offset_capacity;
};

/* A row: name (<= 10) + tab + time (27) + tab + int32 (<= 11) + newline. */
#define ROW_MAX 64

struct record_batch *record_batch_new(struct error *err)
{
    struct record_batch *batch = calloc(1, sizeof *batch);
    if (batch == NULL)
        error_set(err, "out of memory");
    return batch;
}

void record_batch_destroy(struct record_batch *batch)
{
    if (batch == NULL)
        return;
    free(batch->text);
    free(batch->offsets);
    free(batch);
}

static int track_offset(struct record_batch *batch, int32_t partition, int64_t offset, struct error *err)
{
    for (size_t i = 0; i < batch->offset_count; i++) {
        if (batch->offsets[i].partition == partition) {
            if (offset + 1 > batch->offsets[i].next_offset)
                batch->offsets[i].next_offset = offset + 1;
            batch->messages++;
            return 0;
        }
    }
    if (batch->offset_count == batch->offset_capacity) {
        size_t capacity = batch->offset_capacity ? batch->offset_capacity * 2 : 8;
        struct record_batch_offset *grown = realloc(batch->offsets, capacity * sizeof *grown);
        if (grown == NULL)
            return error_set(err, "out of memory");
        batch->offsets = grown;
        batch->offset_capacity = capacity;
    }
    batch->offsets[batch->offset_count++] = (struct record_batch_offset){partition, offset + 1};
    batch->messages++;
    return 0;
}

int record_batch_add(struct record_batch *batch, const struct ticker *ticker, int32_t partition, int64_t offset,
                     struct error *err)
{
    if (batch->text_capacity - batch->text_length < ROW_MAX) {
        size_t capacity = batch->text_capacity ? batch->text_capacity * 2 : 64 * 1024;
        char *grown = realloc(batch->text, capacity);
        if (grown == NULL)
            return error_set(err, "out of memory");
        batch->text = grown;
        batch->text_capacity = capacity;
    }
    char time_text[TIMESTAMP_TEXT_SIZE];
    if (timestamp_format(ticker->time_us, time_text) < 0)
        return error_set(err, "time outside years 0001..9999");
    if (track_offset(batch, partition, offset, err) < 0)
        return -1;
    /* Names are [A-Za-z0-9_] and times are digits and punctuation: nothing to escape. */
    int length = snprintf(batch->text + batch->text_length, ROW_MAX, "%s\t%s\t%d\n", ticker->name, time_text,
                          (int)ticker->value);
    batch->text_length += (size_t)length;
    batch->rows++;
    return 0;
}

int record_batch_skip(struct record_batch *batch, int32_t partition, int64_t offset, struct error *err)
{
    return track_offset(batch, partition, offset, err);
}

size_t record_batch_rows(const struct record_batch *batch)
{
    return batch->rows;
}

size_t record_batch_messages(const struct record_batch *batch)
{
    return batch->messages;
}

const char *record_batch_copy_text(const struct record_batch *batch, size_t *length)
{
    *length = batch->text_length;
    return batch->text;
}

const struct record_batch_offset *record_batch_offsets(const struct record_batch *batch, size_t *count)
{
    *count = batch->offset_count;
    return batch->offsets;
}

void record_batch_clear(struct record_batch *batch)
{
    batch->text_length = 0;
    batch->rows = 0;
    batch->messages = 0;
    batch->offset_count = 0;
}
