/* The line said when profiling starts; see start_line.h. */
#include "start_line.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "atomic.h"
#include "log.h"
#include "process.h"
#include "version.h"

/* Set once said. A fork child keeps its parent's: its server already
 * said it. */
static bool start_line_said;
/* What rp_start_line_hold keeps; "" when nothing. */
static char start_line_held[1024];

void rp_start_line_hold(const char *message)
{
    snprintf(start_line_held, sizeof start_line_held, "%s", message);
}

void rp_start_line_say(void)
{
    if (rp_atomic_load_relaxed(&start_line_said) ||
        rp_atomic_exchange_relaxed(&start_line_said, true))
        return;
    int saved_errno = errno;
    if (start_line_held[0] != '\0')
        rp_log("%s", start_line_held);
    if (rp_process.config.quiet) {
        errno = saved_errno;
        return;
    }
    uint64_t interval = rp_process.config.interval_ns;
    /* Intervals are whole microseconds unless written otherwise. */
    unsigned long long count = interval % 1000000 == 0 ? interval / 1000000
                               : interval % 1000 == 0  ? interval / 1000
                                                       : interval;
    const char *unit = interval % 1000000 == 0 ? "ms"
                       : interval % 1000 == 0  ? "us"
                                               : "ns";
    rp_log("%s profiling %s (pid %d) every %llu%s; reports go to %s", rp_version,
           program_invocation_short_name, (int)getpid(), count, unit,
           rp_process.config.dir);
    errno = saved_errno;
}
