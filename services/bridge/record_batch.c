#include "record_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"


/* A growable byte buffer, kept between batches. */
struct buffer {
    char *data;
    size_t length, capacity;
};

static int reserve(struct buffer *buffer, size_t more, struct error *err)
{
    if (buffer->capacity - buffer->length >= more)
        return 0;
    size_t capacity = buffer->capacity ? buffer->capacity : 64 * 1024;
    while (capacity - buffer->length < more)
        capacity *= 2;
    char *grown = realloc(buffer->data, capacity);
    if (grown == NULL)
        return error_set(err, "out of memory");
    buffer->data = grown;
    buffer->capacity = capacity;
    return 0;
}

static int append(struct buffer *buffer, const void *bytes, size_t length, struct error *err)
{
    if (reserve(buffer, length, err) < 0)
        return -1;
    if (length > 0)
        memcpy(buffer->data + buffer->length, bytes, length);
    buffer->length += length;
    return 0;
}

/* Grows an array of `size`-byte items to hold one more; `count` items are in use. */
static int grow_array(void **items, size_t *capacity, size_t count, size_t size, struct error *err)
{
    if (count < *capacity)
        return 0;
    size_t new_capacity = *capacity ? *capacity * 2 : 1024;
    void *grown = realloc(*items, new_capacity * size);
    if (grown == NULL)
        return error_set(err, "out of memory");
    *items = grown;
    *capacity = new_capacity;
    return 0;
}

/* A message's origin with its payload kept in the batch's `raw` buffer. */
struct kept_origin {
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
    size_t payload_start, payload_length;
};

struct dead_letter {
    struct kept_origin origin;
    size_t reason_start, reason_length; /* in `raw` */
};

/* Row i's bytes span [rows[i-1].data_end or 0, rows[i].data_end) of the text buffer. */
struct row {
    size_t data_end;
    struct kept_origin origin;
};

struct record_batch {
    struct buffer row_data; /* binary COPY data of the rows */
    struct row *rows;
    size_t row_count, row_capacity;

    struct dead_letter *dead_letters;
    size_t dead_letter_count, dead_letter_capacity;
    size_t rejected_messages; /* dead letters that are not refused rows */

    struct buffer raw;              /* payloads and reasons */
    struct buffer dead_letter_text; /* built on request */

    struct record_batch_offset *offsets;
    size_t offset_count, offset_capacity;
};

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
    free(batch->row_data.data);
    free(batch->rows);
    free(batch->dead_letters);
    free(batch->raw.data);
    free(batch->dead_letter_text.data);
    free(batch->offsets);
    free(batch);
}

static int track_offset(struct record_batch *batch, int32_t partition, int64_t offset, struct error *err)
{
    for (size_t i = 0; i < batch->offset_count; i++) {
        if (batch->offsets[i].partition == partition) {
            if (offset + 1 > batch->offsets[i].next_offset)
                batch->offsets[i].next_offset = offset + 1;
            return 0;
        }
    }
    if (grow_array((void **)&batch->offsets, &batch->offset_capacity, batch->offset_count, sizeof *batch->offsets,
                   err) < 0)
        return -1;
    batch->offsets[batch->offset_count++] = (struct record_batch_offset){partition, offset, offset + 1};
    return 0;
}

static int keep_origin(struct record_batch *batch, const struct record_origin *origin, struct kept_origin *kept,
                       struct error *err)
{
    *kept = (struct kept_origin){origin->partition, origin->offset, origin->timestamp_ms, batch->raw.length,
                                 origin->length};
    return append(&batch->raw, origin->payload, origin->length, err);
}

int record_batch_add_row(struct record_batch *batch, const char *row_bytes, size_t length,
                         const struct record_origin *origin, struct error *err)
{
    if (grow_array((void **)&batch->rows, &batch->row_capacity, batch->row_count, sizeof *batch->rows, err) < 0)
        return -1;
    struct row *row = &batch->rows[batch->row_count];
    if (keep_origin(batch, origin, &row->origin, err) < 0 ||
        track_offset(batch, origin->partition, origin->offset, err) < 0 ||
        append(&batch->row_data, row_bytes, length, err) < 0)
        return -1;
    row->data_end = batch->row_data.length;
    batch->row_count++;
    return 0;
}

static int add_dead_letter(struct record_batch *batch, const struct kept_origin *origin, const char *reason,
                           struct error *err)
{
    if (grow_array((void **)&batch->dead_letters, &batch->dead_letter_capacity, batch->dead_letter_count,
                   sizeof *batch->dead_letters, err) < 0)
        return -1;
    struct dead_letter letter = {*origin, batch->raw.length, strlen(reason)};
    if (append(&batch->raw, reason, letter.reason_length, err) < 0)
        return -1;
    batch->dead_letters[batch->dead_letter_count++] = letter;
    return 0;
}

int record_batch_reject(struct record_batch *batch, const struct record_origin *origin, const char *reason,
                        struct error *err)
{
    struct kept_origin kept;
    if (keep_origin(batch, origin, &kept, err) < 0 || track_offset(batch, origin->partition, origin->offset, err) < 0 ||
        add_dead_letter(batch, &kept, reason, err) < 0)
        return -1;
    batch->rejected_messages++;
    return 0;
}

int record_batch_reject_row(struct record_batch *batch, size_t row, const char *reason, struct error *err)
{
    if (row >= batch->row_count)
        return error_set(err, "no row %zu in the batch", row);
    return add_dead_letter(batch, &batch->rows[row].origin, reason, err);
}

size_t record_batch_rows(const struct record_batch *batch)
{
    return batch->row_count;
}

size_t record_batch_dead_letters(const struct record_batch *batch)
{
    return batch->dead_letter_count;
}

size_t record_batch_messages(const struct record_batch *batch)
{
    return batch->row_count + batch->rejected_messages;
}

const char *record_batch_row_data(const struct record_batch *batch, size_t first, size_t count, size_t *length)
{
    size_t start = first == 0 ? 0 : batch->rows[first - 1].data_end;
    size_t end = count == 0 ? start : batch->rows[first + count - 1].data_end;
    *length = end - start;
    return batch->row_data.data + start;
}

/* Appends `text` escaped for COPY's text format (backslash, tab, newline, carriage return). */
static int append_escaped(struct buffer *out, const char *text, size_t length, struct error *err)
{
    if (reserve(out, length * 2, err) < 0)
        return -1;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        const char *escape = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
        if (escape != NULL) {
            out->data[out->length++] = escape[0];
            out->data[out->length++] = escape[1];
        } else {
            out->data[out->length++] = c;
        }
    }
    return 0;
}

/* bytea in hex ("\x4142"), with the backslash doubled for COPY's text format. */
static int append_bytea(struct buffer *out, const char *bytes, size_t length, struct error *err)
{
    static const char HEX[] = "0123456789abcdef";
    if (reserve(out, 3 + length * 2, err) < 0)
        return -1;
    memcpy(out->data + out->length, "\\\\x", 3);
    out->length += 3;
    for (size_t i = 0; i < length; i++) {
        out->data[out->length++] = HEX[(unsigned char)bytes[i] >> 4];
        out->data[out->length++] = HEX[(unsigned char)bytes[i] & 15];
    }
    return 0;
}

static int append_dead_letter_row(struct record_batch *batch, const char *topic, const struct dead_letter *letter,
                                  struct error *err)
{
    struct buffer *out = &batch->dead_letter_text;
    char numbers[96], time_text[TIMESTAMP_TEXT_SIZE] = "\\N";
    if (letter->origin.timestamp_ms >= 0)
        timestamp_format(letter->origin.timestamp_ms * 1000, time_text);
    int length = snprintf(numbers, sizeof numbers, "\t%d\t%lld\t%s\t", (int)letter->origin.partition,
                          (long long)letter->origin.offset, time_text);
    if (append_escaped(out, topic, strlen(topic), err) < 0 || append(out, numbers, (size_t)length, err) < 0 ||
        append_bytea(out, batch->raw.data + letter->origin.payload_start, letter->origin.payload_length, err) < 0 ||
        append(out, "\t", 1, err) < 0 ||
        append_escaped(out, batch->raw.data + letter->reason_start, letter->reason_length, err) < 0 ||
        append(out, "\n", 1, err) < 0)
        return -1;
    return 0;
}

const char *record_batch_dead_letter_text(struct record_batch *batch, const char *topic, size_t *length,
                                          struct error *err)
{
    batch->dead_letter_text.length = 0;
    for (size_t i = 0; i < batch->dead_letter_count; i++) {
        if (append_dead_letter_row(batch, topic, &batch->dead_letters[i], err) < 0)
            return NULL;
    }
    *length = batch->dead_letter_text.length;
    return batch->dead_letter_text.data != NULL ? batch->dead_letter_text.data : "";
}

const struct record_batch_offset *record_batch_offsets(const struct record_batch *batch, size_t *count)
{
    *count = batch->offset_count;
    return batch->offsets;
}

void record_batch_clear(struct record_batch *batch)
{
    batch->row_data.length = 0;
    batch->row_count = 0;
    batch->dead_letter_count = 0;
    batch->rejected_messages = 0;
    batch->raw.length = 0;
    batch->dead_letter_text.length = 0;
    batch->offset_count = 0;
}
