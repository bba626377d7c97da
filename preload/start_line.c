/* The line said when profiling starts; see start_line.h. */
#include "start_line.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "atomic.h"
#include "log.h"
#include "process.h"
#include "version.h"

/* Set once said. A fork child keeps its parent's: its server already
 * said it. */
static bool start_line_said;

void rp_start_line_say(void)
{
    if (rp_atomic_load_relaxed(&start_line_said) ||
        rp_process.config.quiet)
        return;
    uint64_t interval = rp_process.config.interval_ns;
    /* Intervals are whole microseconds unless written otherwise. */
    unsigned long long count = interval % 1000000 == 0 ? interval / 1000000
                               : interval % 1000 == 0  ? interval / 1000
                                                       : interval;
    const char *unit = interval % 1000000 == 0 ? "ms"
                       : interval % 1000 == 0  ? "us"
                                               : "ns";
    int saved_errno = errno;
    rp_log_once(&start_line_said,
                "%s profiling %s (pid %d) every %llu%s; reports go to %s",
                rp_version, program_invocation_short_name, (int)getpid(),
                count, unit, rp_process.config.dir);
    errno = saved_errno;
}
