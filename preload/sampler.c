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
 * timer_settime that stops an idle thread's timer, and process_vm_readv
 * (the unwinder's, of memory off the thread's stack, and the interrupted
 * instruction's, sampler_at_system_call). If anything is not
 * ready the sample is skipped: a missing sample costs accuracy, a
 * deadlock costs the server.
 */
#include "sampler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "atomic.h"
#include "clock.h"
#include "process.h"
#include "real.h"
#include "thread.h"
#include "unwind.h"

/*
 * Whether the interrupted thread stands at a system call instruction: a
 * blocking call that our signal broke and that the kernel restarts after
 * the handler (SA_RESTART rewinds rip to the syscall instruction). The
 * code is read through the kernel, which fails rather than faults on
 * memory that is not readable (execute-only pages).
 */
static bool sampler_at_system_call(const void *context)
{
#if defined(__x86_64__)
    const ucontext_t *interrupted = context;
    unsigned char code[2];
    struct iovec local = {code, sizeof code};
    struct iovec remote = {(void *)interrupted->uc_mcontext.gregs[REG_RIP], sizeof code};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof code &&
           code[0] == 0x0f && code[1] == 0x05; /* syscall */
#else
    (void)context;
    return false;
#endif
}

/*
 * Of a sample standing for weight intervals, taken when the thread's CPU
 * clock read cpu_ns, the intervals the thread ran (it waited the others).
 * The CPU time since the thread's last sample is held against the
 * sample's intervals, not against the wall time since: a thread kept off
 * the CPU gets a tick's signal with no overrun when it is scheduled out,
 * and the one with the overruns right after it runs again (measured:
 * "1.00 ms of CPU in 19 ms of wall, weight 1", then "0.05 in 0.03,
 * weight 18"). What rounding leaves over is carried to the next sample,
 * so a run of samples counts the CPU time it holds to within an interval.
 * Measured on a 1 ms timer (docs/development-notes.md): a thread blocked
 * in read() ran at 2 of 300 intervals, a burn sharing its CPU with three
 * others at 36 intervals for 38 ms of CPU time, where the interrupted
 * instruction alone (at a system call or not) called all 268 of the
 * latter's intervals off the CPU running.
 *
 * The first sample after the timer was stopped, or after a tick that
 * took no sample, has no last sample to count from: the CPU time since an
 * older one tells that the thread waited only if even that was short;
 * else whether it stands at a blocking call does (since the timer
 * started, it either ran or was blocked in a call: waits that a tick
 * would break stop the timer).
 */
static uint16_t sampler_ran_intervals(struct rp_thread *thread, const void *context,
                                      uint64_t cpu_ns, uint64_t weight)
{
    int64_t interval_ns = (int64_t)rp_process.config.interval_ns;
    unsigned generation = thread->armed_generation;
    bool contiguous = thread->tick_cpu_known && thread->tick_generation == generation;
    uint64_t most_ns = weight * (uint64_t)interval_ns;
    uint64_t ran_ns = cpu_ns - thread->tick_cpu_ns;
    thread->tick_cpu_ns = cpu_ns;
    thread->tick_generation = generation;
    thread->tick_cpu_known = 1;
    if (!contiguous) {
        thread->tick_cpu_carry_ns = 0;
        if (ran_ns >= most_ns / 2 && sampler_at_system_call(context))
            return 0;
    }
    if (ran_ns > most_ns)
        ran_ns = most_ns;
    int64_t budget_ns = thread->tick_cpu_carry_ns + (int64_t)ran_ns;
    uint64_t ran = budget_ns > 0 ? (uint64_t)(budget_ns + interval_ns / 2) / (uint64_t)interval_ns
                                 : 0;
    if (ran > weight)
        ran = weight;
    if (ran > UINT16_MAX)
        ran = UINT16_MAX;
    budget_ns -= (int64_t)ran * interval_ns;
    /* A carry of at most an interval either way: CPU time beyond it is the
     * thread's between samples (a tick that took none), not a debt. */
    thread->tick_cpu_carry_ns = budget_ns > interval_ns    ? interval_ns
                                : budget_ns < -interval_ns ? -interval_ns
                                                           : budget_ns;
    return (uint16_t)ran;
}

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
        thread->tick_cpu_known = 0;
        rp_thread_idle_tick_from_handler(thread);
        goto out;
    }
    if (thread->busy) {
        thread->tick_cpu_known = 0;
        goto out;
    }
    thread->busy = 1;
    rp_signal_fence();
    if (deferred)
        thread->stretch_ticks++;
    /* clock_gettime is async-signal-safe; a system call (no vDSO path for
     * thread CPU clocks). */
    uint64_t cpu_ns = rp_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    /* Room for the deepest stack; the commit keeps what the walk filled. */
    struct rp_record *record = rp_ring_reserve(&thread->ring, RP_STACK_MAX);
    if (record == NULL) {
        thread->tick_cpu_known = 0; /* this tick's CPU time is in no sample */
    } else {
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
        record->cpu_value = sampler_ran_intervals(thread, context, cpu_ns, record->value);
        rp_ring_commit(&thread->ring, record);
    }
    if (deferred)
        rp_thread_mark_stretch_from_handler(thread, cpu_ns);
    else
        rp_thread_mark_cpu_from_handler(thread, cpu_ns);
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
