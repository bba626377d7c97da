/*
 * Code address → function, object and source line, for this process.
 *
 * Built on elfutils' libdwfl: it reads the process's mappings, finds every
 * loaded ELF object (the executable, PIE or not, and each shared library)
 * at its load address, takes symbols from .symtab or else .dynsym, and
 * finds DWARF line tables in the object or a separate debug file.
 * libdwfl is reached through isolated.h, in a namespace of its own; where
 * it cannot be loaded, every frame is named by its address. Runs only on
 * the writer thread: it reads files and allocates.
 */
#ifndef REQPROF_SYMBOLIZER_H
#define REQPROF_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calltree.h"

struct rp_symbolizer;

/* Returns a symbolizer for the calling process, or NULL when out of memory.
 * Loads libdw the first time (rp_isolated_load). */
struct rp_symbolizer *rp_symbolizer_new(void);

/* Frees it and every frame it returned. NULL is allowed. */
void rp_symbolizer_free(struct rp_symbolizer *symbolizer);

/*
 * The frames of the code at address, written to frames outermost first:
 * the function holding it, then each function the compiler inlined there
 * (marked inlined), each called by the one before. Inlined calls are read
 * from the DWARF of the server's own code only, as source lines are.
 * A return address (any frame but the interrupted one) points after its
 * call instruction, possibly past the end of the caller:
 * is_return_address looks up address - 1 instead. Returns how many frames
 * it wrote: at least 1 when room is (an address in no known object gives a
 * frame named by the address); past room, the outermost are left out.
 * Frames are shared by all addresses in one function (or inlined call) and
 * stay valid until the symbolizer is freed.
 */
/* The most frames one address gives: its function and up to 31 calls
 * inlined one into another there (beyond, the outer ones stand for the
 * code). */
#define RP_SYMBOLIZER_FRAMES_MAX 32

size_t rp_symbolizer_lookup(struct rp_symbolizer *symbolizer, uintptr_t address,
                            bool is_return_address, const struct rp_frame **frames,
                            size_t room);

/*
 * What the symbolizer knows of the object named name (as its frames'
 * object): its build ID and executable segment, read once per object;
 * NULL for an object none of its frames named yet, or the vDSO. Frames'
 * addresses are that object's own (struct rp_object). Valid until the
 * symbolizer is freed.
 */
const struct rp_object *rp_symbolizer_object(const struct rp_symbolizer *symbolizer,
                                             const char *name);

#endif
