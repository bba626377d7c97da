/*
 * Per-thread state and the registry the writer drains; see thread.h.
 *
 * Lifetime: a server thread makes its state (an anonymous mapping, so the
 * untouched part of the ring costs no memory) and publishes it in the
 * registry with a compare-and-swap. When the thread exits, a pthread key
 * destructor disarms and deletes its timer and marks the state exited; the
 * writer drains what is left in the ring and only then unmaps it. Nothing
 * on a server thread waits for the writer.
 */
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "atomic.h"
#include "clock.h"
#include "log.h"
#include "peer_wait.h"
#include "process.h"
#include "unwind.h"

/* Threads profiled at once; more are served but not profiled. */
#define THREAD_REGISTRY_SIZE 4096

__thread struct rp_thread *rp_thread_state
    __attribute__((tls_model("initial-exec")));
__thread bool rp_thread_is_internal __attribute__((tls_model("initial-exec")));

static struct rp_thread *thread_registry[THREAD_REGISTRY_SIZE];
/* One past the highest slot ever used, so the writer scans no further. */
static unsigned thread_registry_end;
static pthread_key_t thread_exit_key;
/* Held while a thread state is unmapped, and by whoever walks the states
 * from outside the writer (rp_thread_stop_sampling_everywhere). */
static pthread_mutex_t thread_unmap_lock = PTHREAD_MUTEX_INITIALIZER;
static bool thread_registry_full_said;

/* Set once the server installed its own handler for our signal. */
static bool thread_sampling_stopped;

/*
 * Starts the timer (interval_ns) or stops it (0). The first tick comes
 * after a random part of the interval: a thread that blocks more often
 * than every interval would otherwise never be sampled in the first
 * interval of each busy stretch, and its profile would leave those out.
 * Async-signal-safe.
 */
static void thread_set_timer(struct rp_thread *thread, uint64_t interval_ns)
{
    if (!thread->has_timer)
        return;
    struct itimerspec spec = {.it_interval = rp_ns_to_timespec(interval_ns)};
    if (interval_ns != 0) {
        /* xorshift64: the thread's own, no lock and no system call. */
        uint64_t x = thread->phase_seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        thread->phase_seed = x;
        spec.it_value = rp_ns_to_timespec(1 + x % interval_ns);
    }
    (void)timer_settime(thread->timer, 0, &spec, NULL);
}

/* Runs when a thread that has state exits. */
static void thread_retire(void *state)
{
    struct rp_thread *thread = state;
    rp_thread_set_current(thread, 0, NULL);
    rp_thread_disarm(thread);
    rp_thread_state = NULL;
    rp_signal_fence();
    if (thread->has_timer)
        timer_delete(thread->timer);
    rp_atomic_store_release(&thread->exited, 1);
}

int rp_thread_init(char *error, size_t error_size)
{
    int result = pthread_key_create(&thread_exit_key, thread_retire);
    if (result != 0) {
        snprintf(error, error_size, "cannot create a thread-specific key: %s",
                 strerror(result));
        return -1;
    }
    return 0;
}

static bool thread_register(struct rp_thread *thread)
{
    for (unsigned slot = 0; slot < THREAD_REGISTRY_SIZE; slot++) {
        struct rp_thread *expected = NULL;
        if (!rp_atomic_cas_release(&thread_registry[slot], &expected, thread))
            continue;
        unsigned end = rp_atomic_load_relaxed(&thread_registry_end);
        while (end < slot + 1 &&
               !rp_atomic_cas_release(&thread_registry_end, &end, slot + 1))
            ;
        return true;
    }
    rp_log_once(&thread_registry_full_said,
                "more than %d threads at once: the requests of the others are "
                "not profiled",
                THREAD_REGISTRY_SIZE);
    return false;
}

/* Set on a thread whose state could not be made: it is not profiled, and
 * does not retry on every call. */
static __thread bool thread_gave_up __attribute__((tls_model("initial-exec")));

struct rp_thread *rp_thread_self(void)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread != NULL || rp_thread_is_internal || thread_gave_up)
        return thread;
    thread_gave_up = true;
    thread = mmap(NULL, sizeof *thread, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (thread == MAP_FAILED)
        return NULL;
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = rp_process.config.signal;
    event._sigev_un._tid = gettid();
    thread->phase_seed = ((uint64_t)(uintptr_t)thread ^ (uint64_t)gettid() << 32) | 1;
    thread->has_timer = timer_create(CLOCK_MONOTONIC, &event, &thread->timer) == 0;
    rp_unwind_reader_init(&thread->unwind_reader);
    if (!thread_register(thread)) {
        if (thread->has_timer)
            timer_delete(thread->timer);
        munmap(thread, sizeof *thread);
        return NULL;
    }
    (void)pthread_setspecific(thread_exit_key, thread);
    rp_thread_state = thread;
    thread_gave_up = false;
    return thread;
}

struct rp_record *rp_thread_record_start(struct rp_thread *thread, unsigned frame_count)
{
    /* The timer may fire in the middle: busy tells the handler to leave
     * the ring alone until the record is published. */
    thread->busy++;
    rp_signal_fence();
    return rp_ring_reserve(&thread->ring, frame_count);
}

void rp_thread_record_finish(struct rp_thread *thread, struct rp_record *record)
{
    if (record != NULL)
        rp_ring_commit(&thread->ring, record);
    rp_signal_fence();
    thread->busy--;
}

/* Hands the writer a record without frames through the ring. */
static void thread_record_plain(struct rp_thread *thread, enum rp_record_kind kind,
                                uint64_t request_id, uint64_t value)
{
    struct rp_record *record = rp_thread_record_start(thread, 0);
    if (record != NULL) {
        record->kind = kind;
        record->request_id = request_id;
        record->value = value;
        record->frame_count = 0;
        record->truncated = false;
        record->cpu_value = 0;
    }
    rp_thread_record_finish(thread, record);
}

/* Hands CPU time spent on a request to the writer through the ring. */
static void thread_record_cpu(struct rp_thread *thread, uint64_t request_id,
                              uint64_t cpu_ns)
{
    thread_record_plain(thread, RP_RECORD_CPU, request_id, cpu_ns);
}

void rp_thread_record_lost(struct rp_thread *thread, uint64_t request_id)
{
    thread_record_plain(thread, RP_RECORD_LOST, request_id, 0);
}

/*
 * Makes the timer run (on) or stop, and armed say so. A server's signal
 * handler may run in the middle and arm or disarm through a wrapped call
 * of its own: the generation tells, and the timer is set again to what
 * the nested call left in armed, so the two never disagree.
 */
static void thread_set_armed(struct rp_thread *thread, bool on)
{
    thread->timer_changing++;
    rp_signal_fence();
    thread->armed = on;
    thread->armed_generation++;
    for (;;) {
        unsigned generation = thread->armed_generation;
        rp_signal_fence();
        thread_set_timer(thread, thread->armed ? rp_process.config.interval_ns : 0);
        rp_signal_fence();
        if (generation == thread->armed_generation)
            break;
    }
    thread->timer_changing--;
}

void rp_thread_arm(struct rp_thread *thread)
{
    if (thread->armed || rp_atomic_load_acquire(&thread_sampling_stopped))
        return;
    thread_set_armed(thread, true);
    /* Sampling may have been stopped between the check and the arming;
     * whoever stopped it may have walked past this thread already. */
    if (rp_atomic_load_seq_cst(&thread_sampling_stopped))
        thread_set_armed(thread, false);
}

void rp_thread_disarm(struct rp_thread *thread)
{
    if (!thread->armed)
        return;
    int saved_errno = errno;
    thread_set_armed(thread, false);
    errno = saved_errno;
}

void rp_thread_idle_tick_from_handler(struct rp_thread *thread)
{
    /* The first idle tick is most often a busy thread's between two
     * requests: stopping the timer there would cost a disarm now and an
     * arm at the next request. */
    if (thread->timer_changing || thread->idle_ticks++ == 0)
        return;
    /* The tick shows the timer runs, whatever armed says. timer_settime is
     * async-signal-safe (POSIX.1-2008). */
    thread->armed = 0;
    thread->armed_generation++;
    thread_set_timer(thread, 0);
}

void rp_thread_mark_cpu_from_handler(struct rp_thread *thread, uint64_t cpu_ns)
{
    uint64_t request_id = thread->current_request;
    if (thread->switching || thread->cpu_request == request_id)
        return;
    thread->cpu_mark_ns = cpu_ns;
    rp_signal_fence();
    thread->cpu_request = request_id;
}

/* The thread's CPU time since mark_ns (a system call). */
static struct rp_thread_cpu thread_cpu_since(uint64_t mark_ns)
{
    return (struct rp_thread_cpu){rp_clock_ns(CLOCK_THREAD_CPUTIME_ID) - mark_ns, true};
}

/*
 * Makes request_id the current request; returns the CPU time measured on
 * the previous one, which the caller records or hands over, and the
 * moment of the switch in *switched_ns (CLOCK_MONOTONIC) if asked.
 *
 * The CPU clock is read only if a sample landed in the stretch that ends
 * here (its handler marked the clock): a request no sample landed in costs
 * no system call. The mark is taken before the handler may see the new
 * request, and switching keeps the handler from marking meanwhile.
 *
 * System calls are where the kernel preempts a thread and, when it runs
 * again, delivers the ticks it missed as one signal with overruns. So the
 * handler sees the new request before the first of them, and the moment
 * is read after: a preemption there counts for the request that is
 * current. The timer is armed before the CPU clock is read, for the same
 * reason. Going to no request (an end), the CPU clock is read first,
 * while the request is still current: a preemption there counts for it
 * and falls before its end, and no system call comes between the end's
 * stamp and its push into the finish queue, so the writer cannot drain
 * another thread's sample stamped after the end before it knows the end
 * (writer.c, writer_clip_to_end).
 */
static struct rp_thread_cpu thread_switch(struct rp_thread *thread,
                                          uint64_t request_id,
                                          struct rp_conn *conn,
                                          uint64_t *switched_ns)
{
    thread->switching++;
    rp_signal_fence();
    uint64_t previous = thread->current_request;
    /* The request's disk reads are in the ring before its end is told. */
    rp_disk_read_flush(thread);
    bool marked = previous != 0 && thread->cpu_request == previous;
    uint64_t mark_ns = thread->cpu_mark_ns;
    bool read_cpu_first = request_id == 0;
    struct rp_thread_cpu spent = {0, false};
    if (marked && read_cpu_first)
        spent = thread_cpu_since(mark_ns);
    thread->cpu_request = 0;
    thread->current_conn = conn;
    rp_signal_fence();
    thread->current_request = request_id;
    rp_signal_fence();
    uint64_t now_ns = rp_monotonic_ns();
    thread->current_since_ns = now_ns;
    if (switched_ns != NULL)
        *switched_ns = now_ns;
    if (request_id != 0) {
        thread->idle_ticks = 0;
        rp_thread_arm(thread);
    }
    if (marked && !read_cpu_first)
        spent = thread_cpu_since(mark_ns);
    rp_signal_fence();
    thread->switching--;
    return spent;
}

void rp_thread_set_current(struct rp_thread *thread, uint64_t request_id,
                           struct rp_conn *conn)
{
    uint64_t previous = thread->current_request;
    if (previous == request_id) {
        thread->current_conn = conn;
        return;
    }
    struct rp_thread_cpu spent = thread_switch(thread, request_id, conn, NULL);
    if (spent.measured)
        thread_record_cpu(thread, previous, spent.ns);
}

struct rp_thread_cpu rp_thread_end_current(struct rp_thread *thread,
                                           uint64_t *end_ns)
{
    return thread_switch(thread, 0, NULL, end_ns);
}

/* Whether request_id is in the thread's open set (of its first
 * RP_OPEN_MAX), and where. */
static int thread_open_index(const struct rp_thread *thread, uint64_t request_id)
{
    unsigned open = thread->open_count;
    unsigned named = open < RP_OPEN_MAX ? open : RP_OPEN_MAX;
    for (unsigned i = 0; i < named; i++)
        if (thread->open_requests[i] == request_id)
            return (int)i;
    return -1;
}

/*
 * Ends the stretch: its deferred samples, if any landed, are request_id's
 * (0: nobody's) or, when the open set holds a request other than
 * request_id, shared among the set and request_id, whom the RESOLVED
 * record names in its frames. A set of one request that the event does
 * not name is not given the samples (the thread blocks, or reads with no
 * request open): nothing says the work was its.
 */
static void thread_close_stretch(struct rp_thread *thread, uint64_t request_id)
{
    if (!thread->stretch_sampled)
        return;
    int saved_errno = errno;
    unsigned open = thread->open_count;
    bool others = open > 1 || (open == 1 && request_id != 0 &&
                               thread->open_requests[0] != request_id);
    unsigned named = others ? (open < RP_OPEN_MAX ? open : RP_OPEN_MAX) : 0;
    /* The handler stays out while busy: no deferred sample can land
     * between the record and the new stretch. */
    struct rp_record *record = rp_thread_record_start(thread, named);
    uint64_t stretch = thread->stretch;
    uint64_t mark_ns = thread->stretch_cpu_mark_ns;
    if (record != NULL) {
        record->kind = RP_RECORD_RESOLVED;
        record->request_id = request_id;
        record->value = stretch;
        record->time_ns = rp_monotonic_ns();
        record->frame_count = (uint16_t)named;
        record->truncated = open > RP_OPEN_MAX;
        for (unsigned i = 0; i < named; i++)
            record->frames[i] = (void *)(uintptr_t)thread->open_requests[i];
    }
    thread->stretch = stretch + 1;
    thread->stretch_sampled = 0;
    thread->stretch_ticks = 0;
    rp_thread_record_finish(thread, record);
    /* The CPU time from the stretch's first sample on: a system call, once
     * per stretch that a sample landed in, as for a request's. Shared
     * work's CPU time is nobody's: the samples say how it was shared. */
    if (request_id != 0 && named == 0 && mark_ns != 0)
        thread_record_cpu(thread, request_id, rp_clock_ns(CLOCK_THREAD_CPUTIME_ID) - mark_ns);
    errno = saved_errno;
}

/* request_id leaves the open set: the last one named takes its place
 * (the handler reads only the count). In a set of more than RP_OPEN_MAX,
 * one not named is taken to be among the unnamed, and a slot freed there
 * holds 0 (no request's id: the writer skips it). */
static void thread_close_open(struct rp_thread *thread, uint64_t request_id)
{
    unsigned open = thread->open_count;
    unsigned last = (open < RP_OPEN_MAX ? open : RP_OPEN_MAX) - 1;
    int index = thread_open_index(thread, request_id);
    if (index < 0 && open <= RP_OPEN_MAX)
        return;
    if (index >= 0) {
        thread->open_requests[index] = thread->open_requests[last];
        thread->open_requests[last] = 0;
    }
    rp_signal_fence();
    thread->open_count = open - 1;
}

/*
 * The open set outlives an event only on an event loop's thread, whose
 * blocking waits empty it. A thread that never waits in a loop's wait (a
 * thread per connection, a pool thread that reads a request's body for
 * another) would keep requests it read and never wrote for: any event
 * other than a read empties its set.
 */
static bool thread_keeps_open_set(const struct rp_thread *thread)
{
    return thread->deferring;
}

void rp_thread_share(struct rp_thread *thread, const uint64_t *requests, unsigned count,
                     const unsigned *queued, unsigned queued_seen)
{
    rp_thread_stop_sharing(thread, 0);
    /* A current request can only be one that ended (handoff.c). */
    rp_thread_set_current(thread, 0, NULL);
    thread_close_stretch(thread, 0);
    unsigned named = count < RP_OPEN_MAX ? count : RP_OPEN_MAX;
    for (unsigned i = 0; i < named; i++)
        thread->open_requests[i] = requests[i];
    thread->share_queued = queued;
    thread->share_queued_seen = queued_seen;
    thread->share_cpu_start_ns = 0;
    thread->share_guess = queued != NULL ? RP_SHARE_GUESSED : RP_SHARE_KNOWN;
    /* The handler reads the count, then sharing: both published last. A
     * sample's weight counts from now, not from the wait before. */
    rp_signal_fence();
    thread->open_count = count;
    thread->current_since_ns = rp_monotonic_ns();
    thread->idle_ticks = 0;
    rp_signal_fence();
    thread->sharing = 1;
    rp_thread_arm(thread);
}

/* Ends the share: request_id as for rp_thread_stop_sharing; handed_on:
 * the thread hands its work on. */
static void thread_end_share(struct rp_thread *thread, uint64_t request_id, bool handed_on)
{
    if (!thread->sharing)
        return;
    /* Off first: a tick from here on is an idle one, never a deferred
     * sample of the next stretch, which no RESOLVED record would end. */
    thread->sharing = 0;
    rp_signal_fence();
    bool named = request_id != 0 && thread_open_index(thread, request_id) >= 0;
    if (thread->share_guess != RP_SHARE_KNOWN) {
        bool stands = named || (handed_on && thread->share_guess == RP_SHARE_HELD);
        if (!stands) {
            thread->open_count = 0;
            request_id = 0;
        } else if (!named && thread->open_count == 1) {
            request_id = thread->open_requests[0];
            named = true;
        }
        thread->share_guess = RP_SHARE_KNOWN;
    }
    if (named)
        thread->open_count = 0;
    thread_close_stretch(thread, request_id);
    thread->open_count = 0;
}

void rp_thread_stop_sharing(struct rp_thread *thread, uint64_t request_id)
{
    thread_end_share(thread, request_id, false);
}

void rp_thread_hand_on_share(struct rp_thread *thread)
{
    thread_end_share(thread, 0, true);
}

void rp_thread_end_stretch(struct rp_thread *thread, uint64_t request_id, bool done)
{
    thread->aside_request = 0;
    rp_thread_stop_sharing(thread, request_id);
    thread_close_stretch(thread, request_id);
    if (!thread_keeps_open_set(thread))
        thread->open_count = 0;
    else if (done && request_id != 0 && thread->open_count != 0)
        thread_close_open(thread, request_id);
}

void rp_thread_request_ended(struct rp_thread *thread, uint64_t request_id)
{
    if (!thread_keeps_open_set(thread) || thread_open_index(thread, request_id) < 0)
        return;
    /* Work while it was open with others is theirs as much as its. */
    if (thread->open_count > 1)
        thread_close_stretch(thread, 0);
    thread_close_open(thread, request_id);
}

void rp_thread_read_request(struct rp_thread *thread, uint64_t request_id)
{
    thread->aside_request = 0;
    rp_thread_stop_sharing(thread, 0);
    /* Work before a read is not what the read brings: it is shared among
     * the open requests if more than one is open, else nobody's. Carried
     * on to the next event, it would be shared with the request read now,
     * which it predates (the writer does not know when a request began). */
    thread_close_stretch(thread, 0);
    unsigned open = thread->open_count;
    if (thread_open_index(thread, request_id) >= 0)
        return;
    if (open < RP_OPEN_MAX)
        thread->open_requests[open] = request_id;
    /* Published after the id it counts: the handler reads the count. */
    rp_signal_fence();
    thread->open_count = open + 1;
}

void rp_thread_block(struct rp_thread *thread)
{
    rp_thread_stop_sharing(thread, 0);
    thread_close_stretch(thread, 0);
    thread->open_count = 0;
}

void rp_thread_defer(struct rp_thread *thread)
{
    thread->aside_request = 0;
    rp_thread_stop_sharing(thread, 0);
    if (thread->current_request != 0) {
        int saved_errno = errno;
        rp_thread_set_current(thread, 0, NULL);
        errno = saved_errno;
    }
    thread->deferring = 1;
}

void rp_thread_mark_stretch_from_handler(struct rp_thread *thread, uint64_t cpu_ns)
{
    if (thread->sharing && thread->share_guess == RP_SHARE_GUESSED) {
        /* The guess's first sample marks the clock (the thread makes no
         * system call for it); one RP_SHARE_GUESS_SETTLE_NS later settles. */
        if (thread->share_cpu_start_ns == 0)
            thread->share_cpu_start_ns = cpu_ns;
        else if (cpu_ns - thread->share_cpu_start_ns >= RP_SHARE_GUESS_SETTLE_NS)
            thread->share_guess = rp_atomic_load_relaxed(thread->share_queued) ==
                                          thread->share_queued_seen
                                      ? RP_SHARE_HELD
                                      : RP_SHARE_FAILED;
    }
    if (!thread->stretch_sampled) {
        thread->stretch_cpu_mark_ns = cpu_ns;
        thread->stretch_sampled = 1;
    }
}

bool rp_thread_sampling_stopped(void)
{
    return rp_atomic_load_acquire(&thread_sampling_stopped);
}

void rp_thread_stop_sampling_everywhere(void)
{
    rp_atomic_store_seq_cst(&thread_sampling_stopped, true);
    /* Timers belong to the process: any thread may disarm any of them.
     * The lock keeps the writer from unmapping a state meanwhile; a thread
     * that arms after this loop saw the flag first and does not. */
    pthread_mutex_lock(&thread_unmap_lock);
    unsigned end = rp_atomic_load_acquire(&thread_registry_end);
    for (unsigned slot = 0; slot < end; slot++) {
        struct rp_thread *thread =
            rp_atomic_load_acquire(&thread_registry[slot]);
        if (thread != NULL && !rp_atomic_load_acquire(&thread->exited))
            thread_set_timer(thread, 0); /* armed stays: a stale "armed"
                                          * costs a needless disarm */
    }
    pthread_mutex_unlock(&thread_unmap_lock);
}

void rp_thread_visit_all(void (*visit)(struct rp_thread *thread, void *context),
                         void *context)
{
    rp_unwind_sweep_begin();
    unsigned end = rp_atomic_load_acquire(&thread_registry_end);
    for (unsigned slot = 0; slot < end; slot++) {
        struct rp_thread *thread =
            rp_atomic_load_acquire(&thread_registry[slot]);
        if (thread == NULL)
            continue;
        rp_unwind_sweep_reader(&thread->unwind_reader);
        /* Read exited before draining, so nothing the thread wrote before
         * it exited is missed by this visit. */
        bool exited = rp_atomic_load_acquire(&thread->exited);
        visit(thread, context);
        /* A visit may leave records for a later one (the writer's drain
         * leaves samples newer than the ends it knows): an exited
         * thread's state goes once its ring is empty. */
        if (exited && rp_ring_peek(&thread->ring) == NULL) {
            pthread_mutex_lock(&thread_unmap_lock);
            rp_atomic_store_release(&thread_registry[slot], NULL);
            munmap(thread, sizeof *thread);
            pthread_mutex_unlock(&thread_unmap_lock);
        }
    }
    rp_unwind_sweep_end();
}

void rp_thread_forget_all(void)
{
    /* After fork only the forking thread exists and none of the parent's
     * timers were inherited: unmap the parent's states. The handler must
     * not find its own first (a signal the server sends itself). Only the
     * slots in use are written: each page written costs the child a
     * copy. */
    rp_thread_state = NULL;
    rp_signal_fence();
    for (unsigned slot = 0; slot < thread_registry_end; slot++) {
        if (thread_registry[slot] == NULL)
            continue;
        munmap(thread_registry[slot], sizeof *thread_registry[slot]);
        thread_registry[slot] = NULL;
    }
    thread_registry_end = 0;
    /* Or the forking thread's exit would retire the unmapped state. */
    pthread_setspecific(thread_exit_key, NULL);
    pthread_mutex_init(&thread_unmap_lock, NULL);
}
