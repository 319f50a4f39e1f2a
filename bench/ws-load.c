/*
 * ws-load: many real WebSocket clients (libwebsockets) against tickerflow-api.
 *
 * Opens N connections, each subscribed to one ticker (connection i watches ticker
 * i mod T), waits until all are subscribed plus a warm-up, then for the measurement
 * window records every tick: latency from the tick's own time (set by the producer) to
 * its receipt here, and whether it follows the connection's previous tick ("prev"),
 * i.e. no value was lost. Prints one line of figures per item; bench/ws-fanout runs it.
 *
 * Board mode (--board): each connection watches every ticker ("tickers": "*"), as the
 * dashboard's market board does, optionally batched (--batch-ms N: {"type":"ticks"} frames)
 * and conflated (--conflate). Every tick's chain is checked per connection and ticker; a
 * conflated entry's "count" is checked against a reference connection that receives every
 * value: the values it saw after the connection's previous entry, up to this one, must be
 * exactly `count`. bench/ws-boards runs it.
 *
 *   ws-load --port 5000 [--host 127.0.0.1] [--connections 10000] [--tickers 100]
 *           [--warmup-s 5] [--measure-s 30] [--connect-per-tick 200]
 *           [--board [--batch-ms N] [--conflate]]
 */
#include <ev.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <sys/epoll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "raw_ws.h"
#include "timestamp.h"

#define LATENCY_SLOTS 600000 /* 0.1 ms resolution up to 60 s */
#define SUBSCRIBE_TIMEOUT_S 60   /* after the last connection attempt */

#define TIME_TEXT 27 /* "2026-12-03T16:31:51.123456Z" */
#define MAX_TICKERS 100

/* Board mode: what one connection has of one ticker. */
struct board_ticker {
    char last[TIME_TEXT]; /* its newest time received; last[0] == 0: none yet */
    int64_t last_us;
    int64_t base_us;      /* the time before its first entry inside the window (conflated check) */
    int64_t counted;      /* values its entries inside the window stand for */
    int64_t window_last_us; /* its newest entry's time inside the window */
    bool in_window;
};

struct connection {
    struct lws *wsi;             /* one-ticker mode: libwebsockets' client */
    struct raw_ws raw;           /* board mode: raw_ws.h */
    int ticker;
    bool subscribed_sent, subscribed;
    bool reference;               /* board mode, conflated: the one that gets every value */
    char last_time[32]; /* the previous tick's time, to check the next one's prev */
    struct board_ticker *board;   /* board mode: MAX_TICKERS entries */
    char *message;                /* a message arriving in fragments */
    size_t message_length, message_capacity;
};

/* Per ticker, the tick being received by its connections: the first receipt shows the way
 * through Kafka to the server, the spread between first and last the fan-out itself. */
struct tick_in_flight {
    int64_t time_us, first_latency_us, last_latency_us;
};

struct options {
    const char *host;
    int port, connections, tickers, warmup_s, measure_s, connect_per_tick;
    bool board, conflate;
    int batch_ms;
};

/* Board mode, conflated: every time the reference connection received, per ticker, in order. */
struct time_list {
    int64_t *times;
    size_t count, capacity;
};

static struct {
    struct options options;
    struct lws_context *context;
    struct connection *connections;
    int next_to_connect, established, subscribed, failed, closed;
    int closed_unsubscribed;     /* closed before their subscription was confirmed */
    int64_t all_tried_us;        /* when the last connection was attempted */
    bool aborted;
    int64_t measure_from_us, measure_until_us;
    uint64_t received, measured, broken_chains, gaps, errors;
    uint64_t *latency; /* histogram, LATENCY_SLOTS */
    uint64_t *first_latency, *fanout_spread, ticks_measured; /* histograms per tick, LATENCY_SLOTS */
    struct tick_in_flight ticks[100];
    int64_t latency_max_us;
    int64_t *latency_max_by_second_us; /* measure_s entries: when in the window the tail happens */
    uint64_t frames_measured, values_measured; /* board mode: frames and the values entries stand for */
    uint64_t reference_broken, count_checks, count_mismatches;
    struct time_list reference_times[MAX_TICKERS];
    int64_t verify_at_us; /* board mode: when the counts are checked (after the window, the reference caught up) */
    double cpu_at_start_s, cpu_at_end_s; /* this process's CPU time around the measurement */
    lws_sorted_usec_list_t timer;
    bool done;
} bench;

static void add_to_histogram(uint64_t *histogram, int64_t microseconds)
{
    int64_t slot = microseconds < 0 ? 0 : microseconds / 100;
    histogram[slot < LATENCY_SLOTS ? slot : LATENCY_SLOTS - 1]++;
}

static void record_tick_receipt(int ticker, int64_t time_us, int64_t latency)
{
    struct tick_in_flight *tick = &bench.ticks[ticker];
    if (tick->time_us == time_us) {
        tick->last_latency_us = latency;
        return;
    }
    if (tick->time_us != 0) {
        add_to_histogram(bench.first_latency, tick->first_latency_us);
        add_to_histogram(bench.fanout_spread, tick->last_latency_us - tick->first_latency_us);
        bench.ticks_measured++;
    }
    *tick = (struct tick_in_flight){.time_us = time_us, .first_latency_us = latency, .last_latency_us = latency};
}

static void record_tick(struct connection *connection, const char *text, size_t length)
{
    /* {"type":"tick","name":"ticker_07","value":3,"time":"...","prev":"..."|null,...} */
    const char *time = memmem(text, length, "\"time\":\"", 8);
    const char *prev = memmem(text, length, "\"prev\":", 7);
    if (time == NULL || prev == NULL)
        return;
    time += 8;
    size_t time_length = strcspn(time, "\"");
    int64_t time_us;
    struct error err;
    if (time_length >= sizeof connection->last_time || timestamp_parse(time, time_length, &time_us, &err) < 0)
        return;
    int64_t now = timestamp_now_us();
    bench.received++;
    if (now >= bench.measure_from_us && now < bench.measure_until_us) {
        bench.measured++;
        int64_t latency = now - time_us;
        if (latency < 0)
            latency = 0;
        if (latency > bench.latency_max_us)
            bench.latency_max_us = latency;
        int64_t second = (now - bench.measure_from_us) / 1000000;
        if (latency > bench.latency_max_by_second_us[second])
            bench.latency_max_by_second_us[second] = latency;
        add_to_histogram(bench.latency, latency);
        record_tick_receipt(connection->ticker, time_us, latency);
        /* Each connection watches one ticker: every tick must follow the one before. */
        prev += 7;
        if (connection->last_time[0] != '\0' &&
            (prev[0] != '"' || strncmp(prev + 1, connection->last_time, strlen(connection->last_time)) != 0))
            bench.broken_chains++;
    }
    memcpy(connection->last_time, time, time_length);
    connection->last_time[time_length] = '\0';
}

/* ---- board mode ------------------------------------------------------------------------ */

static void reference_add(int ticker, int64_t time_us)
{
    struct time_list *list = &bench.reference_times[ticker];
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 1024;
        list->times = realloc(list->times, list->capacity * sizeof *list->times);
        if (list->times == NULL)
            abort();
    }
    list->times[list->count++] = time_us;
}

/* How many values the reference received of `ticker` with after_us < time <= until_us. */
static int64_t reference_between(int ticker, int64_t after_us, int64_t until_us)
{
    const struct time_list *list = &bench.reference_times[ticker];
    size_t low = 0, high = list->count; /* first index with time > after_us */
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (list->times[middle] <= after_us)
            low = middle + 1;
        else
            high = middle;
    }
    int64_t count = 0;
    for (size_t i = low; i < list->count && list->times[i] <= until_us; i++)
        count++;
    return count;
}

/* "2026-12-03T16:31:51.123456Z" (the server's only form) to microseconds, quickly: a board
 * client reads a million of them a second. -1 when it is not that form. */
static int64_t fast_time_us(const char *text)
{
    static const int LAYOUT[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25};
    int d[20];
    for (int i = 0; i < 20; i++) {
        d[i] = text[LAYOUT[i]] - '0';
        if (d[i] < 0 || d[i] > 9)
            return -1;
    }
    int year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3], month = d[4] * 10 + d[5], day = d[6] * 10 + d[7];
    /* days from 1970-01-01 (Howard Hinnant's days_from_civil) */
    year -= month <= 2;
    int era = year / 400, year_of_era = year - era * 400;
    int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    int64_t days = (int64_t)era * 146097 + day_of_era - 719468;
    int64_t seconds = days * 86400 + (d[8] * 10 + d[9]) * 3600 + (d[10] * 10 + d[11]) * 60 + d[12] * 10 + d[13];
    int64_t micros = 0;
    for (int i = 14; i < 20; i++)
        micros = micros * 10 + d[i];
    return seconds * 1000000 + micros;
}

/* One tick of a board: {"type":"tick","name":"ticker_07","value":3,"time":"...","prev":...[,"count":N]}. */
static void board_tick(struct connection *connection, const char *entry, size_t length, int64_t now, bool in_window)
{
    static const char NAME[] = "{\"type\":\"tick\",\"name\":\"ticker_";
    if (length < 100 || memcmp(entry, NAME, sizeof NAME - 1) != 0)
        return;
    int ticker = (entry[30] - '0') * 10 + (entry[31] - '0');
    const char *time = memmem(entry + 42, length - 42, "\"time\":\"", 8);
    if (time == NULL || time + 8 + TIME_TEXT + 9 > entry + length)
        return;
    time += 8;
    const char *prev = time + TIME_TEXT + 9; /* past ","prev": */
    int64_t time_us = fast_time_us(time), count = 1;
    if (ticker < 0 || ticker >= MAX_TICKERS || time_us < 0)
        return;
    if (bench.options.conflate && !connection->reference) {
        const char *colon = memrchr(entry, ':', length);
        count = colon != NULL && memcmp(colon - 7, "\"count\"", 7) == 0 ? strtoll(colon + 1, NULL, 10) : 0;
    }
    struct board_ticker *mine = &connection->board[ticker];
    bool has_last = mine->last[0] != '\0';
    bool follows = prev[0] == '"' && memcmp(prev + 1, mine->last, TIME_TEXT) == 0;
    if (connection->reference) {
        if (has_last && !follows)
            bench.reference_broken++;
        reference_add(ticker, time_us);
    } else {
        bench.received++;
        if (in_window) {
            bench.measured++;
            bench.values_measured += (uint64_t)count;
            int64_t latency = now - time_us < 0 ? 0 : now - time_us;
            if (latency > bench.latency_max_us)
                bench.latency_max_us = latency;
            int64_t second = (now - bench.measure_from_us) / 1000000;
            if (latency > bench.latency_max_by_second_us[second])
                bench.latency_max_by_second_us[second] = latency;
            add_to_histogram(bench.latency, latency);
            record_tick_receipt(ticker, time_us, latency);
            /* Every value follows the one before; a conflated one that stands for several
             * follows a value the client skipped, newer than its last. */
            bool chained = count == 1 ? follows : count > 1 && prev[0] == '"' && memcmp(prev + 1, mine->last, TIME_TEXT) > 0;
            if (has_last && !chained)
                bench.broken_chains++;
            if (!mine->in_window && has_last) {
                mine->in_window = true;
                mine->base_us = mine->last_us;
            }
            if (mine->in_window) {
                mine->counted += count;
                mine->window_last_us = time_us;
            }
        }
    }
    memcpy(mine->last, time, TIME_TEXT);
    mine->last_us = time_us;
}

/* A board's message: a "ticks" batch, a single tick, or a reply. */
static void board_message(struct connection *connection, const char *text, size_t length)
{
    int64_t now = timestamp_now_us();
    bool in_window = now >= bench.measure_from_us && now < bench.measure_until_us && bench.measure_from_us != 0;
    const char *end = text + length;
    if (length > 15 && memcmp(text, "{\"type\":\"ticks\"", 15) == 0) {
        if (in_window && !connection->reference)
            bench.frames_measured++;
        const char *entry = memchr(text, '[', length);
        while (entry != NULL && entry + 1 < end && entry[1] == '{') {
            entry++;
            const char *close = memchr(entry, '}', (size_t)(end - entry));
            if (close == NULL)
                break;
            if (memcmp(entry, "{\"type\":\"tick\"", 14) == 0)
                board_tick(connection, entry, (size_t)(close + 1 - entry), now, in_window);
            else if (memcmp(entry, "{\"type\":\"gap\"", 13) == 0)
                bench.gaps++;
            entry = close + 1; /* at ',' or ']' */
        }
    } else if (length > 14 && memcmp(text, "{\"type\":\"tick\"", 14) == 0) {
        if (in_window && !connection->reference)
            bench.frames_measured++;
        board_tick(connection, text, length, now, in_window);
    } else if (memmem(text, length, "\"type\":\"subscribed\"", 19) != NULL && !connection->subscribed) {
        connection->subscribed = true;
        bench.subscribed++;
    } else if (memmem(text, length, "\"type\":\"gap\"", 12) != NULL) {
        bench.gaps++;
    } else if (memmem(text, length, "\"type\":\"error\"", 14) != NULL) {
        bench.errors++;
    }
}

/* After the window: each connection's conflated entries of each ticker stood for exactly the
 * values the reference received in that span. */
static void verify_counts(void)
{
    for (int i = 0; i < bench.options.connections; i++) {
        const struct connection *connection = &bench.connections[i];
        if (connection->reference || connection->board == NULL)
            continue;
        for (int ticker = 0; ticker < MAX_TICKERS; ticker++) {
            const struct board_ticker *mine = &connection->board[ticker];
            if (!mine->in_window)
                continue;
            bench.count_checks++;
            int64_t expected = reference_between(ticker, mine->base_us, mine->window_last_us);
            if (expected != mine->counted && ++bench.count_mismatches <= 5)
                fprintf(stderr, "ws-load: connection %d, ticker_%02d: entries stood for %" PRId64 " values, the reference "
                                "got %" PRId64 "\n", i, ticker, mine->counted, expected);
        }
    }
}

/* Whole messages, from the fragments lws hands over (batches outgrow its receive buffer). */
static void receive(struct lws *wsi, struct connection *connection, const char *in, size_t length)
{
    bool whole = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (whole && connection->message_length == 0) {
        board_message(connection, in, length);
        return;
    }
    if (connection->message_length + length > connection->message_capacity) {
        connection->message_capacity = (connection->message_length + length) * 2;
        connection->message = realloc(connection->message, connection->message_capacity);
        if (connection->message == NULL)
            abort();
    }
    memcpy(connection->message + connection->message_length, in, length);
    connection->message_length += length;
    if (whole) {
        board_message(connection, connection->message, connection->message_length);
        connection->message_length = 0;
    }
}

/* The subscribe message of `connection`. */
static int subscribe_text(const struct connection *connection, char *out, size_t size)
{
    char options[64] = "";
    if (bench.options.batch_ms > 0)
        snprintf(options, sizeof options, ",\"batch_ms\":%d%s", bench.options.batch_ms,
                 bench.options.conflate && !connection->reference ? ",\"conflate\":true" : "");
    return bench.options.board
               ? snprintf(out, size, "{\"op\":\"subscribe\",\"tickers\":\"*\"%s}", options)
               : snprintf(out, size, "{\"op\":\"subscribe\",\"tickers\":[\"ticker_%02d\"]}", connection->ticker);
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t length)
{
    struct connection *connection = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        bench.established++;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (connection != NULL && !connection->subscribed_sent) {
            unsigned char buffer[LWS_PRE + 128];
            int n = subscribe_text(connection, (char *)buffer + LWS_PRE, 128);
            if (lws_write(wsi, buffer + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
                return -1;
            connection->subscribed_sent = true;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (connection == NULL)
            return 0;
        if (bench.options.board)
            receive(wsi, connection, in, length);
        else if (length > 14 && memcmp(in, "{\"type\":\"tick\"", 14) == 0)
            record_tick(connection, in, length);
        else if (memmem(in, length, "\"type\":\"subscribed\"", 19) != NULL && !connection->subscribed) {
            connection->subscribed = true;
            bench.subscribed++;
        } else if (memmem(in, length, "\"type\":\"gap\"", 12) != NULL)
            bench.gaps++;
        else if (memmem(in, length, "\"type\":\"error\"", 14) != NULL)
            bench.errors++;
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        bench.failed++;
        if (bench.failed <= 3)
            fprintf(stderr, "ws-load: connection failed: %s\n", in ? (const char *)in : "?");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (!bench.done) /* not the ones closed on the way out */
            bench.closed++;
        if (connection != NULL && !connection->subscribed)
            bench.closed_unsubscribed++;
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols PROTOCOLS[] = {
    {.name = "ws-load", .callback = on_event, .rx_buffer_size = 65536}, /* whole batches in one read */
    {0},
};

/* ---- board mode's connections: raw_ws.h on an epoll loop ----------------------------- */

static int epoll_fd = -1;

static void connect_raw(struct connection *connection)
{
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = connection};
    if (raw_ws_connect(&connection->raw, bench.options.host, bench.options.port) < 0 ||
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, connection->raw.fd, &event) < 0) {
        if (++bench.failed <= 3)
            fprintf(stderr, "ws-load: connection failed: %s\n", strerror(errno));
        raw_ws_close(&connection->raw);
    }
}

static void on_raw_message(void *user, const char *text, size_t length)
{
    board_message(user, text, length);
}

static void raw_closed(struct connection *connection)
{
    if (!bench.done)
        bench.closed++;
    if (!connection->subscribed)
        bench.closed_unsubscribed++;
    if (connection->raw.close_code != 0 && bench.closed <= 3)
        fprintf(stderr, "ws-load: the server closed a connection with code %u\n", connection->raw.close_code);
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, connection->raw.fd, NULL);
    raw_ws_close(&connection->raw);
}

static void on_raw_event(struct connection *connection, uint32_t events)
{
    struct raw_ws *raw = &connection->raw;
    if (raw->state == RAW_WS_CLOSED)
        return;
    if ((events & EPOLLOUT) && raw->state == RAW_WS_CONNECTING) {
        if (raw_ws_on_writeable(raw, bench.options.host, bench.options.port, "/ws") < 0) {
            bench.failed++;
            epoll_ctl(epoll_fd, EPOLL_CTL_DEL, raw->fd, NULL);
            raw_ws_close(raw);
            return;
        }
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = connection};
        epoll_ctl(epoll_fd, EPOLL_CTL_MOD, raw->fd, &event);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    int rc = raw_ws_on_readable(raw, on_raw_message, connection);
    if (rc == 1) {
        bench.established++;
        char text[128];
        int n = subscribe_text(connection, text, sizeof text);
        if (raw_ws_send_text(raw, text, (size_t)n) == 0)
            connection->subscribed_sent = true;
    }
    if (rc < 0 || raw->state == RAW_WS_CLOSED)
        raw_closed(connection);
}

static void connect_one(int index)
{
    struct connection *connection = &bench.connections[index];
    connection->ticker = index % bench.options.tickers;
    if (bench.options.board) {
        connection->board = calloc(MAX_TICKERS, sizeof *connection->board);
        connection->reference = bench.options.conflate && index == 0; /* first: its values reach back furthest */
        if (connection->board == NULL)
            abort();
    }
    if (bench.options.board) {
        connect_raw(connection);
        return;
    }
    struct lws_client_connect_info info = {
        .context = bench.context,
        .address = bench.options.host,
        .port = bench.options.port,
        .path = "/ws",
        .host = bench.options.host,
        .origin = NULL, /* not a browser: no Origin header (the server checks browsers' against api.allowed_origins) */
        .protocol = NULL,
        .local_protocol_name = "ws-load",
        .opaque_user_data = connection,
        .pwsi = &connection->wsi,
    };
    if (lws_client_connect_via_info(&info) == NULL)
        bench.failed++;
}

/* Connects in steps (a burst of 10,000 SYNs would overflow the listen backlog), then
 * runs the warm-up and the measurement. */
static double cpu_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Every 100 ms: connects the next ones, starts and ends the window. False when done. */
static bool tick(void)
{
    int64_t now = timestamp_now_us();
    if (bench.measure_from_us != 0 && bench.cpu_at_start_s == 0 && now >= bench.measure_from_us)
        bench.cpu_at_start_s = cpu_seconds();
    for (int i = 0; i < bench.options.connect_per_tick && bench.next_to_connect < bench.options.connections; i++)
        connect_one(bench.next_to_connect++);
    bool all_tried = bench.next_to_connect == bench.options.connections;
    if (all_tried && bench.all_tried_us == 0)
        bench.all_tried_us = now;
    int settled = bench.subscribed + bench.failed + bench.closed_unsubscribed;
    if (bench.measure_from_us == 0 && all_tried && settled < bench.options.connections &&
        now - bench.all_tried_us > SUBSCRIBE_TIMEOUT_S * 1000000LL) {
        /* Never measure forever-waiting: say what happened instead. */
        fprintf(stderr, "ws-load: after %d s only %d of %d connections are subscribed (%d failed, %d closed first)\n",
                SUBSCRIBE_TIMEOUT_S, bench.subscribed, bench.options.connections, bench.failed,
                bench.closed_unsubscribed);
        bench.aborted = bench.done = true;
        return false;
    }
    if (bench.measure_from_us == 0 && all_tried && settled >= bench.options.connections) {
        bench.measure_from_us = now + (int64_t)bench.options.warmup_s * 1000000;
        bench.measure_until_us = bench.measure_from_us + (int64_t)bench.options.measure_s * 1000000;
        fprintf(stderr, "ws-load: %d connections subscribed (%d failed); measuring for %d s after %d s of warm-up\n",
                bench.subscribed, bench.failed, bench.options.measure_s, bench.options.warmup_s);
        printf("subscribed_connections %d\nfailed_connections %d\nmeasure_from_ms %" PRId64 "\nmeasure_until_ms %" PRId64 "\n",
               bench.subscribed, bench.failed, bench.measure_from_us / 1000, bench.measure_until_us / 1000);
        fflush(stdout);
    }
    if (bench.measure_until_us != 0 && now >= bench.measure_until_us && bench.cpu_at_end_s == 0) {
        bench.cpu_at_end_s = cpu_seconds();
        /* Conflated boards: the reference gets a few seconds to receive what the window's
         * last entries stood for, then the counts are checked. */
        bench.verify_at_us = bench.options.board && bench.options.conflate ? now + 3000000 : now;
    }
    if (bench.verify_at_us != 0 && now >= bench.verify_at_us) {
        if (bench.options.board && bench.options.conflate)
            verify_counts();
        bench.done = true;
        return false;
    }
    return true;
}

static void on_timer(lws_sorted_usec_list_t *timer)
{
    if (tick())
        lws_sul_schedule(bench.context, 0, timer, on_timer, 100 * LWS_US_PER_MS);
}

/* Board mode's loop: epoll over the raw connections, tick() every 100 ms. */
static void run_boards(void)
{
    struct epoll_event events[512];
    int64_t next_tick_us = 0;
    while (!bench.done) {
        int64_t now = timestamp_now_us();
        if (now >= next_tick_us) {
            if (!tick())
                break;
            next_tick_us = now + 100000;
        }
        int wait_ms = (int)((next_tick_us - now) / 1000) + 1;
        int count = epoll_wait(epoll_fd, events, 512, wait_ms);
        for (int i = 0; i < count; i++)
            on_raw_event(events[i].data.ptr, events[i].events);
    }
}

static double percentile_ms(const uint64_t *histogram, uint64_t count, double fraction)
{
    uint64_t wanted = (uint64_t)((double)count * fraction), seen = 0;
    for (int slot = 0; slot < LATENCY_SLOTS; slot++) {
        seen += histogram[slot];
        if (seen > wanted)
            return (slot + 1) / 10.0;
    }
    return LATENCY_SLOTS / 10.0;
}

static int parse_options(int argc, char **argv)
{
    bench.options = (struct options){.host = "127.0.0.1", .connections = 10000, .tickers = 100, .warmup_s = 5,
                                     .measure_s = 30, .connect_per_tick = 200};
    static const struct option LONG[] = {
        {"host", required_argument, NULL, 'h'},        {"port", required_argument, NULL, 'p'},
        {"connections", required_argument, NULL, 'c'}, {"tickers", required_argument, NULL, 't'},
        {"warmup-s", required_argument, NULL, 'w'},    {"measure-s", required_argument, NULL, 'm'},
        {"connect-per-tick", required_argument, NULL, 'r'}, {"board", no_argument, NULL, 'b'},
        {"batch-ms", required_argument, NULL, 'B'},         {"conflate", no_argument, NULL, 'C'},
        {0},
    };
    int option;
    while ((option = getopt_long(argc, argv, "", LONG, NULL)) != -1) {
        switch (option) {
        case 'h': bench.options.host = optarg; break;
        case 'p': bench.options.port = atoi(optarg); break;
        case 'c': bench.options.connections = atoi(optarg); break;
        case 't': bench.options.tickers = atoi(optarg); break;
        case 'w': bench.options.warmup_s = atoi(optarg); break;
        case 'm': bench.options.measure_s = atoi(optarg); break;
        case 'r': bench.options.connect_per_tick = atoi(optarg); break;
        case 'b': bench.options.board = true; break;
        case 'B': bench.options.batch_ms = atoi(optarg); break;
        case 'C': bench.options.conflate = true; break;
        default: return -1;
        }
    }
    if (bench.options.port <= 0 || bench.options.connections <= 0 || bench.options.tickers <= 0 ||
        bench.options.tickers > 100 || bench.options.measure_s <= 0 || bench.options.connect_per_tick <= 0 ||
        (bench.options.conflate && (!bench.options.board || bench.options.batch_ms <= 0)) ||
        (bench.options.batch_ms > 0 && !bench.options.board)) {
        fprintf(stderr, "usage: ws-load --port N [--host H] [--connections N] [--tickers 1..100] [--warmup-s N] "
                        "[--measure-s N] [--connect-per-tick N] [--board [--batch-ms N [--conflate]]]\n");
        return -1;
    }
    return 0;
}

static void print_figures(void);

int main(int argc, char **argv)
{
    if (parse_options(argc, argv) < 0)
        return 2;
    if (bench.options.conflate)
        bench.options.connections++; /* the reference, beside the N boards measured */
    bench.connections = calloc((size_t)bench.options.connections, sizeof *bench.connections);
    bench.latency = calloc(LATENCY_SLOTS, sizeof *bench.latency);
    bench.first_latency = calloc(LATENCY_SLOTS, sizeof *bench.first_latency);
    bench.fanout_spread = calloc(LATENCY_SLOTS, sizeof *bench.fanout_spread);
    bench.latency_max_by_second_us = calloc((size_t)bench.options.measure_s, sizeof(int64_t));
    if (bench.connections == NULL || bench.latency == NULL || bench.latency_max_by_second_us == NULL ||
        bench.first_latency == NULL || bench.fanout_spread == NULL)
        return 1;
    if (bench.options.board) {
        if ((epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
            return 1;
        run_boards();
        if (bench.aborted)
            return 1;
        print_figures();
        return 0;
    }
    lws_set_log_level(LLL_ERR, NULL);
    /* epoll through libev, as the server: lws's own poll() loop would scan all N sockets
     * on every turn, and the load client would measure itself rather than the server. */
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    if (loop == NULL)
        return 1;
    void *foreign_loops[] = {loop};
    struct lws_context_creation_info info = {0};
    info.options = LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = foreign_loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = PROTOCOLS;
    /* No fd_limit_per_thread: lws would then look sockets up by a linear scan (see the server). */
    bench.context = lws_create_context(&info);
    if (bench.context == NULL) {
        fprintf(stderr, "ws-load: cannot create the lws context (open file limit?)\n");
        return 1;
    }
    lws_sul_schedule(bench.context, 0, &bench.timer, on_timer, 1);
    while (!bench.done)
        ev_run(loop, EVRUN_ONCE);
    if (bench.aborted) {
        lws_context_destroy(bench.context);
        ev_loop_destroy(loop);
        return 1;
    }
    print_figures();
    lws_context_destroy(bench.context);
    ev_loop_destroy(loop);
    return 0;
}

static void print_figures(void)
{
    double seconds = (double)bench.options.measure_s;
    printf("messages_received_total %" PRIu64 "\n", bench.received);
    printf("messages_per_second %.0f\n", (double)bench.measured / seconds);
    printf("latency_p50_ms %.1f\nlatency_p99_ms %.1f\nlatency_p999_ms %.1f\nlatency_max_ms %.1f\n",
           percentile_ms(bench.latency, bench.measured, 0.5), percentile_ms(bench.latency, bench.measured, 0.99),
           percentile_ms(bench.latency, bench.measured, 0.999), (double)bench.latency_max_us / 1000.0);
    printf("first_receipt_latency_p50_ms %.1f\nfirst_receipt_latency_p99_ms %.1f\n",
           percentile_ms(bench.first_latency, bench.ticks_measured, 0.5),
           percentile_ms(bench.first_latency, bench.ticks_measured, 0.99));
    printf("fanout_spread_p50_ms %.1f\nfanout_spread_p99_ms %.1f\n",
           percentile_ms(bench.fanout_spread, bench.ticks_measured, 0.5),
           percentile_ms(bench.fanout_spread, bench.ticks_measured, 0.99));
    printf("latency_max_by_second_ms");
    for (int second = 0; second < bench.options.measure_s; second++)
        printf(" %.0f", (double)bench.latency_max_by_second_us[second] / 1000.0);
    printf("\n");
    printf("client_cpu_percent %.0f\n", (bench.cpu_at_end_s - bench.cpu_at_start_s) / seconds * 100);
    if (bench.options.board) {
        printf("frames_per_second %.0f\n", (double)bench.frames_measured / seconds);
        printf("values_per_second %.0f\n", (double)bench.values_measured / seconds);
    }
    if (bench.options.board && bench.options.conflate)
        printf("reference_broken_chains %" PRIu64 "\ncount_checks %" PRIu64 "\ncount_mismatches %" PRIu64 "\n",
               bench.reference_broken, bench.count_checks, bench.count_mismatches);
    printf("broken_chains %" PRIu64 "\ngap_messages %" PRIu64 "\nerror_messages %" PRIu64 "\nclosed_early %d\n",
           bench.broken_chains, bench.gaps, bench.errors, bench.closed);
}
