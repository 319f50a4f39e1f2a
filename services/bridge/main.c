/*
 * tickerflow-bridge: the only writer of history. Consumes the ticker topic in a consumer
 * group and stores every message as a row of `records`, in batches; offsets are
 * committed only after the rows are.
 */
#include <stdlib.h>

#include "bridge.h"
#include "config.h"
#include "log.h"
#include "settings.h"
#include "shutdown.h"

int main(int argc, char **argv)
{
    struct bridge_settings settings = {0};
    int exit_code;
    if (!config_load_daemon(&BRIDGE_CONFIG, argc, argv, &settings, &settings.shared, "bridge", &exit_code))
        return exit_code;

    struct error err;
    struct bridge *bridge = NULL;
    exit_code = EXIT_FAILURE;
    if (shutdown_init(NULL, NULL, &err) < 0 || (bridge = bridge_open(&settings, &err)) == NULL) {
        if (shutdown_requested())
            exit_code = EXIT_SUCCESS; /* stopped while still starting */
        else
            log_error("%s", err.message);
        goto done;
    }

    while (!shutdown_requested()) {
        bridge_poll(bridge, bridge_time_to_flush_ms(bridge));
        if (bridge_time_to_flush_ms(bridge) == 0)
            bridge_flush(bridge);
        bridge_report(bridge);
    }
    exit_code = EXIT_SUCCESS;

done:
    bridge_close(bridge);
    log_info("stopped");
    config_free(&BRIDGE_CONFIG, &settings);
    return exit_code;
}
