/*
 * tickerflow-bridge: the only writer of history. Consumes the ticker topic in a consumer
 * group and stores every message as a row of `records`, in batches; offsets are
 * committed only after the rows are.
 *
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when the bridge cannot go on (the reason is
 * logged: credentials rejected, the topic deleted, ...), 2 for a usage error.
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

    struct error err = {0};
    struct bridge *bridge = NULL;
    struct admin_server *admin = NULL;
    int rc = shutdown_init(NULL, NULL, SHUTDOWN_DEADLINE_MS, &err);
    if (rc == 0 && settings.admin_port > 0 &&
        (admin = admin_server_start((int)settings.admin_port, is_healthy, NULL, &err)) == NULL)
        rc = -1;
    if (rc == 0 && (bridge = bridge_open(&settings, &err)) == NULL)
        rc = -1;

    atomic_store(&running_bridge, bridge);
    while (rc == 0 && !shutdown_requested()) {
        rc = bridge_poll(bridge, bridge_time_to_flush_ms(bridge), &err);
        if (rc == 0 && bridge_time_to_flush_ms(bridge) == 0)
            rc = bridge_flush(bridge, &err);
        bridge_report(bridge);
    }
    if (rc == 0)
        error_stopped(&err, "consuming");
    shutdown_stopping();

    admin_server_stop(admin); /* first: its health check reads the bridge */
    atomic_store(&running_bridge, NULL);
    bridge_close(bridge);
    exit_code = shutdown_exit_code(&err);
    log_info("stopped");
    config_free(&BRIDGE_CONFIG, &settings);
    return exit_code;
}
