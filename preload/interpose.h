/* What the interposed socket calls share with the other interposers. */
#ifndef REQPROF_INTERPOSE_H
#define REQPROF_INTERPOSE_H

#include <stdbool.h>
#include <sys/types.h>

#include "process.h"
#include "thread.h"

/* An interposed function: the library's only exported symbols (the rest
 * is hidden by -fvisibility=hidden and the exports map made from
 * interposed.def). */
#define RP_EXPORT __attribute__((visibility("default")))

/*
 * A vfork child runs on its parent's memory, thread state and all, until
 * it execs or exits: its calls (busybox httpd's CGI child puts pipes on
 * fds 0 and 1 with dup2, where the parent serves its connection) must not
 * change the parent's state. The interposed vfork stores the parent's pid
 * here, in the vforking thread's TLS, which the child shares; 0 when no
 * vfork is under way on this thread.
 */
extern __thread pid_t rp_interpose_vfork_pid __attribute__((tls_model("initial-exec")));

/* With rp_interpose_vfork_pid set: whether this is the vfork child (if not,
 * the parent is back, and forgets the vfork). One getpid. */
bool rp_interpose_in_vfork_child(void);

/* Whether reqprof looks at calls on this thread at all: not on its own
 * threads, and not in a vfork child. */
static inline bool rp_interpose_active(void)
{
    return rp_process.enabled && !rp_thread_is_internal &&
           (__builtin_expect(rp_interpose_vfork_pid == 0, 1) ||
            !rp_interpose_in_vfork_child());
}

/* fd is about to be closed (close, or syscall(SYS_close, fd)). */
void rp_interpose_closing(int fd);

#endif
