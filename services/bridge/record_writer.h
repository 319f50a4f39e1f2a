/*
 * Stores record batches in Postgres with their Kafka offsets, exactly once.
 *
 * One transaction per batch holds the rows (COPY, in the batch's row_format), the dead
 * letters (COPY) and the
 * next offset of every partition in the batch (table bridge_offsets). The transaction
 * and the rows' COPY start with the batch: record_writer_stream sends rows while the
 * batch is still filling, so Postgres inserts them while the bridge decodes the next. The offsets only move
 * from the values the caller expects, so a bridge that lost its partitions to another
 * cannot store a stale batch over the new owner's. Owns its connection; after a failure
 * the next call reconnects.
 */
#ifndef BRIDGE_RECORD_WRITER_H
#define BRIDGE_RECORD_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "record_batch.h"
#include "row_format.h"

/* Returned by record_writer_store when an offset was not what the caller expected. */
#define RECORD_WRITER_CONFLICT (-2)

/* No stored offset yet for a partition. */
#define RECORD_WRITER_NO_OFFSET (-1)

struct stored_offset {
    int32_t partition;
    int64_t next_offset;
};

struct record_writer;

/* Does not connect yet; writes rows of `format` (which must outlive it). Destroy with
 * record_writer_destroy. */
struct record_writer *record_writer_new(const char *database_url, const struct row_format *format,
                                        struct error *err);
void record_writer_destroy(struct record_writer *writer);

/* Connects (and checks the schema version) if needed. */
int record_writer_connect(struct record_writer *writer, struct error *err);

/* Reads the stored next offsets of `topic`. *offsets is the caller's to free. */
int record_writer_load_offsets(struct record_writer *writer, const char *topic, struct stored_offset **offsets,
                               size_t *count, struct error *err);

/* Sends the rows added to `batch` since the last call, opening the transaction and
 * its COPY first if needed. After a failure it keeps failing until record_writer_store
 * or record_writer_abandon. */
int record_writer_stream(struct record_writer *writer, const struct record_batch *batch, struct error *err);

/* Cancels the open transaction (the batch is being dropped). */
void record_writer_abandon(struct record_writer *writer);

/* Sends what is left of `batch` and commits it. `expected[i]` is the stored next offset of the
 * batch's i-th partition (record_batch_offsets order), or RECORD_WRITER_NO_OFFSET.
 * Rows Postgres refuses are moved to the batch's dead letters and stored there.
 * Returns 0 once committed; -1 on a database error or RECORD_WRITER_CONFLICT, and then
 * nothing of the batch is stored. */
int record_writer_store(struct record_writer *writer, struct record_batch *batch, const char *topic,
                        const int64_t *expected, struct error *err);

#endif
