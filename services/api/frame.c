#include "frame.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"
#include "error.h"
#include "utf8.h"

static struct frame *frame_alloc(enum frame_kind kind, const char *payload, size_t length)
{
    struct frame *frame = malloc(sizeof *frame + LWS_PRE + length);
    if (frame == NULL)
        return NULL;
    *frame = (struct frame){.kind = kind, .references = 1, .ticker_id = -1, .previous_us = INT64_MIN, .length = length};
    memcpy(frame_payload(frame), payload, length);
    return frame;
}

struct frame *frame_new(const char *payload, size_t length)
{
    return frame_alloc(FRAME_CONTROL, payload, length);
}

/* A JSON string of a time, or null for INT64_MIN. */
static void format_optional_time(int64_t microseconds, char out[TIMESTAMP_TEXT_SIZE + 2])
{
    char text[TIMESTAMP_TEXT_SIZE];
    if (microseconds == INT64_MIN || timestamp_format(microseconds, text) < 0)
        strcpy(out, "null");
    else
        snprintf(out, TIMESTAMP_TEXT_SIZE + 2, "\"%s\"", text);
}

struct frame *frame_new_tick(int ticker_id, const struct ticker *ticker, const struct tick_origin *origin)
{
    char time_text[TIMESTAMP_TEXT_SIZE], previous[TIMESTAMP_TEXT_SIZE + 2], position[64] = "";
    char json[256];
    timestamp_format(ticker->time_us, time_text);
    format_optional_time(origin->previous_us, previous);
    if (origin->partition >= 0)
        snprintf(position, sizeof position, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64, origin->partition,
                 origin->offset);
    /* The name is [A-Za-z0-9_] (validated on decode): nothing to escape. */
    int length = snprintf(json, sizeof json, "{\"type\":\"tick\",\"name\":\"%s\",\"value\":%d,\"time\":\"%s\",\"prev\":%s%s}",
                          ticker->name, (int)ticker->value, time_text, previous, position);
    struct frame *frame = frame_alloc(FRAME_TICK, json, (size_t)length);
    if (frame != NULL) {
        frame->ticker_id = ticker_id;
        memcpy(frame->ticker, ticker->name, sizeof frame->ticker);
        frame->time_us = ticker->time_us;
        frame->previous_us = origin->previous_us;
    }
    return frame;
}

struct frame *frame_new_gap(int ticker_id, const char *name, int64_t after_us, int64_t before_us, int64_t missed)
{
    char after_text[TIMESTAMP_TEXT_SIZE + 2], before_text[TIMESTAMP_TEXT_SIZE + 2], missed_text[24], json[192];
    format_optional_time(after_us, after_text);
    format_optional_time(before_us, before_text);
    if (missed < 0)
        strcpy(missed_text, "null");
    else
        snprintf(missed_text, sizeof missed_text, "%" PRId64, missed);
    int length = snprintf(json, sizeof json, "{\"type\":\"gap\",\"name\":\"%s\",\"after\":%s,\"before\":%s,\"missed\":%s}",
                          name, after_text, before_text, missed_text);
    struct frame *frame = frame_alloc(FRAME_GAP, json, (size_t)length);
    if (frame != NULL) {
        frame->ticker_id = ticker_id;
        snprintf(frame->ticker, sizeof frame->ticker, "%s", name);
        frame->time_us = before_us;
        frame->previous_us = after_us;
        frame->gap_missed = missed;
    }
    return frame;
}

static struct frame *frame_from_json(json_t *object)
{
    if (object == NULL)
        return NULL;
    char *json = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(object);
    if (json == NULL)
        return NULL;
    struct frame *frame = frame_new(json, strlen(json));
    free(json);
    return frame;
}

struct frame *frame_new_reply(const char *type, const char *key, const char *text)
{
    return frame_from_json(json_pack("{s:s, s:s}", "type", type, key, text));
}

struct frame *frame_new_error(const char *code, const char *reason, const char *ticker)
{
    /* The reason may quote the client's bytes: made valid UTF-8, or JSON would refuse it
     * and the client would get no error at all. */
    char valid_reason[ERROR_MESSAGE_MAX], valid_ticker[ERROR_MESSAGE_MAX];
    utf8_copy_valid(valid_reason, sizeof valid_reason, reason);
    json_t *object = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "error", valid_reason);
    if (object != NULL && ticker != NULL) {
        utf8_copy_valid(valid_ticker, sizeof valid_ticker, ticker);
        json_object_set_new(object, "ticker", json_string(valid_ticker));
    }
    return frame_from_json(object);
}

struct frame *frame_new_candle(const char *name, const struct live_candle *live)
{
    char start[TIMESTAMP_TEXT_SIZE], end[TIMESTAMP_TEXT_SIZE], json[384];
    const struct candle *candle = &live->candle;
    timestamp_format(candle->start_us, start);
    timestamp_format(candle->end_us, end);
    int length = snprintf(json, sizeof json,
                          "{\"type\":\"candle\",\"name\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"open\":%d,"
                          "\"high\":%d,\"low\":%d,\"close\":%d,\"up_moves\":%" PRId64 ",\"down_moves\":%" PRId64
                          ",\"ticks\":%" PRId64 ",\"partial\":%s}",
                          name, start, end, (int)candle->open, (int)candle->high, (int)candle->low, (int)candle->close,
                          candle->up_moves, candle->down_moves, candle->ticks, live->partial ? "true" : "false");
    return frame_new(json, (size_t)length);
}

void frame_release(struct frame *frame)
{
    if (frame != NULL && --frame->references == 0)
        free(frame);
}
