/*
 * libFuzzer target for renderers/json_read.c, the reader of JSON reports.
 *
 * The reqprof tool reads report files anyone may have edited or cut short,
 * so the reader must refuse any input it cannot take, cleanly (a reason
 * that names a line, nothing left allocated), and what it takes must be a
 * report every renderer can write. What it takes must also come back the
 * same: the JSON written from what was read is read again, and written
 * again byte for byte the same. The same input is also tried as an HTML
 * page, whose JSON the reader takes out of it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_json_read: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* Checks what a reader said: a reason with a line number, no tree left,
 * when it refused. Returns whether it took the input. */
static bool fuzz_taken(int result, const struct rp_report *report,
                       const char *error)
{
    if (result == 0)
        return true;
    if (report->tree != NULL)
        fuzz_fail("refused, but a tree was left behind", error);
    if (error[0] == '\0')
        fuzz_fail("refused without a reason", NULL);
    return false;
}

/* Every format of a report that was read; the JSON one is returned. */
static struct rp_buffer fuzz_render_all(const struct rp_report *report)
{
    struct rp_text_options options = {
        .unicode = true, .fold_libraries = true,
        .threshold = RP_TEXT_THRESHOLD_DEFAULT};
    struct rp_buffer json, other;

    rp_buffer_init(&json);
    if (rp_render_json(report, &json) != 0)
        fuzz_fail("a report read could not be written as JSON", NULL);
    for (int format = 0; format < RP_FORMAT_COUNT; format++) {
        if (format == RP_FORMAT_JSON)
            continue;
        rp_buffer_init(&other);
        if (rp_render(report, (enum rp_format)format, &options, &other) != 0)
            fuzz_fail("a report read could not be written as",
                      rp_formats[format].name);
        rp_buffer_free(&other);
    }
    return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct rp_report report, again;
    char error[256] = "";

    if (rp_report_is_html(text, size) &&
        fuzz_taken(rp_report_from_html(text, size, &report, error,
                                       sizeof error),
                   &report, error))
        rp_report_release(&report);
    error[0] = '\0';
    if (!fuzz_taken(rp_report_from_json(text, size, &report, error,
                                        sizeof error),
                    &report, error))
        return 0;
    struct rp_buffer first = fuzz_render_all(&report);
    error[0] = '\0';
    if (rp_report_from_json(first.data, first.length, &again, error,
                            sizeof error) != 0)
        fuzz_fail("the JSON written from a report read is refused", error);
    struct rp_buffer second = fuzz_render_all(&again);
    if (first.length != second.length ||
        memcmp(first.data, second.data, first.length) != 0)
        fuzz_fail("JSON read and written again differs", NULL);
    rp_buffer_free(&first);
    rp_buffer_free(&second);
    rp_report_release(&report);
    rp_report_release(&again);
    return 0;
}
