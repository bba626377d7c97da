/*
 * reqprof merge: one profile from many requests, say every request of one
 * route, so the time a route spends shows above the noise of any single
 * request. The reports' trees are added up; the request fields become
 * totals (durations, CPU, bytes, samples, shared samples) or, where the
 * requests differ, blanks (status, method, process), and the path becomes
 * the pattern.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char merge_usage[] =
    "usage: reqprof merge DIR [--path PATTERN] [--to FORMAT] [-o FILE]\n"
    "                         [OPTIONS]\n"
    "\n"
    "Adds up the reports of every request in DIR whose path matches PATTERN\n"
    "(all of them without --path) into one profile: a route's aggregate\n"
    "view. Requests need a JSON or HTML report (REQPROF_OUTPUT=json or\n"
    "html); the others, and those with no report file (under\n"
    "REQPROF_MIN_DURATION, over REQPROF_MAX_REPORTS or REQPROF_MAX_DISK, or\n"
    "not written), are left out and counted.\n"
    "\n"
    "  --path PATTERN  shell pattern for the path (\"/api/*\"; \"/burn\" also\n"
    "                  matches \"/burn?ms=5\")\n"
    "  --to FORMAT     text (default), html, json, pprof or collapsed\n"
    "  -o FILE         write to FILE instead of stdout; FILE.gz is\n"
    "                  gzip-compressed\n" RP_CLI_TEXT_OPTIONS_HELP;

/* Blanks a char array field of into where from differs. */
#define merge_field(into, from, field)                                       \
    do {                                                                     \
        if (strcmp((into)->field, (from)->field) != 0)                       \
            (into)->field[0] = '\0';                                         \
    } while (0)

/* Adds one request's report into the merged one (the first: copies it). */
static int merge_add(struct rp_report *merged, const struct rp_report *report,
                     char *error, size_t error_size)
{
    if (merged->requests == 0) {
        struct rp_calltree *tree = merged->tree;

        *merged = *report;
        merged->tree = tree;
        merged->requests = 0;
    } else if (merged->interval_ms - report->interval_ms > 1e-9 ||
               report->interval_ms - merged->interval_ms > 1e-9) {
        snprintf(error, error_size,
                 "sampled every %.3f ms, the others every %.3f ms: merge "
                 "requests of one REQPROF_INTERVAL (use --path)",
                 report->interval_ms, merged->interval_ms);
        return -1;
    } else {
        merge_field(merged, report, method);
        merge_field(merged, report, path);
        merge_field(merged, report, program);
        merge_field(merged, report, reqprof_version);
        if (merged->status != report->status)
            merged->status = 0;
        if (merged->pid != report->pid)
            merged->pid = 0;
        if (report->start_unix_us < merged->start_unix_us)
            merged->start_unix_us = report->start_unix_us;
        merged->duration_ms += report->duration_ms;
        merged->cpu_ms += report->cpu_ms;
        merged->cpu_measured |= report->cpu_measured;
        merged->request_bytes += report->request_bytes;
        merged->response_bytes += report->response_bytes;
        merged->samples += report->samples;
        merged->samples_dropped += report->samples_dropped;
        /* Each request's shared nodes add up as any frame does. */
        merged->shared_samples += report->shared_samples;
        rp_report_waits_add(merged, report);
    }
    merged->requests++;
    if (rp_calltree_merge(merged->tree, report->tree) != 0) {
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    return 0;
}

/*
 * Merges the matching requests of dir into merged. Returns an exit
 * status; skipped counts requests without a report to read, by why they
 * have none (enum rp_cli_no_file; RP_CLI_HAS_FILES: none in a format that
 * can be read back).
 */
static int merge_directory(const char *dir, const char *pattern,
                           struct rp_report *merged, size_t *skipped)
{
    struct rp_cli_request *requests;
    char error[RP_CLI_ERROR_MAX], path[4096];
    long count = rp_cli_index_read(dir, pattern, &requests, error,
                                   sizeof error);
    int status = RP_EXIT_OK;

    if (count < 0) {
        fprintf(stderr, "reqprof: %s/index.tsv: %s\n", dir, error);
        return RP_EXIT_FAILURE;
    }
    for (long i = 0; i < count && status == RP_EXIT_OK; i++) {
        struct rp_report report;

        if (rp_cli_report_of(dir, &requests[i], false, path, sizeof path)) {
            skipped[requests[i].no_file]++;
            continue;
        }
        if (rp_cli_report_load(path, &report, error, sizeof error) != 0 ||
            merge_add(merged, &report, error, sizeof error) != 0) {
            fprintf(stderr, "reqprof: %s: %s\n", path, error);
            status = RP_EXIT_FAILURE;
        }
        rp_report_release(&report);
    }
    free(requests);
    return status;
}

/* Says how many requests had no report to add, and why. */
static void merge_say_skipped(const size_t *skipped)
{
    static const char *const why[RP_CLI_NO_FILE_COUNT] = {
        [RP_CLI_UNDER_MIN_DURATION] = "left out: shorter than "
                                      "REQPROF_MIN_DURATION, no report written",
        [RP_CLI_OVER_MAX_REPORTS] = "left out: over REQPROF_MAX_REPORTS (the "
                                    "slowest of their second got the reports)",
        [RP_CLI_OVER_MAX_DISK] = "left out: their reports were removed (or "
                                 "not written) to stay under REQPROF_MAX_DISK",
        [RP_CLI_DISK_FULL] = "left out: no report written, the disk was full",
        [RP_CLI_WRITE_FAILED] = "left out: writing their report failed",
        [RP_CLI_NO_ZLIB] = "left out: no report written, zlib could not be "
                           "loaded",
        [RP_CLI_HAS_FILES] = "skipped: no JSON or HTML report (REQPROF_OUTPUT "
                             "had neither)",
    };

    for (size_t i = 0; i < RP_CLI_NO_FILE_COUNT; i++)
        if (skipped[i] > 0)
            fprintf(stderr, "reqprof: %zu request%s %s\n", skipped[i],
                    skipped[i] == 1 ? "" : "s", why[i]);
}

int rp_cli_merge(int argc, char **argv)
{
    static const struct option options[] = {
        RP_CLI_TEXT_OPTIONS,
        {"path", required_argument, NULL, 'p'},
        {"to", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0}};
    struct rp_text_options text;
    struct rp_report merged;
    const char *pattern = NULL, *output = NULL;
    /* By enum rp_cli_no_file. */
    size_t skipped[RP_CLI_NO_FILE_COUNT] = {0};
    int option, format = RP_FORMAT_TEXT, status;

    if (rp_cli_text_options_from_settings(&text, false) != 0)
        return RP_EXIT_USAGE;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        int applied = rp_cli_write_option(argv, option, optarg, &text, &format, &output);

        if (applied < 0)
            return RP_EXIT_USAGE;
        if (applied > 0)
            continue;
        if (option == 'h')
            return rp_cli_usage(merge_usage, true);
        if (option != 'p')
            return rp_cli_bad_option(argv, merge_usage);
        pattern = optarg;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "reqprof merge: expected one DIR\n\n");
        return rp_cli_usage(merge_usage, false);
    }
    memset(&merged, 0, sizeof merged);
    merged.tree = rp_calltree_new();
    if (merged.tree == NULL) {
        fprintf(stderr, "reqprof: out of memory\n");
        return RP_EXIT_FAILURE;
    }
    status = merge_directory(argv[optind], pattern, &merged, skipped);
    merge_say_skipped(skipped);
    if (status == RP_EXIT_OK && merged.requests == 0) {
        fprintf(stderr, "reqprof: no report in %s to merge%s%s\n",
                argv[optind], pattern ? " matches " : "",
                pattern ? pattern : "");
        status = RP_EXIT_FAILURE;
    }
    if (status == RP_EXIT_OK) {
        /* Several paths: the pattern says which they were. */
        if (merged.path[0] == '\0' && pattern != NULL)
            snprintf(merged.path, sizeof merged.path, "%s", pattern);
        rp_calltree_sort(merged.tree);
        status = rp_cli_report_write(&merged, (enum rp_format)format, &text,
                                     output);
    }
    rp_report_release(&merged);
    return status;
}
