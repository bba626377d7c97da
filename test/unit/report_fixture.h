/*
 * What the unit tests of reports share: a report's request and process
 * fields filled as the tests' requests have them, frames interned by
 * their parts, and rendering with a check of what came out. Each test
 * sets what its case is about: durations, samples and the tree's stacks.
 */
#ifndef REQPROF_TEST_REPORT_FIXTURE_H
#define REQPROF_TEST_REPORT_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "report.h"
#include "unit.h"

/* A fixed start, so that rendered reports compare byte for byte. */
#define FIXTURE_START_UNIX_US INT64_C(1795000000123456)

/* The frame function, in object, at file:line (NULL and 0 where not
 * known), interned in tree. */
static inline uint32_t fixture_frame(struct rp_calltree *tree, const char *function,
                                     const char *object, const char *file, int line)
{
    struct rp_frame frame = {function, object, file, line, false, 0};

    return rp_calltree_intern(tree, &frame);
}

/* Starts report as a GET of path answered 200, sampled every 1 ms, by
 * pid running program; returns its tree, empty. */
static inline struct rp_calltree *fixture_report(struct rp_report *report, const char *path,
                                                 int pid, const char *program)
{
    memset(report, 0, sizeof *report);
    strcpy(report->method, "GET");
    snprintf(report->path, sizeof report->path, "%s", path);
    report->status = 200;
    report->start_unix_us = FIXTURE_START_UNIX_US;
    report->interval_ms = 1.0;
    report->pid = pid;
    snprintf(report->program, sizeof report->program, "%s", program);
    report->tree = rp_calltree_new();
    return report->tree;
}

/*
 * Appends json (a report of the current version that does not know what
 * ran on the CPU: "cpu_samples": null) to out as version 4 had it, from
 * its "format" on: without "objects" and the nodes' "address", which
 * version 5 added, without "cpu_samples", which version 6 added, and
 * with version 4.
 */
static inline void fixture_json_as_version_4(const char *json,
                                             struct rp_buffer *out)
{
    static const char objects[] = ",\n \"objects\": [", address[] = ", \"address\": ";
    static const char cpu[] = ", \"cpu_samples\": null";
    static const char version[] = "\"version\": 6";

    while (*json != '\0') {
        if (strncmp(json, cpu, strlen(cpu)) == 0) {
            json += strlen(cpu);
        } else if (strncmp(json, objects, strlen(objects)) == 0) {
            json = strchr(json, ']') + 1;
        } else if (strncmp(json, address, strlen(address)) == 0) {
            json = strstr(json, ", \"total\": ");
        } else if (strncmp(json, version, strlen(version)) == 0) {
            rp_buffer_puts(out, "\"version\": 4");
            json += strlen(version);
        } else {
            rp_buffer_append(out, json++, 1);
        }
    }
}

/* The report rendered in format (Unicode text, with ANSI colour if
 * color); the test fails if rendering does. */
static inline struct rp_buffer fixture_render(const struct rp_report *report,
                                              enum rp_format format, bool color)
{
    struct rp_text_options options = {.color = color, .unicode = true};
    struct rp_buffer out;

    rp_buffer_init(&out);
    EXPECT_INT_EQ(0, rp_render(report, format, &options, &out));
    return out;
}

/* Whether text holds part; says what it holds when not. */
#define EXPECT_HAS(text, part)                                               \
    do {                                                                     \
        if (strstr((text), (part)) == NULL)                                  \
            UNIT_FAIL_AT("\"%s\" not in:\n%s", (part), (text));              \
    } while (0)

#endif
