/*
 * One request's report, and the formats it is written in.
 *
 * The preloaded library fills a struct rp_report on its writer thread and
 * renders it; the reqprof tool reads one back from JSON (the source of
 * truth: every other format can be made from it) and renders it again.
 * Renderers append to an rp_buffer whose error is sticky, so a renderer
 * never checks each append and a failed allocation still ends cleanly.
 */
#ifndef REQPROF_REPORT_H
#define REQPROF_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calltree.h"

#define RP_REPORT_METHOD_MAX 16
#define RP_REPORT_PATH_MAX 512
#define RP_REPORT_PROGRAM_MAX 256
#define RP_REPORT_VERSION_MAX 32

/* What a request waited on (docs/attribution.md): one peer and kind of
 * call. */
#define RP_REPORT_WAITS_MAX 9 /* 8 peers and kinds, and one row of others */
#define RP_REPORT_PEER_MAX 256 /* "[v6 address]:port", a unix socket's path,
                                * a file's (255 bytes) */
#define RP_REPORT_WAIT_KIND_MAX 16

/* The row of the peers beyond a report's rows (or that could not be
 * named), and a row's kind when it holds calls of several kinds. */
#define RP_REPORT_WAIT_OTHER_PEER "other"
#define RP_REPORT_WAIT_MIXED_KIND "call"

struct rp_report_wait {
    char peer[RP_REPORT_PEER_MAX];      /* "127.0.0.1:5432", a unix path,
                                         * or RP_REPORT_WAIT_OTHER_PEER */
    char kind[RP_REPORT_WAIT_KIND_MAX]; /* "connect", "read", "write",
                                         * or RP_REPORT_WAIT_MIXED_KIND */
    uint64_t calls;
    double ms;      /* wall time the calls blocked */
    uint64_t bytes; /* read or written by them */
};

/* Everything one report says about one request. */
struct rp_report {
    /* The request. */
    char method[RP_REPORT_METHOD_MAX]; /* "GET" */
    char path[RP_REPORT_PATH_MAX];     /* request target as sent, maybe cut */
    int status;                        /* response status; 0: none was sent */
    int64_t start_unix_us;             /* wall-clock time of its first byte */
    double duration_ms;                /* first byte read to last byte written */
    double cpu_ms;                     /* thread CPU time spent on it */
    /* Whether cpu_ms was measured: the CPU clock is read only for requests
     * a sample landed in (docs/report-format.md); false: cpu_ms is 0 and
     * the index shows "-". */
    bool cpu_measured;
    uint64_t request_bytes;            /* bytes of the request message */
    uint64_t response_bytes;           /* bytes of the response message */

    /* The sampling. */
    double interval_ms;       /* timer interval */
    uint64_t samples;         /* sample weight in the tree (root total) */
    uint64_t samples_dropped; /* samples lost (ring full, unwinder busy...) */
    uint64_t shared_samples;  /* of samples, those the bytes could not
                               * tell from other requests' (under
                               * "[shared: N requests]" nodes) */

    /* The process. */
    int pid;
    char program[RP_REPORT_PROGRAM_MAX]; /* path of the executable */

    /* The version of reqprof that recorded the request (preload/version.h);
     * "" when not known: read from a report written before reports said
     * it, or a merge of reports of different versions. */
    char reqprof_version[RP_REPORT_VERSION_MAX];

    /* Requests the report covers: more than 1 for the sum of several
     * (reqprof merge), where the fields above are totals or, if they
     * differ, blank. 0 counts as 1. */
    uint64_t requests;

    /* What it waited on, in order of first call (none in a report of
     * before waits were recorded); a merge's are its requests' added up
     * (rp_report_waits_add). */
    unsigned wait_count;
    struct rp_report_wait waits[RP_REPORT_WAITS_MAX];

    /* Where the time went, and when (its timeline); owned by the report. */
    struct rp_calltree *tree;
};

/*
 * index.tsv, the line per request beside the reports (docs/report-format.md):
 * what its last column holds instead of a file name for a request that got
 * no report files, and its CPU column for a request whose CPU time was not
 * measured. No file name starts with '-'.
 */
#define RP_INDEX_NO_FILE_UNDER_MIN_DURATION "-"
#define RP_INDEX_NO_FILE_OVER_MAX_REPORTS "-max-reports"
/* Removed (or never written) to keep the directory under REQPROF_MAX_DISK;
 * a removed report's line has it written over its file name, padded with
 * spaces to the name's length. */
#define RP_INDEX_NO_FILE_MAX_DISK "-max-disk"
/* Not written: the file system was full or had less than 5% free. */
#define RP_INDEX_NO_FILE_DISK_FULL "-disk-full"
/* Not written: another error, said on the server's stderr. */
#define RP_INDEX_NO_FILE_WRITE_FAILED "-write-failed"
#define RP_INDEX_NO_FILE_NO_ZLIB "-no-zlib"
#define RP_INDEX_UNMEASURED "-"

/*
 * The ambiguous share of a request: its shared samples (see
 * rp_shared_frame_name) over all its samples, 0 when it has none. Views
 * say it; reqprof ls marks a request whose share is over RP_SHARED_MARK,
 * as its report is then more its batch's than its own.
 */
#define RP_SHARED_MARK 0.10
double rp_shared_share(uint64_t shared_samples, uint64_t samples);
bool rp_shared_is_marked(uint64_t shared_samples, uint64_t samples);

/* Frees the report's tree and clears it. */
void rp_report_release(struct rp_report *report);

/* A growable byte buffer with a sticky error flag. */
struct rp_buffer {
    char *data;  /* NULL until the first append; then NUL-terminated */
    size_t length;
    size_t capacity;
    bool failed; /* an allocation failed: contents are incomplete */
};

void rp_buffer_init(struct rp_buffer *buffer);
void rp_buffer_free(struct rp_buffer *buffer);
/* Length 0 and no error, for the next report; keeps the memory. */
void rp_buffer_reset(struct rp_buffer *buffer);
/* Shortens the contents to length (no more than the current length). */
void rp_buffer_truncate(struct rp_buffer *buffer, size_t length);
/* The appends do nothing once the buffer has failed. */
void rp_buffer_append(struct rp_buffer *buffer, const char *data, size_t length);
void rp_buffer_puts(struct rp_buffer *buffer, const char *text);
void rp_buffer_printf(struct rp_buffer *buffer, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * For a caller that formats in place: returns where up to size more bytes
 * may be written (NULL once the buffer has failed); rp_buffer_commit then
 * adds the length (at most size) that was written there.
 */
char *rp_buffer_reserve(struct rp_buffer *buffer, size_t size);
void rp_buffer_commit(struct rp_buffer *buffer, size_t length);

/*
 * Numbers without printf (renderers/number_format.c): the writer prints
 * several into every index line and report. Each rp_format_* writes at out
 * and returns the end of what it wrote, with no NUL; out needs room for
 * the _MAX bytes named beside it.
 */
#define RP_FORMAT_UINT_MAX 20 /* 18446744073709551615 */
#define RP_FORMAT_INT_MAX 20  /* -9223372036854775808 */
/* value in decimal */
char *rp_format_uint(char *out, uint64_t value);
char *rp_format_int(char *out, int64_t value);
/* value / 10^decimals (0 to 9), with exactly that many decimals:
 * 203400 with 3 is "203.400" */
#define RP_FORMAT_FIXED_MAX (RP_FORMAT_UINT_MAX + 1)
char *rp_format_fixed(char *out, uint64_t value, int decimals);

/* rp_format_uint and rp_format_int, appended. */
void rp_buffer_put_uint(struct rp_buffer *buffer, uint64_t value);
void rp_buffer_put_int(struct rp_buffer *buffer, int64_t value);
/*
 * Appends value with the given number of decimals (0 to 6), rounded, e.g.
 * "203.400". Unlike printf's %f it ignores the locale: the library runs in
 * servers that may call setlocale, and a decimal comma would break JSON.
 * Values that are not finite are written as 0; huge ones are clamped.
 */
void rp_buffer_put_decimal(struct rp_buffer *buffer, double value,
                           int decimals);

/*
 * Appends text (length bytes, any bytes) with everything that would upset
 * a terminal replaced by replacement: control characters (C0, DEL and C1,
 * which can start escape sequences) and bytes that are not UTF-8.
 */
void rp_buffer_put_printable(struct rp_buffer *buffer, const char *text,
                             size_t length, const char *replacement);

/* Appends what wait says, as the text view's header has it: "81.2 ms on
 * 127.0.0.1:5432 (3 reads, 1.2 kB)" (a connect's line has no bytes). */
void rp_report_wait_describe(struct rp_buffer *out, const struct rp_report_wait *wait);

/* Adds the waits of from to into's (a merge of requests): by peer and
 * kind, those beyond into's rows in the row of others. */
void rp_report_waits_add(struct rp_report *into, const struct rp_report *from);

/*
 * What every text rendering begins with, so that a reader can tell a text
 * report from any other file.
 */
#define RP_REPORT_TEXT_MAGIC "reqprof "

/* How the text view looks. All false and 0 prints every frame. */
struct rp_text_options {
    bool color;   /* ANSI colours (only when printing to a terminal) */
    bool unicode; /* box-drawing characters; ASCII otherwise */
    /* Runs of two or more system library frames as one line,
     * "[N frames hidden] libc.so.6, ..." (renderers/library.c says which
     * frames); a library frame that itself holds RP_TEXT_FOLD_KEEP of the
     * request stays visible. */
    bool fold_libraries;
    /* Leaves out frames under this share of the request (0.01: 1%) and
     * says how many; 0 leaves out none. */
    double threshold;
};

/* What reqprof uses unless told to show everything (REQPROF_SHOW_ALL=1). */
#define RP_TEXT_THRESHOLD_DEFAULT 0.01
/* A library frame whose own samples reach this share is never folded:
 * pyinstrument's rule, so a request stuck in read() or a lock shows it. */
#define RP_TEXT_FOLD_KEEP 0.2

/*
 * Renders the report as a pyinstrument-like text tree. Children are printed
 * in list order: call rp_calltree_sort first. Renderers need report->tree.
 * Returns 0, or -1 if the buffer failed.
 */
int rp_render_text(const struct rp_report *report,
                   const struct rp_text_options *options,
                   struct rp_buffer *out);

/*
 * What the JSON rendering's "format" and "version" members say. Version 6
 * is version 5 with the samples on the CPU: "cpu_samples", each node's
 * "cpu_total" and "cpu_self", and a fourth number per timeline point
 * (all left out, and "cpu_samples" null, for a tree read from an older
 * report, which does not know them). Version 5 is version 4 with
 * "objects" (each object's build ID and executable segment) and each
 * node's "address", for the exports that read the code again (pprof),
 * with "inlined": true on the nodes of inlined calls, and "waits" (what
 * the request waited on) in a report that has any.
 * Version 4 is version 3 with "reqprof", the version of reqprof that recorded the
 * report, and "attribution" only in a report with shared samples (version
 * 3 had it in every report, and version 2 in none, since a reader of
 * version 2 must refuse by its version, rather than misread, a report
 * whose samples are not all its own).
 */
#define RP_REPORT_JSON_FORMAT "reqprof-report"
#define RP_REPORT_JSON_VERSION 6

/* Renders the report as JSON (docs/report-format.md). Returns 0 or -1. */
int rp_render_json(const struct rp_report *report, struct rp_buffer *out);

/*
 * Renders the report as a self-contained HTML page (no network, no other
 * file): the request, an interactive call tree, a flame graph, the
 * timeline, search. The JSON rendering travels inside it, so the report
 * can be read back (rp_report_from_html). Returns 0 or -1.
 */
int rp_render_html(const struct rp_report *report, struct rp_buffer *out);

/*
 * Renders the report as pprof's profile.proto message, not compressed:
 * gzip it, as pprof and Pyroscope expect of a .pb.gz file. Returns 0 or -1.
 */
int rp_render_pprof(const struct rp_report *report, struct rp_buffer *out);

/*
 * A pprof profile of many requests (reqprof merge --to pprof), in which
 * each sample keeps its own request's labels (method, path, route,
 * status, request id), so that pprof -tagfocus splits it again. Add each
 * request's report, then write the profile once: whole gives what is said
 * of them all (start, duration, interval, program). rp_render_pprof is
 * this for one request.
 */
struct rp_pprof;
/* NULL when out of memory. */
struct rp_pprof *rp_pprof_new(void);
/* Adds report's samples; it need not outlive the call. 0, or -1 when out
 * of memory (the profile then fails to write). */
int rp_pprof_add(struct rp_pprof *pprof, const struct rp_report *report);
/* Writes the profile.proto message, not compressed. 0, or -1. */
int rp_pprof_write(struct rp_pprof *pprof, const struct rp_report *whole,
                   struct rp_buffer *out);
/* NULL is allowed. */
void rp_pprof_free(struct rp_pprof *pprof);

/*
 * Renders the report as collapsed stacks, "frame;frame;frame count" per
 * line, for flamegraph.pl and speedscope. Returns 0 or -1.
 */
int rp_render_collapsed(const struct rp_report *report, struct rp_buffer *out);

/*
 * Renders the report in speedscope's own JSON file format: an evented
 * profile from the timeline, so that its Time Order view shows the
 * request in the order it ran, or a sampled one from the tree when the
 * report has no timeline. Returns 0 or -1.
 */
int rp_render_speedscope(const struct rp_report *report,
                         struct rp_buffer *out);

/*
 * Two reports side by side, for reqprof diff (render_diff.c): a and b are
 * one request's reports or sums of several (their requests say how many).
 * Each view is one tree, the union of both, whose lines give A's time,
 * B's and B - A in ms.
 */
struct rp_diff {
    const struct rp_report *a, *b;
    const char *a_label, *b_label; /* what each side was made of, for the
                                    * header: file or directory names */
    /* Times are each side's totals over its requests (averages), as
     * sides of different numbers of requests are compared; otherwise
     * totals. The views say which. */
    bool per_request;
};

/*
 * Renders the diff as text: a header naming both sides, then the tree,
 * lines under options->threshold of the larger side's request on both
 * sides left out and counted; options' unicode and color as
 * in rp_render_text (red: B takes longer, green: less). Library frames are
 * not folded. Returns 0, or -1 if the buffer failed.
 */
int rp_render_diff_text(const struct rp_diff *diff,
                        const struct rp_text_options *options,
                        struct rp_buffer *out);

/*
 * Renders the diff as a self-contained HTML page (no script): the same
 * lines as the text, each subtree folding, with a bar for each difference.
 * Returns 0, or -1 if the buffer failed.
 */
int rp_render_diff_html(const struct rp_diff *diff, double threshold,
                        struct rp_buffer *out);

/* The formats a report is rendered in; rp_formats describes each. */
enum rp_format {
    RP_FORMAT_TEXT,
    RP_FORMAT_JSON,
    RP_FORMAT_HTML,
    RP_FORMAT_PPROF,
    RP_FORMAT_COLLAPSED,
    RP_FORMAT_SPEEDSCOPE,
    RP_FORMAT_COUNT
};

/*
 * One format, as everything that names, writes or reads formats sees it:
 * REQPROF_OUTPUT, the library's report files, the tool's --to and the
 * tool's search of a directory for a report it can read.
 */
struct rp_format_info {
    const char *name;      /* what REQPROF_OUTPUT and --to call it */
    const char *doc;       /* what it is for, in one line */
    const char *extension; /* its file's name ends in .EXTENSION */
    bool compressed;       /* its report file is gzip-compressed (and its
                            * name ends in .EXTENSION.gz) */
    bool library_writes;   /* REQPROF_OUTPUT takes it */
    bool read_back;        /* the tool reads a report back from it */
    bool binary;           /* never sent to a terminal, and always gzip-
                            * compressed, as its readers expect */
    /* Renders a report in it (options: for text only); 0, or -1 if the
     * buffer failed or the renderer is not in this build. */
    int (*render)(const struct rp_report *report,
                  const struct rp_text_options *options,
                  struct rp_buffer *out);
};

/* Every format, by enum rp_format (renderers/render.c): the one table. */
extern const struct rp_format_info rp_formats[RP_FORMAT_COUNT];

/* The format named name, or -1 if there is none. */
int rp_format_from_name(const char *name);

/*
 * Writes the names of the formats (those the library writes, if
 * library_only) into out (size bytes) as "text, json, html", for
 * messages that say what is accepted.
 */
void rp_format_names(char *out, size_t size, bool library_only);

/* Writes into out (size bytes) the name of the report file STEM in
 * format: STEM.EXTENSION, and .gz if compressed. */
void rp_format_file_name(enum rp_format format, const char *stem, char *out,
                         size_t size);

/*
 * Renders report in format (options: for text only). Returns 0, or -1 if
 * the buffer failed.
 */
int rp_render(const struct rp_report *report, enum rp_format format,
              const struct rp_text_options *options, struct rp_buffer *out);

/*
 * Reads a report back from the JSON that rp_render_json wrote (or that of
 * version 1, which had no "requests" and no "timeline"; versions 1 and 2
 * have no "attribution": no shared samples), children in the order
 * written. Returns 0, or -1 with a one-line reason in error (e.g.
 * "line 3: expected ':'") and the report cleared. Strings longer than the
 * report's arrays are cut at a character boundary.
 */
int rp_report_from_json(const char *text, size_t length,
                        struct rp_report *report, char *error,
                        size_t error_size);

/*
 * Whether text (length bytes) is an HTML page, judged by its start; only
 * then is rp_report_from_html worth trying.
 */
bool rp_report_is_html(const char *text, size_t length);

/*
 * Reads a report back from the HTML page rp_render_html wrote, from the
 * JSON inside it. Returns 0, or -1 with a one-line reason in error, such
 * as that the page is not one of reqprof's.
 */
int rp_report_from_html(const char *text, size_t length,
                        struct rp_report *report, char *error,
                        size_t error_size);

#endif
