/*
 * A minimal unit-test harness: each test is a function, each check prints
 * both values on failure, and the runner ends with "N passed, N failed".
 *
 * A test file defines its tests with UNIT_TEST(name), runs them from main
 * with UNIT_RUN(name) and returns unit_finish(). Each test runs in a child
 * process of its own, under a time limit: a crash or a hang names its
 * test and the others still run, and no test sees what another left
 * behind (the tables of the module under test start as main left them).
 */
#ifndef REQPROF_TEST_UNIT_H
#define REQPROF_TEST_UNIT_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Seconds a test may take before it is stopped and failed. */
#define UNIT_TIME_LIMIT 60

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
    /* Nothing buffered is printed twice, by the child and the parent. */
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        alarm(UNIT_TIME_LIMIT); /* SIGALRM's default action ends it */
        unit_current_failures = 0;
        test();
        fflush(stdout);
        fflush(stderr);
        _exit(unit_current_failures != 0);
    }
    int status = 0;
    bool ran = child > 0;
    while (ran && waitpid(child, &status, 0) < 0)
        ran = errno == EINTR;
    if (ran && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        unit_passed++;
        printf("ok   %s\n", name);
        return;
    }
    unit_failed++;
    if (!ran)
        printf("FAIL %s (could not run it: %s)\n", name, strerror(errno));
    else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        printf("FAIL %s (took longer than %d s)\n", name, UNIT_TIME_LIMIT);
    else if (WIFSIGNALED(status))
        printf("FAIL %s (killed by signal %d, %s)\n", name, WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    else
        printf("FAIL %s\n", name);
}

/* Prints the closing line; main returns this (0 when all passed). */
static inline int unit_finish(void)
{
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif
