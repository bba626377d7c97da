/*
 * reqprof diff's views: two reports (or two sums of several requests'),
 * A and B, as one call tree whose lines say each side's time and the
 * difference, B - A, in milliseconds:
 *
 *       A ms     B ms      B-A
 *       63.0    125.0    +62.0  [request]
 *       63.0    125.0    +62.0  └─ route_burn  test_server.c:353
 *       60.0      0.0    -60.0     ├─ burn_alpha  test_server.c:145
 *        0.0    122.0   +122.0     └─ burn_beta  test_server.c:146
 *
 * The tree is the union of both: a path only one side took is there with
 * 0 on the other. Times are in ms, not samples, so reports sampled at
 * different intervals compare; sides that sum different numbers of
 * requests are compared per request (each side's totals over its
 * requests), and the header says which was done.
 *
 * One walk of both trees makes the lines (struct diff_lines): in order,
 * with their depth, heaviest side first among siblings, those under the
 * threshold left out and counted. The text and the HTML views only print
 * them.
 */
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "internal.h"
#include "report.h"

/* Decimals of milliseconds, as in the text report. */
#define DIFF_MS_DECIMALS 1
/* Width of each number column of the text view. */
#define DIFF_COLUMN_WIDTH 9

/* One line of the diff: a node of the union, or the [self] of its parent. */
struct diff_line {
    const struct rp_frame *frame; /* NULL for a [self] line */
    size_t depth;                 /* 0 for the root */
    bool last;                    /* no later sibling is printed */
    double a_ms, b_ms;            /* each side's time, as compared */
};

/* The lines, in the order they are printed. */
struct diff_lines {
    struct rp_calltree *union_tree; /* both trees added: the lines' frames */
    struct diff_line *lines;
    size_t count;
    size_t capacity;
    uint64_t left_out; /* nodes under the threshold, not printed */
    bool failed;       /* out of memory: lines are missing */
};

/* One walk of the union of two trees. */
struct diff_walk {
    const struct rp_calltree *union_tree, *a_tree, *b_tree;
    double a_ms_per_sample, b_ms_per_sample;
    double threshold_ms; /* lines under this on both sides are left out */
    struct diff_lines *lines;
};

/* A candidate line under a node, before the threshold and the order. */
struct diff_item {
    const struct rp_calltree_node *node; /* the union's; NULL: [self] */
    const struct rp_calltree_node *a, *b; /* each side's, or NULL */
    double a_ms, b_ms;
    size_t order; /* as found: ties keep the union's order */
};

static void lines_push(struct diff_lines *lines, const struct diff_line *line)
{
    if (lines->count == lines->capacity) {
        size_t capacity = lines->capacity ? lines->capacity * 2 : 64;
        struct diff_line *grown =
            rp_heap_realloc(lines->lines, capacity * sizeof *grown);

        if (grown == NULL) {
            lines->failed = true;
            return;
        }
        lines->lines = grown;
        lines->capacity = capacity;
    }
    lines->lines[lines->count++] = *line;
}

/* The node of tree under parent (NULL: none) for the frame that node is
 * in the union. */
static const struct rp_calltree_node *
side_child(const struct diff_walk *walk, const struct rp_calltree *tree,
           const struct rp_calltree_node *parent,
           const struct rp_calltree_node *node)
{
    uint32_t id;

    if (parent == NULL)
        return NULL;
    id = rp_calltree_find(tree, rp_calltree_frame(walk->union_tree,
                                                  node->frame));
    return id == RP_FRAME_ROOT ? NULL : rp_calltree_child(tree, parent, id);
}

static double larger(double x, double y)
{
    return x > y ? x : y;
}

static double magnitude(double x)
{
    return x < 0 ? -x : x;
}

/* Heaviest side first; among equals, [self] last, the rest as found. */
static int item_compare(const void *x, const void *y)
{
    const struct diff_item *p = x, *q = y;
    double p_ms = larger(p->a_ms, p->b_ms), q_ms = larger(q->a_ms, q->b_ms);

    if (p_ms != q_ms)
        return p_ms > q_ms ? -1 : 1;
    if ((p->node == NULL) != (q->node == NULL))
        return p->node == NULL ? 1 : -1;
    return (p->order > q->order) - (p->order < q->order);
}

/* Whether an item is worth a line: either side at the threshold (and so
 * any difference over it); a [self] of nothing never is. */
static bool item_shown(const struct diff_walk *walk,
                       const struct diff_item *item)
{
    if (item->node == NULL && item->a_ms == 0 && item->b_ms == 0)
        return false;
    return larger(item->a_ms, item->b_ms) >= walk->threshold_ms;
}

/*
 * Pushes the lines under the union's node (each side's node for it, or
 * NULL) at depth, and theirs. The recursion is as deep as the trees,
 * which the JSON reader's nesting limit bounds.
 */
static void diff_children(struct diff_walk *walk,
                          const struct rp_calltree_node *node,
                          const struct rp_calltree_node *a,
                          const struct rp_calltree_node *b, size_t depth)
{
    struct diff_item *items;
    size_t count = 0, kept = 0, children = 0;

    for (const struct rp_calltree_node *child = node->first_child; child;
         child = child->next_sibling)
        children++;
    if (children == 0)
        return;
    /* The children and the [self]. */
    items = rp_heap_malloc((children + 1) * sizeof *items);
    if (items == NULL) {
        walk->lines->failed = true;
        return;
    }
    for (const struct rp_calltree_node *child = node->first_child; child;
         child = child->next_sibling, count++) {
        struct diff_item *item = &items[count];

        item->node = child;
        item->a = side_child(walk, walk->a_tree, a, child);
        item->b = side_child(walk, walk->b_tree, b, child);
        item->a_ms = item->a ? (double)item->a->total * walk->a_ms_per_sample
                             : 0;
        item->b_ms = item->b ? (double)item->b->total * walk->b_ms_per_sample
                             : 0;
        item->order = count;
    }
    items[count] = (struct diff_item){
        .a_ms = a ? (double)a->self * walk->a_ms_per_sample : 0,
        .b_ms = b ? (double)b->self * walk->b_ms_per_sample : 0,
        .order = count,
    };
    count++;
    for (size_t i = 0; i < count; i++) {
        if (item_shown(walk, &items[i]))
            items[kept++] = items[i];
        else if (items[i].node != NULL)
            walk->lines->left_out += rp_calltree_subtree_size(items[i].node);
    }
    /* A [self] alone says nothing its parent's line does not. */
    if (kept == 1 && items[0].node == NULL)
        kept = 0;
    qsort(items, kept, sizeof *items, item_compare);
    for (size_t i = 0; i < kept; i++) {
        struct diff_line line = {
            .frame = items[i].node ? rp_calltree_frame(walk->union_tree,
                                                       items[i].node->frame)
                                   : NULL,
            .depth = depth,
            .last = i + 1 == kept,
            .a_ms = items[i].a_ms,
            .b_ms = items[i].b_ms,
        };

        lines_push(walk->lines, &line);
        if (items[i].node != NULL)
            diff_children(walk, items[i].node, items[i].a, items[i].b,
                          depth + 1);
    }
    rp_heap_free(items);
}

/* How many requests a report stands for (0 counts as 1). */
static uint64_t report_requests(const struct rp_report *report)
{
    return report->requests > 0 ? report->requests : 1;
}

/* Milliseconds one sample of report stands for, as the diff compares. */
static double ms_per_sample(const struct rp_diff *diff,
                            const struct rp_report *report)
{
    return report->interval_ms /
           (diff->per_request ? (double)report_requests(report) : 1);
}

static void diff_lines_free(struct diff_lines *lines)
{
    rp_calltree_free(lines->union_tree);
    rp_heap_free(lines->lines);
}

/* Makes the lines of the diff, the root's first (to free with
 * diff_lines_free, whatever the outcome). Returns 0, or -1 when out of
 * memory. */
static int diff_lines_make(const struct rp_diff *diff, double threshold,
                           struct diff_lines *lines)
{
    struct diff_walk walk = {
        .a_tree = diff->a->tree,
        .b_tree = diff->b->tree,
        .a_ms_per_sample = ms_per_sample(diff, diff->a),
        .b_ms_per_sample = ms_per_sample(diff, diff->b),
        .lines = lines,
    };
    const struct rp_calltree_node *a_root = rp_calltree_root(diff->a->tree);
    const struct rp_calltree_node *b_root = rp_calltree_root(diff->b->tree);
    struct diff_line root = {
        .frame = rp_calltree_frame(diff->a->tree, RP_FRAME_ROOT),
        .last = true,
        .a_ms = (double)a_root->total * walk.a_ms_per_sample,
        .b_ms = (double)b_root->total * walk.b_ms_per_sample,
    };

    memset(lines, 0, sizeof *lines);
    lines->union_tree = rp_calltree_new();
    if (lines->union_tree == NULL ||
        rp_calltree_merge(lines->union_tree, diff->a->tree) != 0 ||
        rp_calltree_merge(lines->union_tree, diff->b->tree) != 0)
        return -1;
    /* Sorted, ties among siblings fall in an order of their contents. */
    rp_calltree_sort(lines->union_tree);
    walk.union_tree = lines->union_tree;
    walk.threshold_ms = threshold * larger(root.a_ms, root.b_ms);
    lines_push(lines, &root);
    diff_children(&walk, rp_calltree_root(lines->union_tree), a_root, b_root,
                  1);
    return lines->failed ? -1 : 0;
}

/* What a side is, in one line: "3 requests, GET /burn?ms=60 → 200,
 * 189.6 ms in all". */
static void put_side(struct rp_buffer *out, const struct rp_report *report,
                     const char *arrow)
{
    uint64_t requests = report_requests(report);

    rp_buffer_put_uint(out, requests);
    rp_buffer_puts(out, requests == 1 ? " request, " : " requests, ");
    if (report->method[0] != '\0' || report->path[0] != '\0') {
        rp_buffer_put_printable(out, report->method,
                                strnlen(report->method,
                                        sizeof report->method), "?");
        rp_buffer_puts(out, " ");
        rp_buffer_put_printable(out, report->path,
                                strnlen(report->path, sizeof report->path),
                                "?");
    } else {
        rp_buffer_puts(out, "several paths");
    }
    if (report->status != 0) {
        rp_buffer_printf(out, " %s ", arrow);
        rp_buffer_put_int(out, report->status);
    }
    rp_buffer_puts(out, ", ");
    rp_buffer_put_decimal(out, report->duration_ms, DIFF_MS_DECIMALS);
    rp_buffer_puts(out, requests == 1 ? " ms" : " ms in all");
}

/* How the times compare, in one sentence. */
static void put_comparison(struct rp_buffer *out, const struct rp_diff *diff)
{
    if (diff->per_request) {
        rp_buffer_puts(out, "Compared per request (averages): A sums ");
        rp_buffer_put_uint(out, report_requests(diff->a));
        rp_buffer_puts(out, " and B ");
        rp_buffer_put_uint(out, report_requests(diff->b));
        rp_buffer_puts(out, " requests, so each side's times are its "
                            "totals over its requests");
    } else if (report_requests(diff->a) > 1) {
        rp_buffer_puts(out, "Compared as totals: each side sums ");
        rp_buffer_put_uint(out, report_requests(diff->a));
        rp_buffer_puts(out, " requests");
    } else {
        rp_buffer_puts(out, "Compared as totals of one request each");
    }
}

/* Says what the threshold left out. */
static void put_left_out(struct rp_buffer *out, const struct diff_lines *lines,
                         double threshold)
{
    rp_buffer_put_uint(out, lines->left_out);
    rp_buffer_puts(out, lines->left_out == 1 ? " frame" : " frames");
    rp_buffer_puts(out, " under ");
    rp_buffer_put_decimal(out, threshold * 100, 1);
    rp_buffer_puts(out, "% of the larger side's request on both sides not "
                        "shown");
}

/* Appends a number column: value right-aligned, with a sign if signed. */
static void text_column(struct rp_buffer *out, double value, bool sign,
                        const char *style)
{
    struct rp_buffer number;
    size_t width;

    rp_buffer_init(&number);
    if (sign)
        rp_buffer_puts(&number, value < 0 ? "-" : "+");
    rp_buffer_put_decimal(&number, magnitude(value), DIFF_MS_DECIMALS);
    width = number.length < DIFF_COLUMN_WIDTH ? number.length
                                               : DIFF_COLUMN_WIDTH;
    rp_buffer_printf(out, "%*s", (int)(DIFF_COLUMN_WIDTH - width), "");
    if (style != NULL)
        rp_buffer_puts(out, style);
    if (number.data != NULL)
        rp_buffer_append(out, number.data, number.length);
    if (style != NULL)
        rp_buffer_puts(out, RP_STYLE_RESET);
    if (number.failed)
        out->failed = true;
    rp_buffer_free(&number);
}

/* The style of a difference: red when B takes longer, green when less,
 * none under a twentieth of a millisecond (or without colour). */
static const char *difference_style(double difference, bool color)
{
    if (!color || magnitude(difference) < 0.05)
        return NULL;
    return difference > 0 ? RP_STYLE_RED : RP_STYLE_GREEN;
}

int rp_render_diff_text(const struct rp_diff *diff,
                        const struct rp_text_options *options,
                        struct rp_buffer *out)
{
    const struct rp_text_glyphs *glyphs = rp_text_glyphs(options->unicode);
    struct diff_lines lines;
    struct rp_buffer name; /* a function's name as shown */
    /* Whether the line at each depth was its parent's last: the margin. */
    bool *last_at = NULL;

    if (diff_lines_make(diff, options->threshold, &lines) == 0)
        last_at = rp_heap_malloc((lines.count + 1) * sizeof *last_at);
    if (last_at == NULL) {
        diff_lines_free(&lines);
        out->failed = true;
        return -1;
    }
    rp_buffer_puts(out, RP_REPORT_TEXT_MAGIC "diff\n  A: ");
    rp_buffer_put_printable(out, diff->a_label, strlen(diff->a_label), "?");
    rp_buffer_puts(out, "\n     ");
    put_side(out, diff->a, glyphs->arrow);
    rp_buffer_puts(out, "\n  B: ");
    rp_buffer_put_printable(out, diff->b_label, strlen(diff->b_label), "?");
    rp_buffer_puts(out, "\n     ");
    put_side(out, diff->b, glyphs->arrow);
    rp_buffer_puts(out, "\n");
    put_comparison(out, diff);
    rp_buffer_puts(out, ".\n\n     A ms     B ms      B-A\n");
    rp_buffer_init(&name);
    for (size_t i = 0; i < lines.count; i++) {
        const struct diff_line *line = &lines.lines[i];
        double difference = line->b_ms - line->a_ms;

        text_column(out, line->a_ms, false, NULL);
        text_column(out, line->b_ms, false, NULL);
        text_column(out, difference, true,
                    difference_style(difference, options->color));
        rp_buffer_puts(out, "  ");
        for (size_t depth = 1; depth < line->depth; depth++)
            rp_buffer_puts(out, last_at[depth] ? glyphs->blank
                                               : glyphs->vertical);
        if (line->depth > 0)
            rp_buffer_puts(out, line->last ? glyphs->last_branch
                                           : glyphs->branch);
        last_at[line->depth] = line->last;
        if (line->frame != NULL)
            rp_text_put_frame(out, &name, line->frame, options->color, glyphs);
        else
            rp_buffer_puts(out, "[self]");
        rp_buffer_puts(out, "\n");
    }
    if (lines.left_out > 0) {
        rp_buffer_puts(out, "\n");
        put_left_out(out, &lines, options->threshold);
        rp_buffer_puts(out, " (--all shows every frame)\n");
    }
    rp_buffer_free(&name);
    rp_heap_free(last_at);
    diff_lines_free(&lines);
    return out->failed ? -1 : 0;
}

/* Appends text as HTML text: printable, and <, >, & and " escaped. */
static void html_put_text(struct rp_buffer *out, const char *text)
{
    struct rp_buffer printable;

    rp_buffer_init(&printable);
    rp_buffer_put_printable(&printable, text, strlen(text),
                            RP_UTF8_REPLACEMENT);
    for (size_t i = 0; i < printable.length; i++) {
        char c = printable.data[i];

        if (c == '<')
            rp_buffer_puts(out, "&lt;");
        else if (c == '>')
            rp_buffer_puts(out, "&gt;");
        else if (c == '&')
            rp_buffer_puts(out, "&amp;");
        else if (c == '"')
            rp_buffer_puts(out, "&quot;");
        else
            rp_buffer_append(out, &c, 1);
    }
    if (printable.failed)
        out->failed = true;
    rp_buffer_free(&printable);
}

/* A frame's name, long lists shortened as in the text views, marked if
 * the compiler inlined it, and, in its title (on hover), its whole name
 * and where it is. */
static void html_put_frame(struct rp_buffer *out, const struct rp_frame *frame)
{
    struct rp_buffer shown;

    rp_buffer_init(&shown);
    rp_function_name_put_short(&shown, frame->function, "…");
    if (shown.failed)
        out->failed = true;
    rp_buffer_puts(out, "<span class=\"frame\" title=\"");
    html_put_text(out, frame->function);
    if (frame->file != NULL || frame->object != NULL) {
        rp_buffer_puts(out, "  ");
        html_put_text(out, frame->file ? frame->file : frame->object);
    }
    if (frame->file != NULL && frame->line > 0)
        rp_buffer_printf(out, ":%d", frame->line);
    rp_buffer_puts(out, "\">");
    html_put_text(out, shown.data != NULL ? shown.data : "");
    rp_buffer_free(&shown);
    rp_buffer_puts(out, "</span>");
    if (frame->inlined)
        rp_buffer_puts(out, " <span class=\"where\">" RP_INLINED_MARK "</span>");
    if (frame->object != NULL) {
        rp_buffer_puts(out, " <span class=\"where\">");
        html_put_text(out, frame->object);
        rp_buffer_puts(out, "</span>");
    }
}

/* One line's numbers and its bar: the difference's share of the larger
 * side's request, drawn from the middle, right for B slower. */
static void html_put_row(struct rp_buffer *out, const struct diff_line *line,
                         double scale_ms)
{
    double difference = line->b_ms - line->a_ms;
    double width = scale_ms > 0 ? 50 * magnitude(difference) / scale_ms : 0;
    const char *direction = difference > 0 ? "slower" : "faster";

    rp_buffer_puts(out, "<span class=\"ms\">");
    rp_buffer_put_decimal(out, line->a_ms, DIFF_MS_DECIMALS);
    rp_buffer_puts(out, "</span><span class=\"ms\">");
    rp_buffer_put_decimal(out, line->b_ms, DIFF_MS_DECIMALS);
    rp_buffer_printf(out, "</span><span class=\"ms %s\">%s", direction,
                     difference < 0 ? "-" : "+");
    rp_buffer_put_decimal(out, magnitude(difference), DIFF_MS_DECIMALS);
    rp_buffer_printf(out, "</span><span class=\"bar\"><i class=\"%s\" "
                          "style=\"width:", direction);
    rp_buffer_put_decimal(out, width > 50 ? 50 : width, 2);
    /* The numbers stay in their columns; the names show the depth. */
    rp_buffer_printf(out, "%%\"></i></span><span style=\"padding-left:%zuem\">",
                     line->depth);
    if (line->frame != NULL)
        html_put_frame(out, line->frame);
    else
        rp_buffer_puts(out, "<span class=\"self\">[self]</span>");
    rp_buffer_puts(out, "</span>");
}

static const char html_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "h1{font-size:1.3em}.sides td{padding:0 1em 0 0}"
    ".head,.row,summary{font-family:ui-monospace,monospace;"
    "white-space:nowrap}"
    "details>summary{cursor:pointer}"
    ".row{padding-left:1.1em}"
    ".ms{display:inline-block;width:6.5em;text-align:right}"
    ".slower{color:#b3261e}.faster{color:#1b7f3b}"
    ".bar{display:inline-block;width:10em;height:.7em;margin:0 .8em;"
    "position:relative;background:#f1f1f1}"
    ".bar i{position:absolute;top:0;height:100%}"
    ".bar i.slower{left:50%;background:#e57373}"
    ".bar i.faster{right:50%;background:#81c784}"
    ".where,.self,.note{color:#777}\n";

int rp_render_diff_html(const struct rp_diff *diff, double threshold,
                        struct rp_buffer *out)
{
    struct diff_lines lines;
    double scale_ms;

    if (diff_lines_make(diff, threshold, &lines) != 0) {
        diff_lines_free(&lines);
        out->failed = true;
        return -1;
    }
    scale_ms = larger(lines.lines[0].a_ms, lines.lines[0].b_ms);
    rp_buffer_puts(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                        "<title>reqprof diff</title><style>");
    rp_buffer_puts(out, html_style);
    rp_buffer_puts(out, "</style></head><body>\n<h1>reqprof diff</h1>\n"
                        "<table class=\"sides\">");
    for (int side = 0; side < 2; side++) {
        rp_buffer_puts(out, side == 0 ? "<tr><th>A</th><td>"
                                      : "<tr><th>B</th><td>");
        html_put_text(out, side == 0 ? diff->a_label : diff->b_label);
        rp_buffer_puts(out, "</td><td>");
        {
            struct rp_buffer text;

            rp_buffer_init(&text);
            put_side(&text, side == 0 ? diff->a : diff->b, "→");
            html_put_text(out, text.data ? text.data : "");
            if (text.failed)
                out->failed = true;
            rp_buffer_free(&text);
        }
        rp_buffer_puts(out, "</td></tr>\n");
    }
    rp_buffer_puts(out, "</table>\n<p>");
    put_comparison(out, diff);
    rp_buffer_puts(out, ". Red: B takes longer; green: B takes less.</p>\n"
                        "<div class=\"head\"><span class=\"ms\">A ms</span>"
                        "<span class=\"ms\">B ms</span>"
                        "<span class=\"ms\">B-A</span></div>\n");
    for (size_t i = 0; i < lines.count; i++) {
        const struct diff_line *line = &lines.lines[i];
        size_t next_depth = i + 1 < lines.count ? lines.lines[i + 1].depth : 0;

        if (next_depth > line->depth) {
            rp_buffer_puts(out, "<details open><summary>");
            html_put_row(out, line, scale_ms);
            rp_buffer_puts(out, "</summary><div class=\"kids\">\n");
            continue;
        }
        rp_buffer_puts(out, "<div class=\"row\">");
        html_put_row(out, line, scale_ms);
        rp_buffer_puts(out, "</div>\n");
        for (size_t depth = line->depth; depth > next_depth; depth--)
            rp_buffer_puts(out, "</div></details>\n");
    }
    if (lines.left_out > 0) {
        rp_buffer_puts(out, "<p class=\"note\">");
        put_left_out(out, &lines, threshold);
        rp_buffer_puts(out, ".</p>\n");
    }
    rp_buffer_puts(out, "</body></html>\n");
    diff_lines_free(&lines);
    return out->failed ? -1 : 0;
}
