#include "shutdown.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timestamp.h"

/* How often the signal thread looks at the deadline. */
#define WATCH_EVERY_MS 100

static atomic_bool stop_requested;
static atomic_llong deadline_at_ms; /* monotonic; 0 while not stopping */
static int deadline_ms;
static sigset_t stop_signals;

static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER; /* held while the callback runs */
static void (*wake_callback)(void *);
static void *wake_context;

static void arm_deadline(void)
{
    long long expected = 0;
    atomic_compare_exchange_strong(&deadline_at_ms, &expected, (long long)(timestamp_monotonic_ms() + deadline_ms));
}

static void run_wake(void)
{
    pthread_mutex_lock(&wake_lock);
    if (wake_callback != NULL)
        wake_callback(wake_context);
    pthread_mutex_unlock(&wake_lock);
}

static void on_signal(int signal_number, int64_t *first_signal_ms)
{
    int64_t now_ms = timestamp_monotonic_ms();
    if (atomic_exchange(&stop_requested, true)) {
        /* The same stop often arrives twice at once (terminal and script both signal the
         * process group); only a later, deliberate second signal forces the exit. */
        if (*first_signal_ms != 0 && now_ms - *first_signal_ms < 2000)
            return;
        log_warn("second %s: exiting immediately", strsignal(signal_number));
        _exit(130);
    }
    *first_signal_ms = now_ms;
    log_info("%s received: shutting down (at most %d ms)", strsignal(signal_number), deadline_ms);
    arm_deadline();
    run_wake();
}

static void *wait_for_signals(void *unused)
{
    int64_t first_signal_ms = 0;
    for (;;) {
        struct timespec wait = {0, WATCH_EVERY_MS * 1000000L};
        int signal_number = sigtimedwait(&stop_signals, NULL, &wait);
        if (signal_number > 0) {
            on_signal(signal_number, &first_signal_ms);
            continue;
        }
        long long deadline = atomic_load(&deadline_at_ms);
        if (deadline != 0 && timestamp_monotonic_ms() > deadline) {
            /* Something in the clean path hangs (a server that accepts connections but never
             * answers, say): give up on it. Nothing committed is lost; the rest is read
             * again by the next start, as after a kill -9. */
            log_error("stop did not finish within %d ms: exiting without finishing it", deadline_ms);
            _exit(EXIT_FAILURE);
        }
    }
    return NULL;
}

int shutdown_init(void (*wake)(void *context), void *context, int stop_deadline_ms, struct error *err)
{
    wake_callback = wake;
    wake_context = context;
    deadline_ms = stop_deadline_ms;
    /* A peer closing a socket must be an error return, not a process kill. */
    signal(SIGPIPE, SIG_IGN);

    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    if (rc != 0)
        return error_set(err, "cannot block signals: %s", strerror(rc));

    pthread_t thread;
    rc = pthread_create(&thread, NULL, wait_for_signals, NULL);
    if (rc != 0)
        return error_set(err, "cannot start the signal thread: %s", strerror(rc));
    pthread_detach(thread);
    return 0;
}

bool shutdown_requested(void)
{
    return atomic_load(&stop_requested);
}

void shutdown_sleep_ms(int milliseconds)
{
    for (int slept = 0; slept < milliseconds && !shutdown_requested(); slept += 100) {
        int step = milliseconds - slept < 100 ? milliseconds - slept : 100;
        nanosleep(&(struct timespec){step / 1000, (long)(step % 1000) * 1000000L}, NULL);
    }
}

void shutdown_stopping(void)
{
    arm_deadline();
}

void shutdown_forget_wake(void)
{
    pthread_mutex_lock(&wake_lock);
    wake_callback = NULL;
    wake_context = NULL;
    pthread_mutex_unlock(&wake_lock);
}

int shutdown_exit_code(const struct error *cause)
{
    if (cause->kind == ERROR_STOPPED)
        return EXIT_SUCCESS;
    log_error("stopping: %s", cause->message);
    return EXIT_FAILURE;
}
