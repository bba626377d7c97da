/*
 * Tests of preload/pending.c: a connection's requests read ahead of their
 * responses, in order, in bounded room; those past the room counted in
 * their place, so that every response still finds its own request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"
#include "unit.h"

/* What a response does to the pending requests, as connection.c does it:
 * the id of the request it answered, or 0 when it answered one not
 * followed. */
static uint64_t pending_answer(struct rp_pending *pending, char *path)
{
    if (rp_pending_skip_response(pending))
        return 0;
    struct rp_request *answered = rp_pending_answered(pending);
    if (answered == NULL)
        return UINT64_MAX;
    uint64_t id = answered->id;
    if (path != NULL)
        strcpy(path, answered->path);
    rp_pending_remove_oldest(pending);
    return id;
}

/* A whole request read: begun, its head, its end. */
static bool pending_read(struct rp_pending *pending, uint64_t id,
                         const char *path)
{
    static const char get[RP_HTTP_METHOD_MAX] = "GET";
    if (!rp_pending_add(pending, id, id * 10))
        return false;
    rp_pending_reading_head(pending, get, path);
    rp_pending_reading_complete(pending, 100 + id);
    return true;
}

UNIT_TEST(test_one_request_at_a_time_takes_no_queue)
{
    struct rp_pending pending = {0};
    for (uint64_t id = 1; id <= 3; id++) {
        EXPECT_TRUE(pending_read(&pending, id, "/one"));
        EXPECT_TRUE(pending.bytes == NULL);
        EXPECT_INT_EQ(id, pending_answer(&pending, NULL));
    }
    EXPECT_TRUE(rp_pending_oldest(&pending) == NULL);
}

UNIT_TEST(test_a_thousand_pipelined_come_out_in_order)
{
    struct rp_pending pending = {0};
    char path[RP_HTTP_TARGET_MAX], expected[32];
    for (uint64_t id = 1; id <= 1000; id++) {
        snprintf(expected, sizeof expected, "/r?n=%llu", (unsigned long long)id);
        EXPECT_TRUE(pending_read(&pending, id, expected));
    }
    EXPECT_TRUE(rp_pending_contains(&pending, 1));
    EXPECT_TRUE(rp_pending_contains(&pending, 777));
    EXPECT_TRUE(!rp_pending_contains(&pending, 1001));
    for (uint64_t id = 1; id <= 1000; id++) {
        struct rp_request *oldest = rp_pending_oldest(&pending);
        EXPECT_INT_EQ(id * 10, oldest->start_ns);
        EXPECT_INT_EQ(100 + id, oldest->request_bytes);
        EXPECT_STR_EQ("GET", oldest->method);
        EXPECT_INT_EQ(id, pending_answer(&pending, path));
        snprintf(expected, sizeof expected, "/r?n=%llu", (unsigned long long)id);
        EXPECT_STR_EQ(expected, path);
    }
    EXPECT_TRUE(pending.bytes == NULL);
    EXPECT_INT_EQ(0, pending.count);
}

/* A client that keeps a hundred requests ahead for a long time: the
 * buffer stops growing, and each request comes out as it went in. */
UNIT_TEST(test_steady_pipelining_reuses_its_buffer)
{
    struct rp_pending pending = {0};
    char path[RP_HTTP_TARGET_MAX], expected[32];
    uint64_t next = 1, answered = 1;
    for (; next <= 100; next++)
        EXPECT_TRUE(pending_read(&pending, next, "/steady"));
    uint32_t capacity = 0;
    for (int i = 0; i < 100000; i++) {
        if (i == 1000)
            capacity = pending.capacity;
        snprintf(expected, sizeof expected, "/s?n=%llu", (unsigned long long)next);
        EXPECT_TRUE(pending_read(&pending, next++, expected));
        EXPECT_INT_EQ(answered, pending_answer(&pending, path));
        answered++;
    }
    EXPECT_INT_EQ(capacity, pending.capacity);
    EXPECT_TRUE(capacity <= 16384); /* ~4 KiB of records, kept under half */
    snprintf(expected, sizeof expected, "/s?n=%llu", (unsigned long long)answered);
    EXPECT_INT_EQ(answered, pending_answer(&pending, path));
    EXPECT_STR_EQ(expected, path);
    while (pending_answer(&pending, NULL) != UINT64_MAX)
        ;
}

/* Requests past the room are not followed, but their responses are passed
 * over in their place, and a request read once there is room again is
 * followed with its own response. */
UNIT_TEST(test_requests_past_the_room_keep_their_place)
{
    struct rp_pending pending = {0};
    static char long_path[RP_HTTP_TARGET_MAX];
    memset(long_path, 'p', sizeof long_path - 1);
    uint64_t id = 1, followed = 0;
    while (pending_read(&pending, id, long_path))
        id++, followed++;
    EXPECT_TRUE(followed > RP_PENDING_CONNECTION_BYTES / 600);
    EXPECT_TRUE(followed < RP_PENDING_CONNECTION_BYTES / 500);
    uint64_t first_unfollowed = id;
    EXPECT_TRUE(!pending_read(&pending, id + 1, "/x"));
    EXPECT_TRUE(!pending_read(&pending, id + 2, "/x"));
    EXPECT_TRUE(!rp_pending_contains(&pending, first_unfollowed));
    /* Two answers make room for one more. */
    EXPECT_INT_EQ(1, pending_answer(&pending, NULL));
    EXPECT_INT_EQ(2, pending_answer(&pending, NULL));
    EXPECT_TRUE(pending_read(&pending, 9999, "/after"));
    for (uint64_t answered = 3; answered <= followed; answered++)
        EXPECT_INT_EQ(answered, pending_answer(&pending, NULL));
    /* The three not followed, then the one read after them. */
    for (int i = 0; i < 3; i++) {
        EXPECT_TRUE(rp_pending_answered(&pending) == NULL);
        EXPECT_INT_EQ(0, pending_answer(&pending, NULL));
    }
    char path[RP_HTTP_TARGET_MAX];
    EXPECT_INT_EQ(9999, pending_answer(&pending, path));
    EXPECT_STR_EQ("/after", path);
    EXPECT_INT_EQ(UINT64_MAX, pending_answer(&pending, NULL));
    EXPECT_TRUE(pending.bytes == NULL);
}

/* The room is bounded for the whole process too. */
UNIT_TEST(test_room_is_bounded_for_the_process)
{
    enum { CONNECTIONS = RP_PENDING_PROCESS_BYTES / RP_PENDING_CONNECTION_BYTES + 2 };
    static struct rp_pending pending[CONNECTIONS];
    static char long_path[RP_HTTP_TARGET_MAX];
    memset(long_path, 'p', sizeof long_path - 1);
    uint64_t followed[CONNECTIONS] = {0}, id = 1;
    for (int c = 0; c < CONNECTIONS; c++)
        while (pending_read(&pending[c], id++, long_path))
            followed[c]++;
    size_t held = 0;
    for (int c = 0; c < CONNECTIONS; c++)
        held += pending[c].capacity;
    EXPECT_TRUE(held <= RP_PENDING_PROCESS_BYTES);
    EXPECT_TRUE(followed[CONNECTIONS - 1] < followed[0]);
    for (int c = 0; c < CONNECTIONS; c++) {
        while (pending_answer(&pending[c], NULL) != UINT64_MAX)
            ;
        EXPECT_TRUE(pending[c].bytes == NULL);
    }
    /* All given back: a connection gets its whole room again. */
    uint64_t again = 0;
    while (pending_read(&pending[0], id++, long_path))
        again++;
    EXPECT_INT_EQ(followed[0], again);
    while (pending_answer(&pending[0], NULL) != UINT64_MAX)
        ;
}

/* A request being read that turns out to be none (not HTTP after all) is
 * forgotten, queued or not; one answered before its head was read ends
 * there, and the rest of it is no one's. */
UNIT_TEST(test_request_being_read_dropped_or_answered_early)
{
    struct rp_pending pending = {0};
    EXPECT_TRUE(pending_read(&pending, 1, "/a"));
    EXPECT_TRUE(rp_pending_add(&pending, 2, 20));
    EXPECT_TRUE(rp_pending_contains(&pending, 2));
    rp_pending_reading_drop(&pending);
    EXPECT_TRUE(!rp_pending_contains(&pending, 2));
    EXPECT_TRUE(pending.bytes == NULL);
    EXPECT_TRUE(pending_read(&pending, 3, "/c"));
    char path[RP_HTTP_TARGET_MAX];
    EXPECT_INT_EQ(1, pending_answer(&pending, path));
    EXPECT_STR_EQ("/a", path);
    EXPECT_INT_EQ(3, pending_answer(&pending, path));
    EXPECT_STR_EQ("/c", path);

    EXPECT_TRUE(rp_pending_add(&pending, 4, 40));
    EXPECT_INT_EQ(4, pending_answer(&pending, NULL));
    static const char get[RP_HTTP_METHOD_MAX] = "GET";
    rp_pending_reading_head(&pending, get, "/late");
    rp_pending_reading_complete(&pending, 5);
    EXPECT_TRUE(rp_pending_oldest(&pending) == NULL);
    EXPECT_TRUE(pending_read(&pending, 5, "/next"));
    EXPECT_INT_EQ(5, pending_answer(&pending, path));
    EXPECT_STR_EQ("/next", path);
}

int main(void)
{
    UNIT_RUN(test_one_request_at_a_time_takes_no_queue);
    UNIT_RUN(test_a_thousand_pipelined_come_out_in_order);
    UNIT_RUN(test_steady_pipelining_reuses_its_buffer);
    UNIT_RUN(test_requests_past_the_room_keep_their_place);
    UNIT_RUN(test_room_is_bounded_for_the_process);
    UNIT_RUN(test_request_being_read_dropped_or_answered_early);
    return unit_finish();
}
