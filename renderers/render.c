/*
 * The formats, each described once (rp_formats), and rendering in any of
 * them: the one place that knows them all, for the preloaded library's
 * REQPROF_OUTPUT and report files and for the tool's --to and reads.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"

/*
 * pprof, collapsed and speedscope are the tool's: the preloaded library
 * writes only the formats REQPROF_OUTPUT takes and is linked without
 * their renderers (Makefile). Weak, they are NULL there; hidden, a server's symbol of the
 * same name is never taken for them.
 */
extern __typeof__(rp_render_pprof) rp_render_pprof
    __attribute__((weak, visibility("hidden")));
extern __typeof__(rp_render_collapsed) rp_render_collapsed
    __attribute__((weak, visibility("hidden")));
extern __typeof__(rp_render_speedscope) rp_render_speedscope
    __attribute__((weak, visibility("hidden")));

/* The renderers, with the table's one signature. */

static int render_json(const struct rp_report *report,
                       const struct rp_text_options *options,
                       struct rp_buffer *out)
{
    return rp_render_json(report, out);
}

static int render_html(const struct rp_report *report,
                       const struct rp_text_options *options,
                       struct rp_buffer *out)
{
    return rp_render_html(report, out);
}

/* Renders with a tool-only renderer, or fails where it is not linked. */
static int render_linked(int (*render)(const struct rp_report *,
                                       struct rp_buffer *),
                         const struct rp_report *report, struct rp_buffer *out)
{
    if (render != NULL)
        return render(report, out);
    out->failed = true;
    return -1;
}

static int render_pprof(const struct rp_report *report,
                        const struct rp_text_options *options,
                        struct rp_buffer *out)
{
    return render_linked(rp_render_pprof, report, out);
}

static int render_collapsed(const struct rp_report *report,
                            const struct rp_text_options *options,
                            struct rp_buffer *out)
{
    return render_linked(rp_render_collapsed, report, out);
}

static int render_speedscope(const struct rp_report *report,
                             const struct rp_text_options *options,
                             struct rp_buffer *out)
{
    return render_linked(rp_render_speedscope, report, out);
}

/* The HTML page is not compressed: it is made to be opened in a browser,
 * and browsers do not open a .html.gz file from disk. */
const struct rp_format_info rp_formats[RP_FORMAT_COUNT] = {
    [RP_FORMAT_TEXT] = {.name = "text",
                        .doc = "the call tree, as reqprof show prints it",
                        .extension = "txt", .compressed = true,
                        .library_writes = true, .render = rp_render_text},
    [RP_FORMAT_JSON] = {.name = "json",
                        .doc = "the source of truth (docs/report-format.md)",
                        .extension = "json", .compressed = true,
                        .library_writes = true, .read_back = true,
                        .render = render_json},
    [RP_FORMAT_HTML] = {.name = "html",
                        .doc = "one page with the call tree, flame graph "
                               "and timeline",
                        .extension = "html", .library_writes = true,
                        .read_back = true, .render = render_html},
    [RP_FORMAT_PPROF] = {.name = "pprof",
                         .doc = "profile.proto, gzip-compressed, for pprof "
                                "and Pyroscope",
                         .extension = "pb", .compressed = true,
                         .binary = true, .render = render_pprof},
    [RP_FORMAT_COLLAPSED] = {.name = "collapsed",
                             .doc = "\"frame;frame count\" lines for "
                                    "flamegraph.pl, speedscope",
                             .extension = "folded",
                             .render = render_collapsed},
    /* speedscope recognises its format by the file's name too. */
    [RP_FORMAT_SPEEDSCOPE] = {.name = "speedscope",
                              .doc = "speedscope's own JSON: Time Order "
                                     "shows the timeline",
                              .extension = "speedscope.json",
                              .render = render_speedscope},
};

int rp_format_from_name(const char *name)
{
    for (int format = 0; format < RP_FORMAT_COUNT; format++) {
        if (strcmp(rp_formats[format].name, name) == 0)
            return format;
    }
    return -1;
}

void rp_format_names(char *out, size_t size, bool library_only)
{
    size_t length = 0;

    out[0] = '\0';
    for (int format = 0; format < RP_FORMAT_COUNT; format++) {
        if (library_only && !rp_formats[format].library_writes)
            continue;
        int added = snprintf(out + length, size - length, "%s%s",
                             length > 0 ? ", " : "", rp_formats[format].name);
        if (added < 0 || (size_t)added >= size - length)
            return;
        length += (size_t)added;
    }
}

void rp_format_file_name(enum rp_format format, const char *stem, char *out,
                         size_t size)
{
    snprintf(out, size, "%s.%s%s", stem, rp_formats[format].extension,
             rp_formats[format].compressed ? ".gz" : "");
}

int rp_render(const struct rp_report *report, enum rp_format format,
              const struct rp_text_options *options, struct rp_buffer *out)
{
    return rp_formats[format].render(report, options, out);
}
