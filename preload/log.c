/* One-line messages on stderr; see log.h. */
#include "log.h"

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
    /* One write per line: a short write to a terminal or pipe is not worth
     * a retry loop for a diagnostic. */
    (void)!RP_REAL(write)(2, line, (size_t)length);
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
