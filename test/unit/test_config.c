/* Unit tests of the settings parser (preload/config.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "report.h"
#include "unit.h"

/* REQPROF_OUTPUT's bit for a format. */
#define OUTPUT(format) (1u << RP_FORMAT_##format)

static char error[512];

UNIT_TEST(test_defaults)
{
    struct rp_config config;
    rp_config_defaults(&config);
    EXPECT_INT_EQ(1000000, config.interval_ns);
    EXPECT_INT_EQ(OUTPUT(TEXT), config.outputs);
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
    EXPECT_INT_EQ(OUTPUT(TEXT) | OUTPUT(JSON), config.outputs);
    EXPECT_INT_EQ(0, rp_config_set(&config, "REQPROF_OUTPUT", "json", error,
                                   sizeof error));
    EXPECT_INT_EQ(OUTPUT(JSON), config.outputs);
    static const char *const refused[] = {"", "xml", "text,", ",", "text,xml",
                                          "TEXT", "text json"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_OUTPUT", refused[i],
                                        error, sizeof error));
        EXPECT_TRUE(strstr(error, "text, json") != NULL);
    }
    EXPECT_INT_EQ(OUTPUT(JSON), config.outputs);
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
    EXPECT_INT_EQ(OUTPUT(JSON), config.outputs);
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

/* Writes text to a new temporary file whose path goes into path. */
static void write_temporary(char *path, const char *text)
{
    int fd = mkstemp(path);
    EXPECT_TRUE(fd >= 0);
    FILE *file = fdopen(fd, "w");
    fputs(text, file);
    fclose(file);
}

/* Removes every REQPROF_* variable, so that the test's own environment
 * (a developer's shell) plays no part. */
static void clear_settings_environment(void)
{
    for (size_t i = 0; environ[i] != NULL;) {
        char name[256];
        size_t length = strcspn(environ[i], "=");
        if (strncmp(environ[i], "REQPROF_", 8) != 0 || length >= sizeof name) {
            i++;
            continue;
        }
        memcpy(name, environ[i], length);
        name[length] = '\0';
        unsetenv(name);
    }
}

UNIT_TEST(test_file_lines_as_people_write_them)
{
    char path[] = "/tmp/reqprof-config-XXXXXX";
    clear_settings_environment();
    write_temporary(path,
                    "export REQPROF_INTERVAL=2ms   # twice the default\n"
                    "export\tREQPROF_MAX_REPORTS = 30\n"
                    "REQPROF_DIR=\"/tmp/a b#c\"  # quoted: '#' and blanks kept\n"
                    "REQPROF_OUTPUT='json,html'\n"
                    "REQPROF_PRINT= 1 #\n"
                    "  # an indented comment\n");
    setenv("REQPROF_CONFIG", path, 1);
    struct rp_config config;
    EXPECT_INT_EQ(0, rp_config_load(&config, error, sizeof error));
    EXPECT_INT_EQ(2000000, config.interval_ns);
    EXPECT_INT_EQ(30, config.max_reports);
    EXPECT_STR_EQ("/tmp/a b#c", config.dir);
    EXPECT_INT_EQ(OUTPUT(JSON) | OUTPUT(HTML), config.outputs);
    EXPECT_INT_EQ(1, config.print);
    unlink(path);

    static const struct {
        const char *line;
        const char *says;
    } refused[] = {
        /* A '#' inside a word is the value's, as in a shell. */
        {"REQPROF_SIGNAL=SIGVTALRM#no blank before\n",
         "REQPROF_SIGNAL=\"SIGVTALRM#no blank before\" is not valid"},
        /* So is one that starts a value, right after the '='. */
        {"REQPROF_SIGNAL=#SIGVTALRM\n", "REQPROF_SIGNAL=\"#SIGVTALRM\" is not valid"},
        {"REQPROF_OUTPUT=\"json\n", "must end with its quote"},
        {"REQPROF_OUTPUT='json\"\n", "must end with its quote"},
        {"REQPROF_OUTPUT=\"json\" html\n", "nothing but a # comment"},
        {"export\n", "expected KEY=VALUE"},
        {"REQPROF_CONFIG=/etc/reqprof.conf\n", "environment only"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char bad[] = "/tmp/reqprof-config-XXXXXX";
        write_temporary(bad, refused[i].line);
        setenv("REQPROF_CONFIG", bad, 1);
        EXPECT_INT_EQ(-1, rp_config_load(&config, error, sizeof error));
        if (strstr(error, ":1: ") == NULL ||
            strstr(error, refused[i].says) == NULL)
            UNIT_FAIL_AT("%s: %s", refused[i].line, error);
        unlink(bad);
    }
    unsetenv("REQPROF_CONFIG");
}

UNIT_TEST(test_misspelt_environment_variable_is_said_with_the_file_words)
{
    char warning[1024];
    clear_settings_environment();
    setenv("REQPROF_CONFIG", "", 1);
    setenv("REQPROF_INTERVAL", "2ms", 1);
    EXPECT_TRUE(!rp_config_unknown_in_environment(warning, sizeof warning));

    setenv("REQPROF_INTERVALL", "3ms", 1);
    EXPECT_TRUE(rp_config_unknown_in_environment(warning, sizeof warning));
    struct rp_config config;
    EXPECT_INT_EQ(-1, rp_config_set(&config, "REQPROF_INTERVALL", "3ms", error,
                                    sizeof error));
    /* The file's error for the key, then where it was and what is done. */
    EXPECT_TRUE(strncmp(warning, error, strlen(error)) == 0);
    EXPECT_STR_EQ(" in the environment: ignored, check the spelling",
                  warning + strlen(error));
    /* It stops nothing: the other settings apply. */
    EXPECT_INT_EQ(0, rp_config_load(&config, error, sizeof error));
    EXPECT_INT_EQ(2000000, config.interval_ns);

    setenv("REQPROF_OUTPUTS", "json", 1);
    EXPECT_TRUE(rp_config_unknown_in_environment(warning, sizeof warning));
    EXPECT_TRUE(strstr(warning, "unknown settings ") == warning);
    EXPECT_TRUE(strstr(warning, "REQPROF_INTERVALL") != NULL);
    EXPECT_TRUE(strstr(warning, "REQPROF_OUTPUTS") != NULL);
    clear_settings_environment();
}

/* The file's next line that begins with prefix, without its newline;
 * NULL at the end. */
static char *next_line_starting(FILE *file, const char *prefix, char *line,
                                size_t size)
{
    while (fgets(line, (int)size, file) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            return line;
    }
    return NULL;
}

/* The file, read from the repository's top directory (where make test
 * runs the unit tests). */
static FILE *open_repository_file(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        UNIT_FAIL_AT("%s: %s (run from the repository's top directory)", path,
                     strerror(errno));
    return file;
}

UNIT_TEST(test_example_file_lists_every_key_with_its_default)
{
    FILE *file = open_repository_file("profiler.conf.example");
    if (file == NULL)
        return;
    char line[512], said_default[512] = "";
    size_t listed = 0, file_keys = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "# Default: ", 11) == 0) {
            snprintf(said_default, sizeof said_default, "%s", line + 11);
            continue;
        }
        char *equals = strchr(line, '=');
        if (line[0] == '#' || line[0] == '\0' || equals == NULL)
            continue;
        *equals = '\0';
        const struct rp_config_key *key = NULL;
        for (size_t i = 0; i < rp_config_key_count; i++)
            if (strcmp(rp_config_keys[i].name, line) == 0)
                key = &rp_config_keys[i];
        if (key == NULL || key->parse == NULL) {
            UNIT_FAIL_AT("profiler.conf.example sets %s, not a file's key",
                         line);
            continue;
        }
        listed++;
        EXPECT_STR_EQ(key->default_value, equals + 1);
        EXPECT_STR_EQ(key->default_value, said_default);
        said_default[0] = '\0';
    }
    fclose(file);
    for (size_t i = 0; i < rp_config_key_count; i++)
        file_keys += rp_config_keys[i].parse != NULL;
    EXPECT_INT_EQ(file_keys, listed);
}

UNIT_TEST(test_readme_table_lists_every_key_with_its_default)
{
    FILE *file = open_repository_file("README.md");
    if (file == NULL)
        return;
    char line[1024];
    size_t listed = 0;
    while (next_line_starting(file, "| `REQPROF_", line, sizeof line) != NULL) {
        /* | `KEY` | `DEFAULT` | what | (no default: —) */
        char *name = line + 3, *end = strchr(name, '`');
        char *cell = end != NULL ? strstr(end, "| ") : NULL;
        if (cell == NULL) {
            UNIT_FAIL_AT("README.md: a settings row unlike the others: %s", line);
            continue;
        }
        *end = '\0';
        cell += 2;
        cell[strcspn(cell, "|")] = '\0';
        cell[strcspn(cell, " ")] = '\0';
        const struct rp_config_key *key = NULL;
        for (size_t i = 0; i < rp_config_key_count; i++)
            if (strcmp(rp_config_keys[i].name, name) == 0)
                key = &rp_config_keys[i];
        if (key == NULL) {
            UNIT_FAIL_AT("README.md lists %s, which is no setting", name);
            continue;
        }
        listed++;
        char expected[256];
        snprintf(expected, sizeof expected, "`%s`",
                 key->default_value != NULL ? key->default_value : "");
        EXPECT_STR_EQ(key->default_value != NULL ? expected : "\xe2\x80\x94",
                      cell);
    }
    fclose(file);
    EXPECT_INT_EQ(rp_config_key_count, listed);
}

UNIT_TEST(test_docs_name_the_formats_of_the_table)
{
    char library[128], line[1024];
    rp_format_names(library, sizeof library, true);
    EXPECT_STR_EQ("text, json, html", library);

    FILE *file = open_repository_file("profiler.conf.example");
    if (file == NULL)
        return;
    const char *found = next_line_starting(file, "# Report formats, a comma "
                                           "list of: ", line, sizeof line);
    fclose(file);
    EXPECT_TRUE(found != NULL);
    if (found != NULL) {
        char expected[256];
        snprintf(expected, sizeof expected,
                 "# Report formats, a comma list of: %s.", library);
        EXPECT_STR_EQ(expected, line);
    }

    file = open_repository_file("README.md");
    if (file == NULL)
        return;
    /* The tool's --to, every format and no other. */
    found = next_line_starting(file, "reqprof convert REPORT --to ", line,
                               sizeof line);
    EXPECT_TRUE(found != NULL);
    size_t named = 0;
    if (found != NULL) {
        char *word = line + strlen("reqprof convert REPORT --to ");
        word[strcspn(word, " ")] = '\0';
        for (char *name = strtok(word, "|"); name != NULL;
             name = strtok(NULL, "|")) {
            EXPECT_TRUE(rp_format_from_name(name) >= 0);
            named++;
        }
    }
    EXPECT_INT_EQ(RP_FORMAT_COUNT, named);
    /* The settings table's row, without its backquotes. */
    found = next_line_starting(file, "| `REQPROF_OUTPUT` |", line, sizeof line);
    char row[1024];
    size_t length = 0;
    for (const char *c = line; found != NULL && *c != '\0'; c++)
        if (*c != '`')
            row[length++] = *c;
    row[length] = '\0';
    fclose(file);
    EXPECT_TRUE(found != NULL && strstr(row, library) != NULL);
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
    UNIT_RUN(test_file_lines_as_people_write_them);
    UNIT_RUN(test_misspelt_environment_variable_is_said_with_the_file_words);
    UNIT_RUN(test_example_file_lists_every_key_with_its_default);
    UNIT_RUN(test_readme_table_lists_every_key_with_its_default);
    UNIT_RUN(test_docs_name_the_formats_of_the_table);
    return unit_finish();
}
