/*
 * An outgoing WebSocket text frame, shared by every client it goes to.
 *
 * The payload sits after LWS_PRE bytes of headroom, as lws_write requires. Frames are
 * created and referenced on the service thread only, so the count needs no atomics.
 * Tick and gap frames carry what the send queue needs to coalesce them (ticker id, times).
 */
#ifndef API_FRAME_H
#define API_FRAME_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include "live_candle.h"
#include "ticker.h"

enum frame_kind {
    FRAME_CONTROL, /* replies, errors, heartbeats: never coalesced */
    FRAME_TICK,    /* one value of one ticker */
    FRAME_GAP,     /* "these values of this ticker were left out" */
};

struct frame {
    enum frame_kind kind;
    int references;
    int ticker_id;   /* FRAME_TICK and FRAME_GAP: the ticker table's id, else -1 */
    char ticker[TICKER_NAME_MAX + 1]; /* FRAME_TICK and FRAME_GAP: its name, else "" */
    int64_t time_us;     /* FRAME_TICK: the tick's time; FRAME_GAP: "before", the next value's time */
    int64_t previous_us; /* FRAME_TICK: "prev"; FRAME_GAP: "after"; INT64_MIN when unknown */
    int64_t gap_missed;  /* FRAME_GAP: how many values were left out; -1 when unknown */
    size_t length;
    unsigned char bytes[]; /* LWS_PRE headroom, then `length` bytes of payload */
};

/* Each constructor returns a frame with one reference, or NULL when out of memory. */

/* A FRAME_CONTROL frame holding a copy of `payload`. */
struct frame *frame_new(const char *payload, size_t length);

/* Where a tick came from: its Kafka position, and the time of the ticker's previous tick
 * (INT64_MIN when unknown). partition < 0: read from PostgreSQL, not Kafka. */
struct tick_origin {
    int32_t partition;
    int64_t offset;
    int64_t previous_us;
};

/* {"type":"tick","name","value","time","prev","partition","offset"}: partition and
 * offset only when the tick came from Kafka, prev null when unknown. */
struct frame *frame_new_tick(int ticker_id, const struct ticker *ticker, const struct tick_origin *origin);

/* {"type":"gap","name","after","before","missed"}: the values of `name` with times after
 * `after_us` and before `before_us` were left out, `missed` of them (null when unknown,
 * -1; "after" null when INT64_MIN). The client can fetch them with the history API. */
struct frame *frame_new_gap(int ticker_id, const char *name, int64_t after_us, int64_t before_us, int64_t missed);

/* {"type":"<type>", <key>: <text>} with `text` escaped as a JSON string. */
struct frame *frame_new_reply(const char *type, const char *key, const char *text);

/* {"type":"error","code":"<code>","error":"<reason>"} plus "ticker" when not NULL. The
 * reason and ticker may quote a client's bytes: invalid UTF-8 in them becomes '?'. */
struct frame *frame_new_error(const char *code, const char *reason, const char *ticker);

static inline unsigned char *frame_payload(struct frame *frame)
{
    return frame->bytes + LWS_PRE;
}

static inline struct frame *frame_ref(struct frame *frame)
{
    frame->references++;
    return frame;
}

/* Drops one reference; the last one frees the frame. NULL does nothing. */
void frame_release(struct frame *frame);

/* {"type":"candle","name":...,"start":...,"end":...,"open":...,...,"partial":...}: a control
 * frame (whole, so a client that missed one reads the next on its own). */
struct frame *frame_new_candle(const char *name, const struct live_candle *candle);

#endif
