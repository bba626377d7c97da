/*
 * Reading a report back from the HTML page render_html.c wrote: the JSON
 * report travels inside it (see the top of render_html.c), and is read by
 * the JSON reader. The tool's alone: the preloaded library never reads a
 * report (Makefile, TOOL_RENDERER_OBJECTS).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "report.h"

bool rp_report_is_html(const char *text, size_t length)
{
    static const char bom[] = "\xEF\xBB\xBF";
    size_t start = 0;

    if (length >= 3 && memcmp(text, bom, 3) == 0)
        start = 3;
    while (start < length && strchr(" \t\r\n", text[start]) != NULL)
        start++;
    text += start;
    length -= start;
    return (length >= 14 && strncasecmp(text, "<!DOCTYPE html", 14) == 0) ||
           (length >= 5 && strncasecmp(text, "<html", 5) == 0);
}

/* memmem for a NUL-terminated needle. */
static const char *html_find(const char *text, size_t length,
                             const char *needle)
{
    return memmem(text, length, needle, strlen(needle));
}

int rp_report_from_html(const char *text, size_t length,
                        struct rp_report *report, char *error,
                        size_t error_size)
{
    const char *start = html_find(text, length, RP_HTML_REPORT_OPEN);
    const char *end;

    memset(report, 0, sizeof *report);
    if (start == NULL) {
        snprintf(error, error_size, "an HTML page, but not a reqprof report "
                                    "(no report data in it)");
        return -1;
    }
    start += strlen(RP_HTML_REPORT_OPEN);
    end = html_find(start, length - (size_t)(start - text), RP_HTML_SCRIPT_CLOSE);
    if (end == NULL) {
        snprintf(error, error_size, "the report data in the page is cut "
                                    "short (no " RP_HTML_SCRIPT_CLOSE ")");
        return -1;
    }
    return rp_report_from_json(start, (size_t)(end - start), report, error,
                               error_size);
}
