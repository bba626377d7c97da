/*
 * libfloor.so: the floor of any in-process wall-clock sampler, preloaded
 * into a server instead of reqprof.
 *
 * What it models: a 1 ms CLOCK_MONOTONIC timer per thread (timer_create,
 * SIGEV_THREAD_ID) that runs while the thread works, and a signal handler
 * that only counts. That is what any in-process wall-clock sampler pays
 * while a thread is busy, before doing anything with a sample: the kernel's
 * delivery of a signal every millisecond. No parsing, no unwinding, no
 * ring, no writer: whatever reqprof costs above this is its own doing.
 *
 * The timer starts and stops by reqprof's rules (preload/thread.h), so
 * that a busy thread gets the same ticks under both and an idle one is
 * left alone by both:
 *
 * - Armed when the thread reads bytes from a socket that accept returned
 *   (a request begins), unless it runs already. It then stays armed from
 *   one request to the next: a busy thread makes no system call of the
 *   floor's per request, as it makes none of reqprof's.
 * - Disarmed before the thread may block in epoll_wait: with the timer
 *   running, such a call that has a timeout is first made with a zero
 *   timeout, and only if nothing is ready is the timer disarmed for the
 *   real call. Under load the first call nearly always returns events, so
 *   nothing is added. poll and select are not probed (a pending tick
 *   breaks them even at a zero timeout): the timer stops before them.
 * - Disarmed by the handler when a second tick in a row finds the thread
 *   between requests (it wrote to an accepted socket and has not read
 *   from one since), as reqprof's handler does on ticks with no current
 *   request. A thread-per-connection server's thread, blocked in read()
 *   until its client sends the next request, gets at most two stray
 *   ticks.
 * - The first tick after arming comes after a random part of the
 *   interval, as reqprof's does.
 *
 * Not modelled, because the benchmark's servers make none of these calls
 * while they work: reqprof also disarms before sleeps, semaphore and
 * signal waits (which EINTR would reach), and probes a read that would
 * block in the middle of a request (the benchmark's clients send whole
 * requests).
 *
 * FLOOR_INTERVAL_US sets the interval (default 1000). At exit it prints
 * "floor: N signals" on stderr, so that its signal rate can be held
 * against reqprof's sample rate.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_EXPORT __attribute__((visibility("default")))
/* fds below this are followed; others are left alone. */
#define FLOOR_FDS 65536

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendfile)(int, int, off_t *, size_t);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_close)(int);
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);

static long interval_ns = 1000000;
static uint64_t signals_delivered;
/* Which fds are sockets that accept returned. */
static bool accepted[FLOOR_FDS];

/* A thread's timer, read by its own signal handler. initial-exec: a
 * preloaded library has static TLS, and the handler must not go through
 * __tls_get_addr. */
struct floor_thread {
    timer_t timer;
    bool has_timer;                       /* timer_create succeeded */
    bool timer_failed;                    /* timer_create failed: never again */
    volatile sig_atomic_t armed;          /* the timer runs */
    volatile sig_atomic_t changing;       /* the thread is arming or disarming
                                           * it: the handler must not */
    volatile sig_atomic_t between_requests; /* wrote a response, has not read
                                             * since: ticks disarm */
    volatile sig_atomic_t idle_ticks;     /* ticks between requests so far */
    uint64_t phase_seed;                  /* random first delays */
};
static __thread struct floor_thread floor_thread
    __attribute__((tls_model("initial-exec")));

static void floor_set_timer(long ns)
{
    struct itimerspec spec = {.it_interval = {ns / 1000000000, ns % 1000000000}};
    if (ns != 0) {
        uint64_t x = floor_thread.phase_seed | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        floor_thread.phase_seed = x;
        long first = 1 + (long)(x % (uint64_t)ns);
        spec.it_value = (struct timespec){first / 1000000000, first % 1000000000};
    }
    timer_settime(floor_thread.timer, 0, &spec, NULL);
}

static void floor_on_signal(int signal_number, siginfo_t *info, void *context)
{
    __atomic_fetch_add(&signals_delivered, 1, __ATOMIC_RELAXED);
    if (!floor_thread.between_requests || floor_thread.changing || !floor_thread.armed ||
        floor_thread.idle_ticks++ == 0)
        return;
    /* timer_settime is async-signal-safe (POSIX.1-2008); errno is the
     * interrupted code's. */
    int saved_errno = errno;
    floor_thread.armed = 0;
    floor_set_timer(0);
    errno = saved_errno;
}

/* Changes the thread's timer where its handler cannot interleave. */
static void floor_change_timer(bool arm)
{
    int saved_errno = errno;
    floor_thread.changing = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    floor_thread.armed = arm;
    floor_set_timer(arm ? interval_ns : 0);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    floor_thread.changing = 0;
    errno = saved_errno;
}

/* The thread read length bytes from fd: a request is under way on it. */
static void floor_received(int fd, ssize_t length)
{
    if (length <= 0 || fd < 0 || fd >= FLOOR_FDS || !accepted[fd])
        return;
    floor_thread.between_requests = 0;
    floor_thread.idle_ticks = 0;
    if (floor_thread.armed || floor_thread.timer_failed)
        return;
    if (!floor_thread.has_timer) {
        struct sigevent event;
        memset(&event, 0, sizeof event);
        event.sigev_notify = SIGEV_THREAD_ID;
        event.sigev_signo = SIGPROF;
        event._sigev_un._tid = gettid();
        floor_thread.has_timer = timer_create(CLOCK_MONOTONIC, &event,
                                              &floor_thread.timer) == 0;
        floor_thread.timer_failed = !floor_thread.has_timer;
        floor_thread.phase_seed = (uint64_t)gettid();
        if (floor_thread.timer_failed)
            return;
    }
    floor_change_timer(true);
}

/* The thread wrote length bytes to fd: a response; no system call here. */
static void floor_sent(int fd, ssize_t length)
{
    if (length > 0 && fd >= 0 && fd < FLOOR_FDS && accepted[fd])
        floor_thread.between_requests = 1;
}

/* Whether a wait must first be probed without blocking: only one that
 * blocks, and only with the timer running. */
static bool floor_wait_probes(bool blocks)
{
    return blocks && floor_thread.armed;
}

/* The thread may block now: the timer stops. */
static void floor_wait_blocks(void)
{
    floor_change_timer(false);
}

__attribute__((constructor)) static void floor_load(void)
{
    real_read = dlsym(RTLD_NEXT, "read");
    real_recv = dlsym(RTLD_NEXT, "recv");
    real_write = dlsym(RTLD_NEXT, "write");
    real_writev = dlsym(RTLD_NEXT, "writev");
    real_send = dlsym(RTLD_NEXT, "send");
    real_sendfile = dlsym(RTLD_NEXT, "sendfile");
    real_accept = dlsym(RTLD_NEXT, "accept");
    real_accept4 = dlsym(RTLD_NEXT, "accept4");
    real_close = dlsym(RTLD_NEXT, "close");
    real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
    real_poll = dlsym(RTLD_NEXT, "poll");
    real_select = dlsym(RTLD_NEXT, "select");
    const char *interval = getenv("FLOOR_INTERVAL_US");
    if (interval != NULL && atol(interval) > 0)
        interval_ns = atol(interval) * 1000;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = floor_on_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART; /* as reqprof's */
    sigfillset(&action.sa_mask);
    sigaction(SIGPROF, &action, NULL);
}

__attribute__((destructor)) static void floor_unload(void)
{
    fprintf(stderr, "floor: %llu signals\n",
            (unsigned long long)__atomic_load_n(&signals_delivered, __ATOMIC_RELAXED));
}

static int floor_accepted(int fd)
{
    if (fd >= 0 && fd < FLOOR_FDS)
        accepted[fd] = true;
    return fd;
}

FLOOR_EXPORT int accept(int fd, struct sockaddr *address, socklen_t *length)
{
    return floor_accepted(real_accept(fd, address, length));
}

FLOOR_EXPORT int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags)
{
    return floor_accepted(real_accept4(fd, address, length, flags));
}

FLOOR_EXPORT int close(int fd)
{
    if (fd >= 0 && fd < FLOOR_FDS)
        accepted[fd] = false;
    return real_close(fd);
}

FLOOR_EXPORT ssize_t read(int fd, void *buffer, size_t count)
{
    ssize_t result = real_read(fd, buffer, count);
    floor_received(fd, result);
    return result;
}

FLOOR_EXPORT ssize_t recv(int fd, void *buffer, size_t count, int flags)
{
    ssize_t result = real_recv(fd, buffer, count, flags);
    floor_received(fd, result);
    return result;
}

FLOOR_EXPORT ssize_t write(int fd, const void *buffer, size_t count)
{
    ssize_t result = real_write(fd, buffer, count);
    floor_sent(fd, result);
    return result;
}

FLOOR_EXPORT ssize_t writev(int fd, const struct iovec *iov, int count)
{
    ssize_t result = real_writev(fd, iov, count);
    floor_sent(fd, result);
    return result;
}

FLOOR_EXPORT ssize_t send(int fd, const void *buffer, size_t count, int flags)
{
    ssize_t result = real_send(fd, buffer, count, flags);
    floor_sent(fd, result);
    return result;
}

FLOOR_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    ssize_t result = real_sendfile(out_fd, in_fd, offset, count);
    floor_sent(out_fd, result);
    return result;
}

/* A probe's answer is the call's, events and all: only when nothing was
 * ready is the call made again, to block. */
FLOOR_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    if (floor_wait_probes(timeout != 0)) {
        int ready = real_epoll_wait(epfd, events, max, 0);
        if (ready != 0)
            return ready;
        floor_wait_blocks();
    }
    return real_epoll_wait(epfd, events, max, timeout);
}

FLOOR_EXPORT int poll(struct pollfd *fds, nfds_t count, int timeout)
{
    if (floor_thread.armed)
        floor_wait_blocks();
    return real_poll(fds, count, timeout);
}

FLOOR_EXPORT int select(int count, fd_set *read_set, fd_set *write_set,
                        fd_set *except_set, struct timeval *timeout)
{
    if (floor_thread.armed)
        floor_wait_blocks();
    return real_select(count, read_set, write_set, except_set, timeout);
}
