/*
 * sample_cost: what one sample costs inside reqprof's signal handler, by
 * stack depth. Run it under LD_PRELOAD=libreqprof.so (bench/run.py does).
 *
 * It is its own server and client: a thread connects over loopback and
 * sends one request, and the main thread accepts and reads it, so reqprof
 * sees a request begin on the main thread: its per-thread state exists,
 * its unwinder is warmed up, and samples have a request to go to, exactly
 * as in a server. While that request is open the main thread recurses to a
 * chosen depth and spins there, and a timer of our own (its own signal,
 * every 1 ms) interrupts it. Our handler reads the clock, calls reqprof's
 * own handler (asked from the kernel with sigaction) as the kernel would,
 * with the timer's siginfo and the interrupted context, and reads the
 * clock again. So the time is that of reqprof's real handler code on a
 * real signal frame: the unwind through the signal frame and the stack,
 * the ring slot, the clock read. What the kernel spends delivering the
 * signal is not in it: that is the floor, measured on the real workload.
 * One frame more (ours) sits between the signal frame and reqprof's
 * handler, which costs the unwind one step.
 *
 * Prints one line per depth: "frames N samples N median_us X p99_us Y",
 * after a line for an empty call ("frames 0 ...") that is the cost of the
 * measurement itself. Run it with REQPROF_INTERVAL=100ms: reqprof's own
 * timer keeps running beside ours, and should add few samples; but its
 * writer, which drains the ring our samples go into, goes to sleep for
 * seconds after a second without any sample of reqprof's own, and then
 * the ring fills and the handler returns early, which would time nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <execinfo.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME __attribute__((noinline, noclone))
#define SAMPLES_MAX 4096
/* How long each depth is sampled, in ms of wall time (1 sample per ms). */
#define SPIN_MS 1500

typedef void (*sigaction_handler)(int, siginfo_t *, void *);

static sigaction_handler reqprof_handler;
static volatile int measure_empty; /* 1: call nothing, to time the timing */
static uint32_t durations_ns[SAMPLES_MAX];
static volatile unsigned duration_count;
static volatile uint64_t spin_sink;

static uint64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

FRAME static void empty_handler(int signal_number, siginfo_t *info, void *context)
{
    (void)signal_number, (void)info, (void)context;
    __asm__ volatile("" ::: "memory");
}

static void on_our_signal(int signal_number, siginfo_t *info, void *context)
{
    int saved_errno = errno;
    sigaction_handler handler = measure_empty ? empty_handler : reqprof_handler;
    uint64_t start = now_ns();
    handler(SIGPROF, info, context);
    uint64_t took = now_ns() - start;
    if (duration_count < SAMPLES_MAX)
        durations_ns[duration_count++] = (uint32_t)took;
    errno = saved_errno;
}

/* Spins until the deadline; the timer interrupts it here. */
FRAME static void spin(uint64_t deadline)
{
    uint64_t x = 88172645463325252ull;
    while (now_ns() < deadline) {
        for (int i = 0; i < 1000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    spin_sink = x;
}

static int frames_at_bottom;

/* Recurses LEVELS more frames, then spins; not a tail call, so each level
 * stays a frame for the unwinder to walk. */
FRAME static int descend(int levels, uint64_t deadline)
{
    volatile int keep = levels;
    if (levels == 0) {
        void *frames[512];
        frames_at_bottom = backtrace(frames, 512);
        spin(deadline);
        return keep;
    }
    return descend(levels - 1, deadline) + keep;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Samples LEVELS deep for SPIN_MS and prints the line for it. */
static void measure(timer_t timer, int levels, int empty)
{
    measure_empty = empty;
    duration_count = 0;
    struct itimerspec every_ms = {{0, 1000000}, {0, 1000000}};
    struct itimerspec off = {{0, 0}, {0, 0}};
    timer_settime(timer, 0, &every_ms, NULL);
    descend(levels, now_ns() + SPIN_MS * 1000000ull);
    timer_settime(timer, 0, &off, NULL);
    unsigned count = duration_count;
    qsort(durations_ns, count, sizeof durations_ns[0], compare_u32);
    printf("frames %d samples %u median_us %.3f p99_us %.3f\n",
           empty ? 0 : frames_at_bottom + 1, count,
           count ? durations_ns[count / 2] / 1000.0 : 0.0,
           count ? durations_ns[count * 99 / 100] / 1000.0 : 0.0);
    fflush(stdout);
}

static int listen_port;

static void *client(void *unused)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)listen_port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0)
        return NULL;
    const char request[] = "GET /sample-cost HTTP/1.1\r\nHost: bench\r\n\r\n";
    (void)!write(fd, request, sizeof request - 1);
    char buffer[256];
    while (read(fd, buffer, sizeof buffer) > 0)
        ;
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sigaction installed;
    if (sigaction(SIGPROF, NULL, &installed) != 0 ||
        !(installed.sa_flags & SA_SIGINFO) || installed.sa_sigaction == NULL) {
        fprintf(stderr, "sample_cost: no SIGPROF handler: run it under "
                        "LD_PRELOAD=libreqprof.so\n");
        return 1;
    }
    reqprof_handler = installed.sa_sigaction;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(listener, 1) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0)
        return 1;
    listen_port = ntohs(address.sin_port);
    pthread_t client_thread;
    pthread_create(&client_thread, NULL, client, NULL);
    int fd = accept(listener, NULL, NULL);
    char buffer[256];
    if (fd < 0 || read(fd, buffer, sizeof buffer) <= 0)
        return 1;
    /* Now on a request: reqprof samples this thread. */

    int our_signal = SIGRTMIN + 6;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_our_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&action.sa_mask); /* as reqprof's own */
    sigaction(our_signal, &action, NULL);
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = our_signal;
    event._sigev_un._tid = gettid();
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0)
        return 1;

    /* Frames the stack has at levels == 0 (spin's, then descend's and its
     * callers'), to aim at the depths asked. */
    descend(0, 0);
    int base = frames_at_bottom + 1;
    measure(timer, 0, 1);
    int depths[] = {10, 30, 100};
    for (int i = 1; i < argc; i++)
        depths[i - 1] = atoi(argv[i]);
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++)
        measure(timer, depths[i] > base ? depths[i] - base : 0, 0);

    const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    (void)!write(fd, response, sizeof response - 1);
    close(fd);
    pthread_join(client_thread, NULL);
    return 0;
}
