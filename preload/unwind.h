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
 * the calling context and returns how many. For the signal handler, whose
 * sa_mask blocks every signal: no other handler may run while
 * rp_unwind_active is set. Async-signal-safe once the thread is warmed up.
 */
int rp_unwind_backtrace(void **frames, int capacity);

/* The same, outside a signal handler: blocks signals around the unwind. */
int rp_unwind_backtrace_outside_handler(void **frames, int capacity);

/*
 * Set while this thread unwinds. libunwind's own read, write and close
 * calls then reach reqprof's wrappers, which must neither track them nor
 * pass them on (see unwind.c): they answer with rp_unwind_fake_io.
 */
extern __thread bool rp_unwind_active __attribute__((tls_model("initial-exec")));

enum rp_unwind_io { RP_UNWIND_IO_READ, RP_UNWIND_IO_WRITE, RP_UNWIND_IO_CLOSE };

/* What libunwind's memory-validation I/O would have returned. For WRITE,
 * address is the byte it writes (the address it validates). */
long rp_unwind_fake_io(enum rp_unwind_io call, const void *address);

/* Whether address is in libreqprof.so's own code. */
bool rp_unwind_is_own_code(const void *address);

#endif
