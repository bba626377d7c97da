/*
 * The JSON rendering: the report's source of truth (docs/report-format.md).
 *
 * The output is always valid JSON and valid UTF-8, whatever bytes the path
 * or the symbols hold, and is byte-for-byte the same for the same report,
 * so that reading it back and rendering again reproduces it exactly. Each
 * node starts a line indented by its depth, which keeps the file readable
 * without making it much larger.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "internal.h"
#include "report.h"

/* Indentation stops growing here, so a very deep tree stays linear in size. */
#define JSON_INDENT_MAX 64
/* Decimals of every millisecond value: microseconds. */
#define JSON_MS_DECIMALS 3
/* Timeline points per line. */
#define JSON_POINTS_PER_LINE 8

/* What starts a node's line: a newline and a space, then its indentation;
 * a node at depth d takes the first min(d, JSON_INDENT_MAX) + 2 bytes. */
static const char json_line_start[] =
    "\n " "                                                                ";
_Static_assert(sizeof json_line_start == JSON_INDENT_MAX + 3,
               "a newline and JSON_INDENT_MAX + 1 spaces");

/*
 * Control characters, DEL and the C1 controls are escaped although JSON
 * only requires it of the first: then the file is safe to cat to a
 * terminal.
 */
void rp_json_put_string(struct rp_buffer *out, const char *text,
                        size_t length)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0; /* bytes before i that can be copied as they are */

    rp_buffer_puts(out, "\"");
    for (size_t i = 0; i < length;) {
        const char *escape = NULL;
        char control[7] = "\\u00";
        uint32_t codepoint;
        size_t size = rp_utf8_decode(text + i, length - i, &codepoint);

        if (size == 0) {
            escape = RP_UTF8_REPLACEMENT;
            size = 1;
        } else if (codepoint == '"') {
            escape = "\\\"";
        } else if (codepoint == '\\') {
            escape = "\\\\";
        } else if (codepoint == '\n') {
            escape = "\\n";
        } else if (codepoint == '\t') {
            escape = "\\t";
        } else if (rp_unicode_is_control(codepoint)) {
            control[4] = hex[codepoint >> 4];
            control[5] = hex[codepoint & 0xF];
            escape = control;
        }
        if (escape == NULL) {
            run += size;
        } else {
            rp_buffer_append(out, text + i - run, run);
            rp_buffer_puts(out, escape);
            run = 0;
        }
        i += size;
    }
    rp_buffer_append(out, text + length - run, run);
    rp_buffer_puts(out, "\"");
}

/* Appends a NUL-terminated string, or null for NULL. */
static void json_put_optional(struct rp_buffer *out, const char *text)
{
    if (text == NULL)
        rp_buffer_puts(out, "null");
    else
        rp_json_put_string(out, text, strlen(text));
}

/* Appends one of the report's char arrays, which may lack its NUL. */
#define json_put_array(out, array)                                           \
    rp_json_put_string((out), (array), strnlen((array), sizeof(array)))

static void json_put_ms(struct rp_buffer *out, double milliseconds)
{
    rp_buffer_put_decimal(out, milliseconds, JSON_MS_DECIMALS);
}

/* Appends an address of an object, "0x1139", or null if not known. */
static void json_put_address(struct rp_buffer *out, uint64_t address,
                             bool known)
{
    if (known)
        rp_buffer_printf(out, "\"0x%" PRIx64 "\"", address);
    else
        rp_buffer_puts(out, "null");
}

/* Appends "objects": what the report knows of the objects its frames
 * name, one a line. */
static void json_put_objects(struct rp_buffer *out,
                             const struct rp_calltree *tree)
{
    size_t count;
    const struct rp_object *objects = rp_calltree_objects(tree, &count);

    rp_buffer_puts(out, ",\n \"objects\": [");
    for (size_t i = 0; i < count; i++) {
        rp_buffer_puts(out, i > 0 ? ",\n  {\"name\": " : "\n  {\"name\": ");
        json_put_optional(out, objects[i].name);
        rp_buffer_puts(out, ", \"build_id\": ");
        json_put_optional(out, objects[i].build_id);
        rp_buffer_puts(out, ", \"text_start\": ");
        json_put_address(out, objects[i].text_start, true);
        rp_buffer_puts(out, ", \"text_end\": ");
        json_put_address(out, objects[i].text_end, true);
        rp_buffer_puts(out, ", \"text_offset\": ");
        json_put_address(out, objects[i].text_offset, true);
        rp_buffer_puts(out, "}");
    }
    rp_buffer_puts(out, "]");
}

/*
 * Appends a node and, recursively, its children. The recursion is as deep
 * as the tree, which the unwinder's frame limit (or, for a tree read from
 * JSON, the reader's nesting limit) bounds.
 */
static void json_put_node(struct rp_buffer *out, const struct rp_calltree *tree,
                          const struct rp_calltree_node *node, int depth)
{
    const struct rp_frame *frame = rp_calltree_frame(tree, node->frame);

    rp_buffer_puts(out, "{\"function\": ");
    json_put_optional(out, frame->function);
    rp_buffer_puts(out, ", \"object\": ");
    json_put_optional(out, frame->object);
    rp_buffer_puts(out, ", \"file\": ");
    json_put_optional(out, frame->file);
    rp_buffer_puts(out, ", \"line\": ");
    if (frame->line > 0)
        rp_buffer_put_int(out, frame->line);
    else
        rp_buffer_puts(out, "null");
    /* Only inlined frames have it: most frames are not. */
    if (frame->inlined)
        rp_buffer_puts(out, ", \"inlined\": true");
    rp_buffer_puts(out, ", \"address\": ");
    json_put_address(out, frame->address, frame->address != 0);
    rp_buffer_puts(out, ", \"total\": ");
    rp_buffer_put_uint(out, node->total);
    rp_buffer_puts(out, ", \"self\": ");
    rp_buffer_put_uint(out, node->self);
    if (rp_calltree_cpu_known(tree)) {
        rp_buffer_puts(out, ", \"cpu_total\": ");
        rp_buffer_put_uint(out, node->cpu_total);
        rp_buffer_puts(out, ", \"cpu_self\": ");
        rp_buffer_put_uint(out, node->cpu_self);
    }
    rp_buffer_puts(out, ", \"children\": [");
    for (const struct rp_calltree_node *child = node->first_child; child;
         child = child->next_sibling) {
        int indent = depth + 1 < JSON_INDENT_MAX ? depth + 1 : JSON_INDENT_MAX;

        if (child != node->first_child)
            rp_buffer_puts(out, ",");
        rp_buffer_append(out, json_line_start, (size_t)indent + 2);
        json_put_node(out, tree, child, depth + 1);
    }
    rp_buffer_puts(out, "]}");
}

/* A node and its number in the order the JSON lists nodes (root 0). */
struct json_node_number {
    const struct rp_calltree_node *node;
    uint32_t number;
};

/* Numbers the subtree's nodes from *next on, as json_put_node lists them. */
static void json_number_nodes(struct json_node_number *numbers, uint32_t *next,
                              const struct rp_calltree_node *node)
{
    numbers[*next] = (struct json_node_number){node, *next};
    (*next)++;
    for (node = node->first_child; node != NULL; node = node->next_sibling)
        json_number_nodes(numbers, next, node);
}

static uint32_t json_count_nodes(const struct rp_calltree_node *node)
{
    uint32_t count = 1;

    for (node = node->first_child; node != NULL; node = node->next_sibling)
        count += json_count_nodes(node);
    return count;
}

static int json_compare_nodes(const void *a, const void *b)
{
    const struct json_node_number *x = a, *y = b;

    return (x->node > y->node) - (x->node < y->node);
}

/*
 * Appends the timeline: null, or [[µs since the request began, number of
 * the leaf node, weight, of it on the CPU], ...] (the last only when the
 * tree knows it). A point names its leaf by the node's place
 * in the tree as written, so the reader can find it again.
 */
static void json_put_timeline(struct rp_buffer *out,
                              const struct rp_calltree *tree)
{
    const struct rp_calltree_node *root = rp_calltree_root(tree);
    size_t count;
    const struct rp_timeline_point *points = rp_calltree_timeline(tree, &count);
    struct json_node_number *numbers;
    uint32_t node_count, next = 0;

    if (count == 0) {
        rp_buffer_puts(out, "null");
        return;
    }
    node_count = json_count_nodes(root);
    numbers = rp_heap_malloc(node_count * sizeof *numbers);
    if (numbers == NULL) {
        out->failed = true;
        return;
    }
    json_number_nodes(numbers, &next, root);
    qsort(numbers, node_count, sizeof *numbers, json_compare_nodes);
    rp_buffer_puts(out, "[");
    for (size_t i = 0; i < count; i++) {
        struct json_node_number key = {points[i].leaf, 0};
        const struct json_node_number *found =
            bsearch(&key, numbers, node_count, sizeof *numbers,
                    json_compare_nodes);

        rp_buffer_puts(out, i == 0 ? "\n  ["
                            : i % JSON_POINTS_PER_LINE == 0 ? ",\n  ["
                                                            : ", [");
        rp_buffer_put_uint(out, points[i].time_ns / 1000);
        rp_buffer_puts(out, ", ");
        rp_buffer_put_uint(out, found ? found->number : 0);
        rp_buffer_puts(out, ", ");
        rp_buffer_put_uint(out, points[i].weight);
        if (rp_calltree_cpu_known(tree)) {
            rp_buffer_puts(out, ", ");
            rp_buffer_put_uint(out, points[i].cpu_weight);
        }
        rp_buffer_puts(out, "]");
    }
    rp_buffer_puts(out, "]");
    rp_heap_free(numbers);
}

/*
 * Appends ", "attribution": {...}": how much of the report is shared with
 * other requests. Only a report that has shared samples has it.
 */
static void json_put_attribution(struct rp_buffer *out,
                                 const struct rp_report *report)
{
    rp_buffer_puts(out, ",\n \"attribution\": {\"shared_samples\": ");
    rp_buffer_put_uint(out, report->shared_samples);
    rp_buffer_puts(out, ", \"shared_fraction\": ");
    rp_buffer_put_decimal(out, rp_shared_share(report->shared_samples,
                                               report->samples),
                          RP_JSON_FRACTION_DECIMALS);
    rp_buffer_puts(out, "}");
}

/*
 * Appends ", "waits": [...]": what the request waited on, peer by peer.
 * Only a report with waits has it.
 */
static void json_put_waits(struct rp_buffer *out, const struct rp_report *report)
{
    rp_buffer_puts(out, ",\n \"waits\": [");
    for (unsigned i = 0; i < report->wait_count; i++) {
        const struct rp_report_wait *wait = &report->waits[i];
        rp_buffer_puts(out, i == 0 ? "{\"peer\": " : ",\n  {\"peer\": ");
        json_put_array(out, wait->peer);
        rp_buffer_puts(out, ", \"kind\": ");
        json_put_array(out, wait->kind);
        rp_buffer_puts(out, ", \"calls\": ");
        rp_buffer_put_uint(out, wait->calls);
        rp_buffer_puts(out, ", \"ms\": ");
        json_put_ms(out, wait->ms);
        rp_buffer_puts(out, ", \"bytes\": ");
        rp_buffer_put_uint(out, wait->bytes);
        rp_buffer_puts(out, "}");
    }
    rp_buffer_puts(out, "]");
}

int rp_render_json(const struct rp_report *report, struct rp_buffer *out)
{
    rp_buffer_puts(out, "{\"format\": \"" RP_REPORT_JSON_FORMAT "\", "
                        "\"version\": ");
    rp_buffer_put_int(out, RP_REPORT_JSON_VERSION);
    rp_buffer_puts(out, ", \"reqprof\": ");
    json_put_array(out, report->reqprof_version);
    rp_buffer_puts(out, ",\n \"request\": {\"method\": ");
    json_put_array(out, report->method);
    rp_buffer_puts(out, ", \"path\": ");
    json_put_array(out, report->path);
    rp_buffer_puts(out, ", \"status\": ");
    rp_buffer_put_int(out, report->status);
    rp_buffer_puts(out, ", \"start_unix_us\": ");
    rp_buffer_put_int(out, report->start_unix_us);
    rp_buffer_puts(out, ", \"duration_ms\": ");
    json_put_ms(out, report->duration_ms);
    rp_buffer_puts(out, ", \"cpu_ms\": ");
    if (report->cpu_measured)
        json_put_ms(out, report->cpu_ms);
    else
        rp_buffer_puts(out, "null");
    rp_buffer_puts(out, ", \"request_bytes\": ");
    rp_buffer_put_uint(out, report->request_bytes);
    rp_buffer_puts(out, ", \"response_bytes\": ");
    rp_buffer_put_uint(out, report->response_bytes);
    rp_buffer_puts(out, "},\n \"process\": {\"pid\": ");
    rp_buffer_put_int(out, report->pid);
    rp_buffer_puts(out, ", \"program\": ");
    json_put_array(out, report->program);
    rp_buffer_puts(out, "},\n \"interval_ms\": ");
    json_put_ms(out, report->interval_ms);
    rp_buffer_puts(out, ", \"samples\": ");
    rp_buffer_put_uint(out, report->samples);
    rp_buffer_puts(out, ", \"cpu_samples\": ");
    if (rp_calltree_cpu_known(report->tree))
        rp_buffer_put_uint(out, rp_calltree_root(report->tree)->cpu_total);
    else
        rp_buffer_puts(out, "null");
    rp_buffer_puts(out, ", \"samples_dropped\": ");
    rp_buffer_put_uint(out, report->samples_dropped);
    rp_buffer_puts(out, ", \"requests\": ");
    rp_buffer_put_uint(out, report->requests > 1 ? report->requests : 1);
    if (report->shared_samples > 0)
        json_put_attribution(out, report);
    if (report->wait_count > 0)
        json_put_waits(out, report);
    json_put_objects(out, report->tree);
    rp_buffer_puts(out, ",\n \"root\": ");
    json_put_node(out, report->tree, rp_calltree_root(report->tree), 0);
    rp_buffer_puts(out, ",\n \"timeline\": ");
    json_put_timeline(out, report->tree);
    rp_buffer_puts(out, "}\n");
    return out->failed ? -1 : 0;
}
