/*
 * The sampling signal handler: on each tick of a thread's timer it records
 * the thread's stack, tagged with the thread's current request, into the
 * thread's ring.
 */
#ifndef REQPROF_SAMPLER_H
#define REQPROF_SAMPLER_H

/*
 * Installs the handler for the sampling signal, rp_process.config.signal
 * (REQPROF_SIGNAL). Returns 0, or -1 with the reason in error.
 */
int rp_sampler_install(char *error, unsigned long error_size);

#endif
