/*
 * Unit tests of the formats made for other tools and for the browser
 * (renderers/render_collapsed.c, render_pprof.c, render_html.c with its
 * reader html_read.c, render.c):
 * collapsed lines add up to the samples, the pprof message decodes to the
 * same totals and labels, and the HTML page carries the JSON back intact
 * whatever the strings hold.
 */
#include <stdlib.h>

#include "internal.h"
#include "report.h"
#include "report_fixture.h"
#include "unit.h"

/* /mix: libc starts the thread, 140 samples in burn_alpha, 60 in
 * burn_beta, whose name holds the collapsed format's separator. */
static void report_make_mix(struct rp_report *report, const char *path)
{
    struct rp_calltree *tree = fixture_report(report, path, 77, "/srv/test_server");
    uint32_t stack[4];

    report->duration_ms = 200.5;
    report->cpu_ms = 199.0;
    report->samples = 201;
    stack[0] = fixture_frame(tree, "start_thread", "libc.so.6", NULL, 0);
    stack[1] = fixture_frame(tree, "route_mix", "test_server", "test_server.c", 30);
    stack[2] = fixture_frame(tree, "burn_alpha", "test_server", "test_server.c", 10);
    rp_calltree_add_sample(tree, stack, 3, 140, 140, 140000000);
    stack[2] = fixture_frame(tree, "burn;beta", "test_server", "test_server.c", 20);
    rp_calltree_add_sample(tree, stack, 3, 60, 60, 200000000);
    rp_calltree_add_stack(tree, stack, 0, 1);
    rp_calltree_sort(tree);
}

static struct rp_buffer render(const struct rp_report *report,
                               enum rp_format format)
{
    struct rp_text_options options = {.unicode = true};
    struct rp_buffer out;

    rp_buffer_init(&out);
    EXPECT_INT_EQ(0, rp_render(report, format, &options, &out));
    return out;
}

UNIT_TEST(collapsed_has_one_line_per_stack)
{
    struct rp_report report;
    struct rp_buffer out;

    report_make_mix(&report, "/mix");
    out = render(&report, RP_FORMAT_COLLAPSED);
    EXPECT_STR_EQ("[request] 1\n"
                  "start_thread;route_mix;burn_alpha 140\n"
                  "start_thread;route_mix;burn:beta 60\n",
                  out.data);
    rp_buffer_free(&out);
    rp_report_release(&report);
}

/* A decoded protobuf field: its number, and a varint or bytes. */
struct pb_field {
    int number;
    uint64_t value;
    const unsigned char *data;
    size_t length;
};

static uint64_t pb_read_varint(const unsigned char **at, const unsigned char *end)
{
    uint64_t value = 0;

    for (int shift = 0; *at < end && shift < 64; shift += 7) {
        unsigned char byte = *(*at)++;

        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            break;
    }
    return value;
}

/* Reads the next field at *at; false at the end or on a wire type the
 * renderer never writes. */
static bool pb_next(const unsigned char **at, const unsigned char *end,
                    struct pb_field *field)
{
    uint64_t key;

    if (*at >= end)
        return false;
    key = pb_read_varint(at, end);
    field->number = (int)(key >> 3);
    field->data = NULL;
    if ((key & 7) == 0) {
        field->value = pb_read_varint(at, end);
        return true;
    }
    if ((key & 7) != 2)
        return false;
    field->length = pb_read_varint(at, end);
    field->data = *at;
    *at += field->length;
    return *at <= end;
}

UNIT_TEST(pprof_decodes_to_the_same_samples_and_labels)
{
    struct rp_report report;
    struct rp_buffer out;
    const unsigned char *at, *end;
    struct pb_field field;
    uint64_t count = 0, wall = 0, labels = 0, samples = 0, period = 0;
    char strings[32][64];
    int string_count = 0;

    report_make_mix(&report, "/mix");
    out = render(&report, RP_FORMAT_PPROF);
    at = (const unsigned char *)out.data;
    end = at + out.length;
    while (pb_next(&at, end, &field)) {
        if (field.number == 6 && string_count < 32) { /* string_table */
            snprintf(strings[string_count++], sizeof strings[0], "%.*s",
                     (int)field.length, (const char *)field.data);
        } else if (field.number == 12) { /* period */
            period = field.value;
        } else if (field.number == 2) { /* sample */
            const unsigned char *inner = field.data;
            struct pb_field sample;

            samples++;
            while (pb_next(&inner, field.data + field.length, &sample)) {
                if (sample.number == 2) { /* value: packed count, wall */
                    const unsigned char *values = sample.data;

                    count += pb_read_varint(&values, values + sample.length);
                    wall += pb_read_varint(&values,
                                           sample.data + sample.length);
                } else if (sample.number == 3) {
                    labels++;
                }
            }
        }
    }
    EXPECT_TRUE(at == end);
    EXPECT_INT_EQ(3, samples);
    EXPECT_INT_EQ(201, count);
    EXPECT_INT_EQ(UINT64_C(201000000), wall);
    EXPECT_INT_EQ(1000000, period);
    EXPECT_INT_EQ(9, labels); /* method, path and status on each */
    EXPECT_TRUE(string_count > 12);
    EXPECT_STR_EQ("", strings[0]);
    EXPECT_STR_EQ("GET", strings[8]);
    EXPECT_STR_EQ("/mix", strings[9]);
    EXPECT_STR_EQ("200", strings[10]);
    rp_buffer_free(&out);
    rp_report_release(&report);
}

UNIT_TEST(html_carries_the_json_back_whatever_the_strings)
{
    static const char path[] = "/x</script><script>alert(1)</script><!--";
    struct rp_report report, read;
    struct rp_buffer json, html, again;
    char error[256];

    report_make_mix(&report, path);
    json = render(&report, RP_FORMAT_JSON);
    html = render(&report, RP_FORMAT_HTML);
    EXPECT_TRUE(rp_report_is_html(html.data, html.length));
    EXPECT_TRUE(strstr(html.data, "alert(1)</script>") == NULL);
    EXPECT_TRUE(strstr(html.data, "\\u003c/script>") != NULL);
    /* The page's own parts went in, none of the placeholders stayed. */
    EXPECT_TRUE(strstr(html.data, "<!--reqprof:") == NULL);
    EXPECT_TRUE(strstr(html.data, "function buildView") != NULL);
    EXPECT_TRUE(strstr(html.data, "\"libraries\": [\"libc.so.6\"]") != NULL);
    EXPECT_INT_EQ(0, rp_report_from_html(html.data, html.length, &read, error,
                                         sizeof error));
    EXPECT_STR_EQ("", error);
    EXPECT_STR_EQ(path, read.path);
    if (read.tree != NULL) {
        size_t points;

        rp_calltree_timeline(read.tree, &points);
        EXPECT_INT_EQ(2, points);
        again = render(&read, RP_FORMAT_JSON);
        EXPECT_TRUE(again.data && strcmp(json.data, again.data) == 0);
        rp_buffer_free(&again);
    }
    rp_buffer_free(&json);
    rp_buffer_free(&html);
    rp_report_release(&report);
    rp_report_release(&read);
}

UNIT_TEST(foreign_and_cut_pages_are_refused)
{
    static const char foreign[] = "<!DOCTYPE html><html><body>hi</body></html>";
    struct rp_report report, read;
    struct rp_buffer html;
    char error[256];

    EXPECT_TRUE(rp_report_is_html(foreign, strlen(foreign)));
    EXPECT_TRUE(rp_report_is_html("\xEF\xBB\xBF\n<html>", 10));
    EXPECT_TRUE(!rp_report_is_html("{\"format\"", 9));
    EXPECT_INT_EQ(-1, rp_report_from_html(foreign, strlen(foreign), &read,
                                          error, sizeof error));
    EXPECT_TRUE(strstr(error, "not a reqprof report") != NULL);

    report_make_mix(&report, "/mix");
    html = render(&report, RP_FORMAT_HTML);
    /* Cut inside the data: either the closing tag or the JSON is missing. */
    EXPECT_INT_EQ(-1, rp_report_from_html(html.data,
                                          (size_t)(strstr(html.data,
                                                          "\"root\"") -
                                                   html.data),
                                          &read, error, sizeof error));
    EXPECT_TRUE(strstr(error, "cut short") != NULL);
    rp_buffer_free(&html);
    rp_report_release(&report);
}

UNIT_TEST(formats_have_names)
{
    for (int format = 0; format < RP_FORMAT_COUNT; format++)
        EXPECT_INT_EQ(format, rp_format_from_name(rp_formats[format].name));
    EXPECT_INT_EQ(RP_FORMAT_PPROF, rp_format_from_name("pprof"));
    EXPECT_INT_EQ(-1, rp_format_from_name("svg"));
}

int main(void)
{
    UNIT_RUN(collapsed_has_one_line_per_stack);
    UNIT_RUN(pprof_decodes_to_the_same_samples_and_labels);
    UNIT_RUN(html_carries_the_json_back_whatever_the_strings);
    UNIT_RUN(foreign_and_cut_pages_are_refused);
    UNIT_RUN(formats_have_names);
    return unit_finish();
}
