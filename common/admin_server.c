#include "admin_server.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

struct admin_server {
    struct MHD_Daemon *daemon;
    admin_health_fn *health;
    void *context;
};

static enum MHD_Result send_text(struct MHD_Connection *connection, unsigned status, const char *type, char *body,
                                 size_t length)
{
    /* MHD frees the body when the response is destroyed. */
    struct MHD_Response *response = MHD_create_response_from_buffer(length, body, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static enum MHD_Result send_status(struct MHD_Connection *connection, unsigned status, const char *text)
{
    char *body = NULL;
    int length = asprintf(&body, "{\"status\":\"%s\"}\n", text);
    if (length < 0)
        return MHD_NO;
    return send_text(connection, status, "application/json", body, (size_t)length);
}

/* Runs on libmicrohttpd's thread. */
static enum MHD_Result handle(void *context, struct MHD_Connection *connection, const char *url, const char *method,
                             const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    struct admin_server *server = context;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return send_status(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is supported");
    if (strcmp(url, "/healthz") == 0) {
        char reason[128] = "unhealthy";
        if (server->health == NULL || server->health(server->context, reason, sizeof reason))
            return send_status(connection, MHD_HTTP_OK, "ok");
        /* The reason is ours (fixed texts), never user input: no escaping needed. */
        return send_status(connection, MHD_HTTP_SERVICE_UNAVAILABLE, reason);
    }
    if (strcmp(url, "/metrics") == 0) {
        size_t length;
        char *text = metrics_render(&length);
        if (text == NULL)
            return MHD_NO;
        return send_text(connection, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, length);
    }
    return send_status(connection, MHD_HTTP_NOT_FOUND, "no such endpoint (try /healthz or /metrics)");
}

enum { ADMIN_CONNECTIONS = 64, ADMIN_CONNECTIONS_PER_IP = 8, ADMIN_TIMEOUT_S = 10 };

struct admin_server *admin_server_start(int port, admin_health_fn *health, void *context, struct error *err)
{
    struct admin_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    server->health = health;
    server->context = context;
    /* A handful of scrapers and health checks: few connections, short timeouts, and at most
     * ADMIN_CONNECTIONS_PER_IP from one address, so one slow or hostile peer cannot hold every
     * slot and starve the health check or Prometheus, which come from other addresses. */
    server->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, (uint16_t)port, NULL, NULL,
                                      handle, server, MHD_OPTION_CONNECTION_LIMIT, (unsigned)ADMIN_CONNECTIONS,
                                      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)ADMIN_CONNECTIONS_PER_IP,
                                      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ADMIN_TIMEOUT_S, MHD_OPTION_END);
    if (server->daemon == NULL) {
        free(server);
        error_set(err, "cannot listen on admin port %d (in use? set --admin-port, or 0 to turn it off)", port);
        return NULL;
    }
    log_info("admin port %d: /healthz, /metrics", port);
    return server;
}

void admin_server_stop(struct admin_server *server)
{
    if (server == NULL)
        return;
    MHD_stop_daemon(server->daemon);
    free(server);
}
