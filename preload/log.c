/* One-line messages on stderr; see log.h. */
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

#include "atomic.h"
#include "real.h"

static void log_line(const char *format, va_list args)
{
    char line[1024];
    int prefix = snprintf(line, sizeof line, "reqprof: ");
    int length = vsnprintf(line + prefix, sizeof line - prefix - 1, format, args);
    if (length < 0)
        return;
    length += prefix;
    if ((size_t)length > sizeof line - 2)
        length = sizeof line - 2;
    line[length++] = '\n';
    /* A pipe whose reader is gone (a log pipe after its logger died) must
     * not kill the server with SIGPIPE before it ignores that signal
     * (nginx listens first): it is blocked for the write, and the one the
     * write raised is taken back, unless one was pending already. */
    sigset_t pipe_only, saved, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    int saved_errno = errno;
    bool masked = RP_REAL(pthread_sigmask)(SIG_BLOCK, &pipe_only, &saved) == 0;
    bool was_pending = masked && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    /* One write per line: a short write to a terminal or pipe is not worth
     * a retry loop for a diagnostic. */
    ssize_t written = RP_REAL(write)(2, line, (size_t)length);
    if (masked) {
        if (written < 0 && errno == EPIPE && !was_pending) {
            struct timespec now = {0, 0};
            (void)RP_REAL(sigtimedwait)(&pipe_only, NULL, &now);
        }
        RP_REAL(pthread_sigmask)(SIG_SETMASK, &saved, NULL);
    }
    errno = saved_errno;
}

void rp_log(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    log_line(format, args);
    va_end(args);
}

void rp_log_once(bool *said, const char *format, ...)
{
    if (rp_atomic_exchange_relaxed(said, true))
        return;
    va_list args;
    va_start(args, format);
    log_line(format, args);
    va_end(args);
}
