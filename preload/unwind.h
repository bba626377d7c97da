/*
 * Stack walking for the signal handler, from the loaded objects' own
 * unwind tables (.eh_frame_hdr and .eh_frame: the DWARF CFI that every
 * x86_64 object carries for C++ exceptions and debuggers).
 *
 * A walk reads the thread's stack and the objects' mapped tables directly,
 * and any other memory through getpid and process_vm_readv
 * (rp_unwind_reader_init): it allocates nothing, takes no lock and makes
 * no other system call, so it is async-signal-safe on any thread at any
 * moment, with no warm-up. What it must know of the process, which
 * objects are loaded where, is a table built off the hot path: at load,
 * then by the writer thread whenever the server has loaded or unloaded
 * objects (rp_unwind_sweep_begin). An address in no known object (code
 * loaded since the last sweep, JIT code) ends the walk there, after a
 * frame-pointer guess. An object unloaded since the sweep is never read:
 * before the walk reads an object's tables, glibc's lock-free
 * _dl_find_object must still find them at the same address.
 *
 * Memory: one table for the process, with each object's bounds and a cache
 * of unwind rules by address shared by all threads (32 KiB); nothing per
 * thread. libunwind's unw_backtrace, used before, kept a 256 KiB cache per
 * thread and allocated it, and its dynamic TLS, on each thread's first walk.
 */
#ifndef REQPROF_UNWIND_H
#define REQPROF_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

struct rp_unwind_table;

/* Walks one thread can have in progress at once: its own, outside a signal
 * handler, and the ones of signal handlers that interrupt it. */
#define RP_UNWIND_NESTING_MAX 3

/*
 * A thread's claim on the tables its walks read (hazard pointers): the
 * writer frees a replaced table only once no reader holds it. One per
 * thread, zeroed, in memory the writer can read (struct rp_thread). Only
 * the thread and its signal handlers write it, and a handler's walk ends
 * before the walk it interrupted goes on, so depth needs no atomics.
 */
struct rp_unwind_reader {
    struct rp_unwind_table *tables[RP_UNWIND_NESTING_MAX]; /* NULL: none */
    volatile int depth; /* walks in progress on the thread */
    /* The thread's stack, [stack_low, stack_high), as pthread_getattr_np
     * says (rp_unwind_reader_init); both 0 if it could not tell. */
    uintptr_t stack_low, stack_high;
};

/*
 * Learns the calling thread's stack for its reader, outside any signal
 * handler (pthread_getattr_np may lock and allocate). A walk reads that
 * stack directly; any other memory (a coroutine's stack, a frame chain
 * gone astray) only through process_vm_readv, which fails instead of
 * faulting.
 */
void rp_unwind_reader_init(struct rp_unwind_reader *reader);

/*
 * Builds the first table of loaded objects. Returns 0, or -1 with the
 * reason in error. Call once, outside any signal handler.
 */
int rp_unwind_load(char *error, unsigned long error_size);

/*
 * From a signal handler: fills frames (innermost first) with up to
 * capacity code addresses of the context the signal interrupted, the
 * interrupted instruction first, then return addresses; returns how many
 * (at least 1). Async-signal-safe.
 */
int rp_unwind_from_signal(const ucontext_t *context, struct rp_unwind_reader *reader,
                          void **frames, int capacity);

/* The same for the calling thread's own stack, outside a handler: the
 * first frames are reqprof's (see rp_unwind_is_own_code). */
int rp_unwind_here(struct rp_unwind_reader *reader, void **frames, int capacity);

/*
 * Writer, around a look at every thread's reader: sweep_begin brings the
 * table up to date (a new one if objects were loaded or unloaded since the
 * current one was built; the current one is then retired), sweep_reader
 * notes the tables one reader holds, and sweep_end frees the retired tables
 * that no reader held.
 */
void rp_unwind_sweep_begin(void);
void rp_unwind_sweep_reader(const struct rp_unwind_reader *reader);
void rp_unwind_sweep_end(void);

/* Whether address is in libreqprof.so's own code. */
bool rp_unwind_is_own_code(const void *address);

#endif
