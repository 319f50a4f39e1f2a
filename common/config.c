#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "backoff.h"
#include "log.h"
#include "version.h"

const char *const CONFIG_DAEMON_SECTIONS[] = {"producer", "bridge", "api", "aggregator", "migrate", NULL};

#define CONFIG_DEFAULT_FILE "config.yaml"
#define CONFIG_FILE_ENVIRONMENT "TICKERFLOW_CONFIG"
#define CONFIG_FILE_MAX (1024 * 1024)

static void *field_of(const struct config_option *option, void *settings)
{
    return (char *)settings + option->offset;
}

static int parse_bool(const char *text, bool *value)
{
    static const char *const TRUE_WORDS[] = {"true", "yes", "on", "1", NULL};
    static const char *const FALSE_WORDS[] = {"false", "no", "off", "0", NULL};
    for (int i = 0; TRUE_WORDS[i] != NULL; i++) {
        if (strcasecmp(text, TRUE_WORDS[i]) == 0) {
            *value = true;
            return 0;
        }
        if (strcasecmp(text, FALSE_WORDS[i]) == 0) {
            *value = false;
            return 0;
        }
    }
    return -1;
}

static int set_string(const struct config_option *option, const char *text, void *settings, struct error *err)
{
    char *copy = strdup(text);
    if (copy == NULL)
        return error_set(err, "out of memory");
    char **field = field_of(option, settings);
    free(*field);
    *field = copy;
    return 0;
}

static void append_choices(const char *const *choices, char *out, size_t out_size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; choices[i] != NULL && used < out_size; i++)
        used += (size_t)snprintf(out + used, out_size - used, "%s%s", i ? ", " : "", choices[i]);
}

int config_set(const struct config_option *option, const char *text, void *settings, struct error *err)
{
    switch (option->type) {
    case CONFIG_STRING:
        if ((long long)strlen(text) < option->min)
            return error_set(err, option->min == 1 ? "must not be empty" : "must be at least %lld bytes", option->min);
        return set_string(option, text, settings, err);
    case CONFIG_INT: {
        char *end;
        errno = 0;
        long long value = strtoll(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0' || value < option->min || value > option->max)
            return error_set(err, "'%.64s' is not an integer between %lld and %lld", text, option->min,
                             option->max);
        *(long long *)field_of(option, settings) = value;
        return 0;
    }
    case CONFIG_BOOL:
        if (parse_bool(text, field_of(option, settings)) < 0)
            return error_set(err, "'%.64s' is not a boolean (true or false)", text);
        return 0;
    case CONFIG_CHOICE:
        for (int i = 0; option->choices[i] != NULL; i++) {
            if (strcmp(text, option->choices[i]) == 0)
                return set_string(option, text, settings, err);
        }
        char allowed[160];
        append_choices(option->choices, allowed, sizeof allowed);
        return error_set(err, "'%.64s' is not one of: %s", text, allowed);
    }
    return error_set(err, "option '%s' has an unknown type", option->key);
}

int config_apply_defaults(const struct config_spec *spec, void *settings, struct error *err)
{
    for (size_t i = 0; i < spec->option_count; i++) {
        const struct config_option *option = &spec->options[i];
        if (config_set(option, option->default_value, settings, err) < 0)
            return error_wrap(err, "default of '%s'", option->key);
    }
    return 0;
}

void config_free(const struct config_spec *spec, void *settings)
{
    for (size_t i = 0; i < spec->option_count; i++) {
        const struct config_option *option = &spec->options[i];
        if (option->type == CONFIG_STRING || option->type == CONFIG_CHOICE) {
            char **field = field_of(option, settings);
            free(*field);
            *field = NULL;
        }
    }
}

static const struct config_option *find_by_key(const struct config_spec *spec, const char *key)
{
    for (size_t i = 0; i < spec->option_count; i++) {
        if (strcmp(spec->options[i].key, key) == 0)
            return &spec->options[i];
    }
    return NULL;
}

static const struct config_option *find_by_flag(const struct config_spec *spec, const char *flag, size_t length)
{
    for (size_t i = 0; i < spec->option_count; i++) {
        if (strlen(spec->options[i].flag) == length && strncmp(spec->options[i].flag, flag, length) == 0)
            return &spec->options[i];
    }
    return NULL;
}

static bool is_foreign_section(const struct config_spec *spec, const char *section)
{
    if (spec->section != NULL && strcmp(section, spec->section) == 0)
        return false;
    for (int i = 0; spec->unused_sections != NULL && spec->unused_sections[i] != NULL; i++) {
        if (strcmp(section, spec->unused_sections[i]) == 0)
            return true;
    }
    for (int i = 0; CONFIG_DAEMON_SECTIONS[i] != NULL; i++) {
        if (strcmp(section, CONFIG_DAEMON_SECTIONS[i]) == 0)
            return true;
    }
    return false;
}

/* YAML nulls ("key:", "~", "null") leave the option at its earlier value. */
static bool is_yaml_null(const yaml_node_t *node)
{
    const char *value = (const char *)node->data.scalar.value;
    return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (value[0] == '\0' || strcmp(value, "~") == 0 || strcmp(value, "null") == 0);
}

struct yaml_walk {
    const struct config_spec *spec;
    const char *origin;
    yaml_document_t *document;
    void *settings;
    struct error *err;
};

static int walk_mapping(struct yaml_walk *walk, yaml_node_t *mapping, const char *prefix, int depth);

static int walk_value(struct yaml_walk *walk, const char *key, yaml_node_t *value, int depth)
{
    size_t line = value->start_mark.line + 1;
    if (value->type == YAML_MAPPING_NODE) {
        if (depth == 0 && is_foreign_section(walk->spec, key))
            return 0;
        return walk_mapping(walk, value, key, depth + 1);
    }
    if (value->type != YAML_SCALAR_NODE)
        return error_set(walk->err, "%s:%zu: '%s' must be a single value, not a list", walk->origin, line, key);

    const struct config_option *option = find_by_key(walk->spec, key);
    if (option == NULL) {
        if (depth > 0 || !is_foreign_section(walk->spec, key))
            return error_set(walk->err, "%s:%zu: unknown option '%s'", walk->origin, line, key);
        return 0;
    }
    if (is_yaml_null(value))
        return 0;
    if (config_set(option, (const char *)value->data.scalar.value, walk->settings, walk->err) < 0)
        return error_wrap(walk->err, "%s:%zu: option '%s'", walk->origin, line, key);
    return 0;
}

static int walk_mapping(struct yaml_walk *walk, yaml_node_t *mapping, const char *prefix, int depth)
{
    for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start; pair < mapping->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *key_node = yaml_document_get_node(walk->document, pair->key);
        yaml_node_t *value = yaml_document_get_node(walk->document, pair->value);
        if (key_node == NULL || value == NULL || key_node->type != YAML_SCALAR_NODE)
            return error_set(walk->err, "%s: keys must be plain words", walk->origin);
        char key[128];
        int length = snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "",
                              (const char *)key_node->data.scalar.value);
        if (length < 0 || (size_t)length >= sizeof key)
            return error_set(walk->err, "%s:%zu: key too long", walk->origin, key_node->start_mark.line + 1);
        if (walk_value(walk, key, value, depth) < 0)
            return -1;
    }
    return 0;
}

int config_apply_yaml(const struct config_spec *spec, const char *text, size_t length, const char *origin,
                      void *settings, struct error *err)
{
    yaml_parser_t parser;
    yaml_document_t document;
    if (!yaml_parser_initialize(&parser))
        return error_set(err, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    if (!yaml_parser_load(&parser, &document)) {
        error_set(err, "%s:%zu: invalid YAML: %s", origin, parser.problem_mark.line + 1,
                  parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        return -1;
    }

    int result = 0;
    yaml_node_t *root = yaml_document_get_root_node(&document);
    if (root != NULL && !(root->type == YAML_SCALAR_NODE && is_yaml_null(root))) {
        if (root->type != YAML_MAPPING_NODE) {
            result = error_set(err, "%s: the top level must be a mapping of options", origin);
        } else {
            struct yaml_walk walk = {spec, origin, &document, settings, err};
            result = walk_mapping(&walk, root, "", 0);
        }
    }
    yaml_document_delete(&document);
    yaml_parser_delete(&parser);
    return result;
}

void config_environment_name(const char *key, char *out, size_t out_size)
{
    size_t i = 0;
    for (; key[i] != '\0' && i + 1 < out_size; i++) {
        char c = key[i];
        out[i] = c == '.' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    out[i] = '\0';
}

int config_apply_environment(const struct config_spec *spec, void *settings, struct error *err)
{
    for (size_t i = 0; i < spec->option_count; i++) {
        const struct config_option *option = &spec->options[i];
        char name[128];
        config_environment_name(option->key, name, sizeof name);
        const char *value = getenv(name);
        if (value == NULL || value[0] == '\0')
            continue;
        if (config_set(option, value, settings, err) < 0)
            return error_wrap(err, "environment variable %s", name);
    }
    return 0;
}

static int read_file(const char *path, char **text, size_t *length, struct error *err)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return error_set(err, "cannot open config file %s: %s", path, strerror(errno));
    char *buffer = malloc(CONFIG_FILE_MAX + 1);
    if (buffer == NULL) {
        fclose(file);
        return error_set(err, "out of memory");
    }
    size_t got = fread(buffer, 1, CONFIG_FILE_MAX + 1, file);
    int failed = ferror(file);
    fclose(file);
    if (failed || got > CONFIG_FILE_MAX) {
        free(buffer);
        return error_set(err, "cannot read config file %s: %s", path,
                         failed ? "read error" : "larger than 1 MiB");
    }
    *text = buffer;
    *length = got;
    return 0;
}

static int apply_file(const struct config_spec *spec, const char *path, bool must_exist, void *settings,
                      struct error *err)
{
    if (!must_exist && access(path, F_OK) != 0)
        return 0;
    char *text = NULL;
    size_t length = 0;
    if (read_file(path, &text, &length, err) < 0)
        return -1;
    int result = config_apply_yaml(spec, text, length, path, settings, err);
    free(text);
    return result;
}

/* The value of "--name=value" or "--name value"; advances *index past what it used. */
static const char *flag_value(int argc, char *const argv[], int *index, const char *equals)
{
    if (equals != NULL)
        return equals + 1;
    if (*index + 1 < argc)
        return argv[++*index];
    return NULL;
}

/* First pass over argv: --help, --version and --config act before anything else. */
static enum config_result scan_special_flags(const struct config_spec *spec, int argc, char *const argv[],
                                             const char **config_path, FILE *out, struct error *err)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            config_print_help(spec, out);
            return CONFIG_EXIT_SUCCESS;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            fprintf(out, "%s %s\n", spec->program, TICKERFLOW_VERSION);
            return CONFIG_EXIT_SUCCESS;
        }
        if (strncmp(argv[i], "--config", 8) == 0 && (argv[i][8] == '\0' || argv[i][8] == '=')) {
            const char *equals = argv[i][8] == '=' ? &argv[i][8] : NULL;
            *config_path = flag_value(argc, argv, &i, equals);
            if (*config_path == NULL || (*config_path)[0] == '\0') {
                error_set(err, "option '--config' needs a file path");
                return CONFIG_EXIT_USAGE;
            }
        }
    }
    return CONFIG_READY;
}

static int apply_flags(const struct config_spec *spec, int argc, char *const argv[], void *settings,
                       struct error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        if (strncmp(argument, "--", 2) != 0 || argument[2] == '\0')
            return error_set(err, "unexpected argument '%.64s' (options start with --; see --help)", argument);
        const char *name = argument + 2;
        const char *equals = strchr(name, '=');
        size_t name_length = equals ? (size_t)(equals - name) : strlen(name);

        if (name_length == 6 && strncmp(name, "config", 6) == 0) {
            if (equals == NULL)
                i++; /* its value was taken by scan_special_flags */
            continue;
        }
        const struct config_option *option = find_by_flag(spec, name, name_length);
        if (option == NULL)
            return error_set(err, "unknown option '--%.*s' (see --help)", (int)(name_length > 64 ? 64 : name_length),
                             name);
        const char *value = option->type == CONFIG_BOOL && equals == NULL ? "true"
                                                                          : flag_value(argc, argv, &i, equals);
        if (value == NULL)
            return error_set(err, "option '--%s' needs a value", option->flag);
        if (config_set(option, value, settings, err) < 0)
            return error_wrap(err, "option '--%s'", option->flag);
    }
    return 0;
}

enum config_result config_load(const struct config_spec *spec, int argc, char *const argv[], void *settings,
                               FILE *out, struct error *err)
{
    const char *config_path = NULL;
    enum config_result special = scan_special_flags(spec, argc, argv, &config_path, out, err);
    if (special != CONFIG_READY)
        return special;

    if (config_apply_defaults(spec, settings, err) < 0)
        return CONFIG_EXIT_USAGE;

    bool must_exist = true;
    if (config_path == NULL) {
        config_path = getenv(CONFIG_FILE_ENVIRONMENT);
        if (config_path == NULL || config_path[0] == '\0') {
            config_path = CONFIG_DEFAULT_FILE;
            must_exist = false;
        }
    }
    if (apply_file(spec, config_path, must_exist, settings, err) < 0)
        return CONFIG_EXIT_USAGE;
    if (config_apply_environment(spec, settings, err) < 0)
        return CONFIG_EXIT_USAGE;
    if (apply_flags(spec, argc, argv, settings, err) < 0)
        return CONFIG_EXIT_USAGE;
    return CONFIG_READY;
}

static void print_option(const struct config_option *option, FILE *out)
{
    char environment[128];
    config_environment_name(option->key, environment, sizeof environment);
    const char *placeholder = option->type == CONFIG_INT ? "=N" : option->type == CONFIG_BOOL ? "[=BOOL]" : "=VALUE";
    fprintf(out, "  --%s%s\n      %s", option->flag, placeholder, option->help);
    if (option->type == CONFIG_INT)
        fprintf(out, " (%lld..%lld)", option->min, option->max);
    if (option->type == CONFIG_CHOICE) {
        char allowed[160];
        append_choices(option->choices, allowed, sizeof allowed);
        fprintf(out, " (%s)", allowed);
    }
    fprintf(out, "\n      default %s; env %s; config.yaml %s\n", option->default_value, environment, option->key);
}

void config_print_help(const struct config_spec *spec, FILE *out)
{
    fprintf(out, "Usage: %s [OPTION]...\n%s\n\nOptions:\n", spec->program, spec->summary);
    for (size_t i = 0; i < spec->option_count; i++)
        print_option(&spec->options[i], out);
    fprintf(out,
            "  --config=PATH\n"
            "      YAML settings file; default ./config.yaml when present; env " CONFIG_FILE_ENVIRONMENT "\n"
            "  --help     show this help and exit\n"
            "  --version  show the version and exit\n\n"
            "Each option is read from, lowest precedence first: its default, the config file,\n"
            "its environment variable, the command line. Invalid or unknown options exit with code 2.\n");
}

bool config_load_daemon(const struct config_spec *spec, int argc, char *const argv[], void *settings,
                        const struct shared_settings *shared, const char *log_name, int *exit_code)
{
    struct error err;
    enum config_result loaded = config_load(spec, argc, argv, settings, stdout, &err);
    if (loaded != CONFIG_READY) {
        if (loaded == CONFIG_EXIT_USAGE)
            fprintf(stderr, "%s: %s\n", spec->program, err.message);
        config_free(spec, settings);
        *exit_code = loaded == CONFIG_EXIT_USAGE ? 2 : 0;
        return false;
    }
    enum log_level level = LOG_INFO;
    log_level_from_name(shared->log_level, &level);
    log_init(log_name, level);
    backoff_set_max_ms((int)shared->retry_backoff_max_ms);
    return true;
}
