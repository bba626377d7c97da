/*
 * reqprof diff: where two requests' time differs, or two sets of
 * requests' (before and after a change, one route against another), as
 * one call tree with A's time, B's and B - A on each line
 * (renderers/render_diff.c). A side is one report file, or the sum of
 * several (files, or directories as merge takes them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char diff_usage[] =
    "usage: reqprof diff [OPTIONS] A B\n"
    "       reqprof diff [OPTIONS] A... --vs B...\n"
    "\n"
    "Shows where the time of B differs from A's, as one call tree: each\n"
    "frame's time in A and in B and the difference B - A, in ms. A and B\n"
    "are report files (JSON or HTML), or report directories whose requests\n"
    "(those --path matches) are added up as merge does; with --vs, each\n"
    "side is every file or directory on its side of it. Sides of different\n"
    "numbers of requests are compared per request (each side's totals over\n"
    "its requests); the output says which was done. Frames under 1% of the\n"
    "larger side's request on both sides are left out and counted; library\n"
    "frames are not folded.\n"
    "\n"
    "  --vs            the arguments before it are A, those after it B\n"
    "  --path PATTERN  only the requests of directories whose path matches\n"
    "                  the shell pattern (\"/burn\" also matches \"/burn?ms=5\")\n"
    "  --to FORMAT     text (default) or html (one page, no script)\n"
    "  -o FILE         write to FILE instead of stdout; FILE.gz is\n"
    "                  gzip-compressed\n" RP_CLI_TEXT_OPTIONS_HELP;

/* What diff_arguments returns when the command is to go on: no exit
 * status. */
#define DIFF_GO_ON (-1)

/* One side of the diff, as the command line gives it. */
struct diff_side {
    char **arguments; /* files or directories */
    int count;
    char label[512];  /* their names, for the header */
    struct rp_report sum;
};

/* Adds the report file or directory at path into side's sum. Returns an
 * exit status. */
static int side_add(struct diff_side *side, const char *path,
                    const char *pattern, size_t *skipped)
{
    struct rp_report report;
    char error[RP_CLI_ERROR_MAX];
    struct stat status;
    int result;

    if (stat(path, &status) == 0 && S_ISDIR(status.st_mode))
        return rp_cli_merge_directory(path, pattern, &side->sum, NULL, skipped);
    if (rp_cli_report_load(path, &report, error, sizeof error) != 0) {
        fprintf(stderr, "reqprof: %s: %s\n", path, error);
        return RP_EXIT_FAILURE;
    }
    result = rp_cli_merge_add(&side->sum, &report, error, sizeof error);
    if (result != 0)
        fprintf(stderr, "reqprof: %s: %s\n", path, error);
    rp_report_release(&report);
    return result == 0 ? RP_EXIT_OK : RP_EXIT_FAILURE;
}

/* Adds up every file and directory of a side. Returns an exit status. */
static int side_load(struct diff_side *side, const char *pattern)
{
    size_t skipped[RP_CLI_NO_FILE_COUNT] = {0}, length = 0;
    int status = RP_EXIT_OK;

    side->sum.tree = rp_calltree_new();
    if (side->sum.tree == NULL) {
        fprintf(stderr, "reqprof: out of memory\n");
        return RP_EXIT_FAILURE;
    }
    for (int i = 0; i < side->count && status == RP_EXIT_OK; i++) {
        status = side_add(side, side->arguments[i], pattern, skipped);
        if (length < sizeof side->label)
            length += (size_t)snprintf(side->label + length,
                                       sizeof side->label - length, "%s%s",
                                       i > 0 ? " " : "",
                                       side->arguments[i]);
    }
    rp_cli_merge_say_skipped(skipped);
    if (status == RP_EXIT_OK && side->sum.requests == 0) {
        fprintf(stderr, "reqprof: no report in %s%s%s\n", side->label,
                pattern ? " matches " : "", pattern ? pattern : "");
        return RP_EXIT_FAILURE;
    }
    /* Several paths: the pattern says which they were. */
    if (side->sum.path[0] == '\0' && pattern != NULL)
        snprintf(side->sum.path, sizeof side->sum.path, "%s", pattern);
    return status;
}

/* Renders the diff in format and writes it to output (NULL: stdout). */
static int diff_write(const struct rp_diff *diff, int format,
                      const struct rp_text_options *text, const char *output)
{
    struct rp_buffer rendered;
    char error[RP_CLI_ERROR_MAX];
    bool to_stdout = output == NULL || strcmp(output, "-") == 0;
    int status = RP_EXIT_FAILURE, rendering;

    rp_buffer_init(&rendered);
    if (format == RP_FORMAT_HTML)
        rendering = rp_render_diff_html(diff, text->threshold, &rendered);
    else
        rendering = rp_render_diff_text(diff, text, &rendered);
    if (rendering != 0)
        fprintf(stderr, "reqprof: out of memory\n");
    else if (rp_cli_output_write(output, &rendered,
                                 !to_stdout && rp_cli_ends_with(output, ".gz"),
                                 error, sizeof error) != 0)
        fprintf(stderr, "reqprof: %s: %s\n", to_stdout ? "stdout" : output,
                error);
    else
        status = RP_EXIT_OK;
    rp_buffer_free(&rendered);
    return status;
}

/*
 * Reads diff's command line: the files and directories into paths (argc
 * of room), their number into *count, and where --vs parts them into *vs
 * (A is paths[0] to paths[*vs - 1]). Returns DIFF_GO_ON, or the exit
 * status to leave with (--help, a mistake: said on stderr).
 */
static int diff_arguments(int argc, char **argv, char **paths, int *count,
                          int *vs, const char **pattern,
                          struct rp_text_options *text, int *format,
                          const char **output)
{
    static const struct option options[] = {
        RP_CLI_TEXT_OPTIONS,
        {"vs", no_argument, NULL, 'v'},
        {"path", required_argument, NULL, 'p'},
        {"to", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0}};
    int option;

    opterr = 0;
    /* "-" first: arguments come back in their order (as option 1), so
     * that --vs parts them. */
    while ((option = getopt_long(argc, argv, "-ho:", options, NULL)) != -1) {
        int applied = rp_cli_write_option(argv, option, optarg, text, format,
                                          output);

        if (applied < 0)
            return RP_EXIT_USAGE;
        if (applied > 0)
            continue;
        if (option == 'h')
            return rp_cli_usage(diff_usage, true);
        if (option == 1)
            paths[(*count)++] = optarg;
        else if (option == 'v' && *vs < 0)
            *vs = *count;
        else if (option == 'p')
            *pattern = optarg;
        else
            return rp_cli_bad_option(argv, diff_usage);
    }
    if (*format != RP_FORMAT_TEXT && *format != RP_FORMAT_HTML) {
        fprintf(stderr, "reqprof diff: --to %s: expected text or html\n",
                rp_formats[*format].name);
        return RP_EXIT_USAGE;
    }
    if (*vs < 0 && *count == 2)
        *vs = 1;
    if (*vs < 1 || *vs >= *count) {
        fprintf(stderr, "reqprof diff: expected A and B, or A... --vs "
                        "B...\n\n");
        return rp_cli_usage(diff_usage, false);
    }
    return DIFF_GO_ON;
}

int rp_cli_diff(int argc, char **argv)
{
    struct diff_side sides[2];
    struct rp_text_options text;
    const char *pattern = NULL, *output = NULL;
    char **paths; /* the arguments that are no options, in order */
    int format = RP_FORMAT_TEXT, status, vs = -1, arguments = 0;

    if (rp_cli_text_options_from_settings(&text, isatty(STDOUT_FILENO)) != 0)
        return RP_EXIT_USAGE;
    paths = calloc((size_t)argc, sizeof *paths);
    if (paths == NULL) {
        fprintf(stderr, "reqprof: out of memory\n");
        return RP_EXIT_FAILURE;
    }
    status = diff_arguments(argc, argv, paths, &arguments, &vs, &pattern,
                            &text, &format, &output);
    if (status != DIFF_GO_ON) {
        free(paths);
        return status;
    }
    if (output != NULL && strcmp(output, "-") != 0)
        text.color = false;
    memset(sides, 0, sizeof sides);
    sides[0].arguments = paths;
    sides[0].count = vs;
    sides[1].arguments = paths + vs;
    sides[1].count = arguments - vs;
    status = side_load(&sides[0], pattern);
    if (status == RP_EXIT_OK)
        status = side_load(&sides[1], pattern);
    if (status == RP_EXIT_OK) {
        struct rp_diff diff = {
            .a = &sides[0].sum,
            .b = &sides[1].sum,
            .a_label = sides[0].label,
            .b_label = sides[1].label,
            .per_request = sides[0].sum.requests != sides[1].sum.requests,
        };

        status = diff_write(&diff, format, &text, output);
    }
    rp_report_release(&sides[0].sum);
    rp_report_release(&sides[1].sum);
    free(paths);
    return status;
}
