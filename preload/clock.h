/*
 * Time as reqprof keeps it: nanoseconds in a uint64_t. clock_gettime is
 * async-signal-safe (a vDSO call for CLOCK_MONOTONIC), so the signal
 * handler reads clocks through here too.
 */
#ifndef REQPROF_CLOCK_H
#define REQPROF_CLOCK_H

#include <stdint.h>
#include <time.h>

#define RP_NS_PER_SECOND 1000000000u

static inline uint64_t rp_timespec_to_ns(const struct timespec *time)
{
    return (uint64_t)time->tv_sec * RP_NS_PER_SECOND + (uint64_t)time->tv_nsec;
}

static inline struct timespec rp_ns_to_timespec(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / RP_NS_PER_SECOND), (long)(ns % RP_NS_PER_SECOND)};
}

/* clock's time; 0 when it cannot be read. */
static inline uint64_t rp_clock_ns(clockid_t clock)
{
    struct timespec now;
    if (clock_gettime(clock, &now) != 0)
        return 0;
    return rp_timespec_to_ns(&now);
}

static inline uint64_t rp_monotonic_ns(void)
{
    return rp_clock_ns(CLOCK_MONOTONIC);
}

#endif
