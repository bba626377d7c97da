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
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/select.h>
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

/* Quiet wait if every fd is the current request's, else idle. Returns the
 * thread to end the quiet wait with, or NULL. */
static struct rp_thread *wait_begin_for_fds(const struct pollfd *fds, nfds_t count,
                                            void *function)
{
    struct rp_thread *thread = rp_thread_state;
    if (!wait_active() || thread == NULL || thread->current_request == 0)
        return NULL;
    for (nfds_t i = 0; i < count; i++) {
        if (fds[i].fd >= 0 && !rp_follow_belongs_to_current(fds[i].fd, thread)) {
            rp_wait_idle();
            return NULL;
        }
    }
    return rp_wait_begin(function);
}

static struct rp_thread *wait_begin_for_sets(int count, const fd_set *read_set,
                                             const fd_set *write_set,
                                             const fd_set *except_set,
                                             void *function)
{
    struct rp_thread *thread = rp_thread_state;
    if (!wait_active() || thread == NULL || thread->current_request == 0)
        return NULL;
    for (int fd = 0; fd < count && fd < FD_SETSIZE; fd++) {
        bool watched = (read_set && FD_ISSET(fd, read_set)) ||
                       (write_set && FD_ISSET(fd, write_set)) ||
                       (except_set && FD_ISSET(fd, except_set));
        if (watched && !rp_follow_belongs_to_current(fd, thread)) {
            rp_wait_idle();
            return NULL;
        }
    }
    return rp_wait_begin(function);
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

static void wait_idle(void)
{
    if (wait_active())
        rp_wait_idle();
}

RP_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    wait_idle();
    return RP_REAL(epoll_wait)(epfd, events, max, timeout);
}

RP_EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int max,
                          int timeout, const sigset_t *mask)
{
    wait_idle();
    return RP_REAL(epoll_pwait)(epfd, events, max, timeout, mask);
}

RP_EXPORT int epoll_pwait2(int epfd, struct epoll_event *events, int max,
                           const struct timespec *timeout, const sigset_t *mask)
{
    wait_idle();
    return RP_REAL(epoll_pwait2)(epfd, events, max, timeout, mask);
}

RP_EXPORT int poll(struct pollfd *fds, nfds_t count, int timeout)
{
    struct rp_thread *quiet = wait_begin_for_fds(fds, count, (void *)RP_REAL(poll));
    int result = RP_REAL(poll)(fds, count, timeout);
    rp_wait_end(quiet);
    wait_after_poll(fds, count, result);
    return result;
}

RP_EXPORT int ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout,
                    const sigset_t *mask)
{
    struct rp_thread *quiet = wait_begin_for_fds(fds, count, (void *)RP_REAL(ppoll));
    int result = RP_REAL(ppoll)(fds, count, timeout, mask);
    rp_wait_end(quiet);
    wait_after_poll(fds, count, result);
    return result;
}

RP_EXPORT int select(int count, fd_set *read_set, fd_set *write_set,
                     fd_set *except_set, struct timeval *timeout)
{
    struct rp_thread *quiet = wait_begin_for_sets(count, read_set, write_set, except_set,
                                                  (void *)RP_REAL(select));
    int result = RP_REAL(select)(count, read_set, write_set, except_set, timeout);
    rp_wait_end(quiet);
    wait_after_select(count, read_set, write_set, result);
    return result;
}

RP_EXPORT int pselect(int count, fd_set *read_set, fd_set *write_set,
                      fd_set *except_set, const struct timespec *timeout,
                      const sigset_t *mask)
{
    struct rp_thread *quiet = wait_begin_for_sets(count, read_set, write_set, except_set,
                                                  (void *)RP_REAL(pselect));
    int result =
        RP_REAL(pselect)(count, read_set, write_set, except_set, timeout, mask);
    rp_wait_end(quiet);
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
