/*
 * A minimal unit-test harness: each test is a function, each check prints
 * both values on failure, and the runner ends with "N passed, N failed".
 *
 * A test file defines its tests with UNIT_TEST(name), runs them from main
 * with UNIT_RUN(name) and returns unit_finish(); each file is built as its
 * own program, so a crash in one file
 * cannot hide the results of another (test/run-tests runs each one).
 */
#ifndef REQPROF_TEST_UNIT_H
#define REQPROF_TEST_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Failures of the test that is running; reset before each test. */
static int unit_current_failures;

#define UNIT_TEST(name) static void name(void)

#define UNIT_FAIL_AT(...)                                                    \
    do {                                                                     \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                    \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        unit_current_failures++;                                             \
    } while (0)

#define EXPECT_TRUE(cond)                                                    \
    do {                                                                     \
        if (!(cond))                                                         \
            UNIT_FAIL_AT("expected %s", #cond);                              \
    } while (0)

#define EXPECT_INT_EQ(expected, actual)                                      \
    do {                                                                     \
        long long unit_e_ = (long long)(expected);                           \
        long long unit_a_ = (long long)(actual);                             \
        if (unit_e_ != unit_a_)                                              \
            UNIT_FAIL_AT("%s: expected %lld, got %lld", #actual, unit_e_,    \
                         unit_a_);                                           \
    } while (0)

#define EXPECT_STR_EQ(expected, actual)                                      \
    do {                                                                     \
        const char *unit_e_ = (expected);                                    \
        const char *unit_a_ = (actual);                                      \
        if (unit_e_ == NULL || unit_a_ == NULL || strcmp(unit_e_, unit_a_))  \
            UNIT_FAIL_AT("%s: expected \"%s\", got \"%s\"", #actual,         \
                         unit_e_ ? unit_e_ : "(null)",                       \
                         unit_a_ ? unit_a_ : "(null)");                      \
    } while (0)

/* Tests passed and failed so far in this program. */
static int unit_passed, unit_failed;

/* Runs one test and records its outcome: use as UNIT_RUN(test_name). */
#define UNIT_RUN(name) unit_run_(name, #name)

static inline void unit_run_(void (*test)(void), const char *name)
{
    unit_current_failures = 0;
    test();
    if (unit_current_failures) {
        unit_failed++;
        printf("FAIL %s\n", name);
    } else {
        unit_passed++;
        printf("ok   %s\n", name);
    }
}

/* Prints the closing line; main returns this (0 when all passed). */
static inline int unit_finish(void)
{
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif
