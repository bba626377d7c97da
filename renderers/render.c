/*
 * The formats by name, and rendering in any of them: the one place that
 * knows them all, for the preloaded library's REQPROF_OUTPUT and the
 * tool's --to.
 */
#include <string.h>

#include "report.h"

static const char *const format_names[RP_FORMAT_COUNT] = {
    [RP_FORMAT_TEXT] = "text",   [RP_FORMAT_JSON] = "json",
    [RP_FORMAT_HTML] = "html",   [RP_FORMAT_PPROF] = "pprof",
    [RP_FORMAT_COLLAPSED] = "collapsed",
};

const char *rp_format_name(enum rp_format format)
{
    return format_names[format];
}

int rp_format_from_name(const char *name)
{
    for (int format = 0; format < RP_FORMAT_COUNT; format++) {
        if (strcmp(format_names[format], name) == 0)
            return format;
    }
    return -1;
}

int rp_render(const struct rp_report *report, enum rp_format format,
              const struct rp_text_options *options, struct rp_buffer *out)
{
    switch (format) {
    case RP_FORMAT_TEXT:
        return rp_render_text(report, options, out);
    case RP_FORMAT_JSON:
        return rp_render_json(report, out);
    case RP_FORMAT_HTML:
        return rp_render_html(report, out);
    case RP_FORMAT_PPROF:
        return rp_render_pprof(report, out);
    case RP_FORMAT_COLLAPSED:
        return rp_render_collapsed(report, out);
    case RP_FORMAT_COUNT:
        break;
    }
    out->failed = true;
    return -1;
}
