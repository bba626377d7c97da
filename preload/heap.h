/*
 * The heap of reqprof's report side: the call trees, the symbolizer's
 * caches, the renderers' buffers, the report files' state and the
 * writer's own. Everything they allocate and free goes through here, and
 * nothing else does.
 *
 * In the preloaded library the writer thread points it at the malloc of
 * the libraries' namespace (isolated.h) before its first allocation. That
 * malloc is a second copy of libc's, with arenas that only the writer
 * uses, so the writer can give the pages of freed trees back to the
 * kernel (rp_heap_trim) without walking the server's arenas under their
 * locks, as malloc_trim of the process's malloc does (a server malloc was
 * seen to wait 21-62 ms behind it on a big heap). Without the namespace
 * (libdw missing), and in the reqprof tool, it is the process's malloc,
 * never trimmed.
 *
 * Memory from here is freed only here, and the process's malloc never
 * frees it: the modules that run on the server's threads (pending.c,
 * conn_table.c, unwind.c's tables, which a server thread makes first)
 * keep to the process's malloc, and hand the writer no memory to free.
 */
#ifndef REQPROF_HEAP_H
#define REQPROF_HEAP_H

#include <stddef.h>

/* malloc, calloc, realloc and free, of the heap in use. */
void *rp_heap_malloc(size_t size);
void *rp_heap_calloc(size_t count, size_t size);
void *rp_heap_realloc(void *pointer, size_t size);
void rp_heap_free(void *pointer);

/*
 * Points the heap at the namespace's malloc, loading the libraries if
 * need be, or at the process's when they cannot be loaded (loading said
 * why, once). The writer thread calls it before it
 * allocates anything, again in a fork child's new writer: the memory of
 * the parent's writer is never freed there, and the child may have a
 * namespace of its own (rp_isolated_after_fork_in_child).
 */
void rp_heap_isolate(void);

/* Gives the free pages of the namespace's malloc back to the kernel; does
 * nothing on the process's malloc, whose arenas are the server's. */
void rp_heap_trim(void);

#endif
