/*
 * What the test servers share: a listening socket on 127.0.0.1, and the
 * burn functions whose names the tests look for in reports. Each server
 * stays one file; this header keeps them from copying.
 */
#ifndef REQPROF_TEST_SERVER_SUPPORT_H
#define REQPROF_TEST_SERVER_SUPPORT_H

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* CLOCK in nanoseconds. */
static inline uint64_t clock_ns(clockid_t clock) {
    struct timespec now;

    clock_gettime(clock, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* This thread's CPU time, which burn functions spend to a deadline. */
static inline uint64_t thread_cpu_ns(void) {
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* Keeps a function as a frame of its own, under its own name, for profiles
 * to show: noinline and noclone stop gcc from folding it into a caller or
 * emitting a renamed copy (burn_alpha.constprop.0), and used keeps it in the
 * binary whatever gcc concludes about its calls. No caller makes the call its
 * last action, so no tail call replaces the caller's frame either. */
#define SERVER_FRAME __attribute__((noinline, noclone, used))

/* Iterations of burn work between two reads of the thread's CPU clock:
 * about 40 µs on a 2.5 GHz core (every step waits for the one before it),
 * against about 0.5 µs for the clock_gettime system call that reads a
 * thread's CPU clock, so the clock takes under 2% of the samples. */
#define SERVER_BURN_ITERATIONS 24000

/* Where burn results go, so that gcc cannot discard the work that made
 * them. */
static volatile uint64_t burn_sink __attribute__((unused));

/*
 * Defines SERVER_FRAME static void NAME(unsigned ms), which burns ms of the
 * calling thread's CPU time in xorshift64 steps from SEED. The loop is in
 * NAME itself, so that the samples are its self time. gcc merges functions
 * whose code is the same into one symbol (-fipa-icf), and a profile would
 * then name one for the other: the burners of one program each take their
 * own SEED.
 */
#define SERVER_BURNER(name, seed)                                            \
    SERVER_FRAME static void name(unsigned ms) {                             \
        uint64_t deadline = thread_cpu_ns() + ms * 1000000ull;               \
        uint64_t x = (seed);                                                 \
                                                                             \
        while (thread_cpu_ns() < deadline) {                                 \
            for (int i = 0; i < SERVER_BURN_ITERATIONS; i++) {               \
                x ^= x << 13;                                                \
                x ^= x >> 7;                                                 \
                x ^= x << 17;                                                \
            }                                                                \
        }                                                                    \
        burn_sink = x;                                                       \
    }

/* The reason phrase of the statuses the test servers answer with. */
static inline const char *server_http_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    default:  return "Error";
    }
}

/* A non-blocking listening socket on 127.0.0.1:PORT (0: any free port).
 * Returns the fd, or -errno. */
static inline int server_listen(unsigned port) {
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    int one = 1, rc;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

#endif
