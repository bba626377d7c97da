/*
 * What the test servers (test_server, event_server, mhd_server) share: a
 * listening socket on 127.0.0.1 and the clocks their burn functions stop
 * on. Each server stays one file; this header keeps them from copying.
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
