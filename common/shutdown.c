#include "shutdown.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static atomic_bool stop_requested;
static void (*wake_callback)(void *);
static void *wake_context;
static sigset_t stop_signals;

static void *wait_for_signals(void *unused)
{
    time_t first_signal_at = 0;
    for (;;) {
        int signal_number;
        if (sigwait(&stop_signals, &signal_number) != 0)
            continue;
        if (atomic_exchange(&stop_requested, true)) {
            /* The same stop often arrives twice at once (terminal and script both signal
             * the process group); only a later, deliberate second signal forces the exit. */
            if (time(NULL) - first_signal_at < 2)
                continue;
            log_warn("second %s: exiting immediately", strsignal(signal_number));
            _exit(130);
        }
        first_signal_at = time(NULL);
        log_info("%s received: shutting down", strsignal(signal_number));
        if (wake_callback != NULL)
            wake_callback(wake_context);
    }
    return NULL;
}

int shutdown_init(void (*wake)(void *context), void *context, struct error *err)
{
    wake_callback = wake;
    wake_context = context;
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

void shutdown_request(void)
{
    if (!atomic_exchange(&stop_requested, true) && wake_callback != NULL)
        wake_callback(wake_context);
}
