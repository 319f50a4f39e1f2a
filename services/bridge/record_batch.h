/*
 * A batch of consumed messages on their way to Postgres, all in reused buffers:
 * - the rows, as COPY data in their kind's format (row_format.h), with each row's origin
 *   (partition, offset, raw bytes) so a row Postgres refuses can be isolated and kept;
 * - the dead letters: messages that failed to decode or were refused, byte for byte,
 *   with the reason, as the text of COPY dead_letters;
 * - per partition, the first offset of the batch and the next one to read.
 * Pure logic, unit-tested.
 */
#ifndef BRIDGE_RECORD_BATCH_H
#define BRIDGE_RECORD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define RECORD_BATCH_DEAD_LETTER_SQL \
    "COPY dead_letters (topic, partition, kafka_offset, kafka_timestamp, payload, error) FROM STDIN"

/* Where a message came from. `payload` is only borrowed by the functions taking it. */
struct record_origin {
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* Kafka message timestamp, -1 if none */
    const char *payload;
    size_t length;
};

struct record_batch_offset {
    int32_t partition;
    int64_t first_offset; /* of the first message of this partition in the batch */
    int64_t next_offset;  /* the one after its last */
};

struct record_batch;

struct record_batch *record_batch_new(struct error *err);
void record_batch_destroy(struct record_batch *batch);

/* Appends one COPY row (`length` bytes, copied) of the message at `origin` (its payload
 * copied too). */
int record_batch_add_row(struct record_batch *batch, const char *row, size_t length,
                         const struct record_origin *origin, struct error *err);

/* Appends a dead letter: the message at `origin` is consumed but stored only in
 * dead_letters, with `reason`. */
int record_batch_reject(struct record_batch *batch, const struct record_origin *origin, const char *reason,
                        struct error *err);

/* Moves row `row` to the dead letters with `reason` (Postgres refused it). Its text stays
 * in the row buffer: write rows by ranges and skip it. */
int record_batch_reject_row(struct record_batch *batch, size_t row, const char *reason, struct error *err);

size_t record_batch_rows(const struct record_batch *batch);
size_t record_batch_dead_letters(const struct record_batch *batch);
/* Messages consumed into this batch: rows plus dead letters from record_batch_reject. */
size_t record_batch_messages(const struct record_batch *batch);

/* The COPY data of rows [first, first + count), without header and trailer; valid until
 * the next change. */
const char *record_batch_row_data(const struct record_batch *batch, size_t first, size_t count, size_t *length);

/* The COPY text of every dead letter, for `topic`; valid until the next change. */
const char *record_batch_dead_letter_text(struct record_batch *batch, const char *topic, size_t *length,
                                          struct error *err);

/* The partitions of the batch; valid until the next change. */
const struct record_batch_offset *record_batch_offsets(const struct record_batch *batch, size_t *count);

/* Forgets everything, keeping the buffers for the next batch. */
void record_batch_clear(struct record_batch *batch);

#endif
