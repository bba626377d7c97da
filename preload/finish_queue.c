/*
 * The queue of finished requests; see finish_queue.h.
 *
 * A ring of bytes. A producer reserves its record's room by moving
 * finish_reserved on with a compare-and-swap, writes the record, then
 * publishes it by storing its size in the record's header (release). The
 * writer reads records in order and stops at a header that is still 0: a
 * record reserved but not yet written. It zeroes the bytes it is done with
 * before it gives them back, so every header not yet published reads 0.
 * A record never wraps around the ring's end: one that would is preceded
 * by a padding record up to the end.
 */
#include "finish_queue.h"

#include <stddef.h>
#include <string.h>

#include "atomic.h"

/* Records start on this boundary, so their 64-bit fields are aligned. */
#define FINISH_ALIGN 8u

struct finish_header {
    uint32_t size;    /* bytes of the record, header included; 0: unpublished */
    uint32_t padding; /* nonzero: padding up to the ring's end, no request */
};

static unsigned char finish_ring[RP_FINISH_QUEUE_BYTES]
    __attribute__((aligned(64)));
/* Bytes ever reserved by producers; contended, so on a line of its own. */
static size_t finish_reserved __attribute__((aligned(64)));
/* Bytes ever given back by the writer; read by every push. */
static size_t finish_released __attribute__((aligned(64)));
/* Writer only: bytes taken, released or not. */
static size_t finish_taken;

static struct finish_header *finish_header_at(size_t position)
{
    return (struct finish_header *)&finish_ring[position & (RP_FINISH_QUEUE_BYTES - 1)];
}

/* Room of a record whose target is path_length bytes. */
static size_t finish_record_size(size_t path_length)
{
    size_t size = sizeof(struct finish_header) +
                  offsetof(struct rp_finished, path) + path_length + 1;
    return (size + FINISH_ALIGN - 1) & ~(size_t)(FINISH_ALIGN - 1);
}

/* Reserves size bytes (and the padding before them, if they would cross
 * the ring's end); returns their position, or false when the queue is
 * full. */
static bool finish_reserve(size_t size, size_t *record_position)
{
    size_t position = rp_atomic_load_relaxed(&finish_reserved);
    size_t padding;
    for (;;) {
        size_t offset = position & (RP_FINISH_QUEUE_BYTES - 1);
        padding = offset + size > RP_FINISH_QUEUE_BYTES ? RP_FINISH_QUEUE_BYTES - offset : 0;
        size_t released = rp_atomic_load_acquire(&finish_released);
        /* released beyond position: position is stale, the CAS refreshes it. */
        if (released <= position &&
            position + padding + size - released > RP_FINISH_QUEUE_BYTES)
            return false;
        /* seq_cst: the writer reads the backlog after saying it naps, and a
         * push reads whether it naps after this (writer.c). */
        if (rp_atomic_cas_seq_cst(&finish_reserved, &position, position + padding + size))
            break;
    }
    if (padding > 0) {
        struct finish_header *header = finish_header_at(position);
        header->padding = 1;
        rp_atomic_store_release(&header->size, (uint32_t)padding);
    }
    *record_position = position + padding;
    return true;
}

bool rp_finish_queue_push(const struct rp_request *request)
{
    size_t path_length = strnlen(request->path, sizeof request->path - 1);
    size_t size = finish_record_size(path_length);
    size_t position;
    if (!finish_reserve(size, &position))
        return false;
    struct finish_header *header = finish_header_at(position);
    struct rp_finished *record = (struct rp_finished *)(header + 1);
    record->id = request->id;
    record->start_ns = request->start_ns;
    record->end_ns = request->end_ns;
    record->request_bytes = request->request_bytes;
    record->response_bytes = request->response_bytes;
    record->final_cpu_ns = request->final_cpu.ns;
    record->final_cpu_measured = request->final_cpu.measured;
    record->status = request->status;
    memcpy(record->method, request->method, sizeof record->method);
    record->method[sizeof record->method - 1] = '\0';
    record->path_length = (uint16_t)path_length;
    memcpy(record->path, request->path, path_length);
    record->path[path_length] = '\0';
    rp_atomic_store_release(&header->size, (uint32_t)size);
    return true;
}

size_t rp_finish_queue_backlog(void)
{
    return rp_atomic_load_seq_cst(&finish_reserved) -
           rp_atomic_load_relaxed(&finish_released);
}

size_t rp_finish_queue_mark(void)
{
    return rp_atomic_load_acquire(&finish_reserved);
}

size_t rp_finish_queue_released(void)
{
    return rp_atomic_load_acquire(&finish_released);
}

const struct rp_finished *rp_finish_queue_take(void)
{
    /* Past a full ring's worth, the header ahead is the oldest record's. */
    while (finish_taken - finish_released < RP_FINISH_QUEUE_BYTES) {
        struct finish_header *header = finish_header_at(finish_taken);
        uint32_t size = rp_atomic_load_acquire(&header->size);
        if (size == 0)
            return NULL;
        finish_taken += size;
        if (!header->padding)
            return (const struct rp_finished *)(header + 1);
    }
    return NULL;
}

/* Zeroes the bytes from position from to position to (a ring's worth at
 * most), across the ring's end if need be. */
static void finish_zero(size_t from, size_t to)
{
    size_t offset = from & (RP_FINISH_QUEUE_BYTES - 1);
    size_t length = to - from;
    size_t before_end = RP_FINISH_QUEUE_BYTES - offset;
    if (length > before_end) {
        memset(&finish_ring[0], 0, length - before_end);
        length = before_end;
    }
    memset(&finish_ring[offset], 0, length);
}

void rp_finish_queue_release(void)
{
    finish_zero(finish_released, finish_taken);
    rp_atomic_store_release(&finish_released, finish_taken);
}

void rp_finish_queue_init(void)
{
    /* Everything outside the queued bytes is zero already: zeroing them
     * zeroes the ring, and positions can start over. */
    finish_zero(finish_released, finish_reserved);
    finish_reserved = 0;
    finish_released = 0;
    finish_taken = 0;
}
