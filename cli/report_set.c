/*
 * Adding up reports, for the commands that take many requests as one
 * (merge, diff): the trees are added; the request fields become totals
 * (durations, CPU, bytes, samples, shared samples) or, where the
 * requests differ, blanks (status, method, path, process).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Blanks a char array field of into where from differs. */
#define merge_field(into, from, field)                                       \
    do {                                                                     \
        if (strcmp((into)->field, (from)->field) != 0)                       \
            (into)->field[0] = '\0';                                         \
    } while (0)

int rp_cli_merge_add(struct rp_report *merged, const struct rp_report *report,
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
    /* A report that is itself a sum stands for its requests. */
    merged->requests += report->requests > 0 ? report->requests : 1;
    if (rp_calltree_merge(merged->tree, report->tree) != 0) {
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    return 0;
}

int rp_cli_merge_directory(const char *dir, const char *pattern,
                           struct rp_report *merged, struct rp_pprof *pprof,
                           size_t *skipped)
{
    struct rp_cli_request *requests;
    char error[RP_CLI_ERROR_MAX], path[4096];
    long count = rp_cli_index_read_or_say(dir, pattern, &requests);
    int status = RP_EXIT_OK;

    if (count < 0)
        return RP_EXIT_FAILURE;
    for (long i = 0; i < count && status == RP_EXIT_OK; i++) {
        struct rp_report report;

        if (rp_cli_report_of(dir, &requests[i], false, path, sizeof path)) {
            skipped[requests[i].no_file]++;
            continue;
        }
        if (rp_cli_report_load(path, &report, error, sizeof error) != 0 ||
            rp_cli_merge_add(merged, &report, error, sizeof error) != 0) {
            fprintf(stderr, "reqprof: %s: %s\n", path, error);
            status = RP_EXIT_FAILURE;
        } else if (pprof != NULL && rp_pprof_add(pprof, &report) != 0) {
            fprintf(stderr, "reqprof: out of memory\n");
            status = RP_EXIT_FAILURE;
        }
        rp_report_release(&report);
    }
    free(requests);
    return status;
}

void rp_cli_merge_say_skipped(const size_t *skipped)
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
