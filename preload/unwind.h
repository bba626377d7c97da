/*
 * Stack walking with libunwind, loaded privately.
 *
 * libunwind.so.8 also defines _Unwind_RaiseException, backtrace and the
 * rest of the unwinder ABI. Linked normally into a preloaded library it
 * would join the global symbol scope ahead of libgcc_s and glibc, and the
 * server's C++ exceptions and backtrace() calls could start running
 * through it. dlopen(RTLD_LOCAL) keeps its symbols to reqprof.
 */
#ifndef REQPROF_UNWIND_H
#define REQPROF_UNWIND_H

#include <stdbool.h>

/*
 * Loads libunwind and selects its per-thread cache. Returns 0, or -1 with
 * the reason in error. Call once, outside any signal handler.
 */
int rp_unwind_load(char *error, unsigned long error_size);

/*
 * Prepares the calling thread for unwinding from a signal handler: the
 * first unwind on a thread allocates its cache and may take locks, so it
 * must happen here, before the thread's timer is armed.
 */
void rp_unwind_warm_up_thread(void);

/*
 * Fills frames (innermost first) with up to capacity return addresses of
 * the calling context and returns how many. Async-signal-safe once the
 * thread is warmed up.
 */
int rp_unwind_backtrace(void **frames, int capacity);

/* Whether address is in libreqprof.so's own code. */
bool rp_unwind_is_own_code(const void *address);

#endif
