/*
 * How a daemon stops: on SIGINT or SIGTERM (a requested stop, exit 0), or on a fatal
 * error that its code carries up to main (struct error; exit 1, the reason logged once).
 *
 * shutdown_init blocks both signals in the calling thread, so every thread created
 * afterwards inherits the mask, and starts one thread that waits for them with sigwait.
 * No code runs in a signal handler; a daemon's loop polls shutdown_requested() or is woken
 * by the `wake` callback.
 *
 * Every stop is bounded: from the first signal (or shutdown_stopping, for a fatal stop), a
 * daemon that is still running after its stop deadline logs so and exits at once with
 * code 1 (what it held is read again by the next start: the same as a kill -9). A second
 * signal, two or more seconds after the first, exits at once with code 130.
 *
 * Threads: one, the signal thread, which also watches the deadline.
 */
#ifndef TICKERFLOW_SHUTDOWN_H
#define TICKERFLOW_SHUTDOWN_H

#include <stdbool.h>

#include "error.h"

/* The deadline most daemons use: under the 10 s that Docker and systemd wait before SIGKILL. */
#define SHUTDOWN_DEADLINE_MS 9000

/* Call first in main, before any other thread exists. `wake`, if not NULL, runs on the
 * signal thread after the flag is set (for example lws_cancel_service); call
 * shutdown_forget_wake before what it wakes goes away. `deadline_ms`: how long a stop may
 * take (SHUTDOWN_DEADLINE_MS unless the daemon has a reason). */
int shutdown_init(void (*wake)(void *context), void *context, int deadline_ms, struct error *err);

/* True once SIGINT or SIGTERM arrived. Any thread. */
bool shutdown_requested(void);

/* Sleeps `milliseconds`, returning early (within 100 ms) once shutdown is requested.
 * For retry back-offs. Any thread. */
void shutdown_sleep_ms(int milliseconds);

/* The daemon is stopping for another reason than a signal (a fatal error): starts the
 * deadline. Main thread. */
void shutdown_stopping(void);

/* After it returns, the wake callback is neither running nor ever called again. */
void shutdown_forget_wake(void);

/* main's exit code for the error that ended its run: 0 for a requested stop
 * (ERROR_STOPPED), else 1 after logging the reason (once, here). */
int shutdown_exit_code(const struct error *cause);

#endif
