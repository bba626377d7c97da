/*
 * A thread's samples on their way to the writer thread.
 *
 * One ring per server thread, single producer (that thread: its signal
 * handler, or reqprof's own bookkeeping in its interposed calls) and single
 * consumer (the writer thread). Records take the room their stack needs,
 * not the deepest stack's: the producer reserves room for a record, fills
 * it in place, and the commit keeps only what it holds. When the ring is
 * full the record is dropped and counted, because a server thread must
 * never wait for us; nothing here allocates or locks, so the signal handler
 * may use it.
 *
 * Reservations nest: a server's signal handler may call into reqprof (and
 * record) while the thread it interrupted holds a reservation. The inner
 * record goes after the outer one, and both are published when the outer
 * commits, in ring order. The sampling handler itself never nests (the
 * thread's busy count keeps it out of a reservation in progress, and it
 * blocks every signal while it runs).
 */
#ifndef REQPROF_SAMPLE_RING_H
#define REQPROF_SAMPLE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"

/* Deepest stack kept; deeper stacks lose their outermost frames. */
#define RP_STACK_MAX 128

enum rp_record_kind {
    RP_RECORD_STACK,   /* a stack sample of the thread's current request */
    RP_RECORD_CPU,     /* CPU time the thread spent on a request */
    RP_RECORD_LOST,    /* the request ended but the finish queue was full:
                        * it gets no report, and its samples can go */
    RP_RECORD_PADDING, /* ring-internal: the ring's end, too short for the
                        * record that follows it at the ring's start */
    RP_RECORD_DEFERRED, /* a stack sample of an event loop's thread on no
                         * request yet: request_id holds the thread's
                         * stretch number, which a RESOLVED record names */
    RP_RECORD_RESOLVED, /* the stretch numbered value ended: its DEFERRED
                         * samples are request_id's (0: no request's) */
    RP_RECORD_WAIT,     /* a call of request_id's on one of its upstreams
                         * (peer_wait.h): value is the nanoseconds it
                         * blocked; its peer, kind and bytes are in the
                         * frames' room */
};

/* One record: this header, then frame_count frames. */
struct rp_record {
    uint32_t size;        /* bytes, header and frames: a multiple of 8 */
    uint16_t kind;        /* enum rp_record_kind */
    uint16_t frame_count; /* frames held, innermost first */
    uint32_t dropped;     /* records lost on this thread just before this */
    bool truncated;       /* the stack was deeper than RP_STACK_MAX */
    uint16_t cpu_value;   /* STACK, DEFERRED: of value's intervals,
                           * those the thread ran; it waited the others
                           * (blocked in a call, or ready to run but not
                           * running). In the header's padding: it takes
                           * no room of the ring's */
    uint64_t request_id;  /* the request this belongs to */
    uint64_t value;       /* STACK: weight in intervals; CPU: nanoseconds */
    uint64_t time_ns;     /* STACK: CLOCK_MONOTONIC when it was taken */
    void *frames[];
};

#define RP_RECORD_SIZE(frame_count) \
    (sizeof(struct rp_record) + (size_t)(frame_count) * sizeof(void *))
#define RP_RECORD_SIZE_MAX RP_RECORD_SIZE(RP_STACK_MAX)

/* Bytes per ring: a power of two. A record of 30 frames takes 280 bytes. */
#define RP_RING_BYTES 32768u
/* Records of the deepest stacks an empty ring takes, wherever it starts:
 * the writer comes round before a thread can record a quarter of that
 * many (writer.c). One record's room is lost to padding at the wrap. */
#define RP_RING_RECORDS_MIN ((RP_RING_BYTES - RP_RECORD_SIZE_MAX) / RP_RECORD_SIZE_MAX)

struct rp_sample_ring {
    uint32_t head; /* published up to here; only the producer stores */
    uint32_t tail; /* read up to here; only the consumer stores */
    /* Producer-only. */
    uint32_t reserved;      /* reservations reach up to here; head when
                             * none is open */
    uint32_t nesting;       /* reservations open */
    uint32_t pending_drops; /* drops not yet reported in a record */
    /* Positions above are byte counts that wrap at 2^32, multiples of 8
     * (record sizes are), so padding always has room for its header; a
     * record lies at position % RP_RING_BYTES, whole. */
    _Alignas(8) unsigned char bytes[RP_RING_BYTES];
};

static inline struct rp_record *rp_ring_at(struct rp_sample_ring *ring, uint32_t position)
{
    return (struct rp_record *)(void *)&ring->bytes[position % RP_RING_BYTES];
}

/*
 * A server's signal handler may record at any instruction of the two
 * producer calls below, and runs to its end before the thread goes on.
 * So each shared step is one instruction (an atomic read-modify-write):
 * the thread counts its reservation open before it takes room (a
 * handler's commit then publishes nothing of it), takes the room with a
 * compare-and-swap (a handler's record never lands in it), and moves
 * head only forward (a handler may have published further meanwhile).
 */

/* Producer: closes a reservation (or an attempt at one), and publishes
 * everything reserved once none is open. */
static inline void rp_ring_close(struct rp_sample_ring *ring)
{
    rp_signal_fence();
    if (rp_atomic_sub_fetch_relaxed(&ring->nesting, 1) != 0)
        return;
    uint32_t reserved = rp_atomic_load_relaxed(&ring->reserved);
    uint32_t head = rp_atomic_load_relaxed(&ring->head);
    while ((int32_t)(reserved - head) > 0 &&
           !rp_atomic_cas_release(&ring->head, &head, reserved))
        ;
}

/*
 * Producer: room for a record of up to frame_count frames, or NULL (and a
 * drop counted) when the ring is full. Async-signal-safe.
 */
static inline struct rp_record *rp_ring_reserve(struct rp_sample_ring *ring,
                                                unsigned frame_count)
{
    uint32_t size = (uint32_t)RP_RECORD_SIZE(frame_count);
    rp_atomic_add_fetch_relaxed(&ring->nesting, 1);
    rp_signal_fence();
    uint32_t start = rp_atomic_load_relaxed(&ring->reserved);
    uint32_t padding;
    do {
        uint32_t tail = rp_atomic_load_acquire(&ring->tail);
        /* A record is never split: if it does not fit before the ring's
         * end, that end becomes padding and the record starts over at
         * offset 0. */
        uint32_t room_to_end = RP_RING_BYTES - start % RP_RING_BYTES;
        padding = size > room_to_end ? room_to_end : 0;
        if (start + padding + size - tail > RP_RING_BYTES) {
            rp_atomic_add_fetch_relaxed(&ring->pending_drops, 1);
            rp_ring_close(ring);
            return NULL;
        }
    } while (!rp_atomic_cas_relaxed(&ring->reserved, &start, start + padding + size));
    if (padding > 0) {
        struct rp_record *pad = rp_ring_at(ring, start);
        pad->size = padding;
        pad->kind = RP_RECORD_PADDING;
    }
    struct rp_record *record = rp_ring_at(ring, start + padding);
    record->size = size;
    return record;
}

/*
 * Producer: publishes the record rp_ring_reserve returned, with its
 * frame_count set; the room for frames it does not hold goes back to the
 * ring unless a nested reservation follows it. Async-signal-safe.
 */
static inline void rp_ring_commit(struct rp_sample_ring *ring, struct rp_record *record)
{
    uint32_t reserved = rp_atomic_load_relaxed(&ring->reserved);
    uint32_t start = reserved - record->size;
    uint32_t used = (uint32_t)RP_RECORD_SIZE(record->frame_count);
    if (rp_ring_at(ring, start) == record && /* nothing reserved after it */
        rp_atomic_cas_relaxed(&ring->reserved, &reserved, start + used))
        record->size = used;
    record->dropped = rp_atomic_exchange_relaxed(&ring->pending_drops, 0);
    rp_ring_close(ring);
}

/* Consumer: the oldest unread record, or NULL when the ring is empty. */
static inline const struct rp_record *rp_ring_peek(struct rp_sample_ring *ring)
{
    uint32_t head = rp_atomic_load_acquire(&ring->head);
    while (ring->tail != head) {
        const struct rp_record *record = rp_ring_at(ring, ring->tail);
        if (record->kind != RP_RECORD_PADDING)
            return record;
        rp_atomic_store_release(&ring->tail, ring->tail + record->size);
    }
    return NULL;
}

/* Consumer: releases the record rp_ring_peek returned. */
static inline void rp_ring_pop(struct rp_sample_ring *ring)
{
    uint32_t size = rp_ring_at(ring, ring->tail)->size;
    rp_atomic_store_release(&ring->tail, ring->tail + size);
}

#endif
