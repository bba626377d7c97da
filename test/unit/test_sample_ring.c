/*
 * Unit tests of the sample ring (preload/sample_ring.h): records of any
 * size come out whole and in order, across the ring's end many times over;
 * a full ring drops and the next record reports the drops; a commit gives
 * back the room its record did not use; nested reservations come out in
 * ring order once the outer one commits; and an empty ring takes
 * RP_RING_RECORDS_MIN of the deepest records wherever it starts; and a
 * signal handler that records at any instruction of the thread's own
 * reserve or commit loses nothing and publishes nothing half-written.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "sample_ring.h"
#include "unit.h"

static struct rp_sample_ring ring;

/* Empties the ring at position start (as if that much had gone through):
 * a multiple of 8, as every position is. */
static void ring_reset(uint32_t start)
{
    memset(&ring, 0, sizeof ring);
    ring.head = ring.tail = ring.reserved = start;
}

/* Fills a reserved record with frame_count frames whose contents follow
 * from id. */
static void record_fill(struct rp_record *record, uint64_t id, unsigned frame_count)
{
    record->kind = RP_RECORD_STACK;
    record->request_id = id;
    record->value = id * 3;
    record->frame_count = (uint16_t)frame_count;
    for (unsigned i = 0; i < frame_count; i++)
        record->frames[i] = (void *)(uintptr_t)(id * 1000 + i);
}

/* Writes a record as record_fill fills it; false when the ring is full. */
static bool ring_put(uint64_t id, unsigned frame_count)
{
    struct rp_record *record = rp_ring_reserve(&ring, frame_count);
    if (record == NULL)
        return false;
    record_fill(record, id, frame_count);
    rp_ring_commit(&ring, record);
    return true;
}

/* Reads the next record and checks it is the one ring_put(id, frames) wrote. */
static void ring_expect(uint64_t id, unsigned frame_count)
{
    const struct rp_record *record = rp_ring_peek(&ring);
    EXPECT_TRUE(record != NULL);
    if (record == NULL)
        return;
    EXPECT_INT_EQ(id, record->request_id);
    EXPECT_INT_EQ(id * 3, record->value);
    EXPECT_INT_EQ(frame_count, record->frame_count);
    EXPECT_INT_EQ(RP_RECORD_SIZE(frame_count), record->size);
    for (unsigned i = 0; i < record->frame_count; i++)
        if ((uintptr_t)record->frames[i] != id * 1000 + i) {
            UNIT_FAIL_AT("record %llu frame %u: %p", (unsigned long long)id, i,
                         record->frames[i]);
            break;
        }
    rp_ring_pop(&ring);
}

UNIT_TEST(records_of_different_sizes_come_out_in_order)
{
    ring_reset(0);
    unsigned sizes[] = {0, 1, 30, RP_STACK_MAX, 7, 0};
    for (unsigned i = 0; i < 6; i++)
        EXPECT_TRUE(ring_put(i + 1, sizes[i]));
    for (unsigned i = 0; i < 6; i++)
        ring_expect(i + 1, sizes[i]);
    EXPECT_TRUE(rp_ring_peek(&ring) == NULL);
}

UNIT_TEST(records_wrap_around_the_end_whole_many_times)
{
    /* Sizes that divide nothing, the ring kept about half full, for ten
     * times the ring's bytes; positions cross 2^32 on the way. */
    ring_reset((uint32_t)0 - RP_RING_BYTES * 3);
    uint64_t written = 0, read = 0;
    size_t bytes = 0;
    while (bytes < 10 * (size_t)RP_RING_BYTES) {
        unsigned frames = (unsigned)(written * 37 % (RP_STACK_MAX + 1));
        EXPECT_TRUE(ring_put(written + 1, frames));
        bytes += RP_RECORD_SIZE(frames);
        written++;
        if (ring.head - ring.tail > RP_RING_BYTES / 2)
            while (read < written - 3) {
                ring_expect(read + 1, (unsigned)(read * 37 % (RP_STACK_MAX + 1)));
                read++;
            }
    }
    while (read < written) {
        ring_expect(read + 1, (unsigned)(read * 37 % (RP_STACK_MAX + 1)));
        read++;
    }
    EXPECT_TRUE(rp_ring_peek(&ring) == NULL);
    EXPECT_INT_EQ(0, ring.pending_drops);
}

UNIT_TEST(a_full_ring_drops_and_the_next_record_counts_them)
{
    ring_reset(0);
    uint64_t kept = 0;
    while (ring_put(kept + 1, 30))
        kept++;
    EXPECT_TRUE(kept * RP_RECORD_SIZE(30) > RP_RING_BYTES - RP_RECORD_SIZE(30));
    EXPECT_TRUE(!ring_put(1000, 30));
    uint32_t dropped = ring.pending_drops;
    EXPECT_INT_EQ(2, dropped);
    /* The writer reads one record; the next one written reports the drops. */
    ring_expect(1, 30);
    EXPECT_TRUE(ring_put(2000, 30));
    for (uint64_t id = 2; id <= kept; id++)
        ring_expect(id, 30);
    const struct rp_record *record = rp_ring_peek(&ring);
    EXPECT_TRUE(record != NULL && record->request_id == 2000);
    EXPECT_INT_EQ(dropped, record != NULL ? record->dropped : 0);
    rp_ring_pop(&ring);
    EXPECT_INT_EQ(0, ring.pending_drops);
}

UNIT_TEST(a_commit_gives_back_the_room_its_record_did_not_use)
{
    /* Room for the deepest stack is reserved, a short one is committed:
     * the next record starts right after it. */
    ring_reset(0);
    struct rp_record *record = rp_ring_reserve(&ring, RP_STACK_MAX);
    record_fill(record, 1, 2);
    rp_ring_commit(&ring, record);
    EXPECT_INT_EQ(RP_RECORD_SIZE(2), ring.head);
    EXPECT_TRUE(ring_put(2, 5));
    EXPECT_INT_EQ(RP_RECORD_SIZE(2) + RP_RECORD_SIZE(5), ring.head);
    ring_expect(1, 2);
    ring_expect(2, 5);
}

UNIT_TEST(a_nested_record_comes_out_once_the_outer_one_commits)
{
    /* 16 bytes are left after the outer record: the inner one starts over
     * at the ring's start, after padding. */
    ring_reset(RP_RING_BYTES - RP_RECORD_SIZE(3) - 16);
    struct rp_record *outer = rp_ring_reserve(&ring, 3);
    /* A server's signal handler records while the outer is being filled. */
    EXPECT_TRUE(ring_put(2, 40));
    EXPECT_TRUE(rp_ring_peek(&ring) == NULL);
    record_fill(outer, 1, 3);
    rp_ring_commit(&ring, outer);
    ring_expect(1, 3);
    ring_expect(2, 40);
    EXPECT_TRUE(rp_ring_peek(&ring) == NULL);
}

UNIT_TEST(an_outer_record_followed_by_a_nested_one_keeps_its_room)
{
    ring_reset(0);
    struct rp_record *outer = rp_ring_reserve(&ring, RP_STACK_MAX);
    EXPECT_TRUE(ring_put(2, 1));
    record_fill(outer, 1, 4);
    rp_ring_commit(&ring, outer);
    /* It cannot shrink past the nested record: its size stays the room. */
    const struct rp_record *record = rp_ring_peek(&ring);
    EXPECT_TRUE(record != NULL && record->size == RP_RECORD_SIZE_MAX);
    EXPECT_INT_EQ(4, record != NULL ? record->frame_count : 0);
    rp_ring_pop(&ring);
    ring_expect(2, 1);
}

UNIT_TEST(an_empty_ring_takes_the_promised_deepest_records_wherever_it_starts)
{
    for (uint32_t start = 0; start < RP_RING_BYTES; start += 8) {
        ring_reset(start);
        unsigned kept = 0;
        while (ring_put(kept + 1, RP_STACK_MAX))
            kept++;
        if (kept < RP_RING_RECORDS_MIN) {
            UNIT_FAIL_AT("starting at %u: %u deepest records, %u promised", start,
                         kept, (unsigned)RP_RING_RECORDS_MIN);
            break;
        }
    }
}

/* Ids of the records a signal handler writes, above the thread's own. */
#define HANDLER_IDS (UINT64_C(1) << 40)

static volatile sig_atomic_t handler_records, handler_full;

/* A server's signal handler that calls into reqprof, which records. */
static void record_from_handler(int signal_number)
{
    (void)signal_number;
    if (ring_put(HANDLER_IDS + (uint64_t)handler_records, 1))
        handler_records++;
    else
        handler_full = 1;
}

static volatile bool interrupting;

/* Interrupts the thread over and over while it records. */
static void *interrupt_thread(void *target)
{
    while (interrupting)
        pthread_kill(*(pthread_t *)target, SIGUSR1);
    return NULL;
}

/* Reads every published record: false at one ring_put did not write
 * whole. Counts the records of the thread's and of its handler. */
static bool ring_drain(uint64_t *own, uint64_t *handlers)
{
    const struct rp_record *record;
    while ((record = rp_ring_peek(&ring)) != NULL) {
        uint64_t id = record->request_id;
        bool whole = record->value == id * 3 && record->frame_count <= 4 &&
                     record->size >= RP_RECORD_SIZE(record->frame_count);
        for (unsigned i = 0; whole && i < record->frame_count; i++)
            whole = (uintptr_t)record->frames[i] == id * 1000 + i;
        if (!whole)
            return false;
        if (id >= HANDLER_IDS)
            (*handlers)++;
        else
            (*own)++;
        rp_ring_pop(&ring);
    }
    return true;
}

UNIT_TEST(a_handler_recording_inside_a_reserve_or_commit_loses_nothing)
{
    ring_reset(0);
    handler_records = 0;
    handler_full = 0;
    struct sigaction action = {.sa_handler = record_from_handler};
    sigaction(SIGUSR1, &action, NULL);
    pthread_t self = pthread_self(), interrupter;
    interrupting = true;
    EXPECT_TRUE(pthread_create(&interrupter, NULL, interrupt_thread, &self) == 0);
    uint64_t own = 0, handlers = 0, written = 0;
    bool whole = true;
    /* Until the handler has interrupted often enough (on a loaded machine
     * the interrupter may wait long for a core), within 20 s. */
    time_t give_up = time(NULL) + 20;
    for (uint64_t id = 1; whole && (id <= 2000000 || (handler_records <= 1000 &&
                                                     (id % 65536 != 0 || time(NULL) < give_up)));
         id++) {
        if (ring_put(id, (unsigned)(id % 5)))
            written++;
        whole = ring_drain(&own, &handlers);
    }
    interrupting = false;
    pthread_join(interrupter, NULL);
    signal(SIGUSR1, SIG_DFL);
    whole = whole && ring_drain(&own, &handlers);
    EXPECT_TRUE(whole);
    EXPECT_TRUE(handler_full == 0);
    EXPECT_INT_EQ(written, own);
    EXPECT_INT_EQ(handler_records, handlers);
    EXPECT_TRUE(handler_records > 100); /* the handler did interrupt */
}

int main(void)
{
    UNIT_RUN(records_of_different_sizes_come_out_in_order);
    UNIT_RUN(records_wrap_around_the_end_whole_many_times);
    UNIT_RUN(a_full_ring_drops_and_the_next_record_counts_them);
    UNIT_RUN(a_commit_gives_back_the_room_its_record_did_not_use);
    UNIT_RUN(a_nested_record_comes_out_once_the_outer_one_commits);
    UNIT_RUN(an_outer_record_followed_by_a_nested_one_keeps_its_room);
    UNIT_RUN(an_empty_ring_takes_the_promised_deepest_records_wherever_it_starts);
    UNIT_RUN(a_handler_recording_inside_a_reserve_or_commit_loses_nothing);
    return unit_finish();
}
