/*
 * What the probes (socket_probe, dup_probe) share: each call is made with
 * a sentinel in errno and printed with its result and errno, so a run
 * under reqprof and a run without it can be compared line by line.
 */
#ifndef REQPROF_TEST_CALL_PROBE_H
#define REQPROF_TEST_CALL_PROBE_H

#include <errno.h>
#include <stdio.h>

/* errno set before each call: a call that succeeds must leave it alone. */
#define ERRNO_SENTINEL 4242

static inline void report(const char *call, long result)
{
    printf("%-48s result=%ld errno=%d\n", call, result, errno);
    fflush(stdout);
}

#define PROBE(call)                                                          \
    do {                                                                     \
        errno = ERRNO_SENTINEL;                                              \
        long probe_result_ = (long)(call);                                   \
        report(#call, probe_result_);                                        \
    } while (0)

#endif
