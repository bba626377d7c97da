/*
 * Settings from the environment and an optional file; see config.h.
 *
 * Each key is declared once, in rp_config_keys, with a parser that turns
 * text into its field. A bad value is an error, never a silent default: a
 * profiler that quietly samples at the wrong rate produces profiles that
 * look right and are not.
 */
#include "config.h"

#include <ctype.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

static bool parse_dir(void *field, const char *value)
{
    char *dir = field; /* PATH_MAX bytes */
    if (value[0] == '\0')
        return false;
    /* Servers chdir after start (daemons go to "/"): pin a relative
     * directory to where the server was started. */
    char cwd[PATH_MAX];
    int length;
    if (value[0] == '/')
        length = snprintf(dir, PATH_MAX, "%s", value);
    else if (getcwd(cwd, sizeof cwd) != NULL)
        length = snprintf(dir, PATH_MAX, "%s/%s", cwd, value);
    else
        return false;
    return length >= 0 && length < PATH_MAX;
}

/* The formats REQPROF_OUTPUT takes, from the formats' table. */
static void describe_output(char *out, size_t size)
{
    char names[128];
    rp_format_names(names, sizeof names, true);
    snprintf(out, size, "a comma list of: %s", names);
}

static bool parse_output(void *field, const char *value)
{
    unsigned outputs = 0;
    /* Every item must name a format: "text," and ",json" are typos. */
    for (const char *cursor = value;; cursor++) {
        size_t length = strcspn(cursor, ",");
        char name[16];
        if (length >= sizeof name)
            return false;
        memcpy(name, cursor, length);
        name[length] = '\0';
        int format = rp_format_from_name(name);
        if (format < 0 || !rp_formats[format].library_writes)
            return false;
        outputs |= 1u << format;
        cursor += length;
        if (*cursor == '\0')
            break;
    }
    *(unsigned *)field = outputs;
    return true;
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

static bool parse_interval(void *field, const char *value)
{
    double nanoseconds;
    if (!parse_duration(value, &nanoseconds) ||
        nanoseconds < RP_INTERVAL_MIN_NS || nanoseconds > RP_INTERVAL_MAX_NS)
        return false;
    *(uint64_t *)field = (uint64_t)(nanoseconds + 0.5);
    return true;
}

static bool parse_min_duration(void *field, const char *value)
{
    double nanoseconds;
    if (!parse_duration(value, &nanoseconds) || nanoseconds > 3600e9)
        return false;
    *(uint64_t *)field = (uint64_t)(nanoseconds + 0.5);
    return true;
}

static bool parse_max_reports(void *field, const char *value)
{
    char *end;
    errno = 0;
    unsigned long number = strtoul(value, &end, 10);
    /* strtoul takes "-1" and " 5": digits only. */
    if (!isdigit((unsigned char)value[0]) || *end != '\0' || errno != 0 ||
        number > RP_MAX_REPORTS_MAX)
        return false;
    *(unsigned *)field = (unsigned)number;
    return true;
}

static bool parse_max_disk(void *field, const char *value)
{
    static const char units[] = "KMGT";
    char *end;
    errno = 0;
    unsigned long long number = strtoull(value, &end, 10);
    if (!isdigit((unsigned char)value[0]) || errno != 0)
        return false;
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
        return false;
    uint64_t bytes = (uint64_t)number << shift;
    if (bytes != 0 && bytes < RP_MAX_DISK_MIN)
        return false;
    *(uint64_t *)field = bytes;
    return true;
}

static bool parse_flag(void *field, const char *value)
{
    bool *flag = field;
    if (strcmp(value, "1") == 0 || strcmp(value, "yes") == 0 ||
        strcmp(value, "true") == 0)
        *flag = true;
    else if (strcmp(value, "0") == 0 || strcmp(value, "no") == 0 ||
             strcmp(value, "false") == 0)
        *flag = false;
    else
        return false;
    return true;
}

static bool parse_signal(void *field, const char *value)
{
    int *signal_number = field;
    const char *name = strncmp(value, "SIG", 3) == 0 ? value + 3 : value;
    if (strcmp(name, "PROF") == 0) {
        *signal_number = SIGPROF;
    } else if (strcmp(name, "VTALRM") == 0) {
        *signal_number = SIGVTALRM;
    } else if (strncmp(name, "RTMIN", 5) == 0) {
        char *end;
        long offset = name[5] == '\0' ? 0 : strtol(name + 6, &end, 10);
        if (name[5] != '\0' && (name[5] != '+' || end == name + 6 || *end != '\0'))
            return false;
        if (offset < 0 || offset > SIGRTMAX - SIGRTMIN)
            return false;
        *signal_number = SIGRTMIN + (int)offset;
    } else {
        return false;
    }
    return true;
}

/* Sets whether paths lose their query values. */
static bool parse_redact(void *field, const char *value)
{
    bool *redact_query = field;
    if (strcmp(value, "none") == 0)
        *redact_query = false;
    else if (strcmp(value, "query") == 0)
        *redact_query = true;
    else
        return false;
    return true;
}

#define FIELD(name) offsetof(struct rp_config, name)
#define FLAG_ACCEPTS "1 or 0 (also yes/no, true/false)"

/* Every setting, once; REQPROF_CONFIG last, as it names where the others
 * may come from. */
const struct rp_config_key rp_config_keys[] = {
    {"REQPROF_DIR", "reqprof", parse_dir, FIELD(dir),
     "a directory path shorter than PATH_MAX (created if missing; a relative "
     "one is taken from the current directory)", NULL,
     "where reports go (from where the server started)"},
    {"REQPROF_OUTPUT", "text", parse_output, FIELD(outputs), NULL,
     describe_output, "the report formats written, a comma list"},
    {"REQPROF_INTERVAL", "1ms", parse_interval, FIELD(interval_ns),
     "a duration from 100us to 1s, such as 500us, 1ms or 2ms", NULL,
     "how often a request's thread is sampled"},
    {"REQPROF_MIN_DURATION", "0", parse_min_duration, FIELD(min_duration_ns),
     "0 (every request) or a duration up to 1h, such as 500us, 50ms or 2s",
     NULL, "shorter requests get an index line, no report"},
    {"REQPROF_MAX_REPORTS", "100", parse_max_reports, FIELD(max_reports),
     "0 (no limit) or a number of report files a second, up to 1000000, "
     "such as 100", NULL,
     "report files a second per process, slowest first"},
    {"REQPROF_MAX_DISK", "1G", parse_max_disk, FIELD(max_disk),
     "0 (no limit) or a size of at least 1M, in bytes or with K, M, G or T "
     "(powers of 1024; KiB, MiB... too), such as 500M or 1G", NULL,
     "disk the reports may take; the oldest go first"},
    {"REQPROF_PRINT", "0", parse_flag, FIELD(print), FLAG_ACCEPTS, NULL,
     "1: each text report on stderr too"},
    {"REQPROF_SHOW_ALL", "0", parse_flag, FIELD(show_all), FLAG_ACCEPTS, NULL,
     "1: text reports fold nothing, leave nothing out"},
    {"REQPROF_UNICODE", "1", parse_flag, FIELD(unicode), FLAG_ACCEPTS, NULL,
     "0: text trees drawn with ASCII"},
    {"REQPROF_SIGNAL", "SIGPROF", parse_signal, FIELD(signal),
     "SIGPROF, SIGVTALRM or SIGRTMIN+N (N from 0 to SIGRTMAX-SIGRTMIN), "
     "a signal the server does not use", NULL, "the sampling signal"},
    {"REQPROF_REDACT", "none", parse_redact, FIELD(redact_query),
     "none (paths as sent) or query (paths without query values)", NULL,
     "query: paths written without query values"},
    {"REQPROF_QUIET", "0", parse_flag, FIELD(quiet), FLAG_ACCEPTS, NULL,
     "1: no line on stderr when profiling starts"},
    {"REQPROF_CONFIG", NULL, NULL, 0, "a file of KEY=VALUE lines", NULL,
     "file to read the other keys from"},
};

const size_t rp_config_key_count =
    sizeof rp_config_keys / sizeof rp_config_keys[0];

/* The key named by name's first length characters, or NULL. */
static const struct rp_config_key *config_key(const char *name, size_t length)
{
    for (size_t i = 0; i < rp_config_key_count; i++)
        if (strlen(rp_config_keys[i].name) == length &&
            strncmp(rp_config_keys[i].name, name, length) == 0)
            return &rp_config_keys[i];
    return NULL;
}

void rp_config_defaults(struct rp_config *config)
{
    memset(config, 0, sizeof *config);
    for (size_t i = 0; i < rp_config_key_count; i++) {
        const struct rp_config_key *key = &rp_config_keys[i];
        if (key->default_value != NULL)
            (void)key->parse((char *)config + key->field, key->default_value);
    }
}

/* Writes the words for unknown keys (names, as they were written), the
 * same from the file and the environment. */
static void config_unknown(char *out, size_t size, const char *names,
                           bool several)
{
    int length = snprintf(out, size, "unknown setting%s %s (known:",
                          several ? "s" : "", names);
    for (size_t i = 0; i < rp_config_key_count && length >= 0 &&
                       (size_t)length < size; i++)
        length += snprintf(out + length, size - (size_t)length, "%s %s",
                           i > 0 ? "," : "", rp_config_keys[i].name);
    if (length >= 0 && (size_t)length < size)
        snprintf(out + length, size - (size_t)length, ")");
}

int rp_config_set(struct rp_config *config, const char *name,
                  const char *value, char *error, size_t error_size)
{
    const struct rp_config_key *key = config_key(name, strlen(name));
    if (key == NULL) {
        config_unknown(error, error_size, name, false);
        return -1;
    }
    if (key->parse == NULL) {
        snprintf(error, error_size, "%s is read from the environment only",
                 name);
        return -1;
    }
    if (key->parse((char *)config + key->field, value))
        return 0;
    char accepts[256];
    if (key->accepts != NULL)
        snprintf(accepts, sizeof accepts, "%s", key->accepts);
    else
        key->describe(accepts, sizeof accepts);
    snprintf(error, error_size, "%s=\"%s\" is not valid: expected %s", name,
             value, accepts);
    return -1;
}

bool rp_config_unknown_in_environment(char *warning, size_t size)
{
    static const char prefix[] = "REQPROF_";
    char names[512] = "";
    size_t length = 0, count = 0;
    for (char **variable = environ; *variable != NULL; variable++) {
        const char *text = *variable;
        size_t name_length = strcspn(text, "=");
        if (strncmp(text, prefix, sizeof prefix - 1) != 0 ||
            config_key(text, name_length) != NULL)
            continue;
        int added = snprintf(names + length, sizeof names - length, "%s%.*s",
                             count > 0 ? ", " : "", (int)name_length, text);
        if (added > 0 && (size_t)added < sizeof names - length)
            length += (size_t)added;
        count++;
    }
    if (count == 0)
        return false;
    config_unknown(warning, size, names, count > 1);
    size_t used = strlen(warning);
    if (used < size)
        snprintf(warning + used, size - used,
                 " in the environment: ignored, check the spelling");
    return true;
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

/*
 * Splits one line of the file, in place, into *key and *value (*key NULL
 * for a blank or comment line), read as people write such files for a
 * shell: "export " may come first, a value may be quoted ("..." or '...',
 * taken as written between the quotes), and a '#' that begins a word
 * starts a comment (REQPROF_DIR=a#b keeps its '#'). Returns NULL, or what
 * is wrong with the line.
 */
static const char *config_split_line(char *line, char **key, char **value)
{
    char *text = config_trim(line);
    *key = NULL;
    if (text[0] == '\0' || text[0] == '#')
        return NULL;
    if (strncmp(text, "export", 6) == 0 && isblank((unsigned char)text[6]))
        text = config_trim(text + 6);
    char *equals = strchr(text, '=');
    if (equals == NULL)
        return "expected KEY=VALUE, such as REQPROF_INTERVAL=1ms";
    *equals = '\0';
    *key = config_trim(text);
    char *start = equals + 1;
    while (isblank((unsigned char)*start))
        start++;
    char quote = *start;
    if (quote == '"' || quote == '\'') {
        char *end = strchr(start + 1, quote);
        if (end == NULL)
            return "a quoted value must end with its quote on the same line";
        *end = '\0';
        char *rest = end + 1;
        while (isblank((unsigned char)*rest))
            rest++;
        if (*rest != '\0' && *rest != '#')
            return "expected nothing but a # comment after a quoted value";
        *value = start + 1;
        return NULL;
    }
    for (char *c = start; *c != '\0'; c++) {
        if (*c == '#' && isblank((unsigned char)c[-1])) {
            *c = '\0';
            break;
        }
    }
    *value = config_trim(start);
    return NULL;
}

/* Reads the file's KEY=VALUE lines (config_split_line). */
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
        char *key, *value, message[512];
        const char *wrong = config_split_line(line, &key, &value);
        if (wrong == NULL && key == NULL)
            continue;
        if (wrong != NULL)
            snprintf(message, sizeof message, "%s", wrong);
        if (wrong != NULL ||
            rp_config_set(config, key, value, message, sizeof message) != 0) {
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
    for (size_t i = 0; i < rp_config_key_count; i++) {
        const char *name = rp_config_keys[i].name;
        const char *value = getenv(name);
        if (value != NULL && rp_config_keys[i].parse != NULL &&
            rp_config_set(config, name, value, error, error_size) != 0)
            return -1;
    }
    return 0;
}
