/*
 * Report files in and out: reading one whatever its kind, and writing
 * what a command produces.
 *
 * zlib's gzread passes plain files through unchanged, so one read path
 * takes gzip-compressed and uncompressed reports alike. The content, not
 * the name, says what the file is: the JSON rendering is an object, the
 * HTML one a page with the JSON inside, and the text one begins with its
 * magic. Anything else is refused as "not a reqprof report".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"

/* Reports are kilobytes; this only stops a gzip bomb from eating memory. */
#define REPORT_SIZE_MAX (256u << 20)
/* Bytes decompressed per gzread call. */
#define READ_CHUNK 65536

/* Why a report is missing, when its directory is one reqprof keeps under
 * REQPROF_MAX_DISK (it has the count file): it may have been removed. */
static void report_missing(const char *path, char *error, size_t error_size)
{
    const char *slash = strrchr(path, '/');
    int directory = slash != NULL ? (int)(slash - path) : 0;
    char count[4096];

    snprintf(count, sizeof count, "%.*s%s.reqprof-disk", directory, path,
             slash != NULL ? "/" : "");
    if (access(count, F_OK) != 0) {
        snprintf(error, error_size, "%s", strerror(ENOENT));
        return;
    }
    snprintf(error, error_size, "%s (the oldest reports are removed to stay "
             "under REQPROF_MAX_DISK: reqprof ls %.*s lists what is left)",
             strerror(ENOENT), directory > 0 ? directory : 1,
             directory > 0 ? path : slash != NULL ? "/" : ".");
}

/* Reads the whole (decompressed) file into contents. */
static int report_file_read(const char *path, struct rp_buffer *contents,
                            char *error, size_t error_size)
{
    char chunk[READ_CHUNK];
    gzFile file;
    int length, errnum, status;

    errno = 0;
    file = gzopen(path, "rb");
    if (file == NULL && errno == ENOENT) {
        report_missing(path, error, error_size);
        return -1;
    }
    if (file == NULL) {
        /* gzopen leaves errno at 0 when it failed for lack of memory. */
        snprintf(error, error_size, "%s", errno ? strerror(errno)
                                                : "out of memory");
        return -1;
    }
    while ((length = gzread(file, chunk, sizeof chunk)) > 0) {
        if (contents->length + (size_t)length > REPORT_SIZE_MAX) {
            snprintf(error, error_size,
                     "larger than %u MiB: not a reqprof report",
                     REPORT_SIZE_MAX >> 20);
            gzclose_r(file);
            return -1;
        }
        rp_buffer_append(contents, chunk, (size_t)length);
    }
    if (length < 0) {
        const char *reason = gzerror(file, &errnum);
        size_t path_length = strlen(path);

        /* zlib says "PATH: reason"; our line names the file already. */
        if (strncmp(reason, path, path_length) == 0 &&
            strncmp(reason + path_length, ": ", 2) == 0)
            reason += path_length + 2;
        if (errnum == Z_ERRNO)
            snprintf(error, error_size, "%s", strerror(errno));
        else
            snprintf(error, error_size, "corrupt gzip data (%s)", reason);
        gzclose_r(file);
        return -1;
    }
    /* gzclose_r is where a stream cut short shows up, as Z_BUF_ERROR. */
    status = gzclose_r(file);
    if (status == Z_BUF_ERROR) {
        snprintf(error, error_size, "corrupt gzip data (truncated)");
        return -1;
    }
    if (status != Z_OK || contents->failed) {
        snprintf(error, error_size, "%s", contents->failed ? "out of memory"
                                                           : "read error");
        return -1;
    }
    return 0;
}

int rp_cli_report_read(const char *path, struct rp_buffer *contents,
                       enum rp_cli_report_kind *kind, char *error,
                       size_t error_size)
{
    size_t start = 0;

    if (report_file_read(path, contents, error, error_size) != 0)
        return -1;
    while (start < contents->length &&
           strchr(" \t\r\n", contents->data[start]) != NULL)
        start++;
    if (start == contents->length) {
        snprintf(error, error_size, "empty file: not a reqprof report");
        return -1;
    }
    if (contents->data[start] == '{') {
        *kind = RP_CLI_REPORT_JSON;
    } else if (rp_report_is_html(contents->data, contents->length)) {
        *kind = RP_CLI_REPORT_HTML;
    } else if (strncmp(contents->data, RP_REPORT_TEXT_MAGIC,
                       strlen(RP_REPORT_TEXT_MAGIC)) == 0) {
        *kind = RP_CLI_REPORT_TEXT;
    } else {
        snprintf(error, error_size, "not a reqprof report (neither its "
                                    "JSON, its HTML nor its text)");
        return -1;
    }
    return 0;
}

int rp_cli_report_parse(const struct rp_buffer *contents,
                        enum rp_cli_report_kind kind, struct rp_report *report,
                        char *error, size_t error_size)
{
    switch (kind) {
    case RP_CLI_REPORT_JSON:
        return rp_report_from_json(contents->data, contents->length, report,
                                   error, error_size);
    case RP_CLI_REPORT_HTML:
        return rp_report_from_html(contents->data, contents->length, report,
                                   error, error_size);
    case RP_CLI_REPORT_TEXT:
        break;
    }
    memset(report, 0, sizeof *report);
    snprintf(error, error_size,
             "a text report cannot be read back: use the same request's "
             ".json.gz or .html report (REQPROF_OUTPUT=json or html)");
    return -1;
}

int rp_cli_report_load(const char *path, struct rp_report *report,
                       char *error, size_t error_size)
{
    struct rp_buffer contents;
    enum rp_cli_report_kind kind;
    int result;

    memset(report, 0, sizeof *report);
    rp_buffer_init(&contents);
    result = rp_cli_report_read(path, &contents, &kind, error, error_size);
    if (result == 0)
        result = rp_cli_report_parse(&contents, kind, report, error,
                                     error_size);
    rp_buffer_free(&contents);
    return result;
}

/* Writes data to stdout, or to the open file, compressed or not. */
static int output_write_to(FILE *stream, const struct rp_buffer *data,
                           bool compress)
{
    gzFile file;
    int status;

    if (!compress)
        return fwrite(data->data, 1, data->length, stream) == data->length &&
                       fflush(stream) == 0
                   ? 0
                   : -1;
    if (fflush(stream) != 0)
        return -1;
    /* gzdopen takes over a descriptor of its own, which gzclose closes. */
    file = gzdopen(dup(fileno(stream)), "wb");
    if (file == NULL)
        return -1;
    status = data->length == 0 ||
                     gzwrite(file, data->data, (unsigned)data->length) > 0
                 ? 0
                 : -1;
    if (gzclose(file) != Z_OK)
        status = -1;
    return status;
}

int rp_cli_output_write(const char *path, const struct rp_buffer *data,
                        bool compress, char *error, size_t error_size)
{
    bool to_stdout = path == NULL || strcmp(path, "-") == 0;
    FILE *stream = to_stdout ? stdout : fopen(path, "wbe");
    int status;

    if (stream == NULL) {
        snprintf(error, error_size, "%s", strerror(errno));
        return -1;
    }
    errno = 0;
    status = output_write_to(stream, data, compress);
    if (status != 0)
        snprintf(error, error_size, "%s",
                 errno ? strerror(errno) : "cannot write");
    if (!to_stdout && fclose(stream) != 0 && status == 0) {
        snprintf(error, error_size, "%s", strerror(errno));
        status = -1;
    }
    if (status != 0 && !to_stdout)
        unlink(path);
    return status;
}

bool rp_cli_ends_with(const char *text, const char *suffix)
{
    size_t length = strlen(text), suffix_length = strlen(suffix);

    return length >= suffix_length &&
           strcmp(text + length - suffix_length, suffix) == 0;
}

int rp_cli_rendered_write(const struct rp_buffer *rendered,
                          enum rp_format format, const char *output)
{
    char error[RP_CLI_ERROR_MAX];
    bool to_stdout = output == NULL || strcmp(output, "-") == 0;
    bool binary = rp_formats[format].binary;
    /* pprof files are gzip-compressed by convention, whatever the name. */
    bool compress = binary || (!to_stdout && rp_cli_ends_with(output, ".gz"));

    if (to_stdout && binary && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "reqprof: %s is binary: give -o FILE or "
                        "redirect stdout\n", rp_formats[format].name);
        return RP_EXIT_USAGE;
    }
    if (rendered->failed) {
        fprintf(stderr, "reqprof: out of memory\n");
        return RP_EXIT_FAILURE;
    }
    if (rp_cli_output_write(output, rendered, compress, error,
                            sizeof error) != 0) {
        fprintf(stderr, "reqprof: %s: %s\n", to_stdout ? "stdout" : output,
                error);
        return RP_EXIT_FAILURE;
    }
    return RP_EXIT_OK;
}

int rp_cli_report_write(const struct rp_report *report, enum rp_format format,
                        const struct rp_text_options *options,
                        const char *output)
{
    struct rp_buffer rendered;
    int status;

    rp_buffer_init(&rendered);
    if (rp_render(report, format, options, &rendered) != 0)
        rendered.failed = true;
    status = rp_cli_rendered_write(&rendered, format, output);
    rp_buffer_free(&rendered);
    return status;
}

int rp_cli_text_options_from_settings(struct rp_text_options *options,
                                      bool color_allowed)
{
    struct rp_config config;

    if (rp_cli_settings(&config) != 0)
        return -1;
    options->color = color_allowed && getenv("NO_COLOR") == NULL;
    options->unicode = config.unicode;
    options->fold_libraries = !config.show_all;
    options->threshold = config.show_all ? 0 : RP_TEXT_THRESHOLD_DEFAULT;
    return 0;
}

int rp_cli_text_options_apply_option(int option, const char *value,
                                     struct rp_text_options *options)
{
    char *end;
    double percent;

    switch (option) {
    case 'A':
        options->fold_libraries = false;
        options->threshold = 0;
        return 1;
    case 'S':
        options->unicode = false;
        return 1;
    case 'T':
        percent = strtod(value, &end);
        if (end == value || *end != '\0' || !(percent >= 0 && percent <= 100)) {
            fprintf(stderr, "reqprof: --threshold %s: expected a percentage "
                            "from 0 to 100, such as 1 or 0.5\n", value);
            return -1;
        }
        options->threshold = percent / 100;
        return 1;
    default:
        return 0;
    }
}
