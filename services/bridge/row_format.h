/*
 * What one kind of topic becomes in PostgreSQL: which table the bridge COPYs into, in which
 * COPY format, and how a message turns into one COPY row. The bridge is the same for every
 * kind (batches, offsets in the same transaction, dead letters); a kind is one of these.
 *   ticker_rows.c  the tickers topic -> records (binary COPY: no timestamp parsing)
 *   trade_rows.c   the trades topic  -> trades  (text COPY: NUMERIC takes the decimal text
 *                                                as received, so no digit is lost)
 * Pure: unit-tested.
 */
#ifndef BRIDGE_ROW_FORMAT_H
#define BRIDGE_ROW_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The longest COPY row any format writes. */
#define ROW_FORMAT_ROW_MAX 1024

struct row_format {
    const char *kind;  /* the value of bridge.kind: "tickers", "trades" */
    const char *table; /* what its rows go into */
    int message_bytes; /* a message's usual size on the wire (sizes the consumer's fetches) */
    const char *copy_sql;
    const char *header; /* COPY data starts with it (binary COPY), NULL for none */
    size_t header_length;
    const char *trailer; /* and ends with it */
    size_t trailer_length;
    /* Decodes one message, read at `offset` of `partition`, and writes its COPY row into
     * `row` (ROW_FORMAT_ROW_MAX bytes). Returns the row's length, or -1 with err set (the
     * message is a dead letter). */
    int (*encode_row)(const char *payload, size_t length, int32_t partition, int64_t offset, char *row,
                      struct error *err);
};

extern const struct row_format TICKER_ROWS;
extern const struct row_format TRADE_ROWS;

/* The format of `kind`, or NULL. */
const struct row_format *row_format_of(const char *kind);

#endif
