/* fd → entry maps; see fd_map.h. */
#include "fd_map.h"

#include <sys/mman.h>

#include "atomic.h"

#define FD_MAP_CHUNK_SIZE (1u << RP_FD_MAP_CHUNK_BITS)

void *rp_fd_map_entry(struct rp_fd_map *map, int fd, bool create)
{
    if (fd < 0 || (unsigned)fd >= FD_MAP_CHUNK_SIZE * RP_FD_MAP_CHUNKS)
        return NULL;
    unsigned index = (unsigned)fd >> RP_FD_MAP_CHUNK_BITS;
    char *chunk = rp_atomic_load_acquire(&map->chunks[index]);
    if (chunk == NULL) {
        if (!create)
            return NULL;
        /* Mapped, not malloc'ed: the server thread that first touches an
         * fd range would otherwise get a malloc arena of its own (glibc
         * makes one for a thread's first allocation), and the kernel's
         * zeroed pages stay out of memory until an fd in them is used. */
        size_t size = FD_MAP_CHUNK_SIZE * map->entry_size;
        char *fresh = mmap(NULL, size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (fresh == MAP_FAILED)
            return NULL;
        void *expected = NULL;
        if (rp_atomic_cas_acq_rel(&map->chunks[index], &expected, fresh))
            chunk = fresh;
        else {
            munmap(fresh, size); /* another thread made it first */
            chunk = expected;
        }
    }
    return chunk + ((unsigned)fd & (FD_MAP_CHUNK_SIZE - 1)) * map->entry_size;
}

void rp_fd_map_visit(struct rp_fd_map *map, void (*visit)(void *entry))
{
    for (unsigned i = 0; i < RP_FD_MAP_CHUNKS; i++) {
        char *chunk = map->chunks[i];
        for (unsigned j = 0; chunk != NULL && j < FD_MAP_CHUNK_SIZE; j++)
            visit(chunk + j * map->entry_size);
    }
}
