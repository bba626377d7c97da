/*
 * Process-wide state of the preloaded library: whether reqprof is on, and
 * its settings. Set up by the constructor
 * (preload/reqprof.c) before any server thread can see it, then read-only.
 */
#ifndef REQPROF_PROCESS_H
#define REQPROF_PROCESS_H

#include <stdbool.h>

#include "config.h"

struct rp_process {
    bool enabled;            /* false: every interposed call passes through */
    struct rp_config config; /* settings, valid when enabled */
};

extern struct rp_process rp_process;

#endif
