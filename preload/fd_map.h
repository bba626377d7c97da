/*
 * A map from fd numbers to fixed-size entries, for state reqprof keeps per
 * fd (the connection table, followed upstream sockets).
 *
 * Two levels: fds up to 2^20 in chunks of 1024 entries, each chunk made on
 * first use and never freed, so an entry's address is stable and a lookup
 * of an fd nobody touched is two loads. Entries start zeroed; what they
 * hold and how it is synchronised is the user's business.
 */
#ifndef REQPROF_FD_MAP_H
#define REQPROF_FD_MAP_H

#include <stdbool.h>
#include <stddef.h>

#define RP_FD_MAP_CHUNK_BITS 10
#define RP_FD_MAP_CHUNKS 1024u

struct rp_fd_map {
    size_t entry_size;               /* bytes per entry */
    void *chunks[RP_FD_MAP_CHUNKS];  /* published with release stores */
};

/* A map of entries of type `type`, for a static initializer. */
#define RP_FD_MAP_INIT(type) {.entry_size = sizeof(type)}

/*
 * The entry of fd, or NULL when fd is out of range or its chunk does not
 * exist (create = false) or could not be allocated (create = true).
 */
void *rp_fd_map_entry(struct rp_fd_map *map, int fd, bool create);

/* Calls visit on every entry that exists (in a fork child, where no other
 * thread runs; async-signal-safe if visit is). */
void rp_fd_map_visit(struct rp_fd_map *map, void (*visit)(void *entry));

#endif
