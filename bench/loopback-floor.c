/*
 * loopback-floor: what this machine's kernel charges for the fan-out's sends alone.
 *
 * bench/ws-fanout measures tickerflow-api sending small frames to many clients over
 * loopback TCP, with the load client on the same two cores. Most of that CPU is the
 * kernel's (send, the receiver's softirq, wake-ups), and its price per message has varied
 * by half between days on this machine. This tool pays the same kernel path with no
 * WebSocket, JSON or Kafka above it: a parent writes MESSAGE_BYTES-byte messages
 * round-robin over N connections at RATE messages/s (one write() each, TCP_NODELAY, as
 * the server writes a frame), a child reads them with epoll as a client does. What both
 * sides spend per message is the floor under any server and load client on this machine.
 *
 *   loopback-floor [--connections 10000] [--rate 100000] [--seconds 10] [--message-bytes 144]
 *
 * Prints one "name value" line per figure. Each process holds one side of every
 * connection, so N can reach the open-file limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timestamp.h"

struct options {
    int connections, rate, seconds, message_bytes;
};

/* What the reading child reports to the parent through a pipe when all connections closed. */
struct receiver_report {
    uint64_t bytes;
    double cpu_s, elapsed_s;
};

static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static double elapsed_seconds(int64_t since_ms)
{
    return (double)(timestamp_monotonic_ms() - since_ms) / 1000.0;
}

static int parse_options(int argc, char **argv, struct options *options)
{
    static const struct option long_options[] = {
        {"connections", required_argument, NULL, 'c'}, {"rate", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 's'},     {"message-bytes", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
    };
    *options = (struct options){.connections = 10000, .rate = 100000, .seconds = 10, .message_bytes = 144};
    int option;
    while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'c': options->connections = atoi(optarg); break;
        case 'r': options->rate = atoi(optarg); break;
        case 's': options->seconds = atoi(optarg); break;
        case 'b': options->message_bytes = atoi(optarg); break;
        case 'h':
            printf("usage: loopback-floor [--connections N] [--rate MSGS_PER_S] [--seconds S] "
                   "[--message-bytes B]\n");
            exit(0);
        default: return -1;
        }
    }
    if (options->connections < 1 || options->rate < 1 || options->seconds < 1 || options->message_bytes < 1 ||
        options->message_bytes > 4096) {
        fprintf(stderr, "loopback-floor: connections, rate and seconds must be positive, "
                        "message-bytes 1 to 4096\n");
        return -1;
    }
    return 0;
}

/* The child: connects every socket, tells the parent through ready_fd, then reads until
 * every connection is closed and writes its receiver_report to report_fd. */
static int run_receiver(const struct sockaddr_in *address, int connections, int ready_fd, int report_fd)
{
    int epoll_fd = epoll_create1(0);
    if (epoll_fd < 0)
        return -1;
    for (int i = 0; i < connections; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (const struct sockaddr *)address, sizeof *address) < 0) {
            fprintf(stderr, "loopback-floor: connection %d: %s\n", i, strerror(errno));
            return -1;
        }
        struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    }
    if (write(ready_fd, "r", 1) != 1)
        return -1;
    struct receiver_report report = {0};
    struct epoll_event events[256];
    char buffer[8192];
    int open_connections = connections;
    int64_t started_ms = 0;
    double cpu_at_start = 0;
    while (open_connections > 0) {
        int ready = epoll_wait(epoll_fd, events, 256, 1000);
        for (int i = 0; i < ready; i++) {
            ssize_t got = read(events[i].data.fd, buffer, sizeof buffer);
            if (got > 0) {
                if (report.bytes == 0) {
                    started_ms = timestamp_monotonic_ms();
                    cpu_at_start = cpu_seconds();
                }
                report.bytes += (uint64_t)got;
            } else if (got == 0 || errno != EAGAIN) {
                close(events[i].data.fd);
                open_connections--;
            }
        }
    }
    report.cpu_s = cpu_seconds() - cpu_at_start;
    report.elapsed_s = elapsed_seconds(started_ms);
    return write(report_fd, &report, sizeof report) == sizeof report ? 0 : -1;
}

/* Accepts the child's connections; fills fds. */
static int accept_all(int listen_fd, int *fds, int connections)
{
    for (int i = 0; i < connections; i++) {
        fds[i] = accept(listen_fd, NULL, NULL);
        if (fds[i] < 0) {
            fprintf(stderr, "loopback-floor: accept: %s\n", strerror(errno));
            return -1;
        }
        int one = 1;
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return 0;
}

/* Writes the messages due every millisecond, round-robin; returns how many were sent. */
static uint64_t send_paced(const struct options *options, const int *fds, double *cpu_s, double *elapsed_s)
{
    char *message = malloc((size_t)options->message_bytes);
    if (message == NULL)
        return 0;
    memset(message, 'x', (size_t)options->message_bytes);
    uint64_t sent = 0;
    int next = 0;
    int64_t started_ms = timestamp_monotonic_ms();
    double cpu_at_start = cpu_seconds();
    for (;;) {
        double elapsed = elapsed_seconds(started_ms);
        if (elapsed >= options->seconds)
            break;
        uint64_t due = (uint64_t)(elapsed * options->rate);
        for (; sent < due; sent++) {
            if (write(fds[next], message, (size_t)options->message_bytes) != options->message_bytes) {
                fprintf(stderr, "loopback-floor: write: %s\n", strerror(errno));
                free(message);
                return 0;
            }
            next = (next + 1) % options->connections;
        }
        usleep(1000);
    }
    *cpu_s = cpu_seconds() - cpu_at_start;
    *elapsed_s = elapsed_seconds(started_ms);
    free(message);
    return sent;
}

int main(int argc, char **argv)
{
    struct options options;
    if (parse_options(argc, argv, &options) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(listen_fd, 4096) < 0 || getsockname(listen_fd, (struct sockaddr *)&address, &length) < 0) {
        fprintf(stderr, "loopback-floor: cannot listen on loopback: %s\n", strerror(errno));
        return 1;
    }
    int ready_pipe[2], report_pipe[2];
    int *fds = calloc((size_t)options.connections, sizeof *fds);
    if (fds == NULL || pipe(ready_pipe) < 0 || pipe(report_pipe) < 0)
        return 1;
    pid_t receiver = fork();
    if (receiver < 0)
        return 1;
    if (receiver == 0) {
        close(listen_fd);
        _exit(run_receiver(&address, options.connections, ready_pipe[1], report_pipe[1]) < 0 ? 1 : 0);
    }
    char ready;
    if (accept_all(listen_fd, fds, options.connections) < 0 || read(ready_pipe[0], &ready, 1) != 1) {
        kill(receiver, SIGKILL);
        return 1;
    }
    double sender_cpu_s = 0, sender_elapsed_s = 1;
    uint64_t sent = send_paced(&options, fds, &sender_cpu_s, &sender_elapsed_s);
    for (int i = 0; i < options.connections; i++)
        close(fds[i]);
    struct receiver_report report = {0};
    int status = 0;
    ssize_t got = read(report_pipe[0], &report, sizeof report);
    waitpid(receiver, &status, 0);
    if (sent == 0 || got != sizeof report || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "loopback-floor: the run failed\n");
        return 1;
    }
    uint64_t received = report.bytes / (uint64_t)options.message_bytes;
    double sender_us = sender_cpu_s * 1e6 / (double)sent, receiver_us = report.cpu_s * 1e6 / (double)received;
    printf("connections %d\nmessage_bytes %d\n", options.connections, options.message_bytes);
    printf("messages_per_second %.0f\nmessages_lost %" PRIu64 "\n", (double)sent / sender_elapsed_s, sent - received);
    printf("sender_us_per_message %.2f\nreceiver_us_per_message %.2f\n", sender_us, receiver_us);
    printf("sender_cpu_percent %.0f\nreceiver_cpu_percent %.0f\n", sender_cpu_s / sender_elapsed_s * 100,
           report.cpu_s / report.elapsed_s * 100);
    /* Both sides at this rate, as a share of one core: the kernel's part of the fan-out. */
    printf("both_cpu_percent_at_rate %.0f\n", (sender_us + receiver_us) * options.rate / 1e4);
    free(fds);
    return 0;
}
