/*
 * libfloor.so: the floor of any in-process wall-clock sampler, preloaded
 * into a server instead of reqprof.
 *
 * It keeps exactly what reqprof cannot avoid and nothing else: a per-thread
 * CLOCK_MONOTONIC timer (timer_create, SIGEV_THREAD_ID), armed with the
 * same interval at the same moments as reqprof arms its own (when a thread
 * reads bytes from a socket that accept returned) and disarmed when reqprof
 * disarms (when the thread writes to it), and a signal handler that only
 * counts. No parsing, no unwinding, no ring, no writer. Whatever reqprof
 * costs above this is its own doing.
 *
 * FLOOR_INTERVAL_US sets the interval (default 1000). At exit it prints
 * "floor: N signals" on stderr, so that its signal rate can be held
 * against reqprof's sample rate.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_close)(int);

static long interval_ns = 1000000;
static uint64_t signals_delivered;
/* Which fds are sockets that accept returned. */
static bool accepted[FLOOR_FDS];

enum timer_state { TIMER_NONE, TIMER_DISARMED, TIMER_ARMED, TIMER_FAILED };
static __thread timer_t thread_timer;
static __thread enum timer_state thread_timer_state;

static void floor_on_signal(int signal_number, siginfo_t *info, void *context)
{
    __atomic_fetch_add(&signals_delivered, 1, __ATOMIC_RELAXED);
}

static void floor_set(long ns)
{
    struct itimerspec spec = {.it_interval = {ns / 1000000000, ns % 1000000000}};
    spec.it_value = spec.it_interval;
    timer_settime(thread_timer, 0, &spec, NULL);
}

static void floor_arm(int fd)
{
    if (fd < 0 || fd >= FLOOR_FDS || !accepted[fd] ||
        thread_timer_state == TIMER_ARMED || thread_timer_state == TIMER_FAILED)
        return;
    if (thread_timer_state == TIMER_NONE) {
        struct sigevent event;
        memset(&event, 0, sizeof event);
        event.sigev_notify = SIGEV_THREAD_ID;
        event.sigev_signo = SIGPROF;
        event._sigev_un._tid = gettid();
        if (timer_create(CLOCK_MONOTONIC, &event, &thread_timer) != 0) {
            thread_timer_state = TIMER_FAILED;
            return;
        }
    }
    floor_set(interval_ns);
    thread_timer_state = TIMER_ARMED;
}

static void floor_disarm(int fd)
{
    if (fd < 0 || fd >= FLOOR_FDS || !accepted[fd] ||
        thread_timer_state != TIMER_ARMED)
        return;
    floor_set(0);
    thread_timer_state = TIMER_DISARMED;
}

__attribute__((constructor)) static void floor_load(void)
{
    real_read = dlsym(RTLD_NEXT, "read");
    real_recv = dlsym(RTLD_NEXT, "recv");
    real_write = dlsym(RTLD_NEXT, "write");
    real_writev = dlsym(RTLD_NEXT, "writev");
    real_send = dlsym(RTLD_NEXT, "send");
    real_accept = dlsym(RTLD_NEXT, "accept");
    real_accept4 = dlsym(RTLD_NEXT, "accept4");
    real_close = dlsym(RTLD_NEXT, "close");
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
    floor_disarm(fd);
    if (fd >= 0 && fd < FLOOR_FDS)
        accepted[fd] = false;
    return real_close(fd);
}

FLOOR_EXPORT ssize_t read(int fd, void *buffer, size_t count)
{
    ssize_t result = real_read(fd, buffer, count);
    if (result > 0) {
        int saved_errno = errno;
        floor_arm(fd);
        errno = saved_errno;
    }
    return result;
}

FLOOR_EXPORT ssize_t recv(int fd, void *buffer, size_t count, int flags)
{
    ssize_t result = real_recv(fd, buffer, count, flags);
    if (result > 0) {
        int saved_errno = errno;
        floor_arm(fd);
        errno = saved_errno;
    }
    return result;
}

FLOOR_EXPORT ssize_t write(int fd, const void *buffer, size_t count)
{
    ssize_t result = real_write(fd, buffer, count);
    if (result > 0) {
        int saved_errno = errno;
        floor_disarm(fd);
        errno = saved_errno;
    }
    return result;
}

FLOOR_EXPORT ssize_t writev(int fd, const struct iovec *iov, int count)
{
    ssize_t result = real_writev(fd, iov, count);
    if (result > 0) {
        int saved_errno = errno;
        floor_disarm(fd);
        errno = saved_errno;
    }
    return result;
}

FLOOR_EXPORT ssize_t send(int fd, const void *buffer, size_t count, int flags)
{
    ssize_t result = real_send(fd, buffer, count, flags);
    if (result > 0) {
        int saved_errno = errno;
        floor_disarm(fd);
        errno = saved_errno;
    }
    return result;
}
