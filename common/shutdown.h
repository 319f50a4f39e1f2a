/*
 * Clean shutdown on SIGINT and SIGTERM.
 *
 * shutdown_init blocks both signals in the calling thread, so every thread created
 * afterwards inherits the mask, and starts one thread that waits for them with
 * sigwait. No code runs in a signal handler; a daemon's loop polls shutdown_requested()
 * or is woken by the `wake` callback. A second signal, two or more seconds after the first,
 * ends the process at once (exit 130) for the case where the clean path hangs.
 */
#ifndef TICKERFLOW_SHUTDOWN_H
#define TICKERFLOW_SHUTDOWN_H

#include <stdbool.h>

#include "error.h"

/* Call first in main, before any other thread exists. `wake`, if not NULL, runs on the
 * signal thread after the flag is set (for example lws_cancel_service). */
int shutdown_init(void (*wake)(void *context), void *context, struct error *err);

/* True once SIGINT or SIGTERM arrived or shutdown_request was called. Any thread. */
bool shutdown_requested(void);

/* Sleeps `milliseconds`, returning early (within 100 ms) once shutdown is requested.
 * For retry back-offs. Any thread. */
void shutdown_sleep_ms(int milliseconds);

/* Asks the daemon to stop as if signalled (for fatal runtime conditions). Any thread. */
void shutdown_request(void);

#endif
