/* Unit tests of the report budget's window (preload/report_budget.c). */
#include <stdbool.h>
#include <stdlib.h>

#include "report_budget.h"
#include "unit.h"

/* Requests of a window: their durations, and what became of them. */
#define REQUESTS 2000

struct request {
    uint64_t duration_ns;
    bool skipped; /* returned by an offer */
    bool kept;    /* taken when the window closed */
};

/* Offers every request in order; closes the window; checks that nobody
 * was both skipped and kept, or neither. Returns how many were kept. */
static size_t run_window(struct request *requests, size_t count, size_t limit)
{
    struct rp_report_budget budget = {.limit = limit};
    struct request *loser, *taken;
    size_t kept = 0;

    for (size_t i = 0; i < count; i++) {
        loser = rp_report_budget_offer(&budget, requests[i].duration_ns,
                                       &requests[i]);
        if (loser != NULL) {
            EXPECT_TRUE(!loser->skipped);
            loser->skipped = true;
        }
    }
    rp_report_budget_close(&budget);
    for (struct request *previous = NULL;
         (taken = rp_report_budget_take(&budget)) != NULL; previous = taken) {
        EXPECT_TRUE(!taken->skipped && !taken->kept);
        /* In the order offered. */
        EXPECT_TRUE(previous == NULL || previous < taken);
        taken->kept = true;
        kept++;
    }
    for (size_t i = 0; i < count; i++)
        EXPECT_TRUE(requests[i].skipped != requests[i].kept);
    rp_report_budget_free(&budget);
    return kept;
}

UNIT_TEST(under_the_limit_every_request_is_kept)
{
    struct request requests[30] = {{0}};

    for (size_t i = 0; i < 30; i++)
        requests[i].duration_ns = 1000 - i;
    EXPECT_INT_EQ(30, run_window(requests, 30, 30));
}

UNIT_TEST(no_request_is_skipped_while_a_faster_one_is_kept)
{
    static struct request requests[REQUESTS];
    uint64_t slowest_skipped = 0, fastest_kept = UINT64_MAX;

    srand(9);
    for (size_t i = 0; i < REQUESTS; i++) {
        /* Many equal durations, as fast requests have. */
        requests[i] = (struct request){.duration_ns = (uint64_t)(rand() % 500)};
    }
    EXPECT_INT_EQ(100, run_window(requests, REQUESTS, 100));
    for (size_t i = 0; i < REQUESTS; i++) {
        if (requests[i].kept && requests[i].duration_ns < fastest_kept)
            fastest_kept = requests[i].duration_ns;
        if (requests[i].skipped && requests[i].duration_ns > slowest_skipped)
            slowest_skipped = requests[i].duration_ns;
    }
    EXPECT_TRUE(slowest_skipped <= fastest_kept);
}

UNIT_TEST(a_slow_request_last_displaces_the_fastest)
{
    struct request requests[4] = {
        {.duration_ns = 5}, {.duration_ns = 1}, {.duration_ns = 3},
        {.duration_ns = 9},
    };

    EXPECT_INT_EQ(3, run_window(requests, 4, 3));
    EXPECT_TRUE(requests[1].skipped);
    EXPECT_TRUE(requests[0].kept && requests[2].kept && requests[3].kept);
}

int main(void)
{
    UNIT_RUN(under_the_limit_every_request_is_kept);
    UNIT_RUN(no_request_is_skipped_while_a_faster_one_is_kept);
    UNIT_RUN(a_slow_request_last_displaces_the_fastest);
    return unit_finish();
}
