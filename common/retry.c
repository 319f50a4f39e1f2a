#include "retry.h"

#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "shutdown.h"

uint64_t retry_seed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return ((uint64_t)now.tv_sec << 32) ^ (uint64_t)now.tv_nsec ^ ((uint64_t)getpid() << 48);
}

static bool cancelled(const atomic_bool *cancel)
{
    return shutdown_requested() || (cancel != NULL && atomic_load(cancel));
}

int retry_until(const char *what, retry_attempt_fn *attempt, void *context, const atomic_bool *cancel,
                struct error *err)
{
    struct backoff backoff;
    backoff_init(&backoff, retry_seed());
    for (;;) {
        if (cancelled(cancel))
            return error_stopped(err, what);
        if (attempt(context, err) == 0)
            return 0;
        if (err->kind != ERROR_FAILED)
            return -1;
        int wait_ms = backoff_next_ms(&backoff);
        log_warn("%s failed (retrying in %d ms): %s", what, wait_ms, err->message);
        for (int waited = 0; waited < wait_ms && !cancelled(cancel); waited += 100) {
            int step = wait_ms - waited < 100 ? wait_ms - waited : 100;
            nanosleep(&(struct timespec){0, (long)step * 1000000L}, NULL);
        }
    }
}
