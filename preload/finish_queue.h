/*
 * Finished requests on their way from server threads to the writer.
 *
 * A bounded multi-producer, single-consumer queue of variable-length
 * records: a request takes the room its own target needs, about 100 bytes
 * for most rather than a cell sized for the longest, so the queue holds
 * some 10,000 requests in 1 MiB (2,000 of the longest). A push is a
 * compare-and-swap and a copy, never a wait. When the writer falls that
 * far behind, the push fails and the caller counts the request as lost.
 */
#ifndef REQPROF_FINISH_QUEUE_H
#define REQPROF_FINISH_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

/* The queue's size: a power of two, ~10,000 requests of usual targets. */
#define RP_FINISH_QUEUE_BYTES (1u << 20)

/* A finished request as the writer gets it: what its index line and its
 * report say, without the parsing state. */
struct rp_finished {
    uint64_t id;             /* process-unique, never 0 */
    uint64_t start_ns;       /* CLOCK_MONOTONIC at the first byte */
    uint64_t end_ns;         /* CLOCK_MONOTONIC at the last byte out */
    uint64_t request_bytes;  /* size of the request message */
    uint64_t response_bytes; /* size of the response message */
    uint64_t final_cpu_ns;   /* the ending thread's CPU time (request.h) */
    bool final_cpu_measured; /* final_cpu_ns was measured */
    int status;              /* response status; 0: none */
    char method[RP_HTTP_METHOD_MAX]; /* NUL-terminated; "" if never parsed */
    uint16_t path_length;    /* bytes in path, without its NUL */
    /* The request target, NUL-terminated. Last: in the queue a record
     * holds only path_length + 1 bytes of it. */
    char path[RP_HTTP_TARGET_MAX];
};

/* Any thread: queues request. False when the queue is full. */
bool rp_finish_queue_push(const struct rp_request *request);

/* Bytes of requests queued and not yet released by the writer: how far
 * behind it is. */
size_t rp_finish_queue_backlog(void);

/* Where the next push goes, as a position that only grows: the writer has
 * seen every request pushed before a mark once rp_finish_queue_released
 * reaches it. */
size_t rp_finish_queue_mark(void);
size_t rp_finish_queue_released(void);

/*
 * Writer only: the oldest request not yet taken, or NULL. It stays in the
 * queue's memory, unchanged, until rp_finish_queue_release; the writer
 * takes a batch, drains the sample rings, then reports the batch.
 */
const struct rp_finished *rp_finish_queue_take(void);

/* Writer only: frees the room of every request taken so far. */
void rp_finish_queue_release(void);

/* Empties the queue: at load, and in a fork child (the parent's writer
 * owns what the parent queued). */
void rp_finish_queue_init(void);

#endif
