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

/* Everything one report says about one request. */
struct rp_report {
    /* The request. */
    char method[RP_REPORT_METHOD_MAX]; /* "GET" */
    char path[RP_REPORT_PATH_MAX];     /* request target as sent, maybe cut */
    int status;                        /* response status; 0: none was sent */
    int64_t start_unix_us;             /* wall-clock time of its first byte */
    double duration_ms;                /* first byte read to last byte written */
    double cpu_ms;                     /* thread CPU time spent on it */
    uint64_t request_bytes;            /* bytes of the request message */
    uint64_t response_bytes;           /* bytes of the response message */

    /* The sampling. */
    double interval_ms;       /* timer interval */
    uint64_t samples;         /* sample weight in the tree (root total) */
    uint64_t samples_dropped; /* samples lost (ring full, unwinder busy...) */

    /* The process. */
    int pid;
    char program[RP_REPORT_PROGRAM_MAX]; /* path of the executable */

    /* Where the time went; owned by the report. */
    struct rp_calltree *tree;
};

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
 * Appends value with the given number of decimals (0 to 6), rounded, e.g.
 * "203.400". Unlike printf's %f it ignores the locale: the library runs in
 * servers that may call setlocale, and a decimal comma would break JSON.
 * Values that are not finite are written as 0; huge ones are clamped.
 */
void rp_buffer_put_decimal(struct rp_buffer *buffer, double value,
                           int decimals);

/*
 * What every text rendering begins with, so that a reader can tell a text
 * report from any other file.
 */
#define RP_REPORT_TEXT_MAGIC "reqprof "

/* How the text view looks. */
struct rp_text_options {
    bool color;   /* ANSI colours (only when printing to a terminal) */
    bool unicode; /* box-drawing characters; ASCII otherwise */
};

/*
 * Renders the report as a pyinstrument-like text tree. Children are printed
 * in list order: call rp_calltree_sort first. Renderers need report->tree.
 * Returns 0, or -1 if the buffer failed.
 */
int rp_render_text(const struct rp_report *report,
                   const struct rp_text_options *options,
                   struct rp_buffer *out);

/* What the JSON rendering's "format" and "version" members say. */
#define RP_REPORT_JSON_FORMAT "reqprof-report"
#define RP_REPORT_JSON_VERSION 1

/* Renders the report as JSON (docs/report-format.md). Returns 0 or -1. */
int rp_render_json(const struct rp_report *report, struct rp_buffer *out);

/*
 * Reads a report back from the JSON that rp_render_json wrote, children in
 * the order written. Returns 0, or -1 with a one-line reason in error (e.g.
 * "line 3: expected ':'") and the report cleared. Strings longer than the
 * report's arrays are cut at a character boundary.
 */
int rp_report_from_json(const char *text, size_t length,
                        struct rp_report *report, char *error,
                        size_t error_size);

#endif
