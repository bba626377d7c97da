/*
 * Tests of preload/finish_queue.c, the library's own object: requests come
 * out whole and in order, across the ring's end, from many threads at
 * once, and a full queue refuses rather than waits.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "finish_queue.h"
#include "unit.h"

/* A request whose fields all derive from id, with a target of
 * path_length bytes: what comes out can be checked against its id. */
static struct rp_request request_of(uint64_t id, size_t path_length)
{
    struct rp_request request = {.id = id, .status = (int)(id % 600), .start_ns = id * 3,
                                 .end_ns = id * 5, .request_bytes = id * 7,
                                 .response_bytes = id * 11,
                                 .final_cpu = {id * 13, id % 2 == 0}};
    snprintf(request.method, sizeof request.method, "M%u", (unsigned)(id % 1000));
    if (path_length > sizeof request.path - 1)
        path_length = sizeof request.path - 1;
    for (size_t i = 0; i < path_length; i++)
        request.path[i] = (char)('a' + (id + i) % 26);
    request.path[path_length] = '\0';
    return request;
}

/* Whether finished is, field for field, request_of(its id, path_length). */
static bool is_whole(const struct rp_finished *finished, size_t path_length)
{
    struct rp_request expected = request_of(finished->id, path_length);
    return finished->status == expected.status && finished->start_ns == expected.start_ns &&
           finished->end_ns == expected.end_ns &&
           finished->request_bytes == expected.request_bytes &&
           finished->response_bytes == expected.response_bytes &&
           finished->final_cpu_ns == expected.final_cpu.ns &&
           finished->final_cpu_measured == expected.final_cpu.measured &&
           strcmp(finished->method, expected.method) == 0 &&
           finished->path_length == strlen(expected.path) &&
           strcmp(finished->path, expected.path) == 0;
}

/* Target lengths that vary, so records cross the ring's end at every
 * offset: 0 to the longest. */
static size_t path_length_of(uint64_t id)
{
    return (size_t)(id * 37 % HTTP_TARGET_MAX);
}

UNIT_TEST(requests_come_out_whole_and_in_order_across_the_rings_end)
{
    rp_finish_queue_init();
    uint64_t next_out = 1;
    /* Some 40 rings' worth, taken in batches as the writer does. */
    for (uint64_t id = 1; id <= 200000; id++) {
        struct rp_request request = request_of(id, path_length_of(id));
        EXPECT_TRUE(rp_finish_queue_push(&request));
        if (id % 97 != 0)
            continue;
        const struct rp_finished *finished;
        while ((finished = rp_finish_queue_take()) != NULL) {
            if (finished->id != next_out || !is_whole(finished, path_length_of(next_out))) {
                EXPECT_INT_EQ(next_out, finished->id);
                EXPECT_TRUE(is_whole(finished, path_length_of(finished->id)));
                return;
            }
            next_out++;
        }
        rp_finish_queue_release();
        EXPECT_INT_EQ(0, rp_finish_queue_backlog());
    }
}

UNIT_TEST(a_full_queue_refuses_and_takes_again_once_released)
{
    rp_finish_queue_init();
    uint64_t pushed = 0;
    for (;;) {
        struct rp_request request = request_of(pushed + 1, HTTP_TARGET_MAX);
        if (!rp_finish_queue_push(&request))
            break;
        pushed++;
    }
    /* The longest targets: some 2,000 (finish_queue.h). */
    EXPECT_TRUE(pushed > 1000 && pushed < 4000);
    EXPECT_TRUE(rp_finish_queue_backlog() <= RP_FINISH_QUEUE_BYTES);
    /* Taken but not released: still no room. */
    size_t mark = rp_finish_queue_mark();
    uint64_t taken = 0;
    while (rp_finish_queue_take() != NULL)
        taken++;
    EXPECT_INT_EQ(pushed, taken);
    struct rp_request more = request_of(pushed + 1, HTTP_TARGET_MAX);
    EXPECT_TRUE(!rp_finish_queue_push(&more));
    rp_finish_queue_release();
    EXPECT_TRUE(rp_finish_queue_released() >= mark);
    EXPECT_TRUE(rp_finish_queue_push(&more));
    const struct rp_finished *finished = rp_finish_queue_take();
    EXPECT_TRUE(finished != NULL && finished->id == pushed + 1 &&
                is_whole(finished, HTTP_TARGET_MAX));
}

#define PRODUCERS 4
#define PER_PRODUCER 200000

/* Pushes its share of ids (producer + 1 + k * PRODUCERS), retrying while
 * the queue is full, as no server thread does: here nothing may be lost. */
static void *produce(void *argument)
{
    uint64_t producer = (uint64_t)(uintptr_t)argument;
    for (uint64_t k = 0; k < PER_PRODUCER; k++) {
        uint64_t id = producer + 1 + k * PRODUCERS;
        struct rp_request request = request_of(id, path_length_of(id));
        while (!rp_finish_queue_push(&request))
            sched_yield();
    }
    return NULL;
}

UNIT_TEST(many_threads_pushing_at_once_lose_and_tear_nothing)
{
    rp_finish_queue_init();
    static unsigned char seen[PRODUCERS * PER_PRODUCER + 1];
    memset(seen, 0, sizeof seen);
    pthread_t producers[PRODUCERS];
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        EXPECT_TRUE(pthread_create(&producers[i], NULL, produce, (void *)i) == 0);
    uint64_t taken = 0, torn = 0, twice = 0;
    /* Each producer's ids come out in its own order. */
    uint64_t last_of[PRODUCERS] = {0};
    uint64_t out_of_order = 0;
    while (taken < (uint64_t)PRODUCERS * PER_PRODUCER) {
        const struct rp_finished *finished;
        while ((finished = rp_finish_queue_take()) != NULL) {
            uint64_t id = finished->id;
            if (id == 0 || id > PRODUCERS * PER_PRODUCER ||
                !is_whole(finished, path_length_of(id))) {
                torn++;
                continue;
            }
            twice += seen[id]++;
            unsigned producer = (unsigned)((id - 1) % PRODUCERS);
            out_of_order += id < last_of[producer];
            last_of[producer] = id;
            taken++;
        }
        rp_finish_queue_release();
        if (torn != 0)
            break;
        sched_yield();
    }
    for (unsigned i = 0; i < PRODUCERS; i++)
        pthread_join(producers[i], NULL);
    EXPECT_INT_EQ(0, torn);
    EXPECT_INT_EQ(0, twice);
    EXPECT_INT_EQ(0, out_of_order);
    EXPECT_INT_EQ((uint64_t)PRODUCERS * PER_PRODUCER, taken);
}

int main(void)
{
    UNIT_RUN(requests_come_out_whole_and_in_order_across_the_rings_end);
    UNIT_RUN(a_full_queue_refuses_and_takes_again_once_released);
    UNIT_RUN(many_threads_pushing_at_once_lose_and_tear_nothing);
    return unit_finish();
}
