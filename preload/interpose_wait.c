/*
 * Interposed calls that block: the event-loop waits, the sleeps and the
 * other calls that a handled signal breaks with EINTR whatever SA_RESTART
 * says.
 *
 * A wait is the request's unless it is the loop's. poll and select are an
 * event loop's wait for its next event, whichever request that serves,
 * only when they watch what wakes a loop: a listening socket, or a client
 * connection or upstream of another request, or of none yet
 * (rp_follow_wakes_loop); the thread then works on no request while it
 * waits. Any other wait of a thread with a current request (a
 * thread-per-connection handler waiting on its client, its upstream, a
 * CGI's pipe, an eventfd of a helper) is, like the sleeps, a quiet wait
 * (wait.h): its time is the request's, which stays current after it.
 * epoll_wait and its relatives are judged the same way by what the epoll
 * fd watches, as epoll_ctl told it (epoll_set.h).
 *
 * reqprof's timer never runs into any of them, so none can fail with an
 * EINTR caused by reqprof: epoll waits are first made with a zero timeout
 * (which no tick can break) and the timer is stopped only if they would
 * block; every other call here stops it first, if it runs.
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
#include "epoll_set.h"
#include "follow.h"
#include "handoff.h"
#include "interpose.h"
#include "process.h"
#include "real.h"
#include "thread.h"
#include "wait.h"

/*
 * What a poll or select does with reqprof's timer. Even with a zero
 * timeout they fail with EINTR if a tick is pending when nothing is ready
 * (the kernel checks before it returns), so the timer never runs into
 * them. Unlike epoll_wait they are not probed first: the probe itself
 * would see such a tick.
 */
struct wait_guard {
    struct rp_thread *quiet;    /* a quiet wait of the request, to end */
    struct rp_thread *shielded; /* disarmed for a call that cannot block */
    bool loop_blocked;          /* an event loop's wait that may block:
                                 * the timer runs again after it */
};

/* Before a poll or select: a wait of the current request (of_request),
 * else an event loop's: the thread goes idle. */
static struct wait_guard wait_guard_begin(bool of_request, bool blocks,
                                          void *function)
{
    struct wait_guard guard = {NULL, NULL, false};
    if (of_request && blocks) {
        guard.quiet = rp_wait_begin(function);
    } else if (of_request) {
        guard.shielded = rp_wait_shield_begin();
    } else if (rp_wait_idle(blocks)) {
        /* Not probed (see above): taken as blocking. */
        rp_wait_idle_blocks();
        guard.loop_blocked = true;
    } else {
        guard.shielded = rp_wait_shield_begin();
    }
    return guard;
}

static void wait_guard_end(struct wait_guard guard)
{
    rp_wait_end(guard.quiet);
    rp_wait_shield_end(guard.shielded);
    if (guard.loop_blocked)
        rp_wait_idle_woke();
}

/* Whether a wait on these fds is the current request's: the thread has
 * one, and none of the fds is what wakes an event loop. */
static bool wait_fds_of_request(const struct pollfd *fds, nfds_t count)
{
    struct rp_thread *thread = rp_thread_state;
    /* NULL fds is the real call's EFAULT to give (when count > 0). */
    bool of_request = thread != NULL && rp_thread_has_work(thread) && fds != NULL;
    for (nfds_t i = 0; i < count && of_request; i++)
        of_request = fds[i].fd < 0 || !rp_follow_wakes_loop(fds[i].fd, thread);
    return of_request;
}

static bool wait_sets_of_request(int count, const fd_set *read_set,
                                 const fd_set *write_set, const fd_set *except_set)
{
    struct rp_thread *thread = rp_thread_state;
    bool of_request = thread != NULL && rp_thread_has_work(thread);
    for (int fd = 0; fd < count && fd < FD_SETSIZE && of_request; fd++) {
        bool watched = (read_set && FD_ISSET(fd, read_set)) ||
                       (write_set && FD_ISSET(fd, write_set)) ||
                       (except_set && FD_ISSET(fd, except_set));
        of_request = !watched || !rp_follow_wakes_loop(fd, thread);
    }
    return of_request;
}

static struct wait_guard wait_guard_for_fds(const struct pollfd *fds, nfds_t count,
                                            bool blocks, void *function)
{
    if (!rp_interpose_active() || rp_thread_state == NULL)
        return (struct wait_guard){NULL, NULL, false};
    return wait_guard_begin(wait_fds_of_request(fds, count), blocks, function);
}

static struct wait_guard wait_guard_for_sets(int count, const fd_set *read_set,
                                             const fd_set *write_set,
                                             const fd_set *except_set, bool blocks,
                                             void *function)
{
    if (!rp_interpose_active() || rp_thread_state == NULL)
        return (struct wait_guard){NULL, NULL, false};
    return wait_guard_begin(wait_sets_of_request(count, read_set, write_set, except_set),
                            blocks, function);
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
    if (result <= 0 || !rp_interpose_active() || (thread != NULL && rp_thread_has_work(thread)))
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
    if (result <= 0 || !rp_interpose_active() || (thread != NULL && rp_thread_has_work(thread)))
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
    return rp_interpose_active() ? rp_wait_begin(function) : NULL;
}

/* What an epoll wait is to reqprof. */
enum wait_epoll {
    WAIT_EPOLL_PASS,    /* nothing to do: the real call, as it is */
    WAIT_EPOLL_LOOP,    /* an event loop's that does not block: the thread
                         * went idle (rp_wait_idle) */
    WAIT_EPOLL_IDLE,    /* an event loop's that blocks: the thread went
                         * idle; probe first, then stop the timer */
    WAIT_EPOLL_REQUEST, /* the current request's, and it blocks: probe
                         * first, then a quiet wait */
};

/* Before an epoll wait on epoll_fd: the current request's if its set holds
 * nothing that wakes a loop (epoll_set.h), else an event loop's. A wait of
 * the request that does not block needs nothing: a zero-timeout
 * epoll_wait returns before it looks for pending signals. */
static enum wait_epoll wait_epoll_begin(int epoll_fd, bool blocks)
{
    if (!rp_interpose_active())
        return WAIT_EPOLL_PASS;
    struct rp_thread *thread = rp_thread_state;
    if (thread != NULL && rp_thread_has_work(thread) &&
        rp_epoll_set_is_requests(epoll_fd, thread))
        return blocks ? WAIT_EPOLL_REQUEST : WAIT_EPOLL_PASS;
    if (rp_thread_state == NULL)
        return WAIT_EPOLL_PASS;
    return rp_wait_idle(blocks) ? WAIT_EPOLL_IDLE : WAIT_EPOLL_LOOP;
}

/* Whether kind's wait is probed first. */
static bool wait_epoll_probes(enum wait_epoll kind)
{
    return kind == WAIT_EPOLL_IDLE || kind == WAIT_EPOLL_REQUEST;
}

/* After the probe found nothing ready, before the real call blocks:
 * returns the quiet wait to end after it, or NULL. */
static struct rp_thread *wait_epoll_blocks(enum wait_epoll kind, void *function)
{
    if (kind == WAIT_EPOLL_REQUEST)
        return rp_wait_begin(function);
    rp_wait_idle_blocks();
    return NULL;
}

/* After an epoll wait of kind, with quiet from wait_epoll_blocks. */
static void wait_epoll_end(enum wait_epoll kind, struct rp_thread *quiet)
{
    if (kind == WAIT_EPOLL_REQUEST)
        rp_wait_end(quiet);
    else if (kind != WAIT_EPOLL_PASS)
        rp_wait_idle_woke();
}

static bool timespec_blocks(const struct timespec *timeout)
{
    return timeout == NULL || timeout->tv_sec != 0 || timeout->tv_nsec != 0;
}

static bool timeval_blocks(const struct timeval *timeout)
{
    return timeout == NULL || timeout->tv_sec != 0 || timeout->tv_usec != 0;
}

/* A timeout the kernel would refuse (EINVAL) is not probed: the probe's
 * zero timeout would hide the error and could take events. */
static bool timespec_valid(const struct timespec *timeout)
{
    return timeout == NULL || (timeout->tv_sec >= 0 && timeout->tv_nsec >= 0 &&
                               timeout->tv_nsec < 1000000000L);
}

static const struct timespec wait_no_time;

/* The probe's result is the call's, events and all (an edge-triggered or
 * one-shot event is reported once, to the caller); only when nothing was
 * ready is the call made again, to block. epoll_wait with a zero timeout
 * returns before it looks for pending signals, so no tick can break the
 * probe itself. */
RP_EXPORT int epoll_ctl(int epoll_fd, int operation, int fd, struct epoll_event *event)
{
    int result = RP_REAL(epoll_ctl)(epoll_fd, operation, fd, event);
    if (result == 0 && rp_interpose_active()) {
        rp_epoll_set_changed(epoll_fd, operation, fd);
        /* Watching for reading alone waits for more of the request: its
         * work may go on meanwhile (haproxy's Lua). Any other change hands
         * the request on: to its reply, or to what it waits for. */
        bool reading_only = operation != EPOLL_CTL_DEL && event != NULL &&
                            (event->events & (EPOLLIN | EPOLLOUT)) == EPOLLIN;
        rp_wait_loop_watches(fd, !reading_only);
    }
    return result;
}

/* The probe's result is the call's, events and all (an edge-triggered or
 * one-shot event is reported once, to the caller); only when nothing was
 * ready is the call made again, to block. epoll_wait with a zero timeout
 * returns before it looks for pending signals, so no tick can break the
 * probe itself. */
RP_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    enum wait_epoll kind = wait_epoll_begin(epfd, timeout != 0);
    struct rp_thread *quiet = NULL;
    if (wait_epoll_probes(kind)) {
        int ready = RP_REAL(epoll_wait)(epfd, events, max, 0);
        if (ready != 0) {
            wait_epoll_end(kind, NULL);
            return ready;
        }
        quiet = wait_epoll_blocks(kind, (void *)RP_REAL(epoll_wait));
    }
    int result = RP_REAL(epoll_wait)(epfd, events, max, timeout);
    wait_epoll_end(kind, quiet);
    return result;
}

/* The probe takes the same signal mask: a signal it lets through is the
 * server's, and is delivered as the real call would deliver it. */
RP_EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int max,
                          int timeout, const sigset_t *mask)
{
    enum wait_epoll kind = wait_epoll_begin(epfd, timeout != 0);
    struct rp_thread *quiet = NULL;
    if (wait_epoll_probes(kind)) {
        int ready = RP_REAL(epoll_pwait)(epfd, events, max, 0, mask);
        if (ready != 0) {
            wait_epoll_end(kind, NULL);
            return ready;
        }
        quiet = wait_epoll_blocks(kind, (void *)RP_REAL(epoll_pwait));
    }
    int result = RP_REAL(epoll_pwait)(epfd, events, max, timeout, mask);
    wait_epoll_end(kind, quiet);
    return result;
}

RP_EXPORT int epoll_pwait2(int epfd, struct epoll_event *events, int max,
                           const struct timespec *timeout, const sigset_t *mask)
{
    enum wait_epoll kind = wait_epoll_begin(epfd, timespec_blocks(timeout));
    struct rp_thread *quiet = NULL;
    if (wait_epoll_probes(kind)) {
        int ready = timespec_valid(timeout)
                        ? RP_REAL(epoll_pwait2)(epfd, events, max, &wait_no_time, mask)
                        : 0;
        if (ready != 0) {
            wait_epoll_end(kind, NULL);
            return ready;
        }
        quiet = wait_epoll_blocks(kind, (void *)RP_REAL(epoll_pwait2));
    }
    int result = RP_REAL(epoll_pwait2)(epfd, events, max, timeout, mask);
    wait_epoll_end(kind, quiet);
    return result;
}

/* glibc declares poll's fds write-only (an access attribute), yet poll
 * reads them, and so does its wrapper. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

RP_EXPORT int poll(struct pollfd *fds, nfds_t count, int timeout)
{
    struct wait_guard guard = wait_guard_for_fds(fds, count, timeout != 0,
                                                 (void *)RP_REAL(poll));
    int result = RP_REAL(poll)(fds, count, timeout);
    wait_guard_end(guard);
    wait_after_poll(fds, count, result);
    return result;
}

RP_EXPORT int ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout,
                    const sigset_t *mask)
{
    struct wait_guard guard = wait_guard_for_fds(fds, count, timespec_blocks(timeout),
                                                 (void *)RP_REAL(ppoll));
    int result = RP_REAL(ppoll)(fds, count, timeout, mask);
    wait_guard_end(guard);
    wait_after_poll(fds, count, result);
    return result;
}

#pragma GCC diagnostic pop

/* What _FORTIFY_SOURCE builds call instead of poll and ppoll (glibc
 * declares them only for such builds). A set larger than its buffer goes
 * to the real function, which aborts. */
int __poll_chk(struct pollfd *fds, nfds_t count, int timeout, size_t size);
int __ppoll_chk(struct pollfd *fds, nfds_t count, const struct timespec *timeout,
                const sigset_t *mask, size_t size);

RP_EXPORT int __poll_chk(struct pollfd *fds, nfds_t count, int timeout, size_t size)
{
    if (size / sizeof *fds < count)
        return RP_REAL(__poll_chk)(fds, count, timeout, size);
    return poll(fds, count, timeout);
}

RP_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t count,
                          const struct timespec *timeout, const sigset_t *mask,
                          size_t size)
{
    if (size / sizeof *fds < count)
        return RP_REAL(__ppoll_chk)(fds, count, timeout, mask, size);
    return ppoll(fds, count, timeout, mask);
}

RP_EXPORT int select(int count, fd_set *read_set, fd_set *write_set,
                     fd_set *except_set, struct timeval *timeout)
{
    struct wait_guard guard = wait_guard_for_sets(count, read_set, write_set, except_set,
                                                  timeval_blocks(timeout),
                                                  (void *)RP_REAL(select));
    int result = RP_REAL(select)(count, read_set, write_set, except_set, timeout);
    wait_guard_end(guard);
    wait_after_select(count, read_set, write_set, result);
    return result;
}

RP_EXPORT int pselect(int count, fd_set *read_set, fd_set *write_set,
                      fd_set *except_set, const struct timespec *timeout,
                      const sigset_t *mask)
{
    struct wait_guard guard = wait_guard_for_sets(count, read_set, write_set, except_set,
                                                  timespec_blocks(timeout),
                                                  (void *)RP_REAL(pselect));
    int result =
        RP_REAL(pselect)(count, read_set, write_set, except_set, timeout, mask);
    wait_guard_end(guard);
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

/* Semaphores also hand work over (handoff.h): a request taken by handoff
 * ends before the wait, and one pending on the semaphore may be taken
 * after it. */
RP_EXPORT int sem_timedwait(sem_t *semaphore, const struct timespec *deadline)
{
    rp_handoff_before_wait();
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(sem_timedwait));
    int result = RP_REAL(sem_timedwait)(semaphore, deadline);
    rp_wait_end(quiet);
    if (result == 0)
        rp_handoff_woken((uintptr_t)semaphore);
    return result;
}

RP_EXPORT int sem_clockwait(sem_t *semaphore, clockid_t clock,
                            const struct timespec *deadline)
{
    rp_handoff_before_wait();
    struct rp_thread *quiet = wait_begin_sleep((void *)RP_REAL(sem_clockwait));
    int result = RP_REAL(sem_clockwait)(semaphore, clock, deadline);
    rp_wait_end(quiet);
    if (result == 0)
        rp_handoff_woken((uintptr_t)semaphore);
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
