/*
 * tickerflow-bridge: the only writer of history. Consumes the ticker topic in a consumer
 * group and stores every message as a row of `records`, in batches; offsets are
 * committed only after the rows are.
 */
#include <stdio.h>
#include <stdlib.h>

#include <stdatomic.h>

#include "admin_server.h"
#include "bridge.h"
#include "config.h"
#include "log.h"
#include "settings.h"
#include "shutdown.h"

static _Atomic(struct bridge *) running_bridge;

/* Runs on the admin server's thread. */
static bool is_healthy(void *unused, char *reason, size_t size)
{
    struct bridge *bridge = atomic_load(&running_bridge);
    if (bridge != NULL)
        return bridge_is_healthy(bridge, reason, size);
    snprintf(reason, size, "starting: connecting to PostgreSQL");
    return false;
}

int main(int argc, char **argv)
{
    struct bridge_settings settings = {0};
    int exit_code;
    if (!config_load_daemon(&BRIDGE_CONFIG, argc, argv, &settings, &settings.shared, "bridge", &exit_code))
        return exit_code;

    struct error err;
    struct bridge *bridge = NULL;
    struct admin_server *admin = NULL;
    exit_code = EXIT_FAILURE;
    if (shutdown_init(NULL, NULL, &err) < 0 ||
        (settings.admin_port > 0 &&
         (admin = admin_server_start((int)settings.admin_port, is_healthy, NULL, &err)) == NULL) ||
        (bridge = bridge_open(&settings, &err)) == NULL) {
        if (shutdown_requested())
            exit_code = EXIT_SUCCESS; /* stopped while still starting */
        else
            log_error("%s", err.message);
        goto done;
    }

    atomic_store(&running_bridge, bridge);
    while (!shutdown_requested()) {
        bridge_poll(bridge, bridge_time_to_flush_ms(bridge));
        if (bridge_time_to_flush_ms(bridge) == 0)
            bridge_flush(bridge);
        bridge_report(bridge);
    }
    exit_code = EXIT_SUCCESS;

done:
    admin_server_stop(admin); /* first: its health check reads the bridge */
    atomic_store(&running_bridge, NULL);
    bridge_close(bridge);
    log_info("stopped");
    config_free(&BRIDGE_CONFIG, &settings);
    return exit_code;
}
