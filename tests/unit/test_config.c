#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

struct test_settings {
    struct shared_settings shared;
    long long tickers;
    bool dry_run;
    char *label;
};

static const char *const COLORS[] = {"red", "green", NULL};

static const struct config_option OPTIONS[] = {
    CONFIG_SHARED_OPTIONS(struct test_settings, shared),
    {"producer.tickers", "tickers", CONFIG_INT, offsetof(struct test_settings, tickers), "100", 1, 1000, NULL, "n"},
    {"producer.dry_run", "dry-run", CONFIG_BOOL, offsetof(struct test_settings, dry_run), "false", 0, 0, NULL, "d"},
    {"producer.label", "label", CONFIG_CHOICE, offsetof(struct test_settings, label), "red", 0, 0, COLORS, "c"},
};

static const struct config_spec SPEC = {"tickerflow-test", "A test daemon.", "producer", OPTIONS,
                                        sizeof OPTIONS / sizeof OPTIONS[0], NULL};

static const char *const ENVIRONMENT[] = {"LOG_LEVEL", "KAFKA_BROKERS", "KAFKA_TOPIC", "DATABASE_URL",
                                          "PRODUCER_TICKERS", "PRODUCER_DRY_RUN", "PRODUCER_LABEL",
                                          "TICKERFLOW_CONFIG", NULL};

static char config_dir[] = "/tmp/tickerflow-config-test.XXXXXX";

static int setup(void **state)
{
    for (int i = 0; ENVIRONMENT[i] != NULL; i++)
        unsetenv(ENVIRONMENT[i]);
    /* An empty working folder: no ./config.yaml is picked up by accident. */
    strcpy(config_dir, "/tmp/tickerflow-config-test.XXXXXX");
    assert_non_null(mkdtemp(config_dir));
    assert_int_equal(chdir(config_dir), 0);
    return 0;
}

static int teardown(void **state)
{
    unlink("config.yaml");
    unlink("other.yaml");
    assert_int_equal(chdir("/"), 0);
    rmdir(config_dir);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

/* Loads with argv (NULL-terminated); returns the result and leaves settings filled. */
static enum config_result load(struct test_settings *settings, struct error *err, char *const *arguments)
{
    int argc = 0;
    while (arguments[argc] != NULL)
        argc++;
    memset(settings, 0, sizeof *settings);
    FILE *out = fopen("/dev/null", "w");
    enum config_result result = config_load(&SPEC, argc, arguments, settings, out, err);
    fclose(out);
    return result;
}

static void expect_usage_error(char *const *arguments, const char *reason)
{
    struct test_settings settings;
    struct error err = {0};
    assert_int_equal(load(&settings, &err, arguments), CONFIG_EXIT_USAGE);
    if (strstr(err.message, reason) == NULL)
        fail_msg("expected error containing '%s', got '%s'", reason, err.message);
    config_free(&SPEC, &settings);
}

static void defaults_apply_without_any_source(void **unused)
{
    struct test_settings settings;
    struct error err;
    assert_int_equal(load(&settings, &err, (char *[]){"prog", NULL}), CONFIG_READY);
    assert_string_equal(settings.shared.kafka_brokers, "localhost:9092");
    assert_string_equal(settings.shared.kafka_topic, "tickers");
    assert_string_equal(settings.shared.log_level, "info");
    assert_int_equal(settings.tickers, 100);
    assert_false(settings.dry_run);
    assert_string_equal(settings.label, "red");
    config_free(&SPEC, &settings);
    assert_null(settings.shared.kafka_brokers);
}

static void precedence_is_default_file_environment_flag(void **unused)
{
    write_file("config.yaml", "kafka:\n  brokers: file:1\n  topic: from_file\nproducer:\n  tickers: 10\n"
                              "  label: green\nlog_level: warn\n");
    setenv("KAFKA_BROKERS", "env:2", 1);
    setenv("PRODUCER_TICKERS", "20", 1);
    struct test_settings settings;
    struct error err;
    assert_int_equal(load(&settings, &err, (char *[]){"prog", "--tickers", "30", NULL}), CONFIG_READY);
    assert_string_equal(settings.shared.kafka_topic, "from_file"); /* file only */
    assert_string_equal(settings.label, "green");
    assert_string_equal(settings.shared.log_level, "warn");
    assert_string_equal(settings.shared.kafka_brokers, "env:2"); /* env beats file */
    assert_int_equal(settings.tickers, 30);                       /* flag beats env */
    assert_string_equal(settings.shared.database_url,
                        "postgresql://tickerflow:tickerflow@localhost:5432/tickerflow"); /* default */
    config_free(&SPEC, &settings);
}

static void flags_accept_both_forms_and_bare_booleans(void **unused)
{
    struct test_settings settings;
    struct error err;
    assert_int_equal(load(&settings, &err, (char *[]){"prog", "--kafka-brokers=a:1", "--dry-run", "--label", "green",
                                                     NULL}),
                     CONFIG_READY);
    assert_string_equal(settings.shared.kafka_brokers, "a:1");
    assert_true(settings.dry_run);
    assert_string_equal(settings.label, "green");
    config_free(&SPEC, &settings);
    assert_int_equal(load(&settings, &err, (char *[]){"prog", "--dry-run=no", NULL}), CONFIG_READY);
    assert_false(settings.dry_run);
    config_free(&SPEC, &settings);
}

static void empty_environment_variables_count_as_unset(void **unused)
{
    setenv("KAFKA_BROKERS", "", 1);
    struct test_settings settings;
    struct error err;
    assert_int_equal(load(&settings, &err, (char *[]){"prog", NULL}), CONFIG_READY);
    assert_string_equal(settings.shared.kafka_brokers, "localhost:9092");
    config_free(&SPEC, &settings);
}

static void yaml_nulls_keep_the_default_and_foreign_sections_are_skipped(void **unused)
{
    write_file("config.yaml", "kafka:\n  brokers:\n  topic: ~\nbridge:\n  anything: 1\n  group_id: g\napi:\n  port: 1\n");
    struct test_settings settings;
    struct error err;
    assert_int_equal(load(&settings, &err, (char *[]){"prog", NULL}), CONFIG_READY);
    assert_string_equal(settings.shared.kafka_brokers, "localhost:9092");
    assert_string_equal(settings.shared.kafka_topic, "tickers");
    config_free(&SPEC, &settings);
}

static void unused_shared_sections_are_skipped_but_other_keys_are_not(void **unused)
{
    /* A program without Kafka options (tickerflow-migrate) reads the same config.yaml. */
    static const struct config_option DATABASE_ONLY[] = {
        {"database.url", "database-url", CONFIG_STRING, offsetof(struct test_settings, shared.database_url), "x", 1, 0,
         NULL, "u"},
    };
    static const char *const UNUSED[] = {"kafka", NULL};
    const struct config_spec spec = {.program = "tickerflow-db", .summary = "s", .section = "migrate",
                                     .options = DATABASE_ONLY, .option_count = 1, .unused_sections = UNUSED};
    struct test_settings settings = {0};
    struct error err;
    const char yaml[] = "kafka:\n  brokers: b:1\ndatabase:\n  url: postgresql://here\n";
    assert_int_equal(config_apply_yaml(&spec, yaml, sizeof yaml - 1, "config.yaml", &settings, &err), 0);
    assert_string_equal(settings.shared.database_url, "postgresql://here");
    const char typo[] = "database:\n  urlz: y\n";
    assert_int_equal(config_apply_yaml(&spec, typo, sizeof typo - 1, "config.yaml", &settings, &err), -1);
    assert_string_equal(err.message, "config.yaml:2: unknown option 'database.urlz'");
    /* Without the list, the Kafka section is unknown to it. */
    const struct config_spec strict = {.program = "p", .summary = "s", .section = "migrate", .options = DATABASE_ONLY,
                                       .option_count = 1};
    assert_int_equal(config_apply_yaml(&strict, yaml, sizeof yaml - 1, "config.yaml", &settings, &err), -1);
    free(settings.shared.database_url);
}

static void help_and_version_exit_successfully(void **unused)
{
    struct test_settings settings;
    struct error err;
    assert_int_equal(load(&settings, &err, (char *[]){"prog", "--bogus", "--help", NULL}), CONFIG_EXIT_SUCCESS);
    assert_int_equal(load(&settings, &err, (char *[]){"prog", "--version", NULL}), CONFIG_EXIT_SUCCESS);

    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    config_print_help(&SPEC, out);
    fclose(out);
    assert_non_null(strstr(text, "Usage: tickerflow-test [OPTION]..."));
    assert_non_null(strstr(text, "--kafka-brokers=VALUE"));
    assert_non_null(strstr(text, "env KAFKA_BROKERS"));
    assert_non_null(strstr(text, "--tickers=N"));
    assert_non_null(strstr(text, "(1..1000)"));
    assert_non_null(strstr(text, "(red, green)"));
    assert_non_null(strstr(text, "--log-level"));
    free(text);
}

static void rejects_bad_command_lines(void **unused)
{
    expect_usage_error((char *[]){"prog", "--nope", NULL}, "unknown option '--nope' (see --help)");
    expect_usage_error((char *[]){"prog", "positional", NULL}, "unexpected argument 'positional'");
    expect_usage_error((char *[]){"prog", "-x", NULL}, "unexpected argument '-x'");
    expect_usage_error((char *[]){"prog", "--tickers", NULL}, "option '--tickers' needs a value");
    expect_usage_error((char *[]){"prog", "--tickers=0", NULL}, "'0' is not an integer between 1 and 1000");
    expect_usage_error((char *[]){"prog", "--tickers=1001", NULL}, "between 1 and 1000");
    expect_usage_error((char *[]){"prog", "--tickers=12abc", NULL}, "'12abc' is not an integer");
    expect_usage_error((char *[]){"prog", "--tickers=99999999999999999999", NULL}, "is not an integer");
    expect_usage_error((char *[]){"prog", "--dry-run=maybe", NULL}, "'maybe' is not a boolean");
    expect_usage_error((char *[]){"prog", "--label=blue", NULL}, "'blue' is not one of: red, green");
    expect_usage_error((char *[]){"prog", "--log-level=loud", NULL}, "is not one of: debug, info, warn, error");
    expect_usage_error((char *[]){"prog", "--kafka-brokers=", NULL}, "must not be empty");
    expect_usage_error((char *[]){"prog", "--config", NULL}, "'--config' needs a file path");
    expect_usage_error((char *[]){"prog", "--config=missing.yaml", NULL}, "cannot open config file missing.yaml");
}

static void rejects_bad_environment_values(void **unused)
{
    setenv("PRODUCER_TICKERS", "many", 1);
    expect_usage_error((char *[]){"prog", NULL}, "environment variable PRODUCER_TICKERS: 'many' is not an integer");
}

static void rejects_bad_config_files(void **unused)
{
    write_file("config.yaml", "kafka:\n  brokerz: x\n");
    expect_usage_error((char *[]){"prog", NULL}, "config.yaml:2: unknown option 'kafka.brokerz'");
    write_file("config.yaml", "producer:\n  tickers: lots\n");
    expect_usage_error((char *[]){"prog", NULL}, "config.yaml:2: option 'producer.tickers': 'lots' is not an integer");
    write_file("config.yaml", "kafka:\n  brokers: [a, b]\n");
    expect_usage_error((char *[]){"prog", NULL}, "must be a single value, not a list");
    write_file("config.yaml", "kafka: {brokers: a\n");
    expect_usage_error((char *[]){"prog", NULL}, "invalid YAML");
    write_file("config.yaml", "- a\n- b\n");
    expect_usage_error((char *[]){"prog", NULL}, "top level must be a mapping");
    write_file("config.yaml", "mystery: 1\n");
    expect_usage_error((char *[]){"prog", NULL}, "unknown option 'mystery'");
    unlink("config.yaml");
    write_file("other.yaml", "producer:\n  tickers: 7\n");
    setenv("TICKERFLOW_CONFIG", "other.yaml", 1);
    struct test_settings settings;
    struct error err;
    assert_int_equal(load(&settings, &err, (char *[]){"prog", NULL}), CONFIG_READY);
    assert_int_equal(settings.tickers, 7);
    config_free(&SPEC, &settings);
    assert_int_equal(load(&settings, &err, (char *[]){"prog", "--config", "other.yaml", "--tickers=8", NULL}),
                     CONFIG_READY);
    assert_int_equal(settings.tickers, 8);
    config_free(&SPEC, &settings);
}

static void derives_environment_names(void **unused)
{
    char name[64];
    config_environment_name("kafka.brokers", name, sizeof name);
    assert_string_equal(name, "KAFKA_BROKERS");
    config_environment_name("producer.interval_ms", name, sizeof name);
    assert_string_equal(name, "PRODUCER_INTERVAL_MS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_apply_without_any_source, setup, teardown),
        cmocka_unit_test_setup_teardown(precedence_is_default_file_environment_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(flags_accept_both_forms_and_bare_booleans, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_environment_variables_count_as_unset, setup, teardown),
        cmocka_unit_test_setup_teardown(yaml_nulls_keep_the_default_and_foreign_sections_are_skipped, setup, teardown),
        cmocka_unit_test(unused_shared_sections_are_skipped_but_other_keys_are_not),
        cmocka_unit_test_setup_teardown(help_and_version_exit_successfully, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_bad_command_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_bad_environment_values, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_bad_config_files, setup, teardown),
        cmocka_unit_test_setup_teardown(derives_environment_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
