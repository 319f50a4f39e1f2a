/*
 * One WebSocket client's bounded queue of frames waiting to be written.
 *
 * Memory stays bounded whatever the client does: the queue grows on demand up to `limit`
 * frames and `limit` x SEND_QUEUE_BYTES_PER_FRAME bytes (batched frames are bigger than single
 * ticks; 10,000 quiet clients cost little), and when a client falls that far behind,
 * its queued ticks are coalesced: each ticker keeps only its newest value, preceded by a
 * gap frame that says which values were left out (merging any earlier gap of that ticker).
 * Control frames (replies, errors, heartbeats) are never dropped. If coalescing cannot
 * make room, the push fails and the caller closes the client. Service thread only.
 */
#ifndef API_SEND_QUEUE_H
#define API_SEND_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* The queue's bytes are bounded at this many per frame of its limit (1 MB at the default 1024). */
#define SEND_QUEUE_BYTES_PER_FRAME 1024

struct send_queue {
    struct frame **ring; /* owned; each entry holds one reference */
    size_t head, count, capacity, limit;
    size_t bytes, byte_limit; /* the payloads queued (shared frames counted in full), and their bound */
    uint64_t coalesced; /* tick frames left out so far */
};

enum send_result {
    SEND_QUEUED,    /* room was left */
    SEND_COALESCED, /* the queue was full: older ticks were replaced by gap frames */
    SEND_FULL,      /* no room even after coalescing: the frame was released */
};

/* An empty queue of at most `limit` frames (limit >= 4) and their bytes. Allocates nothing yet. */
void send_queue_init(struct send_queue *queue, size_t limit);

/* Appends `frame`, taking over the caller's reference in every case. */
enum send_result send_queue_push(struct send_queue *queue, struct frame *frame);

/* Removes and returns the oldest frame (the caller owns its reference), or NULL. */
struct frame *send_queue_pop(struct send_queue *queue);

/* Releases every frame and the ring. The queue can be used again after send_queue_init. */
void send_queue_clear(struct send_queue *queue);

#endif
