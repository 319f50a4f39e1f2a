#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static void counters_and_gauges_render_as_prometheus_text(void **unused)
{
    struct metric *rows = metrics_counter("test_rows_total", "Rows stored");
    struct metric *clients = metrics_gauge("test_clients", "Clients connected");
    assert_non_null(rows);
    assert_non_null(clients);
    metric_add(rows, 5);
    metric_add(rows, 2);
    metric_set(clients, 3);
    metric_set(clients, 1);
    assert_int_equal(metric_value(rows), 7);
    assert_int_equal(metric_value(clients), 1);

    size_t length;
    char *text = metrics_render(&length);
    assert_non_null(text);
    assert_int_equal(length, strlen(text));
    assert_string_equal(text, "# HELP test_rows_total Rows stored\n# TYPE test_rows_total counter\ntest_rows_total 7\n"
                              "# HELP test_clients Clients connected\n# TYPE test_clients gauge\ntest_clients 1\n");
    free(text);
}

static void histograms_render_cumulative_buckets_sum_and_count(void **unused)
{
    static const int64_t BOUNDS[] = {10, 100, 1000};
    struct metric *latency = metrics_histogram("test_latency_milliseconds", "Latency", BOUNDS, 3);
    assert_non_null(latency);
    metric_observe(latency, 3);
    metric_observe(latency, 10);   /* a bound is inclusive (le) */
    metric_observe(latency, 11);
    metric_observe(latency, 5000); /* above every bound: only +Inf */
    assert_int_equal(metric_value(latency), 4);

    size_t length;
    char *text = metrics_render(&length);
    assert_non_null(text);
    const char *expected = "# HELP test_latency_milliseconds Latency\n# TYPE test_latency_milliseconds histogram\n"
                           "test_latency_milliseconds_bucket{le=\"10\"} 2\n"
                           "test_latency_milliseconds_bucket{le=\"100\"} 3\n"
                           "test_latency_milliseconds_bucket{le=\"1000\"} 3\n"
                           "test_latency_milliseconds_bucket{le=\"+Inf\"} 4\n"
                           "test_latency_milliseconds_sum 5024\ntest_latency_milliseconds_count 4\n";
    assert_non_null(strstr(text, expected));
    free(text);

    static const int64_t UNSORTED[] = {5, 5};
    assert_null(metrics_histogram("test_bad_bounds", "x", UNSORTED, 2));
    assert_null(metrics_histogram("test_no_bounds", "x", BOUNDS, 0));
    metric_observe(metrics_counter("test_not_a_histogram_total", "x"), 1); /* ignored */
    assert_int_equal(metric_value(metrics_counter("test_not_a_histogram_total", "x")), 0);
}

static void milliseconds_are_served_as_seconds(void **unused)
{
    static const int64_t BOUNDS[] = {5, 250, 1000};
    struct metric *delay = metrics_gauge_ms("test_delay_seconds", "Delay");
    struct metric *latency = metrics_histogram_ms("test_wait_seconds", "Wait", BOUNDS, 3);
    metric_set(delay, 1234);
    metric_observe(latency, 2);
    metric_observe(latency, 1500);
    size_t length;
    char *text = metrics_render(&length);
    assert_non_null(strstr(text, "\ntest_delay_seconds 1.234\n"));
    assert_non_null(strstr(text, "test_wait_seconds_bucket{le=\"0.005\"} 1\n"
                                 "test_wait_seconds_bucket{le=\"0.25\"} 1\n"
                                 "test_wait_seconds_bucket{le=\"1\"} 1\n"
                                 "test_wait_seconds_bucket{le=\"+Inf\"} 2\n"
                                 "test_wait_seconds_sum 1.502\ntest_wait_seconds_count 2\n"));
    free(text);
    metric_set(delay, -5);
    text = metrics_render(&length);
    assert_non_null(strstr(text, "\ntest_delay_seconds -0.005\n"));
    free(text);
    metric_set(delay, 2000);
    text = metrics_render(&length);
    assert_non_null(strstr(text, "\ntest_delay_seconds 2\n"));
    free(text);
}

static void registering_twice_returns_the_same_metric(void **unused)
{
    struct metric *first = metrics_counter("test_twice_total", "x");
    struct metric *second = metrics_counter("test_twice_total", "x");
    assert_ptr_equal(first, second);
    metric_add(first, 1);
    assert_int_equal(metric_value(second), 1);
}

static void invalid_names_are_refused_and_null_is_harmless(void **unused)
{
    assert_null(metrics_counter("", "x"));
    assert_null(metrics_counter("9lives", "x"));
    assert_null(metrics_counter("has-dash", "x"));
    assert_null(metrics_counter("has space", "x"));
    assert_null(metrics_gauge(NULL, "x"));
    assert_non_null(metrics_gauge("ns:ok_name_1", "colons are allowed"));
    metric_add(NULL, 1);
    metric_set(NULL, 1);
    assert_int_equal(metric_value(NULL), 0);
}

static void the_registry_is_bounded(void **unused)
{
    static char names[METRICS_MAX + 8][32];
    int accepted = 0;
    for (int i = 0; i < METRICS_MAX + 8; i++) {
        snprintf(names[i], sizeof names[i], "test_fill_%d", i);
        accepted += metrics_counter(names[i], "filler") != NULL;
    }
    assert_true(accepted < METRICS_MAX + 8);
    assert_null(metrics_counter("test_one_too_many", "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_and_gauges_render_as_prometheus_text),
        cmocka_unit_test(histograms_render_cumulative_buckets_sum_and_count),
        cmocka_unit_test(milliseconds_are_served_as_seconds),
        cmocka_unit_test(registering_twice_returns_the_same_metric),
        cmocka_unit_test(invalid_names_are_refused_and_null_is_harmless),
        cmocka_unit_test(the_registry_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
