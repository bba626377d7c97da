/* Quiet waits and idle event loops; see wait.h. */
#include "wait.h"

#include <errno.h>
#include <time.h>

#include "atomic.h"
#include "clock.h"
#include "follow.h"
#include "process.h"
#include "unwind.h"

struct rp_thread *rp_wait_begin(void *function)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL)
        return NULL;
    if (!rp_thread_has_work(thread)) {
        rp_thread_disarm(thread);
        return NULL;
    }
    int saved_errno = errno;
    rp_thread_disarm(thread);
    /* From here no tick samples the thread: the stack's walk (long on a
     * thread's first, whose rules are not cached yet) is the wait's, so
     * the request's samples still add up to its duration. */
    thread->wait_start_ns = rp_monotonic_ns();
    /* Our own frames (the wrapper and this function) are not the server's:
     * the stack starts at the libc function it called. */
    void *frames[RP_STACK_MAX];
    int count = rp_unwind_here(&thread->unwind_reader, frames, RP_STACK_MAX);
    int first = 0;
    while (first < count && rp_unwind_is_own_code(frames[first]))
        first++;
    thread->wait_frames[0] = function;
    unsigned kept = 1;
    for (int i = first; i < count && kept < RP_STACK_MAX; i++)
        thread->wait_frames[kept++] = frames[i];
    thread->wait_frame_count = (uint16_t)kept;
    errno = saved_errno;
    return thread;
}

void rp_wait_end(struct rp_thread *thread)
{
    if (thread == NULL)
        return;
    int saved_errno = errno;
    uint64_t interval_ns = rp_process.config.interval_ns;
    uint64_t end_ns = rp_monotonic_ns();
    thread->wait_remainder_ns += end_ns - thread->wait_start_ns;
    uint64_t samples = thread->wait_remainder_ns / interval_ns;
    thread->wait_remainder_ns %= interval_ns;
    uint64_t request_id = thread->current_request; /* read once: thread.h */
    /* A sharing thread's wait is part of the work it shares: deferred to
     * its stretch's end, as its ticks are. */
    bool shared = request_id == 0 && thread->sharing;
    if (samples > 0 && (request_id != 0 || shared)) {
        struct rp_record *record = rp_thread_record_start(thread, thread->wait_frame_count);
        if (record != NULL) {
            record->kind = shared ? RP_RECORD_DEFERRED : RP_RECORD_STACK;
            record->time_ns = end_ns;
            record->request_id = shared ? thread->stretch : request_id;
            record->value = samples;
            record->frame_count = thread->wait_frame_count;
            record->truncated = thread->wait_frame_count == RP_STACK_MAX;
            record->cpu_value = 0; /* blocked in the call, by construction */
            for (unsigned i = 0; i < thread->wait_frame_count; i++)
                record->frames[i] = thread->wait_frames[i];
        }
        rp_thread_record_finish(thread, record);
        if (shared)
            rp_thread_mark_stretch_from_handler(thread, rp_clock_ns(CLOCK_THREAD_CPUTIME_ID));
    }
    if (rp_thread_has_work(thread))
        rp_thread_arm(thread);
    errno = saved_errno;
}

bool rp_wait_idle(bool blocks)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL)
        return false;
    rp_thread_defer(thread);
    return blocks;
}

struct rp_thread *rp_wait_shield_begin(void)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL || !thread->armed)
        return NULL;
    rp_thread_disarm(thread);
    return thread;
}

void rp_wait_shield_end(struct rp_thread *thread)
{
    if (thread == NULL || (!rp_thread_has_work(thread) && !thread->deferring))
        return;
    int saved_errno = errno;
    rp_thread_arm(thread);
    errno = saved_errno;
}

void rp_wait_idle_blocks(void)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL)
        return;
    /* Work followed by nothing but the thread blocking is no request's. */
    rp_thread_block(thread);
    rp_thread_disarm(thread);
}

void rp_wait_idle_woke(void)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL || thread->armed || !thread->deferring)
        return;
    int saved_errno = errno;
    rp_thread_arm(thread);
    errno = saved_errno;
}

void rp_wait_loop_watches(int fd, bool hands_on)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL || !thread->deferring)
        return;
    if (rp_follow_belongs_to_current(fd, thread)) {
        /* The loop takes the request's socket back: what the thread does
         * next is the loop's, until an event tells whose. */
        uint64_t aside = thread->current_request;
        struct rp_conn *aside_conn = thread->current_conn;
        rp_thread_end_stretch(thread, aside, hands_on);
        rp_thread_defer(thread);
        /* The connection first: a server's signal handler that wakes
         * in between must not pair the request with another's. */
        thread->aside_conn = aside_conn;
        rp_signal_fence();
        thread->aside_request = aside;
    } else if (thread->stretch_sampled || (hands_on && thread->open_count != 0)) {
        rp_thread_end_stretch(thread, rp_follow_request_of(fd), hands_on);
    }
}
