/*
 * The commands about one report: show prints it as text, convert writes
 * it in another format, open puts it in front of a browser.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char show_usage[] =
    "usage: reqprof show [OPTIONS] REPORT\n"
    "       reqprof show [OPTIONS] --latest|--slowest [DIR]\n"
    "\n"
    "Prints REPORT as a call tree, like pyinstrument's: each frame's time in\n"
    "ms, runs of system library frames folded into one line (\"[3 frames\n"
    "hidden] libc.so.6\"), frames under 1% of the request left out and\n"
    "counted. Colour when stdout is a terminal and NO_COLOR is unset. A text\n"
    "report is printed as it was written.\n"
    "\n"
    "  --latest         the report of the request of DIR (default:\n"
    "                   REQPROF_DIR, else ./reqprof) that began last\n"
    "  --slowest        the report of DIR's slowest request\n"
    "                   (both: of those that have a report file; stderr\n"
    "                   says how many were passed over for having none)\n"
    RP_CLI_TEXT_OPTIONS_HELP;

/* convert's usage, its formats from rp_formats. */
static const char *convert_usage(void)
{
    static char text[2048];
    size_t length;

    if (text[0] != '\0')
        return text;
    length = (size_t)snprintf(text, sizeof text, "%s",
                              "usage: reqprof convert REPORT --to FORMAT "
                              "[-o FILE] [OPTIONS]\n"
                              "\n"
                              "Writes a JSON or HTML report in another "
                              "format:\n");
    for (int format = 0; format < RP_FORMAT_COUNT && length < sizeof text;
         format++)
        length += (size_t)snprintf(text + length, sizeof text - length,
                                   "  %-10s %s\n", rp_formats[format].name,
                                   rp_formats[format].doc);
    if (length < sizeof text)
        snprintf(text + length, sizeof text - length, "%s",
                 "\n"
                 "  -o FILE    write to FILE instead of stdout; a FILE ending "
                 "in .gz is\n"
                 "             gzip-compressed\n" RP_CLI_TEXT_OPTIONS_HELP);
    return text;
}

static const char open_usage[] =
    "usage: reqprof open [--print] REPORT\n"
    "\n"
    "Opens REPORT (JSON or HTML) as a page in the browser, with xdg-open.\n"
    "A report that is not an uncompressed .html file is first written as\n"
    "one in $TMPDIR (else /tmp). Prints the page's file:// address; with\n"
    "--print, or without a display, only prints it.\n";

/* The one argument after the options, or NULL (with usage) if not one. */
static const char *one_argument(int argc, char **argv, const char *usage)
{
    if (optind + 1 != argc) {
        fprintf(stderr, "reqprof %s: expected one REPORT\n\n", argv[0]);
        rp_cli_usage(usage, false);
        return NULL;
    }
    return argv[optind];
}

/*
 * Returns the text to print for the report file at path: the file itself
 * for a text report, or its JSON or HTML rendered as text into text; NULL
 * with the reason on stderr.
 */
static const struct rp_buffer *show_text(const char *path,
                                         const struct rp_text_options *options,
                                         bool options_given,
                                         struct rp_buffer *contents,
                                         struct rp_buffer *text)
{
    enum rp_cli_report_kind kind;
    struct rp_report report;
    char error[RP_CLI_ERROR_MAX];
    int rendered;

    if (rp_cli_report_read(path, contents, &kind, error, sizeof error) != 0 ||
        (kind != RP_CLI_REPORT_TEXT &&
         rp_cli_report_parse(contents, kind, &report, error,
                             sizeof error) != 0)) {
        fprintf(stderr, "reqprof: %s: %s\n", path, error);
        return NULL;
    }
    if (kind == RP_CLI_REPORT_TEXT) {
        if (options_given)
            fprintf(stderr, "reqprof: %s is a text report, printed as it "
                            "was written: options need its JSON or HTML\n",
                    path);
        return contents;
    }
    /* Reports are written sorted; sorting again costs little and is what
     * rp_render_text asks for. */
    rp_calltree_sort(report.tree);
    rendered = rp_render_text(&report, options, text);
    rp_report_release(&report);
    if (rendered != 0) {
        fprintf(stderr, "reqprof: %s: out of memory\n", path);
        return NULL;
    }
    return text;
}

static int show_file(const char *path, const struct rp_text_options *options,
                     bool options_given)
{
    struct rp_buffer contents, text;
    const struct rp_buffer *print;
    char error[RP_CLI_ERROR_MAX];
    int status = RP_EXIT_FAILURE;

    rp_buffer_init(&contents);
    rp_buffer_init(&text);
    print = show_text(path, options, options_given, &contents, &text);
    if (print != NULL) {
        if (rp_cli_output_write(NULL, print, false, error, sizeof error) == 0)
            status = RP_EXIT_OK;
        else
            fprintf(stderr, "reqprof: writing to stdout: %s\n", error);
    }
    rp_buffer_free(&contents);
    rp_buffer_free(&text);
    return status;
}

/*
 * The report that --latest or --slowest names in the directory that argv
 * gives (or the settings' REQPROF_DIR), into path. Returns an exit status.
 */
static int show_pick(int argc, char **argv, enum rp_cli_pick pick, char *path,
                     size_t size)
{
    static const char *const pick_names[] = {
        [RP_CLI_PICK_LATEST] = "later", [RP_CLI_PICK_SLOWEST] = "slower"};
    struct rp_config config;
    char error[RP_CLI_ERROR_MAX];
    const char *dir;
    size_t passed_over;
    int status = rp_cli_directory_argument(argc, argv, show_usage, &config,
                                           &dir);

    if (status != RP_EXIT_OK)
        return status;
    if (rp_cli_index_pick(dir, pick, path, size, &passed_over, error,
                          sizeof error) != 0) {
        fprintf(stderr, "reqprof: %s/index.tsv: %s\n", dir, error);
        return RP_EXIT_FAILURE;
    }
    if (passed_over > 0)
        fprintf(stderr, "reqprof: %zu %s request%s without a report file "
                        "passed over (reqprof ls says why)\n",
                passed_over, pick_names[pick], passed_over == 1 ? "" : "s");
    return RP_EXIT_OK;
}

int rp_cli_show(int argc, char **argv)
{
    static const struct option options[] = {
        RP_CLI_TEXT_OPTIONS,
        {"latest", no_argument, NULL, 'l'},
        {"slowest", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0}};
    struct rp_text_options text;
    bool given = false;
    char picked[4096];
    const char *path;
    int option, pick = -1, status;

    if (rp_cli_text_options_from_settings(&text, isatty(STDOUT_FILENO)) != 0)
        return RP_EXIT_USAGE;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        int applied = rp_cli_text_options_apply_option(option, optarg, &text);

        if (option == 'h')
            return rp_cli_usage(show_usage, true);
        if (option == 'l' || option == 's') {
            enum rp_cli_pick asked = option == 'l' ? RP_CLI_PICK_LATEST
                                                   : RP_CLI_PICK_SLOWEST;

            if (pick >= 0 && pick != (int)asked) {
                fprintf(stderr, "reqprof show: --latest or --slowest, not "
                                "both\n\n");
                return rp_cli_usage(show_usage, false);
            }
            pick = (int)asked;
            continue;
        }
        if (applied < 0)
            return RP_EXIT_USAGE;
        if (applied == 0)
            return rp_cli_bad_option(argv, show_usage);
        given = true;
    }
    if (pick >= 0) {
        status = show_pick(argc, argv, (enum rp_cli_pick)pick, picked,
                           sizeof picked);
        if (status != RP_EXIT_OK)
            return status;
        path = picked;
    } else if ((path = one_argument(argc, argv, show_usage)) == NULL) {
        return RP_EXIT_USAGE;
    }
    return show_file(path, &text, given);
}

/*
 * Loads the report at path and writes it in format to output (NULL:
 * stdout). Returns an exit status.
 */
static int convert_file(const char *path, enum rp_format format,
                        const struct rp_text_options *options,
                        const char *output)
{
    struct rp_report report;
    char error[RP_CLI_ERROR_MAX];
    int status;

    if (rp_cli_report_load(path, &report, error, sizeof error) != 0) {
        fprintf(stderr, "reqprof: %s: %s\n", path, error);
        return RP_EXIT_FAILURE;
    }
    rp_calltree_sort(report.tree);
    status = rp_cli_report_write(&report, format, options, output);
    rp_report_release(&report);
    return status;
}

int rp_cli_convert(int argc, char **argv)
{
    static const struct option options[] = {
        RP_CLI_TEXT_OPTIONS,
        {"to", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0}};
    struct rp_text_options text;
    const char *path, *output = NULL;
    int option, format = -1;

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
            return rp_cli_usage(convert_usage(), true);
        return rp_cli_bad_option(argv, convert_usage());
    }
    if ((path = one_argument(argc, argv, convert_usage())) == NULL)
        return RP_EXIT_USAGE;
    if (format < 0) {
        fprintf(stderr, "reqprof convert: say which format with --to\n\n");
        return rp_cli_usage(convert_usage(), false);
    }
    return convert_file(path, (enum rp_format)format, &text, output);
}

/*
 * Writes the report at path as a page in a new file of the temporary
 * directory; puts the page's path in page.
 */
static int open_write_page(const char *path, char *page, size_t size)
{
    const char *directory = getenv("TMPDIR");
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int length = (int)strcspn(base, "."), fd;

    if (directory == NULL || directory[0] == '\0')
        directory = "/tmp";
    /* The report's name (up to its first dot) tells the pages apart; the
     * X's make the file new, so nobody else's file is written over. */
    snprintf(page, size, "%s/reqprof-%.*s-XXXXXX.html", directory,
             length > 120 ? 120 : length, base);
    fd = mkstemps(page, 5);
    if (fd < 0) {
        fprintf(stderr, "reqprof: %s: %s\n", page, strerror(errno));
        return RP_EXIT_FAILURE;
    }
    close(fd);
    return convert_file(path, RP_FORMAT_HTML, NULL, page);
}

/* Runs xdg-open on page; returns whether it says it opened it. */
static bool open_in_browser(const char *page)
{
    pid_t child;
    int status;

    if (getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL)
        return false;
    child = fork();
    if (child == 0) {
        execlp("xdg-open", "xdg-open", page, (char *)NULL);
        _exit(127);
    }
    return child > 0 && waitpid(child, &status, 0) == child &&
           WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int rp_cli_open(int argc, char **argv)
{
    static const struct option options[] = {
        {"print", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {0}};
    struct rp_buffer contents;
    enum rp_cli_report_kind kind;
    char page[PATH_MAX], error[RP_CLI_ERROR_MAX];
    const char *path;
    bool print_only = false;
    int option, status;

    opterr = 0;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (option == 'h')
            return rp_cli_usage(open_usage, true);
        if (option != 'p')
            return rp_cli_bad_option(argv, open_usage);
        print_only = true;
    }
    if ((path = one_argument(argc, argv, open_usage)) == NULL)
        return RP_EXIT_USAGE;
    /* A page on disk as it is opens as it is; anything else is written as
     * one (browsers do not open .html.gz files). */
    rp_buffer_init(&contents);
    status = rp_cli_report_read(path, &contents, &kind, error, sizeof error);
    rp_buffer_free(&contents);
    if (status != 0) {
        fprintf(stderr, "reqprof: %s: %s\n", path, error);
        return RP_EXIT_FAILURE;
    }
    if (kind == RP_CLI_REPORT_HTML && rp_cli_ends_with(path, ".html")) {
        if (realpath(path, page) == NULL) {
            fprintf(stderr, "reqprof: %s: %s\n", path, strerror(errno));
            return RP_EXIT_FAILURE;
        }
    } else if ((status = open_write_page(path, page, sizeof page)) != 0) {
        return status;
    }
    printf("file://%s\n", page);
    fflush(stdout);
    if (!print_only && !open_in_browser(page))
        fprintf(stderr, "reqprof: no browser could be started here (no "
                        "display, or no xdg-open): open the page above in "
                        "one\n");
    return RP_EXIT_OK;
}
