/*
 * The signal handler; see sampler.h.
 *
 * Rules for everything reached from here (STYLE.md, habit 4): save and
 * restore errno, no allocation, no locks, no waiting. The ring slot is
 * preallocated, the unwinder is reqprof's own and reads only the stack
 * and tables built off the hot path (unwind.h; libunwind, used before,
 * took its lock on a cache miss), and the thread state is static TLS.
 * The system calls made here are ones that cannot wait: the clocks
 * (CLOCK_MONOTONIC through the vDSO, the thread's CPU clock), the
 * timer_settime that stops an idle thread's timer, and the unwinder's
 * process_vm_readv of memory off the thread's stack. If anything is not
 * ready the sample is skipped: a missing sample costs accuracy, a
 * deadlock costs the server.
 */
#include "sampler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "atomic.h"
#include "clock.h"
#include "process.h"
#include "real.h"
#include "thread.h"
#include "unwind.h"

static void sampler_on_signal(int signal_number, siginfo_t *info, void *context)
{
    int saved_errno = errno;
    struct rp_thread *thread = rp_thread_state;
    /* Only our timer's ticks are samples; a kill(SIGPROF) is not. */
    if (thread == NULL || info->si_code != SI_TIMER)
        goto out;
    /* Read once: the writer may clear a request that ended from a thread
     * that still has it current (writer.c, writer_forget_ended). */
    uint64_t request_id = thread->current_request;
    /* On no request, an event loop's thread defers its samples to the
     * event that ends the stretch (thread.h), and so do a thread with
     * more than one request open and a pool thread sharing its work, for
     * a bounded run of ticks; ticks on no request otherwise stop the
     * timer until the thread takes up the next one (the timer runs on
     * between requests). */
    bool ambiguous = request_id != 0 && thread->open_count > 1;
    bool deferred = (request_id == 0 ? thread->deferring || thread->sharing : ambiguous) &&
                    thread->stretch_ticks < RP_STRETCH_TICKS_MAX;
    if ((request_id == 0 || ambiguous) && !deferred) {
        rp_thread_idle_tick_from_handler(thread);
        goto out;
    }
    if (thread->busy)
        goto out;
    thread->busy = 1;
    rp_signal_fence();
    if (deferred)
        thread->stretch_ticks++;
    /* Room for the deepest stack; the commit keeps what the walk filled. */
    struct rp_record *record = rp_ring_reserve(&thread->ring, RP_STACK_MAX);
    if (record != NULL) {
        /* The walk starts at the interrupted instruction: none of this
         * handler's frames is in it. */
        int count = rp_unwind_from_signal(context, &thread->unwind_reader,
                                          record->frames, RP_STACK_MAX);
        record->time_ns = rp_monotonic_ns();
        record->kind = deferred ? RP_RECORD_DEFERRED : RP_RECORD_STACK;
        record->request_id = deferred ? thread->stretch : request_id;
        /* A timer that expired while the thread was off the CPU delivers
         * one signal and counts the rest as overruns: each is wall time
         * the request spent, so the sample stands for all of them... */
        uint64_t weight = 1 + (uint64_t)(info->si_overrun > 0 ? info->si_overrun : 0);
        /* ...but for no more intervals than the thread has been on this
         * request (or, deferring, on none): the timer runs on from one
         * request to the next, and ticks missed before the switch belong
         * to the one before. */
        uint64_t interval_ns = rp_process.config.interval_ns;
        uint64_t since_ns = thread->current_since_ns;
        uint64_t elapsed_ns = record->time_ns > since_ns ? record->time_ns - since_ns : 0;
        uint64_t most = (elapsed_ns + interval_ns / 2) / interval_ns;
        record->value = weight < most ? weight : most > 0 ? most : 1;
        record->frame_count = (uint16_t)count;
        record->truncated = count == RP_STACK_MAX;
        rp_ring_commit(&thread->ring, record);
    }
    if (deferred)
        rp_thread_mark_stretch_from_handler(thread);
    else
        rp_thread_mark_cpu_from_handler(thread);
    rp_signal_fence();
    thread->busy = 0;
out:
    errno = saved_errno;
}

int rp_sampler_install(char *error, unsigned long error_size)
{
    int signal_number = rp_process.config.signal;
    struct sigaction existing;
    if (RP_REAL(sigaction)(signal_number, NULL, &existing) == 0 &&
        (existing.sa_flags & SA_SIGINFO ? existing.sa_sigaction != NULL
                                        : existing.sa_handler != SIG_DFL &&
                                              existing.sa_handler != SIG_IGN)) {
        /* Someone (a library's constructor) already handles it. */
        snprintf(error, error_size,
                 "signal %d (%s) already has a handler in this process: pick "
                 "another with REQPROF_SIGNAL, e.g. SIGRTMIN+4",
                 signal_number, strsignal(signal_number));
        return -1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = sampler_on_signal;
    /* SA_RESTART: read, write, accept and futex waits the signal lands in
     * restart instead of failing with EINTR. */
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    /* No handler of the server's may run inside ours: its calls into
     * reqprof would write the ring slot ours is filling. */
    sigfillset(&action.sa_mask);
    if (RP_REAL(sigaction)(signal_number, &action, NULL) != 0) {
        snprintf(error, error_size, "cannot install the handler for signal %d: %s",
                 signal_number, strerror(errno));
        return -1;
    }
    return 0;
}
