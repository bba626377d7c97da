/* Unit tests of the settings parser (preload/config.c). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static char error[512];

UNIT_TEST(test_defaults)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_INT_EQ(1000000, config.interval_ns);
    EXPECT_INT_EQ(RP_OUTPUT_TEXT, config.outputs);
    EXPECT_INT_EQ(0, config.print);
    EXPECT_INT_EQ(0, config.min_duration_ns);
    EXPECT_INT_EQ(100, config.max_reports);
    EXPECT_TRUE(config.dir[0] == '/');
    EXPECT_TRUE(strstr(config.dir, "/reqprof") != NULL);
}

UNIT_TEST(test_intervals)
{
    static const struct {
        const char *text;
        long long nanoseconds; /* 0: must be refused */
    } cases[] = {
        {"1ms", 1000000},  {"500us", 500000}, {"2ms", 2000000},
        {"0.5ms", 500000}, {"1s", 1000000000}, {"100us", 100000},
        {"99us", 0},       {"2s", 0},          {"1", 0},
        {"ms", 0},         {"fast", 0},        {"-1ms", 0},
        {"1 ms", 0},       {"", 0},            {"nanms", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rp_config config;
        rp_config_defaults(&config);
        int result = rp_config_set(&config, "REQPROF_INTERVAL", cases[i].text,
                                   error, sizeof error);
        if (cases[i].nanoseconds == 0) {
            EXPECT_INT_EQ(-1, result);
            EXPECT_TRUE(strstr(error, "REQPROF_INTERVAL") != NULL);
            EXPECT_TRUE(strstr(error, "500us, 1ms or 2ms") != NULL);
        } else {
            EXPECT_INT_EQ(0, result);
            EXPECT_INT_EQ(cases[i].nanoseconds, config.interval_ns);
        }
    }
}

UNIT_TEST(test_min_durations)
{
    static const struct {
        const char *text;
        long long nanoseconds; /* -1: must be refused */
    } cases[] = {
        {"0", 0},           {"0ms", 0},     {"50ms", 50000000},
        {"500us", 500000},  {"2s", 2000000000LL}, {"3600s", 3600000000000LL},
        {"3601s", -1},      {"50", -1},     {"-1ms", -1},
        {"", -1},           {"slow", -1},   {"1 s", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rp_config config;
        rp_config_defaults(&config);
        int result = rp_config_set(&config, "REQPROF_MIN_DURATION",
                                   cases[i].text, error, sizeof error);
        if (cases[i].nanoseconds < 0) {
            EXPECT_INT_EQ(-1, result);
            EXPECT_TRUE(strstr(error, "REQPROF_MIN_DURATION") != NULL);
            EXPECT_TRUE(strstr(error, "0 (every request)") != NULL);
        } else {
            EXPECT_INT_EQ(0, result);
            EXPECT_INT_EQ(cases[i].nanoseconds, config.min_duration_ns);
        }
    }
}

/* REQPROF_MAX_REPORTS set to text: the value taken, or -1 if refused with
 * a message that says what is accepted. */
static long long max_reports_of(const char *text)
{
    struct rp_config config;
    rp_config_defaults(&config);
    if (rp_config_set(&config, "REQPROF_MAX_REPORTS", text, error,
                      sizeof error) == 0)
        return config.max_reports;
    EXPECT_TRUE(strstr(error, "REQPROF_MAX_REPORTS") != NULL);
    EXPECT_TRUE(strstr(error, "0 (no limit)") != NULL);
    return -1;
}

UNIT_TEST(test_max_reports)
{
    EXPECT_INT_EQ(0, max_reports_of("0"));
    EXPECT_INT_EQ(30, max_reports_of("30"));
    EXPECT_INT_EQ(1000000, max_reports_of("1000000"));
    EXPECT_INT_EQ(-1, max_reports_of("1000001"));
    EXPECT_INT_EQ(-1, max_reports_of("-1"));
    EXPECT_INT_EQ(-1, max_reports_of(" 5"));
    EXPECT_INT_EQ(-1, max_reports_of("5/s"));
    EXPECT_INT_EQ(-1, max_reports_of(""));
    EXPECT_INT_EQ(-1, max_reports_of("99999999999999999999999"));
}

/* REQPROF_MAX_DISK set to text: the bytes taken, or -1 if refused with a
 * message that says what is accepted. */
static long long max_disk_of(const char *text)
{
    struct rp_config config;
    rp_config_defaults(&config);
    if (rp_config_set(&config, "REQPROF_MAX_DISK", text, error,
                      sizeof error) == 0)
        return (long long)config.max_disk;
    EXPECT_TRUE(strstr(error, "REQPROF_MAX_DISK") != NULL);
    EXPECT_TRUE(strstr(error, "0 (no limit)") != NULL);
    return -1;
}

UNIT_TEST(test_max_disk)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_INT_EQ(1ll << 30, (long long)config.max_disk);
    EXPECT_INT_EQ(0, max_disk_of("0"));
    EXPECT_INT_EQ(1ll << 20, max_disk_of("1M"));
    EXPECT_INT_EQ(1ll << 20, max_disk_of("1048576"));
    EXPECT_INT_EQ(500ll << 20, max_disk_of("500M"));
    EXPECT_INT_EQ(500ll << 20, max_disk_of("500MiB"));
    EXPECT_INT_EQ(2ll << 30, max_disk_of("2g"));
    EXPECT_INT_EQ(2ll << 30, max_disk_of("2GB"));
    EXPECT_INT_EQ(2048ll << 10, max_disk_of("2048K"));
    EXPECT_INT_EQ(1ll << 40, max_disk_of("1T"));
    EXPECT_INT_EQ(-1, max_disk_of("1023K"));
    EXPECT_INT_EQ(-1, max_disk_of("100"));
    EXPECT_INT_EQ(-1, max_disk_of("-1"));
    EXPECT_INT_EQ(-1, max_disk_of(" 1G"));
    EXPECT_INT_EQ(-1, max_disk_of("1 G"));
    EXPECT_INT_EQ(-1, max_disk_of("1Gi"));
    EXPECT_INT_EQ(-1, max_disk_of("1P"));
    EXPECT_INT_EQ(-1, max_disk_of("G"));
    EXPECT_INT_EQ(-1, max_disk_of(""));
    EXPECT_INT_EQ(-1, max_disk_of("99999999999T"));
}

UNIT_TEST(test_outputs)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_OUTPUT", "text,json", error,
                                   sizeof error));
    EXPECT_INT_EQ(RP_OUTPUT_TEXT | RP_OUTPUT_JSON, config.outputs);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_OUTPUT", "json", error,
                                   sizeof error));
    EXPECT_INT_EQ(RP_OUTPUT_JSON, config.outputs);
    static const char *const refused[] = {"", "xml", "text,", ",", "text,xml",
                                          "TEXT", "text json"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_OUTPUT", refused[i],
                                        error, sizeof error));
        EXPECT_TRUE(strstr(error, "text, json") != NULL);
    }
    EXPECT_INT_EQ(RP_OUTPUT_JSON, config.outputs);
}

UNIT_TEST(test_print_and_dir)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_PRINT", "yes", error, sizeof error));
    EXPECT_INT_EQ(1, config.print);
    EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_PRINT", "2", error, sizeof error));
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_DIR", "/var/tmp/r", error,
                                   sizeof error));
    EXPECT_STR_EQ("/var/tmp/r", config.dir);
    EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_DIR", "", error, sizeof error));
}

UNIT_TEST(test_signals)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_INT_EQ(SIGPROF, config.signal);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_SIGNAL", "SIGRTMIN+4", error,
                                   sizeof error));
    EXPECT_INT_EQ(SIGRTMIN + 4, config.signal);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_SIGNAL", "VTALRM", error,
                                   sizeof error));
    EXPECT_INT_EQ(SIGVTALRM, config.signal);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_SIGNAL", "SIGRTMIN", error,
                                   sizeof error));
    EXPECT_INT_EQ(SIGRTMIN, config.signal);
    static const char *const refused[] = {"SIGUSR1", "SIGRTMIN+", "SIGRTMIN+x",
                                          "SIGRTMIN-1", "SIGRTMIN+99", "27", ""};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_SIGNAL", refused[i],
                                        error, sizeof error));
        EXPECT_TRUE(strstr(error, "SIGRTMIN+N") != NULL);
    }
    EXPECT_INT_EQ(SIGRTMIN, config.signal);
}

UNIT_TEST(test_redact)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_TRUE(!config.redact_query);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_REDACT", "query", error,
                                   sizeof error));
    EXPECT_TRUE(config.redact_query);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_REDACT", "none", error,
                                   sizeof error));
    EXPECT_TRUE(!config.redact_query);
    EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_REDACT", "1", error,
                                    sizeof error));
    EXPECT_TRUE(strstr(error, "query") != NULL);
}

UNIT_TEST(test_quiet)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_TRUE(!config.quiet);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_QUIET", "1", error,
                                   sizeof error));
    EXPECT_TRUE(config.quiet);
    EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_QUIET", "quiet", error,
                                    sizeof error));
    EXPECT_TRUE(strstr(error, "REQPROF_QUIET") != NULL);
}

UNIT_TEST(test_unknown_key_names_the_known_ones)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_OUTPUTS", "text", error,
                                    sizeof error));
    EXPECT_TRUE(strstr(error, "REQPROF_OUTPUTS") != NULL);
    EXPECT_TRUE(strstr(error, "REQPROF_OUTPUT,") != NULL);
}

UNIT_TEST(test_load_from_file_then_environment)
{
    char path[] = "/tmp/reqprof-config-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_TRUE(fd >= 0);
    FILE *file = fdopen(fd, "w");
    fputs("# comment\n\n  REQPROF_OUTPUT = json \nREQPROF_INTERVAL=2ms\n", file);
    fclose(file);
    setenv("REQPROF_CONFIG", path, 1);
    setenv("REQPROF_INTERVAL", "3ms", 1);
    struct rp_config config;
    EXPECT_INT_EQ(0, rp_config_load(&config, error, sizeof error));
    EXPECT_INT_EQ(RP_OUTPUT_JSON, config.outputs);
    EXPECT_INT_EQ(3000000, config.interval_ns);

    file = fopen(path, "w");
    fputs("REQPROF_OUTPUT=json\nREQPROF_INTERVALL=2ms\n", file);
    fclose(file);
    EXPECT_INT_EQ(-1, rp_config_load(&config, error, sizeof error));
    EXPECT_TRUE(strstr(error, ":2:") != NULL);
    EXPECT_TRUE(strstr(error, "REQPROF_INTERVALL") != NULL);

    unlink(path);
    EXPECT_INT_EQ(-1, rp_config_load(&config, error, sizeof error));
    EXPECT_TRUE(strstr(error, "cannot be read") != NULL);
    unsetenv("REQPROF_CONFIG");
    unsetenv("REQPROF_INTERVAL");
}

int main(void)
{
    UNIT_RUN(test_defaults);
    UNIT_RUN(test_intervals);
    UNIT_RUN(test_min_durations);
    UNIT_RUN(test_max_reports);
    UNIT_RUN(test_max_disk);
    UNIT_RUN(test_outputs);
    UNIT_RUN(test_print_and_dir);
    UNIT_RUN(test_signals);
    UNIT_RUN(test_redact);
    UNIT_RUN(test_quiet);
    UNIT_RUN(test_unknown_key_names_the_known_ones);
    UNIT_RUN(test_load_from_file_then_environment);
    return unit_finish();
}
