/*
 * The speedscope rendering: speedscope's own JSON file format
 * (https://www.speedscope.app/file-format-schema.json), which it opens
 * without guessing.
 *
 * A report with a timeline becomes an "evented" profile, so that
 * speedscope's Time Order view shows what the request did in the order it
 * did it: each timeline point covers weight × interval and ends at its
 * time, and its stack is opened and closed around that stretch. A point
 * that would begin before the previous one ended (two threads working on
 * the request at once), or less than an interval after it (sample times
 * jitter), begins where it ended instead, so that each function's time
 * stays exactly its samples × interval. The request
 * itself is the outermost frame, from the first byte to the end, so time
 * in which no sample was taken shows as the request alone.
 *
 * A report without a timeline (a merge of many requests) becomes a
 * "sampled" profile: one sample per node with samples of its own.
 *
 * Frame 0 is the request; frame id + 1 is the tree's frame id.
 */
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "internal.h"
#include "report.h"

/* Decimals of every time: microseconds, as in the JSON report. */
#define SPEEDSCOPE_MS_DECIMALS 3

/* One rendering in progress. */
struct speedscope_renderer {
    struct rp_buffer *out;
    const struct rp_report *report;
    /* The stack now open in the evented profile, outermost first (the
     * root node at 0), and the stack of the next point. */
    const struct rp_calltree_node **open;
    size_t open_depth;
    const struct rp_calltree_node **next;
    size_t capacity;   /* of open and next */
    bool first_item;   /* nothing of the list being written yet: no
                        * comma before the next item */
    bool failed;       /* out of memory outside out */
};

/* The request's name: "GET /burn?ms=60 → 200", or what a merge left. */
static void speedscope_put_request_name(struct rp_buffer *out,
                                        const struct rp_report *report)
{
    char name[RP_REPORT_METHOD_MAX + RP_REPORT_PATH_MAX + 32];
    int length = snprintf(name, sizeof name, "%.*s %.*s",
                          (int)strnlen(report->method, sizeof report->method),
                          report->method,
                          (int)strnlen(report->path, sizeof report->path),
                          report->path);

    if (report->status != 0 && length >= 0 && (size_t)length < sizeof name)
        length += snprintf(name + length, sizeof name - (size_t)length,
                           " \xE2\x86\x92 %d", report->status);
    if (length < 0 || (size_t)length >= sizeof name)
        length = (int)strlen(name);
    rp_json_put_string(out, name, (size_t)length);
}

/* shared.frames: the request, then each frame of the tree with its source
 * file and line where known. */
static void speedscope_put_frames(struct rp_buffer *out,
                                  const struct rp_report *report)
{
    rp_buffer_puts(out, "\"shared\": {\"frames\": [\n  {\"name\": ");
    speedscope_put_request_name(out, report);
    rp_buffer_puts(out, "}");
    for (uint32_t id = 0;; id++) {
        const struct rp_frame *frame = rp_calltree_frame(report->tree, id);

        if (frame == NULL)
            break;
        rp_buffer_puts(out, ",\n  {\"name\": ");
        rp_json_put_string(out, frame->function, strlen(frame->function));
        if (frame->file != NULL) {
            rp_buffer_puts(out, ", \"file\": ");
            rp_json_put_string(out, frame->file, strlen(frame->file));
            if (frame->line > 0) {
                rp_buffer_puts(out, ", \"line\": ");
                rp_buffer_put_int(out, frame->line);
            }
        }
        rp_buffer_puts(out, "}");
    }
    rp_buffer_puts(out, "]},\n");
}

/* The speedscope frame index of node. */
static uint64_t speedscope_frame(const struct rp_calltree_node *node)
{
    return node->parent == NULL ? 0 : (uint64_t)node->frame + 1;
}

/* An event: type "O" (open) or "C" (close) of node's frame at at_ms. */
static void speedscope_put_event(struct speedscope_renderer *renderer,
                                 const char *type,
                                 const struct rp_calltree_node *node,
                                 double at_ms)
{
    struct rp_buffer *out = renderer->out;

    rp_buffer_puts(out, renderer->first_item ? "\n  " : ",\n  ");
    renderer->first_item = false;
    rp_buffer_printf(out, "{\"type\": \"%s\", \"frame\": ", type);
    rp_buffer_put_uint(out, speedscope_frame(node));
    rp_buffer_puts(out, ", \"at\": ");
    rp_buffer_put_decimal(out, at_ms, SPEEDSCOPE_MS_DECIMALS);
    rp_buffer_puts(out, "}");
}

/* Makes room for stacks of depth nodes. */
static bool speedscope_reserve(struct speedscope_renderer *renderer,
                               size_t depth)
{
    size_t capacity = renderer->capacity ? renderer->capacity : 64;
    const struct rp_calltree_node **open, **next;

    if (depth <= renderer->capacity)
        return true;
    while (capacity < depth)
        capacity *= 2;
    open = rp_heap_realloc(renderer->open, capacity * sizeof *open);
    if (open != NULL)
        renderer->open = open;
    next = rp_heap_realloc(renderer->next, capacity * sizeof *next);
    if (next != NULL)
        renderer->next = next;
    if (open == NULL || next == NULL)
        return false;
    renderer->capacity = capacity;
    return true;
}

/* Closes the open frames above depth keep, innermost first, at at_ms. */
static void speedscope_close_to(struct speedscope_renderer *renderer,
                                size_t keep, double at_ms)
{
    while (renderer->open_depth > keep)
        speedscope_put_event(renderer, "C",
                             renderer->open[--renderer->open_depth], at_ms);
}

/* Makes leaf's stack the open one at at_ms: closes what it does not
 * share with the open stack, opens the rest. */
static void speedscope_switch_to(struct speedscope_renderer *renderer,
                                 const struct rp_calltree_node *leaf,
                                 double at_ms)
{
    size_t depth = 0, shared = 0;

    for (const struct rp_calltree_node *node = leaf; node; node = node->parent)
        depth++;
    if (!speedscope_reserve(renderer, depth)) {
        renderer->failed = true;
        return;
    }
    for (size_t i = depth; leaf != NULL; leaf = leaf->parent)
        renderer->next[--i] = leaf;
    while (shared < depth && shared < renderer->open_depth &&
           renderer->open[shared] == renderer->next[shared])
        shared++;
    speedscope_close_to(renderer, shared, at_ms);
    for (; shared < depth; shared++) {
        renderer->open[renderer->open_depth++] = renderer->next[shared];
        speedscope_put_event(renderer, "O", renderer->next[shared], at_ms);
    }
}

/* The evented profile of a report with a timeline. */
static void speedscope_put_evented(struct speedscope_renderer *renderer,
                                   const struct rp_timeline_point *points,
                                   size_t count)
{
    const struct rp_report *report = renderer->report;
    const struct rp_calltree_node *root = rp_calltree_root(report->tree);
    double end_ms = 0;

    rp_buffer_puts(renderer->out, "\"events\": [");
    renderer->first_item = true;
    speedscope_switch_to(renderer, root, 0);
    for (size_t i = 0; i < count && !renderer->failed; i++) {
        double length_ms = points[i].weight * report->interval_ms;
        double start_ms = points[i].time_ns / 1e6 - length_ms;

        /* Sample times jitter: a gap under an interval is none. */
        if (start_ms < end_ms + report->interval_ms)
            start_ms = end_ms;
        /* Between two stretches of samples the request alone is open. */
        if (start_ms > end_ms)
            speedscope_switch_to(renderer, root, end_ms);
        speedscope_switch_to(renderer, points[i].leaf, start_ms);
        end_ms = start_ms + length_ms;
    }
    speedscope_switch_to(renderer, root, end_ms);
    if (report->duration_ms > end_ms)
        end_ms = report->duration_ms;
    speedscope_close_to(renderer, 0, end_ms);
    rp_buffer_puts(renderer->out, "],\n \"startValue\": 0, \"endValue\": ");
    rp_buffer_put_decimal(renderer->out, end_ms, SPEEDSCOPE_MS_DECIMALS);
}

/* The sampled profile's stacks under node (path: frame indices from the
 * root down to node's parent, depth of them), then their weights. */
static void speedscope_put_stacks(struct speedscope_renderer *renderer,
                                  const struct rp_calltree_node *node,
                                  size_t depth)
{
    if (!speedscope_reserve(renderer, depth + 1)) {
        renderer->failed = true;
        return;
    }
    renderer->next[depth] = node;
    if (node->self > 0) {
        rp_buffer_puts(renderer->out, renderer->first_item ? "\n  [" : ",\n  [");
        renderer->first_item = false;
        for (size_t i = 0; i <= depth; i++) {
            if (i > 0)
                rp_buffer_puts(renderer->out, ", ");
            rp_buffer_put_uint(renderer->out, speedscope_frame(renderer->next[i]));
        }
        rp_buffer_puts(renderer->out, "]");
    }
    for (node = node->first_child; node != NULL && !renderer->failed;
         node = node->next_sibling)
        speedscope_put_stacks(renderer, node, depth + 1);
}

static void speedscope_put_weights(struct speedscope_renderer *renderer,
                                   const struct rp_calltree_node *node)
{
    if (node->self > 0) {
        rp_buffer_puts(renderer->out, renderer->first_item ? "" : ", ");
        renderer->first_item = false;
        rp_buffer_put_decimal(renderer->out,
                              node->self * renderer->report->interval_ms,
                              SPEEDSCOPE_MS_DECIMALS);
    }
    for (node = node->first_child; node != NULL; node = node->next_sibling)
        speedscope_put_weights(renderer, node);
}

/* The sampled profile of a report without a timeline. */
static void speedscope_put_sampled(struct speedscope_renderer *renderer)
{
    const struct rp_calltree_node *root =
        rp_calltree_root(renderer->report->tree);

    rp_buffer_puts(renderer->out, "\"samples\": [");
    renderer->first_item = true;
    speedscope_put_stacks(renderer, root, 0);
    rp_buffer_puts(renderer->out, "],\n \"weights\": [");
    renderer->first_item = true;
    speedscope_put_weights(renderer, root);
    rp_buffer_puts(renderer->out, "],\n \"startValue\": 0, \"endValue\": ");
    rp_buffer_put_decimal(renderer->out,
                          root->total * renderer->report->interval_ms,
                          SPEEDSCOPE_MS_DECIMALS);
}

int rp_render_speedscope(const struct rp_report *report, struct rp_buffer *out)
{
    struct speedscope_renderer renderer = {.out = out, .report = report};
    size_t count;
    const struct rp_timeline_point *points =
        rp_calltree_timeline(report->tree, &count);

    rp_buffer_puts(out, "{\"$schema\": "
                        "\"https://www.speedscope.app/file-format-schema.json\",\n"
                        "\"exporter\": \"reqprof");
    if (report->reqprof_version[0] != '\0')
        rp_buffer_printf(out, " %.*s",
                         (int)strnlen(report->reqprof_version,
                                      sizeof report->reqprof_version),
                         report->reqprof_version);
    rp_buffer_puts(out, "\",\n\"name\": ");
    speedscope_put_request_name(out, report);
    rp_buffer_puts(out, ",\n\"activeProfileIndex\": 0,\n");
    speedscope_put_frames(out, report);
    rp_buffer_printf(out, "\"profiles\": [{\"type\": \"%s\", \"name\": ",
                     count > 0 ? "evented" : "sampled");
    speedscope_put_request_name(out, report);
    rp_buffer_puts(out, ", \"unit\": \"milliseconds\",\n ");
    if (count > 0)
        speedscope_put_evented(&renderer, points, count);
    else
        speedscope_put_sampled(&renderer);
    rp_buffer_puts(out, "}]}\n");
    rp_heap_free(renderer.open);
    rp_heap_free(renderer.next);
    if (renderer.failed)
        out->failed = true;
    return out->failed ? -1 : 0;
}
