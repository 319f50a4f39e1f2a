#include "raw_ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE 65536
#define OPCODE_CONTINUATION 0x0
#define OPCODE_TEXT 0x1
#define OPCODE_CLOSE 0x8
#define OPCODE_PING 0x9

int raw_ws_connect(struct raw_ws *ws, const char *host, int port)
{
    *ws = (struct raw_ws){.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (ws->fd < 0)
        return -1;
    int one = 1;
    setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1 ||
        (connect(ws->fd, (struct sockaddr *)&address, sizeof address) < 0 && errno != EINPROGRESS)) {
        close(ws->fd);
        ws->fd = -1;
        return -1;
    }
    ws->state = RAW_WS_CONNECTING;
    return 0;
}

/* Writes all of `bytes` or fails: the frames sent here are small, the socket buffer empty. */
static int write_all(int fd, const void *bytes, size_t length)
{
    ssize_t written = write(fd, bytes, length);
    return written == (ssize_t)length ? 0 : -1;
}

int raw_ws_on_writeable(struct raw_ws *ws, const char *host, int port, const char *path)
{
    if (ws->state != RAW_WS_CONNECTING)
        return 0;
    int error = 0;
    socklen_t size = sizeof error;
    if (getsockopt(ws->fd, SOL_SOCKET, SO_ERROR, &error, &size) < 0 || error != 0) {
        ws->state = RAW_WS_CLOSED;
        return -1;
    }
    char request[256];
    /* The key need not be random for a load test; the server answers its accept hash. */
    int length = snprintf(request, sizeof request,
                          "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                          path, host, port);
    ws->state = RAW_WS_HANDSHAKE;
    return write_all(ws->fd, request, (size_t)length);
}

static int send_frame(struct raw_ws *ws, int opcode, const void *payload, size_t length)
{
    unsigned char frame[14 + 1024];
    if (length > 1024)
        return -1;
    size_t at = 0;
    frame[at++] = (unsigned char)(0x80 | opcode);
    if (length < 126) {
        frame[at++] = (unsigned char)(0x80 | length);
    } else {
        frame[at++] = 0x80 | 126;
        frame[at++] = (unsigned char)(length >> 8);
        frame[at++] = (unsigned char)length;
    }
    static const unsigned char MASK[4] = {0x12, 0x34, 0x56, 0x78}; /* clients must mask (RFC 6455 5.3) */
    memcpy(frame + at, MASK, 4);
    at += 4;
    for (size_t i = 0; i < length; i++)
        frame[at + i] = ((const unsigned char *)payload)[i] ^ MASK[i % 4];
    return write_all(ws->fd, frame, at + length);
}

int raw_ws_send_text(struct raw_ws *ws, const char *text, size_t length)
{
    return send_frame(ws, OPCODE_TEXT, text, length);
}

/* One frame from the buffer's start: its header size and payload length, or 0 when more
 * bytes are needed. */
static size_t frame_header(const unsigned char *bytes, size_t available, uint64_t *payload)
{
    if (available < 2)
        return 0;
    size_t header = 2;
    uint64_t length = bytes[1] & 0x7f;
    if (length == 126) {
        header = 4;
        if (available < header)
            return 0;
        length = (uint64_t)bytes[2] << 8 | bytes[3];
    } else if (length == 127) {
        header = 10;
        if (available < header)
            return 0;
        length = 0;
        for (int i = 2; i < 10; i++)
            length = length << 8 | bytes[i];
    }
    if (bytes[1] & 0x80)
        header += 4; /* a masked frame: never from a server, but skip the key all the same */
    *payload = length;
    return available >= header ? header : 0;
}

static int deliver(struct raw_ws *ws, int opcode, bool final, const unsigned char *payload, size_t length,
                   void (*on_message)(void *, const char *, size_t), void *user)
{
    if (opcode == OPCODE_PING)
        return send_frame(ws, 0xA, payload, length);
    if (opcode == OPCODE_CLOSE) {
        ws->close_code = length >= 2 ? (uint16_t)(payload[0] << 8 | payload[1]) : 1005;
        return -1;
    }
    if (opcode != OPCODE_TEXT && opcode != OPCODE_CONTINUATION)
        return 0; /* pong, binary: not ours */
    if (final && ws->message_length == 0) {
        on_message(user, (const char *)payload, length);
        return 0;
    }
    if (ws->message_length + length > ws->message_capacity) {
        ws->message_capacity = (ws->message_length + length) * 2;
        if ((ws->message = realloc(ws->message, ws->message_capacity)) == NULL)
            return -1;
    }
    memcpy(ws->message + ws->message_length, payload, length);
    ws->message_length += length;
    if (final) {
        on_message(user, ws->message, ws->message_length);
        ws->message_length = 0;
    }
    return 0;
}

/* Takes the handshake answer and every whole frame from data[0..have); returns the bytes
 * consumed, or -1 when the connection ends. *opened is set when the handshake completed. */
static long consume(struct raw_ws *ws, const unsigned char *data, size_t have, int *opened,
                    void (*on_message)(void *, const char *, size_t), void *user)
{
    size_t consumed = 0;
    if (ws->state == RAW_WS_HANDSHAKE) {
        const unsigned char *end = memmem(data, have, "\r\n\r\n", 4);
        if (end == NULL)
            return have > 8192 ? -1 : 0;
        if (have < 12 || memcmp(data, "HTTP/1.1 101", 12) != 0)
            return -1;
        consumed = (size_t)(end + 4 - data);
        ws->state = RAW_WS_OPEN;
        *opened = 1;
    }
    for (;;) {
        uint64_t payload;
        size_t header = frame_header(data + consumed, have - consumed, &payload);
        if (header == 0 || have - consumed - header < payload)
            return (long)consumed;
        const unsigned char *bytes = data + consumed;
        if (deliver(ws, bytes[0] & 0x0f, (bytes[0] & 0x80) != 0, bytes + header, (size_t)payload, on_message, user) < 0)
            return -1;
        consumed += header + (size_t)payload;
    }
}

static int reserve(struct raw_ws *ws, size_t capacity)
{
    if (ws->capacity >= capacity)
        return 0;
    unsigned char *grown = realloc(ws->buffer, capacity);
    if (grown == NULL)
        return -1;
    ws->buffer = grown;
    ws->capacity = capacity;
    return 0;
}

int raw_ws_on_readable(struct raw_ws *ws, void (*on_message)(void *user, const char *text, size_t length),
                       void *user)
{
    /* Reads go to one buffer shared by every connection; a connection keeps only the start
     * of a frame that has not arrived whole (10,000 quiet boards hold nothing). */
    static unsigned char scratch[READ_SIZE];
    int opened = 0;
    for (;;) {
        bool own = ws->length > 0;
        if (own && reserve(ws, ws->length + READ_SIZE) < 0)
            return -1;
        unsigned char *data = own ? ws->buffer : scratch;
        ssize_t got = read(ws->fd, data + (own ? ws->length : 0), READ_SIZE);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            ws->state = RAW_WS_CLOSED;
            return -1;
        }
        if (got < 0)
            break;
        size_t have = (own ? ws->length : 0) + (size_t)got;
        long consumed = consume(ws, data, have, &opened, on_message, user);
        if (consumed < 0) {
            ws->state = RAW_WS_CLOSED;
            return -1;
        }
        size_t left = have - (size_t)consumed;
        if (own) {
            memmove(ws->buffer, ws->buffer + consumed, left);
        } else if (left > 0) {
            if (reserve(ws, left + READ_SIZE) < 0)
                return -1;
            memcpy(ws->buffer, scratch + consumed, left);
        }
        ws->length = left;
        if (left == 0 && ws->buffer != NULL) {
            free(ws->buffer);
            ws->buffer = NULL;
            ws->capacity = 0;
        }
        if ((size_t)got < READ_SIZE)
            break; /* drained for now */
    }
    return opened;
}

void raw_ws_close(struct raw_ws *ws)
{
    if (ws->fd >= 0)
        close(ws->fd);
    ws->fd = -1;
    ws->state = RAW_WS_CLOSED;
    free(ws->buffer);
    free(ws->message);
    ws->buffer = NULL;
    ws->message = NULL;
}
