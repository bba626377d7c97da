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

/* Sharing, as thread.c keeps it: the requests in the open set, and for
 * a guess, the count of jobs queued it watches. */
void rp_thread_share(struct rp_thread *thread, const uint64_t *requests, unsigned count,
                     const unsigned *queued, unsigned queued_seen)
{
    for (unsigned i = 0; i < count && i < RP_OPEN_MAX; i++)
        thread->open_requests[i] = requests[i];
    thread->open_count = count;
    thread->share_queued = queued;
    thread->share_queued_seen = queued_seen;
    thread->share_guess = queued != NULL ? RP_SHARE_GUESSED : RP_SHARE_KNOWN;
    thread->sharing = 1;
}

void rp_thread_stop_sharing(struct rp_thread *thread, uint64_t request_id)
{
    (void)request_id;
    thread->sharing = 0;
    thread->open_count = 0;
    thread->share_guess = RP_SHARE_KNOWN;
}

void rp_thread_hand_on_share(struct rp_thread *thread)
{
    rp_thread_stop_sharing(thread, 0);
}

/* fds below this are eventfds or pipes the server made. */
enum { MARKED_FDS = 100 };

unsigned rp_follow_options(int fd)
{
    return fd < MARKED_FDS ? RP_FOLLOW_HANDOFF : 0;
}

/* Thread states are large (their ring): two, made once. */
static struct rp_thread *io_thread, *pool_thread;

/* Stands for the connection of every request (only its address counts). */
static long some_connection;

/* Makes thread the calling one, on request_id (0: none), sharing
 * nothing. */
static void on(struct rp_thread *thread, uint64_t request_id)
{
    rp_thread_state = thread;
    thread->sharing = 0;
    thread->open_count = 0;
    thread->share_guess = RP_SHARE_KNOWN;
    thread->current_request = request_id;
    thread->current_conn = request_id != 0 ? (struct rp_conn *)&some_connection : NULL;
}

/* thread, on request_id, signals object. */
static void wake(struct rp_thread *thread, uint64_t request_id, const void *object)
{
    on(thread, request_id);
    rp_handoff_wake((uintptr_t)object, false);
}

/* thread, on no request, returns from a wait on object. */
static void woken(struct rp_thread *thread, const void *object)
{
    on(thread, 0);
    rp_handoff_woken((uintptr_t)object);
}

/* Request ids, in the order requests come (each test runs in a process of
 * its own, with a table of its own). */
static uint64_t next_id = 1;

static uint64_t request(void)
{
    return next_id++;
}

UNIT_TEST(the_one_request_pending_is_taken_by_the_woken_thread)
{
    int queue = 0;
    uint64_t a = request();
    wake(io_thread, a, &queue);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(a, pool_thread->current_request);
    /* A signal's request leaves the object when taken. */
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
}

/* Whether thread shares among exactly a and b. */
static bool shares_between(const struct rp_thread *thread, uint64_t a, uint64_t b)
{
    return thread->sharing && thread->current_request == 0 && thread->open_count == 2 &&
           ((thread->open_requests[0] == a && thread->open_requests[1] == b) ||
            (thread->open_requests[0] == b && thread->open_requests[1] == a));
}

/* The I/O thread queues a's job, then b's, on queue; a pool thread wakes
 * and shares them. */
static void queue_two_and_wake(uint64_t a, uint64_t b, const void *queue)
{
    wake(io_thread, a, queue);
    wake(io_thread, b, queue);
    woken(pool_thread, queue);
    EXPECT_TRUE(shares_between(pool_thread, a, b));
}

UNIT_TEST(several_requests_pending_are_shared_never_guessed_between)
{
    int queue = 0;
    uint64_t a = request(), b = request();
    queue_two_and_wake(a, b, &queue);
    /* Both stay pending: the second woken thread shares them too. */
    woken(pool_thread, &queue);
    EXPECT_TRUE(shares_between(pool_thread, a, b));
    /* Two threads hold both jobs: a third wake is spurious... */
    woken(pool_thread, &queue);
    EXPECT_TRUE(!pool_thread->sharing);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    /* ...and stays so once a has ended: b is in a thread's hands. */
    rp_handoff_request_ended(a, true);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    EXPECT_TRUE(!pool_thread->sharing);
    /* A new job after b's is told apart again. */
    uint64_t c = request();
    wake(io_thread, c, &queue);
    rp_handoff_request_ended(b, true);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(c, pool_thread->current_request);
}

UNIT_TEST(an_event_loops_thread_shares_nothing_it_is_handed)
{
    int done = 0;
    uint64_t a = request(), b = request();
    wake(pool_thread, a, &done);
    wake(pool_thread, b, &done);
    on(io_thread, 0);
    io_thread->deferring = 1;
    rp_handoff_woken((uintptr_t)&done);
    io_thread->deferring = 0;
    EXPECT_TRUE(!io_thread->sharing);
    EXPECT_INT_EQ(0, io_thread->current_request);
    /* Its take was not counted: a pool thread still shares them. */
    woken(pool_thread, &done);
    EXPECT_TRUE(shares_between(pool_thread, a, b));
}

UNIT_TEST(sharing_ends_at_the_next_wait_or_hand_over)
{
    int queue = 0, done = 0; /* only their addresses count */
    uint64_t a = request(), b = request();
    queue_two_and_wake(a, b, &queue);
    rp_handoff_before_wait();
    EXPECT_TRUE(!pool_thread->sharing);

    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_TRUE(pool_thread->sharing);
    EXPECT_INT_EQ(RP_SHARE_KNOWN, pool_thread->share_guess);
    rp_handoff_wake((uintptr_t)&done, false); /* hands the result back */
    /* Both takes count as in threads' hands: nothing left to guess. */
    EXPECT_TRUE(!pool_thread->sharing);
    /* A sharer hands no request on. */
    woken(io_thread, &done);
    EXPECT_INT_EQ(0, io_thread->current_request);
}

/* A pool thread that hands its job on and finds more queued takes the
 * next one without waiting: no wake says which, so it guesses among the
 * requests pending where it was last woken, and watches for a job queued
 * after the guess (thread.c settles it). */
UNIT_TEST(a_pool_thread_going_on_without_a_wait_guesses_among_the_pending)
{
    int queue = 0, done = 0; /* only their addresses count */
    uint64_t a = request(), b = request(), c = request();
    wake(io_thread, a, &queue);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(a, pool_thread->current_request);
    wake(io_thread, b, &queue);
    wake(io_thread, c, &queue);

    on(pool_thread, a);
    rp_handoff_wake((uintptr_t)&done, false); /* hands a's result back */
    EXPECT_INT_EQ(0, pool_thread->current_request);
    EXPECT_TRUE(shares_between(pool_thread, b, c));
    EXPECT_INT_EQ(RP_SHARE_GUESSED, pool_thread->share_guess);
    EXPECT_INT_EQ(*pool_thread->share_queued, pool_thread->share_queued_seen);
    /* A job queued after the guess moves the count it watches. */
    uint64_t d = request();
    wake(io_thread, d, &queue);
    EXPECT_TRUE(*pool_thread->share_queued != pool_thread->share_queued_seen);
    /* The first result is a's alone. */
    woken(io_thread, &done);
    EXPECT_INT_EQ(a, io_thread->current_request);
}

/* A guess takes nothing for good: a thread woken for the one request
 * pending takes it as before. */
UNIT_TEST(a_guess_leaves_the_pending_request_to_the_woken_thread)
{
    int queue = 0, done = 0; /* only their addresses count */
    uint64_t a = request(), b = request();
    wake(io_thread, a, &queue);
    woken(pool_thread, &queue);
    wake(io_thread, b, &queue);
    on(pool_thread, a);
    rp_handoff_wake((uintptr_t)&done, false);
    EXPECT_TRUE(pool_thread->sharing && pool_thread->open_count == 1 &&
                pool_thread->open_requests[0] == b);
    woken(io_thread, &queue); /* stands for a second pool thread */
    EXPECT_INT_EQ(b, io_thread->current_request);
}

/* An event loop's thread names each request by its writes: it does not
 * guess what it runs after handing a request on. */
UNIT_TEST(an_event_loops_thread_does_not_guess)
{
    int done = 0, queue = 0; /* only their addresses count */
    uint64_t a = request(), b = request();
    wake(pool_thread, a, &done);
    io_thread->deferring = 1;
    woken(io_thread, &done);
    EXPECT_INT_EQ(a, io_thread->current_request);
    wake(pool_thread, b, &done);
    on(io_thread, a);
    rp_handoff_wake((uintptr_t)&queue, false);
    EXPECT_TRUE(!io_thread->sharing);
    io_thread->deferring = 0;
}

/* A queue deeper than the requests a slot tells apart: the wake past them
 * goes unrecorded, and until its request ends the job a woken thread
 * takes may be that one, which no pending request stands for. */
UNIT_TEST(a_wake_not_recorded_makes_the_objects_takes_unknown_until_it_ends)
{
    int queue = 0;
    uint64_t first = next_id;
    for (unsigned i = 0; i <= RP_OPEN_MAX; i++) {
        wake(io_thread, request(), &queue);
    }
    uint64_t unrecorded = next_id - 1, last_recorded = unrecorded - 1;
    for (uint64_t id = first; id < last_recorded; id++)
        rp_handoff_request_ended(id, true);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    EXPECT_TRUE(!pool_thread->sharing);
    rp_handoff_request_ended(unrecorded, true);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(last_recorded, pool_thread->current_request);
}

UNIT_TEST(a_request_that_ended_is_never_taken)
{
    int queue = 0;
    uint64_t a = request();
    wake(io_thread, a, &queue);
    rp_handoff_request_ended(a, true);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
}

UNIT_TEST(a_broadcasts_request_is_taken_by_every_woken_thread)
{
    int queue = 0;
    uint64_t a = request();
    on(io_thread, a);
    rp_handoff_wake((uintptr_t)&queue, true);
    for (int i = 0; i < 3; i++) {
        on(pool_thread, 0);
        rp_handoff_woken((uintptr_t)&queue);
        EXPECT_INT_EQ(a, pool_thread->current_request);
    }
}

UNIT_TEST(a_request_taken_by_handoff_ends_at_the_next_wait_or_hand_over)
{
    int queue = 0, done = 0; /* only their addresses count */
    uint64_t a = request(), b = request();
    wake(io_thread, a, &queue);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(a, pool_thread->current_request);
    rp_handoff_before_wait();
    EXPECT_INT_EQ(0, pool_thread->current_request);

    wake(io_thread, b, &queue);
    woken(pool_thread, &queue);
    rp_handoff_wake((uintptr_t)&done, false); /* hands the result back */
    EXPECT_INT_EQ(0, pool_thread->current_request);
    woken(io_thread, &done);
    EXPECT_INT_EQ(b, io_thread->current_request);
}

UNIT_TEST(a_thread_on_a_request_of_its_own_keeps_it)
{
    int queue = 0;
    uint64_t a = request(), own = request();
    wake(io_thread, a, &queue);
    on(pool_thread, own);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(own, pool_thread->current_request);
    /* ...until its own request ended. */
    rp_handoff_request_ended(own, true);
    rp_handoff_woken((uintptr_t)&queue);
    EXPECT_INT_EQ(a, pool_thread->current_request);
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
}

UNIT_TEST(a_thread_with_no_request_records_nothing)
{
    int queue = 0;
    wake(io_thread, 0, &queue);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
}

/* A server's signal handler that wakes (sem_post, a self-pipe's write)
 * may interrupt the thread as it changes its request: the connection is
 * already the next one's (none, going to no request) while the request
 * is still the last. Nothing is handed on from such a torn pair: a
 * request taken with no connection would later be looked up through
 * it (follow.c). */
UNIT_TEST(a_wake_from_a_handler_inside_a_switch_hands_nothing_on)
{
    int queue = 0;
    uint64_t a = request();
    on(io_thread, a);
    io_thread->current_conn = NULL;
    io_thread->switching = 1;
    rp_handoff_wake((uintptr_t)&queue, false);
    io_thread->switching = 0;
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    EXPECT_TRUE(pool_thread->current_request == 0 || pool_thread->current_conn != NULL);
}

/* A's and B's jobs are queued; a worker shares them (it runs A's). B's
 * client goes away: B ends unanswered, its job maybe still queued. A
 * worker woken for it must not take A alone, which another holds. */
UNIT_TEST(a_request_ending_unanswered_makes_the_objects_takes_unknown_until_empty)
{
    int queue = 0;
    uint64_t a = request(), b = request();
    queue_two_and_wake(a, b, &queue);
    rp_handoff_request_ended(b, false);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    EXPECT_TRUE(!pool_thread->sharing);
    /* Once nothing is pending, takes are known again. */
    rp_handoff_request_ended(a, true);
    uint64_t c = request();
    wake(io_thread, c, &queue);
    woken(pool_thread, &queue);
    EXPECT_INT_EQ(c, pool_thread->current_request);
}

/* An fd's slot with a wake not recorded and nothing pending: a new
 * eventfd of the same number starts clean. */
UNIT_TEST(a_closed_fd_leaves_no_unrecorded_mark_to_the_next_of_its_number)
{
    uint64_t first = next_id;
    for (unsigned i = 0; i <= RP_OPEN_MAX; i++) {
        on(io_thread, request());
        rp_handoff_fd_written(9);
    }
    for (uint64_t id = first; id < next_id - 1; id++)
        rp_handoff_request_ended(id, true);
    /* A woken thread drops the ended ones: the mark alone is left. */
    on(pool_thread, 0);
    rp_handoff_fd_read(9);
    EXPECT_INT_EQ(0, pool_thread->current_request);
    rp_handoff_forget_fd(9);
    uint64_t d = request();
    on(io_thread, d);
    rp_handoff_fd_written(9);
    on(pool_thread, 0);
    rp_handoff_fd_read(9);
    EXPECT_INT_EQ(d, pool_thread->current_request);
}

int main(void)
{
    io_thread = calloc(1, sizeof *io_thread);
    pool_thread = calloc(1, sizeof *pool_thread);
    if (io_thread == NULL || pool_thread == NULL)
        return 1;
    UNIT_RUN(the_one_request_pending_is_taken_by_the_woken_thread);
    UNIT_RUN(several_requests_pending_are_shared_never_guessed_between);
    UNIT_RUN(an_event_loops_thread_shares_nothing_it_is_handed);
    UNIT_RUN(sharing_ends_at_the_next_wait_or_hand_over);
    UNIT_RUN(a_pool_thread_going_on_without_a_wait_guesses_among_the_pending);
    UNIT_RUN(a_guess_leaves_the_pending_request_to_the_woken_thread);
    UNIT_RUN(an_event_loops_thread_does_not_guess);
    UNIT_RUN(a_wake_not_recorded_makes_the_objects_takes_unknown_until_it_ends);
    UNIT_RUN(a_request_ending_unanswered_makes_the_objects_takes_unknown_until_empty);
    UNIT_RUN(a_closed_fd_leaves_no_unrecorded_mark_to_the_next_of_its_number);
    UNIT_RUN(a_request_that_ended_is_never_taken);
    UNIT_RUN(a_broadcasts_request_is_taken_by_every_woken_thread);
    UNIT_RUN(a_request_taken_by_handoff_ends_at_the_next_wait_or_hand_over);
    UNIT_RUN(a_thread_on_a_request_of_its_own_keeps_it);
    UNIT_RUN(only_eventfds_and_pipes_the_server_made_carry_a_request);
    UNIT_RUN(a_thread_with_no_request_records_nothing);
    UNIT_RUN(a_wake_from_a_handler_inside_a_switch_hands_nothing_on);
    return unit_finish();
}
