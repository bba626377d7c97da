/*
 * The text rendering, after pyinstrument's console output: a header about
 * the request, then the call tree, one line per node with its time in
 * milliseconds, its function and where that function is:
 *
 *   203.0 [request] GET /burn?ms=200
 *   └─ 203.0 handle_request  test_server.c:88
 *      ├─ 200.0 burn_alpha  test_server.c:40
 *      │  ├─ 150.0 [self]
 *      │  └─ 50.0 burn_beta  test_server.c:52
 *      └─ 3.0 [self]
 *
 * A node with children and samples of its own gets a "[self]" line for
 * those, placed among the children by its time. Paths and symbols are
 * arbitrary bytes and the output may go to a terminal, so control
 * characters and undecodable bytes are replaced before they are printed.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "report.h"

/* Source paths up to this long are shown whole; longer ones by base name. */
#define TEXT_PATH_SHORT 40
/* Decimals of a node's milliseconds, as in "200.0". */
#define TEXT_MS_DECIMALS 1
/* The header's second line starts under the first line's "Recorded". */
#define TEXT_HEADER_INDENT "         "
/* Where the header's right column starts: after "...2026-11-21 13:16:00". */
#define TEXT_HEADER_COLUMN 38

/* ANSI styles, used only when the options ask for colour. */
#define STYLE_RED "\033[31m"
#define STYLE_YELLOW "\033[33m"
#define STYLE_GREEN "\033[32m"
#define STYLE_BOLD "\033[1m"
#define STYLE_DIM "\033[2m"
#define STYLE_RESET "\033[0m"

/* The characters that draw the tree and the header, in one character set. */
struct text_glyphs {
    const char *branch;      /* before a node that has later siblings */
    const char *last_branch; /* before a node that has none */
    const char *vertical;    /* margin below a node with later siblings */
    const char *blank;       /* margin below a node without */
    const char *arrow;       /* between the request and its status */
    const char *replacement; /* for bytes that must not be printed */
};

static const struct text_glyphs unicode_glyphs = {
    "├─ ", "└─ ", "│  ", "   ", "→", RP_UTF8_REPLACEMENT,
};

static const struct text_glyphs ascii_glyphs = {
    "|- ", "`- ", "|  ", "   ", "->", "?",
};

/* One rendering in progress. */
struct text_renderer {
    struct rp_buffer *out;            /* where the text goes */
    const struct rp_calltree *tree;   /* the report's tree */
    const struct text_glyphs *glyphs; /* Unicode or ASCII */
    bool color;                       /* add ANSI styles */
    double interval_ms;               /* milliseconds per sample */
    uint64_t request_total;           /* the root's samples: 100% */
    struct rp_buffer margin;          /* what precedes the current branch */
};

static void text_style(struct text_renderer *renderer, const char *style)
{
    if (renderer->color)
        rp_buffer_puts(renderer->out, style);
}

/*
 * Appends text (length bytes), replacing what would upset a terminal:
 * control characters (C0, DEL and C1, which can start escape sequences)
 * and bytes that are not UTF-8.
 */
static void text_put_printable(struct text_renderer *renderer,
                               const char *text, size_t length)
{
    size_t run = 0; /* bytes before i that can be copied as they are */

    for (size_t i = 0; i < length;) {
        uint32_t codepoint;
        size_t size = rp_utf8_decode(text + i, length - i, &codepoint);

        if (size != 0 && !rp_unicode_is_control(codepoint)) {
            run += size;
            i += size;
            continue;
        }
        rp_buffer_append(renderer->out, text + i - run, run);
        rp_buffer_puts(renderer->out, renderer->glyphs->replacement);
        run = 0;
        i += size ? size : 1;
    }
    rp_buffer_append(renderer->out, text + length - run, run);
}

static void text_puts_printable(struct text_renderer *renderer,
                                const char *text)
{
    text_put_printable(renderer, text, strlen(text));
}

/* Appends one of the report's char arrays, which may lack its NUL. */
#define text_put_array(renderer, array)                                      \
    text_put_printable((renderer), (array), strnlen((array), sizeof(array)))

/* Appends spaces up to column width of the line that began at start. */
static void text_pad(struct text_renderer *renderer, size_t start, size_t width)
{
    size_t used = renderer->out->length - start;
    int padding = used < width ? (int)(width - used) : 0;

    rp_buffer_printf(renderer->out, "%*s", padding, "");
}

/* Appends a time of samples in milliseconds, coloured by its share. */
static void text_put_time(struct text_renderer *renderer, uint64_t samples)
{
    double share = renderer->request_total
                       ? (double)samples / (double)renderer->request_total
                       : 0;

    /* pyinstrument's thresholds: the eye goes to the red lines first. */
    if (share >= 0.6)
        text_style(renderer, STYLE_RED);
    else if (share >= 0.2)
        text_style(renderer, STYLE_YELLOW);
    else if (share >= 0.05)
        text_style(renderer, STYLE_GREEN);
    else
        text_style(renderer, STYLE_DIM);
    rp_buffer_put_decimal(renderer->out,
                          (double)samples * renderer->interval_ms,
                          TEXT_MS_DECIMALS);
    text_style(renderer, STYLE_RESET);
    rp_buffer_puts(renderer->out, " ");
}

/* Appends "function  location": the source file if known, else the object. */
static void text_put_frame(struct text_renderer *renderer,
                           const struct rp_frame *frame)
{
    text_style(renderer, STYLE_BOLD);
    text_puts_printable(renderer, frame->function);
    text_style(renderer, STYLE_RESET);
    if (frame->file == NULL && frame->object == NULL)
        return;
    rp_buffer_puts(renderer->out, "  ");
    text_style(renderer, STYLE_DIM);
    if (frame->file != NULL) {
        const char *slash = strrchr(frame->file, '/');
        bool is_long = strlen(frame->file) > TEXT_PATH_SHORT;

        text_puts_printable(renderer,
                            is_long && slash ? slash + 1 : frame->file);
        if (frame->line > 0)
            rp_buffer_printf(renderer->out, ":%d", frame->line);
    } else {
        text_puts_printable(renderer, frame->object);
    }
    text_style(renderer, STYLE_RESET);
}

/* Starts a tree line: the margin, then the branch to this node. */
static void text_line_start(struct text_renderer *renderer, bool last)
{
    if (renderer->margin.length > 0)
        rp_buffer_append(renderer->out, renderer->margin.data,
                         renderer->margin.length);
    rp_buffer_puts(renderer->out, last ? renderer->glyphs->last_branch
                                       : renderer->glyphs->branch);
}

static void text_self_line(struct text_renderer *renderer, uint64_t self,
                           bool last)
{
    text_line_start(renderer, last);
    text_put_time(renderer, self);
    rp_buffer_puts(renderer->out, "[self]\n");
}

static void text_node(struct text_renderer *renderer,
                      const struct rp_calltree_node *node, bool last);

/*
 * Appends the lines of node's children (node has some), with its [self]
 * line among them by time: before the first lighter child, as the children
 * are sorted. Folding library frames into one line will go here too.
 */
static void text_children(struct text_renderer *renderer,
                          const struct rp_calltree_node *node)
{
    bool self_pending = node->self > 0;

    for (const struct rp_calltree_node *child = node->first_child; child;
         child = child->next_sibling) {
        if (self_pending && node->self > child->total) {
            text_self_line(renderer, node->self, false);
            self_pending = false;
        }
        text_node(renderer, child,
                  child->next_sibling == NULL && !self_pending);
    }
    if (self_pending)
        text_self_line(renderer, node->self, true);
}

/*
 * Appends a node's line and its subtree's. The recursion is as deep as the
 * tree, which the unwinder's frame limit (or, for a tree read from JSON,
 * the reader's nesting limit) bounds.
 */
static void text_node(struct text_renderer *renderer,
                      const struct rp_calltree_node *node, bool last)
{
    size_t margin_length = renderer->margin.length;

    text_line_start(renderer, last);
    text_put_time(renderer, node->total);
    text_put_frame(renderer, rp_calltree_frame(renderer->tree, node->frame));
    rp_buffer_puts(renderer->out, "\n");
    if (node->first_child == NULL)
        return;
    rp_buffer_puts(&renderer->margin, last ? renderer->glyphs->blank
                                           : renderer->glyphs->vertical);
    text_children(renderer, node);
    rp_buffer_truncate(&renderer->margin, margin_length);
}

/* The root's line names the request instead of a location. */
static void text_root(struct text_renderer *renderer,
                      const struct rp_report *report)
{
    const struct rp_calltree_node *root = rp_calltree_root(report->tree);

    text_put_time(renderer, root->total);
    text_put_frame(renderer, rp_calltree_frame(report->tree, root->frame));
    if (report->method[0] != '\0') {
        rp_buffer_puts(renderer->out, " ");
        text_put_array(renderer, report->method);
        rp_buffer_puts(renderer->out, " ");
        text_put_array(renderer, report->path);
    }
    rp_buffer_puts(renderer->out, "\n");
    if (root->first_child != NULL)
        text_children(renderer, root);
}

/* Appends the sampling interval: "1.0", or "0.250" when tenths won't do. */
static void text_put_interval(struct text_renderer *renderer, double interval)
{
    long long tenths = (long long)(interval * 10 + 0.5);

    rp_buffer_put_decimal(renderer->out, interval,
                          (double)tenths / 10 == interval ? 1 : 3);
}

static void text_header(struct text_renderer *renderer,
                        const struct rp_report *report)
{
    struct rp_buffer *out = renderer->out;
    time_t seconds = (time_t)(report->start_unix_us / 1000000);
    char recorded[32] = "unknown";
    struct tm local;
    size_t start;

    if (localtime_r(&seconds, &local) != NULL)
        strftime(recorded, sizeof recorded, "%Y-%m-%d %H:%M:%S", &local);

    start = out->length;
    rp_buffer_printf(out, RP_REPORT_TEXT_MAGIC " Recorded: %s", recorded);
    text_pad(renderer, start, TEXT_HEADER_COLUMN);
    rp_buffer_printf(out, "  Samples:  %" PRIu64 " (every ", report->samples);
    text_put_interval(renderer, report->interval_ms);
    rp_buffer_puts(out, " ms");
    if (report->samples_dropped > 0)
        rp_buffer_printf(out, ", %" PRIu64 " dropped", report->samples_dropped);
    rp_buffer_puts(out, ")\n");

    start = out->length;
    rp_buffer_puts(out, TEXT_HEADER_INDENT "Duration: ");
    rp_buffer_put_decimal(out, report->duration_ms, TEXT_MS_DECIMALS);
    rp_buffer_puts(out, " ms");
    text_pad(renderer, start, TEXT_HEADER_COLUMN);
    rp_buffer_puts(out, "  CPU time: ");
    rp_buffer_put_decimal(out, report->cpu_ms, TEXT_MS_DECIMALS);
    rp_buffer_puts(out, " ms\n\nProgram: ");
    text_put_array(renderer, report->program);
    rp_buffer_printf(out, " (pid %d)\nRequest: ", report->pid);
    text_put_array(renderer, report->method);
    rp_buffer_puts(out, " ");
    text_put_array(renderer, report->path);
    rp_buffer_printf(out, " %s ", renderer->glyphs->arrow);
    if (report->status != 0)
        rp_buffer_printf(out, "%d", report->status);
    else
        rp_buffer_puts(out, "no response");
    rp_buffer_printf(out,
                     " (%" PRIu64 " bytes in, %" PRIu64 " bytes out)\n\n",
                     report->request_bytes, report->response_bytes);
}

int rp_render_text(const struct rp_report *report,
                   const struct rp_text_options *options,
                   struct rp_buffer *out)
{
    struct text_renderer renderer = {
        .out = out,
        .tree = report->tree,
        .glyphs = options->unicode ? &unicode_glyphs : &ascii_glyphs,
        .color = options->color,
        .interval_ms = report->interval_ms,
        .request_total = rp_calltree_root(report->tree)->total,
    };

    rp_buffer_init(&renderer.margin);
    text_header(&renderer, report);
    text_root(&renderer, report);
    /* A margin that could not grow means lines are missing their margin. */
    if (renderer.margin.failed)
        out->failed = true;
    rp_buffer_free(&renderer.margin);
    return out->failed ? -1 : 0;
}
