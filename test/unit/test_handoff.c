/*
 * Tests of preload/handoff.c, the library's own object, with the thread
 * and fd modules it calls stubbed: which request a woken thread takes up,
 * and when it lets it go. Each "thread" is a thread state the tests make
 * current in turn; objects are the addresses of local words.
 */
#include <stdlib.h>

#include "follow.h"
#include "handoff.h"
#include "interpose.h"
#include "unit.h"

/* What handoff.c reaches of the rest of the library. */
__thread struct rp_thread *rp_thread_state __attribute__((tls_model("initial-exec")));
__thread bool rp_thread_is_internal __attribute__((tls_model("initial-exec")));
__thread pid_t rp_interpose_vfork_pid __attribute__((tls_model("initial-exec")));
struct rp_process rp_process = {.enabled = true};

bool rp_interpose_in_vfork_child(void)
{
    return false;
}

struct rp_thread *rp_thread_self(void)
{
    return rp_thread_state;
}

void rp_thread_set_current(struct rp_thread *thread, uint64_t request_id,
                           struct rp_conn *conn)
{
    thread->current_request = request_id;
    thread->current_conn = conn;
}

/* fds below this are eventfds or pipes the server made. */
enum { MARKED_FDS = 100 };

unsigned rp_follow_options(int fd)
{
    return fd < MARKED_FDS ? RP_FOLLOW_HANDOFF : 0;
}

/* Thread states are large (their ring): two, made once. */
static struct rp_thread *io_thread, *pool_thread;

/* Makes thread the calling one, on request_id (0: none). */
static void on(struct rp_thread *thread, uint64_t request_id)
{
    rp_thread_state = thread;
    thread->current_request = request_id;
}

/* Request ids, fresh for each test: the table outlives tests. */
static uint64_t next_id = 1;

static uint64_t request(void)
{
    return next_id++;
}

/* After a test: its requests end, so nothing stays pending. */
static void end_requests(void)
{
    for (uint64_t id = 1; id < next_id; id++)
        rp_handoff_request_ended(id);
}

UNIT_TEST(the_one_request_pending_is_taken_by_the_woken_thread)
{
    int queue;
    uint64_t a = request();
    on(io_thread, a);
    rp_handoff_wake((uintptr_t)&queue, false);
    on(pool_thread, 0);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(a, pool_thread->current_request);
    /* A signal's request leaves the object when taken. */
    on(pool_thread, 0);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    end_requests();
}

UNIT_TEST(several_requests_pending_are_not_guessed_between)
{
    int queue;
    uint64_t a = request(), b = request();
    on(io_thread, a);
    rp_handoff_wake((uintptr_t)&queue, false);
    on(io_thread, b);
    rp_handoff_wake((uintptr_t)&queue, false);
    on(pool_thread, 0);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    /* Once a has ended, b is the only one. */
    rp_handoff_request_ended(a);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(b, pool_thread->current_request);
    end_requests();
}

UNIT_TEST(a_request_that_ended_is_never_taken)
{
    int queue;
    uint64_t a = request();
    on(io_thread, a);
    rp_handoff_wake((uintptr_t)&queue, false);
    rp_handoff_request_ended(a);
    on(pool_thread, 0);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    end_requests();
}

UNIT_TEST(a_broadcasts_request_is_taken_by_every_woken_thread)
{
    int queue;
    uint64_t a = request();
    on(io_thread, a);
    rp_handoff_wake((uintptr_t)&queue, true);
    for (int i = 0; i < 3; i++) {
        on(pool_thread, 0);
        rp_handoff_woken((uintptr_t)&queue);
        EXPECT_INT_EQ(a, pool_thread->current_request);
    }
    end_requests();
}

UNIT_TEST(a_request_taken_by_handoff_ends_at_the_next_wait_or_hand_over)
{
    int queue, done;
    uint64_t a = request(), b = request();
    on(io_thread, a);
    rp_handoff_wake((uintptr_t)&queue, false);
    on(pool_thread, 0);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(a, pool_thread->current_request);
    rp_handoff_before_wait();
    EXPECT_INT_EQ(0, pool_thread->current_request);

    on(io_thread, b);
    rp_handoff_wake((uintptr_t)&queue, false);
    on(pool_thread, 0);
    rp_handoff_woken((uintptr_t)&queue);
    rp_handoff_wake((uintptr_t)&done, false); /* hands the result back */
    EXPECT_INT_EQ(0, pool_thread->current_request);
    on(io_thread, 0);
    rp_handoff_woken((uintptr_t)&done);
    EXPECT_INT_EQ(b, io_thread->current_request);
    end_requests();
}

UNIT_TEST(a_thread_on_a_request_of_its_own_keeps_it)
{
    int queue;
    uint64_t a = request(), own = request();
    on(io_thread, a);
    rp_handoff_wake((uintptr_t)&queue, false);
    on(pool_thread, own);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(own, pool_thread->current_request);
    /* ...until its own request ended. */
    rp_handoff_request_ended(own);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(a, pool_thread->current_request);
    end_requests();
}

UNIT_TEST(only_eventfds_and_pipes_the_server_made_carry_a_request)
{
    uint64_t a = request(), b = request();
    on(io_thread, a);
    rp_handoff_fd_written(MARKED_FDS + 1); /* a log file */
    on(pool_thread, 0);
    rp_handoff_fd_read(MARKED_FDS + 1);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    on(io_thread, b);
    rp_handoff_fd_written(7);
    on(pool_thread, 0);
    rp_handoff_fd_read(7);
    EXPECT_INT_EQ(b, pool_thread->current_request);
    /* A closed fd keeps nothing for the next one of its number. */
    on(io_thread, b);
    rp_handoff_fd_written(7);
    rp_handoff_forget_fd(7);
    on(pool_thread, 0);
    rp_handoff_fd_read(7);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    end_requests();
}

UNIT_TEST(a_thread_with_no_request_records_nothing)
{
    int queue;
    on(io_thread, 0);
    rp_handoff_wake((uintptr_t)&queue, false);
    on(pool_thread, 0);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
}

int main(void)
{
    io_thread = calloc(1, sizeof *io_thread);
    pool_thread = calloc(1, sizeof *pool_thread);
    if (io_thread == NULL || pool_thread == NULL)
        return 1;
    UNIT_RUN(the_one_request_pending_is_taken_by_the_woken_thread);
    UNIT_RUN(several_requests_pending_are_not_guessed_between);
    UNIT_RUN(a_request_that_ended_is_never_taken);
    UNIT_RUN(a_broadcasts_request_is_taken_by_every_woken_thread);
    UNIT_RUN(a_request_taken_by_handoff_ends_at_the_next_wait_or_hand_over);
    UNIT_RUN(a_thread_on_a_request_of_its_own_keeps_it);
    UNIT_RUN(only_eventfds_and_pipes_the_server_made_carry_a_request);
    UNIT_RUN(a_thread_with_no_request_records_nothing);
    return unit_finish();
}
