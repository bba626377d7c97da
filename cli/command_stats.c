/*
 * reqprof stats: a report directory summed up per route (method and path
 * without the query): how many requests, how long they took (p50, p90,
 * p99), what share of that was on the CPU, and the functions that took
 * the most time of their own across the route's reports.
 *
 * Counts, durations and CPU times come from index.tsv, so every request
 * counts, with or without a report file; the functions come from the
 * route's JSON or HTML reports, the only ones that can be read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char stats_usage[] =
    "usage: reqprof stats [DIR] [--path PATTERN]\n"
    "\n"
    "Sums up the requests recorded in DIR (default: REQPROF_DIR, else\n"
    "./reqprof) per route, a method and a path without its query (\"GET\n"
    "/burn\" for \"/burn?ms=5\"), the routes that took the most time first:\n"
    "  - the number of requests, and their duration's 50th, 90th and 99th\n"
    "    percentiles (nearest rank: the shortest duration that many\n"
    "    percent of the requests took at most), from index.tsv;\n"
    "  - the CPU share: the requests' CPU time over their duration; a\n"
    "    request no sample landed in has no CPU time measured, and counts\n"
    "    as none (it ran less than a sampling interval);\n"
    "  - the wait share: of the sampled time of the route's reports that\n"
    "    know what ran (JSON version 6 on), the samples that waited\n"
    "    (blocked, or ready but off the CPU);\n"
    "  - the 5 functions with the most time of their own (self) across the\n"
    "    route's reports, with their share of the reports' sampled time;\n"
    "    this needs JSON or HTML reports (REQPROF_OUTPUT=json or html).\n"
    "\n"
    "  --path PATTERN  only requests whose path matches the shell pattern\n"
    "                  (\"/api/*\"; \"/burn\" also matches \"/burn?ms=5\")\n";

/* Functions listed per route. */
#define STATS_TOP_FUNCTIONS 5

/* One function's time of its own across a route's reports. */
struct stats_function {
    struct rp_frame frame; /* its strings are the route's copies */
    double self_ms;
};

/* One route: a run of requests with the same key. */
struct stats_route {
    char key[RP_REPORT_METHOD_MAX + RP_REPORT_PATH_MAX];
    const struct rp_cli_request **requests; /* the route's, by duration */
    size_t count;
    double duration_ms;  /* in all */
    double cpu_ms;       /* in all, of those measured */
    size_t measured;     /* requests whose CPU time was measured */
    size_t reports;      /* reports read for the functions */
    double sampled_ms;   /* samples of those reports, in ms */
    size_t cpu_reports;  /* of them, those that know what ran (version 6) */
    double cpu_sampled_ms; /* their samples, in ms */
    double waited_ms;    /* of those, the samples that waited, in ms */
    struct stats_function *functions;
    size_t function_count;
};

void rp_cli_route_key(const char *method, const char *target, char *key,
                      size_t size)
{
    snprintf(key, size, "%s %.*s", method, (int)strcspn(target, "?"),
             target);
}

double rp_cli_percentile(const double *sorted, size_t count, double percent)
{
    double exact = percent / 100 * (double)count;
    /* The rank, 1 to count: exact, rounded up. */
    size_t rank = (size_t)exact;

    if (count == 0)
        return 0;
    if ((double)rank < exact)
        rank++;
    if (rank < 1)
        rank = 1;
    return sorted[(rank > count ? count : rank) - 1];
}

/* Whether two optional strings are equal (NULL equals only NULL). */
static bool optional_equal(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static char *optional_copy(const char *text, bool *failed)
{
    char *copy;

    if (text == NULL)
        return NULL;
    if ((copy = strdup(text)) == NULL)
        *failed = true;
    return copy;
}

/* Adds ms of frame's own time to route. Returns 0, or -1 when out of
 * memory. A function is its name and object: its location is the first
 * seen. */
static int route_add_self(struct stats_route *route,
                          const struct rp_frame *frame, double ms)
{
    struct stats_function *function;
    bool failed = false;

    for (size_t i = 0; i < route->function_count; i++) {
        function = &route->functions[i];
        if (strcmp(function->frame.function, frame->function) == 0 &&
            optional_equal(function->frame.object, frame->object)) {
            function->self_ms += ms;
            return 0;
        }
    }
    function = realloc(route->functions,
                       (route->function_count + 1) * sizeof *function);
    if (function == NULL)
        return -1;
    route->functions = function;
    function = &route->functions[route->function_count];
    function->frame = (struct rp_frame){
        .function = optional_copy(frame->function, &failed),
        .object = optional_copy(frame->object, &failed),
        .file = optional_copy(frame->file, &failed),
        .line = frame->line,
    };
    function->self_ms = ms;
    route->function_count++;
    return failed ? -1 : 0;
}

/* Adds node's subtree's self time, per frame, to self (by frame id). */
static void tree_add_self(const struct rp_calltree_node *node, uint64_t *self)
{
    if (node->frame != RP_FRAME_ROOT)
        self[node->frame] += node->self;
    for (node = node->first_child; node; node = node->next_sibling)
        tree_add_self(node, self);
}

/* Adds a report's self times to the route's functions. Returns 0, or -1
 * when out of memory. */
static int route_add_report(struct stats_route *route,
                            const struct rp_report *report)
{
    uint32_t frames = 0;
    uint64_t *self;
    int result = 0;

    while (rp_calltree_frame(report->tree, frames) != NULL)
        frames++;
    self = calloc(frames + 1, sizeof *self);
    if (self == NULL)
        return -1;
    tree_add_self(rp_calltree_root(report->tree), self);
    for (uint32_t id = 0; id < frames && result == 0; id++)
        if (self[id] > 0)
            result = route_add_self(route,
                                    rp_calltree_frame(report->tree, id),
                                    (double)self[id] * report->interval_ms);
    free(self);
    route->reports++;
    route->sampled_ms += (double)report->samples * report->interval_ms;
    if (rp_calltree_cpu_known(report->tree)) {
        const struct rp_calltree_node *root = rp_calltree_root(report->tree);

        route->cpu_reports++;
        route->cpu_sampled_ms += (double)root->total * report->interval_ms;
        route->waited_ms += (double)(root->total - root->cpu_total) * report->interval_ms;
    }
    return result;
}

/* Reads the reports of the route's requests that have one it can read
 * back. Returns an exit status. */
static int route_read_reports(const char *dir, struct stats_route *route)
{
    for (size_t i = 0; i < route->count; i++) {
        struct rp_report report;
        char path[4096], error[RP_CLI_ERROR_MAX];
        int result;

        if (rp_cli_report_of(dir, route->requests[i], false, path,
                             sizeof path) != 0)
            continue;
        if (rp_cli_report_load(path, &report, error, sizeof error) != 0) {
            fprintf(stderr, "reqprof: %s: %s\n", path, error);
            return RP_EXIT_FAILURE;
        }
        result = route_add_report(route, &report);
        rp_report_release(&report);
        if (result != 0) {
            fprintf(stderr, "reqprof: out of memory\n");
            return RP_EXIT_FAILURE;
        }
    }
    return RP_EXIT_OK;
}

static int function_compare_self(const void *a, const void *b)
{
    const struct stats_function *x = a, *y = b;

    if (x->self_ms != y->self_ms)
        return x->self_ms > y->self_ms ? -1 : 1;
    return strcmp(x->frame.function, y->frame.function);
}

/* Prints one route's summary. */
static void route_print(const struct stats_route *route)
{
    double durations[3];
    static const double percents[3] = {50, 90, 99};
    double *sorted = malloc(route->count * sizeof *sorted);
    size_t shown;

    printf("%s: %zu request%s, %.1f ms in all\n", route->key, route->count,
           route->count == 1 ? "" : "s", route->duration_ms);
    if (sorted != NULL) {
        /* The requests are sorted by duration already. */
        for (size_t i = 0; i < route->count; i++)
            sorted[i] = route->requests[i]->duration_ms;
        for (int i = 0; i < 3; i++)
            durations[i] = rp_cli_percentile(sorted, route->count,
                                             percents[i]);
        printf("  duration  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms\n",
               durations[0], durations[1], durations[2]);
        free(sorted);
    }
    if (route->measured > 0 && route->duration_ms > 0)
        printf("  CPU       %.1f%% of the duration (%zu of %zu requests "
               "measured)\n", 100 * route->cpu_ms / route->duration_ms,
               route->measured, route->count);
    else
        printf("  CPU       - (no request's CPU time was measured)\n");
    if (route->cpu_reports > 0 && route->cpu_sampled_ms > 0)
        printf("  waiting   %.1f%% of the sampled time (%zu of %zu reports "
               "know what ran)\n", 100 * route->waited_ms / route->cpu_sampled_ms,
               route->cpu_reports, route->reports);
    else
        printf("  waiting   - (no report knows what ran)\n");
    if (route->reports == 0) {
        printf("  self time - (no JSON or HTML report to read)\n\n");
        return;
    }
    printf("  self time, top %d of %zu report%s (%.1f ms sampled):\n",
           STATS_TOP_FUNCTIONS, route->reports,
           route->reports == 1 ? "" : "s", route->sampled_ms);
    shown = route->function_count < STATS_TOP_FUNCTIONS
                ? route->function_count
                : STATS_TOP_FUNCTIONS;
    for (size_t i = 0; i < shown; i++) {
        const struct stats_function *function = &route->functions[i];
        struct rp_buffer line;

        rp_buffer_init(&line);
        rp_buffer_printf(&line, "  %10.1f ms %5.1f%%  ", function->self_ms,
                         route->sampled_ms > 0
                             ? 100 * function->self_ms / route->sampled_ms
                             : 0);
        /* Names are a program's bytes: never let them move the cursor. */
        rp_buffer_put_printable(&line, function->frame.function,
                                strlen(function->frame.function), "?");
        if (function->frame.file != NULL || function->frame.object != NULL) {
            const char *where = function->frame.file ? function->frame.file
                                                     : function->frame.object;

            rp_buffer_puts(&line, "  ");
            rp_buffer_put_printable(&line, where, strlen(where), "?");
            if (function->frame.file != NULL && function->frame.line > 0)
                rp_buffer_printf(&line, ":%d", function->frame.line);
        }
        if (line.data != NULL)
            printf("%s\n", line.data);
        rp_buffer_free(&line);
    }
    printf("\n");
}

static void route_free(struct stats_route *route)
{
    for (size_t i = 0; i < route->function_count; i++) {
        free((char *)route->functions[i].frame.function);
        free((char *)route->functions[i].frame.object);
        free((char *)route->functions[i].frame.file);
    }
    free(route->functions);
}

/* A request with its route's key, to sort by. */
struct keyed_request {
    char key[RP_REPORT_METHOD_MAX + RP_REPORT_PATH_MAX];
    const struct rp_cli_request *request;
};

static int keyed_compare(const void *a, const void *b)
{
    const struct keyed_request *x = a, *y = b;
    int order = strcmp(x->key, y->key);

    if (order != 0)
        return order;
    return (x->request->duration_ms > y->request->duration_ms) -
           (x->request->duration_ms < y->request->duration_ms);
}

static int route_compare_time(const void *a, const void *b)
{
    const struct stats_route *x = a, *y = b;

    if (x->duration_ms != y->duration_ms)
        return x->duration_ms > y->duration_ms ? -1 : 1;
    return strcmp(x->key, y->key);
}

/*
 * Groups the requests into routes (*routes to free, with their request
 * arrays pointing into keyed's). Returns the number of routes, or -1 when
 * out of memory.
 */
static long routes_make(const struct rp_cli_request *requests, size_t count,
                        struct keyed_request *keyed,
                        const struct rp_cli_request **by_route,
                        struct stats_route **routes)
{
    size_t route_count = 0;

    for (size_t i = 0; i < count; i++) {
        rp_cli_route_key(requests[i].method, requests[i].path, keyed[i].key,
                         sizeof keyed[i].key);
        keyed[i].request = &requests[i];
    }
    qsort(keyed, count, sizeof *keyed, keyed_compare);
    *routes = calloc(count, sizeof **routes);
    if (*routes == NULL)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const struct rp_cli_request *request = keyed[i].request;
        struct stats_route *route;

        by_route[i] = request;
        if (i == 0 || strcmp(keyed[i].key, keyed[i - 1].key) != 0) {
            route = &(*routes)[route_count++];
            memcpy(route->key, keyed[i].key, sizeof route->key);
            route->requests = &by_route[i];
        }
        route = &(*routes)[route_count - 1];
        route->count++;
        route->duration_ms += request->duration_ms;
        if (request->cpu_measured) {
            route->measured++;
            route->cpu_ms += request->cpu_ms;
        }
    }
    return (long)route_count;
}

/* Prints the summary of the requests. Returns an exit status. */
static int stats_print(const char *dir, const struct rp_cli_request *requests,
                       size_t count)
{
    struct keyed_request *keyed = calloc(count, sizeof *keyed);
    const struct rp_cli_request **by_route = calloc(count, sizeof *by_route);
    struct stats_route *routes = NULL;
    long route_count = -1;
    int status = RP_EXIT_OK;

    if (keyed != NULL && by_route != NULL)
        route_count = routes_make(requests, count, keyed, by_route, &routes);
    if (route_count < 0) {
        fprintf(stderr, "reqprof: out of memory\n");
        status = RP_EXIT_FAILURE;
        route_count = 0;
    }
    qsort(routes, (size_t)route_count, sizeof *routes, route_compare_time);
    for (long i = 0; i < route_count && status == RP_EXIT_OK; i++) {
        status = route_read_reports(dir, &routes[i]);
        qsort(routes[i].functions, routes[i].function_count,
              sizeof *routes[i].functions, function_compare_self);
        if (status == RP_EXIT_OK)
            route_print(&routes[i]);
    }
    for (long i = 0; i < route_count; i++)
        route_free(&routes[i]);
    free(routes);
    free(by_route);
    free(keyed);
    if (status == RP_EXIT_OK && fflush(stdout) != 0)
        status = RP_EXIT_FAILURE;
    return status;
}

int rp_cli_stats(int argc, char **argv)
{
    static const struct option options[] = {
        {"path", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {0}};
    struct rp_cli_request *requests;
    struct rp_config config;
    const char *dir, *pattern = NULL;
    long count;
    int option, status;

    opterr = 0;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (option == 'h')
            return rp_cli_usage(stats_usage, true);
        if (option != 'p')
            return rp_cli_bad_option(argv, stats_usage);
        pattern = optarg;
    }
    if ((status = rp_cli_directory_argument(argc, argv, stats_usage, &config,
                                            &dir)) != RP_EXIT_OK)
        return status;
    count = rp_cli_index_read_or_say(dir, pattern, &requests);
    if (count < 0)
        return RP_EXIT_FAILURE;
    if (count == 0)
        fprintf(stderr, "reqprof: no request in %s/index.tsv%s%s\n", dir,
                pattern ? " matches " : "", pattern ? pattern : "");
    status = count > 0 ? stats_print(dir, requests, (size_t)count)
                       : RP_EXIT_OK;
    free(requests);
    return status;
}
