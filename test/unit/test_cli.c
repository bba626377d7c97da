/*
 * Unit tests of the reqprof tool's commands on a report directory made
 * here: ls reads index lines of this version and of older ones and shows
 * each request's shared share, marking those over a tenth; merge adds up
 * shared samples and shared nodes; show --latest and --slowest pick their
 * request; stats groups by route, with percentiles by nearest rank; diff
 * lines up two trees, per request when the sides differ in size.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "report_fixture.h"
#include "unit.h"

/* A fresh directory under /tmp, into dir (size bytes). */
static void scratch_directory(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/reqprof-test-cli-XXXXXX");
    if (mkdtemp(dir) == NULL)
        UNIT_FAIL_AT("mkdtemp failed");
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *file;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    file = fopen(path, "w");
    if (file == NULL) {
        UNIT_FAIL_AT("cannot write %s", path);
        return;
    }
    fputs(text, file);
    fclose(file);
}

static void remove_directory(const char *dir)
{
    char command[600];

    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0)
        UNIT_FAIL_AT("cannot remove %s", dir);
}

/*
 * Runs a command (argv[0] its name) as the tool would; returns what it
 * printed on stdout (to free) and its exit status in *status.
 */
static char *run(int (*command)(int, char **), int argc, char **argv,
                 int *status)
{
    char path[] = "/tmp/reqprof-test-cli-out-XXXXXX";
    int fd = mkstemp(path), saved;
    char *text = calloc(1, 65536);

    fflush(stdout);
    saved = dup(1);
    dup2(fd, 1);
    optind = 0; /* getopt starts over for each command */
    *status = command(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    if (text != NULL && pread(fd, text, 65535, 0) < 0)
        text[0] = '\0';
    close(fd);
    unlink(path);
    return text;
}

static size_t count_of(char c, const char *text)
{
    size_t count = 0;

    for (; (text = strchr(text, c)) != NULL; text++)
        count++;
    return count;
}

/* The row of ls's output whose path is path, or NULL. */
static const char *ls_row(const char *output, const char *path)
{
    char needle[64];

    snprintf(needle, sizeof needle, "  %s  ", path);
    return strstr(output, needle);
}

/* Whether the row for path shows cell (between two spaces). */
static void expect_ls_cell(const char *output, const char *path,
                           const char *cell, int line)
{
    const char *row = ls_row(output, path);
    const char *end = row ? strchr(row, '\n') : NULL;
    char needle[64];
    const char *found;

    snprintf(needle, sizeof needle, " %s ", cell);
    found = row ? strstr(row, needle) : NULL;
    if (row == NULL || found == NULL || found > end)
        UNIT_FAIL_AT("(line %d) no cell \"%s\" in the row of %s:\n%s", line,
                     cell, path, output);
}

#define EXPECT_LS_CELL(output, path, cell)                                   \
    expect_ls_cell((output), (path), (cell), __LINE__)

UNIT_TEST(ls_shows_the_shared_share_and_marks_over_a_tenth)
{
    /* One line from before the shared column, then lines with it: none
     * shared, a tenth (not over), just over, and a request with no sample. */
    static const char index[] =
        "1795000000000000\t7\tGET\t/older\t200\t5.000\t4.000\t5\t-\n"
        "1795000001000000\t7\tGET\t/alone\t200\t100.000\t99.000\t100\t-\t0\n"
        "1795000002000000\t7\tGET\t/tenth\t200\t100.000\t99.000\t100\t-\t10\n"
        "1795000003000000\t7\tGET\t/over\t200\t100.000\t99.000\t100\t-\t11\n"
        "1795000004000000\t7\tGET\t/none\t200\t0.100\t-\t0\t-\t0\n";
    char dir[64], *output, *help;
    char *argv[] = {"ls", dir, NULL};
    char *help_argv[] = {"ls", "--help", NULL};
    int status;

    scratch_directory(dir, sizeof dir);
    write_file(dir, "index.tsv", index);
    output = run(rp_cli_ls, 2, argv, &status);
    EXPECT_INT_EQ(RP_EXIT_OK, status);
    EXPECT_TRUE(strstr(output, "  SAMPLES  SHARED  REPORT") != NULL);
    EXPECT_LS_CELL(output, "/older", "-");
    EXPECT_LS_CELL(output, "/alone", "0%");
    EXPECT_LS_CELL(output, "/tenth", "10.0%");
    EXPECT_LS_CELL(output, "/over", "11.0%*");
    EXPECT_LS_CELL(output, "/none", "0%");
    /* Only the one over a tenth is marked. */
    EXPECT_INT_EQ(1, count_of('*', output));
    help = run(rp_cli_ls, 2, help_argv, &status);
    EXPECT_INT_EQ(RP_EXIT_OK, status);
    EXPECT_TRUE(strstr(help, "SHARED is the share") != NULL);
    EXPECT_TRUE(strstr(help, "Over 10% is\nmarked with a *") != NULL);
    free(output);
    free(help);
    remove_directory(dir);
}

UNIT_TEST(index_lines_of_both_versions_are_read)
{
    static const char index[] =
        "1795000000000000\t7\tGET\t/older\t200\t5.000\t4.000\t5\tstem-1\n"
        "1795000001000000\t7\tGET\t/newer\t200\t9.000\t8.000\t9\tstem-2\t3\n"
        "1795000002000000\t7\tGET\t/later\t200\t9.000\t8.000\t9\tstem-3\t3\t2.500\tx\n"
        "1795000003000000\t7\tGET\t/bad\t200\t9.000\t8.000\t9\tstem-4\t10\n"
        "1795000004000000\t7\tGET\t/bad\t200\t9.000\t8.000\t9\tstem-5\tx\n"
        "1795000005000000\t7\tGET\t/bad\t200\t9.000\t8.000\t9\tstem-6\t3\tx\n";
    struct rp_cli_request *requests = NULL;
    char dir[64], error[RP_CLI_ERROR_MAX];
    long count;

    scratch_directory(dir, sizeof dir);
    write_file(dir, "index.tsv", index);
    count = rp_cli_index_read(dir, NULL, &requests, error, sizeof error);
    /* The last three hold more shared samples than samples, or no number
     * where one goes. */
    EXPECT_INT_EQ(3, count);
    if (count == 3) {
        EXPECT_STR_EQ("stem-1", requests[0].stem);
        EXPECT_TRUE(!requests[0].shared_known);
        EXPECT_TRUE(!requests[0].wait_known && !requests[1].wait_known);
        EXPECT_STR_EQ("stem-2", requests[1].stem);
        EXPECT_TRUE(requests[1].shared_known);
        EXPECT_INT_EQ(3, requests[1].shared_samples);
        /* A field a later version may add is left alone. */
        EXPECT_STR_EQ("stem-3", requests[2].stem);
        EXPECT_INT_EQ(3, requests[2].shared_samples);
        EXPECT_TRUE(requests[2].wait_known && requests[2].wait_ms == 2.5);
    }
    free(requests);
    remove_directory(dir);
}

/* Writes a report with own samples in work and shared ones under
 * "[shared: sharing requests]", as STEM.json.gz in dir. */
static void write_report(const char *dir, const char *stem, uint64_t own,
                         uint64_t shared, uint64_t sharing)
{
    char name[RP_SHARED_FRAME_NAME_MAX], path[512], error[RP_CLI_ERROR_MAX];
    struct rp_report report = {.status = 200, .interval_ms = 1, .pid = 7};
    struct rp_frame work = {"work", "server", NULL, 0, false, 0};
    struct rp_frame shared_frame = {name, NULL, NULL, 0, false, 0};
    struct rp_buffer json;
    uint32_t stack[2];

    strcpy(report.method, "GET");
    strcpy(report.path, "/lua");
    report.tree = rp_calltree_new();
    rp_shared_frame_name(name, sharing);
    stack[0] = rp_calltree_intern(report.tree, &work);
    rp_calltree_add_stack(report.tree, stack, 1, own);
    stack[0] = rp_calltree_intern(report.tree, &shared_frame);
    stack[1] = rp_calltree_intern(report.tree, &work);
    rp_calltree_add_stack(report.tree, stack, 2, shared);
    report.samples = own + shared;
    report.shared_samples = shared;
    rp_buffer_init(&json);
    rp_render_json(&report, &json);
    snprintf(path, sizeof path, "%s/%s.json.gz", dir, stem);
    EXPECT_INT_EQ(0, rp_cli_output_write(path, &json, true, error,
                                         sizeof error));
    rp_buffer_free(&json);
    rp_report_release(&report);
}

/* The total of the root's child named function in report, or 0. */
static uint64_t root_child_total(const struct rp_report *report,
                                 const char *function)
{
    const struct rp_calltree_node *child =
        rp_calltree_root(report->tree)->first_child;

    for (; child != NULL; child = child->next_sibling)
        if (strcmp(rp_calltree_frame(report->tree, child->frame)->function,
                   function) == 0)
            return child->total;
    return 0;
}

UNIT_TEST(merge_adds_up_shared_samples_and_nodes)
{
    static const char index[] =
        "1795000000000000\t7\tGET\t/lua\t200\t30.000\t30.000\t30\tone\t10\n"
        "1795000001000000\t7\tGET\t/lua\t200\t30.000\t30.000\t30\ttwo\t5\n"
        "1795000002000000\t7\tGET\t/lua\t200\t30.000\t30.000\t30\tthree\t6\n";
    char dir[64], out[128], error[RP_CLI_ERROR_MAX];
    char *argv[] = {"merge", dir, "--to", "json", "-o", out, NULL};
    struct rp_report merged;
    int status;

    scratch_directory(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/merged.json", dir);
    write_file(dir, "index.tsv", index);
    write_report(dir, "one", 20, 10, 3);
    write_report(dir, "two", 25, 5, 3);
    write_report(dir, "three", 24, 6, 2);
    free(run(rp_cli_merge, 6, argv, &status));
    EXPECT_INT_EQ(RP_EXIT_OK, status);
    if (rp_cli_report_load(out, &merged, error, sizeof error) != 0) {
        UNIT_FAIL_AT("merged report: %s", error);
        remove_directory(dir);
        return;
    }
    EXPECT_INT_EQ(3, merged.requests);
    EXPECT_INT_EQ(90, merged.samples);
    EXPECT_INT_EQ(21, merged.shared_samples);
    EXPECT_INT_EQ(15, root_child_total(&merged, "[shared: 3 requests]"));
    EXPECT_INT_EQ(6, root_child_total(&merged, "[shared: 2 requests]"));
    EXPECT_INT_EQ(69, root_child_total(&merged, "work"));
    rp_report_release(&merged);
    remove_directory(dir);
}


UNIT_TEST(percentiles_are_by_nearest_rank)
{
    double hundred[100], ten[10], one = 7;

    for (int i = 0; i < 100; i++)
        hundred[i] = i + 1;
    for (int i = 0; i < 10; i++)
        ten[i] = 10 * (i + 1);
    /* The smallest value that at least p% of the values are at or below. */
    EXPECT_INT_EQ(50, rp_cli_percentile(hundred, 100, 50));
    EXPECT_INT_EQ(90, rp_cli_percentile(hundred, 100, 90));
    EXPECT_INT_EQ(99, rp_cli_percentile(hundred, 100, 99));
    EXPECT_INT_EQ(100, rp_cli_percentile(hundred, 100, 100));
    EXPECT_INT_EQ(50, rp_cli_percentile(ten, 10, 50));
    EXPECT_INT_EQ(90, rp_cli_percentile(ten, 10, 90));
    /* 9.9 of 10 values: the tenth. */
    EXPECT_INT_EQ(100, rp_cli_percentile(ten, 10, 99));
    EXPECT_INT_EQ(60, rp_cli_percentile(ten, 10, 51));
    EXPECT_INT_EQ(10, rp_cli_percentile(ten, 10, 0));
    EXPECT_INT_EQ(7, rp_cli_percentile(&one, 1, 99));
    EXPECT_INT_EQ(0, rp_cli_percentile(NULL, 0, 50));
}

UNIT_TEST(route_keys_are_the_method_and_the_path_without_the_query)
{
    char key[RP_REPORT_METHOD_MAX + RP_REPORT_PATH_MAX];

    rp_cli_route_key("GET", "/burn?ms=5&fn=beta", key, sizeof key);
    EXPECT_STR_EQ("GET /burn", key);
    rp_cli_route_key("POST", "/burn", key, sizeof key);
    EXPECT_STR_EQ("POST /burn", key);
    rp_cli_route_key("GET", "/?", key, sizeof key);
    EXPECT_STR_EQ("GET /", key);
    rp_cli_route_key("GET", "/a?b?c", key, sizeof key);
    EXPECT_STR_EQ("GET /a", key);
}

UNIT_TEST(latest_and_slowest_pick_among_requests_with_a_report)
{
    /* The slowest and the latest have no report file: the next of each
     * is taken, and those passed over counted. */
    static const char index[] =
        "1795000000000000\t7\tGET\t/a\t200\t50.000\t4.000\t50\ta\t0\n"
        "1795000004000000\t7\tGET\t/e\t200\t1.000\t1.000\t1\t-\t0\n"
        "1795000001000000\t7\tGET\t/b\t200\t90.000\t8.000\t90\tb\t0\n"
        "1795000002000000\t7\tGET\t/c\t200\t99.000\t8.000\t99\t-max-reports\t0\n"
        "1795000003000000\t7\tGET\t/d\t200\t20.000\t8.000\t20\td\t0\n";
    char dir[64], path[512], expected[512], error[RP_CLI_ERROR_MAX];
    size_t passed_over = 99;

    scratch_directory(dir, sizeof dir);
    write_file(dir, "index.tsv", index);
    write_report(dir, "a", 50, 0, 2);
    write_report(dir, "b", 90, 0, 2);
    write_report(dir, "d", 20, 0, 2);
    EXPECT_INT_EQ(0, rp_cli_index_pick(dir, RP_CLI_PICK_LATEST, path,
                                       sizeof path, &passed_over, error,
                                       sizeof error));
    snprintf(expected, sizeof expected, "%s/d.json.gz", dir);
    EXPECT_STR_EQ(expected, path);
    EXPECT_INT_EQ(1, passed_over);
    EXPECT_INT_EQ(0, rp_cli_index_pick(dir, RP_CLI_PICK_SLOWEST, path,
                                       sizeof path, &passed_over, error,
                                       sizeof error));
    snprintf(expected, sizeof expected, "%s/b.json.gz", dir);
    EXPECT_STR_EQ(expected, path);
    EXPECT_INT_EQ(1, passed_over);
    write_file(dir, "index.tsv", "1795000004000000\t7\tGET\t/e\t200\t"
                                 "1.000\t1.000\t1\t-\t0\n");
    EXPECT_INT_EQ(-1, rp_cli_index_pick(dir, RP_CLI_PICK_LATEST, path,
                                        sizeof path, NULL, error,
                                        sizeof error));
    EXPECT_TRUE(strstr(error, "no request has a report file") != NULL);
    remove_directory(dir);
}

UNIT_TEST(stats_groups_routes_and_names_their_top_functions)
{
    /* Three /lua requests (two queries) and one /other: CPU measured for
     * two of the /lua ones, 30 ms of the 90 the three took. */
    static const char index[] =
        "1795000000000000\t7\tGET\t/lua?x=1\t200\t10.000\t5.000\t10\tone\t0\n"
        "1795000001000000\t7\tGET\t/lua?x=2\t200\t50.000\t25.000\t50\ttwo\t0\n"
        "1795000002000000\t7\tGET\t/lua\t200\t30.000\t-\t0\t-\t0\n"
        "1795000003000000\t7\tPOST\t/other\t200\t5.000\t5.000\t5\t-\t0\n";
    char dir[64], *output;
    char *argv[] = {"stats", dir, NULL};
    int status;

    scratch_directory(dir, sizeof dir);
    write_file(dir, "index.tsv", index);
    write_report(dir, "one", 8, 0, 2);
    write_report(dir, "two", 40, 0, 2);
    output = run(rp_cli_stats, 2, argv, &status);
    EXPECT_INT_EQ(RP_EXIT_OK, status);
    EXPECT_TRUE(strstr(output, "GET /lua: 3 requests, 90.0 ms in all\n"
                               "  duration  p50 30.0 ms  p90 50.0 ms  "
                               "p99 50.0 ms\n"
                               "  CPU       33.3% of the duration (2 of 3 "
                               "requests measured)\n"
                               "  waiting   - (no report knows what ran)\n"
                               "  self time, top 5 of 2 reports (48.0 ms "
                               "sampled):\n"
                               "        48.0 ms 100.0%  work  server\n") !=
                NULL);
    /* The route that took the most time comes first. */
    EXPECT_TRUE(strstr(output, "GET /lua") < strstr(output, "POST /other"));
    EXPECT_TRUE(strstr(output, "POST /other: 1 request, 5.0 ms in all\n") !=
                NULL);
    EXPECT_TRUE(strstr(output, "no JSON or HTML report to read") != NULL);
    if (unit_current_failures > 0)
        fprintf(stderr, "%s", output);
    free(output);
    remove_directory(dir);
}

/* A report of requests requests whose tree has the given samples in
 * main > work and main > idle. */
static void diff_side(struct rp_report *report, uint64_t requests,
                      uint64_t work, uint64_t idle)
{
    struct rp_calltree *tree = fixture_report(report, "/lua", 7, "server");
    uint32_t stack[2];

    report->requests = requests;
    stack[0] = fixture_frame(tree, "main", "server", "main.c", 3);
    stack[1] = fixture_frame(tree, "work", "server", "main.c", 9);
    if (work > 0)
        rp_calltree_add_stack(tree, stack, 2, work);
    stack[1] = fixture_frame(tree, "idle", "server", "main.c", 12);
    if (idle > 0)
        rp_calltree_add_stack(tree, stack, 2, idle);
    report->samples = work + idle;
}

UNIT_TEST(diff_lines_up_both_trees_per_request_when_sizes_differ)
{
    struct rp_report a, b;
    struct rp_text_options options = {.unicode = false, .threshold = 0.01};
    struct rp_diff diff = {&a, &b, "before", "after", false};
    struct rp_buffer out;

    /* A: two requests, 40 ms of work in all; B: one, 30 ms of work and 10
     * idle, which A never was. */
    diff_side(&a, 2, 40, 0);
    diff_side(&b, 1, 30, 10);
    rp_buffer_init(&out);
    diff.per_request = true;
    EXPECT_INT_EQ(0, rp_render_diff_text(&diff, &options, &out));
    EXPECT_TRUE(out.data != NULL &&
                strstr(out.data, "Compared per request (averages): A sums 2 "
                                 "and B 1 requests") != NULL);
    EXPECT_TRUE(out.data != NULL &&
                strstr(out.data,
                       "     A ms     B ms      B-A\n"
                       "     20.0     40.0    +20.0  [request]\n"
                       "     20.0     40.0    +20.0  `- main  main.c:3\n"
                       "     20.0     30.0    +10.0     |- work  main.c:9\n"
                       "      0.0     10.0    +10.0     `- idle  main.c:12\n") !=
                    NULL);
    rp_buffer_reset(&out);
    diff.per_request = false;
    EXPECT_INT_EQ(0, rp_render_diff_text(&diff, &options, &out));
    EXPECT_TRUE(out.data != NULL &&
                strstr(out.data, "     40.0     30.0    -10.0     |- work  "
                                 "main.c:9\n") != NULL);
    if (unit_current_failures > 0)
        fprintf(stderr, "%s", out.data ? out.data : "");
    rp_buffer_free(&out);
    rp_report_release(&a);
    rp_report_release(&b);
}

int main(void)
{
    UNIT_RUN(ls_shows_the_shared_share_and_marks_over_a_tenth);
    UNIT_RUN(index_lines_of_both_versions_are_read);
    UNIT_RUN(merge_adds_up_shared_samples_and_nodes);
    UNIT_RUN(percentiles_are_by_nearest_rank);
    UNIT_RUN(route_keys_are_the_method_and_the_path_without_the_query);
    UNIT_RUN(latest_and_slowest_pick_among_requests_with_a_report);
    UNIT_RUN(stats_groups_routes_and_names_their_top_functions);
    UNIT_RUN(diff_lines_up_both_trees_per_request_when_sizes_differ);
    return unit_finish();
}
