/*
 * The text rendering, after pyinstrument's console output: a header about
 * the request, then the call tree, one line per node with its time in
 * milliseconds, its function and where that function is:
 *
 *   203.0 [request] GET /burn?ms=200
 *   └─ 203.0 [2 frames hidden] libc.so.6
 *      └─ 203.0 handle_request  test_server.c:88
 *         ├─ 200.0 burn_alpha  test_server.c:40
 *         │  ├─ 150.0 [self]
 *         │  └─ 50.0 burn_beta [inlined]  test_server.c:52
 *         └─ 3.0 [self]
 *
 * Under each node (or fold) the renderer first gathers the lines to print,
 * "items": the children, or a fold's first frames outside the fold; a
 * "[self]" line for the samples that ended in the node itself; then drops
 * those under the threshold and prints the rest heaviest first. A node with
 * children and samples of its own gets its [self] line only when something
 * else is printed under it.
 *
 * Paths and symbols are arbitrary bytes and the output may go to a
 * terminal, so control characters and undecodable bytes are replaced
 * before they are printed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap.h"
#include "internal.h"
#include "report.h"

/* Source paths up to this long are shown whole; longer ones by base name. */
#define TEXT_PATH_SHORT 40
/* Decimals of a node's milliseconds, as in "200.0". */
#define TEXT_MS_DECIMALS 1
/* The header's second line starts under the first line's "Recorded" (and
 * the "Shared:" line's second under its text). */
#define TEXT_HEADER_INDENT "         "
/* Where the header's right column starts: after "...2026-11-21 13:16:00". */
#define TEXT_HEADER_COLUMN 38

static const struct rp_text_glyphs unicode_glyphs = {
    "├─ ", "└─ ", "│  ", "   ", "→", RP_UTF8_REPLACEMENT, "…",
};

static const struct rp_text_glyphs ascii_glyphs = {
    "|- ", "`- ", "|  ", "   ", "->", "?", "...",
};

const struct rp_text_glyphs *rp_text_glyphs(bool unicode)
{
    return unicode ? &unicode_glyphs : &ascii_glyphs;
}

/* One rendering in progress. */
struct text_renderer {
    struct rp_buffer *out;            /* where the text goes */
    const struct rp_calltree *tree;   /* the report's tree */
    const struct rp_text_glyphs *glyphs; /* Unicode or ASCII */
    bool color;                       /* add ANSI styles */
    bool fold_libraries;              /* fold runs of library frames */
    const char *program;              /* the report's program, for folding */
    double interval_ms;               /* milliseconds per sample */
    uint64_t request_total;           /* the root's samples: 100% */
    double threshold_samples;         /* lines under this are left out */
    uint64_t frames_left_out;         /* nodes not printed for it */
    struct rp_buffer margin;          /* what precedes the current branch */
    struct rp_buffer name;            /* the function's name as shown */
};

/* What one line under a node or a fold stands for. */
enum text_item_kind {
    ITEM_NODE, /* a node and its subtree */
    ITEM_FOLD, /* a run of library frames, from node down */
    ITEM_SELF, /* the samples that ended in the parent itself */
};

struct text_item {
    enum text_item_kind kind;
    const struct rp_calltree_node *node; /* NULL for ITEM_SELF */
    uint64_t total;                      /* samples the line shows */
    size_t order; /* when it was found: ties keep the tree's order */
};

/* The lines under one node or fold, gathered before they are printed. */
struct text_items {
    struct text_item *items;
    size_t count;
    size_t capacity;
    bool failed; /* out of memory: some items are missing */
};

/* What a fold hides, to name it on its line. */
struct text_fold {
    uint64_t frames;              /* library frames in the run */
    uint64_t self;                /* samples that ended in one of them */
    struct rp_string_set objects; /* their objects, as first met */
};

static void text_style(struct text_renderer *renderer, const char *style)
{
    if (renderer->color)
        rp_buffer_puts(renderer->out, style);
}

static void text_put_printable(struct text_renderer *renderer,
                               const char *text, size_t length)
{
    rp_buffer_put_printable(renderer->out, text, length,
                            renderer->glyphs->replacement);
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
    char *out;

    if (used >= width || (out = rp_buffer_reserve(renderer->out,
                                                   width - used)) == NULL)
        return;
    memset(out, ' ', width - used);
    rp_buffer_commit(renderer->out, width - used);
}

/* Appends a time of samples in milliseconds, coloured by its share. */
static void text_put_time(struct text_renderer *renderer, uint64_t samples)
{
    double share = renderer->request_total
                       ? (double)samples / (double)renderer->request_total
                       : 0;

    /* pyinstrument's thresholds: the eye goes to the red lines first. */
    if (share >= 0.6)
        text_style(renderer, RP_STYLE_RED);
    else if (share >= 0.2)
        text_style(renderer, RP_STYLE_YELLOW);
    else if (share >= 0.05)
        text_style(renderer, RP_STYLE_GREEN);
    else
        text_style(renderer, RP_STYLE_DIM);
    rp_buffer_put_decimal(renderer->out,
                          (double)samples * renderer->interval_ms,
                          TEXT_MS_DECIMALS);
    text_style(renderer, RP_STYLE_RESET);
    rp_buffer_puts(renderer->out, " ");
}

void rp_text_put_frame(struct rp_buffer *out, struct rp_buffer *scratch,
                       const struct rp_frame *frame, bool color,
                       const struct rp_text_glyphs *glyphs)
{
    const char *replacement = glyphs->replacement;

    if (color)
        rp_buffer_puts(out, rp_frame_is_shared(frame) ? RP_STYLE_DIM
                                                      : RP_STYLE_BOLD);
    rp_buffer_reset(scratch);
    rp_function_name_put_short(scratch, frame->function, glyphs->ellipsis);
    if (scratch->failed)
        out->failed = true;
    else if (scratch->length > 0)
        rp_buffer_put_printable(out, scratch->data, scratch->length, replacement);
    if (color)
        rp_buffer_puts(out, RP_STYLE_RESET);
    if (frame->inlined) {
        if (color)
            rp_buffer_puts(out, RP_STYLE_DIM);
        rp_buffer_puts(out, " " RP_INLINED_MARK);
        if (color)
            rp_buffer_puts(out, RP_STYLE_RESET);
    }
    if (frame->file == NULL && frame->object == NULL)
        return;
    rp_buffer_puts(out, "  ");
    if (color)
        rp_buffer_puts(out, RP_STYLE_DIM);
    if (frame->file != NULL) {
        const char *slash = strrchr(frame->file, '/');
        bool is_long = strlen(frame->file) > TEXT_PATH_SHORT;
        const char *shown = is_long && slash ? slash + 1 : frame->file;

        rp_buffer_put_printable(out, shown, strlen(shown), replacement);
        if (frame->line > 0) {
            rp_buffer_puts(out, ":");
            rp_buffer_put_int(out, frame->line);
        }
    } else {
        rp_buffer_put_printable(out, frame->object, strlen(frame->object),
                                replacement);
    }
    if (color)
        rp_buffer_puts(out, RP_STYLE_RESET);
}

static void text_put_frame(struct text_renderer *renderer,
                           const struct rp_frame *frame)
{
    rp_text_put_frame(renderer->out, &renderer->name, frame, renderer->color,
                      renderer->glyphs);
}

/*
 * Ends the line of a node (or of the fold that starts at it) that spent
 * most of its time off the CPU with "  [waited 97%]": the share of its
 * samples that waited (blocked in a call, or ready but not running).
 * Nothing when the report does not know (older than version 6).
 */
static void text_put_waited(struct text_renderer *renderer,
                            const struct rp_calltree_node *node)
{
    if (!rp_calltree_cpu_known(renderer->tree) || node->total == 0 ||
        !rp_node_mostly_waited(node))
        return;
    rp_buffer_puts(renderer->out, "  ");
    text_style(renderer, RP_STYLE_DIM);
    rp_buffer_puts(renderer->out, "[waited ");
    rp_buffer_put_decimal(renderer->out,
                          100.0 * (double)(node->total - node->cpu_total) / (double)node->total,
                          0);
    rp_buffer_puts(renderer->out, "%]");
    text_style(renderer, RP_STYLE_RESET);
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

/* Whether node is a library frame that a fold may hide. */
static bool text_is_hidden(const struct text_renderer *renderer,
                           const struct rp_calltree_node *node)
{
    return renderer->fold_libraries && node->frame != RP_FRAME_ROOT &&
           (double)node->self <
               RP_TEXT_FOLD_KEEP * (double)renderer->request_total &&
           rp_frame_is_library(rp_calltree_frame(renderer->tree, node->frame),
                               renderer->program);
}

/* Whether a fold starts at node: one hidden frame calling another. A lone
 * library frame is shown as it is, which is shorter than its fold. */
static bool text_starts_fold(const struct text_renderer *renderer,
                             const struct rp_calltree_node *node)
{
    if (!text_is_hidden(renderer, node))
        return false;
    for (const struct rp_calltree_node *child = node->first_child; child;
         child = child->next_sibling) {
        if (text_is_hidden(renderer, child))
            return true;
    }
    return false;
}

static void items_push(struct text_items *list, enum text_item_kind kind,
                       const struct rp_calltree_node *node, uint64_t total)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 8;
        struct text_item *items =
            rp_heap_realloc(list->items, capacity * sizeof *items);

        if (items == NULL) {
            list->failed = true;
            return;
        }
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count] = (struct text_item){kind, node, total,
                                                  list->count};
    list->count++;
}

/* The item a node is under its parent: itself, or the fold it starts. */
static void items_push_node(const struct text_renderer *renderer,
                            struct text_items *list,
                            const struct rp_calltree_node *node)
{
    items_push(list, text_starts_fold(renderer, node) ? ITEM_FOLD : ITEM_NODE,
               node, node->total);
}

/*
 * Takes the hidden node into the fold and gathers what the fold shows
 * below it: the first frame that is not hidden on each path out of it.
 */
static void fold_gather(const struct text_renderer *renderer,
                        struct text_fold *fold, struct text_items *list,
                        const struct rp_calltree_node *node)
{
    fold->frames++;
    fold->self += node->self;
    rp_string_set_add(&fold->objects,
                      rp_calltree_frame(renderer->tree, node->frame)->object);
    for (const struct rp_calltree_node *child = node->first_child; child;
         child = child->next_sibling) {
        if (text_is_hidden(renderer, child))
            fold_gather(renderer, fold, list, child);
        else
            items_push(list, ITEM_NODE, child, child->total);
    }
}

/* Heaviest first; among equals, [self] last and the rest as found. */
static int item_compare(const void *a, const void *b)
{
    const struct text_item *x = a, *y = b;

    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    if ((x->kind == ITEM_SELF) != (y->kind == ITEM_SELF))
        return x->kind == ITEM_SELF ? 1 : -1;
    return (x->order > y->order) - (x->order < y->order);
}

/*
 * Drops the items under the threshold, counting the frames they hold, and
 * the [self] item when it would be alone; sorts the rest.
 */
static void items_select(struct text_renderer *renderer,
                         struct text_items *list)
{
    size_t kept = 0;

    for (size_t i = 0; i < list->count; i++) {
        struct text_item *item = &list->items[i];

        /* An empty [self] says nothing; an empty node can still be
         * shown, when nothing is left out. */
        if ((double)item->total >= renderer->threshold_samples &&
            (item->kind != ITEM_SELF || item->total > 0)) {
            list->items[kept++] = *item;
            continue;
        }
        if (item->kind != ITEM_SELF)
            renderer->frames_left_out += rp_calltree_subtree_size(item->node);
    }
    if (kept == 1 && list->items[0].kind == ITEM_SELF)
        kept = 0;
    list->count = kept;
    /* An empty list may have no array at all, and qsort's must not be
     * NULL even for no items. */
    if (kept > 1)
        qsort(list->items, list->count, sizeof *list->items, item_compare);
}

static void text_node(struct text_renderer *renderer,
                      const struct rp_calltree_node *node, bool last);
static void text_fold(struct text_renderer *renderer,
                      const struct rp_calltree_node *node, bool last);

/*
 * Selects and prints the lines gathered under a node or fold. The
 * recursion is as deep as the tree, which the unwinder's frame limit (or,
 * for a tree read from JSON, the reader's nesting limit) bounds.
 */
static void text_items(struct text_renderer *renderer, struct text_items *list)
{
    if (list->failed)
        renderer->out->failed = true;
    items_select(renderer, list);
    for (size_t i = 0; i < list->count; i++) {
        const struct text_item *item = &list->items[i];
        bool last = i + 1 == list->count;

        if (item->kind == ITEM_NODE) {
            text_node(renderer, item->node, last);
        } else if (item->kind == ITEM_FOLD) {
            text_fold(renderer, item->node, last);
        } else {
            text_line_start(renderer, last);
            text_put_time(renderer, item->total);
            rp_buffer_puts(renderer->out, "[self]\n");
        }
    }
    rp_heap_free(list->items);
}

/* Prints the items under the line just printed, one margin further in. */
static void text_below(struct text_renderer *renderer, struct text_items *list,
                       bool last)
{
    size_t margin_length = renderer->margin.length;

    rp_buffer_puts(&renderer->margin, last ? renderer->glyphs->blank
                                           : renderer->glyphs->vertical);
    text_items(renderer, list);
    rp_buffer_truncate(&renderer->margin, margin_length);
}

/* The lines under a node: its children, and its [self]. */
static void text_gather_children(const struct text_renderer *renderer,
                                 struct text_items *list,
                                 const struct rp_calltree_node *node)
{
    for (const struct rp_calltree_node *child = node->first_child; child;
         child = child->next_sibling)
        items_push_node(renderer, list, child);
    if (node->first_child != NULL)
        items_push(list, ITEM_SELF, NULL, node->self);
}

/* Appends a node's line and its subtree's. */
static void text_node(struct text_renderer *renderer,
                      const struct rp_calltree_node *node, bool last)
{
    struct text_items list = {0};

    text_line_start(renderer, last);
    text_put_time(renderer, node->total);
    text_put_frame(renderer, rp_calltree_frame(renderer->tree, node->frame));
    text_put_waited(renderer, node);
    rp_buffer_puts(renderer->out, "\n");
    text_gather_children(renderer, &list, node);
    text_below(renderer, &list, last);
}

/* Appends a fold's line, "[3 frames hidden] libc.so.6", and what it calls. */
static void text_fold(struct text_renderer *renderer,
                      const struct rp_calltree_node *node, bool last)
{
    struct text_items list = {0};
    struct text_fold fold = {0};

    fold_gather(renderer, &fold, &list, node);
    items_push(&list, ITEM_SELF, NULL, fold.self);
    text_line_start(renderer, last);
    text_put_time(renderer, node->total);
    text_style(renderer, RP_STYLE_DIM);
    rp_buffer_puts(renderer->out, "[");
    rp_buffer_put_uint(renderer->out, fold.frames);
    rp_buffer_puts(renderer->out, " frames hidden]");
    for (size_t i = 0; i < fold.objects.count; i++) {
        rp_buffer_puts(renderer->out, i == 0 ? " " : ", ");
        text_puts_printable(renderer, fold.objects.items[i]);
    }
    text_style(renderer, RP_STYLE_RESET);
    text_put_waited(renderer, node);
    rp_buffer_puts(renderer->out, "\n");
    if (fold.objects.failed)
        renderer->out->failed = true;
    rp_string_set_free(&fold.objects);
    text_below(renderer, &list, last);
}

/* The root's line names the request instead of a location. */
static void text_root(struct text_renderer *renderer,
                      const struct rp_report *report)
{
    const struct rp_calltree_node *root = rp_calltree_root(report->tree);
    struct text_items list = {0};

    text_put_time(renderer, root->total);
    text_put_frame(renderer, rp_calltree_frame(report->tree, root->frame));
    if (report->method[0] != '\0') {
        rp_buffer_puts(renderer->out, " ");
        text_put_array(renderer, report->method);
        rp_buffer_puts(renderer->out, " ");
        text_put_array(renderer, report->path);
    }
    rp_buffer_puts(renderer->out, "\n");
    text_gather_children(renderer, &list, root);
    text_items(renderer, &list);
}

/* Says what the threshold left out, so nobody wonders where time went. */
static void text_footer(struct text_renderer *renderer, double threshold)
{
    double percent = threshold * 100;
    double fraction = percent - (double)(long long)percent;

    if (renderer->frames_left_out == 0)
        return;
    rp_buffer_puts(renderer->out, "\n");
    rp_buffer_put_uint(renderer->out, renderer->frames_left_out);
    rp_buffer_puts(renderer->out,
                   renderer->frames_left_out == 1 ? " frame under "
                                                  : " frames under ");
    /* "1%", or "0.5%" when a whole number won't do. */
    rp_buffer_put_decimal(renderer->out, percent, fraction > 1e-9 ? 1 : 0);
    rp_buffer_puts(renderer->out, "% of the request not shown "
                                  "(REQPROF_SHOW_ALL=1 shows every frame)\n");
}

/* Appends the sampling interval: "1.0", or "0.250" when tenths won't do. */
static void text_put_interval(struct text_renderer *renderer, double interval)
{
    long long tenths = (long long)(interval * 10 + 0.5);

    rp_buffer_put_decimal(renderer->out, interval,
                          (double)tenths / 10 == interval ? 1 : 3);
}

/*
 * The line that says how much of the report is shared with other requests,
 * when some is: a reader must not take those samples for the request's own.
 */
static void text_shared(struct text_renderer *renderer,
                        const struct rp_report *report)
{
    struct rp_buffer *out = renderer->out;
    bool marked = rp_shared_is_marked(report->shared_samples, report->samples);

    if (report->shared_samples == 0)
        return;
    rp_buffer_puts(out, "Shared:  ");
    text_style(renderer, marked ? RP_STYLE_YELLOW : RP_STYLE_DIM);
    rp_buffer_put_decimal(out, (double)report->shared_samples *
                                   report->interval_ms, TEXT_MS_DECIMALS);
    rp_buffer_puts(out, " ms (");
    rp_buffer_put_decimal(out, 100 * rp_shared_share(report->shared_samples,
                                                     report->samples), 1);
    rp_buffer_puts(out, "%)");
    text_style(renderer, RP_STYLE_RESET);
    rp_buffer_puts(out, " under [shared: N requests]: the bytes could not tell "
                        "which of N requests\n"
                        TEXT_HEADER_INDENT "this work was for, so its samples "
                        "are split evenly between them\n");
}

/* What the request waited on, a line per peer and kind of call. */
static void text_waits(struct text_renderer *renderer, const struct rp_report *report)
{
    for (unsigned i = 0; i < report->wait_count; i++) {
        rp_buffer_puts(renderer->out, i == 0 ? "Waited:  " : TEXT_HEADER_INDENT);
        rp_report_wait_describe(renderer->out, &report->waits[i]);
        rp_buffer_puts(renderer->out, "\n");
    }
}

static void text_header(struct text_renderer *renderer,
                        const struct rp_report *report)
{
    struct rp_buffer *out = renderer->out;
    time_t seconds = (time_t)(report->start_unix_us / 1000000);
    char recorded[32] = "unknown";
    struct tm local;
    size_t start;
    bool merged = report->requests > 1;

    if (localtime_r(&seconds, &local) != NULL)
        strftime(recorded, sizeof recorded, "%Y-%m-%d %H:%M:%S", &local);

    start = out->length;
    rp_buffer_puts(out, RP_REPORT_TEXT_MAGIC " Recorded: ");
    rp_buffer_puts(out, recorded);
    text_pad(renderer, start, TEXT_HEADER_COLUMN);
    rp_buffer_puts(out, "  Samples:  ");
    rp_buffer_put_uint(out, report->samples);
    rp_buffer_puts(out, " (every ");
    text_put_interval(renderer, report->interval_ms);
    rp_buffer_puts(out, " ms");
    if (report->samples_dropped > 0) {
        rp_buffer_puts(out, ", ");
        rp_buffer_put_uint(out, report->samples_dropped);
        rp_buffer_puts(out, " dropped");
    }
    rp_buffer_puts(out, ")\n");

    start = out->length;
    rp_buffer_puts(out, TEXT_HEADER_INDENT "Duration: ");
    rp_buffer_put_decimal(out, report->duration_ms, TEXT_MS_DECIMALS);
    rp_buffer_puts(out, " ms");
    text_pad(renderer, start, TEXT_HEADER_COLUMN);
    rp_buffer_puts(out, "  CPU time: ");
    if (report->cpu_measured) {
        rp_buffer_put_decimal(out, report->cpu_ms, TEXT_MS_DECIMALS);
        rp_buffer_puts(out, " ms");
    } else {
        rp_buffer_puts(out, "not measured (no sample)");
    }
    if (rp_calltree_cpu_known(report->tree) && report->samples > 0) {
        const struct rp_calltree_node *root = rp_calltree_root(report->tree);
        rp_buffer_puts(out, " (");
        rp_buffer_put_uint(out, root->cpu_total);
        rp_buffer_puts(out, " of the samples ran, ");
        rp_buffer_put_uint(out, root->total - root->cpu_total);
        rp_buffer_puts(out, " waited)");
    }
    rp_buffer_puts(out, "\n\nProgram: ");
    /* A merge of requests blanks what they do not share. */
    if (merged && report->program[0] == '\0')
        rp_buffer_puts(out, "several");
    else
        text_put_array(renderer, report->program);
    if (merged && report->pid == 0)
        rp_buffer_puts(out, " (several processes)");
    else {
        rp_buffer_puts(out, " (pid ");
        rp_buffer_put_int(out, report->pid);
        rp_buffer_puts(out, ")");
    }
    /* Unknown for reports read from before reports said it. */
    if (report->reqprof_version[0] != '\0') {
        rp_buffer_puts(out, " under reqprof ");
        text_put_array(renderer, report->reqprof_version);
    }
    if (merged) {
        rp_buffer_puts(out, "\nRequests: ");
        rp_buffer_put_uint(out, report->requests);
        rp_buffer_puts(out, " merged, ");
    } else
        rp_buffer_puts(out, "\nRequest: ");
    text_put_array(renderer, report->method);
    rp_buffer_puts(out, " ");
    text_put_array(renderer, report->path);
    rp_buffer_puts(out, " ");
    rp_buffer_puts(out, renderer->glyphs->arrow);
    rp_buffer_puts(out, " ");
    if (report->status != 0)
        rp_buffer_put_int(out, report->status);
    else
        rp_buffer_puts(out, merged ? "several statuses" : "no response");
    rp_buffer_puts(out, " (");
    rp_buffer_put_uint(out, report->request_bytes);
    rp_buffer_puts(out, " bytes in, ");
    rp_buffer_put_uint(out, report->response_bytes);
    rp_buffer_puts(out, merged ? " bytes out in all)\n" : " bytes out)\n");
    text_waits(renderer, report);
    text_shared(renderer, report);
    rp_buffer_puts(out, "\n");
}

int rp_render_text(const struct rp_report *report,
                   const struct rp_text_options *options,
                   struct rp_buffer *out)
{
    uint64_t request_total = rp_calltree_root(report->tree)->total;
    struct text_renderer renderer = {
        .out = out,
        .tree = report->tree,
        .glyphs = rp_text_glyphs(options->unicode),
        .color = options->color,
        .fold_libraries = options->fold_libraries,
        .program = report->program,
        .interval_ms = report->interval_ms,
        .request_total = request_total,
        .threshold_samples = options->threshold * (double)request_total,
    };

    rp_buffer_init(&renderer.margin);
    rp_buffer_init(&renderer.name);
    text_header(&renderer, report);
    text_root(&renderer, report);
    text_footer(&renderer, options->threshold);
    /* A margin that could not grow means lines are missing their margin. */
    if (renderer.margin.failed)
        out->failed = true;
    rp_buffer_free(&renderer.margin);
    rp_buffer_free(&renderer.name);
    return out->failed ? -1 : 0;
}
