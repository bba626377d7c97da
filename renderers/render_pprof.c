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
 * A profile holds the samples of one request or of many (reqprof merge):
 * each request's samples carry that request's own labels (method, path,
 * route, status, request id), so that pprof -tagfocus splits a profile of
 * many requests again. Every frame of every request becomes one Function
 * and one Location (ids: frame id + 1, in a tree that interns the frames
 * of all of them), every object one Mapping, and every node with samples
 * of its own one Sample whose locations are the node's path, leaf first.
 * Values are the sample count and the wall time it stands for.
 *
 * Addresses are the objects' own (struct rp_object): a Mapping spans its
 * object's executable segment as the ELF file places it (so pprof finds
 * the load bias 0), with the segment's file offset and the object's
 * build ID, and a Location is at its function's entry. pprof -list and
 * -disasm, and symbolization by build ID, read the object with them.
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
    PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1,
    VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1,
    SAMPLE_VALUE = 2,
    SAMPLE_LABEL = 3,
    LABEL_KEY = 1,
    LABEL_STR = 2,
    MAPPING_ID = 1,
    MAPPING_MEMORY_START = 2,
    MAPPING_MEMORY_LIMIT = 3,
    MAPPING_FILE_OFFSET = 4,
    MAPPING_FILENAME = 5,
    MAPPING_BUILD_ID = 6,
    MAPPING_HAS_FUNCTIONS = 7,
    MAPPING_HAS_FILENAMES = 8,
    MAPPING_HAS_LINE_NUMBERS = 9,
    LOCATION_ID = 1,
    LOCATION_MAPPING_ID = 2,
    LOCATION_ADDRESS = 3,
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
 * must begin with ""); the label values follow them, then each frame's
 * two strings, each object's name and build ID, and the comment. */
enum {
    STRING_EMPTY,
    STRING_SAMPLES,
    STRING_COUNT,
    STRING_WALL,
    STRING_CPU,
    STRING_NANOSECONDS,
    STRING_METHOD,
    STRING_PATH,
    STRING_ROUTE,
    STRING_STATUS,
    STRING_REQUEST,
    STRING_FIXED_COUNT,
};

/* The label values of the requests added, copied: a few routes and
 * statuses, many paths, one id per request. */
struct pprof_values {
    char **items;
    size_t count;
    size_t capacity;
};

struct rp_pprof {
    struct rp_calltree *frames;   /* every added request's frames, interned */
    uint32_t *frame_ids;          /* a request's frame id → frames' id */
    size_t frame_ids_capacity;
    struct pprof_values values;   /* label values, after the fixed strings */
    /* The Sample messages so far, with the values samples and wall, and
     * with cpu as well: that type is written only if every request
     * added knew what ran (a report of version 6 on). */
    struct rp_buffer samples;
    struct rp_buffer samples_with_cpu;
    bool cpu_unknown;             /* a request added did not know it */
    struct rp_buffer labels;      /* the labels of the request being added */
    struct rp_buffer inner;       /* scratch: a message being built */
    struct rp_buffer innermost;   /* scratch: a message inside that */
    uint64_t *path;               /* location ids from the root down */
    size_t path_capacity;
    bool failed;                  /* out of memory outside the buffers */
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

/* Appends what from holds, if anything (an empty buffer has no data). */
static void pb_append(struct rp_buffer *out, const struct rp_buffer *from)
{
    if (from->length > 0)
        rp_buffer_append(out, from->data, from->length);
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

struct rp_pprof *rp_pprof_new(void)
{
    struct rp_pprof *pprof = rp_heap_calloc(1, sizeof *pprof);

    if (pprof == NULL)
        return NULL;
    pprof->frames = rp_calltree_new();
    if (pprof->frames == NULL) {
        rp_heap_free(pprof);
        return NULL;
    }
    rp_buffer_init(&pprof->samples);
    rp_buffer_init(&pprof->samples_with_cpu);
    rp_buffer_init(&pprof->labels);
    rp_buffer_init(&pprof->inner);
    rp_buffer_init(&pprof->innermost);
    return pprof;
}

void rp_pprof_free(struct rp_pprof *pprof)
{
    if (pprof == NULL)
        return;
    rp_calltree_free(pprof->frames);
    rp_heap_free(pprof->frame_ids);
    for (size_t i = 0; i < pprof->values.count; i++)
        rp_heap_free(pprof->values.items[i]);
    rp_heap_free(pprof->values.items);
    rp_buffer_free(&pprof->samples);
    rp_buffer_free(&pprof->samples_with_cpu);
    rp_buffer_free(&pprof->labels);
    rp_buffer_free(&pprof->inner);
    rp_buffer_free(&pprof->innermost);
    rp_heap_free(pprof->path);
    rp_heap_free(pprof);
}

/*
 * The string index of a label value (length bytes of text), added unless
 * an equal one is there (distinct: a value no other request has, such as
 * its id, is not looked for). 0 when out of memory.
 */
static uint64_t pprof_value(struct rp_pprof *pprof, const char *text,
                            size_t length, bool distinct)
{
    struct pprof_values *values = &pprof->values;
    char *copy;

    for (size_t i = 0; !distinct && i < values->count; i++) {
        if (strncmp(values->items[i], text, length) == 0 &&
            values->items[i][length] == '\0')
            return STRING_FIXED_COUNT + i;
    }
    if (values->count == values->capacity) {
        size_t capacity = values->capacity ? values->capacity * 2 : 16;
        char **items = rp_heap_realloc(values->items, capacity * sizeof *items);

        if (items == NULL) {
            pprof->failed = true;
            return 0;
        }
        values->items = items;
        values->capacity = capacity;
    }
    copy = rp_heap_malloc(length + 1);
    if (copy == NULL) {
        pprof->failed = true;
        return 0;
    }
    memcpy(copy, text, length);
    copy[length] = '\0';
    values->items[values->count] = copy;
    return STRING_FIXED_COUNT + values->count++;
}

/* A string label of the request being added. */
static void pprof_label(struct rp_pprof *pprof, uint64_t key, uint64_t value)
{
    pb_uint(&pprof->inner, LABEL_KEY, key);
    pb_uint(&pprof->inner, LABEL_STR, value);
    pb_message(&pprof->labels, SAMPLE_LABEL, &pprof->inner);
}

/*
 * The labels of report's samples: each field the report does not leave
 * blank (a merge of requests that differ in it), the route (method and
 * path without the query, as a router sees it: "GET /burn") and, for one
 * request, its id: "PID@START", the process and its first byte's µs
 * since the Unix epoch, index.tsv's fields 2 and 1.
 */
static void pprof_request_labels(struct rp_pprof *pprof,
                                 const struct rp_report *report)
{
    size_t method_length = strnlen(report->method, sizeof report->method);
    size_t path_length = strnlen(report->path, sizeof report->path);
    char text[RP_REPORT_METHOD_MAX + RP_REPORT_PATH_MAX + 1];

    rp_buffer_reset(&pprof->labels);
    if (method_length > 0)
        pprof_label(pprof, STRING_METHOD,
                    pprof_value(pprof, report->method, method_length, false));
    if (path_length > 0)
        pprof_label(pprof, STRING_PATH,
                    pprof_value(pprof, report->path, path_length, false));
    if (method_length > 0 && path_length > 0) {
        int length = snprintf(text, sizeof text, "%.*s %.*s",
                              (int)method_length, report->method,
                              (int)strcspn(report->path, "?"), report->path);
        pprof_label(pprof, STRING_ROUTE,
                    pprof_value(pprof, text, (size_t)length, false));
    }
    if (report->status != 0) {
        int length = snprintf(text, sizeof text, "%d", report->status);
        pprof_label(pprof, STRING_STATUS,
                    pprof_value(pprof, text, (size_t)length, false));
    }
    if (report->requests <= 1) {
        int length = snprintf(text, sizeof text, "%d@%" PRId64, report->pid,
                              report->start_unix_us);
        pprof_label(pprof, STRING_REQUEST,
                    pprof_value(pprof, text, (size_t)length, true));
    }
}

/* Appends to into a Sample for the samples that ended at node, at depth
 * depth: its values samples and wall, and cpu if with_cpu. */
static void pprof_sample_to(struct rp_pprof *pprof, const struct rp_calltree_node *node,
                            size_t depth, uint64_t interval_ns, bool with_cpu,
                            struct rp_buffer *into)
{
    /* Location ids, packed, leaf first. */
    for (size_t i = depth; i > 0; i--)
        pb_varint(&pprof->innermost, pprof->path[i - 1]);
    if (depth > 0)
        pb_message(&pprof->inner, SAMPLE_LOCATION_ID, &pprof->innermost);
    pb_varint(&pprof->innermost, node->self);
    pb_varint(&pprof->innermost, node->self * interval_ns);
    if (with_cpu)
        pb_varint(&pprof->innermost, node->cpu_self * interval_ns);
    pb_message(&pprof->inner, SAMPLE_VALUE, &pprof->innermost);
    pb_append(&pprof->inner, &pprof->labels);
    pb_message(into, PROFILE_SAMPLE, &pprof->inner);
}

/* The Samples for the samples that ended at node, at depth depth. */
static void pprof_sample(struct rp_pprof *pprof, const struct rp_report *report,
                         const struct rp_calltree_node *node, size_t depth)
{
    uint64_t interval_ns = (uint64_t)(report->interval_ms * 1e6 + 0.5);

    pprof_sample_to(pprof, node, depth, interval_ns, false, &pprof->samples);
    if (!pprof->cpu_unknown)
        pprof_sample_to(pprof, node, depth, interval_ns, true,
                        &pprof->samples_with_cpu);
}

/*
 * Samples for node's subtree; node is at depth depth (the root at 0). The
 * recursion is as deep as the tree, which the unwinder's frame limit (or
 * the JSON reader's nesting limit) bounds.
 */
static void pprof_samples(struct rp_pprof *pprof, const struct rp_report *report,
                          const struct rp_calltree_node *node, size_t depth)
{
    if (depth > 0) {
        if (depth > pprof->path_capacity) {
            size_t capacity = pprof->path_capacity ? pprof->path_capacity * 2
                                                   : 128;
            uint64_t *path = rp_heap_realloc(pprof->path,
                                             capacity * sizeof *path);

            if (path == NULL) {
                pprof->failed = true;
                return;
            }
            pprof->path = path;
            pprof->path_capacity = capacity;
        }
        pprof->path[depth - 1] = (uint64_t)pprof->frame_ids[node->frame] + 1;
    }
    if (node->self > 0)
        pprof_sample(pprof, report, node, depth);
    for (node = node->first_child; node != NULL; node = node->next_sibling)
        pprof_samples(pprof, report, node, depth + 1);
}

/* The number of frames tree holds. */
static uint32_t pprof_frame_count(const struct rp_calltree *tree)
{
    uint32_t count = 0;

    while (rp_calltree_frame(tree, count) != NULL)
        count++;
    return count;
}

/* Interns every frame of tree among the profile's; false when out of
 * memory. */
static bool pprof_intern_frames(struct rp_pprof *pprof,
                                const struct rp_calltree *tree)
{
    uint32_t count = pprof_frame_count(tree);

    if (count > pprof->frame_ids_capacity) {
        uint32_t *ids = rp_heap_realloc(pprof->frame_ids, count * sizeof *ids);

        if (ids == NULL)
            return false;
        pprof->frame_ids = ids;
        pprof->frame_ids_capacity = count;
    }
    for (uint32_t id = 0; id < count; id++) {
        pprof->frame_ids[id] =
            rp_calltree_intern(pprof->frames, rp_calltree_frame(tree, id));
        if (pprof->frame_ids[id] == RP_FRAME_ROOT)
            return false;
    }
    return true;
}

/* Keeps what report knows of each object; false when out of memory. */
static bool pprof_add_objects(struct rp_pprof *pprof,
                              const struct rp_calltree *tree)
{
    size_t count;
    const struct rp_object *objects = rp_calltree_objects(tree, &count);

    for (size_t i = 0; i < count; i++)
        if (rp_calltree_add_object(pprof->frames, &objects[i]) != 0)
            return false;
    return true;
}

int rp_pprof_add(struct rp_pprof *pprof, const struct rp_report *report)
{
    if (!pprof_intern_frames(pprof, report->tree) ||
        !pprof_add_objects(pprof, report->tree)) {
        pprof->failed = true;
        return -1;
    }
    if (!rp_calltree_cpu_known(report->tree) && !pprof->cpu_unknown) {
        /* It did not record what ran: no cpu type, rather than zeros. */
        pprof->cpu_unknown = true;
        rp_buffer_free(&pprof->samples_with_cpu);
    }
    pprof_request_labels(pprof, report);
    pprof_samples(pprof, report, rp_calltree_root(report->tree), 0);
    return pprof->failed || pprof->samples.failed || pprof->samples_with_cpu.failed ? -1 : 0;
}

/* What rp_pprof_write needs beyond the profile: where each string goes. */
struct pprof_writing {
    struct rp_pprof *pprof;
    struct rp_buffer *out;
    uint32_t frame_count;         /* frames of every request added */
    /* By mapping id - 1: what the requests knew of each object; NULL for
     * an object they did not (its Mapping and Locations have no
     * addresses). */
    const struct rp_object **object_facts;
    uint64_t *frame_mapping;      /* mapping id by frame id; 0: none */
    struct rp_string_set objects; /* mapping id - 1 to object name */
};

/* Appends a string to the string table. Protocol buffers strings are
 * UTF-8, and paths and symbols are any bytes: as in the JSON, what is not
 * UTF-8 (and any control character) becomes U+FFFD. */
static void pprof_string(struct pprof_writing *writing, const char *text)
{
    rp_buffer_put_printable(&writing->pprof->inner, text, strlen(text),
                            RP_UTF8_REPLACEMENT);
    pb_message(writing->out, PROFILE_STRING_TABLE, &writing->pprof->inner);
}

/* Index in the string table of frame id's function name; its file name
 * follows it. */
static uint64_t pprof_frame_strings(const struct pprof_writing *writing,
                                    uint32_t id)
{
    return STRING_FIXED_COUNT + writing->pprof->values.count + 2 * (uint64_t)id;
}

/* Index in the string table of mapping id's object name; its build ID
 * ("" if none is known) follows it. */
static uint64_t pprof_object_strings(const struct pprof_writing *writing,
                                     uint64_t mapping)
{
    return pprof_frame_strings(writing, writing->frame_count) +
           2 * (mapping - 1);
}

/* Index of the comment, the table's last string. */
static uint64_t pprof_comment_string(const struct pprof_writing *writing)
{
    return pprof_object_strings(writing, writing->objects.count + 1);
}

/* A ValueType: the string indices of a type and its unit. */
static void pprof_value_type(struct pprof_writing *writing, int field,
                             uint64_t type, uint64_t unit)
{
    pb_uint(&writing->pprof->inner, VALUE_TYPE_TYPE, type);
    pb_uint(&writing->pprof->inner, VALUE_TYPE_UNIT, unit);
    pb_message(writing->out, field, &writing->pprof->inner);
}

/* Gives every frame the mapping of its object, one mapping per object;
 * pprof takes the first mapping for the program's: the program's is. */
static bool pprof_map_objects(struct pprof_writing *writing,
                              const char *program)
{
    const char *slash = strrchr(program, '/');

    writing->frame_mapping = rp_heap_calloc(writing->frame_count + 1,
                                            sizeof *writing->frame_mapping);
    if (writing->frame_mapping == NULL)
        return false;
    if (program[0] != '\0')
        rp_string_set_add(&writing->objects, slash ? slash + 1 : program);
    for (uint32_t id = 0; id < writing->frame_count; id++) {
        const char *object = rp_calltree_frame(writing->pprof->frames, id)->object;

        if (object != NULL)
            writing->frame_mapping[id] =
                rp_string_set_add(&writing->objects, object) + 1;
    }
    if (writing->objects.failed)
        return false;
    writing->object_facts = rp_heap_calloc(writing->objects.count + 1,
                                           sizeof *writing->object_facts);
    if (writing->object_facts == NULL)
        return false;
    for (size_t i = 0; i < writing->objects.count; i++)
        writing->object_facts[i] = rp_calltree_object(writing->pprof->frames,
                                                       writing->objects.items[i]);
    return true;
}

/* The string table: the fixed strings, the label values, each frame's
 * two strings, each object's two, the comment. */
static void pprof_strings(struct pprof_writing *writing,
                          const struct rp_report *whole)
{
    static const char *const names[STRING_FIXED_COUNT] = {
        "", "samples", "count", "wall", "cpu", "nanoseconds", "method", "path",
        "route", "status", "request",
    };
    const struct pprof_values *values = &writing->pprof->values;
    char comment[RP_REPORT_METHOD_MAX + RP_REPORT_PATH_MAX +
                 RP_REPORT_PROGRAM_MAX + 64];

    for (size_t i = 0; i < STRING_FIXED_COUNT; i++)
        pprof_string(writing, names[i]);
    for (size_t i = 0; i < values->count; i++)
        pprof_string(writing, values->items[i]);
    for (uint32_t id = 0; id < writing->frame_count; id++) {
        const struct rp_frame *frame =
            rp_calltree_frame(writing->pprof->frames, id);

        pprof_string(writing, frame->function);
        pprof_string(writing, frame->file ? frame->file : "");
    }
    for (size_t i = 0; i < writing->objects.count; i++) {
        const struct rp_object *facts = writing->object_facts[i];

        pprof_string(writing, writing->objects.items[i]);
        pprof_string(writing, facts != NULL && facts->build_id != NULL
                                  ? facts->build_id
                                  : "");
    }
    snprintf(comment, sizeof comment, "reqprof: %.*s %.*s, %.*s (pid %d)",
             (int)strnlen(whole->method, sizeof whole->method), whole->method,
             (int)strnlen(whole->path, sizeof whole->path), whole->path,
             (int)strnlen(whole->program, sizeof whole->program),
             whole->program, whole->pid);
    pprof_string(writing, comment);
}

/* One Mapping per object; symbols are resolved already. */
static void pprof_mappings(struct pprof_writing *writing)
{
    struct rp_buffer *inner = &writing->pprof->inner;

    for (uint64_t mapping = 1; mapping <= writing->objects.count; mapping++) {
        const struct rp_object *facts = writing->object_facts[mapping - 1];
        uint64_t strings = pprof_object_strings(writing, mapping);

        pb_uint(inner, MAPPING_ID, mapping);
        if (facts != NULL) {
            pb_uint(inner, MAPPING_MEMORY_START, facts->text_start);
            pb_uint(inner, MAPPING_MEMORY_LIMIT, facts->text_end);
            pb_uint(inner, MAPPING_FILE_OFFSET, facts->text_offset);
            if (facts->build_id != NULL)
                pb_uint(inner, MAPPING_BUILD_ID, strings + 1);
        }
        pb_uint(inner, MAPPING_FILENAME, strings);
        pb_uint(inner, MAPPING_HAS_FUNCTIONS, 1);
        pb_uint(inner, MAPPING_HAS_FILENAMES, 1);
        pb_uint(inner, MAPPING_HAS_LINE_NUMBERS, 1);
        pb_message(writing->out, PROFILE_MAPPING, inner);
    }
}

/* One Function and one Location (with one Line) per frame. */
static void pprof_functions_and_locations(struct pprof_writing *writing)
{
    struct rp_buffer *inner = &writing->pprof->inner;
    struct rp_buffer *innermost = &writing->pprof->innermost;

    for (uint32_t id = 0; id < writing->frame_count; id++) {
        const struct rp_frame *frame =
            rp_calltree_frame(writing->pprof->frames, id);
        uint64_t strings = pprof_frame_strings(writing, id);

        pb_uint(inner, FUNCTION_ID, (uint64_t)id + 1);
        pb_uint(inner, FUNCTION_NAME, strings);
        pb_uint(inner, FUNCTION_SYSTEM_NAME, strings);
        pb_uint(inner, FUNCTION_FILENAME, strings + 1);
        pb_uint(inner, FUNCTION_START_LINE, (uint64_t)frame->line);
        pb_message(writing->out, PROFILE_FUNCTION, inner);

        pb_uint(innermost, LINE_FUNCTION_ID, (uint64_t)id + 1);
        pb_uint(innermost, LINE_LINE, (uint64_t)frame->line);
        pb_uint(inner, LOCATION_ID, (uint64_t)id + 1);
        pb_uint(inner, LOCATION_MAPPING_ID, writing->frame_mapping[id]);
        if (writing->frame_mapping[id] != 0 &&
            writing->object_facts[writing->frame_mapping[id] - 1] != NULL)
            pb_uint(inner, LOCATION_ADDRESS, frame->address);
        pb_message(inner, LOCATION_LINE, innermost);
        pb_message(writing->out, PROFILE_LOCATION, inner);
    }
}

int rp_pprof_write(struct rp_pprof *pprof, const struct rp_report *whole,
                   struct rp_buffer *out)
{
    struct pprof_writing writing = {
        .pprof = pprof, .out = out,
        .frame_count = pprof_frame_count(pprof->frames)};
    uint64_t interval_ns = (uint64_t)(whole->interval_ms * 1e6 + 0.5);

    if (pprof->failed || !pprof_map_objects(&writing, whole->program)) {
        out->failed = true;
    } else {
        pprof_value_type(&writing, PROFILE_SAMPLE_TYPE, STRING_SAMPLES,
                         STRING_COUNT);
        pprof_value_type(&writing, PROFILE_SAMPLE_TYPE, STRING_WALL,
                         STRING_NANOSECONDS);
        if (!pprof->cpu_unknown)
            pprof_value_type(&writing, PROFILE_SAMPLE_TYPE, STRING_CPU,
                             STRING_NANOSECONDS);
        pb_append(out, pprof->cpu_unknown ? &pprof->samples : &pprof->samples_with_cpu);
        pprof_mappings(&writing);
        pprof_functions_and_locations(&writing);
        pprof_strings(&writing, whole);
        if (whole->start_unix_us > 0)
            pb_uint(out, PROFILE_TIME_NANOS,
                    (uint64_t)whole->start_unix_us * 1000);
        pb_uint(out, PROFILE_DURATION_NANOS,
                (uint64_t)(whole->duration_ms * 1e6 + 0.5));
        pprof_value_type(&writing, PROFILE_PERIOD_TYPE, STRING_WALL,
                         STRING_NANOSECONDS);
        pb_uint(out, PROFILE_PERIOD, interval_ns);
        pb_key(out, PROFILE_COMMENT, WIRE_VARINT);
        pb_varint(out, pprof_comment_string(&writing));
        /* Wall time is what a request took: pprof shows it first, not
         * the last type, as it would by default. */
        pb_uint(out, PROFILE_DEFAULT_SAMPLE_TYPE, STRING_WALL);
    }
    if (pprof->samples.failed || pprof->samples_with_cpu.failed ||
        pprof->labels.failed || pprof->inner.failed ||
        pprof->innermost.failed)
        out->failed = true;
    rp_heap_free(writing.frame_mapping);
    rp_heap_free(writing.object_facts);
    rp_string_set_free(&writing.objects);
    return out->failed ? -1 : 0;
}

int rp_render_pprof(const struct rp_report *report, struct rp_buffer *out)
{
    struct rp_pprof *pprof = rp_pprof_new();
    int result = -1;

    if (pprof != NULL && rp_pprof_add(pprof, report) == 0)
        result = rp_pprof_write(pprof, report, out);
    if (result != 0)
        out->failed = true;
    rp_pprof_free(pprof);
    return result;
}
