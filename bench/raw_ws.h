/*
 * A minimal WebSocket client for load tests: one non-blocking TCP connection, the opening
 * handshake, masked text frames out, and whole messages in (text, ping answered, close).
 *
 * Why not libwebsockets' client, as ws-load's one-ticker mode uses: its receive path walks
 * every payload byte through a state machine (half the load client's CPU in a profile of
 * 100 kB/s-per-board batches), so with thousands of boards on the same two cores the load
 * client, not the server, would be measured. This one reads 64 kB at a time and hands over
 * each message where it lies in the buffer. Single-threaded; the caller runs the epoll loop.
 */
#ifndef BENCH_RAW_WS_H
#define BENCH_RAW_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum raw_ws_state { RAW_WS_CONNECTING, RAW_WS_HANDSHAKE, RAW_WS_OPEN, RAW_WS_CLOSED };

struct raw_ws {
    int fd;
    enum raw_ws_state state;
    unsigned char *buffer; /* bytes read and not yet consumed */
    size_t length, capacity;
    char *message;         /* a message in fragments, gathered */
    size_t message_length, message_capacity;
    uint16_t close_code;   /* the server's, once closed by it */
};

/* Starts connecting to host:port (a numeric IPv4 address); the caller adds the fd to its
 * epoll set for EPOLLIN | EPOLLOUT. Returns -1 on an immediate failure. */
int raw_ws_connect(struct raw_ws *ws, const char *host, int port);

/* The socket is writeable (the connection finished): sends the handshake for `path`. */
int raw_ws_on_writeable(struct raw_ws *ws, const char *host, int port, const char *path);

/* Sends `text` as one masked text frame. -1 when the socket would not take it whole. */
int raw_ws_send_text(struct raw_ws *ws, const char *text, size_t length);

/* Reads what arrived; for each whole text message calls on_message(user, text, length).
 * Returns 1 when the handshake completed in this call, 0 otherwise, -1 when the connection
 * ended (closed by the server, reset, or a protocol error: the state says RAW_WS_CLOSED). */
int raw_ws_on_readable(struct raw_ws *ws, void (*on_message)(void *user, const char *text, size_t length),
                       void *user);

void raw_ws_close(struct raw_ws *ws);

#endif
