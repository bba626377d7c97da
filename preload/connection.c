/*
 * Requests from bytes; see connection.h.
 *
 * Each connection keeps its pending requests, read (at least their first
 * byte) but not yet answered (pending.h). HTTP/1.x answers in order, so
 * the oldest pending request is the one the server works on and the one
 * the next response belongs to, even when a client pipelines several.
 *
 * A request the parser refuses is still a request: the server answers it
 * (400, 501, 414, 431...), and its index line shows that answer with the
 * method and as much of the target as was read. Only bytes that do not
 * begin with a method are not HTTP (TLS, another protocol): such a
 * connection is left alone once no request read before them is pending.
 */
#include "connection.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "atomic.h"
#include "clock.h"
#include "conn_table.h"
#include "finish_queue.h"
#include "handoff.h"
#include "log.h"
#include "thread.h"
#include "writer.h"

/* Request ids: process-unique, 0 means none. */
static uint64_t connection_next_id = 1;
static bool connection_queue_full_said;
/* Reports lost because the finish queue was full. */
static uint64_t connection_reports_dropped;
static bool connection_unfollowed_said;
/* Requests pipelined beyond the room for pending requests. */
static uint64_t connection_requests_unfollowed;

/* One interposed call's view while it holds the connection's lock. */
struct connection_call {
    struct rp_conn *conn;
};

static struct rp_request *connection_oldest(struct rp_conn *conn)
{
    return rp_pending_oldest(&conn->pending);
}

/* The request the server works on: the one its next response answers. */
static struct rp_request *connection_answered(struct rp_conn *conn)
{
    return rp_pending_answered(&conn->pending);
}

/* Tells the response parser whether the next response answers a HEAD. */
static void connection_expect_next_response(struct rp_conn *conn)
{
    struct rp_request *answered = connection_answered(conn);
    rp_http_parser_expect_head(&conn->response_parser,
                               answered != NULL && strcmp(answered->method, "HEAD") == 0);
}

/* Hands the oldest pending request to the writer and forgets it. */
static void connection_finish_oldest(struct connection_call *call)
{
    struct rp_conn *conn = call->conn;
    struct rp_request *request = connection_oldest(conn);
    /* The ending thread's CPU time goes with the request: a record in its
     * ring per request would fill the ring at high request rates. */
    struct rp_thread *thread = rp_thread_state;
    request->final_cpu = (struct rp_thread_cpu){0, false};
    if (thread != NULL && thread->current_request == request->id)
        request->final_cpu = rp_thread_end_current(thread, &request->end_ns);
    else
        request->end_ns = rp_monotonic_ns();
    rp_handoff_request_ended(request->id, request->status != 0);
    if (thread != NULL && thread->open_count != 0)
        rp_thread_request_ended(thread, request->id);
    if (rp_finish_queue_push(request)) {
        rp_writer_notify();
    } else {
        if (thread != NULL)
            rp_thread_record_lost(thread, request->id);
        rp_atomic_fetch_add_relaxed(&connection_reports_dropped, 1);
        rp_log_once(&connection_queue_full_said,
                    "the report writer is falling behind: reports of some "
                    "requests are dropped (sample less often with "
                    "REQPROF_INTERVAL, or write only one REQPROF_OUTPUT)");
    }
    rp_pending_remove_oldest(&conn->pending);
}

/* The request being read is answered, refused or ends before its head was
 * read whole: it gets what the parser has of its request line. Returns
 * whether the parser has its method. */
static bool connection_take_partial_head(struct rp_conn *conn)
{
    struct rp_http_parser *parser = &conn->request_parser;
    if (!rp_http_parser_request_line_known(parser))
        return false;
    rp_pending_reading_head(&conn->pending, parser->method, parser->target);
    return true;
}

static void connection_count_unfollowed(void)
{
    rp_atomic_fetch_add_relaxed(&connection_requests_unfollowed, 1);
    rp_log_once(&connection_unfollowed_said,
                "a client pipelined more requests than reqprof keeps room "
                "for (%u KiB a connection, %u KiB in all): those past it "
                "get no index line; their responses are told apart, so "
                "the requests after them are followed",
                RP_PENDING_CONNECTION_BYTES / 1024,
                RP_PENDING_PROCESS_BYTES / 1024);
}

static void connection_on_request_event(void *context, enum rp_http_event event,
                                        const struct rp_http_parser *parser,
                                        size_t offset)
{
    struct connection_call *call = context;
    struct rp_pending *pending = &call->conn->pending;
    if (event == RP_HTTP_EVENT_MESSAGE_BEGIN) {
        uint64_t id = rp_atomic_fetch_add_relaxed(&connection_next_id, 1);
        if (rp_pending_add(pending, id, rp_monotonic_ns())) {
            rp_writer_start();
            rp_writer_notify();
        } else {
            connection_count_unfollowed();
        }
    } else if (event == RP_HTTP_EVENT_HEADERS_COMPLETE) {
        rp_pending_reading_head(pending, parser->method, parser->target);
    } else {
        rp_pending_reading_complete(pending, parser->message_bytes);
    }
}

static bool connection_is_interim(const struct rp_http_parser *parser)
{
    return parser->status >= 100 && parser->status < 200 && parser->status != 101;
}

static void connection_on_response_event(void *context, enum rp_http_event event,
                                         const struct rp_http_parser *parser,
                                         size_t offset)
{
    struct connection_call *call = context;
    struct rp_conn *conn = call->conn;
    if (event == RP_HTTP_EVENT_MESSAGE_BEGIN || connection_is_interim(parser))
        return;
    struct rp_request *answered = rp_pending_answered(&conn->pending);
    if (answered == NULL) {
        /* A response nobody asked for (a 408 on an idle connection), or
         * one to a request past the room for pipelined ones. */
        if (event == RP_HTTP_EVENT_MESSAGE_COMPLETE &&
            rp_pending_skip_response(&conn->pending))
            connection_expect_next_response(conn);
        return;
    }
    if (event == RP_HTTP_EVENT_HEADERS_COMPLETE) {
        answered->status = parser->status;
    } else {
        /* A server may answer before it read the whole head (414, 431). */
        if (!answered->headers_complete)
            (void)connection_take_partial_head(conn);
        answered->response_bytes = parser->message_bytes;
        connection_finish_oldest(call);
        connection_expect_next_response(conn);
    }
}

/*
 * The connection ends (closed, or its bytes stopped making sense): a body
 * that runs until close is complete; requests whose headers were read, or
 * that the server began to answer, end now with whatever response they
 * got; other half-read requests are no requests.
 */
static void connection_end_all(struct connection_call *call)
{
    struct rp_conn *conn = call->conn;
    uint64_t partial_response_bytes = conn->response_parser.message_bytes;
    rp_http_parser_close(&conn->response_parser, connection_on_response_event, call);
    struct rp_request *oldest;
    while ((oldest = connection_oldest(conn)) != NULL) {
        if (!oldest->headers_complete && oldest->status != 0)
            (void)connection_take_partial_head(conn);
        if (oldest->headers_complete || oldest->status != 0) {
            if (oldest->status != 0)
                oldest->response_bytes = partial_response_bytes;
            partial_response_bytes = 0;
            connection_finish_oldest(call);
        } else {
            rp_pending_remove_oldest(&conn->pending);
        }
    }
}

/* Locks fd's connection if reqprof follows it and it is still on fd. */
static struct rp_conn *connection_lock(int fd)
{
    struct rp_conn *conn = rp_conn_table_get(fd);
    if (conn == NULL)
        return NULL;
    pthread_mutex_lock(&conn->lock);
    if (!rp_conn_is_on(conn, fd) || conn->ignored) {
        pthread_mutex_unlock(&conn->lock);
        return NULL;
    }
    return conn;
}

/*
 * After a read or write: the thread now works on the connection's oldest
 * pending request, if there is one.
 */
static void connection_unlock_and_follow(struct connection_call *call)
{
    struct rp_conn *conn = call->conn;
    struct rp_request *answered = connection_answered(conn);
    uint64_t request_id = answered != NULL ? answered->id : 0;
    pthread_mutex_unlock(&conn->lock);
    struct rp_thread *thread = request_id != 0 ? rp_thread_self() : rp_thread_state;
    if (thread != NULL)
        rp_thread_set_current(thread, request_id, request_id != 0 ? conn : NULL);
}

/*
 * A write on a locked connection ends the thread's stretch (thread.h),
 * before the bytes are parsed: it answers the request it carries, whose
 * end it may be, and the stretch's samples must reach the writer before
 * that end does. (A read ends it after the follow: connection_feed.)
 */
static void connection_end_stretch(struct connection_call *call)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL)
        return;
    struct rp_request *answered = connection_answered(call->conn);
    rp_thread_end_stretch(thread, answered != NULL ? answered->id : 0, true);
}

/* After a response the parser refused, or an upgrade: leave the
 * connection alone for good. */
static void connection_give_up(struct connection_call *call)
{
    connection_end_all(call);
    call->conn->ignored = true;
}

/*
 * The request parser refused the bytes read. The request they belong to is
 * one the server answers too, if its method was read; without one they are
 * not HTTP. Requests read before them are answered as usual; nothing more
 * is read, as nothing more can be told apart.
 */
static void connection_request_refused(struct connection_call *call)
{
    struct rp_conn *conn = call->conn;
    if (!connection_take_partial_head(conn))
        rp_pending_reading_drop(&conn->pending);
    rp_pending_reading_complete(&conn->pending,
                                conn->request_parser.message_bytes);
    if (connection_oldest(conn) == NULL)
        connection_give_up(call);
}

static void connection_feed(int fd, bool is_request, const struct iovec *iov,
                            int iov_count, size_t length)
{
    int saved_errno = errno;
    struct connection_call call = {.conn = connection_lock(fd)};
    if (call.conn == NULL) {
        errno = saved_errno;
        return;
    }
    if (!is_request)
        connection_end_stretch(&call);
    struct rp_http_parser *parser = is_request ? &call.conn->request_parser
                                            : &call.conn->response_parser;
    rp_http_event_fn on_event = is_request ? connection_on_request_event
                                        : connection_on_response_event;
    if (!is_request && parser->state == RP_HTTP_STATE_IDLE)
        connection_expect_next_response(call.conn);
    int result = 0;
    for (int i = 0; i < iov_count && length > 0 && result == 0; i++) {
        size_t piece = iov[i].iov_len < length ? iov[i].iov_len : length;
        result = rp_http_parser_feed(parser, iov[i].iov_base, piece, on_event, &call);
        length -= piece;
    }
    if (result != 0 && is_request)
        connection_request_refused(&call);
    else if (result != 0 || parser->state == RP_HTTP_STATE_DONE)
        connection_give_up(&call);
    connection_unlock_and_follow(&call);
    struct rp_thread *thread = rp_thread_state;
    if (is_request && thread != NULL && thread->current_request != 0)
        rp_thread_read_request(thread, thread->current_request);
    errno = saved_errno;
}

/* One fd less names conn: the last one ends it (closed, or the fd was
 * closed behind reqprof's back and found reused). */
static void connection_drop_fd(struct rp_conn *conn)
{
    struct connection_call call = {.conn = conn};
    pthread_mutex_lock(&conn->lock);
    bool last = rp_conn_drop_fd(conn);
    /* In the same locked section: a thread still reading the fd must not
     * start a request on a connection nobody will end. */
    if (last && !conn->ignored)
        connection_end_all(&call);
    pthread_mutex_unlock(&conn->lock);
    if (last)
        rp_conn_release(conn);
}

void rp_connection_accepted(int fd)
{
    int saved_errno = errno;
    struct rp_conn *stale;
    (void)rp_conn_table_add(fd, &stale);
    if (stale != NULL)
        connection_drop_fd(stale);
    errno = saved_errno;
}

void rp_connection_duplicated(int from, int to)
{
    int saved_errno = errno;
    struct rp_conn *stale;
    (void)rp_conn_table_share(from, to, &stale);
    if (stale != NULL)
        connection_drop_fd(stale);
    errno = saved_errno;
}

void rp_connection_received(int fd, const struct iovec *iov, int iov_count,
                            size_t length)
{
    connection_feed(fd, true, iov, iov_count, length);
}

void rp_connection_sent(int fd, const struct iovec *iov, int iov_count,
                        size_t length)
{
    connection_feed(fd, false, iov, iov_count, length);
}

void rp_connection_sent_unseen(int fd, size_t length)
{
    int saved_errno = errno;
    struct connection_call call = {.conn = connection_lock(fd)};
    if (call.conn == NULL) {
        errno = saved_errno;
        return;
    }
    connection_end_stretch(&call);
    if (rp_http_parser_feed_opaque(&call.conn->response_parser, length,
                                   connection_on_response_event, &call) != 0)
        connection_give_up(&call);
    connection_unlock_and_follow(&call);
    errno = saved_errno;
}

void rp_connection_write_shutdown(int fd)
{
    int saved_errno = errno;
    struct connection_call call = {.conn = connection_lock(fd)};
    if (call.conn == NULL) {
        errno = saved_errno;
        return;
    }
    connection_end_stretch(&call);
    /* No more response bytes: a body that runs until close is complete. */
    rp_http_parser_close(&call.conn->response_parser, connection_on_response_event,
                         &call);
    connection_unlock_and_follow(&call);
    errno = saved_errno;
}

void rp_connection_closing(int fd)
{
    int saved_errno = errno;
    struct rp_conn *conn = rp_conn_table_remove(fd);
    if (conn != NULL)
        connection_drop_fd(conn);
    errno = saved_errno;
}

struct rp_conn *rp_connection_waiting_request(int fd, uint64_t *request_id)
{
    struct rp_conn *conn = connection_lock(fd);
    if (conn == NULL)
        return NULL;
    struct rp_request *answered = connection_answered(conn);
    *request_id = answered != NULL ? answered->id : 0;
    pthread_mutex_unlock(&conn->lock);
    return *request_id != 0 ? conn : NULL;
}

uint64_t rp_connection_reports_dropped(void)
{
    return rp_atomic_load_relaxed(&connection_reports_dropped);
}

uint64_t rp_connection_requests_unfollowed(void)
{
    return rp_atomic_load_relaxed(&connection_requests_unfollowed);
}

void rp_connection_forget_counts(void)
{
    connection_reports_dropped = 0;
    connection_requests_unfollowed = 0;
    rp_pending_forget_process_bytes();
}

bool rp_connection_is_pending(struct rp_conn *conn, uint64_t request_id)
{
    pthread_mutex_lock(&conn->lock);
    bool pending = rp_pending_contains(&conn->pending, request_id);
    pthread_mutex_unlock(&conn->lock);
    return pending;
}
