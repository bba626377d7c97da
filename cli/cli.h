/*
 * Declarations shared by the reqprof tool's files: reading report files
 * and the index, writing output, the options every command that prints
 * text takes, and the commands themselves.
 *
 * Errors: a function that can fail returns 0 or -1 and puts a one-line
 * reason in the caller's buffer; commands print it as "reqprof: FILE:
 * REASON" and return an exit status.
 */
#ifndef REQPROF_CLI_H
#define REQPROF_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "report.h"

/* Exit statuses, the same for every command. */
#define RP_EXIT_OK 0
#define RP_EXIT_FAILURE 1 /* a file is missing, unreadable, corrupt, foreign */
#define RP_EXIT_USAGE 2   /* the command line or a REQPROF_* setting is
                           * wrong */

/* Room for one error message. */
#define RP_CLI_ERROR_MAX 512

/* What a report file holds, told by its content (not its name). */
enum rp_cli_report_kind {
    RP_CLI_REPORT_JSON,
    RP_CLI_REPORT_HTML,
    RP_CLI_REPORT_TEXT,
};

/*
 * Reads a report file, gzip-compressed or not, into contents and says
 * what kind of report it is. Returns 0, or -1 with the reason in error
 * (missing, unreadable, corrupt gzip, empty, not a report).
 */
int rp_cli_report_read(const char *path, struct rp_buffer *contents,
                       enum rp_cli_report_kind *kind, char *error,
                       size_t error_size);

/*
 * Reads a report out of a file's contents (rp_cli_report_read's) into
 * report (to release). Returns 0, or -1 with the reason in error; a text
 * report cannot be read back.
 */
int rp_cli_report_parse(const struct rp_buffer *contents,
                        enum rp_cli_report_kind kind, struct rp_report *report,
                        char *error, size_t error_size);

/*
 * Reads a JSON or HTML report file into report (to release). Returns 0,
 * or -1 with the reason in error; a text report cannot be read back.
 */
int rp_cli_report_load(const char *path, struct rp_report *report,
                       char *error, size_t error_size);

/*
 * Writes data to the file at path, or to stdout when path is NULL or "-";
 * gzip-compressed when compress. Returns 0, or -1 with the reason in
 * error (a file left behind half written is removed).
 */
int rp_cli_output_write(const char *path, const struct rp_buffer *data,
                        bool compress, char *error, size_t error_size);

/*
 * Renders report (sorted) in format and writes it to output (NULL or "-":
 * stdout): gzip-compressed for a binary format (pprof), as its readers
 * expect, and when output ends in .gz. Refuses to send a binary format to
 * a terminal.
 * Returns an exit status, with the reason on stderr.
 */
int rp_cli_report_write(const struct rp_report *report, enum rp_format format,
                        const struct rp_text_options *options,
                        const char *output);

/* rp_cli_report_write's second half, for a report already rendered
 * (rendered->failed: out of memory) in format. */
int rp_cli_rendered_write(const struct rp_buffer *rendered,
                          enum rp_format format, const char *output);

/*
 * The text view's settings before options: from REQPROF_SHOW_ALL and
 * REQPROF_UNICODE (rp_cli_settings), colour when color_allowed and
 * NO_COLOR is unset. Returns 0, or -1 after saying on stderr which
 * setting is wrong.
 */
int rp_cli_text_options_from_settings(struct rp_text_options *options,
                                      bool color_allowed);

/* The long options every command that prints text takes; the values are
 * what getopt_long returns for them. */
#define RP_CLI_TEXT_OPTIONS                                                  \
    {"all", no_argument, NULL, 'A'},                                         \
        {"threshold", required_argument, NULL, 'T'},                         \
        {"ascii", no_argument, NULL, 'S'}
#define RP_CLI_TEXT_OPTIONS_HELP                                             \
    "  --all            every frame: no folding of library frames and no\n"  \
    "                   threshold (also REQPROF_SHOW_ALL=1)\n"               \
    "  --threshold PCT  leave out frames under PCT% of the request\n"        \
    "                   (default 1)\n"                                       \
    "  --ascii          draw the tree with ASCII (also REQPROF_UNICODE=0)\n"

/*
 * Applies one of RP_CLI_TEXT_OPTIONS. Returns 1 if option is one of them,
 * 0 if not, -1 (with a message on stderr) if its value is wrong.
 */
int rp_cli_text_options_apply_option(int option, const char *value,
                                     struct rp_text_options *options);

/* Why a request has no report files, as its index line says. */
enum rp_cli_no_file {
    RP_CLI_HAS_FILES,          /* it has: stem names them */
    RP_CLI_UNDER_MIN_DURATION, /* shorter than REQPROF_MIN_DURATION */
    RP_CLI_OVER_MAX_REPORTS,   /* a faster request of a second over
                                * REQPROF_MAX_REPORTS */
    RP_CLI_OVER_MAX_DISK,      /* removed, or not written, to keep the
                                * directory under REQPROF_MAX_DISK */
    RP_CLI_DISK_FULL,          /* not written: the file system was full */
    RP_CLI_WRITE_FAILED,       /* not written: another error */
    RP_CLI_NO_ZLIB,            /* not written: zlib could not be loaded */
    RP_CLI_NO_FILE_COUNT
};

/* One line of a report directory's index.tsv (docs/report-format.md). */
struct rp_cli_request {
    int64_t start_unix_us;
    int pid;
    char method[RP_REPORT_METHOD_MAX];
    char path[RP_REPORT_PATH_MAX]; /* the request target, unescaped */
    int status;
    double duration_ms;
    double cpu_ms;     /* 0 when not measured */
    bool cpu_measured; /* the index has its CPU time (not "-") */
    uint64_t samples;
    char stem[256]; /* the report's file name without .FORMAT.gz */
    enum rp_cli_no_file no_file;
    uint64_t shared_samples; /* of samples, those shared with other
                              * requests; 0 when not known */
    bool shared_known; /* the line has them: lines written before they
                        * were counted have not */
    double wait_ms;    /* blocked on its upstreams; 0 when not known */
    bool wait_known;   /* the line has it: lines written before waits
                        * were recorded have not */
};

/*
 * Reads DIR/index.tsv: the requests whose target matches pattern (NULL:
 * all; see rp_cli_path_matches), in the order they began. Returns their
 * number with *requests to free, or -1 with the reason in error.
 * Malformed lines are skipped, with one warning on stderr.
 */
long rp_cli_index_read(const char *dir, const char *pattern,
                       struct rp_cli_request **requests, char *error,
                       size_t error_size);

/* rp_cli_index_read for a command: the reason, if it fails, is said on
 * stderr ("reqprof: DIR/index.tsv: ..."). */
long rp_cli_index_read_or_say(const char *dir, const char *pattern,
                              struct rp_cli_request **requests);

/*
 * Whether a request target matches a shell pattern: the path without its
 * query string ("/burn" matches "/burn?ms=100"), or the whole target
 * ("/burn?ms=1*").
 */
bool rp_cli_path_matches(const char *pattern, const char *target);

/*
 * Writes into path (size bytes) the report file of request in dir that
 * can be read back (rp_formats: its .json.gz, else its .html), else (if
 * text_too) its .txt.gz. Returns 0, or -1 if there is none
 * (REQPROF_OUTPUT held none, or the request got no files: see no_file).
 */
int rp_cli_report_of(const char *dir, const struct rp_cli_request *request,
                     bool text_too, char *path, size_t size);

/* Which request of a directory a command takes without being named one. */
enum rp_cli_pick {
    RP_CLI_PICK_LATEST,  /* the one that began last */
    RP_CLI_PICK_SLOWEST, /* the one with the longest duration */
};

/*
 * Writes into path (size bytes) the report file (rp_cli_report_of, text
 * too) of dir's request that pick names among those that have one.
 * Returns 0, or -1 with the reason in error: no index, no request with a
 * report file. When the request pick names has no file, the one after it
 * is taken, and *passed_over (if not NULL) counts those passed over.
 */
int rp_cli_index_pick(const char *dir, enum rp_cli_pick pick, char *path,
                      size_t size, size_t *passed_over, char *error,
                      size_t error_size);

/*
 * Adds a report into merged (report_set.c), whose tree is a new one and
 * whose other fields are zero before the first: merged's fields become
 * totals or, where the reports differ, blanks, and its requests go up by
 * the report's (1 for one request's). Returns 0, or -1 with the reason in
 * error (reports of another sampling interval, out of memory).
 */
int rp_cli_merge_add(struct rp_report *merged, const struct rp_report *report,
                     char *error, size_t error_size);

/*
 * Merges the requests of dir whose path matches pattern (NULL: all) into
 * merged (rp_cli_merge_add), and adds each to pprof unless it is NULL (a
 * profile that keeps each request's labels). Returns an exit status, with the reason on
 * stderr; skipped counts requests without a report to read, by why they
 * have none (enum rp_cli_no_file; RP_CLI_HAS_FILES: none in a format that
 * can be read back).
 */
int rp_cli_merge_directory(const char *dir, const char *pattern,
                           struct rp_report *merged, struct rp_pprof *pprof,
                           size_t *skipped);

/* Says on stderr how many requests had no report to add, and why
 * (rp_cli_merge_directory's skipped). */
void rp_cli_merge_say_skipped(const size_t *skipped);

/* The commands: argv[0] is the command's name. Each returns an exit
 * status. */
int rp_cli_ls(int argc, char **argv);
int rp_cli_show(int argc, char **argv);
int rp_cli_open(int argc, char **argv);
int rp_cli_convert(int argc, char **argv);
int rp_cli_merge(int argc, char **argv);
int rp_cli_run(int argc, char **argv);
int rp_cli_diff(int argc, char **argv);
int rp_cli_stats(int argc, char **argv);

/*
 * Prints a command's usage: on stdout when asked for (returns 0), on
 * stderr after a mistake (returns RP_EXIT_USAGE).
 */
int rp_cli_usage(const char *text, bool asked);

/*
 * After getopt_long returned an option the command does not take: says
 * which (argv[optind - 1]) and prints usage. Returns RP_EXIT_USAGE.
 */
int rp_cli_bad_option(char **argv, const char *usage);

/*
 * The format a --to option names, or -1 after saying on stderr, for the
 * command argv[0], what --to accepts.
 */
int rp_cli_format_option(char **argv, const char *name);

/*
 * Applies one of the options of a command that writes a report (convert,
 * merge): the text view's (RP_CLI_TEXT_OPTIONS), --to FMT ('t', into
 * *format) and -o FILE ('o', into *output). Returns 1 if option is one of
 * them, 0 if not, -1 after saying on stderr what is wrong with its value.
 */
int rp_cli_write_option(char **argv, int option, const char *value,
                        struct rp_text_options *text, int *format,
                        const char **output);

/*
 * The DIR a command that reads a report directory takes after its options
 * (ls, stats, show --latest): argv[optind], or, with none, REQPROF_DIR
 * from the settings (read into config, which *dir then points into).
 * Returns RP_EXIT_OK, or the exit status to leave with after saying on
 * stderr what is wrong (more than one DIR: with usage).
 */
int rp_cli_directory_argument(int argc, char **argv, const char *usage,
                              struct rp_config *config, const char **dir);

/*
 * A request's route, as reqprof stats groups requests: its method and its
 * target without the query, "GET /burn" for GET /burn?ms=5, into key
 * (size bytes).
 */
void rp_cli_route_key(const char *method, const char *target, char *key,
                      size_t size);

/*
 * The percent-th percentile (0 to 100) of count values sorted in
 * ascending order, by nearest rank: the smallest value that at least
 * percent% of the values are at or below. 0 for no values.
 */
double rp_cli_percentile(const double *sorted, size_t count, double percent);

/* Whether text ends with suffix: file names say what to do with them. */
bool rp_cli_ends_with(const char *text, const char *suffix);

/*
 * Loads the settings as the library does (preload/config.h): defaults,
 * REQPROF_CONFIG's file, the environment; REQPROF_DIR is where reports
 * are when no directory is given. Says on stderr, as the library does,
 * which REQPROF_* variables are no setting. Returns 0, or -1 after saying
 * on stderr what is wrong.
 */
int rp_cli_settings(struct rp_config *config);

#endif
