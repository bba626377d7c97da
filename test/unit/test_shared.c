/*
 * Unit tests of how reports show work shared between requests
 * (renderers/shared.c and every format): the "[shared: N requests]"
 * frame, the header line in text, "attribution" in JSON and its version,
 * the HTML page's data, the exports, and the index line's column.
 */
#include <stdlib.h>

#include "index_line.h"
#include "report.h"
#include "report_fixture.h"
#include "unit.h"

/*
 * A request of an event loop that had it open with two others for part of
 * its work: 150 samples of its own in handle_request, and 50 under
 * "[shared: 3 requests]" (its third of 150 the loop spent on all three),
 * so a quarter of its samples are shared.
 */
static void report_make_shared(struct rp_report *report)
{
    char shared_name[RP_SHARED_FRAME_NAME_MAX];
    struct rp_calltree *tree = fixture_report(report, "/lua", 1234, "/usr/sbin/haproxy");
    uint32_t stack[3];

    report->duration_ms = 210;
    report->cpu_ms = 199.5;
    report->cpu_measured = true;
    report->samples = 200;
    report->shared_samples = 50;

    stack[0] = fixture_frame(tree, "run_poll_loop", "haproxy", NULL, 0);
    stack[1] = fixture_frame(tree, "handle_request", "haproxy", NULL, 0);
    rp_calltree_add_stack(tree, stack, 2, 150);
    stack[0] = fixture_frame(tree, rp_shared_frame_name(shared_name, 3), NULL, NULL, 0);
    stack[1] = fixture_frame(tree, "run_poll_loop", "haproxy", NULL, 0);
    stack[2] = fixture_frame(tree, "lua_burn", "haproxy", NULL, 0);
    rp_calltree_add_stack(tree, stack, 3, 50);
    rp_calltree_sort(tree);
}

UNIT_TEST(shared_frames_are_named_and_told_apart)
{
    static const char *const not_shared[] = {
        "[shared: 1 requests]", "[shared: 03 requests]", "[shared:  requests]",
        "[shared: 3 requests] ", "[shared: 3 request]", "[shared: -3 requests]",
        "[shared: 3 requests", "[request]", "shared",
    };
    char name[RP_SHARED_FRAME_NAME_MAX];
    struct rp_frame frame = {name, NULL, NULL, 0, false, 0};

    EXPECT_STR_EQ("[shared: 3 requests]", rp_shared_frame_name(name, 3));
    EXPECT_TRUE(rp_frame_is_shared(&frame));
    rp_shared_frame_name(name, UINT64_MAX);
    EXPECT_STR_EQ("[shared: 18446744073709551615 requests]", name);
    EXPECT_INT_EQ(RP_SHARED_FRAME_NAME_MAX - 1, strlen(name));
    EXPECT_TRUE(rp_frame_is_shared(&frame));
    /* A function of that name in some object is the program's own. */
    frame.object = "haproxy";
    EXPECT_TRUE(!rp_frame_is_shared(&frame));
    frame.object = NULL;
    for (size_t i = 0; i < sizeof not_shared / sizeof not_shared[0]; i++) {
        frame.function = not_shared[i];
        if (rp_frame_is_shared(&frame))
            UNIT_FAIL_AT("\"%s\" taken for a shared frame", not_shared[i]);
    }
}

UNIT_TEST(the_mark_is_over_a_tenth_shared)
{
    EXPECT_TRUE(rp_shared_share(0, 0) == 0);
    EXPECT_TRUE(rp_shared_share(1, 4) == 0.25);
    EXPECT_TRUE(!rp_shared_is_marked(0, 0));
    EXPECT_TRUE(!rp_shared_is_marked(10, 100));
    EXPECT_TRUE(rp_shared_is_marked(11, 100));
    EXPECT_TRUE(rp_shared_is_marked(1, 1));
}

UNIT_TEST(text_says_the_shared_share_in_its_header)
{
    static const char line[] =
        "Request: GET /lua → 200 (0 bytes in, 0 bytes out)\n"
        "Shared:  50.0 ms (25.0%) under [shared: N requests]: the bytes could "
        "not tell which of N requests\n"
        "         this work was for, so its samples are split evenly between "
        "them\n\n";
    static const char tree[] =
        "200.0 [request] GET /lua\n"
        "├─ 150.0 run_poll_loop  haproxy\n"
        "│  └─ 150.0 handle_request  haproxy\n"
        "└─ 50.0 [shared: 3 requests]\n"
        "   └─ 50.0 run_poll_loop  haproxy\n"
        "      └─ 50.0 lua_burn  haproxy\n";
    struct rp_report report;
    struct rp_buffer text, color, alone;

    report_make_shared(&report);
    text = fixture_render(&report, RP_FORMAT_TEXT, false);
    EXPECT_HAS(text.data, line);
    EXPECT_HAS(text.data, tree);
    /* Over the mark its share is yellow, and the node is not drawn as one
     * of the request's functions (bold). */
    color = fixture_render(&report, RP_FORMAT_TEXT, true);
    EXPECT_HAS(color.data, "Shared:  \033[33m50.0 ms (25.0%)\033[0m under");
    EXPECT_HAS(color.data, "\033[2m[shared: 3 requests]\033[0m\n");
    /* A request of its own alone says nothing of sharing. */
    report.shared_samples = 0;
    alone = fixture_render(&report, RP_FORMAT_TEXT, false);
    EXPECT_TRUE(strstr(alone.data, "Shared:") == NULL);
    EXPECT_HAS(alone.data, "0 bytes out)\n\n200.0 [request]");
    rp_buffer_free(&text);
    rp_buffer_free(&color);
    rp_buffer_free(&alone);
    rp_report_release(&report);
}

UNIT_TEST(json_has_its_attribution_and_reads_it_back)
{
    static const char start[] = "{\"format\": \"reqprof-report\", "
                                "\"version\": 6, \"reqprof\": \"9.8.7\",\n";
    struct rp_report report, read;
    struct rp_buffer json, again;
    char error[256];

    report_make_shared(&report);
    strcpy(report.reqprof_version, "9.8.7");
    json = fixture_render(&report, RP_FORMAT_JSON, false);
    EXPECT_TRUE(strncmp(json.data, start, strlen(start)) == 0);
    EXPECT_HAS(json.data, "\"samples\": 200, \"cpu_samples\": null, \"samples_dropped\": 0, "
                          "\"requests\": 1,\n \"attribution\": "
                          "{\"shared_samples\": 50, \"shared_fraction\": "
                          "0.2500},\n \"objects\": [],\n \"root\": ");
    EXPECT_HAS(json.data, "{\"function\": \"[shared: 3 requests]\", "
                          "\"object\": null, \"file\": null, \"line\": null, "
                          "\"address\": null, \"total\": 50, ");
    EXPECT_INT_EQ(0, rp_report_from_json(json.data, json.length, &read, error,
                                         sizeof error));
    EXPECT_STR_EQ("", error);
    EXPECT_INT_EQ(50, read.shared_samples);
    EXPECT_STR_EQ("9.8.7", read.reqprof_version);
    if (read.tree != NULL) {
        again = fixture_render(&read, RP_FORMAT_JSON, false);
        EXPECT_STR_EQ(json.data, again.data);
        rp_buffer_free(&again);
    }
    rp_buffer_free(&json);
    rp_report_release(&read);
    rp_report_release(&report);
}

/* A report that shares nothing has no "attribution"; its tree must then
 * have no shared node, which this one has. */
UNIT_TEST(a_report_that_shares_nothing_has_no_attribution)
{
    struct rp_report report, read;
    struct rp_buffer json;
    char error[256];

    report_make_shared(&report);
    report.shared_samples = 0;
    json = fixture_render(&report, RP_FORMAT_JSON, false);
    EXPECT_TRUE(strstr(json.data, "attribution") == NULL);
    EXPECT_HAS(json.data, "\"requests\": 1,\n \"objects\": [],\n \"root\": ");
    EXPECT_INT_EQ(-1, rp_report_from_json(json.data, json.length, &read, error,
                                          sizeof error));
    EXPECT_HAS(error, "the tree's [shared] nodes hold 50 samples but "
                      "attribution says 0");
    rp_buffer_free(&json);
    rp_report_release(&report);
}

/* Reports of version 3 (attribution in every one) and 2 (in none) read
 * as they were written, with no version of reqprof known. */
UNIT_TEST(versions_2_and_3_are_still_read)
{
    struct rp_report report, read;
    struct rp_buffer json, older;
    char error[256];
    const char *after;

    report_make_shared(&report);
    rp_buffer_init(&json);
    older = fixture_render(&report, RP_FORMAT_JSON, false);
    fixture_json_as_version_4(older.data, &json);
    rp_buffer_free(&older);
    after = strstr(json.data, "\"reqprof\": \"\"");
    EXPECT_TRUE(after != NULL);
    if (after != NULL) {
        rp_buffer_init(&older);
        rp_buffer_puts(&older, "{\"format\": \"reqprof-report\", "
                               "\"version\": 3");
        rp_buffer_puts(&older, after + strlen("\"reqprof\": \"\""));
        EXPECT_INT_EQ(0, rp_report_from_json(older.data, older.length, &read,
                                             error, sizeof error));
        EXPECT_STR_EQ("", error);
        EXPECT_INT_EQ(50, read.shared_samples);
        EXPECT_STR_EQ("", read.reqprof_version);
        rp_report_release(&read);
        rp_buffer_free(&older);
    }
    rp_buffer_free(&json);
    rp_report_release(&report);
}

/* Expects the report's JSON with from replaced by to to be refused with a
 * reason that holds reason. */
static void expect_edit_refused(const char *from, const char *to,
                                const char *reason, int line)
{
    struct rp_report report, read;
    struct rp_buffer json, edited;
    char error[256] = "";
    char *at;

    report_make_shared(&report);
    json = fixture_render(&report, RP_FORMAT_JSON, false);
    at = strstr(json.data, from);
    if (at == NULL) {
        UNIT_FAIL_AT("(line %d) \"%s\" not in the report", line, from);
    } else {
        rp_buffer_init(&edited);
        rp_buffer_append(&edited, json.data, (size_t)(at - json.data));
        rp_buffer_puts(&edited, to);
        rp_buffer_puts(&edited, at + strlen(from));
        if (rp_report_from_json(edited.data, edited.length, &read, error,
                                sizeof error) == 0) {
            UNIT_FAIL_AT("(line %d) accepted with \"%s\"", line, to);
            rp_report_release(&read);
        } else if (strstr(error, reason) == NULL) {
            UNIT_FAIL_AT("(line %d) error \"%s\" lacks \"%s\"", line, error,
                         reason);
        }
        rp_buffer_free(&edited);
    }
    rp_buffer_free(&json);
    rp_report_release(&report);
}

#define EXPECT_EDIT_REFUSED(from, to, reason)                                \
    expect_edit_refused((from), (to), (reason), __LINE__)

UNIT_TEST(attribution_that_does_not_add_up_is_refused)
{
    EXPECT_EDIT_REFUSED("\"shared_samples\": 50, \"shared_fraction\": 0.2500",
                        "\"shared_samples\": 201, \"shared_fraction\": 1",
                        "is more than the 200 samples");
    EXPECT_EDIT_REFUSED("\"shared_fraction\": 0.2500",
                        "\"shared_fraction\": 0.2600",
                        "is not shared_samples over samples");
    EXPECT_EDIT_REFUSED("\"shared_fraction\": 0.2500",
                        "\"shared_fraction\": 2", "out of range");
    EXPECT_EDIT_REFUSED("\"shared_samples\": 50, \"shared_fraction\": 0.2500",
                        "\"shared_samples\": 0, \"shared_fraction\": 0",
                        "a report without any has no \"attribution\"");
    EXPECT_EDIT_REFUSED("\"shared_samples\": 50, \"shared_fraction\": 0.2500",
                        "\"shared_samples\": 40, \"shared_fraction\": 0.2000",
                        "hold 50 samples but attribution says 40");
    /* Version 4 leaves it out only when the tree shares nothing. */
    EXPECT_EDIT_REFUSED(",\n \"attribution\": {\"shared_samples\": 50, "
                        "\"shared_fraction\": 0.2500}",
                        "", "hold 50 samples but attribution says 0");
    /* Version 3 has no "reqprof", and version 2 no "attribution". */
    EXPECT_EDIT_REFUSED("\"version\": 6", "\"version\": 3",
                        "expected \"request\", found \"reqprof\"");
    EXPECT_EDIT_REFUSED("\"version\": 6", "\"version\": 5",
                        "expected \"samples_dropped\", found \"cpu_samples\"");
    EXPECT_EDIT_REFUSED("\"version\": 6, \"reqprof\": \"\"", "\"version\": 2",
                        "expected \"samples_dropped\", found \"cpu_samples\"");
    EXPECT_EDIT_REFUSED("\"version\": 6", "\"version\": 7",
                        "reads versions 1 to 6");
}

UNIT_TEST(the_page_tells_its_script_which_frames_are_shared)
{
    struct rp_report report, read;
    struct rp_buffer html;
    char error[256];

    report_make_shared(&report);
    html = fixture_render(&report, RP_FORMAT_HTML, false);
    EXPECT_HAS(html.data, "\"shared_mark\": 0.100");
    EXPECT_HAS(html.data, "\"shared_frames\": [\"[shared: 3 requests]\"]");
    EXPECT_HAS(html.data, "<p id=\"attribution\" class=\"attribution\" hidden>");
    EXPECT_INT_EQ(0, rp_report_from_html(html.data, html.length, &read, error,
                                         sizeof error));
    EXPECT_INT_EQ(50, read.shared_samples);
    rp_buffer_free(&html);
    rp_report_release(&read);
    rp_report_release(&report);
}

UNIT_TEST(exports_keep_the_shared_node_as_a_frame)
{
    struct rp_report report;
    struct rp_buffer collapsed, pprof;

    report_make_shared(&report);
    collapsed = fixture_render(&report, RP_FORMAT_COLLAPSED, false);
    EXPECT_HAS(collapsed.data, "run_poll_loop;handle_request 150\n");
    EXPECT_HAS(collapsed.data,
               "[shared: 3 requests];run_poll_loop;lua_burn 50\n");
    pprof = fixture_render(&report, RP_FORMAT_PPROF, false);
    /* The function's name is in the string table, whole. */
    EXPECT_TRUE(memmem(pprof.data, pprof.length, "[shared: 3 requests]",
                       strlen("[shared: 3 requests]")) != NULL);
    rp_buffer_free(&collapsed);
    rp_buffer_free(&pprof);
    rp_report_release(&report);
}

UNIT_TEST(index_lines_end_with_the_shared_samples)
{
    static const char older[] = "1\t2\tGET\t/\t200\t1.000\t-\t0\tstem-1";
    struct rp_index_line line = {
        .method = "GET",
        .path = "/lua",
        .path_length = 4,
        .status = 200,
        .samples = 200,
        .shared_samples = 50,
        .file = "stem-2",
    };
    struct rp_buffer lines;
    const char *file;
    size_t length = 0;

    rp_buffer_init(&lines);
    rp_index_line_append(&lines, &line);
    EXPECT_STR_EQ("0\t0\tGET\t/lua\t200\t0.000\t-\t200\tstem-2\t50\t0.000\n",
                  lines.data);
    file = rp_index_line_file(lines.data, lines.data + lines.length - 1,
                              &length);
    EXPECT_TRUE(file != NULL && length == 6 && memcmp(file, "stem-2", 6) == 0);
    /* A line of an older version ends with its file. */
    file = rp_index_line_file(older, older + strlen(older), &length);
    EXPECT_TRUE(file != NULL && length == 6 && memcmp(file, "stem-1", 6) == 0);
    EXPECT_TRUE(rp_index_line_file(older, older + 12, &length) == NULL);
    rp_buffer_free(&lines);
}

int main(void)
{
    UNIT_RUN(shared_frames_are_named_and_told_apart);
    UNIT_RUN(the_mark_is_over_a_tenth_shared);
    UNIT_RUN(text_says_the_shared_share_in_its_header);
    UNIT_RUN(json_has_its_attribution_and_reads_it_back);
    UNIT_RUN(a_report_that_shares_nothing_has_no_attribution);
    UNIT_RUN(versions_2_and_3_are_still_read);
    UNIT_RUN(attribution_that_does_not_add_up_is_refused);
    UNIT_RUN(the_page_tells_its_script_which_frames_are_shared);
    UNIT_RUN(exports_keep_the_shared_node_as_a_frame);
    UNIT_RUN(index_lines_end_with_the_shared_samples);
    return unit_finish();
}
