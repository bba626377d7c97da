/*
 * Unit tests of the report formats (renderers/render_*.c, json_read.c):
 * JSON round trips byte for byte, the text view has pyinstrument's lines,
 * hostile strings still give valid output, and broken JSON is refused with
 * a reason instead of a crash.
 */
#include <math.h>
#include <stdlib.h>

#include "index_line.h"
#include "internal.h"
#include "report.h"
#include "report_fixture.h"
#include "unit.h"

/* Tree depths for the nesting tests: within and beyond the reader's limit. */
#define DEPTH_ALLOWED 1000
#define DEPTH_REFUSED 1100

/*
 * A request like the test server's /burn?ms=200: 203 samples, 200 of them
 * in burn_alpha (150 its own, 50 in burn_beta, whose path is long), 2 in
 * handle_request itself and 1 in libc's read, which has no source file.
 */
static void report_make_burn(struct rp_report *report)
{
    struct rp_calltree *tree =
        fixture_report(report, "/burn?ms=200", 1234, "/usr/local/bin/test_server");
    uint32_t stack[4];

    report->duration_ms = 203.4;
    report->cpu_ms = 201.2;
    report->cpu_measured = true;
    report->request_bytes = 78;
    report->response_bytes = 120;
    report->samples = 203;
    report->samples_dropped = 4;

    stack[0] = fixture_frame(tree, "main", "test_server", "test_server.c", 120);
    stack[1] = fixture_frame(tree, "handle_request", "test_server", "test_server.c", 88);
    /* burn_alpha's entry is known, and its object's build ID and code. */
    stack[2] = rp_calltree_intern(tree, &(struct rp_frame){
        "burn_alpha", "test_server", "test_server.c", 40, false, 0x1139});
    rp_calltree_add_object(tree, &(struct rp_object){
        "test_server", "0123abcd", 0x1000, 0x2000, 0x1000});
    stack[3] = fixture_frame(tree, "burn_beta", "test_server",
                             "/home/build/work/server/src/lib/burn_beta_impl.c", 52);
    rp_calltree_add_stack(tree, stack, 3, 150);
    rp_calltree_add_stack(tree, stack, 4, 50);
    rp_calltree_add_stack(tree, stack, 2, 2);
    stack[2] = fixture_frame(tree, "read", "libc.so.6", NULL, 0);
    rp_calltree_add_stack(tree, stack, 3, 1);
    rp_calltree_sort(tree);
}

/* Renders to JSON; the caller frees the buffer. */
static struct rp_buffer render_json(const struct rp_report *report)
{
    struct rp_buffer out;

    rp_buffer_init(&out);
    EXPECT_INT_EQ(0, rp_render_json(report, &out));
    return out;
}

static struct rp_buffer render_text(const struct rp_report *report,
                                    bool unicode, bool color)
{
    struct rp_text_options options = {.color = color, .unicode = unicode};
    struct rp_buffer out;

    rp_buffer_init(&out);
    EXPECT_INT_EQ(0, rp_render_text(report, &options, &out));
    return out;
}

/* Whether text is UTF-8 without control characters other than newline. */
static bool text_is_clean(const char *text, size_t length, bool allow_escape)
{
    uint32_t codepoint;

    for (size_t i = 0, size; i < length; i += size) {
        size = rp_utf8_decode(text + i, length - i, &codepoint);
        if (size == 0)
            return false;
        if ((codepoint < 0x20 && codepoint != '\n' &&
             !(allow_escape && codepoint == 0x1b)) ||
            (codepoint >= 0x7f && codepoint <= 0x9f))
            return false;
    }
    return true;
}

static bool optional_equal(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Compares two subtrees node by node, frames by contents. */
static bool trees_equal(const struct rp_calltree *tree_a,
                        const struct rp_calltree_node *a,
                        const struct rp_calltree *tree_b,
                        const struct rp_calltree_node *b)
{
    const struct rp_frame *frame_a = rp_calltree_frame(tree_a, a->frame);
    const struct rp_frame *frame_b = rp_calltree_frame(tree_b, b->frame);

    if (a->total != b->total || a->self != b->self ||
        strcmp(frame_a->function, frame_b->function) != 0 ||
        !optional_equal(frame_a->object, frame_b->object) ||
        !optional_equal(frame_a->file, frame_b->file) ||
        frame_a->line != frame_b->line || frame_a->inlined != frame_b->inlined) {
        UNIT_FAIL_AT("nodes differ: %s (%" PRIu64 "/%" PRIu64 ") and %s "
                     "(%" PRIu64 "/%" PRIu64 ")",
                     frame_a->function, a->total, a->self, frame_b->function,
                     b->total, b->self);
        return false;
    }
    for (a = a->first_child, b = b->first_child; a && b;
         a = a->next_sibling, b = b->next_sibling) {
        if (!trees_equal(tree_a, a, tree_b, b))
            return false;
    }
    if (a != NULL || b != NULL) {
        UNIT_FAIL_AT("children of %s differ in number", frame_a->function);
        return false;
    }
    return true;
}

/* Expects text to be refused, with a reason that contains reason_part. */
static void expect_refused(const char *text, size_t length,
                           const char *reason_part, int line)
{
    struct rp_report report;
    char error[256];

    if (rp_report_from_json(text, length, &report, error, sizeof error) == 0) {
        UNIT_FAIL_AT("(line %d) accepted: %.60s", line, text);
        rp_report_release(&report);
        return;
    }
    if (report.tree != NULL)
        UNIT_FAIL_AT("(line %d) refused, but a tree was left behind", line);
    if (reason_part != NULL && strstr(error, reason_part) == NULL)
        UNIT_FAIL_AT("(line %d) error \"%s\" lacks \"%s\"", line, error,
                     reason_part);
    if (strncmp(error, "line ", 5) != 0)
        UNIT_FAIL_AT("(line %d) error \"%s\" has no line number", line, error);
}

#define EXPECT_REFUSED(text, reason_part)                                    \
    expect_refused((text), strlen(text), (reason_part), __LINE__)

/* Replaces the first from in text by to; false if from is not there. */
static bool text_replace(struct rp_buffer *text, const char *from,
                         const char *to)
{
    char *at = strstr(text->data, from);
    struct rp_buffer edited;

    if (at == NULL)
        return false;
    rp_buffer_init(&edited);
    rp_buffer_append(&edited, text->data, (size_t)(at - text->data));
    rp_buffer_puts(&edited, to);
    rp_buffer_puts(&edited, at + strlen(from));
    rp_buffer_free(text);
    *text = edited;
    return true;
}

/* A change to a report's JSON, and what the reader must say of it. */
struct json_edit {
    const char *from, *to, *reason;
};

/* Expects report's JSON, with each edit made in turn, to be refused with
 * its reason. */
static void expect_edits_refused(const struct rp_report *report,
                                 const struct json_edit *edits, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct rp_buffer json = render_json(report);
        if (!text_replace(&json, edits[i].from, edits[i].to))
            UNIT_FAIL_AT("edit %zu: \"%s\" not in the JSON", i, edits[i].from);
        else
            expect_refused(json.data, json.length, edits[i].reason, __LINE__);
        rp_buffer_free(&json);
    }
}

UNIT_TEST(json_reads_back_the_same_report)
{
    struct rp_report written, read;
    struct rp_buffer first, second;
    char error[256];

    report_make_burn(&written);
    first = render_json(&written);
    EXPECT_INT_EQ(0, rp_report_from_json(first.data, first.length, &read, error,
                                         sizeof error));
    EXPECT_STR_EQ("", error);
    EXPECT_STR_EQ("GET", read.method);
    EXPECT_STR_EQ("/burn?ms=200", read.path);
    EXPECT_INT_EQ(200, read.status);
    EXPECT_INT_EQ(INT64_C(1795000000123456), read.start_unix_us);
    EXPECT_TRUE(fabs(read.duration_ms - 203.4) < 1e-9);
    EXPECT_TRUE(fabs(read.cpu_ms - 201.2) < 1e-9);
    EXPECT_TRUE(read.cpu_measured);
    EXPECT_INT_EQ(78, read.request_bytes);
    EXPECT_INT_EQ(120, read.response_bytes);
    EXPECT_TRUE(read.interval_ms == 1.0);
    EXPECT_INT_EQ(203, read.samples);
    EXPECT_INT_EQ(4, read.samples_dropped);
    EXPECT_INT_EQ(1234, read.pid);
    EXPECT_STR_EQ("/usr/local/bin/test_server", read.program);
    if (read.tree != NULL)
        trees_equal(written.tree, rp_calltree_root(written.tree), read.tree,
                    rp_calltree_root(read.tree));

    second = render_json(&read);
    EXPECT_INT_EQ(first.length, second.length);
    EXPECT_TRUE(strcmp(first.data, second.data) == 0);
    rp_buffer_free(&first);
    rp_buffer_free(&second);
    rp_report_release(&written);
    rp_report_release(&read);
}

/*
 * The burn with burn_beta inlined into burn_alpha, and handle_request
 * calling a burn_beta of its own that was not: two frames, two nodes. JSON
 * marks the inlined one (only it) and reads it back, text says it after
 * the name, collapsed stacks end its frame in flamegraph.pl's "_[i]".
 */
UNIT_TEST(inlined_frames_are_marked_in_every_format)
{
    struct rp_report written, read;
    struct rp_calltree *tree =
        fixture_report(&written, "/burn?ms=200", 1234, "/usr/local/bin/test_server");
    struct rp_frame beta = {"burn_beta", "test_server", "test_server.c", 52, true, 0};
    struct rp_buffer json, again, text, collapsed;
    char error[256];
    uint32_t stack[3];

    written.samples = 200;
    stack[0] = fixture_frame(tree, "handle_request", "test_server", "test_server.c", 88);
    stack[1] = fixture_frame(tree, "burn_alpha", "test_server", "test_server.c", 40);
    stack[2] = rp_calltree_intern(tree, &beta);
    rp_calltree_add_stack(tree, stack, 3, 150);
    stack[1] = fixture_frame(tree, "burn_beta", "test_server", "test_server.c", 52);
    EXPECT_TRUE(stack[1] != stack[2]);
    rp_calltree_add_stack(tree, stack, 2, 50);
    rp_calltree_sort(tree);

    json = render_json(&written);
    EXPECT_TRUE(strstr(json.data, "{\"function\": \"burn_beta\", \"object\": "
                                  "\"test_server\", \"file\": \"test_server.c\", "
                                  "\"line\": 52, \"inlined\": true, \"address\": null, "
                                  "\"total\": 150") != NULL);
    const char *mark = strstr(json.data, "\"inlined\"");
    EXPECT_TRUE(mark != NULL && strstr(mark + 1, "\"inlined\"") == NULL);
    EXPECT_INT_EQ(0, rp_report_from_json(json.data, json.length, &read, error,
                                         sizeof error));
    EXPECT_STR_EQ("", error);
    if (read.tree != NULL) {
        trees_equal(written.tree, rp_calltree_root(written.tree), read.tree,
                    rp_calltree_root(read.tree));
        again = render_json(&read);
        EXPECT_STR_EQ(json.data, again.data);
        rp_buffer_free(&again);
    }
    rp_report_release(&read);

    text = render_text(&written, true, false);
    EXPECT_TRUE(strstr(text.data, " 150.0 burn_beta [inlined]  test_server.c:52\n") != NULL);
    EXPECT_TRUE(strstr(text.data, " 50.0 burn_beta  test_server.c:52\n") != NULL);
    rp_buffer_init(&collapsed);
    EXPECT_INT_EQ(0, rp_render_collapsed(&written, &collapsed));
    EXPECT_STR_EQ("handle_request;burn_alpha;burn_beta_[i] 150\n"
                  "handle_request;burn_beta 50\n", collapsed.data);

    /* Versions before 5 have no such member; true is its only value. */
    struct rp_buffer version_4;
    rp_buffer_init(&version_4);
    fixture_json_as_version_4(json.data, &version_4);
    EXPECT_REFUSED(version_4.data, "expected \"total\", found \"inlined\"");
    rp_buffer_free(&version_4);
    EXPECT_TRUE(text_replace(&json, "\"inlined\": true", "\"inlined\": false"));
    EXPECT_REFUSED(json.data, "expected true");
    rp_buffer_free(&json);
    rp_buffer_free(&text);
    rp_buffer_free(&collapsed);
    rp_report_release(&written);
}

/* A request no sample landed in has no CPU time measured: null in JSON,
 * said in words in text, and read back as such. */
UNIT_TEST(unmeasured_cpu_time_is_null_not_zero)
{
    struct rp_report written, read;
    struct rp_buffer json, text;
    char error[256];

    report_make_burn(&written);
    written.cpu_ms = 0;
    written.cpu_measured = false;
    json = render_json(&written);
    EXPECT_TRUE(strstr(json.data, "\"cpu_ms\": null, ") != NULL);
    EXPECT_INT_EQ(0, rp_report_from_json(json.data, json.length, &read, error,
                                         sizeof error));
    EXPECT_STR_EQ("", error);
    EXPECT_TRUE(!read.cpu_measured);
    EXPECT_TRUE(read.cpu_ms == 0);
    text = render_text(&read, true, false);
    EXPECT_TRUE(strstr(text.data, "CPU time: not measured (no sample)\n"));
    rp_buffer_free(&json);
    rp_buffer_free(&text);
    rp_report_release(&written);
    rp_report_release(&read);
}

/* A report of version 4 (no objects, no addresses) reads, and is written
 * back as the current version with none known. */
UNIT_TEST(version_4_is_read_without_objects_or_addresses)
{
    struct rp_report report, read;
    struct rp_buffer json, older, again;
    char error[256];

    report_make_burn(&report);
    json = render_json(&report);
    rp_buffer_init(&older);
    fixture_json_as_version_4(json.data, &older);
    EXPECT_TRUE(strstr(older.data, "address") == NULL);
    EXPECT_INT_EQ(0, rp_report_from_json(older.data, older.length, &read,
                                         error, sizeof error));
    EXPECT_STR_EQ("", error);
    if (read.tree != NULL) {
        size_t objects;

        rp_calltree_objects(read.tree, &objects);
        EXPECT_INT_EQ(0, objects);
        again = render_json(&read);
        EXPECT_TRUE(strstr(again.data, "\"objects\": [],\n \"root\"") != NULL);
        EXPECT_TRUE(strstr(again.data, "\"address\": \"") == NULL);
        rp_buffer_free(&again);
    }
    rp_buffer_free(&json);
    rp_buffer_free(&older);
    rp_report_release(&report);
    rp_report_release(&read);
}

UNIT_TEST(json_has_the_documented_shape)
{
    static const char start[] =
        "{\"format\": \"reqprof-report\", \"version\": 6, "
        "\"reqprof\": \"0.1.0\",\n \"request\": ";
    struct rp_report report;
    struct rp_buffer json;

    report_make_burn(&report);
    strcpy(report.reqprof_version, "0.1.0");
    json = render_json(&report);
    EXPECT_TRUE(strncmp(json.data, start, strlen(start)) == 0);
    EXPECT_TRUE(strstr(json.data, "\"duration_ms\": 203.400, "
                                  "\"cpu_ms\": 201.200") != NULL);
    EXPECT_TRUE(strstr(json.data, "\"requests\": 1,\n \"objects\": [\n"
                                  "  {\"name\": \"test_server\", \"build_id\": "
                                  "\"0123abcd\", \"text_start\": \"0x1000\", "
                                  "\"text_end\": \"0x2000\", \"text_offset\": "
                                  "\"0x1000\"}],\n \"root\": ") != NULL);
    EXPECT_TRUE(strstr(json.data, "\"root\": {\"function\": \"[request]\", "
                                  "\"object\": null, \"file\": null, "
                                  "\"line\": null, \"address\": null, "
                                  "\"total\": 203, \"self\": 0, "
                                  "\"children\": [") != NULL);
    EXPECT_TRUE(strstr(json.data, "{\"function\": \"burn_alpha\", \"object\": "
                                  "\"test_server\", \"file\": \"test_server.c\", "
                                  "\"line\": 40, \"address\": \"0x1139\", "
                                  "\"total\": 200, ") != NULL);
    EXPECT_TRUE(strstr(json.data, "{\"function\": \"read\", \"object\": "
                                  "\"libc.so.6\", \"file\": null, \"line\": "
                                  "null, \"address\": null, \"total\": 1, "
                                  "\"self\": 1, \"children\": []}") != NULL);
    EXPECT_TRUE(json.data[json.length - 1] == '\n');
    rp_buffer_free(&json);
    rp_report_release(&report);
}

UNIT_TEST(text_has_pyinstrument_lines)
{
    static const char tree_lines[] =
        "203.0 [request] GET /burn?ms=200\n"
        "└─ 203.0 main  test_server.c:120\n"
        "   └─ 203.0 handle_request  test_server.c:88\n"
        "      ├─ 200.0 burn_alpha  test_server.c:40\n"
        "      │  ├─ 150.0 [self]\n"
        "      │  └─ 50.0 burn_beta  burn_beta_impl.c:52\n"
        "      ├─ 2.0 [self]\n"
        "      └─ 1.0 read  libc.so.6\n";
    struct rp_report report;
    struct rp_buffer text;

    report_make_burn(&report);
    text = render_text(&report, true, false);
    EXPECT_TRUE(strncmp(text.data, RP_REPORT_TEXT_MAGIC,
                        strlen(RP_REPORT_TEXT_MAGIC)) == 0);
    EXPECT_TRUE(strstr(text.data, "Samples:  203 (every 1.0 ms, 4 dropped)"));
    EXPECT_TRUE(strstr(text.data, "Duration: 203.4 ms"));
    EXPECT_TRUE(strstr(text.data, "CPU time: 201.2 ms"));
    EXPECT_TRUE(strstr(text.data, "Program: /usr/local/bin/test_server "
                                  "(pid 1234)\n"));
    rp_buffer_free(&text);
    strcpy(report.reqprof_version, "9.8.7");
    text = render_text(&report, true, false);
    EXPECT_TRUE(strstr(text.data, "Program: /usr/local/bin/test_server "
                                  "(pid 1234) under reqprof 9.8.7\n"));
    EXPECT_TRUE(strstr(text.data, "Request: GET /burn?ms=200 → 200 "
                                  "(78 bytes in, 120 bytes out)\n"));
    if (strstr(text.data, tree_lines) == NULL)
        UNIT_FAIL_AT("tree not found in:\n%s", text.data);
    EXPECT_TRUE(text_is_clean(text.data, text.length, false));
    rp_buffer_free(&text);
    rp_report_release(&report);
}

UNIT_TEST(text_in_ascii_and_colour)
{
    struct rp_report report;
    struct rp_buffer ascii, color;

    report_make_burn(&report);
    ascii = render_text(&report, false, false);
    EXPECT_TRUE(strstr(ascii.data, "      |  |- 150.0 [self]\n"));
    EXPECT_TRUE(strstr(ascii.data, "      `- 1.0 read  libc.so.6\n"));
    EXPECT_TRUE(strstr(ascii.data, "GET /burn?ms=200 -> 200"));
    for (size_t i = 0; i < ascii.length; i++) {
        if ((unsigned char)ascii.data[i] >= 0x80) {
            UNIT_FAIL_AT("non-ASCII byte at %zu", i);
            break;
        }
    }
    color = render_text(&report, true, true);
    EXPECT_TRUE(strstr(color.data, "\033[31m200.0\033[0m \033[1mburn_alpha"
                                   "\033[0m  \033[2mtest_server.c:40\033[0m"));
    EXPECT_TRUE(strstr(ascii.data, "\033[") == NULL);
    rp_buffer_free(&ascii);
    rp_buffer_free(&color);
    rp_report_release(&report);
}

UNIT_TEST(hostile_strings_give_valid_json_and_clean_text)
{
    static const char path[] = "/a\"b\\c\nd\x01" "e\x1b[31m\xff\xc3(\xe2\x82";
    static const char path_read[] =
        "/a\"b\\c\nd\x01" "e\x1b[31m" RP_UTF8_REPLACEMENT RP_UTF8_REPLACEMENT
        "(" RP_UTF8_REPLACEMENT RP_UTF8_REPLACEMENT;
    struct rp_report report, read;
    struct rp_buffer first, second, text;
    uint32_t stack[2];
    char error[256];

    report_make_burn(&report);
    memcpy(report.path, path, sizeof path);
    strcpy(report.program, "/opt/caf\xe9/\xf0\x9f\x8d\xb5server");
    stack[0] = fixture_frame(report.tree, "operator\"\"_x<\x7f\t>", "lib\x80.so",
                             "dir\\file\r.c", 7);
    stack[1] = fixture_frame(report.tree, "\xc0\xaf", NULL, NULL, 0);
    rp_calltree_add_stack(report.tree, stack, 2, 3);
    report.samples += 3;
    rp_calltree_sort(report.tree);

    first = render_json(&report);
    EXPECT_TRUE(text_is_clean(first.data, first.length, false));
    EXPECT_INT_EQ(0, rp_report_from_json(first.data, first.length, &read, error,
                                         sizeof error));
    EXPECT_STR_EQ("", error);
    EXPECT_STR_EQ(path_read, read.path);
    EXPECT_STR_EQ("/opt/caf" RP_UTF8_REPLACEMENT "/\xf0\x9f\x8d\xb5server",
                  read.program);
    second = render_json(&read);
    EXPECT_TRUE(second.data && strcmp(first.data, second.data) == 0);

    text = render_text(&report, true, false);
    EXPECT_TRUE(text_is_clean(text.data, text.length, false));
    EXPECT_TRUE(strstr(text.data, "\xf0\x9f\x8d\xb5server") != NULL);
    rp_buffer_free(&text);
    text = render_text(&report, true, true);
    EXPECT_TRUE(text_is_clean(text.data, text.length, true));
    EXPECT_TRUE(strstr(text.data, "\x1b[31m\xff") == NULL);
    rp_buffer_free(&text);
    rp_buffer_free(&first);
    rp_buffer_free(&second);
    rp_report_release(&report);
    rp_report_release(&read);
}

UNIT_TEST(long_strings_are_cut_at_a_character)
{
    struct rp_buffer json;
    struct rp_report report, read;
    char error[256];

    /* 300 "é": 600 bytes for a 512-byte array. */
    report_make_burn(&report);
    json = render_json(&report);
    {
        struct rp_buffer path;

        rp_buffer_init(&path);
        rp_buffer_puts(&path, "\"path\": \"");
        for (int i = 0; i < 300; i++)
            rp_buffer_puts(&path, "\xc3\xa9");
        rp_buffer_puts(&path, "\"");
        EXPECT_TRUE(text_replace(&json, "\"path\": \"/burn?ms=200\"",
                                 path.data));
        rp_buffer_free(&path);
    }
    EXPECT_INT_EQ(0, rp_report_from_json(json.data, json.length, &read, error,
                                         sizeof error));
    EXPECT_INT_EQ(510, strlen(read.path));
    EXPECT_TRUE(text_is_clean(read.path, strlen(read.path), false));
    rp_buffer_free(&json);
    rp_report_release(&report);
    rp_report_release(&read);
}

UNIT_TEST(every_truncation_is_refused)
{
    struct rp_report report;
    struct rp_buffer json;

    report_make_burn(&report);
    json = render_json(&report);
    /* The last byte is the newline after the object: only that may go. */
    for (size_t length = 0; length + 1 < json.length; length++)
        expect_refused(json.data, length, NULL, __LINE__);
    rp_buffer_free(&json);
    rp_report_release(&report);
}

UNIT_TEST(foreign_and_broken_json_is_refused_with_a_reason)
{
    struct rp_report report;
    struct rp_buffer json;
    static const struct json_edit edits[] = {
        {"\"version\": 6", "\"version\": 7", "version 7 is not supported"},
        {"\"version\": 6", "\"version\": 0", "version 0 is not supported"},
        {"\"cpu_samples\": null, ", "", "expected \"cpu_samples\""},
        {"\"cpu_samples\": null", "\"cpu_samples\": 3", "expected \"cpu_total\""},
        {"\"address\": \"0x1139\"", "\"address\": \"0x0\"",
         "unknown address is written as null"},
        {"\"address\": \"0x1139\"", "\"address\": \"0X1139\"",
         "expected an address"},
        {"\"address\": \"0x1139\"", "\"address\": \"0x01139\"",
         "expected an address"},
        {"\"address\": \"0x1139\"", "\"address\": \"0x11390000000000000\"",
         "expected an address"},
        {"\"build_id\": \"0123abcd\"", "\"build_id\": \"0123ABCD\"",
         "not lowercase hex"},
        {"\"build_id\": \"0123abcd\"", "\"build_id\": \"0123abc\"",
         "not lowercase hex"},
        {"\"text_end\": \"0x2000\"", "\"text_end\": \"0xfff\"",
         "ends before it starts"},
        {"\"text_offset\": \"0x1000\"}]",
         "\"text_offset\": \"0x1000\"},\n  {\"name\": \"test_server\", "
         "\"build_id\": null, \"text_start\": \"0x0\", \"text_end\": "
         "\"0x0\", \"text_offset\": \"0x0\"}]",
         "listed twice"},
        {"{\"name\": \"test_server\"", "{\"name\": \"\"", "without a name"},
        {"\"reqprof\": \"\"", "\"reqprof\": 4", "expected a string"},
        {", \"reqprof\": \"\"", "", "expected \"reqprof\""},
        {"\"requests\": 1", "\"requests\": 0", "covers at least one"},
        {"\"timeline\": null", "\"timeline\": []]", "expected '}'"},
        {"\"timeline\": null", "\"timeline\": [[0, 99, 1]]", "node 99 of"},
        {"\"timeline\": null", "\"timeline\": [[0, 1, 0]]", "weight out of"},
        {"\"timeline\": null", "\"timeline\": [[5, 1, 1], [4, 1, 1]]",
         "back in time"},
        {"\"timeline\": null", "\"timeline\": [[5, 1, 300]]",
         "more samples than the tree"},
        {"\"cpu_ms\": 201.200, ", "", "expected \"cpu_ms\""},
        {"\"status\": 200", "\"status\": \"200\"", "expected a number"},
        {"\"status\": 200", "\"status\": 200.5", "expected an integer"},
        {"\"status\": 200", "\"status\": -1", "negative"},
        {"\"status\": 200", "\"status\": 99999999999", "out of range"},
        {"\"status\": 200", "\"status\": 0200", "leading zero"},
        {"\"samples\": 203", "\"samples\": 204", "but the tree holds 203"},
        {"\"total\": 203, \"self\": 0", "\"total\": 204, \"self\": 0",
         "total 204 is not self plus"},
        {"\"line\": 40", "\"line\": 0", "unknown line is written as null"},
        {"\"function\": \"[request]\"", "\"function\": \"main\"",
         "root must be"},
        {"\"path\": \"/burn?ms=200\"", "\"path\": \"/burn\\u0000\"",
         "\\u0000"},
        {"\"path\": \"/burn?ms=200\"", "\"path\": \"\\ud800\"", "surrogate"},
        {"\"path\": \"/burn?ms=200\"", "\"path\": \"\\q\"", "bad escape"},
        {"\"path\": \"/burn?ms=200\"", "\"path\": \"\xff\"", "invalid UTF-8"},
        {"\"duration_ms\": 203.400", "\"duration_ms\": 1e999",
         "out of range"},
        {"\"duration_ms\": 203.400", "\"duration_ms\": 1.", "digits"},
        /* Renderers count times in nanoseconds (pprof). */
        {"\"duration_ms\": 203.400", "\"duration_ms\": -13.945",
         "time out of range"},
        {"\"cpu_ms\": 201.200", "\"cpu_ms\": 2e12", "time out of range"},
        {"\"interval_ms\": 1.000", "\"interval_ms\": -1", "time out of range"},
        {"\"libc.so.6\"", "\"libc.so.6", "expected ','"},
        {"\"children\": []}", "\"children\": [,]}", "expected '{'"},
    };

    EXPECT_REFUSED("", "not a reqprof report");
    EXPECT_REFUSED("hello", "not a reqprof report");
    EXPECT_REFUSED("\x1f\x8b\x08\x00garbage", "not a reqprof report");
    EXPECT_REFUSED("[1, 2]", "not a reqprof report");
    EXPECT_REFUSED("{\"name\": \"x\", \"format\": \"reqprof-report\"}",
                   "not a reqprof report");
    EXPECT_REFUSED("{\"format\": \"pprof\"}", "not a reqprof report");
    EXPECT_REFUSED("{\"format\"", "not a reqprof report");

    report_make_burn(&report);
    expect_edits_refused(&report, edits, sizeof edits / sizeof edits[0]);
    json = render_json(&report);
    rp_buffer_puts(&json, "{}");
    expect_refused(json.data, json.length, "unexpected data after", __LINE__);
    rp_buffer_free(&json);
    rp_report_release(&report);
}

/* Appends a minimal node with the given function and no children. */
static void json_put_leaf(struct rp_buffer *json, const char *function)
{
    rp_buffer_printf(json, "{\"function\": \"%s\", \"object\": null, "
                           "\"file\": null, \"line\": null, \"total\": 1, "
                           "\"self\": 1, \"children\": []}", function);
}

/* A report whose root has the given children (JSON nodes) and total. */
static void json_put_report(struct rp_buffer *json, const char *children,
                            unsigned total)
{
    rp_buffer_printf(json,
                     "{\"format\": \"reqprof-report\", \"version\": 1,\n"
                     "\"request\": {\"method\": \"GET\", \"path\": \"/\", "
                     "\"status\": 200, \"start_unix_us\": 0, "
                     "\"duration_ms\": 1, \"cpu_ms\": 1, \"request_bytes\": 1, "
                     "\"response_bytes\": 1},\n"
                     "\"process\": {\"pid\": 1, \"program\": \"p\"},\n"
                     "\"interval_ms\": 1, \"samples\": %u, "
                     "\"samples_dropped\": 0,\n"
                     "\"root\": {\"function\": \"[request]\", "
                     "\"object\": null, \"file\": null, \"line\": null, "
                     "\"total\": %u, "
                     "\"self\": 0, \"children\": [%s]}}",
                     total, total, children);
}

UNIT_TEST(version_1_is_read_as_one_request_without_timeline)
{
    struct rp_buffer children, json, again;
    struct rp_report report;
    size_t points = 99;
    char error[256];

    rp_buffer_init(&children);
    rp_buffer_init(&json);
    json_put_leaf(&children, "only");
    json_put_report(&json, children.data, 1);
    EXPECT_INT_EQ(0, rp_report_from_json(json.data, json.length, &report,
                                         error, sizeof error));
    EXPECT_STR_EQ("", error);
    EXPECT_INT_EQ(1, report.requests);
    if (report.tree != NULL) {
        rp_calltree_timeline(report.tree, &points);
        EXPECT_INT_EQ(0, points);
        again = render_json(&report);
        EXPECT_TRUE(strstr(again.data, "\"version\": 6, \"reqprof\": \"\",") !=
                    NULL);
        /* Version 1 did not say what ran: not "nothing ran". */
        EXPECT_TRUE(strstr(again.data, "\"cpu_samples\": null,") != NULL);
        EXPECT_TRUE(strstr(again.data, "cpu_total") == NULL);
        EXPECT_TRUE(strstr(again.data, "\"requests\": 1,") != NULL);
        EXPECT_TRUE(strstr(again.data, ",\n \"timeline\": null}\n") != NULL);
        rp_buffer_free(&again);
    }
    rp_report_release(&report);
    rp_buffer_free(&children);
    rp_buffer_free(&json);
}

UNIT_TEST(timeline_and_request_count_read_back_the_same)
{
    struct rp_report written, read;
    struct rp_buffer first, second;
    const struct rp_timeline_point *points;
    size_t count;
    uint32_t stack[2];
    char error[256];

    /* Samples at 1 ms steps from a monotonic time of 5 s; the request
     * began at 5 s, so the timeline starts near 0. */
    report_make_burn(&written);
    written.requests = 3;
    stack[0] = fixture_frame(written.tree, "main", "test_server", "test_server.c",
                             120);
    stack[1] = fixture_frame(written.tree, "tick", "test_server", "test_server.c",
                             9);
    for (int i = 1; i <= 5; i++)
        EXPECT_INT_EQ(0, rp_calltree_add_sample(written.tree, stack, 2,
                                                i == 3 ? 2 : 1, 1,
                                                UINT64_C(5000000000) +
                                                    (uint64_t)i * 1000000));
    written.samples += 6;
    rp_calltree_timeline_rebase(written.tree, UINT64_C(5000000000));
    rp_calltree_sort(written.tree);
    first = render_json(&written);
    EXPECT_TRUE(strstr(first.data, "\"requests\": 3,") != NULL);
    /* main is node 1, handle_request 2, burn_alpha 3, burn_beta 4, read 5,
     * tick 6 (the tree lists heaviest first). */
    if (strstr(first.data, "\"timeline\": [\n  [1000, 6, 1, 1], [2000, 6, 1, 1], "
                           "[3000, 6, 2, 1], [4000, 6, 1, 1], [5000, 6, 1, 1]]}\n") ==
        NULL)
        UNIT_FAIL_AT("timeline not as expected in:\n%s", first.data);
    EXPECT_INT_EQ(0, rp_report_from_json(first.data, first.length, &read, error,
                                         sizeof error));
    EXPECT_STR_EQ("", error);
    EXPECT_INT_EQ(3, read.requests);
    if (read.tree != NULL) {
        points = rp_calltree_timeline(read.tree, &count);
        EXPECT_INT_EQ(5, count);
        EXPECT_INT_EQ(3000000, points[2].time_ns);
        EXPECT_INT_EQ(2, points[2].weight);
        EXPECT_STR_EQ("tick",
                      rp_calltree_frame(read.tree, points[2].leaf->frame)
                          ->function);
        second = render_json(&read);
        EXPECT_TRUE(second.data && strcmp(first.data, second.data) == 0);
        rp_buffer_free(&second);
    }
    /* Cut anywhere, the timeline too is refused, never half read. */
    for (size_t length = 0; length + 1 < first.length; length++)
        expect_refused(first.data, length, NULL, __LINE__);
    rp_buffer_free(&first);
    rp_report_release(&written);
    rp_report_release(&read);
}

/* A request that waited 100 ms in poll, then burned 50 ms: per node,
 * the samples on the CPU go to JSON and back, and text marks the wait. */
UNIT_TEST(cpu_counts_read_back_the_same_and_are_checked)
{
    static const struct json_edit edits[] = {
        {"\"cpu_samples\": 50", "\"cpu_samples\": 51", "cpu_samples is 51 but the tree holds 50"},
        {"\"self\": 100, \"cpu_total\": 0", "\"self\": 100, \"cpu_total\": 101",
         "more samples on the CPU than in all"},
        {"\"cpu_total\": 50, \"cpu_self\": 0", "\"cpu_total\": 49, \"cpu_self\": 0",
         "cpu_total 49 is not cpu_self plus the children's, 50"},
        {"[150000, 3, 50, 50]", "[150000, 3, 50, 51]", "more samples on the CPU than in all"},
        {"[150000, 3, 50, 50]", "[150000, 3, 50]", "expected ','"},
    };
    struct rp_report written, read;
    struct rp_buffer first, second, text;
    uint32_t stack[2];
    char error[256];

    struct rp_calltree *tree = fixture_report(&written, "/pollburn", 77, "/srv/test_server");
    written.samples = 150;
    stack[0] = fixture_frame(tree, "route_pollburn", "test_server", "test_server.c", 418);
    stack[1] = fixture_frame(tree, "__poll", "libc.so.6", NULL, 0);
    EXPECT_INT_EQ(0, rp_calltree_add_sample(tree, stack, 2, 100, 0, 100000000));
    stack[1] = fixture_frame(tree, "burn_alpha", "test_server", "test_server.c", 145);
    EXPECT_INT_EQ(0, rp_calltree_add_sample(tree, stack, 2, 50, 50, 150000000));
    rp_calltree_sort(tree);
    first = render_json(&written);
    EXPECT_TRUE(strstr(first.data, "\"samples\": 150, \"cpu_samples\": 50,") != NULL);
    EXPECT_TRUE(strstr(first.data, "\"function\": \"__poll\", \"object\": \"libc.so.6\", "
                                   "\"file\": null, \"line\": null, \"address\": null, "
                                   "\"total\": 100, \"self\": 100, \"cpu_total\": 0, "
                                   "\"cpu_self\": 0,") != NULL);
    EXPECT_TRUE(strstr(first.data, "\"total\": 150, \"self\": 0, \"cpu_total\": 50, "
                                   "\"cpu_self\": 0,") != NULL);
    EXPECT_TRUE(strstr(first.data, "[100000, 2, 100, 0], [150000, 3, 50, 50]") != NULL);
    EXPECT_INT_EQ(0, rp_report_from_json(first.data, first.length, &read, error, sizeof error));
    EXPECT_STR_EQ("", error);
    if (read.tree != NULL) {
        EXPECT_TRUE(rp_calltree_cpu_known(read.tree));
        EXPECT_INT_EQ(50, rp_calltree_root(read.tree)->cpu_total);
        second = render_json(&read);
        EXPECT_TRUE(second.data && strcmp(first.data, second.data) == 0);
        rp_buffer_free(&second);
        text = render_text(&read, false, false);
        EXPECT_TRUE(strstr(text.data, "100.0 __poll  libc.so.6  [waited 100%]\n") != NULL);
        EXPECT_TRUE(strstr(text.data, "50.0 burn_alpha  test_server.c:145\n") != NULL);
        EXPECT_TRUE(strstr(text.data, "(50 of the samples ran, 100 waited)") != NULL);
        rp_buffer_free(&text);
    }
    expect_edits_refused(&written, edits, sizeof edits / sizeof edits[0]);
    rp_buffer_free(&first);
    rp_report_release(&written);
    rp_report_release(&read);
}

UNIT_TEST(text_with_defaults_is_the_documented_example)
{
    static const char tree_lines[] =
        "203.0 [request] GET /burn?ms=200\n"
        "└─ 203.0 main  test_server.c:120\n"
        "   └─ 203.0 handle_request  test_server.c:88\n"
        "      └─ 200.0 burn_alpha  test_server.c:40\n"
        "         ├─ 150.0 [self]\n"
        "         └─ 50.0 burn_beta  burn_beta_impl.c:52\n"
        "\n"
        "1 frame under 1% of the request not shown "
        "(REQPROF_SHOW_ALL=1 shows every frame)\n";
    struct rp_text_options options = {.unicode = true, .fold_libraries = true,
                                      .threshold = RP_TEXT_THRESHOLD_DEFAULT};
    struct rp_report report;
    struct rp_buffer text;

    report_make_burn(&report);
    rp_buffer_init(&text);
    EXPECT_INT_EQ(0, rp_render_text(&report, &options, &text));
    if (strstr(text.data, tree_lines) == NULL)
        UNIT_FAIL_AT("tree not found in:\n%s", text.data);
    rp_buffer_free(&text);
    rp_report_release(&report);
}

UNIT_TEST(the_same_frame_twice_among_siblings_is_refused)
{
    struct rp_buffer children, json;

    rp_buffer_init(&children);
    rp_buffer_init(&json);
    json_put_leaf(&children, "twice");
    rp_buffer_puts(&children, ", ");
    json_put_leaf(&children, "twice");
    json_put_report(&json, children.data, 2);
    expect_refused(json.data, json.length, "the same frame twice", __LINE__);
    rp_buffer_free(&children);
    rp_buffer_free(&json);
}

/* A chain of depth nodes, each the only child of the one before. */
static void json_put_chain(struct rp_buffer *json, int depth)
{
    struct rp_buffer chain;

    rp_buffer_init(&chain);
    for (int i = 0; i < depth; i++)
        rp_buffer_printf(&chain, "{\"function\": \"f\", \"object\": null, "
                                 "\"file\": null, \"line\": null, "
                                 "\"total\": 1, \"self\": %d, "
                                 "\"children\": [", i == depth - 1);
    for (int i = 0; i < depth; i++)
        rp_buffer_puts(&chain, "]}");
    json_put_report(json, chain.data, 1);
    rp_buffer_free(&chain);
}

UNIT_TEST(nesting_is_limited)
{
    struct rp_buffer json, again;
    struct rp_report report;
    char error[256];

    rp_buffer_init(&json);
    json_put_chain(&json, DEPTH_ALLOWED);
    EXPECT_INT_EQ(0, rp_report_from_json(json.data, json.length, &report,
                                         error, sizeof error));
    EXPECT_STR_EQ("", error);
    if (report.tree != NULL) {
        again = render_json(&report);
        rp_report_release(&report);
        EXPECT_INT_EQ(0, rp_report_from_json(again.data, again.length, &report,
                                             error, sizeof error));
        rp_buffer_free(&again);
        rp_report_release(&report);
    }
    rp_buffer_reset(&json);
    json_put_chain(&json, DEPTH_REFUSED);
    expect_refused(json.data, json.length, "nested deeper than", __LINE__);
    rp_buffer_free(&json);
}

UNIT_TEST(changed_bytes_never_crash_the_reader)
{
    static const char replacements[] = {'"', '{', '}', '[', ']', ',', ':', '0',
                                        '-', '\\', ' ', 'n', '\0', '\x80'};
    struct rp_report report, read;
    struct rp_buffer json;
    char error[64];

    report_make_burn(&report);
    json = render_json(&report);
    for (size_t i = 0; i < json.length; i++) {
        char original = json.data[i];

        for (size_t r = 0; r < sizeof replacements; r++) {
            json.data[i] = replacements[r];
            if (rp_report_from_json(json.data, json.length, &read, error,
                                    sizeof error) == 0)
                rp_report_release(&read);
            else if (error[0] == '\0')
                UNIT_FAIL_AT("refused without a reason at byte %zu", i);
        }
        json.data[i] = original;
    }
    rp_buffer_free(&json);
    rp_report_release(&report);
}

UNIT_TEST(small_error_buffers_are_not_overrun)
{
    struct rp_report report;
    char error[8];

    memset(error, 'x', sizeof error);
    EXPECT_INT_EQ(-1, rp_report_from_json("[]", 2, &report, error, 4));
    EXPECT_STR_EQ("lin", error);
    EXPECT_TRUE(error[4] == 'x');
    EXPECT_INT_EQ(-1, rp_report_from_json("[]", 2, &report, NULL, 0));
}

UNIT_TEST(decimals_ignore_sign_of_zero_and_non_finite_values)
{
    static const struct {
        double value;
        int decimals;
        const char *expected;
    } cases[] = {
        {203.4, 3, "203.400"}, {-0.0004, 3, "0.000"}, {-1.25, 1, "-1.3"},
        {0.05, 1, "0.1"},      {203.5, 0, "204"},     {NAN, 3, "0.000"},
        {-INFINITY, 1, "0.0"}, {1e300, 3, "9007199254740.992"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rp_buffer out;

        rp_buffer_init(&out);
        rp_buffer_put_decimal(&out, cases[i].value, cases[i].decimals);
        EXPECT_STR_EQ(cases[i].expected, out.data);
        rp_buffer_free(&out);
    }
}

UNIT_TEST(integers_are_formatted_as_printf_would)
{
    static const struct {
        int64_t value;
        const char *expected;
    } signed_cases[] = {
        {0, "0"}, {7, "7"}, {-7, "-7"}, {1234567890, "1234567890"},
        {INT64_MAX, "9223372036854775807"}, {INT64_MIN, "-9223372036854775808"},
    };
    char text[RP_FORMAT_FIXED_MAX + 1];

    for (size_t i = 0; i < sizeof signed_cases / sizeof signed_cases[0]; i++) {
        *rp_format_int(text, signed_cases[i].value) = '\0';
        EXPECT_STR_EQ(signed_cases[i].expected, text);
    }
    *rp_format_uint(text, UINT64_MAX) = '\0';
    EXPECT_STR_EQ("18446744073709551615", text);
    *rp_format_uint(text, 10) = '\0';
    EXPECT_STR_EQ("10", text);
}

UNIT_TEST(fixed_point_keeps_its_leading_zeros)
{
    static const struct {
        uint64_t value;
        int decimals;
        const char *expected;
    } cases[] = {
        {203400, 3, "203.400"}, {5, 3, "0.005"}, {0, 3, "0.000"},
        {1000, 3, "1.000"},     {42, 0, "42"},   {UINT64_MAX, 9, "18446744073.709551615"},
    };
    char text[RP_FORMAT_FIXED_MAX + 1];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        *rp_format_fixed(text, cases[i].value, cases[i].decimals) = '\0';
        EXPECT_STR_EQ(cases[i].expected, text);
    }
}

UNIT_TEST(index_lines_have_the_documented_fields)
{
    static const char path[] = "/a b%\t\x7f\xc3\xa9?q=1";
    struct rp_index_line line = {
        .start_unix_us = 1795000000123456,
        .pid = 1234,
        .method = "GET",
        .path = path,
        .path_length = sizeof path - 1,
        .status = 200,
        .duration_ns = 203400499,
        .cpu_ns = 201200500,
        .cpu_measured = true,
        .samples = 203,
        .file = "20261121T132158.208Z_GET_a_b_200_203ms_1234-7",
        .wait_ns = 81311499,
    };
    struct rp_buffer lines;

    rp_buffer_init(&lines);
    rp_index_line_append(&lines, &line);
    line.cpu_measured = false;
    line.duration_ns = 5;
    line.samples = 0;
    line.wait_ns = 0;
    line.file = RP_INDEX_NO_FILE_OVER_MAX_REPORTS;
    rp_index_line_append(&lines, &line);
    /* The counts at their longest. */
    line.samples = UINT64_MAX;
    line.shared_samples = UINT64_MAX;
    line.wait_ns = UINT64_MAX;
    rp_index_line_append(&lines, &line);
    EXPECT_STR_EQ("1795000000123456\t1234\tGET\t/a%20b%25%09%7F\xc3\xa9?q=1\t200\t"
                  "203.400\t201.201\t203\t"
                  "20261121T132158.208Z_GET_a_b_200_203ms_1234-7\t0\t81.311\n"
                  "1795000000123456\t1234\tGET\t/a%20b%25%09%7F\xc3\xa9?q=1\t200\t"
                  "0.000\t-\t0\t-max-reports\t0\t0.000\n"
                  "1795000000123456\t1234\tGET\t/a%20b%25%09%7F\xc3\xa9?q=1\t200\t"
                  "0.000\t-\t18446744073709551615\t-max-reports\t"
                  "18446744073709551615\t18446744073709.552\n",
                  lines.data);
    rp_buffer_free(&lines);
}

int main(void)
{
    UNIT_RUN(json_reads_back_the_same_report);
    UNIT_RUN(inlined_frames_are_marked_in_every_format);
    UNIT_RUN(unmeasured_cpu_time_is_null_not_zero);
    UNIT_RUN(integers_are_formatted_as_printf_would);
    UNIT_RUN(fixed_point_keeps_its_leading_zeros);
    UNIT_RUN(index_lines_have_the_documented_fields);
    UNIT_RUN(json_has_the_documented_shape);
    UNIT_RUN(version_4_is_read_without_objects_or_addresses);
    UNIT_RUN(text_has_pyinstrument_lines);
    UNIT_RUN(text_in_ascii_and_colour);
    UNIT_RUN(hostile_strings_give_valid_json_and_clean_text);
    UNIT_RUN(long_strings_are_cut_at_a_character);
    UNIT_RUN(every_truncation_is_refused);
    UNIT_RUN(foreign_and_broken_json_is_refused_with_a_reason);
    UNIT_RUN(version_1_is_read_as_one_request_without_timeline);
    UNIT_RUN(timeline_and_request_count_read_back_the_same);
    UNIT_RUN(text_with_defaults_is_the_documented_example);
    UNIT_RUN(the_same_frame_twice_among_siblings_is_refused);
    UNIT_RUN(nesting_is_limited);
    UNIT_RUN(cpu_counts_read_back_the_same_and_are_checked);
    UNIT_RUN(changed_bytes_never_crash_the_reader);
    UNIT_RUN(small_error_buffers_are_not_overrun);
    UNIT_RUN(decimals_ignore_sign_of_zero_and_non_finite_values);
    return unit_finish();
}
