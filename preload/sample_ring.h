/*
 * A thread's samples on their way to the writer thread.
 *
 * One ring per server thread, single producer (that thread: its signal
 * handler, or reqprof's own bookkeeping in its interposed calls, never both
 * at once) and single consumer (the writer thread). Slots have a fixed size
 * so the producer never allocates; when the ring is full the sample is
 * dropped and counted, because a server thread must never wait for us.
 */
#ifndef REQPROF_SAMPLE_RING_H
#define REQPROF_SAMPLE_RING_H

#include <stdbool.h>
#include <stdint.h>

/* Deepest stack kept; deeper stacks lose their outermost frames. */
#define RP_STACK_MAX 128
/* Slots per ring. The writer drains well before a ring of 128 fills at
 * the finest interval. */
#define RP_RING_SLOTS 128

enum rp_record_kind {
    RP_RECORD_STACK, /* a stack sample of the thread's current request */
    RP_RECORD_CPU,   /* CPU time the thread spent on a request */
};

/* One slot. */
struct rp_record {
    uint64_t request_id;  /* the request this belongs to */
    uint64_t value;       /* STACK: weight in intervals; CPU: nanoseconds */
    uint64_t time_ns;     /* STACK: CLOCK_MONOTONIC when it was taken */
    uint32_t kind;        /* enum rp_record_kind */
    uint32_t dropped;     /* samples lost on this thread just before this */
    uint16_t first_frame; /* index of the interrupted frame in frames */
    uint16_t frame_count; /* frames[first_frame .. frame_count) are valid */
    bool truncated;       /* the stack was deeper than the buffer */
    void *frames[RP_STACK_MAX]; /* innermost first */
};

struct rp_sample_ring {
    uint32_t head;          /* next slot to write; only the producer stores */
    uint32_t tail;          /* next slot to read; only the consumer stores */
    uint32_t pending_drops; /* producer-only: drops not yet reported */
    struct rp_record slots[RP_RING_SLOTS];
};

/*
 * Producer: returns the slot to fill, or NULL (and counts a drop) when the
 * ring is full. Async-signal-safe.
 */
static inline struct rp_record *rp_ring_reserve(struct rp_sample_ring *ring)
{
    uint32_t head = ring->head;
    uint32_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    if (head - tail >= RP_RING_SLOTS) {
        ring->pending_drops++;
        return NULL;
    }
    return &ring->slots[head % RP_RING_SLOTS];
}

/* Producer: publishes the slot rp_ring_reserve returned. */
static inline void rp_ring_commit(struct rp_sample_ring *ring,
                                  struct rp_record *record)
{
    record->dropped = ring->pending_drops;
    ring->pending_drops = 0;
    __atomic_store_n(&ring->head, ring->head + 1, __ATOMIC_RELEASE);
}

/* Consumer: the oldest unread record, or NULL when the ring is empty. */
static inline const struct rp_record *rp_ring_peek(struct rp_sample_ring *ring)
{
    uint32_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
    if (head == ring->tail)
        return NULL;
    return &ring->slots[ring->tail % RP_RING_SLOTS];
}

/* Consumer: releases the record rp_ring_peek returned. */
static inline void rp_ring_pop(struct rp_sample_ring *ring)
{
    __atomic_store_n(&ring->tail, ring->tail + 1, __ATOMIC_RELEASE);
}

#endif
