/*
 * work_server: the server of the benchmark's CPU-bound workload.
 *
 * Why not the test server's /burn route: burn_alpha stops at a deadline on
 * the thread's CPU clock, and that clock also counts the time the kernel
 * spends delivering a profiler's signal to the thread and the time its
 * handler runs there. A request to /burn?ms=5 therefore takes 5 ms of CPU
 * whatever the profiler costs, and the cost hides from throughput and
 * latency alike. Here a request does a fixed amount of work, as a real
 * server's does, so whatever a profiler adds shows.
 *
 *   GET /work?n=N   N rounds of xorshift64 in work_inner, called through
 *                   route_work and work_outer (bench/run.py calibrates N to
 *                   about 5 ms on this machine with --calibrate)
 *   GET /           no work
 *
 * One detached thread per connection serves keep-alive requests in order,
 * as the test server does; heads only (no bodies), read with read(),
 * answered with writev(). SIGTERM and SIGINT make main() return, so exit
 * handlers and destructors (reqprof's, libprofiler's) run.
 *
 * Usage: work_server [--port N]       prints "listening on PORT"
 *        work_server --calibrate MS   prints N for MS ms of work, and exits
 *
 * Built like the test server: -O2, debug info, no frame pointers.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* A frame of its own under its own name (see test_server.c). */
#define SERVER_FRAME __attribute__((noinline, noclone, used))

#define BUFFER_SIZE 16384

/* The signal handler writes to [1]; the accept loop polls [0]. */
static int shutdown_pipe[2] = {-1, -1};
/* Where the work's result goes, so that gcc keeps the work. */
static volatile uint64_t work_sink;

SERVER_FRAME static uint64_t work_inner(uint64_t rounds, uint64_t x)
{
    for (uint64_t i = 0; i < rounds; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

SERVER_FRAME static void work_outer(uint64_t rounds)
{
    work_sink = work_inner(rounds, 0x9e3779b97f4a7c15u) + 1;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* Rounds of work_inner that take MS ms of CPU here: the fastest of several
 * tries, so that a preemption in one does not count. */
static uint64_t work_calibrate(unsigned ms)
{
    const uint64_t rounds = 20000000;
    uint64_t best_ns = UINT64_MAX;
    for (int i = 0; i < 15; i++) {
        uint64_t start = thread_cpu_ns();
        work_outer(rounds);
        uint64_t took = thread_cpu_ns() - start;
        if (took < best_ns)
            best_ns = took;
    }
    return (uint64_t)((double)rounds * ms * 1e6 / (double)best_ns);
}

/* Writes the whole response with one writev (short answers fit at once;
 * a partial write is finished with further calls). Returns 0 or -1. */
static int response_send(int fd, const char *body)
{
    char head[128];
    int head_length = snprintf(head, sizeof head,
                               "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: %zu\r\n\r\n",
                               strlen(body));
    struct iovec iov[2] = {{head, (size_t)head_length},
                           {(void *)body, strlen(body)}};
    struct iovec *next = iov;
    int count = 2;
    while (count > 0) {
        ssize_t written = writev(fd, next, count);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        while (count > 0 && (size_t)written >= next->iov_len) {
            written -= (ssize_t)next->iov_len;
            next++;
            count--;
        }
        if (count > 0) {
            next->iov_base = (char *)next->iov_base + written;
            next->iov_len -= (size_t)written;
        }
    }
    return 0;
}

SERVER_FRAME static int route_work(int fd, const char *query)
{
    const char *n = strstr(query, "n=");
    uint64_t rounds = n != NULL ? strtoull(n + 2, NULL, 10) : 0;
    work_outer(rounds);
    char body[64];
    snprintf(body, sizeof body, "worked %llu rounds\n", (unsigned long long)rounds);
    return response_send(fd, body);
}

/* TARGET is the request target, NUL-terminated. */
SERVER_FRAME static int request_dispatch(int fd, char *target)
{
    char *query = strchr(target, '?');
    if (query != NULL)
        *query++ = '\0';
    if (strcmp(target, "/work") == 0)
        return route_work(fd, query != NULL ? query : "");
    return response_send(fd, "ok\n");
}

/* Serves requests until the client closes or errs. */
SERVER_FRAME static void connection_serve(int fd)
{
    char buffer[BUFFER_SIZE + 1];
    size_t start = 0, end = 0;
    for (;;) {
        char *head_end;
        buffer[end] = '\0';
        while ((head_end = strstr(buffer + start, "\r\n\r\n")) == NULL) {
            if (start > 0) { /* keep the unread part at the front */
                memmove(buffer, buffer + start, end - start);
                end -= start;
                start = 0;
            }
            if (end == BUFFER_SIZE)
                return; /* a head this large is not ours */
            ssize_t n = read(fd, buffer + end, BUFFER_SIZE - end);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return;
            end += (size_t)n;
            buffer[end] = '\0';
        }
        /* "GET /target HTTP/1.1" */
        char *target = strchr(buffer + start, ' ');
        char *target_end = target != NULL ? strchr(target + 1, ' ') : NULL;
        if (target_end == NULL || target_end > head_end)
            return;
        *target_end = '\0';
        start = (size_t)(head_end + 4 - buffer);
        if (request_dispatch(fd, target + 1) != 0)
            return;
    }
}

SERVER_FRAME static void *connection_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    connection_serve(fd);
    close(fd);
    return NULL;
}

static void on_stop_signal(int signal_number)
{
    char byte = (char)signal_number;
    (void)!write(shutdown_pipe[1], &byte, 1);
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--calibrate") == 0 && i + 1 < argc) {
            printf("%llu\n", (unsigned long long)work_calibrate((unsigned)atoi(argv[++i])));
            return 0;
        } else {
            fprintf(stderr, "usage: work_server [--port N] | --calibrate MS\n");
            return 2;
        }
    }
    if (pipe(shutdown_pipe) != 0)
        return 1;
    struct sigaction stop = {.sa_handler = on_stop_signal};
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(listener, 1024) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
        fprintf(stderr, "work_server: cannot listen on port %d: %s\n", port,
                strerror(errno));
        return 1;
    }
    printf("listening on %d\n", ntohs(address.sin_port));
    fflush(stdout);

    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    for (;;) {
        struct pollfd fds[2] = {{listener, POLLIN, 0}, {shutdown_pipe[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            return 1;
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_t thread;
        if (pthread_create(&thread, &attributes, connection_thread,
                           (void *)(intptr_t)fd) != 0)
            close(fd);
    }
    return 0;
}
