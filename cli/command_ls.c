/*
 * reqprof ls: the requests of a report directory as a table, from its
 * index.tsv, oldest first or slowest first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char ls_usage[] =
    "usage: reqprof ls [DIR] [--slowest N] [--path PATTERN]\n"
    "\n"
    "Lists the requests recorded in DIR (default: REQPROF_DIR, from the\n"
    "environment or REQPROF_CONFIG's file as the library reads it, else\n"
    "./reqprof), oldest first: when each began (local time), method, path,\n"
    "status, duration and CPU time in ms (- where it was not measured),\n"
    "the time it waited on its upstreams, samples, the share of them that\n"
    "is shared, and the report to give reqprof show or open, or why the\n"
    "request has none.\n"
    "\n"
    "WAIT is the wall time the request's calls blocked on its upstreams\n"
    "(connect, read and write on sockets it connected or wrote to; its\n"
    "report names each peer). A request whose index line was written\n"
    "before reqprof recorded waits shows -.\n"
    "\n"
    "SHARED is the share of a request's samples that the bytes could not\n"
    "tell from other requests' (a thread had several requests open and\n"
    "worked for them at once): they are split evenly between those\n"
    "requests, under \"[shared: N requests]\" in each report. Over 10% is\n"
    "marked with a *: such a report is more its batch's than its own.\n"
    "A request whose index line was written before reqprof counted them\n"
    "shows -.\n"
    "\n"
    "  --slowest N     only the N slowest, slowest first\n"
    "  --path PATTERN  only requests whose path matches the shell pattern\n"
    "                  (\"/api/*\"; \"/burn\" also matches \"/burn?ms=5\")\n";

/* The table's columns. */
enum {
    COLUMN_TIME,
    COLUMN_METHOD,
    COLUMN_PATH,
    COLUMN_STATUS,
    COLUMN_DURATION,
    COLUMN_CPU,
    COLUMN_WAIT,
    COLUMN_SAMPLES,
    COLUMN_SHARED,
    COLUMN_REPORT,
    COLUMN_COUNT
};

static const char *const column_titles[COLUMN_COUNT] = {
    "TIME", "METHOD", "PATH",    "STATUS", "DURATION",
    "CPU",  "WAIT", "SAMPLES", "SHARED", "REPORT",
};

/* Numbers are right-aligned, as a reader compares their magnitudes. */
static const bool column_numeric[COLUMN_COUNT] = {
    [COLUMN_STATUS] = true, [COLUMN_DURATION] = true, [COLUMN_CPU] = true,
    [COLUMN_WAIT] = true, [COLUMN_SAMPLES] = true, [COLUMN_SHARED] = true,
};

/* What follows the share of a request over RP_SHARED_MARK, and of any
 * other, so that the numbers line up. */
#define LS_SHARED_MARK "*"
#define LS_SHARED_UNMARKED " "

/* The SHARED cell: "0% ", "3.1% ", "12.5%*", or "- " for an index line
 * without the count. */
static void shared_cell(const struct rp_cli_request *request,
                        struct rp_buffer *cells)
{
    bool marked = request->shared_known &&
                  rp_shared_is_marked(request->shared_samples,
                                      request->samples);

    if (!request->shared_known) {
        rp_buffer_puts(cells, RP_INDEX_UNMEASURED);
    } else if (request->shared_samples == 0) {
        rp_buffer_puts(cells, "0%");
    } else {
        rp_buffer_put_decimal(cells, 100 * rp_shared_share(
                                               request->shared_samples,
                                               request->samples), 1);
        rp_buffer_puts(cells, "%");
    }
    rp_buffer_puts(cells, marked ? LS_SHARED_MARK : LS_SHARED_UNMARKED);
    rp_buffer_append(cells, "", 1);
}

/* Characters, not bytes, that text takes on a terminal (near enough). */
static size_t text_width(const char *text)
{
    size_t width = 0;

    for (; *text; text++)
        width += ((unsigned char)*text & 0xC0) != 0x80;
    return width;
}

/* Why a request has no report, by enum rp_cli_no_file. */
static const char *const no_file_reasons[RP_CLI_NO_FILE_COUNT] = {
    [RP_CLI_UNDER_MIN_DURATION] = "under REQPROF_MIN_DURATION",
    [RP_CLI_OVER_MAX_REPORTS] = "over REQPROF_MAX_REPORTS",
    [RP_CLI_OVER_MAX_DISK] = "removed, over REQPROF_MAX_DISK",
    [RP_CLI_DISK_FULL] = "the disk was full",
    [RP_CLI_WRITE_FAILED] = "writing it failed",
    [RP_CLI_NO_ZLIB] = "zlib could not be loaded",
};

/* Writes one request's cells, each NUL-terminated, into cells. */
static void request_cells(const char *dir, const struct rp_cli_request *request,
                          struct rp_buffer *cells)
{
    time_t seconds = (time_t)(request->start_unix_us / 1000000);
    char when[32] = "?", report[4096];
    struct tm local;

    if (localtime_r(&seconds, &local) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local);
    rp_buffer_printf(cells, "%s.%03d", when,
                     (int)(request->start_unix_us / 1000 % 1000));
    rp_buffer_append(cells, "", 1);
    rp_buffer_put_printable(cells, request->method, strlen(request->method),
                            "?");
    rp_buffer_append(cells, "", 1);
    /* A client's bytes: never let them move the cursor or colour. */
    rp_buffer_put_printable(cells, request->path, strlen(request->path), "?");
    rp_buffer_append(cells, "", 1);
    rp_buffer_printf(cells, "%d", request->status);
    rp_buffer_append(cells, "", 1);
    rp_buffer_put_decimal(cells, request->duration_ms, 1);
    rp_buffer_append(cells, " ms", 4);
    if (request->cpu_measured) {
        rp_buffer_put_decimal(cells, request->cpu_ms, 1);
        rp_buffer_append(cells, " ms", 4);
    } else {
        rp_buffer_append(cells, RP_INDEX_UNMEASURED,
                         sizeof RP_INDEX_UNMEASURED);
    }
    if (request->wait_known) {
        rp_buffer_put_decimal(cells, request->wait_ms, 1);
        rp_buffer_append(cells, " ms", 4);
    } else {
        rp_buffer_append(cells, RP_INDEX_UNMEASURED,
                         sizeof RP_INDEX_UNMEASURED);
    }
    rp_buffer_printf(cells, "%" PRIu64, request->samples);
    rp_buffer_append(cells, "", 1);
    shared_cell(request, cells);
    if (request->no_file != RP_CLI_HAS_FILES)
        snprintf(report, sizeof report, "(none: %s)",
                 no_file_reasons[request->no_file]);
    else if (rp_cli_report_of(dir, request, true, report, sizeof report) != 0)
        snprintf(report, sizeof report, "(no report file)");
    rp_buffer_puts(cells, report);
    rp_buffer_append(cells, "", 1);
}

/* Prints one row of NUL-separated cells, padded to the widths. */
static void print_row(const char *cells, const size_t *widths)
{
    for (int column = 0; column < COLUMN_COUNT; column++) {
        size_t padding = widths[column] - text_width(cells);
        bool last = column == COLUMN_COUNT - 1;

        if (column_numeric[column])
            printf("%*s%s", (int)padding, "", cells);
        else
            printf("%s%*s", cells, last ? 0 : (int)padding, "");
        fputs(last ? "\n" : "  ", stdout);
        cells += strlen(cells) + 1;
    }
}

static int request_compare_slowest(const void *a, const void *b)
{
    const struct rp_cli_request *x = a, *y = b;

    if (x->duration_ms != y->duration_ms)
        return x->duration_ms > y->duration_ms ? -1 : 1;
    return (x->start_unix_us > y->start_unix_us) -
           (x->start_unix_us < y->start_unix_us);
}

/* Prints the table of requests. Returns an exit status. */
static int ls_print(const char *dir, const struct rp_cli_request *requests,
                    size_t count)
{
    struct rp_buffer cells;
    size_t widths[COLUMN_COUNT];
    const char *row;

    rp_buffer_init(&cells);
    for (int column = 0; column < COLUMN_COUNT; column++) {
        rp_buffer_puts(&cells, column_titles[column]);
        rp_buffer_append(&cells, "", 1);
    }
    for (size_t i = 0; i < count; i++)
        request_cells(dir, &requests[i], &cells);
    if (cells.failed) {
        fprintf(stderr, "reqprof: out of memory\n");
        rp_buffer_free(&cells);
        return RP_EXIT_FAILURE;
    }
    memset(widths, 0, sizeof widths);
    row = cells.data;
    for (size_t i = 0; i <= count; i++) {
        for (int column = 0; column < COLUMN_COUNT; column++) {
            size_t width = text_width(row);

            if (width > widths[column])
                widths[column] = width;
            row += strlen(row) + 1;
        }
    }
    row = cells.data;
    for (size_t i = 0; i <= count; i++) {
        print_row(row, widths);
        for (int column = 0; column < COLUMN_COUNT; column++)
            row += strlen(row) + 1;
    }
    rp_buffer_free(&cells);
    return fflush(stdout) == 0 ? RP_EXIT_OK : RP_EXIT_FAILURE;
}

int rp_cli_ls(int argc, char **argv)
{
    static const struct option options[] = {
        {"slowest", required_argument, NULL, 's'},
        {"path", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {0}};
    struct rp_cli_request *requests;
    struct rp_config config;
    const char *dir, *pattern = NULL;
    char *end;
    long slowest = -1, count;
    int option, status;

    opterr = 0;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (option == 'h')
            return rp_cli_usage(ls_usage, true);
        if (option == 'p') {
            pattern = optarg;
        } else if (option == 's') {
            slowest = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || slowest < 1) {
                fprintf(stderr, "reqprof ls: --slowest %s: expected a "
                                "number of requests, 1 or more\n", optarg);
                return RP_EXIT_USAGE;
            }
        } else {
            return rp_cli_bad_option(argv, ls_usage);
        }
    }
    if ((status = rp_cli_directory_argument(argc, argv, ls_usage, &config,
                                            &dir)) != RP_EXIT_OK)
        return status;
    count = rp_cli_index_read_or_say(dir, pattern, &requests);
    if (count < 0)
        return RP_EXIT_FAILURE;
    if (slowest > 0) {
        qsort(requests, (size_t)count, sizeof *requests,
              request_compare_slowest);
        if (count > slowest)
            count = slowest;
    }
    if (count == 0)
        fprintf(stderr, "reqprof: no request in %s/index.tsv%s%s\n", dir,
                pattern ? " matches " : "", pattern ? pattern : "");
    status = count > 0 ? ls_print(dir, requests, (size_t)count) : RP_EXIT_OK;
    free(requests);
    return status;
}
