/*
 * reqprof, the command-line tool: reads the reports the preloaded library
 * writes. For now one command:
 *
 *   reqprof show REPORT    print REPORT as text
 *
 * A report is gzip-compressed JSON or text; zlib's gzread passes plain
 * files through unchanged, so an uncompressed report works as well. The
 * content, not the name, says which format it is. Usage errors exit 2,
 * other failures exit 1 with one line on stderr naming the file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "report.h"

/* Reports are kilobytes; this only stops a gzip bomb from eating memory. */
#define REPORT_SIZE_MAX (256u << 20)
/* Bytes decompressed per gzread call. */
#define READ_CHUNK 65536

static const char usage_text[] =
    "usage: reqprof show REPORT\n"
    "\n"
    "  show REPORT  print a report written by libreqprof.so (gzip-compressed\n"
    "               or not, JSON or text) as a call tree\n"
    "\n"
    "Colours are used when stdout is a terminal and NO_COLOR is unset;\n"
    "REQPROF_UNICODE=0 draws the tree with ASCII characters.\n";

/* Usage on request goes to stdout (exit 0); after a mistake, to stderr
 * (exit 2), so a script's output is never mistaken for a report. */
static int usage(bool asked)
{
    fputs(usage_text, asked ? stdout : stderr);
    return asked ? 0 : 2;
}

/*
 * Reads the whole (decompressed) file into contents. Returns 0, or -1 with
 * the reason in error.
 */
static int report_file_read(const char *path, struct rp_buffer *contents,
                            char *error, size_t error_size)
{
    char chunk[READ_CHUNK];
    gzFile file;
    int length, errnum, status;

    errno = 0;
    file = gzopen(path, "rb");
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

/* Renders a JSON report as text into out. Returns 0, or -1 with error. */
static int report_json_to_text(const struct rp_buffer *contents,
                               struct rp_buffer *out, char *error,
                               size_t error_size)
{
    const char *unicode = getenv("REQPROF_UNICODE");
    struct rp_text_options options = {
        .color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL,
        .unicode = unicode == NULL || strcmp(unicode, "0") != 0,
    };
    struct rp_report report;

    if (rp_report_from_json(contents->data, contents->length, &report, error,
                            error_size) != 0)
        return -1;
    /* Reports are written sorted; sorting again costs little and is what
     * rp_render_text asks for. */
    rp_calltree_sort(report.tree);
    if (rp_render_text(&report, &options, out) != 0)
        snprintf(error, error_size, "out of memory");
    rp_report_release(&report);
    return out->failed ? -1 : 0;
}

/*
 * Reads the report at path and returns the text to print: contents itself
 * for a text report, text for a JSON one, or NULL with the reason in error.
 */
static const struct rp_buffer *report_file_text(const char *path,
                                                struct rp_buffer *contents,
                                                struct rp_buffer *text,
                                                char *error, size_t error_size)
{
    size_t start = 0;

    if (report_file_read(path, contents, error, error_size) != 0)
        return NULL;
    while (start < contents->length &&
           strchr(" \t\r\n", contents->data[start]) != NULL)
        start++;
    if (start == contents->length) {
        snprintf(error, error_size, "empty file: not a reqprof report");
        return NULL;
    }
    /* The JSON rendering is an object; the text one begins with its magic. */
    if (contents->data[start] == '{')
        return report_json_to_text(contents, text, error, error_size) == 0
                   ? text
                   : NULL;
    if (strncmp(contents->data, RP_REPORT_TEXT_MAGIC,
                strlen(RP_REPORT_TEXT_MAGIC)) == 0)
        return contents;
    snprintf(error, error_size,
             "not a reqprof report (neither its JSON nor its text)");
    return NULL;
}

static int command_show(const char *path)
{
    struct rp_buffer contents, text;
    const struct rp_buffer *print;
    char error[256];
    int status = 1;

    rp_buffer_init(&contents);
    rp_buffer_init(&text);
    print = report_file_text(path, &contents, &text, error, sizeof error);
    if (print == NULL)
        fprintf(stderr, "reqprof: %s: %s\n", path, error);
    else if (fwrite(print->data, 1, print->length, stdout) != print->length ||
             fflush(stdout) != 0)
        fprintf(stderr, "reqprof: writing to stdout: %s\n", strerror(errno));
    else
        status = 0;
    rp_buffer_free(&contents);
    rp_buffer_free(&text);
    return status;
}

static bool is_help(const char *argument)
{
    return strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(false);
    if (is_help(argv[1]))
        return usage(true);
    if (strcmp(argv[1], "show") == 0) {
        if (argc == 3 && is_help(argv[2]))
            return usage(true);
        /* REPORT is the only argument; "-..." is an option we do not have. */
        if (argc != 3 || argv[2][0] == '-')
            return usage(false);
        return command_show(argv[2]);
    }
    fprintf(stderr, "reqprof: unknown command \"%s\"\n", argv[1]);
    return usage(false);
}
