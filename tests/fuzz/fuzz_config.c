/*
 * Fuzz target: configuration from config.yaml and from the environment (common/config.c),
 * with each daemon's real option table.
 *
 * Input: one byte picks the daemon (low two bits) and the source (next bit: config file or
 * environment); the rest is the config.yaml text, or "NAME=value" lines that make up the
 * whole environment while config_apply_environment reads it.
 *
 * Beyond "no crash": defaults always apply; a failure says why; whatever is accepted
 * keeps every integer option within its bounds and every choice among its choices; the
 * settings are released without a leak (checked by the sanitizers).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "services/aggregator/settings.h"
#include "services/api/settings.h"
#include "services/bridge/settings.h"
#include "services/producer/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for any daemon's settings struct. */
union any_settings {
    struct producer_settings producer;
    struct bridge_settings bridge;
    struct api_settings api;
    struct aggregator_settings aggregator;
};

static const struct config_spec *const SPECS[] = {&PRODUCER_CONFIG, &BRIDGE_CONFIG, &API_CONFIG, &AGGREGATOR_CONFIG};

static void check_settings(const struct config_spec *spec, const void *settings)
{
    for (size_t i = 0; i < spec->option_count; i++) {
        const struct config_option *option = &spec->options[i];
        const char *field = (const char *)settings + option->offset;
        if (option->type == CONFIG_INT) {
            long long value;
            memcpy(&value, field, sizeof value);
            if (value < option->min || value > option->max)
                abort();
        } else if (option->type == CONFIG_STRING || option->type == CONFIG_CHOICE) {
            char *value;
            memcpy(&value, field, sizeof value);
            if (value == NULL || strlen(value) < (size_t)(option->type == CONFIG_STRING ? option->min : 0))
                abort();
            if (option->type == CONFIG_CHOICE) {
                bool listed = false;
                for (size_t c = 0; option->choices[c] != NULL; c++)
                    listed = listed || strcmp(value, option->choices[c]) == 0;
                if (!listed)
                    abort();
            }
        }
    }
}

extern char **environ;

/* Makes the "NAME=value" lines of `text` the whole environment (lines without '=' are
 * left out), in place of setenv, whose copies glibc never frees: a long run would grow.
 * Returns the previous environment, to put back; *storage is the caller's to free. */
static char **replace_environment(const char *text, size_t length, char **storage, char ***variables)
{
    char **previous = environ;
    *storage = strndup(text, length);
    size_t lines = 1;
    for (size_t i = 0; *storage != NULL && (*storage)[i] != '\0'; i++)
        lines += (*storage)[i] == '\n';
    *variables = calloc(lines + 1, sizeof **variables);
    if (*storage == NULL || *variables == NULL)
        return previous;
    size_t count = 0;
    char *save = NULL;
    for (char *line = strtok_r(*storage, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
        if (strchr(line, '=') != NULL && line[0] != '=')
            (*variables)[count++] = line;
    environ = *variables;
    return previous;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const struct config_spec *spec = SPECS[data[0] & 3];
    bool from_environment = (data[0] & 4) != 0;
    const char *text = (const char *)data + 1;
    size_t length = size - 1;

    union any_settings settings;
    memset(&settings, 0, sizeof settings);
    struct error err;
    if (config_apply_defaults(spec, &settings, &err) < 0)
        abort(); /* the defaults are ours: they must always be valid */

    int result;
    if (from_environment) {
        char *storage = NULL, **variables = NULL;
        char **previous = replace_environment(text, length, &storage, &variables);
        result = config_apply_environment(spec, &settings, &err);
        environ = previous;
        free(variables);
        free(storage);
    } else {
        result = config_apply_yaml(spec, text, length, "fuzz.yaml", &settings, &err);
    }
    if (result < 0 && err.message[0] == '\0')
        abort();
    if (result == 0)
        check_settings(spec, &settings);
    config_free(spec, &settings);
    return 0;
}
