/*
 * Settings from the environment and an optional file; see config.h.
 *
 * Each key has one parser that turns text into a field or explains what it
 * accepts. A bad value is an error, never a silent default: a profiler that
 * quietly samples at the wrong rate produces profiles that look right and
 * are not.
 */
#include "config.h"

#include <ctype.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses value into config; on failure returns what the key accepts. */
typedef const char *(*config_parse_fn)(struct rp_config *config,
                                       const char *value);

static const char *parse_dir(struct rp_config *config, const char *value)
{
    static const char accepts[] = "a directory path (created if missing)";
    if (value[0] == '\0')
        return accepts;
    /* Servers chdir after start (daemons go to "/"): pin a relative
     * directory to where the server was started. */
    char cwd[PATH_MAX];
    int length;
    if (value[0] == '/')
        length = snprintf(config->dir, sizeof config->dir, "%s", value);
    else if (getcwd(cwd, sizeof cwd) != NULL)
        length = snprintf(config->dir, sizeof config->dir, "%s/%s", cwd, value);
    else
        return "a path that resolves from the current directory";
    if (length < 0 || (size_t)length >= sizeof config->dir)
        return "a path shorter than PATH_MAX";
    return NULL;
}

static const char *parse_output(struct rp_config *config, const char *value)
{
    static const char accepts[] = "a comma list of: text, json, html";
    static const struct {
        const char *name;
        unsigned bit;
    } formats[] = {{"text", RP_OUTPUT_TEXT},
                   {"json", RP_OUTPUT_JSON},
                   {"html", RP_OUTPUT_HTML}};
    unsigned outputs = 0;
    /* Every item must name a format: "text," and ",json" are typos. */
    for (const char *cursor = value;; cursor++) {
        size_t length = strcspn(cursor, ",");
        size_t i;
        for (i = 0; i < sizeof formats / sizeof formats[0]; i++)
            if (strlen(formats[i].name) == length &&
                strncmp(formats[i].name, cursor, length) == 0)
                break;
        if (i == sizeof formats / sizeof formats[0])
            return accepts;
        outputs |= formats[i].bit;
        cursor += length;
        if (*cursor == '\0')
            break;
    }
    config->outputs = outputs;
    return NULL;
}

/* Parses "N" followed by us, ms or s (or a bare 0) into *nanoseconds;
 * false if it is none of these. */
static bool parse_duration(const char *value, double *nanoseconds)
{
    char *unit;
    errno = 0;
    double number = strtod(value, &unit);
    if (errno != 0 || unit == value || !(number >= 0))
        return false;
    double scale;
    if (strcmp(unit, "us") == 0)
        scale = 1e3;
    else if (strcmp(unit, "ms") == 0)
        scale = 1e6;
    else if (strcmp(unit, "s") == 0)
        scale = 1e9;
    else if (*unit == '\0' && number == 0)
        scale = 0;
    else
        return false;
    *nanoseconds = number * scale;
    return true;
}

static const char *parse_interval(struct rp_config *config, const char *value)
{
    static const char accepts[] =
        "a duration from 100us to 1s, such as 500us, 1ms or 2ms";
    double nanoseconds;
    if (!parse_duration(value, &nanoseconds) ||
        nanoseconds < RP_INTERVAL_MIN_NS || nanoseconds > RP_INTERVAL_MAX_NS)
        return accepts;
    config->interval_ns = (uint64_t)(nanoseconds + 0.5);
    return NULL;
}

static const char *parse_min_duration(struct rp_config *config, const char *value)
{
    static const char accepts[] =
        "0 (every request) or a duration up to 1h, such as 500us, 50ms or 2s";
    double nanoseconds;
    if (!parse_duration(value, &nanoseconds) || nanoseconds > 3600e9)
        return accepts;
    config->min_duration_ns = (uint64_t)(nanoseconds + 0.5);
    return NULL;
}

static const char *parse_max_reports(struct rp_config *config,
                                     const char *value)
{
    static const char accepts[] =
        "0 (no limit) or a number of report files a second, up to 1000000, "
        "such as 100";
    char *end;
    errno = 0;
    unsigned long number = strtoul(value, &end, 10);
    /* strtoul takes "-1" and " 5": digits only. */
    if (!isdigit((unsigned char)value[0]) || *end != '\0' || errno != 0 ||
        number > RP_MAX_REPORTS_MAX)
        return accepts;
    config->max_reports = (unsigned)number;
    return NULL;
}

static const char *parse_max_disk(struct rp_config *config, const char *value)
{
    static const char accepts[] =
        "0 (no limit) or a size of at least 1M, in bytes or with K, M, G or T "
        "(powers of 1024; KiB, MiB... too), such as 500M or 1G";
    static const char units[] = "KMGT";
    char *end;
    errno = 0;
    unsigned long long number = strtoull(value, &end, 10);
    if (!isdigit((unsigned char)value[0]) || errno != 0)
        return accepts;
    unsigned shift = 0;
    const char *unit = *end != '\0' ? strchr(units, toupper((unsigned char)*end))
                                    : NULL;
    if (unit != NULL) {
        shift = 10 * (unsigned)(unit - units + 1);
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    }
    if (*end != '\0' || number > (UINT64_MAX >> shift))
        return accepts;
    uint64_t bytes = (uint64_t)number << shift;
    if (bytes != 0 && bytes < RP_MAX_DISK_MIN)
        return accepts;
    config->max_disk = bytes;
    return NULL;
}

/* Parses a switch into *flag; what it accepts otherwise. */
static const char *parse_flag(bool *flag, const char *value)
{
    if (strcmp(value, "1") == 0 || strcmp(value, "yes") == 0 ||
        strcmp(value, "true") == 0)
        *flag = true;
    else if (strcmp(value, "0") == 0 || strcmp(value, "no") == 0 ||
             strcmp(value, "false") == 0)
        *flag = false;
    else
        return "1 or 0 (also yes/no, true/false)";
    return NULL;
}

static const char *parse_print(struct rp_config *config, const char *value)
{
    return parse_flag(&config->print, value);
}

static const char *parse_show_all(struct rp_config *config, const char *value)
{
    return parse_flag(&config->show_all, value);
}

static const char *parse_unicode(struct rp_config *config, const char *value)
{
    return parse_flag(&config->unicode, value);
}

static const char *parse_quiet(struct rp_config *config, const char *value)
{
    return parse_flag(&config->quiet, value);
}

static const char *parse_signal(struct rp_config *config, const char *value)
{
    static const char accepts[] =
        "SIGPROF, SIGVTALRM or SIGRTMIN+N (N from 0 to SIGRTMAX-SIGRTMIN), "
        "a signal the server does not use";
    const char *name = strncmp(value, "SIG", 3) == 0 ? value + 3 : value;
    if (strcmp(name, "PROF") == 0) {
        config->signal = SIGPROF;
    } else if (strcmp(name, "VTALRM") == 0) {
        config->signal = SIGVTALRM;
    } else if (strncmp(name, "RTMIN", 5) == 0) {
        char *end;
        long offset = name[5] == '\0' ? 0 : strtol(name + 6, &end, 10);
        if (name[5] != '\0' && (name[5] != '+' || end == name + 6 || *end != '\0'))
            return accepts;
        if (offset < 0 || offset > SIGRTMAX - SIGRTMIN)
            return accepts;
        config->signal = SIGRTMIN + (int)offset;
    } else {
        return accepts;
    }
    return NULL;
}

static const char *parse_redact(struct rp_config *config, const char *value)
{
    if (strcmp(value, "none") == 0)
        config->redact_query = false;
    else if (strcmp(value, "query") == 0)
        config->redact_query = true;
    else
        return "none (paths as sent) or query (paths without query values)";
    return NULL;
}

static const struct {
    const char *key;
    config_parse_fn parse;
} config_keys[] = {
    {"REQPROF_DIR", parse_dir},
    {"REQPROF_OUTPUT", parse_output},
    {"REQPROF_INTERVAL", parse_interval},
    {"REQPROF_MIN_DURATION", parse_min_duration},
    {"REQPROF_MAX_REPORTS", parse_max_reports},
    {"REQPROF_MAX_DISK", parse_max_disk},
    {"REQPROF_PRINT", parse_print},
    {"REQPROF_SHOW_ALL", parse_show_all},
    {"REQPROF_UNICODE", parse_unicode},
    {"REQPROF_SIGNAL", parse_signal},
    {"REQPROF_REDACT", parse_redact},
    {"REQPROF_QUIET", parse_quiet},
};

#define CONFIG_KEY_COUNT (sizeof config_keys / sizeof config_keys[0])

void rp_config_defaults(struct rp_config *config)
{
    memset(config, 0, sizeof *config);
    (void)parse_dir(config, "reqprof");
    config->outputs = RP_OUTPUT_TEXT;
    config->interval_ns = 1000000;
    config->max_reports = 100;
    config->max_disk = RP_MAX_DISK_DEFAULT;
    config->print = false;
    config->show_all = false;
    config->unicode = true;
    config->signal = SIGPROF;
}

int rp_config_set(struct rp_config *config, const char *key,
                  const char *value, char *error, size_t error_size)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        if (strcmp(config_keys[i].key, key) != 0)
            continue;
        const char *accepts = config_keys[i].parse(config, value);
        if (accepts == NULL)
            return 0;
        snprintf(error, error_size, "%s=\"%s\" is not valid: expected %s",
                 key, value, accepts);
        return -1;
    }
    snprintf(error, error_size,
             "unknown setting %s (known: REQPROF_DIR, REQPROF_OUTPUT, "
             "REQPROF_INTERVAL, REQPROF_MIN_DURATION, REQPROF_MAX_REPORTS, "
             "REQPROF_MAX_DISK, REQPROF_PRINT, "
             "REQPROF_SHOW_ALL, REQPROF_UNICODE, REQPROF_SIGNAL, "
             "REQPROF_REDACT, REQPROF_QUIET, REQPROF_CONFIG)",
             key);
    return -1;
}

/* Strips leading and trailing blanks in place; returns the new start. */
static char *config_trim(char *text)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t length = strlen(text);
    while (length > 0 && isspace((unsigned char)text[length - 1]))
        text[--length] = '\0';
    return text;
}

/* Reads KEY=VALUE lines; '#' starts a comment line. */
static int config_load_file(struct rp_config *config, const char *path,
                            char *error, size_t error_size)
{
    FILE *file = fopen(path, "re");
    if (file == NULL) {
        snprintf(error, error_size, "REQPROF_CONFIG=\"%s\" cannot be read: %s",
                 path, strerror(errno));
        return -1;
    }
    char line[PATH_MAX + 64];
    int line_number = 0;
    int result = 0;
    while (result == 0 && fgets(line, sizeof line, file) != NULL) {
        line_number++;
        char *text = config_trim(line);
        if (text[0] == '\0' || text[0] == '#')
            continue;
        char *equals = strchr(text, '=');
        if (equals == NULL) {
            snprintf(error, error_size,
                     "%s:%d: expected KEY=VALUE, such as REQPROF_INTERVAL=1ms",
                     path, line_number);
            result = -1;
            break;
        }
        *equals = '\0';
        char message[512];
        if (rp_config_set(config, config_trim(text), config_trim(equals + 1),
                          message, sizeof message) != 0) {
            snprintf(error, error_size, "%s:%d: %s", path, line_number, message);
            result = -1;
        }
    }
    fclose(file);
    return result;
}

int rp_config_load(struct rp_config *config, char *error, size_t error_size)
{
    rp_config_defaults(config);
    const char *file = getenv("REQPROF_CONFIG");
    if (file != NULL && file[0] != '\0' &&
        config_load_file(config, file, error, error_size) != 0)
        return -1;
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const char *value = getenv(config_keys[i].key);
        if (value != NULL &&
            rp_config_set(config, config_keys[i].key, value, error,
                          error_size) != 0)
            return -1;
    }
    return 0;
}
