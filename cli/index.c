/*
 * A report directory's index.tsv, read back: one line per request, the
 * fields docs/report-format.md lists. ls and merge work from it rather
 * than from the reports, so listing thousands of requests opens one file.
 *
 * Several processes append to the same index, each line in one write, so
 * lines are whole but not in the order requests began: readers sort them.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Fields of an index line: the file's is the 9th; the shared samples
 * and the wait follow it on lines written since they are counted, and
 * are missing on older ones (docs/report-format.md). */
#define INDEX_FIELDS 11
#define INDEX_FIELDS_BEFORE_SHARED 9
#define INDEX_FILE_FIELD 8
#define INDEX_SHARED_FIELD 9
#define INDEX_WAIT_FIELD 10

/* Undoes the index's %XX escapes into out (size bytes); false if bad. */
static bool index_unescape(const char *text, char *out, size_t size)
{
    size_t length = 0;

    for (; *text != '\0'; text++) {
        unsigned value;

        if (length + 1 >= size)
            return false;
        if (*text != '%') {
            out[length++] = *text;
            continue;
        }
        if (sscanf(text + 1, "%2x", &value) != 1 || text[1] == '\0' ||
            text[2] == '\0')
            return false;
        out[length++] = (char)value;
        text += 2;
    }
    out[length] = '\0';
    return true;
}

/* What a line's file field says of the request's files. */
static enum rp_cli_no_file index_no_file(const char *field)
{
    static const char *const markers[RP_CLI_NO_FILE_COUNT] = {
        [RP_CLI_UNDER_MIN_DURATION] = RP_INDEX_NO_FILE_UNDER_MIN_DURATION,
        [RP_CLI_OVER_MAX_REPORTS] = RP_INDEX_NO_FILE_OVER_MAX_REPORTS,
        [RP_CLI_OVER_MAX_DISK] = RP_INDEX_NO_FILE_MAX_DISK,
        [RP_CLI_DISK_FULL] = RP_INDEX_NO_FILE_DISK_FULL,
        [RP_CLI_WRITE_FAILED] = RP_INDEX_NO_FILE_WRITE_FAILED,
        [RP_CLI_NO_ZLIB] = RP_INDEX_NO_FILE_NO_ZLIB,
    };

    for (size_t i = 0; i < RP_CLI_NO_FILE_COUNT; i++)
        if (markers[i] != NULL && strcmp(field, markers[i]) == 0)
            return (enum rp_cli_no_file)i;
    return RP_CLI_HAS_FILES;
}

/* Parses the file field into request's stem and no_file. */
static bool index_parse_file(char *field, struct rp_cli_request *request)
{
    /* A report removed for REQPROF_MAX_DISK has the marker written over
     * its name, padded with spaces. */
    for (size_t length = strlen(field); length > 0 && field[length - 1] == ' ';)
        field[--length] = '\0';
    if (field[0] == '\0' || strlen(field) >= sizeof request->stem ||
        strchr(field, '/'))
        return false;
    strcpy(request->stem, field);
    request->no_file = index_no_file(request->stem);
    return true;
}

/* Parses one line (without its newline) into request. */
static bool index_parse_line(char *line, struct rp_cli_request *request)
{
    char *fields[INDEX_FIELDS], *end;
    size_t count = 0;

    for (char *field = line; count < INDEX_FIELDS; count++) {
        fields[count] = field;
        field = strchr(field, '\t');
        if (field == NULL) {
            count++;
            break;
        }
        *field++ = '\0';
    }
    /* Fields after the last one known are left for a later version's
     * readers, as this one adds the shared samples and the wait after
     * the file. */
    if (count < INDEX_FIELDS_BEFORE_SHARED)
        return false;
    memset(request, 0, sizeof *request);
    errno = 0;
    request->start_unix_us = strtoll(fields[0], &end, 10);
    if (*end != '\0' || errno != 0)
        return false;
    request->pid = (int)strtol(fields[1], &end, 10);
    if (*end != '\0')
        return false;
    if (strlen(fields[2]) >= sizeof request->method ||
        !index_unescape(fields[3], request->path, sizeof request->path))
        return false;
    strcpy(request->method, fields[2]);
    request->status = (int)strtol(fields[4], &end, 10);
    if (*end != '\0')
        return false;
    request->duration_ms = strtod(fields[5], &end);
    if (*end != '\0')
        return false;
    request->cpu_measured = strcmp(fields[6], RP_INDEX_UNMEASURED) != 0;
    if (request->cpu_measured) {
        request->cpu_ms = strtod(fields[6], &end);
        if (*end != '\0')
            return false;
    }
    request->samples = strtoull(fields[7], &end, 10);
    if (*end != '\0' || !index_parse_file(fields[INDEX_FILE_FIELD], request))
        return false;
    request->shared_known = count > INDEX_SHARED_FIELD;
    if (request->shared_known) {
        request->shared_samples = strtoull(fields[INDEX_SHARED_FIELD], &end, 10);
        if (*end != '\0' || fields[INDEX_SHARED_FIELD][0] == '\0' ||
            request->shared_samples > request->samples)
            return false;
    }
    request->wait_known = count > INDEX_WAIT_FIELD;
    if (request->wait_known) {
        request->wait_ms = strtod(fields[INDEX_WAIT_FIELD], &end);
        if (*end != '\0' || fields[INDEX_WAIT_FIELD][0] == '\0' || !(request->wait_ms >= 0))
            return false;
    }
    return true;
}

static int request_compare_start(const void *a, const void *b)
{
    const struct rp_cli_request *x = a, *y = b;

    if (x->start_unix_us != y->start_unix_us)
        return x->start_unix_us < y->start_unix_us ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

bool rp_cli_path_matches(const char *pattern, const char *target)
{
    char path[RP_REPORT_PATH_MAX];

    if (fnmatch(pattern, target, 0) == 0)
        return true;
    snprintf(path, sizeof path, "%.*s", (int)strcspn(target, "?"), target);
    return fnmatch(pattern, path, 0) == 0;
}

long rp_cli_index_read(const char *dir, const char *pattern,
                       struct rp_cli_request **requests, char *error,
                       size_t error_size)
{
    char path[4096];
    char *line = NULL;
    size_t line_size = 0, count = 0, capacity = 0, bad = 0, number = 0;
    bool out_of_memory = false;
    ssize_t length;
    FILE *file;

    *requests = NULL;
    snprintf(path, sizeof path, "%s/index.tsv", dir);
    file = fopen(path, "re");
    if (file == NULL) {
        snprintf(error, error_size, "%s%s", strerror(errno),
                 errno == ENOENT ? " (not a directory reqprof wrote "
                                   "reports to?)"
                                 : "");
        return -1;
    }
    while ((length = getline(&line, &line_size, file)) >= 0) {
        struct rp_cli_request request;

        number++;
        if (length > 0 && line[length - 1] == '\n')
            line[--length] = '\0';
        if (!index_parse_line(line, &request)) {
            if (bad++ == 0)
                fprintf(stderr, "reqprof: %s:%zu: not an index line "
                                "(skipped)\n", path, number);
            continue;
        }
        if (pattern != NULL && !rp_cli_path_matches(pattern, request.path))
            continue;
        if (count == capacity) {
            size_t grown = capacity ? capacity * 2 : 256;
            struct rp_cli_request *more =
                realloc(*requests, grown * sizeof *more);

            if (more == NULL) {
                out_of_memory = true;
                break;
            }
            *requests = more;
            capacity = grown;
        }
        (*requests)[count++] = request;
    }
    free(line);
    fclose(file);
    if (out_of_memory || (bad > 0 && bad == number)) {
        free(*requests);
        *requests = NULL;
        if (out_of_memory)
            snprintf(error, error_size, "out of memory");
        else
            snprintf(error, error_size, "not a reqprof index (no line has "
                                        "its %d or %d tab-separated fields)",
                     INDEX_FIELDS_BEFORE_SHARED, INDEX_FIELDS);
        return -1;
    }
    qsort(*requests, count, sizeof **requests, request_compare_start);
    return (long)count;
}

long rp_cli_index_read_or_say(const char *dir, const char *pattern,
                              struct rp_cli_request **requests)
{
    char error[RP_CLI_ERROR_MAX];
    long count = rp_cli_index_read(dir, pattern, requests, error, sizeof error);

    if (count < 0)
        fprintf(stderr, "reqprof: %s/index.tsv: %s\n", dir, error);
    return count;
}

int rp_cli_report_of(const char *dir, const struct rp_cli_request *request,
                     bool text_too, char *path, size_t size)
{
    char stem[4096];

    if (request->no_file != RP_CLI_HAS_FILES)
        return -1;
    snprintf(stem, sizeof stem, "%s/%s", dir, request->stem);
    /* The formats that can be read back first, in the table's order;
     * then, if asked, the library's others (text). */
    for (int pass = 0; pass < (text_too ? 2 : 1); pass++) {
        bool read_back = pass == 0;

        for (int format = 0; format < RP_FORMAT_COUNT; format++) {
            if (!rp_formats[format].library_writes ||
                rp_formats[format].read_back != read_back)
                continue;
            rp_format_file_name((enum rp_format)format, stem, path, size);
            if (access(path, R_OK) == 0)
                return 0;
        }
    }
    return -1;
}

/* Whether a is later in pick's order than b: began later, or was slower
 * (ties: began later). */
static bool request_before_in_pick(enum rp_cli_pick pick,
                                   const struct rp_cli_request *a,
                                   const struct rp_cli_request *b)
{
    if (pick == RP_CLI_PICK_SLOWEST && a->duration_ms != b->duration_ms)
        return a->duration_ms > b->duration_ms;
    return request_compare_start(a, b) > 0;
}

int rp_cli_index_pick(const char *dir, enum rp_cli_pick pick, char *path,
                      size_t size, size_t *passed_over, char *error,
                      size_t error_size)
{
    struct rp_cli_request *requests;
    const struct rp_cli_request *best = NULL;
    long count = rp_cli_index_read(dir, NULL, &requests, error, error_size);
    size_t skipped = 0;

    if (count < 0)
        return -1;
    /* The best with a file; those without that would have come first are
     * counted, so the user knows a later or slower one was passed over. */
    for (long i = 0; i < count; i++) {
        char candidate[4096];

        if (rp_cli_report_of(dir, &requests[i], true, candidate,
                             sizeof candidate) == 0) {
            if (best == NULL || request_before_in_pick(pick, &requests[i], best)) {
                best = &requests[i];
                snprintf(path, size, "%s", candidate);
            }
        }
    }
    for (long i = 0; best != NULL && i < count; i++)
        if (request_before_in_pick(pick, &requests[i], best))
            skipped++;
    free(requests);
    if (passed_over != NULL)
        *passed_over = skipped;
    if (best == NULL) {
        snprintf(error, error_size, "no request has a report file (%ld in "
                 "the index)", count);
        return -1;
    }
    return 0;
}
