/*
 * Unit tests of the formats made for other tools and for the browser
 * (renderers/render_collapsed.c, render_pprof.c, render_speedscope.c,
 * render_html.c with its reader html_read.c, render.c):
 * collapsed lines add up to the samples, the pprof message decodes to the
 * same totals and labels, speedscope's events follow the timeline, and the
 * HTML page carries the JSON back intact whatever the strings hold.
 */
#include <stdlib.h>
#include <string.h>

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
    /* burn_alpha's entry is known, and so is its object. */
    stack[2] = rp_calltree_intern(tree, &(struct rp_frame){
        "burn_alpha", "test_server", "test_server.c", 10, false, 0x1234});
    rp_calltree_add_object(tree, &(struct rp_object){
        "test_server", "abcdef01", 0x1000, 0x5000, 0x800});
    rp_calltree_add_sample(tree, stack, 3, 140, 140000000);
    stack[2] = fixture_frame(tree, "burn;beta", "test_server", "test_server.c", 20);
    rp_calltree_add_sample(tree, stack, 3, 60, 200000000);
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

/* What a decoded profile holds, as far as the tests look. */
struct pprof_decoded {
    char strings[64][64];
    int string_count;
    uint64_t samples, count, wall, period;
    /* Each sample's labels, "key=value", joined by ' ' in one line per
     * sample; and the count of each sample. */
    char labels[8][256];
    uint64_t sample_counts[8];
    /* Mappings' memory start, limit, file offset, file name and build ID
     * (strings by index), and locations' addresses, by id - 1. */
    uint64_t mapping_fields[4][5];
    uint64_t location_addresses[8];
};

/* The string at index, or "?" if there is none (yet). */
static const char *pprof_string_at(const struct pprof_decoded *decoded,
                                   uint64_t index)
{
    return index < (uint64_t)decoded->string_count ? decoded->strings[index]
                                                   : "?";
}

static void pprof_decode(const struct rp_buffer *out,
                         struct pprof_decoded *decoded)
{
    const unsigned char *at = (const unsigned char *)out->data;
    const unsigned char *end = at + out->length;
    struct pb_field field;
    /* Label (key, value) indices, resolved once the strings are read. */
    uint64_t label_keys[8][8], label_values[8][8];
    int label_counts[8] = {0};

    memset(decoded, 0, sizeof *decoded);
    while (pb_next(&at, end, &field)) {
        if (field.number == 6 && decoded->string_count < 64) { /* string_table */
            snprintf(decoded->strings[decoded->string_count++],
                     sizeof decoded->strings[0], "%.*s", (int)field.length,
                     (const char *)field.data);
        } else if (field.number == 12) { /* period */
            decoded->period = field.value;
        } else if (field.number == 3 || field.number == 4) { /* mapping, location */
            const unsigned char *inner = field.data;
            struct pb_field part;
            uint64_t values[8] = {0};

            while (pb_next(&inner, field.data + field.length, &part))
                if (part.data == NULL && part.number < 8)
                    values[part.number] = part.value;
            if (field.number == 3 && values[1] >= 1 && values[1] <= 4)
                memcpy(decoded->mapping_fields[values[1] - 1], &values[2],
                       sizeof decoded->mapping_fields[0]);
            if (field.number == 4 && values[1] >= 1 && values[1] <= 8)
                decoded->location_addresses[values[1] - 1] = values[3];
        } else if (field.number == 2 && decoded->samples < 8) { /* sample */
            const unsigned char *inner = field.data;
            struct pb_field sample;
            uint64_t n = decoded->samples++;

            while (pb_next(&inner, field.data + field.length, &sample)) {
                if (sample.number == 2) { /* value: packed count, wall */
                    const unsigned char *values = sample.data;
                    uint64_t count = pb_read_varint(&values,
                                                    values + sample.length);

                    decoded->sample_counts[n] = count;
                    decoded->count += count;
                    decoded->wall += pb_read_varint(&values,
                                                    sample.data + sample.length);
                } else if (sample.number == 3 && label_counts[n] < 8) {
                    const unsigned char *label = sample.data;
                    struct pb_field part;
                    int i = label_counts[n]++;

                    while (pb_next(&label, sample.data + sample.length, &part))
                        (part.number == 1 ? label_keys : label_values)[n][i] =
                            part.value;
                }
            }
        }
    }
    EXPECT_TRUE(at == end);
    for (uint64_t n = 0; n < decoded->samples && n < 8; n++) {
        size_t length = 0;

        for (int i = 0; i < label_counts[n]; i++)
            length += (size_t)snprintf(
                decoded->labels[n] + length, sizeof decoded->labels[n] - length,
                "%s%s=%s", i > 0 ? " " : "",
                pprof_string_at(decoded, label_keys[n][i]),
                pprof_string_at(decoded, label_values[n][i]));
    }
}

UNIT_TEST(pprof_decodes_to_the_same_samples_and_labels)
{
    struct rp_report report;
    struct rp_buffer out;
    struct pprof_decoded decoded;

    report_make_mix(&report, "/mix?ms=200");
    out = render(&report, RP_FORMAT_PPROF);
    pprof_decode(&out, &decoded);
    EXPECT_INT_EQ(3, decoded.samples);
    EXPECT_INT_EQ(201, decoded.count);
    EXPECT_INT_EQ(UINT64_C(201000000), decoded.wall);
    EXPECT_INT_EQ(1000000, decoded.period);
    EXPECT_STR_EQ("", decoded.strings[0]);
    /* The route is the path without its query; the id, PID@START. */
    for (int n = 0; n < 3; n++)
        EXPECT_STR_EQ("method=GET path=/mix?ms=200 route=GET /mix status=200 "
                      "request=77@1795000000123456",
                      decoded.labels[n]);
    /* The program's mapping (the first) spans its object's code, with its
     * build ID; burn_alpha (frame 2) is at its entry, other frames have
     * no address. */
    EXPECT_INT_EQ(0x1000, decoded.mapping_fields[0][0]);
    EXPECT_INT_EQ(0x5000, decoded.mapping_fields[0][1]);
    EXPECT_INT_EQ(0x800, decoded.mapping_fields[0][2]);
    EXPECT_STR_EQ("test_server", pprof_string_at(&decoded,
                                                 decoded.mapping_fields[0][3]));
    EXPECT_STR_EQ("abcdef01", pprof_string_at(&decoded,
                                              decoded.mapping_fields[0][4]));
    EXPECT_INT_EQ(0x1234, decoded.location_addresses[2]);
    EXPECT_INT_EQ(0, decoded.location_addresses[1]);
    rp_buffer_free(&out);
    rp_report_release(&report);
}

UNIT_TEST(pprof_of_two_requests_keeps_each_ones_labels)
{
    struct rp_report first, second;
    struct rp_buffer out;
    struct pprof_decoded decoded;
    struct rp_pprof *pprof = rp_pprof_new();
    uint64_t burn_samples = 0;

    report_make_mix(&first, "/mix?ms=200");
    report_make_mix(&second, "/burn");
    second.status = 503;
    second.pid = 78;
    EXPECT_TRUE(pprof != NULL);
    EXPECT_INT_EQ(0, rp_pprof_add(pprof, &first));
    EXPECT_INT_EQ(0, rp_pprof_add(pprof, &second));
    rp_buffer_init(&out);
    EXPECT_INT_EQ(0, rp_pprof_write(pprof, &first, &out));
    pprof_decode(&out, &decoded);
    EXPECT_INT_EQ(6, decoded.samples);
    EXPECT_INT_EQ(402, decoded.count);
    for (int n = 0; n < 6; n++) {
        if (strstr(decoded.labels[n], "route=GET /burn status=503 "
                                      "request=78@1795000000123456"))
            burn_samples += decoded.sample_counts[n];
        else
            EXPECT_STR_EQ("method=GET path=/mix?ms=200 route=GET /mix "
                          "status=200 request=77@1795000000123456",
                          decoded.labels[n]);
    }
    EXPECT_INT_EQ(201, burn_samples);
    rp_buffer_free(&out);
    rp_pprof_free(pprof);
    rp_report_release(&first);
    rp_report_release(&second);
}

UNIT_TEST(speedscope_events_follow_the_timeline)
{
    struct rp_report report;
    struct rp_buffer out;

    report_make_mix(&report, "/mix");
    out = render(&report, RP_FORMAT_SPEEDSCOPE);
    /* Frame 0 is the request, 1 start_thread, 2 route_mix, 3 burn_alpha,
     * 4 burn;beta: 140 samples of burn_alpha end at 140 ms, then 60 of
     * burn;beta at 200 ms; the request ends at 200.5 ms. */
    EXPECT_TRUE(strstr(out.data, "{\"name\": \"burn;beta\", \"file\": "
                                 "\"test_server.c\", \"line\": 20}") != NULL);
    EXPECT_TRUE(strstr(out.data,
        "\"events\": [\n"
        "  {\"type\": \"O\", \"frame\": 0, \"at\": 0.000},\n"
        "  {\"type\": \"O\", \"frame\": 1, \"at\": 0.000},\n"
        "  {\"type\": \"O\", \"frame\": 2, \"at\": 0.000},\n"
        "  {\"type\": \"O\", \"frame\": 3, \"at\": 0.000},\n"
        "  {\"type\": \"C\", \"frame\": 3, \"at\": 140.000},\n"
        "  {\"type\": \"O\", \"frame\": 4, \"at\": 140.000},\n"
        "  {\"type\": \"C\", \"frame\": 4, \"at\": 200.000},\n"
        "  {\"type\": \"C\", \"frame\": 2, \"at\": 200.000},\n"
        "  {\"type\": \"C\", \"frame\": 1, \"at\": 200.000},\n"
        "  {\"type\": \"C\", \"frame\": 0, \"at\": 200.500}],\n"
        " \"startValue\": 0, \"endValue\": 200.500}]}\n") != NULL);
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
    UNIT_RUN(pprof_of_two_requests_keeps_each_ones_labels);
    UNIT_RUN(speedscope_events_follow_the_timeline);
    UNIT_RUN(html_carries_the_json_back_whatever_the_strings);
    UNIT_RUN(foreign_and_cut_pages_are_refused);
    UNIT_RUN(formats_have_names);
    return unit_finish();
}
