/*
 * Unit tests of what the text view leaves out (renderers/render_text.c,
 * library.c): runs of system library frames folded into one line, the
 * server's own frames kept, frames under the threshold dropped and counted.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "internal.h"
#include "report.h"
#include "report_fixture.h"
#include "unit.h"

/* The report every test starts from: samples come from add(). */
static void report_init(struct rp_report *report)
{
    (void)fixture_report(report, "/mix", 42, "/srv/bin/test_server");
}

/*
 * Adds weight samples whose stack is the given "function@object" names,
 * outermost first, ending with NULL.
 */
static void add(struct rp_report *report, uint64_t weight, ...)
{
    uint32_t stack[32];
    size_t depth = 0;
    const char *name;
    va_list names;

    va_start(names, weight);
    while ((name = va_arg(names, const char *)) != NULL) {
        char function[128];
        const char *at = strchr(name, '@');
        struct rp_frame frame = {function, at + 1, NULL, 0, false, 0};

        snprintf(function, sizeof function, "%.*s", (int)(at - name), name);
        stack[depth++] = rp_calltree_intern(report->tree, &frame);
    }
    va_end(names);
    EXPECT_INT_EQ(0, rp_calltree_add_stack(report->tree, stack, depth, weight));
    report->samples += weight;
}

/* The tree part of the text view (after the header's blank lines). */
static char *render_tree(struct rp_report *report, bool fold, double threshold,
                         bool unicode)
{
    struct rp_text_options options = {
        .unicode = unicode, .fold_libraries = fold, .threshold = threshold};
    struct rp_buffer out;
    char *tree;

    rp_calltree_sort(report->tree);
    rp_buffer_init(&out);
    EXPECT_INT_EQ(0, rp_render_text(report, &options, &out));
    tree = strstr(out.data, "\n\n");
    tree = strdup(strstr(tree + 2, "\n\n") + 2);
    rp_buffer_free(&out);
    return tree;
}

#define EXPECT_TEXT(expected, actual)                                        \
    do {                                                                     \
        if (strcmp((expected), (actual)) != 0)                               \
            UNIT_FAIL_AT("expected:\n%s\ngot:\n%s", (expected), (actual));   \
    } while (0)

/* A request like the test server's /sleepburn: libc starts the thread,
 * the server burns and sleeps, and libc and the vDSO do the clock. */
static void report_make_server(struct rp_report *report)
{
    report_init(report);
    add(report, 96, "__clone3@libc.so.6", "start_thread@libc.so.6",
        "connection_thread@test_server", "burn_alpha@test_server", NULL);
    add(report, 2, "__clone3@libc.so.6", "start_thread@libc.so.6",
        "connection_thread@test_server", "burn_alpha@test_server",
        "clock_gettime@libc.so.6", "__vdso_clock_gettime@[vdso]", NULL);
    add(report, 2, "__clone3@libc.so.6", "start_thread@libc.so.6",
        "connection_thread@test_server", "read@libc.so.6", NULL);
}

UNIT_TEST(library_runs_fold_and_the_server_stays)
{
    struct rp_report report;
    char *tree;

    report_make_server(&report);
    tree = render_tree(&report, true, 0, true);
    EXPECT_TEXT("100.0 [request] GET /mix\n"
                "└─ 100.0 [2 frames hidden] libc.so.6\n"
                "   └─ 100.0 connection_thread  test_server\n"
                "      ├─ 98.0 burn_alpha  test_server\n"
                "      │  ├─ 96.0 [self]\n"
                "      │  └─ 2.0 [2 frames hidden] libc.so.6, [vdso]\n"
                "      └─ 2.0 read  libc.so.6\n",
                tree);
    free(tree);
    rp_report_release(&report);
}

UNIT_TEST(without_folding_every_frame_shows)
{
    struct rp_report report;
    char *tree;

    report_make_server(&report);
    tree = render_tree(&report, false, 0, true);
    EXPECT_TEXT("100.0 [request] GET /mix\n"
                "└─ 100.0 __clone3  libc.so.6\n"
                "   └─ 100.0 start_thread  libc.so.6\n"
                "      └─ 100.0 connection_thread  test_server\n"
                "         ├─ 98.0 burn_alpha  test_server\n"
                "         │  ├─ 96.0 [self]\n"
                "         │  └─ 2.0 clock_gettime  libc.so.6\n"
                "         │     └─ 2.0 __vdso_clock_gettime  [vdso]\n"
                "         └─ 2.0 read  libc.so.6\n",
                tree);
    free(tree);
    rp_report_release(&report);
}

UNIT_TEST(a_fold_shows_the_server_code_it_calls_back)
{
    struct rp_report report;
    char *tree;

    /* qsort calls the server's comparison from two depths of libc. */
    report_init(&report);
    add(&report, 60, "main@test_server", "qsort@libc.so.6",
        "msort_with_tmp@libc.so.6", "compare_rows@test_server", NULL);
    add(&report, 30, "main@test_server", "qsort@libc.so.6",
        "msort_with_tmp@libc.so.6", "msort_with_tmp@libc.so.6",
        "compare_rows@test_server", "strcmp@libc.so.6", NULL);
    add(&report, 10, "main@test_server", "qsort@libc.so.6",
        "msort_with_tmp@libc.so.6", NULL);
    tree = render_tree(&report, true, 0, true);
    EXPECT_TEXT("100.0 [request] GET /mix\n"
                "└─ 100.0 main  test_server\n"
                "   └─ 100.0 [3 frames hidden] libc.so.6\n"
                "      ├─ 60.0 compare_rows  test_server\n"
                "      ├─ 30.0 compare_rows  test_server\n"
                "      │  └─ 30.0 strcmp  libc.so.6\n"
                "      └─ 10.0 [self]\n",
                tree);
    free(tree);
    rp_report_release(&report);
}

UNIT_TEST(a_library_frame_holding_much_time_stays_visible)
{
    struct rp_report report;
    char *tree;

    /* 25% in malloc itself: more than RP_TEXT_FOLD_KEEP, so it shows. */
    report_init(&report);
    add(&report, 70, "handler@test_server", NULL);
    add(&report, 25, "handler@test_server", "operator new@libstdc++.so.6",
        "malloc@libc.so.6", NULL);
    add(&report, 5, "handler@test_server", "operator new@libstdc++.so.6",
        "malloc@libc.so.6", "_int_malloc@libc.so.6", "sbrk@libc.so.6", NULL);
    tree = render_tree(&report, true, 0, true);
    EXPECT_TEXT("100.0 [request] GET /mix\n"
                "└─ 100.0 handler  test_server\n"
                "   ├─ 70.0 [self]\n"
                "   └─ 30.0 operator new  libstdc++.so.6\n"
                "      └─ 30.0 malloc  libc.so.6\n"
                "         ├─ 25.0 [self]\n"
                "         └─ 5.0 [2 frames hidden] libc.so.6\n",
                tree);
    free(tree);
    rp_report_release(&report);
}

UNIT_TEST(threshold_drops_small_frames_and_counts_them)
{
    struct rp_report report;
    char *tree;

    /* 200 samples: 1% is 2 samples. */
    report_init(&report);
    add(&report, 196, "handler@test_server", "burn_alpha@test_server", NULL);
    add(&report, 2, "handler@test_server", "one_percent@test_server", NULL);
    add(&report, 1, "handler@test_server", "half_percent@test_server",
        "below@test_server", NULL);
    add(&report, 1, "handler@test_server", NULL);
    tree = render_tree(&report, true, RP_TEXT_THRESHOLD_DEFAULT, true);
    EXPECT_TEXT("200.0 [request] GET /mix\n"
                "└─ 200.0 handler  test_server\n"
                "   ├─ 196.0 burn_alpha  test_server\n"
                "   └─ 2.0 one_percent  test_server\n"
                "\n"
                "2 frames under 1% of the request not shown "
                "(REQPROF_SHOW_ALL=1 shows every frame)\n",
                tree);
    free(tree);
    tree = render_tree(&report, true, 0, true);
    EXPECT_TRUE(strstr(tree, "1.0 half_percent") != NULL);
    EXPECT_TRUE(strstr(tree, "1.0 [self]") != NULL);
    EXPECT_TRUE(strstr(tree, "not shown") == NULL);
    free(tree);
    rp_report_release(&report);
}

UNIT_TEST(a_self_line_alone_is_left_out)
{
    struct rp_report report;
    char *tree;

    report_init(&report);
    add(&report, 299, "handler@test_server", NULL);
    add(&report, 1, "handler@test_server", "tiny@test_server", NULL);
    tree = render_tree(&report, true, 0.005, true);
    EXPECT_TEXT("300.0 [request] GET /mix\n"
                "└─ 300.0 handler  test_server\n"
                "\n"
                "1 frame under 0.5% of the request not shown "
                "(REQPROF_SHOW_ALL=1 shows every frame)\n",
                tree);
    free(tree);
    rp_report_release(&report);
}

UNIT_TEST(folds_in_ascii)
{
    struct rp_report report;
    char *tree;

    report_make_server(&report);
    tree = render_tree(&report, true, 0, false);
    EXPECT_TRUE(strstr(tree, "`- 100.0 [2 frames hidden] libc.so.6\n"
                             "   `- 100.0 connection_thread") != NULL);
    EXPECT_TRUE(strstr(tree, "      |  `- 2.0 [2 frames hidden] libc.so.6, "
                             "[vdso]\n") != NULL);
    free(tree);
    rp_report_release(&report);
}

UNIT_TEST(which_objects_are_libraries)
{
    static const struct {
        const char *object;
        bool library;
    } cases[] = {
        {"libc.so.6", true},         {"libstdc++.so.6", true},
        {"libpthread.so.0", true},   {"ld-linux-x86-64.so.2", true},
        {"[vdso]", true},            {"libssl.so.3", true},
        {"test_server", false},      {"ngx_http_foo_module.so", false},
        {"mod_ssl.so", false},       {"library_helper", false},
        {"libserver.so", false}, /* the program itself, below */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rp_frame frame = {"f", cases[i].object, NULL, 0, false, 0};
        const char *program = strcmp(cases[i].object, "libserver.so") == 0
                                  ? "/opt/libserver.so"
                                  : "/srv/bin/test_server";

        if (rp_frame_is_library(&frame, program) != cases[i].library)
            UNIT_FAIL_AT("%s: expected %s", cases[i].object,
                         cases[i].library ? "a library" : "not a library");
    }
}

int main(void)
{
    UNIT_RUN(library_runs_fold_and_the_server_stays);
    UNIT_RUN(without_folding_every_frame_shows);
    UNIT_RUN(a_fold_shows_the_server_code_it_calls_back);
    UNIT_RUN(a_library_frame_holding_much_time_stays_visible);
    UNIT_RUN(threshold_drops_small_frames_and_counts_them);
    UNIT_RUN(a_self_line_alone_is_left_out);
    UNIT_RUN(folds_in_ascii);
    UNIT_RUN(which_objects_are_libraries);
    return unit_finish();
}
