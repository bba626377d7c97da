/*
 * Interposed calls that block: the event-loop waits and the sleeps.
 *
 * epoll_wait and its relatives are where an event loop waits for its next
 * event, whichever request that serves: the thread works on no request
 * while it waits. poll and select are the same unless every fd they watch
 * belongs to the request the thread works on (a thread-per-connection
 * server waiting on its client or upstream): then, like the sleeps, they
 * are a quiet wait (wait.h) and their time is the request's.
 *
 * Either way reqprof's timer is disarmed before the real call blocks, so
 * none of these calls can fail with an EINTR caused by reqprof.
 */
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include "connection.h"
#include "follow.h"
#include "process.h"
#include "real.h"
#include "thread.h"
#include "wait.h"

#define RP_EXPORT __attribute__((visibility("default")))

static inline bool wait_active(void)
{
    return rp_process.enabled && !rp_thread_is_internal;
}

/* How an interposed wait goes on, once reqprof has looked at it. */
enum wait_plan {
    WAIT_PLAN_CALL,  /* make the call as the server asked */
    WAIT_PLAN_QUIET, /* as a quiet wait of the current request */
    WAIT_PLAN_PROBE, /* first without blocking (rp_wait_idle) */
};

/* Quiet wait if every fd is the current request's, else idle. */
static enum wait_plan wait_plan_for_fds(const struct pollfd *fds, nfds_t count,
                                        bool blocks)
{
    struct rp_thread *thread = rp_thread_state;
    if (!wait_active() || thread == NULL)
        return WAIT_PLAN_CALL;
    bool all_current = thread->current_request != 0;
    for (nfds_t i = 0; i < count && all_current; i++)
        all_current = fds[i].fd < 0 || rp_follow_belongs_to_current(fds[i].fd, thread);
    if (all_current)
        return blocks ? WAIT_PLAN_QUIET : WAIT_PLAN_CALL;
    return rp_wait_idle(blocks) ? WAIT_PLAN_PROBE : WAIT_PLAN_CALL;
}

static enum wait_plan wait_plan_for_sets(int count, const fd_set *read_set,
                                         const fd_set *write_set,
                                         const fd_set *except_set, bool blocks)
{
    struct rp_thread *thread = rp_thread_state;
    if (!wait_active() || thread == NULL)
        return WAIT_PLAN_CALL;
    bool all_current = thread->current_request != 0;
    for (int fd = 0; fd < count && fd < FD_SETSIZE && all_current; fd++) {
        bool watched = (read_set && FD_ISSET(fd, read_set)) ||
                       (write_set && FD_ISSET(fd, write_set)) ||
                       (except_set && FD_ISSET(fd, except_set));
        all_current = !watched || rp_follow_belongs_to_current(fd, thread);
    }
    if (all_current)
        return blocks ? WAIT_PLAN_QUIET : WAIT_PLAN_CALL;
    return rp_wait_idle(blocks) ? WAIT_PLAN_PROBE : WAIT_PLAN_CALL;
}

/* After a probe found nothing ready, or without one: the timer must not
 * run into the blocking call. Returns the quiet wait to end, or NULL. */
static struct rp_thread *wait_before_blocking(enum wait_plan plan, void *function)
{
    if (plan == WAIT_PLAN_QUIET)
        return rp_wait_begin(function);
    if (plan == WAIT_PLAN_PROBE)
        rp_wait_idle_blocks();
    return NULL;
}

/*
 * After poll or select made the thread idle and returned ready fds: if
 * exactly one of them is a client connection with a request already read
 * (a pipelined one the server buffered), that is the request the server
 * turns to next, possibly with no read or write before its work.
 */
static void wait_resume_single_ready(const int *ready, int count)
{
    struct rp_conn *found = NULL;
    uint64_t found_id = 0;
    for (int i = 0; i < count; i++) {
        uint64_t id;
        struct rp_conn *conn = rp_connection_waiting_request(ready[i], &id);
        if (conn == NULL || conn == found)
            continue;
        if (found != NULL)
            return; /* two candidates: the server's choice is unknown */
        found = conn;
        found_id = id;
    }
    struct rp_thread *thread = found != NULL ? rp_thread_self() : NULL;
    if (thread != NULL)
        rp_thread_set_current(thread, found_id, found);
}

/* Ready fds of a poll set (at most WAIT_READY_MAX are looked at). */
#define WAIT_READY_MAX 64

static void wait_after_poll(const struct pollfd *fds, nfds_t count, int result)
{
    struct rp_thread *thread = rp_thread_state;
    if (result <= 0 || !wait_active() || (thread != NULL && thread->current_request != 0))
        return;
    int saved_errno = errno;
    int ready[WAIT_READY_MAX], ready_count = 0;
    for (nfds_t i = 0; i < count && ready_count < WAIT_READY_MAX; i++)
        if (fds[i].fd >= 0 && fds[i].revents != 0)
            ready[ready_count++] = fds[i].fd;
    wait_resume_single_ready(ready, ready_count);
    errno = saved_errno;
}

static void wait_after_select(int count, const fd_set *read_set, const fd_set *write_set,
                              int result)
{
    struct rp_thread *thread = rp_thread_state;
    if (result <= 0 || !wait_active() || (thread != NULL && thread->current_request != 0))
        return;
    int saved_errno = errno;
    int ready[WAIT_READY_MAX], ready_count = 0;
    for (int fd = 0; fd < count && fd < FD_SETSIZE && ready_count < WAIT_READY_MAX; fd++)
        if ((read_set && FD_ISSET(fd, read_set)) || (write_set && FD_ISSET(fd, write_set)))
            ready[ready_count++] = fd;
    wait_resume_single_ready(ready, ready_count);
    errno = saved_errno;
}

static struct rp_thread *wait_begin_sleep(void *function)
{
    return wait_active() ? rp_wait_begin(function) : NULL;
}

/* An event loop's wait: probe first if it blocks (see rp_wait_idle). */
static bool wait_idle(bool blocks)
{
    return wait_active() && rp_wait_idle(blocks);
}

static bool timespec_blocks(const struct timespec *timeout)
{
    return timeout == NULL || timeout->tv_sec != 0 || timeout->tv_nsec != 0;
}

static bool timeval_blocks(const struct timeval *timeout)
{
    return timeout == NULL || timeout->tv_sec != 0 || timeout->tv_usec != 0;
}

static const struct timespec wait_no_time;

/* The probe's result is the call's, events and all (an edge-triggered or
 * one-shot event is reported once, to the caller); only when nothing was
 * ready is the call made again, to block. */
RP_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    if (wait_idle(timeout != 0)) {
        int ready = RP_REAL(epoll_wait)(epfd, events, max, 0);
        if (ready != 0)
            return ready;
        rp_wait_idle_blocks();
    }
    return RP_REAL(epoll_wait)(epfd, events, max, timeout);
}

/* The probe takes the same signal mask: a signal it lets through is the
 * server's, and is delivered as the real call would deliver it. */
RP_EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int max,
                          int timeout, const sigset_t *mask)
{
    if (wait_idle(timeout != 0)) {
        int ready = RP_REAL(epoll_pwait)(epfd, events, max, 0, mask);
        if (ready != 0)
            return ready;
        rp_wait_idle_blocks();
    }
    return RP_REAL(epoll_pwait)(epfd, events, max, timeout, mask);
}

RP_EXPORT int epoll_pwait2(int epfd, struct epoll_event *events, int max,
                           const struct timespec *timeout, const sigset_t *mask)
{
    if (wait_idle(timespec_blocks(timeout))) {
        int ready = RP_REAL(epoll_pwait2)(epfd, events, max, &wait_no_time, mask);
        if (ready != 0)
            return ready;
        rp_wait_idle_blocks();
    }
    return RP_REAL(epoll_pwait2)(epfd, events, max, timeout, mask);
}

/* glibc declares poll's fds write-only (an access attribute), yet poll
 * reads them, and so does its wrapper. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

/* poll writes only revents, which the real call writes again. */
RP_EXPORT int poll(struct pollfd *fds, nfds_t count, int timeout)
{
    enum wait_plan plan = wait_plan_for_fds(fds, count, timeout != 0);
    int result = plan == WAIT_PLAN_PROBE ? RP_REAL(poll)(fds, count, 0) : 0;
    if (result == 0) {
        struct rp_thread *quiet = wait_before_blocking(plan, (void *)RP_REAL(poll));
        result = RP_REAL(poll)(fds, count, timeout);
        rp_wait_end(quiet);
    }
    wait_after_poll(fds, count, result);
    return result;
}

RP_EXPORT int ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout,
                    const sigset_t *mask)
{
    enum wait_plan plan = wait_plan_for_fds(fds, count, timespec_blocks(timeout));
    int result = plan == WAIT_PLAN_PROBE
                     ? RP_REAL(ppoll)(fds, count, &wait_no_time, mask)
                     : 0;
    if (result == 0) {
        struct rp_thread *quiet = wait_before_blocking(plan, (void *)RP_REAL(ppoll));
        result = RP_REAL(ppoll)(fds, count, timeout, mask);
        rp_wait_end(quiet);
    }
    wait_after_poll(fds, count, result);
    return result;
}

#pragma GCC diagnostic pop

/* select rewrites its sets in place: the probe works on copies, which
 * become the caller's only if something was ready. */
struct wait_sets {
    fd_set read, write, except;
};

static int wait_probe_select(int count, fd_set *read_set, fd_set *write_set,
                             fd_set *except_set, const sigset_t *mask, bool with_mask)
{
    struct wait_sets copy;
    fd_set *sets[3] = {read_set, write_set, except_set};
    fd_set *copies[3] = {&copy.read, &copy.write, &copy.except};
    for (int i = 0; i < 3; i++) {
        if (sets[i] == NULL)
            copies[i] = NULL;
        else
            *copies[i] = *sets[i];
    }
    int ready = with_mask
                    ? RP_REAL(pselect)(count, copies[0], copies[1], copies[2],
                                       &wait_no_time, mask)
                    : RP_REAL(select)(count, copies[0], copies[1], copies[2],
                                      &(struct timeval){0, 0});
    if (ready > 0)
        for (int i = 0; i < 3; i++)
            if (sets[i] != NULL)
                *sets[i] = *copies[i];
    return ready;
}

/* Sets larger than an fd_set (count > FD_SETSIZE, allocated by the server)
 * cannot be copied safely: no probe, just no timer. */
static enum wait_plan wait_plan_for_select(int count, fd_set *read_set,
                                           fd_set *write_set, fd_set *except_set,
                                           bool blocks)
{
    enum wait_plan plan = wait_plan_for_sets(count, read_set, write_set,
                                             except_set, blocks);
    if (plan == WAIT_PLAN_PROBE && count > FD_SETSIZE) {
        rp_wait_idle_blocks();
        plan = WAIT_PLAN_CALL;
    }
    return plan;
}

RP_EXPORT int select(int count, fd_set *read_set, fd_set *write_set,
                     fd_set *except_set, struct timeval *timeout)
{
    enum wait_plan plan = wait_plan_for_select(count, read_set, write_set,
                                               except_set, timeval_blocks(timeout));
    int result = plan == WAIT_PLAN_PROBE
                     ? wait_probe_select(count, read_set, write_set, except_set,
                                         NULL, false)
                     : 0;
    if (result == 0) {
        struct rp_thread *quiet = wait_before_blocking(plan, (void *)RP_REAL(select));
        result = RP_REAL(select)(count, read_set, write_set, except_set, timeout);
        rp_wait_end(quiet);
    }
    wait_after_select(count, read_set, write_set, result);
    return result;
}

RP_EXPORT int pselect(int count, fd_set *read_set, fd_set *write_set,
                      fd_set *except_set, const struct timespec *timeout,
                      const sigset_t *mask)
{
    enum wait_plan plan = wait_plan_for_select(count, read_set, write_set,
                                               except_set, timespec_blocks(timeout));
    int result = plan == WAIT_PLAN_PROBE
                     ? wait_probe_select(count, read_set, write_set, except_set,
                                         mask, true)
                     : 0;
    if (result == 0) {
        struct rp_thread *quiet = wait_before_blocking(plan, (void *)RP_REAL(pselect));
        result = RP_REAL(pselect)(count, read_set, write_set, except_set, timeout,
                                  mask);
        rp_wait_end(quiet);
    }
    wait_after_select(count, read_set, write_set, result);
    return result;
}
RP_EXPORT int nanosleep(const struct timespec *duration, struct timespec *remaining)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(nanosleep));
    int result = RP_REAL(nanosleep)(duration, remaining);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *time,
                              struct timespec *remaining)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(clock_nanosleep));
    int result = RP_REAL(clock_nanosleep)(clock, flags, time, remaining);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int usleep(useconds_t microseconds)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(usleep));
    int result = RP_REAL(usleep)(microseconds);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT unsigned int sleep(unsigned int seconds)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(sleep));
    unsigned int result = RP_REAL(sleep)(seconds);
    rp_wait_end(quiet);
    return result;
}

/* The other calls that a handled signal breaks with EINTR whatever
 * SA_RESTART says (signal(7)): waits of the request, or of an idle thread
 * whose timer still runs, like the sleeps. */

RP_EXPORT int sem_timedwait(sem_t *semaphore, const struct timespec *deadline)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(sem_timedwait));
    int result = RP_REAL(sem_timedwait)(semaphore, deadline);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int sem_clockwait(sem_t *semaphore, clockid_t clock,
                            const struct timespec *deadline)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(sem_clockwait));
    int result = RP_REAL(sem_clockwait)(semaphore, clock, deadline);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info,
                           const struct timespec *timeout)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(sigtimedwait));
    int result = RP_REAL(sigtimedwait)(set, info, timeout);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(sigwaitinfo));
    int result = RP_REAL(sigwaitinfo)(set, info);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int sigsuspend(const sigset_t *mask)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(sigsuspend));
    int result = RP_REAL(sigsuspend)(mask);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int pause(void)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(pause));
    int result = RP_REAL(pause)();
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int semop(int set, struct sembuf *operations, size_t count)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(semop));
    int result = RP_REAL(semop)(set, operations, count);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int semtimedop(int set, struct sembuf *operations, size_t count,
                         const struct timespec *timeout)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(semtimedop));
    int result = RP_REAL(semtimedop)(set, operations, count, timeout);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT ssize_t msgrcv(int queue, void *message, size_t size, long type, int flags)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(msgrcv));
    ssize_t result = RP_REAL(msgrcv)(queue, message, size, type, flags);
    rp_wait_end(quiet);
    return result;
}

RP_EXPORT int msgsnd(int queue, const void *message, size_t size, int flags)
{
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(msgsnd));
    int result = RP_REAL(msgsnd)(queue, message, size, flags);
    rp_wait_end(quiet);
    return result;
}
