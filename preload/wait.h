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
 * request while it waits. Keeps errno.
 *
 * Returns true when the wait must first be probed: blocks (the call has a
 * timeout other than zero) and the thread's timer runs. The caller then
 * makes the same call with a zero timeout; under load it nearly always
 * returns events, and the timer runs on for the next request at no cost.
 * Only when nothing is ready does the caller call rp_wait_idle_blocks and
 * then make the real call, which no tick can then break.
 */
bool rp_wait_idle(bool blocks);
void rp_wait_idle_blocks(void);

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
