/* The report side's heap; see heap.h. */
#include "heap.h"

#include <malloc.h>
#include <stdlib.h>

#include "isolated.h"

struct heap_functions {
    __typeof__(malloc) *malloc;
    __typeof__(calloc) *calloc;
    __typeof__(realloc) *realloc;
    __typeof__(free) *free;
    __typeof__(malloc_trim) *trim; /* NULL: the process's, never trimmed */
};

/* The process's malloc. */
#define HEAP_PROCESS {malloc, calloc, realloc, free, NULL}

/* The functions in use: the process's until rp_heap_isolate. */
static struct heap_functions heap = HEAP_PROCESS;

void *rp_heap_malloc(size_t size)
{
    return heap.malloc(size);
}

void *rp_heap_calloc(size_t count, size_t size)
{
    return heap.calloc(count, size);
}

void *rp_heap_realloc(void *pointer, size_t size)
{
    return heap.realloc(pointer, size);
}

void rp_heap_free(void *pointer)
{
    heap.free(pointer);
}

void rp_heap_isolate(void)
{
    /* libc comes into the namespace with libdw, its first library. */
    if (!rp_isolated_load(RP_ISOLATED_LIBDW)) {
        heap = (struct heap_functions)HEAP_PROCESS;
        return;
    }
    heap = (struct heap_functions){RP_ISOLATED(malloc), RP_ISOLATED(calloc),
                                   RP_ISOLATED(realloc), RP_ISOLATED(free),
                                   RP_ISOLATED(malloc_trim)};
}

void rp_heap_trim(void)
{
    if (heap.trim != NULL)
        heap.trim(0);
}
