/*
 * Per-thread state: which request the thread works on, its sampling timer
 * and its sample ring.
 *
 * A server thread gets its state the first time it touches a request. The
 * state is registered so the writer thread can drain every ring, and is
 * handed to the writer for freeing when the thread exits.
 */
#ifndef REQPROF_THREAD_H
#define REQPROF_THREAD_H

#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "sample_ring.h"
#include "stretch_hold.h"
#include "unwind.h"

struct rp_conn;

/* Requests of an ambiguous stretch named in its RESOLVED record: the
 * samples of a stretch with more open requests are shared among these. */
#define RP_OPEN_MAX 8

struct rp_thread {
    /* Read by the signal handler, written only by the thread itself... */
    volatile uint64_t current_request; /* request id, 0: none. ...but for
                                        * the writer, which clears a
                                        * request that ended from a thread
                                        * whose samples show it still has
                                        * it (a compare-and-swap): read it
                                        * once where it is used twice */
    volatile uint64_t current_since_ns; /* CLOCK_MONOTONIC when it was set */
    volatile sig_atomic_t busy;        /* >0: the thread is writing its ring
                                        * (a count: a server's own handler
                                        * may nest a write inside ours) */
    volatile sig_atomic_t switching;   /* >0: the current request is being
                                        * changed: the handler leaves the CPU
                                        * mark alone */
    volatile sig_atomic_t timer_changing; /* >0: the thread is arming or
                                           * disarming: the handler must not */

    /* Written by the thread and by its own signal handler. */
    volatile sig_atomic_t armed; /* the timer is running (the handler
                                  * disarms it on a tick with no request) */
    volatile unsigned armed_generation; /* bumped at each change of armed */
    volatile sig_atomic_t idle_ticks;   /* ticks on no request since the
                                         * thread last took one up */
    /* The CPU clock is read only for a stretch of a request that a sample
     * landed in: its first sample's handler marks it. */
    volatile uint64_t cpu_request; /* request the mark is for; 0: none */
    volatile uint64_t cpu_mark_ns; /* thread CPU clock at that sample */

    /* Running or waiting (sampler.c): the handler's own. */
    uint64_t tick_cpu_ns;        /* thread CPU clock at its last sample */
    int64_t tick_cpu_carry_ns;   /* CPU time counted in no sample's
                                  * intervals yet (below 0: counted ahead) */
    unsigned tick_generation;    /* armed_generation then */
    volatile sig_atomic_t tick_cpu_known; /* tick_cpu_ns is of the tick
                                           * just before this one */

    /* Stretches (see rp_thread_defer): read by the signal handler. */
    volatile sig_atomic_t deferring; /* an event loop's thread: on no
                                      * request, samples are deferred */
    volatile uint64_t stretch;       /* number of the open stretch */
    volatile sig_atomic_t stretch_sampled; /* a deferred sample landed in
                                            * it: its end is recorded */
    volatile unsigned stretch_ticks; /* deferred ticks in it */
    volatile uint64_t stretch_cpu_mark_ns; /* thread CPU clock at its first
                                            * deferred sample */
    volatile unsigned open_count; /* requests read and not handed on
                                   * since the thread last blocked:
                                   * more than one and samples are
                                   * deferred, to be shared */
    uint64_t open_requests[RP_OPEN_MAX]; /* the first RP_OPEN_MAX of them */
    volatile sig_atomic_t sharing; /* works for one of the open requests,
                                    * not known which (rp_thread_share):
                                    * on no request, samples are deferred */
    /* A share that no wake made (a guess, rp_thread_share): settled by
     * the handler once the thread has run for a while. */
    volatile sig_atomic_t share_guess;  /* enum rp_share_guess */
    const unsigned *share_queued;       /* the object's count of jobs queued */
    unsigned share_queued_seen;         /* its value when the guess was made */
    uint64_t share_cpu_start_ns;        /* thread CPU clock at its first
                                         * sample; 0: none yet */

    /* The thread's own. */
    struct rp_conn *current_conn; /* connection of current_request */
    /* The request whose socket the loop took back (an epoll_ctl on it set
     * it aside, rp_wait_loop_watches), until the thread's next I/O event:
     * a wake meanwhile hands it on (a loop that stops watching a request
     * it read, then queues it to a worker pool). 0: none. */
    uint64_t aside_request;
    struct rp_conn *aside_conn;
    uint64_t wait_start_ns;      /* quiet wait (wait.c): when it began */
    uint64_t wait_remainder_ns;  /* waited time not yet worth a sample */
    uint16_t wait_frame_count;   /* frames of the waiting call, leaf first */
    void *wait_frames[RP_STACK_MAX];
    /* Wall time the socket call in progress blocked in its quiet waits
     * (interpose.c), until the call's wait on its peer takes it
     * (rp_peer_wait_account). */
    uint64_t peer_blocked_ns;
    uint64_t peer_call_start_ns; /* when the real call of the quiet wait
                                  * in progress began */
    /* The disk reads of one file for one request not yet in the ring
     * (peer_wait.c: summed on the thread, so that a request of many small
     * reads does not fill its ring); calls == 0: none. summing is set
     * while the sum changes, for a signal handler's read to leave it be. */
    struct rp_thread_disk_sum {
        uint64_t request_id;
        uint64_t ns;
        uint64_t bytes;
        uint32_t calls;
        uint16_t file;
        bool summing;
    } disk_sum;
    timer_t timer;        /* per-thread CLOCK_MONOTONIC timer */
    uint64_t phase_seed;  /* random first delays of the timer (thread.c) */
    bool has_timer;       /* timer_create succeeded */

    /* Shared with the writer. */
    int exited; /* set (release) once the thread is gone */
    struct rp_unwind_reader unwind_reader; /* tables this thread's walks read */
    struct rp_sample_ring ring;
    /* The writer's own: deferred samples waiting for their stretch's end. */
    struct rp_stretch_hold hold;
};

/*
 * The calling thread's state, read by the signal handler; NULL until the
 * thread first touches a request. initial-exec: a preloaded library has
 * static TLS, and the handler must not go through __tls_get_addr.
 */
extern __thread struct rp_thread *rp_thread_state
    __attribute__((tls_model("initial-exec")));

/*
 * True on reqprof's own threads (the writer): their calls pass straight
 * through, so reqprof never profiles or tracks itself.
 */
extern __thread bool rp_thread_is_internal
    __attribute__((tls_model("initial-exec")));

/* Sets up the key whose destructor retires exiting threads. Returns 0, or
 * -1 with the reason in error. */
int rp_thread_init(char *error, size_t error_size);

/* The calling thread's state, made on first use; NULL if that failed. */
struct rp_thread *rp_thread_self(void);

/*
 * The timer runs while the thread works: it is armed when the thread takes
 * up a request and stays armed from one request to the next, so a busy
 * thread makes no system call of reqprof's per request. It is disarmed
 * only where the thread may block (rp_thread_disarm, before a wait), and
 * by the signal handler when a second tick in a row finds the thread on
 * no request: an idle thread gets at most two stray ticks.
 */

/* CPU time spent on a request, when it was measured. */
struct rp_thread_cpu {
    uint64_t ns;
    bool measured; /* false: no sample landed in that stretch, and the
                    * CPU clock was not read (ns is 0) */
};

/*
 * Makes request_id (0: none) of connection conn the thread's current
 * request, arming the timer for a request; CPU time measured on the
 * previous one goes to the writer through the ring.
 */
void rp_thread_set_current(struct rp_thread *thread, uint64_t request_id,
                           struct rp_conn *conn);

/*
 * Ends the thread's current request: like setting no current request, but
 * the CPU time measured on it since the thread took it up is returned
 * rather than recorded in the ring, for the caller to hand over with the
 * request, and the end is stamped in *end_ns (CLOCK_MONOTONIC) once no
 * sample can count for the request any more, so none brings time from
 * after it.
 */
struct rp_thread_cpu rp_thread_end_current(struct rp_thread *thread,
                                           uint64_t *end_ns);

/*
 * Arms the thread's timer if it is not running, unless sampling is
 * stopped process-wide: after a quiet wait, for the request that goes on.
 */
void rp_thread_arm(struct rp_thread *thread);

/* Disarms the thread's timer if it is running: before the thread may
 * block in a call that a tick would break or keep waking. Keeps errno. */
void rp_thread_disarm(struct rp_thread *thread);

/* The signal handler's side of the above: the second tick in a row on the
 * thread while it works on no request disarms the timer, unless the
 * thread is changing it itself. Async-signal-safe. */
void rp_thread_idle_tick_from_handler(struct rp_thread *thread);

/* The signal handler marks the thread CPU clock, which read cpu_ns, at
 * the first sample of a stretch of the current request (see
 * cpu_request). Async-signal-safe. */
void rp_thread_mark_cpu_from_handler(struct rp_thread *thread, uint64_t cpu_ns);

/*
 * Outside the signal handler, the thread's own writes to its ring: start
 * keeps the handler out and returns room for a record of up to
 * frame_count frames (NULL when the ring is full); finish publishes it (if
 * any) and lets the handler back in.
 */
struct rp_record *rp_thread_record_start(struct rp_thread *thread, unsigned frame_count);
void rp_thread_record_finish(struct rp_thread *thread, struct rp_record *record);

/* Tells the writer, through the thread's ring, that request_id ended but
 * could not be queued: the writer frees its samples at once rather than
 * keep them for an end that will never come. */
void rp_thread_record_lost(struct rp_thread *thread, uint64_t request_id);

/*
 * Stretches: deferred and ambiguous work on an event loop's thread
 * (issue 11, items 3 and 4).
 *
 * An event loop runs a request's work when it likes: in a timer callback
 * (libevent), in a later turn of the loop (asyncio), after reading other
 * requests (haproxy reads several streams, then runs their tasks). Bytes
 * read tell nothing about such work; the event that ends it does. A
 * thread's stretch runs from one I/O event to the next. A thread that
 * waited in an event loop's wait defers: from then on, ticks on no
 * request are recorded as DEFERRED samples of the open stretch instead of
 * being dropped. So are ticks while more than one request is open
 * (open_count): which of them the work is for, the bytes cannot tell.
 * The open set holds the requests read and not yet handed on since: a
 * request leaves it when the thread writes for it (its response, its
 * upstream), when the loop watches its socket for writing or stops
 * watching it, or when it ends, and the set empties only when the thread
 * blocks in its loop. The event that ends the stretch records one
 * RESOLVED record: the samples are the request it names (a write of its
 * response or to its upstream, the loop watching its socket), or no
 * request's (the thread blocks in its loop, or reads: work before a read
 * is not what the read brings), or, with the open set holding another
 * request, shared among those and the named one. A stretch that no
 * deferred sample landed in costs a load and a store at its end.
 */

/* Whether the thread works for a request: its current one, or one of
 * the requests it shares (rp_thread_share). Its waits are then that
 * work's, not an event loop's. */
static inline bool rp_thread_has_work(const struct rp_thread *thread)
{
    return thread->current_request != 0 || thread->sharing;
}

/* Before an event loop's wait: the thread works on no request while it
 * waits and afterwards defers. The stretch and the open set stay (work
 * that ends in a write after a turn of the loop is still the write's
 * request's, and may be any open request's) unless the wait blocks
 * (rp_thread_block). */
void rp_thread_defer(struct rp_thread *thread);

/*
 * The I/O event that ends the thread's stretch, other than a read: its
 * deferred samples (and, unless they are shared, the CPU time from the
 * first of them) are request_id's, or nobody's (0, dropped), or shared
 * with the open requests when the open set holds another. done: the
 * event hands request_id's work on (a write for it, its response or its
 * upstream, or the loop watching its socket for writing or no longer
 * watching it, rp_wait_loop_watches): it leaves the open set. Keeps
 * errno.
 */
void rp_thread_end_stretch(struct rp_thread *thread, uint64_t request_id, bool done);

/*
 * The request a wake by the thread hands on, and its connection: its
 * current one, else the one it set aside since its last I/O event; 0 and
 * NULL when none. A server's signal handler may wake (sem_post, a
 * self-pipe's write) while the thread changes its request or sets one
 * aside, and see a request with the connection of the next one (none, on
 * the way to no request): such a pair hands nothing on, since the request
 * would be taken up, and then looked up, through no connection.
 */
static inline uint64_t rp_thread_waker_request(const struct rp_thread *thread,
                                               struct rp_conn **conn)
{
    *conn = NULL;
    if (thread->switching)
        return 0;
    uint64_t current = thread->current_request; /* read once: see above */
    struct rp_conn *its_conn = current != 0 ? thread->current_conn : thread->aside_conn;
    uint64_t request_id = current != 0 ? current : thread->aside_request;
    if (its_conn == NULL)
        return 0;
    *conn = its_conn;
    return request_id;
}

/* A read made request_id (not 0) current: it ends the stretch on no
 * request (or shared among the open ones, if more than one) and joins
 * the open set. */
void rp_thread_read_request(struct rp_thread *thread, uint64_t request_id);

/* request_id ended on this thread: it leaves the open set (a stretch
 * open with others in it is shared among them first). */
void rp_thread_request_ended(struct rp_thread *thread, uint64_t request_id);

/* The thread blocks in its loop's wait: every ready piece of work was
 * done, so the stretch ends on no request (or shared among the open
 * requests if more than one is open) and no request is open after it. */
void rp_thread_block(struct rp_thread *thread);

/*
 * Handed work that cannot be told apart (handoff.h): a pool thread woken
 * while count requests' jobs wait on its queue runs one of them, and
 * which one the wake does not say. Until rp_thread_stop_sharing, its
 * samples on no request are deferred in a stretch of their own, shared
 * among those requests when it ends (the first RP_OPEN_MAX of them are
 * named), and its CPU time is nobody's. The timer is armed.
 *
 * queued is NULL for a wake's share. A pool thread that handed its job
 * on and goes on to the next queued one without waiting (no wake says
 * so) guesses instead: its job is one of the requests pending, unless a
 * job was queued before it took its own. queued is the object's count
 * of jobs queued, queued_seen its value now. The guess's first sample
 * marks the thread's CPU clock (read by the handler anyway: no system
 * call on the thread's path), and a sample RP_SHARE_GUESS_SETTLE_NS of
 * CPU time after it (by then the thread took its job from the queue,
 * which takes far less, even if the first sample came before) settles
 * the guess: it holds if the count did not move. It stands only if it held and the stretch ends
 * in a hand-on (rp_thread_hand_on_share), or if a write names one of its
 * requests; otherwise its samples are nobody's (the thread found the
 * queue empty and waits, or took a job queued after the guess).
 */
void rp_thread_share(struct rp_thread *thread, const uint64_t *requests, unsigned count,
                     const unsigned *queued, unsigned queued_seen);

enum rp_share_guess {
    RP_SHARE_KNOWN,     /* a wake's share: no guess */
    RP_SHARE_GUESSED,   /* not settled yet */
    RP_SHARE_HELD,      /* no job was queued before the thread took its own */
    RP_SHARE_FAILED,    /* one was: the thread may be running it */
};

#define RP_SHARE_GUESS_SETTLE_NS 50000u

/* The sharing thread hands its work on (a wake by it, handoff.c): the
 * stretch is shared among the requests as rp_thread_stop_sharing does,
 * or, a guess that held, given to its one request if it names one. */
void rp_thread_hand_on_share(struct rp_thread *thread);

/*
 * The sharing thread hands its work on or waits for more, or an I/O event
 * of its ends the stretch (rp_thread_end_stretch, rp_thread_read_request,
 * rp_thread_block, rp_thread_defer call it): the stretch is shared among
 * the requests, or request_id's alone when the event names one of them
 * (the thread writes that request's response, or to its upstream: the
 * job was that one's). No-op on a thread that does not share.
 */
void rp_thread_stop_sharing(struct rp_thread *thread, uint64_t request_id);

/* The signal handler took a deferred sample, with the thread's CPU clock
 * at cpu_ns: the first of the stretch means its end must be recorded, and
 * the clock is marked; a guessed share is settled once it ran long enough
 * (rp_thread_share). Async-signal-safe. */
void rp_thread_mark_stretch_from_handler(struct rp_thread *thread, uint64_t cpu_ns);

/* Deferred ticks in one stretch after which the handler treats ticks as
 * idle ones (and stops the timer): a loop thread busy with no I/O event
 * for that long is not working for a request it will answer soon. */
#define RP_STRETCH_TICKS_MAX 1000

/* Whether sampling was stopped process-wide. */
bool rp_thread_sampling_stopped(void);

/* Stops sampling in every thread for good (the server took our signal). */
void rp_thread_stop_sampling_everywhere(void);

/*
 * Writer side: calls visit for every registered thread; a thread that has
 * exited is unregistered and freed after the visit that leaves its ring
 * empty (a visit may leave records for a later one). The
 * unwinder's table is brought up to date meanwhile, and the tables it
 * replaced are freed once no thread's walk reads them (unwind.h).
 */
void rp_thread_visit_all(void (*visit)(struct rp_thread *thread, void *context),
                         void *context);

/* In a fork child: forgets the parent's threads (only the caller lives). */
void rp_thread_forget_all(void);

#endif
