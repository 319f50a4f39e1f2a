/*
 * Stores record batches in Postgres: one transaction per batch, rows sent with COPY.
 * Owns its connection and reconnects on the next write after a failure.
 */
#ifndef BRIDGE_RECORD_WRITER_H
#define BRIDGE_RECORD_WRITER_H

#include "error.h"
#include "record_batch.h"

struct record_writer;

/* Does not connect yet: the first write does. Destroy with record_writer_destroy. */
struct record_writer *record_writer_new(const char *database_url, struct error *err);
void record_writer_destroy(struct record_writer *writer);

/* Connects (and applies the schema) if needed. */
int record_writer_connect(struct record_writer *writer, struct error *err);

/* Stores every row of `batch` in one committed transaction, or none of them (returns -1).
 * After a failure the connection is dropped, so the next call starts afresh. */
int record_writer_write(struct record_writer *writer, const struct record_batch *batch, struct error *err);

#endif
