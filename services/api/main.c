/*
 * tickerflow-api: serves the dashboard, ticker names and history from Postgres over
 * HTTP, and live changes from Kafka over WebSocket, all on one port (default 5000).
 * The design and its threads are described in docs/architecture.md.
 *
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when the server cannot go on (the reason is
 * logged: port taken, credentials rejected, the topic deleted), 2 for a usage error.
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

    struct error err = {0};
    struct api_server *server = NULL;
    struct admin_server *admin = NULL;
    int rc = shutdown_init(wake_server, NULL, SHUTDOWN_DEADLINE_MS, &err);
    if (rc == 0 && settings.admin_port > 0 && (admin = admin_server_start((int)settings.admin_port, NULL, NULL, &err)) == NULL)
        rc = -1;
    if (rc == 0 && (server = api_server_start(&settings, &err)) == NULL)
        rc = -1;

    atomic_store(&running_server, server);
    while (rc == 0 && !shutdown_requested())
        rc = api_server_service(server, &err);
    if (rc == 0)
        error_stopped(&err, "serving");
    shutdown_stopping();

    /* The signal thread must be done with the server before it goes. */
    shutdown_forget_wake();
    atomic_store(&running_server, NULL);
    api_server_stop(server);
    admin_server_stop(admin);
    exit_code = shutdown_exit_code(&err);
    log_info("stopped");
    config_free(&API_CONFIG, &settings);
    return exit_code;
}
