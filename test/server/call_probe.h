/*
 * What the probes (socket_probe, dup_probe and the small programs beside
 * them) share: each call is made with a sentinel in errno and printed with
 * its result and errno, so a run under reqprof and a run without it can be
 * compared line by line; and a listener on 127.0.0.1 to connect to.
 */
#ifndef REQPROF_TEST_CALL_PROBE_H
#define REQPROF_TEST_CALL_PROBE_H

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

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

/* A listening socket on 127.0.0.1 at a port the kernel picks, written
 * into *address for connect. Returns the fd, or -1. */
static inline int loopback_listener(struct sockaddr_in *address)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    *address = (struct sockaddr_in){.sin_family = AF_INET,
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof *address;
    if (bind(listener, (struct sockaddr *)address, sizeof *address) != 0 ||
        listen(listener, 1) != 0 ||
        getsockname(listener, (struct sockaddr *)address, &length) != 0)
        return -1;
    return listener;
}

/* A socket connected to the loopback listener at address. Returns the
 * fd, or -1. */
static inline int loopback_client(const struct sockaddr_in *address)
{
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (const struct sockaddr *)address, sizeof *address) != 0)
        return -1;
    return client;
}

#endif
