/*
 * A batch of consumed messages on their way to Postgres: the rows, as the text of one
 * COPY records(name, time, value), and per partition the next offset to commit once the
 * rows are stored. Malformed messages add no row but still advance their partition's
 * offset, so they are skipped exactly once. Pure logic, unit-tested.
 */
#ifndef BRIDGE_RECORD_BATCH_H
#define BRIDGE_RECORD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "ticker.h"

struct record_batch;

/* The columns the COPY text fills, in order. */
#define RECORD_BATCH_COPY_SQL "COPY records (name, time, value) FROM STDIN"

struct record_batch_offset {
    int32_t partition;
    int64_t next_offset;
};

struct record_batch *record_batch_new(struct error *err);
void record_batch_destroy(struct record_batch *batch);

/* Appends the row of `ticker`, consumed at partition/offset. */
int record_batch_add(struct record_batch *batch, const struct ticker *ticker, int32_t partition, int64_t offset,
                     struct error *err);

/* Records that the message at partition/offset was consumed but stores no row. */
int record_batch_skip(struct record_batch *batch, int32_t partition, int64_t offset, struct error *err);

size_t record_batch_rows(const struct record_batch *batch);
/* Messages added or skipped since the last clear. */
size_t record_batch_messages(const struct record_batch *batch);

/* The COPY text ("name\ttime\tvalue\n" per row); valid until the next add or clear. */
const char *record_batch_copy_text(const struct record_batch *batch, size_t *length);

/* The partitions seen and their next offsets; valid until the next add, skip or clear. */
const struct record_batch_offset *record_batch_offsets(const struct record_batch *batch, size_t *count);

/* Forgets rows and offsets, keeping the buffers for the next batch. */
void record_batch_clear(struct record_batch *batch);

#endif
