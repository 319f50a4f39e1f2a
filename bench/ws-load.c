/*
 * ws-load: many real WebSocket clients (libwebsockets) against tickerflow-api.
 *
 * Opens N connections, each subscribed to one ticker (connection i watches ticker
 * i mod T), waits until all are subscribed plus a warm-up, then for the measurement
 * window records every tick: latency from the tick's own time (set by the producer) to
 * its receipt here, and whether it follows the connection's previous tick ("prev"),
 * i.e. no value was lost. Prints one line of figures per item; bench/ws-fanout runs it.
 *
 *   ws-load --port 5000 [--host 127.0.0.1] [--connections 10000] [--tickers 100]
 *           [--warmup-s 5] [--measure-s 30] [--connect-per-tick 200]
 */
#include <ev.h>
#include <getopt.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"

#define LATENCY_SLOTS 600000 /* 0.1 ms resolution up to 60 s */
#define SUBSCRIBE_TIMEOUT_S 60   /* after the last connection attempt */

struct connection {
    struct lws *wsi;
    int ticker;
    bool subscribed_sent, subscribed;
    char last_time[32]; /* the previous tick's time, to check the next one's prev */
};

/* Per ticker, the tick being received by its connections: the first receipt shows the way
 * through Kafka to the server, the spread between first and last the fan-out itself. */
struct tick_in_flight {
    int64_t time_us, first_latency_us, last_latency_us;
};

struct options {
    const char *host;
    int port, connections, tickers, warmup_s, measure_s, connect_per_tick;
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
            unsigned char buffer[LWS_PRE + 96];
            int n = snprintf((char *)buffer + LWS_PRE, 96, "{\"op\":\"subscribe\",\"tickers\":[\"ticker_%02d\"]}",
                             connection->ticker);
            if (lws_write(wsi, buffer + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
                return -1;
            connection->subscribed_sent = true;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (connection == NULL)
            return 0;
        if (length > 14 && memcmp(in, "{\"type\":\"tick\"", 14) == 0)
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
    {.name = "ws-load", .callback = on_event, .rx_buffer_size = 4096},
    {0},
};

static void connect_one(int index)
{
    struct connection *connection = &bench.connections[index];
    connection->ticker = index % bench.options.tickers;
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

static void on_timer(lws_sorted_usec_list_t *timer)
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
        return;
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
    if (bench.measure_until_us != 0 && now >= bench.measure_until_us) {
        bench.cpu_at_end_s = cpu_seconds();
        bench.done = true;
        return;
    }
    lws_sul_schedule(bench.context, 0, timer, on_timer, 100 * LWS_US_PER_MS);
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
        {"connect-per-tick", required_argument, NULL, 'r'}, {0},
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
        default: return -1;
        }
    }
    if (bench.options.port <= 0 || bench.options.connections <= 0 || bench.options.tickers <= 0 ||
        bench.options.tickers > 100 || bench.options.measure_s <= 0 || bench.options.connect_per_tick <= 0) {
        fprintf(stderr, "usage: ws-load --port N [--host H] [--connections N] [--tickers 1..100] [--warmup-s N] "
                        "[--measure-s N] [--connect-per-tick N]\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_options(argc, argv) < 0)
        return 2;
    bench.connections = calloc((size_t)bench.options.connections, sizeof *bench.connections);
    bench.latency = calloc(LATENCY_SLOTS, sizeof *bench.latency);
    bench.first_latency = calloc(LATENCY_SLOTS, sizeof *bench.first_latency);
    bench.fanout_spread = calloc(LATENCY_SLOTS, sizeof *bench.fanout_spread);
    bench.latency_max_by_second_us = calloc((size_t)bench.options.measure_s, sizeof(int64_t));
    if (bench.connections == NULL || bench.latency == NULL || bench.latency_max_by_second_us == NULL ||
        bench.first_latency == NULL || bench.fanout_spread == NULL)
        return 1;
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
    printf("broken_chains %" PRIu64 "\ngap_messages %" PRIu64 "\nerror_messages %" PRIu64 "\nclosed_early %d\n",
           bench.broken_chains, bench.gaps, bench.errors, bench.closed);
    lws_context_destroy(bench.context);
    ev_loop_destroy(loop);
    free(bench.connections);
    free(bench.latency);
    free(bench.first_latency);
    free(bench.fanout_spread);
    free(bench.latency_max_by_second_us);
    return 0;
}
