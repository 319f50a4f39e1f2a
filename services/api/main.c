/*
 * tickerflow-api: serves the dashboard, ticker names and history from Postgres over
 * HTTP, and live changes from Kafka over WebSocket, all on one port (default 5000).
 * The design and its threads are described in docs/architecture.md.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "admin_server.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "settings.h"
#include "shutdown.h"

static _Atomic(struct api_server *) running_server;

/* Runs on the signal thread: make the service loop notice the stop flag. */
static void wake_server(void *unused)
{
    api_server_wake(atomic_load(&running_server));
}

int main(int argc, char **argv)
{
    struct api_settings settings = {0};
    int exit_code;
    if (!config_load_daemon(&API_CONFIG, argc, argv, &settings, &settings.shared, "api", &exit_code))
        return exit_code;

    struct error err;
    struct api_server *server = NULL;
    struct admin_server *admin = NULL;
    exit_code = EXIT_FAILURE;
    if (shutdown_init(wake_server, NULL, &err) < 0 ||
        (settings.admin_port > 0 && (admin = admin_server_start((int)settings.admin_port, NULL, NULL, &err)) == NULL) ||
        (server = api_server_start(&settings, &err)) == NULL) {
        log_error("%s", err.message);
        goto done;
    }
    atomic_store(&running_server, server);

    while (!shutdown_requested())
        api_server_service(server);
    exit_code = EXIT_SUCCESS;

    atomic_store(&running_server, NULL);
done:
    api_server_stop(server);
    admin_server_stop(admin);
    log_info("stopped");
    config_free(&API_CONFIG, &settings);
    return exit_code;
}
