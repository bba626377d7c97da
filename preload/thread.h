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

struct rp_conn;

struct rp_thread {
    /* Read by the signal handler, written only by the thread itself. */
    volatile uint64_t current_request; /* request id, 0: none */
    volatile uint64_t current_since_ns; /* CLOCK_MONOTONIC when it was set */
    volatile sig_atomic_t busy;        /* >0: the thread is writing its ring
                                        * (a count: a server's own handler
                                        * may nest a write inside ours) */

    /* The thread's own. */
    struct rp_conn *current_conn; /* connection of current_request */
    uint64_t cpu_mark_ns; /* thread CPU clock when current_request was set */
    bool sampling;        /* the timer is armed */
    uint64_t wait_start_ns;      /* quiet wait (wait.c): when it began */
    uint64_t wait_remainder_ns;  /* waited time not yet worth a sample */
    uint16_t wait_frame_count;   /* frames of the waiting call, leaf first */
    void *wait_frames[RP_STACK_MAX];
    timer_t timer;        /* per-thread CLOCK_MONOTONIC timer */
    bool has_timer;       /* timer_create succeeded */

    /* Shared with the writer. */
    int exited; /* set (release) once the thread is gone */
    struct rp_sample_ring ring;
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
 * Makes request_id (0: none) of connection conn the thread's current
 * request: accounts the CPU time spent on the previous one and arms or
 * disarms the timer.
 */
void rp_thread_set_current(struct rp_thread *thread, uint64_t request_id,
                           struct rp_conn *conn);

/*
 * Ends the thread's current request: like setting no current request, but
 * the CPU time spent on it since the thread took it up is returned rather
 * than recorded in the ring, for the caller to hand over with the request,
 * and the end is stamped in *end_ns (CLOCK_MONOTONIC) once no sample can
 * count for the request any more, so none brings time from after it.
 */
uint64_t rp_thread_end_current(struct rp_thread *thread, uint64_t *end_ns);

/*
 * Arms (on) or disarms the thread's timer without changing its request:
 * quiet waits disarm it for the length of a blocking call. Arming is
 * refused while sampling is stopped process-wide.
 */
void rp_thread_set_sampling(struct rp_thread *thread, bool on);

/*
 * Outside the signal handler, the thread's own writes to its ring: start
 * keeps the handler out and returns the slot to fill (NULL when the ring is
 * full); finish publishes it (if any) and lets the handler back in.
 */
struct rp_record *rp_thread_record_start(struct rp_thread *thread);
void rp_thread_record_finish(struct rp_thread *thread, struct rp_record *record);

/* Whether sampling was stopped process-wide. */
bool rp_thread_sampling_stopped(void);

/* Stops sampling in every thread for good (the server took our signal). */
void rp_thread_stop_sampling_everywhere(void);

/*
 * Writer side: calls visit for every registered thread; a thread that has
 * exited is unregistered and freed after its visit (its ring drained).
 */
void rp_thread_visit_all(void (*visit)(struct rp_thread *thread, void *context),
                         void *context);

/* In a fork child: forgets the parent's threads (only the caller lives). */
void rp_thread_forget_all(void);

#endif
