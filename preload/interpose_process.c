/*
 * Interposed process-level calls: dropping privileges, taking over
 * reqprof's signal, vfork, _exit, and syscall(SYS_close).
 */
#include "architecture.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "handoff.h"
#include "interpose.h"
#include "log.h"
#include "process.h"
#include "real.h"
#include "report_directory.h"
#include "thread.h"
#include "wait.h"
#include "writer.h"

/*
 * A server started as root (nginx, apache2, varnish) serves from processes
 * that switch to unprivileged users, sometimes several (varnish: its
 * manager's, then its child's), and it is they that write reports. Just
 * before a root process gives its user id away, the new user is let into
 * the report directory reqprof makes (report_directory.h). A directory the
 * user made is left as it is: if the new user cannot write there, the
 * writer says so once, with the fix.
 */
static void process_before_user_change(uid_t new_uid)
{
    static bool said;
    if (!rp_process.enabled || new_uid == (uid_t)-1 || new_uid == 0 ||
        geteuid() != 0)
        return;
    int saved_errno = errno;
    if (rp_report_directory_grant(rp_process.config.dir, new_uid) != 0)
        rp_log_once(&said,
                    "cannot let user %d write reports in REQPROF_DIR=%s: %s; "
                    "that user's processes may write none (on a file system "
                    "without ACLs, only the first user the server switches "
                    "to can)",
                    (int)new_uid, rp_process.config.dir, strerror(errno));
    errno = saved_errno;
}

RP_EXPORT int setuid(uid_t uid)
{
    process_before_user_change(uid);
    return RP_REAL(setuid)(uid);
}

RP_EXPORT int seteuid(uid_t uid)
{
    process_before_user_change(uid);
    return RP_REAL(seteuid)(uid);
}

RP_EXPORT int setreuid(uid_t real_uid, uid_t effective_uid)
{
    process_before_user_change(effective_uid);
    return RP_REAL(setreuid)(real_uid, effective_uid);
}

RP_EXPORT int setresuid(uid_t real_uid, uid_t effective_uid, uid_t saved_uid)
{
    process_before_user_change(effective_uid);
    return RP_REAL(setresuid)(real_uid, effective_uid, saved_uid);
}

/*
 * The server installs its own disposition for reqprof's signal: from now
 * on a tick of our timer would run the server's handler, or kill the
 * process (SIG_DFL). Stop every timer first, then let the server have it.
 * Not for a vfork child's: it changes its own dispositions (a child that
 * restores every signal's default before exec), while the flag that stops
 * sampling is in the memory it shares with its parent. Nothing is said
 * here: the writer says it (writer_say_sampling_stopped), so a process
 * that serves no request (a fork child that restores every signal's
 * default before exec, as libuv's spawn does) writes nothing on a stderr
 * its parent may be reading.
 */
static void process_before_signal_change(int signal_number)
{
    if (!rp_interpose_active() || signal_number != rp_process.config.signal)
        return;
    int saved_errno = errno;
    if (!rp_thread_sampling_stopped()) {
        rp_thread_stop_sampling_everywhere();
        /* A tick already pending in some thread would meet the server's
         * disposition (SIG_DFL kills on kernels before 6.13): ignoring the
         * signal discards every pending one before the server's takes
         * over. Only the first time: later ones are the server's own. */
        struct sigaction ignore;
        memset(&ignore, 0, sizeof ignore);
        ignore.sa_handler = SIG_IGN;
        RP_REAL(sigaction)(signal_number, &ignore, NULL);
    }
    errno = saved_errno;
}

RP_EXPORT int sigaction(int signal_number, const struct sigaction *action,
                        struct sigaction *previous)
{
    if (action != NULL)
        process_before_signal_change(signal_number);
    return RP_REAL(sigaction)(signal_number, action, previous);
}

RP_EXPORT sighandler_t signal(int signal_number, sighandler_t handler)
{
    process_before_signal_change(signal_number);
    return RP_REAL(signal)(signal_number, handler);
}

/*
 * Servers block signals in their worker threads (APR blocks all of them)
 * and leave signal handling to one thread. The sampling signal, aimed by
 * its timer at the one thread working on a request, must get through, or
 * those workers are never sampled: it is taken out of any set the server
 * blocks, as long as reqprof owns it. Not in a vfork child: what it blocks
 * is what the program it execs starts with.
 */
static const sigset_t *process_mask_without_sampling(int how, const sigset_t *set,
                                                     sigset_t *copy)
{
    if (set == NULL || how == SIG_UNBLOCK || !rp_interpose_active() ||
        rp_thread_sampling_stopped() ||
        sigismember(set, rp_process.config.signal) != 1)
        return set;
    *copy = *set;
    sigdelset(copy, rp_process.config.signal);
    return copy;
}

RP_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *previous)
{
    sigset_t copy;
    return RP_REAL(pthread_sigmask)(how, process_mask_without_sampling(how, set, &copy),
                                    previous);
}

RP_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *previous)
{
    sigset_t copy;
    return RP_REAL(sigprocmask)(how, process_mask_without_sampling(how, set, &copy),
                                previous);
}

/* How a raw system call waits, for reqprof's timer. */
enum process_syscall_wait {
    PROCESS_SYSCALL_RUNS,  /* does not block, or a tick restarts it */
    PROCESS_SYSCALL_SLEEP, /* a sleep or timed wait: as the libc wrappers' */
    PROCESS_SYSCALL_LOOP,  /* an event loop's wait: the thread is idle */
};

/*
 * Raw system calls that a handled signal breaks with EINTR whatever
 * SA_RESTART says (signal(7)); Rust's std and some C++ runtimes park
 * threads with syscall(SYS_futex) and a timeout. futex without a timeout
 * is restarted, and so are the others not named here.
 */
static enum process_syscall_wait process_syscall_wait(long number, long second,
                                                      long third, long fourth)
{
    switch (number) {
    case SYS_futex:
        switch (second & FUTEX_CMD_MASK) {
        case FUTEX_WAIT:
        case FUTEX_WAIT_BITSET:
        case FUTEX_WAIT_REQUEUE_PI:
            return fourth != 0 ? PROCESS_SYSCALL_SLEEP : PROCESS_SYSCALL_RUNS;
        default:
            return PROCESS_SYSCALL_RUNS;
        }
    case SYS_futex_waitv:
        return fourth != 0 ? PROCESS_SYSCALL_SLEEP : PROCESS_SYSCALL_RUNS;
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_rt_sigtimedwait:
    case SYS_rt_sigsuspend:
    case SYS_pause:
    case SYS_semop:
    case SYS_semtimedop:
    case SYS_msgrcv:
    case SYS_msgsnd:
        return PROCESS_SYSCALL_SLEEP;
    /* poll and select fail with EINTR on a pending tick even without a
     * timeout; epoll_wait does not. */
    case SYS_poll:
    case SYS_ppoll:
    case SYS_select:
    case SYS_pselect6:
        return PROCESS_SYSCALL_LOOP;
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
        return fourth != 0 ? PROCESS_SYSCALL_LOOP : PROCESS_SYSCALL_RUNS;
    case SYS_epoll_pwait2:
        return PROCESS_SYSCALL_LOOP;
    /* Waits only for at least one completion (min_nr, min_complete). */
    case SYS_io_getevents:
    case SYS_io_pgetevents:
        return second > 0 ? PROCESS_SYSCALL_LOOP : PROCESS_SYSCALL_RUNS;
    case SYS_io_uring_enter:
        return (fourth & IORING_ENTER_GETEVENTS) && third > 0 ? PROCESS_SYSCALL_LOOP
                                                              : PROCESS_SYSCALL_RUNS;
    default:
        return PROCESS_SYSCALL_RUNS;
    }
}

/* Before a raw system call: keeps reqprof's tick out of one it would
 * break. Returns the quiet wait to end, or NULL. */
static struct rp_thread *process_before_syscall(long number, long second, long third,
                                                long fourth)
{
    if (!rp_interpose_active() || rp_thread_state == NULL)
        return NULL;
    switch (process_syscall_wait(number, second, third, fourth)) {
    case PROCESS_SYSCALL_SLEEP:
        return rp_wait_begin((void *)RP_REAL(syscall));
    case PROCESS_SYSCALL_LOOP:
        if (rp_wait_idle(true))
            rp_wait_idle_blocks();
        return NULL;
    default:
        return NULL;
    }
}

/* A futex call's part in handing work over (handoff.h): a wake of the
 * word at address (of count waiters, INT_MAX for all), or a wait on it. */
enum process_futex {
    PROCESS_FUTEX_OTHER,
    PROCESS_FUTEX_WAKE,
    PROCESS_FUTEX_WAIT,
};

static enum process_futex process_futex(long number, long operation)
{
    if (number != SYS_futex)
        return PROCESS_FUTEX_OTHER;
    switch (operation & FUTEX_CMD_MASK) {
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        return PROCESS_FUTEX_WAKE;
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        return PROCESS_FUTEX_WAIT;
    default:
        return PROCESS_FUTEX_OTHER;
    }
}

/* node (libuv) closes sockets with a raw syscall: the close must still
 * end the connection's requests. The six arguments are read as glibc's
 * own syscall() reads them. */
RP_EXPORT long syscall(long number, ...)
{
    va_list arguments;
    va_start(arguments, number);
    long a = va_arg(arguments, long), b = va_arg(arguments, long),
         c = va_arg(arguments, long), d = va_arg(arguments, long),
         e = va_arg(arguments, long), f = va_arg(arguments, long);
    va_end(arguments);
    if (number == SYS_close)
        rp_interpose_closing((int)a);
    enum process_futex futex = process_futex(number, b);
    if (futex == PROCESS_FUTEX_WAKE)
        rp_handoff_wake((uintptr_t)a, c > 1);
    else if (futex == PROCESS_FUTEX_WAIT)
        rp_handoff_before_wait();
    struct rp_thread *quiet = process_before_syscall(number, b, c, d);
    long result = RP_REAL(syscall)(number, a, b, c, d, e, f);
    rp_wait_end(quiet);
    /* A wait that returned 0 was woken (or spuriously: it then finds what
     * a wake would have left). */
    if (futex == PROCESS_FUTEX_WAIT && result == 0)
        rp_handoff_woken((uintptr_t)a);
    return result;
}

__thread pid_t rp_interpose_vfork_pid __attribute__((tls_model("initial-exec")));

bool rp_interpose_in_vfork_child(void)
{
    if (getpid() != rp_interpose_vfork_pid)
        return true;
    rp_interpose_vfork_pid = 0;
    return false;
}

/* Called by vfork below, on the parent's stack before the real vfork,
 * which it returns. A mark already there stays: either the parent's own
 * (the same pid), or this is a vfork child vforking, and it must still
 * know itself one when its child is gone. */
void *rp_interpose_vfork_prepare(void);
void *rp_interpose_vfork_prepare(void)
{
    if (rp_process.enabled && rp_interpose_vfork_pid == 0)
        rp_interpose_vfork_pid = getpid();
    return (void *)RP_REAL(vfork);
}

/*
 * vfork cannot be wrapped in C: the child returns through the wrapper's
 * frame on the parent's stack, and the parent would then return through
 * what the child left there. So this stub only calls the preparation
 * above (the stack is as it found it when the call returns) and jumps to
 * the real vfork with the caller's return address on top, as if the
 * caller had called it. The parent clears the mark at its next
 * interposed call (rp_interpose_in_vfork_child). x86-64, like the
 * unwinder.
 */
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork, @function\n"
        "vfork:\n"
        "    sub $8, %rsp\n" /* the call below needs a 16-byte aligned stack */
        "    call rp_interpose_vfork_prepare\n"
        "    add $8, %rsp\n"
        "    jmp *%rax\n"
        ".size vfork, .-vfork\n");

/*
 * A child that serves a connection and ends with _exit (busybox httpd's
 * does) runs no destructor: its last requests' reports get the same short
 * wait as at exit. Not in a vfork child (its parent's writer is not its
 * own), and a fork child that served nothing has no writer to wait for.
 */
static void process_before_exit(void)
{
    if (rp_interpose_active())
        rp_writer_flush(RP_WRITER_EXIT_FLUSH_MS);
}

RP_EXPORT void _exit(int status)
{
    process_before_exit();
    RP_REAL(_exit)(status);
    __builtin_unreachable();
}

RP_EXPORT void _Exit(int status)
{
    process_before_exit();
    RP_REAL(_Exit)(status);
    __builtin_unreachable();
}
