/*
 * Handoffs: work a thread on a request hands to another thread.
 *
 * A worker pool never touches the request's socket: an I/O thread reads
 * the request and queues a job, a pool thread runs it, and the result
 * comes back through a condition variable, a semaphore, an eventfd or a
 * pipe. What the bytes cannot say, the wake can: the thread that wakes
 * another through such an object while it works on request R leaves R on
 * the object, and the thread woken through it works for R.
 *
 * The rules, as built:
 *   - A wake (pthread_cond_signal/broadcast, sem_post, a write to an
 *     eventfd or pipe the server made, syscall(SYS_futex, FUTEX_WAKE)) by a
 *     thread with a current request leaves that request pending on the
 *     object. A thread with none pays a TLS read and a branch.
 *   - The thread that returns from a wait on the object (pthread_cond_*wait,
 *     sem_*wait, a read of that eventfd or pipe, a futex wait) takes the
 *     request up if it has none of its own and exactly one live request is
 *     pending there: it is current on the thread "by handoff", and leaves
 *     the object (but for a broadcast's, which every woken thread takes).
 *   - Several live requests pending on one object (a queue with several
 *     jobs in it) cannot be told apart: the woken thread runs one of them,
 *     not known which. It shares (thread.h, rp_thread_share): its samples
 *     go under "[shared: N requests]" in each of those requests' reports,
 *     and they stay pending. Each such take is counted on the object: a
 *     pending request that ends was one of them, and a wake that finds
 *     every pending request already in woken threads' hands (a spurious
 *     wake) takes nothing. An event loop's thread does not share: the
 *     writes that follow name each request (its stretches, thread.h).
 *   - A wake that could not be recorded (the object's requests past
 *     HANDOFF_PENDING_MAX, its slot busy) makes the object's takes
 *     unknown until that request ends: a woken thread may be running its
 *     job, which no pending request stands for, and takes nothing.
 *   - A pending request that ends unanswered (its client went away) may
 *     leave its job queued: no woken thread is known to have it. Its
 *     object's takes are unknown until nothing is pending there.
 *   - Work taken by handoff stops being the thread's when it waits on
 *     such an object again (a pool's idle wait), when it hands the work
 *     on (writes the result's eventfd, signals the waiting thread: what it
 *     does next is not known to be that request's), or as any current
 *     request does (a loop's wait, another request's socket). Shared work
 *     that ends in a write naming one of its requests (a worker that
 *     writes the response itself) was that request's. A request taken
 *     from a socket is never displaced by a handoff.
 *   - A pool thread that hands its work on and finds its queue not empty
 *     takes the next job without waiting: no wake says so. It guesses,
 *     sharing among the requests pending on the object it last took work
 *     from, none of which it takes for good. The guess counts only if no
 *     job was queued on the object before the thread took its own, and
 *     the work ends in a hand-on (thread.h, rp_thread_share); otherwise it
 *     is nobody's. A request that has ended has no part in shared samples
 *     taken after its end (writer.c), so the request whose job the thread
 *     just handed on, answered meanwhile, takes nothing of the next.
 *   - A request that ended is never taken (ends are published here as they
 *     happen), and nothing pending outlives its request in effect.
 *   - Not seen: a job queued by a thread with no request (housekeeping),
 *     or by a thread that shares (a second pool stage), which a woken
 *     thread may take for the one pending request's; an object whose slot
 *     could not be made at all (the table full, or its spare slot busy);
 *     and a job whose request ended unanswered still queued after every
 *     request pending with it ended.
 *
 * Memory is a fixed table of objects (hashed, a few probes, the slot of an
 * object with nothing pending is reused), each holding a few pending
 * requests; whatever does not fit is not recorded, as above. Slots are
 * taken with a try-lock: a wake that finds one busy (another thread, or a
 * server's signal handler's sem_post landing in reqprof's own update)
 * records nothing and never waits.
 */
#ifndef REQPROF_HANDOFF_H
#define REQPROF_HANDOFF_H

#include <stdbool.h>
#include <stdint.h>

#include "thread.h"

/* The key of fd as a wake object: odd, so it never equals an object's
 * address (condition variables, semaphores and futex words are aligned). */
static inline uintptr_t rp_handoff_fd_key(int fd)
{
    return ((uintptr_t)(unsigned)fd << 1) | 1;
}

/* Records a wake by a thread with a request to hand on
 * (rp_thread_waker_request). */
void rp_handoff_record_wake(struct rp_thread *thread, uintptr_t object, bool wakes_all);

/* Whether a wake by thread may hand work on: it has a request, or set
 * one aside, or shares handed work. */
static inline bool rp_handoff_may_hand_on(const struct rp_thread *thread)
{
    return thread != NULL &&
           (thread->current_request != 0 || thread->aside_request != 0 || thread->sharing);
}

/*
 * The calling thread wakes whoever waits on object (wakes_all: every
 * waiter). The hot path of a server with no request on the thread: one
 * TLS read and a branch. Keeps errno.
 */
static inline void rp_handoff_wake(uintptr_t object, bool wakes_all)
{
    struct rp_thread *thread = rp_thread_state;
    if (__builtin_expect(rp_handoff_may_hand_on(thread), 0))
        rp_handoff_record_wake(thread, object, wakes_all);
}

/* The calling thread is about to wait on a wake object: a request it took
 * by handoff stops being current. Keeps errno. */
void rp_handoff_before_wait(void);

/* The calling thread's wait on object returned as woken (not timed out,
 * not failed): it may take up a request pending there. Keeps errno. */
void rp_handoff_woken(uintptr_t object);

/* After the server wrote to fd, which is not a client connection: a wake
 * if fd is an eventfd or pipe the server made. Keeps errno. */
void rp_handoff_record_fd_wake(struct rp_thread *thread, int fd);

static inline void rp_handoff_fd_written(int fd)
{
    struct rp_thread *thread = rp_thread_state;
    if (__builtin_expect(rp_handoff_may_hand_on(thread), 0))
        rp_handoff_record_fd_wake(thread, fd);
}

/* After the server read from fd, which is not a client connection: if fd
 * is an eventfd or pipe the server made, the thread looks for new work
 * there (a request it took by handoff ends) and may take up a request
 * pending on it. Keeps errno. */
void rp_handoff_fd_read(int fd);

/* request_id ended, answered or not (its client went away first): it is
 * never taken by handoff again. Lock-free, a store or two. */
void rp_handoff_request_ended(uint64_t request_id, bool answered);

/* fd is closed: what was pending on it is dropped. */
void rp_handoff_forget_fd(int fd);

/* In a fork child: the parent's pending handoffs are the parent's. */
void rp_handoff_forget_all(void);

#endif
