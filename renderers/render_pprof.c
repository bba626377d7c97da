/*
 * The pprof rendering: a profile.proto message (github.com/google/pprof,
 * proto/profile.proto), which pprof, Grafana Pyroscope and most profiling
 * tools read. The caller gzips it, as those tools expect of a file.
 *
 * Protocol buffers are written by hand: the few wire types the message
 * needs (varints and length-delimited fields) are a handful of lines,
 * where a protobuf library would be a dependency of the preloaded library.
 * A nested message is built in a scratch buffer, then appended with its
 * length. Field numbers are profile.proto's.
 *
 * The mapping from the call tree is direct: every frame becomes one
 * Function and one Location (ids: frame id + 1), every object one Mapping,
 * and every node with samples of its own one Sample whose locations are
 * the node's path, leaf first. Values are the sample count and the wall
 * time it stands for; the request's method, path and status are string
 * labels on every sample, so a profile merged from many requests can
 * still be split by them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "internal.h"
#include "report.h"

/* Wire types (protobuf encoding guide). */
#define WIRE_VARINT 0
#define WIRE_LENGTH 2

/* Field numbers of profile.proto. */
enum {
    PROFILE_SAMPLE_TYPE = 1,
    PROFILE_SAMPLE = 2,
    PROFILE_MAPPING = 3,
    PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5,
    PROFILE_STRING_TABLE = 6,
    PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11,
    PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13,
    VALUE_TYPE_TYPE = 1,
    VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1,
    SAMPLE_VALUE = 2,
    SAMPLE_LABEL = 3,
    LABEL_KEY = 1,
    LABEL_STR = 2,
    MAPPING_ID = 1,
    MAPPING_FILENAME = 5,
    MAPPING_HAS_FUNCTIONS = 7,
    MAPPING_HAS_FILENAMES = 8,
    MAPPING_HAS_LINE_NUMBERS = 9,
    LOCATION_ID = 1,
    LOCATION_MAPPING_ID = 2,
    LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1,
    LINE_LINE = 2,
    FUNCTION_ID = 1,
    FUNCTION_NAME = 2,
    FUNCTION_SYSTEM_NAME = 3,
    FUNCTION_FILENAME = 4,
    FUNCTION_START_LINE = 5,
};

/* Strings every profile has, by their index in the string table (which
 * must begin with ""); each frame's strings follow them, then each
 * object's. */
enum {
    STRING_EMPTY,
    STRING_SAMPLES,
    STRING_COUNT,
    STRING_WALL,
    STRING_NANOSECONDS,
    STRING_METHOD,
    STRING_PATH,
    STRING_STATUS,
    STRING_METHOD_VALUE,
    STRING_PATH_VALUE,
    STRING_STATUS_VALUE,
    STRING_COMMENT,
    STRING_FIXED_COUNT,
};

/* One rendering in progress. */
struct pprof_renderer {
    struct rp_buffer *out;          /* the Profile message */
    const struct rp_report *report;
    uint32_t frame_count;           /* frames in the report's tree */
    uint64_t *frame_mapping;        /* mapping id by frame id; 0: none */
    struct rp_string_set objects;   /* mapping id - 1 to object name */
    struct rp_buffer inner;         /* scratch: a message being built */
    struct rp_buffer innermost;     /* scratch: a message inside that */
    struct rp_buffer labels;        /* the labels every Sample has */
    uint64_t *path;                 /* location ids from the root down */
    size_t path_capacity;
    bool failed;                    /* out of memory outside out */
};

static void pb_varint(struct rp_buffer *out, uint64_t value)
{
    char bytes[10];
    size_t length = 0;

    do {
        bytes[length++] = (char)((value & 0x7f) | (value > 0x7f ? 0x80 : 0));
        value >>= 7;
    } while (value != 0);
    rp_buffer_append(out, bytes, length);
}

static void pb_key(struct rp_buffer *out, int field, int wire_type)
{
    pb_varint(out, (uint64_t)field << 3 | (uint64_t)wire_type);
}

/* A varint field; zero is the default, so it is left out. */
static void pb_uint(struct rp_buffer *out, int field, uint64_t value)
{
    if (value == 0)
        return;
    pb_key(out, field, WIRE_VARINT);
    pb_varint(out, value);
}

static void pb_bytes(struct rp_buffer *out, int field, const char *data,
                     size_t length)
{
    pb_key(out, field, WIRE_LENGTH);
    pb_varint(out, length);
    rp_buffer_append(out, data, length);
}

/* Appends message (a scratch buffer) as a field, and empties it. */
static void pb_message(struct rp_buffer *out, int field,
                       struct rp_buffer *message)
{
    pb_bytes(out, field, message->data ? message->data : "", message->length);
    if (message->failed)
        out->failed = true;
    rp_buffer_reset(message);
}

/*
 * Appends a string to the string table. Protocol buffers strings are
 * UTF-8, and paths and symbols are any bytes: as in the JSON, what is not
 * UTF-8 (and any control character) becomes U+FFFD.
 */
static void pprof_string(struct pprof_renderer *renderer, const char *text,
                         size_t length)
{
    rp_buffer_put_printable(&renderer->inner, text, length,
                            RP_UTF8_REPLACEMENT);
    pb_message(renderer->out, PROFILE_STRING_TABLE, &renderer->inner);
}

static void pprof_puts(struct pprof_renderer *renderer, const char *text)
{
    pprof_string(renderer, text, strlen(text));
}

/* Index in the string table of frame id's function name; its file name
 * follows it. */
static uint64_t pprof_frame_strings(uint32_t id)
{
    return STRING_FIXED_COUNT + 2 * (uint64_t)id;
}

/* Index in the string table of mapping id's object name. */
static uint64_t pprof_object_string(const struct pprof_renderer *renderer,
                                    uint64_t mapping)
{
    return pprof_frame_strings(renderer->frame_count) + mapping - 1;
}

/* A ValueType: the string indices of a type and its unit. */
static void pprof_value_type(struct pprof_renderer *renderer, int field,
                             uint64_t type, uint64_t unit)
{
    pb_uint(&renderer->inner, VALUE_TYPE_TYPE, type);
    pb_uint(&renderer->inner, VALUE_TYPE_UNIT, unit);
    pb_message(renderer->out, field, &renderer->inner);
}

/* A label for every sample, unless the report leaves it blank (a merge of
 * requests that differ in it). */
static void pprof_label(struct pprof_renderer *renderer, uint64_t key,
                        uint64_t value, bool present)
{
    if (!present)
        return;
    pb_uint(&renderer->inner, LABEL_KEY, key);
    pb_uint(&renderer->inner, LABEL_STR, value);
    pb_message(&renderer->labels, SAMPLE_LABEL, &renderer->inner);
}

/* Gives every frame the mapping of its object, one mapping per object. */
static bool pprof_map_objects(struct pprof_renderer *renderer)
{
    const struct rp_calltree *tree = renderer->report->tree;

    const char *program = renderer->report->program;
    const char *slash = strrchr(program, '/');

    renderer->frame_mapping =
        rp_heap_calloc(renderer->frame_count + 1, sizeof *renderer->frame_mapping);
    if (renderer->frame_mapping == NULL)
        return false;
    /* pprof takes the first mapping for the program: make it so. */
    if (program[0] != '\0')
        rp_string_set_add(&renderer->objects, slash ? slash + 1 : program);
    for (uint32_t id = 0; id < renderer->frame_count; id++) {
        const char *object = rp_calltree_frame(tree, id)->object;

        if (object != NULL)
            renderer->frame_mapping[id] =
                rp_string_set_add(&renderer->objects, object) + 1;
    }
    return !renderer->objects.failed;
}

/* The string table: the fixed strings, each frame's two, each object. */
static void pprof_strings(struct pprof_renderer *renderer)
{
    const struct rp_report *report = renderer->report;
    static const char *const names[] = {
        "", "samples", "count", "wall", "nanoseconds", "method", "path",
        "status",
    };
    size_t method_length = strnlen(report->method, sizeof report->method);
    size_t path_length = strnlen(report->path, sizeof report->path);
    char text[RP_REPORT_METHOD_MAX + RP_REPORT_PATH_MAX +
              RP_REPORT_PROGRAM_MAX + 64];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        pprof_puts(renderer, names[i]);
    pprof_string(renderer, report->method, method_length);
    pprof_string(renderer, report->path, path_length);
    snprintf(text, sizeof text, "%d", report->status);
    pprof_puts(renderer, text);
    snprintf(text, sizeof text, "reqprof: %.*s %.*s, %.*s (pid %d)",
             (int)method_length, report->method, (int)path_length,
             report->path, (int)sizeof report->program, report->program,
             report->pid);
    pprof_puts(renderer, text);
    for (uint32_t id = 0; id < renderer->frame_count; id++) {
        const struct rp_frame *frame = rp_calltree_frame(report->tree, id);

        pprof_puts(renderer, frame->function);
        pprof_puts(renderer, frame->file ? frame->file : "");
    }
    for (size_t i = 0; i < renderer->objects.count; i++)
        pprof_puts(renderer, renderer->objects.items[i]);
}

/* One Mapping per object; symbols are resolved already. */
static void pprof_mappings(struct pprof_renderer *renderer)
{
    for (uint64_t mapping = 1; mapping <= renderer->objects.count; mapping++) {
        pb_uint(&renderer->inner, MAPPING_ID, mapping);
        pb_uint(&renderer->inner, MAPPING_FILENAME,
                pprof_object_string(renderer, mapping));
        pb_uint(&renderer->inner, MAPPING_HAS_FUNCTIONS, 1);
        pb_uint(&renderer->inner, MAPPING_HAS_FILENAMES, 1);
        pb_uint(&renderer->inner, MAPPING_HAS_LINE_NUMBERS, 1);
        pb_message(renderer->out, PROFILE_MAPPING, &renderer->inner);
    }
}

/* One Function and one Location (with one Line) per frame. */
static void pprof_functions_and_locations(struct pprof_renderer *renderer)
{
    for (uint32_t id = 0; id < renderer->frame_count; id++) {
        const struct rp_frame *frame =
            rp_calltree_frame(renderer->report->tree, id);
        uint64_t strings = pprof_frame_strings(id);

        pb_uint(&renderer->inner, FUNCTION_ID, (uint64_t)id + 1);
        pb_uint(&renderer->inner, FUNCTION_NAME, strings);
        pb_uint(&renderer->inner, FUNCTION_SYSTEM_NAME, strings);
        pb_uint(&renderer->inner, FUNCTION_FILENAME, strings + 1);
        pb_uint(&renderer->inner, FUNCTION_START_LINE, (uint64_t)frame->line);
        pb_message(renderer->out, PROFILE_FUNCTION, &renderer->inner);

        pb_uint(&renderer->innermost, LINE_FUNCTION_ID, (uint64_t)id + 1);
        pb_uint(&renderer->innermost, LINE_LINE, (uint64_t)frame->line);
        pb_uint(&renderer->inner, LOCATION_ID, (uint64_t)id + 1);
        pb_uint(&renderer->inner, LOCATION_MAPPING_ID,
                renderer->frame_mapping[id]);
        pb_message(&renderer->inner, LOCATION_LINE, &renderer->innermost);
        pb_message(renderer->out, PROFILE_LOCATION, &renderer->inner);
    }
}

/* A Sample for the samples that ended at node, at depth depth. */
static void pprof_sample(struct pprof_renderer *renderer,
                         const struct rp_calltree_node *node, size_t depth)
{
    uint64_t interval_ns = (uint64_t)(renderer->report->interval_ms * 1e6 + 0.5);

    /* Location ids, packed, leaf first. */
    for (size_t i = depth; i > 0; i--)
        pb_varint(&renderer->innermost, renderer->path[i - 1]);
    if (depth > 0)
        pb_message(&renderer->inner, SAMPLE_LOCATION_ID, &renderer->innermost);
    pb_varint(&renderer->innermost, node->self);
    pb_varint(&renderer->innermost, node->self * interval_ns);
    pb_message(&renderer->inner, SAMPLE_VALUE, &renderer->innermost);
    rp_buffer_append(&renderer->inner, renderer->labels.data,
                     renderer->labels.length);
    pb_message(renderer->out, PROFILE_SAMPLE, &renderer->inner);
}

/*
 * Samples for node's subtree; node is at depth depth (the root at 0). The
 * recursion is as deep as the tree, which the unwinder's frame limit (or
 * the JSON reader's nesting limit) bounds.
 */
static void pprof_samples(struct pprof_renderer *renderer,
                          const struct rp_calltree_node *node, size_t depth)
{
    if (depth > 0) {
        if (depth > renderer->path_capacity) {
            size_t capacity = renderer->path_capacity
                                  ? renderer->path_capacity * 2
                                  : 128;
            uint64_t *path = rp_heap_realloc(renderer->path, capacity * sizeof *path);

            if (path == NULL) {
                renderer->failed = true;
                return;
            }
            renderer->path = path;
            renderer->path_capacity = capacity;
        }
        renderer->path[depth - 1] = (uint64_t)node->frame + 1;
    }
    if (node->self > 0)
        pprof_sample(renderer, node, depth);
    for (node = node->first_child; node != NULL; node = node->next_sibling)
        pprof_samples(renderer, node, depth + 1);
}

int rp_render_pprof(const struct rp_report *report, struct rp_buffer *out)
{
    struct pprof_renderer renderer = {.out = out, .report = report};
    uint64_t interval_ns = (uint64_t)(report->interval_ms * 1e6 + 0.5);

    while (rp_calltree_frame(report->tree, renderer.frame_count) != NULL)
        renderer.frame_count++;
    rp_buffer_init(&renderer.inner);
    rp_buffer_init(&renderer.innermost);
    rp_buffer_init(&renderer.labels);
    if (!pprof_map_objects(&renderer))
        renderer.failed = true;
    if (!renderer.failed) {
        pprof_value_type(&renderer, PROFILE_SAMPLE_TYPE, STRING_SAMPLES,
                         STRING_COUNT);
        pprof_value_type(&renderer, PROFILE_SAMPLE_TYPE, STRING_WALL,
                         STRING_NANOSECONDS);
        pprof_label(&renderer, STRING_METHOD, STRING_METHOD_VALUE,
                    report->method[0] != '\0');
        pprof_label(&renderer, STRING_PATH, STRING_PATH_VALUE,
                    report->path[0] != '\0');
        pprof_label(&renderer, STRING_STATUS, STRING_STATUS_VALUE,
                    report->status != 0);
        pprof_samples(&renderer, rp_calltree_root(report->tree), 0);
        pprof_mappings(&renderer);
        pprof_functions_and_locations(&renderer);
        pprof_strings(&renderer);
        if (report->start_unix_us > 0)
            pb_uint(out, PROFILE_TIME_NANOS,
                    (uint64_t)report->start_unix_us * 1000);
        pb_uint(out, PROFILE_DURATION_NANOS,
                (uint64_t)(report->duration_ms * 1e6 + 0.5));
        pprof_value_type(&renderer, PROFILE_PERIOD_TYPE, STRING_WALL,
                         STRING_NANOSECONDS);
        pb_uint(out, PROFILE_PERIOD, interval_ns);
        pb_key(out, PROFILE_COMMENT, WIRE_VARINT);
        pb_varint(out, STRING_COMMENT);
    }
    if (renderer.failed || renderer.inner.failed ||
        renderer.innermost.failed || renderer.labels.failed)
        out->failed = true;
    rp_heap_free(renderer.frame_mapping);
    rp_string_set_free(&renderer.objects);
    rp_heap_free(renderer.path);
    rp_buffer_free(&renderer.inner);
    rp_buffer_free(&renderer.innermost);
    rp_buffer_free(&renderer.labels);
    return out->failed ? -1 : 0;
}
