/*
 * An outgoing WebSocket text frame, shared by every client it goes to.
 *
 * The payload sits after LWS_PRE bytes of headroom, as lws_write requires. Frames are
 * created on any thread but, once handed to the service thread, referenced and released
 * only there, so the count needs no atomics.
 */
#ifndef API_FRAME_H
#define API_FRAME_H

#include <libwebsockets.h>
#include <stddef.h>

#include "ticker.h"

struct frame {
    struct frame *next;             /* for the queue that hands frames to the service thread */
    int references;
    char ticker[TICKER_NAME_MAX + 1]; /* which ticker a live frame is about; "" for replies */
    size_t length;
    unsigned char bytes[];          /* LWS_PRE headroom, then `length` bytes of payload */
};

/* Returns a frame with one reference holding a copy of `payload`, or NULL (out of memory). */
struct frame *frame_new(const char *ticker, const char *payload, size_t length);

/* A frame holding {"type":"tick","name":...,"value":...,"time":...} for `ticker`. */
struct frame *frame_new_tick(const struct ticker *ticker);

/* A frame holding {"type":"<type>", <key>: <text>} with `text` escaped as a JSON string. */
struct frame *frame_new_reply(const char *type, const char *key, const char *text);

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

#endif
