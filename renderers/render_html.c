/*
 * The HTML rendering. The tool reads a report back from it (html_read.c).
 *
 * The page is renderers/html/report.html with its stylesheet and script
 * written in (no file, CDN or server needed: it works offline from a
 * single file), and two blocks of data the script draws from:
 *
 *   <script type="application/json" id="reqprof-report">  the JSON report
 *   <script type="application/json" id="reqprof-view">    what the views
 *       need from C: which objects are system libraries (library.c),
 *       which frames are shared between requests (shared.c), the names
 *       shown shortened (function_name.c), and the folding, threshold
 *       and shared-mark shares the text view and reqprof ls use
 *
 * The template marks where each goes with <!--reqprof:NAME-->.
 *
 * Data inside a <script> element ends at the first "</script" whatever
 * JSON thinks, and "<!--" changes how the HTML parser reads on. The JSON
 * only holds '<' inside strings, so writing every '<' as \u003c makes
 * both impossible and keeps the JSON equal in meaning. Reading the page
 * back parses that JSON, and rendering it again gives the original bytes,
 * as the JSON rendering is canonical.
 */
#include <string.h>

#include "internal.h"
#include "report.h"

/* What the template's placeholders look like. */
#define HTML_MARK_OPEN "<!--reqprof:"
#define HTML_MARK_CLOSE "-->"

/* Appends JSON text with every '<' as \u003c (see the top of the file). */
static void html_put_json(struct rp_buffer *out, const struct rp_buffer *json)
{
    const char *start = json->data, *end = json->data + json->length;

    for (const char *less; (less = memchr(start, '<', (size_t)(end - start)));
         start = less + 1) {
        rp_buffer_append(out, start, (size_t)(less - start));
        rp_buffer_puts(out, "\\u003c");
    }
    rp_buffer_append(out, start, (size_t)(end - start));
}

/* The report's JSON, in its script element. */
static void html_put_report(struct rp_buffer *out,
                            const struct rp_report *report,
                            struct rp_buffer *scratch)
{
    rp_buffer_reset(scratch);
    rp_render_json(report, scratch);
    rp_buffer_puts(out, RP_HTML_REPORT_OPEN "\n");
    html_put_json(out, scratch);
    rp_buffer_puts(out, RP_HTML_SCRIPT_CLOSE);
}

/* Appends the set's strings as a JSON array. */
static void html_put_string_list(struct rp_buffer *out,
                                 const struct rp_string_set *set)
{
    rp_buffer_puts(out, "[");
    for (size_t i = 0; i < set->count; i++) {
        rp_buffer_puts(out, i > 0 ? ", " : "");
        rp_json_put_string(out, set->items[i], strlen(set->items[i]));
    }
    rp_buffer_puts(out, "]");
    if (set->failed)
        out->failed = true;
}

/*
 * Appends [["full name", "as shown"], ...], a pair for each function of the
 * tree whose name the views shorten, once: the page shows the second and
 * the whole name on hover. The rule is the text view's, in C alone.
 */
static void html_put_short_names(struct rp_buffer *out,
                                 const struct rp_report *report)
{
    struct rp_string_set functions = {0};
    struct rp_buffer shown;
    const struct rp_frame *frame;
    bool first = true;

    rp_buffer_init(&shown);
    rp_buffer_puts(out, "[");
    for (uint32_t id = 0; (frame = rp_calltree_frame(report->tree, id)); id++) {
        size_t known = functions.count;

        if (rp_string_set_add(&functions, frame->function) < known)
            continue;
        rp_buffer_reset(&shown);
        bool shortened = rp_function_name_put_short(&shown, frame->function, "…");
        if (shown.failed)
            out->failed = true;
        if (!shortened)
            continue;
        rp_buffer_puts(out, first ? "[" : ", [");
        first = false;
        rp_json_put_string(out, frame->function, strlen(frame->function));
        rp_buffer_puts(out, ", ");
        rp_json_put_string(out, shown.data, shown.length);
        rp_buffer_puts(out, "]");
    }
    rp_buffer_puts(out, "]");
    if (functions.failed)
        out->failed = true;
    rp_string_set_free(&functions);
    rp_buffer_free(&shown);
}

/* What the views need that only C knows, in its script element: which
 * objects are libraries and which frames are shared (folding and the
 * shared nodes' look go by them), the names they shorten, and the shares
 * the text view uses. */
static void html_put_view(struct rp_buffer *out,
                          const struct rp_report *report,
                          struct rp_buffer *scratch)
{
    struct rp_string_set libraries = {0}, shared = {0};
    const struct rp_frame *frame;

    for (uint32_t id = 0; (frame = rp_calltree_frame(report->tree, id)); id++) {
        if (rp_frame_is_library(frame, report->program))
            rp_string_set_add(&libraries, frame->object);
        if (rp_frame_is_shared(frame))
            rp_string_set_add(&shared, frame->function);
    }
    rp_buffer_reset(scratch);
    rp_buffer_puts(scratch, "{\"fold_keep\": ");
    rp_buffer_put_decimal(scratch, RP_TEXT_FOLD_KEEP, 3);
    rp_buffer_puts(scratch, ", \"threshold\": ");
    rp_buffer_put_decimal(scratch, RP_TEXT_THRESHOLD_DEFAULT, 3);
    rp_buffer_puts(scratch, ", \"shared_mark\": ");
    rp_buffer_put_decimal(scratch, RP_SHARED_MARK, 3);
    rp_buffer_puts(scratch, ", \"libraries\": ");
    html_put_string_list(scratch, &libraries);
    rp_buffer_puts(scratch, ", \"shared_frames\": ");
    html_put_string_list(scratch, &shared);
    rp_buffer_puts(scratch, ", \"short_names\": ");
    html_put_short_names(scratch, report);
    rp_string_set_free(&libraries);
    rp_string_set_free(&shared);
    rp_buffer_puts(scratch, "}");
    rp_buffer_puts(out, "<script type=\"application/json\" id=\"reqprof-view\">");
    html_put_json(out, scratch);
    rp_buffer_puts(out, RP_HTML_SCRIPT_CLOSE);
}

int rp_render_html(const struct rp_report *report, struct rp_buffer *out)
{
    const char *template = rp_html_report_html, *mark;
    struct rp_buffer scratch;

    rp_buffer_init(&scratch);
    while ((mark = strstr(template, HTML_MARK_OPEN)) != NULL) {
        const char *name = mark + strlen(HTML_MARK_OPEN);
        const char *end = strstr(name, HTML_MARK_CLOSE);
        size_t length;

        if (end == NULL)
            break;
        length = (size_t)(end - name);
        rp_buffer_append(out, template, (size_t)(mark - template));
        if (length == 6 && strncmp(name, "report", length) == 0)
            html_put_report(out, report, &scratch);
        else if (length == 4 && strncmp(name, "view", length) == 0)
            html_put_view(out, report, &scratch);
        else if (length == 5 && strncmp(name, "style", length) == 0)
            rp_buffer_puts(out, rp_html_report_css);
        else if (length == 6 && strncmp(name, "script", length) == 0)
            rp_buffer_puts(out, rp_html_report_js);
        template = end + strlen(HTML_MARK_CLOSE);
    }
    rp_buffer_puts(out, template);
    if (scratch.failed)
        out->failed = true;
    rp_buffer_free(&scratch);
    return out->failed ? -1 : 0;
}
