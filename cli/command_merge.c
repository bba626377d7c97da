/*
 * reqprof merge: one profile from many requests, say every request of one
 * route, so the time a route spends shows above the noise of any single
 * request. The reports' trees are added up; the request fields become
 * totals (durations, CPU, bytes, samples, shared samples) or, where the
 * requests differ, blanks (status, method, process), and the path becomes
 * the pattern.
 */
#include <stdio.h>
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
    "  --to FORMAT     text (default), html, json, pprof, collapsed or\n"
    "                  speedscope; pprof keeps each request's labels on its\n"
    "                  samples (pprof -tagfocus route=... splits them)\n"
    "  -o FILE         write to FILE instead of stdout; FILE.gz is\n"
    "                  gzip-compressed\n" RP_CLI_TEXT_OPTIONS_HELP;

/* Writes the profile of the requests added to pprof; merged says what is
 * said of them all. Returns an exit status. */
static int merge_write_pprof(struct rp_pprof *pprof,
                             const struct rp_report *merged,
                             const char *output)
{
    struct rp_buffer rendered;
    int status;

    rp_buffer_init(&rendered);
    if (rp_pprof_write(pprof, merged, &rendered) != 0)
        rendered.failed = true;
    status = rp_cli_rendered_write(&rendered, RP_FORMAT_PPROF, output);
    rp_buffer_free(&rendered);
    return status;
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
    struct rp_pprof *pprof = NULL;
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
    /* pprof keeps each request's labels on its own samples, so that
     * -tagfocus splits the profile again: made of the requests, not of
     * their sum. */
    if (format == RP_FORMAT_PPROF)
        pprof = rp_pprof_new();
    if (merged.tree == NULL || (format == RP_FORMAT_PPROF && pprof == NULL)) {
        fprintf(stderr, "reqprof: out of memory\n");
        rp_report_release(&merged);
        rp_pprof_free(pprof);
        return RP_EXIT_FAILURE;
    }
    status = rp_cli_merge_directory(argv[optind], pattern, &merged, pprof, skipped);
    rp_cli_merge_say_skipped(skipped);
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
        status = pprof != NULL
                     ? merge_write_pprof(pprof, &merged, output)
                     : rp_cli_report_write(&merged, (enum rp_format)format,
                                           &text, output);
    }
    rp_report_release(&merged);
    rp_pprof_free(pprof);
    return status;
}
