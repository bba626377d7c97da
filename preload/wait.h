/*
 * Quiet waits: blocking calls made while a thread works on a request.
 *
 * A timer signal that lands in nanosleep, poll or select makes it fail
 * with EINTR whatever SA_RESTART says, and a server that does not expect
 * that would behave differently under reqprof. So for the length of such a
 * call the timer is disarmed, the stack is taken once before it, and
 * afterwards the time it blocked is recorded as that stack's samples, as
 * many as intervals passed. The wait is profiled exactly, and no signal of
 * reqprof's can reach it.
 */
#ifndef REQPROF_WAIT_H
#define REQPROF_WAIT_H

#include <stdbool.h>

#include "thread.h"

/*
 * Before a blocking call to the libc function at address function (whose
 * wrapper is the caller), one that a tick would break with EINTR: returns
 * the thread to pass to rp_wait_end, or NULL when the thread works on no
 * request (its timer, which runs on between requests, is then just
 * disarmed: the next request arms it again). Keeps errno.
 */
struct rp_thread *rp_wait_begin(void *function);

/* After the call: records the wait and re-arms the timer. Keeps errno. */
void rp_wait_end(struct rp_thread *thread);

/*
 * Before an event loop waits for events (epoll_wait, or poll and select on
 * fds that are not all the current request's): the thread works on no
 * request while it waits, and defers its samples from then on
 * (rp_thread_defer). Keeps errno.
 *
 * Returns blocks (the call has a timeout other than zero): the caller
 * then probes it, making the same call with a zero timeout; under load it
 * nearly always returns events, the timer runs on for the next request at
 * no cost, and the stretch stays open (work that ends in a write after a
 * turn of the loop is still the write's request's). Only when nothing is
 * ready does the caller call rp_wait_idle_blocks (the stretch ends on no
 * request, the timer stops) and then make the real call, which no tick
 * can then break. After a loop wait, blocking or not, rp_wait_idle_woke
 * runs the timer again: what the loop does next (a timer callback's work)
 * may be a request's.
 */
bool rp_wait_idle(bool blocks);
void rp_wait_idle_blocks(void);
void rp_wait_idle_woke(void);

/*
 * epoll_ctl(..., fd, ...) succeeded on a thread that defers: an event
 * that ends the stretch. On the current request's connection or upstream
 * the loop takes the socket back (libevent stops reading a request it
 * read, and watches it for writing once its reply is ready): the
 * stretch's samples are that request's, and the thread defers from then
 * on. On another request's socket they are that request's. hands_on:
 * the loop watches fd for writing (the request's reply, or its upstream
 * request, is ready, as a write would say) or stops watching it (the
 * request waits for something else: an upstream, a timer); the request
 * leaves the open set. Watching for reading alone waits for more of the
 * request, whose work may go on meanwhile (haproxy adds a stream's
 * socket while its Lua runs): it stays. Keeps errno.
 */
void rp_wait_loop_watches(int fd, bool hands_on);

/*
 * Around a call that cannot block but that a pending tick would still
 * break (poll or select with a zero timeout) while the thread works on a
 * request: the timer is stopped for the call and runs again after it,
 * with no wait recorded. begin returns the thread to pass to end, or
 * NULL. Both keep errno.
 */
struct rp_thread *rp_wait_shield_begin(void);
void rp_wait_shield_end(struct rp_thread *thread);

#endif
