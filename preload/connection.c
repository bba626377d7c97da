/*
 * Requests from bytes; see connection.h.
 *
 * Each connection keeps a queue of pending requests: read (at least their
 * first byte) but not yet answered. HTTP/1.x answers in order, so the
 * oldest pending request is the one the server works on and the one the
 * next response belongs to, even when a client pipelines several.
 */
#include "connection.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "conn_table.h"
#include "finish_queue.h"
#include "log.h"
#include "thread.h"
#include "writer.h"

/* Request ids: process-unique, 0 means none. */
static uint64_t connection_next_id = 1;
static bool connection_queue_full_said;
/* Reports lost because the finish queue was full. */
static uint64_t connection_reports_dropped;

/* One interposed call's view while it holds the connection's lock. */
struct connection_call {
    struct rp_conn *conn;
    bool overflowed;           /* more pipelined requests than tracked */
};

static struct rp_request *connection_pending(struct rp_conn *conn, unsigned i)
{
    return &conn->pending[(conn->pending_first + i) % RP_PIPELINE_DEPTH];
}

static struct rp_request *connection_oldest(struct rp_conn *conn)
{
    return conn->pending_count > 0 ? connection_pending(conn, 0) : NULL;
}

static uint64_t connection_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* Tells the response parser whether the next response answers a HEAD. */
static void connection_expect_next_response(struct rp_conn *conn)
{
    struct rp_request *oldest = connection_oldest(conn);
    http_parser_expect_head(&conn->response_parser,
                            oldest != NULL && strcmp(oldest->method, "HEAD") == 0);
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
        request->end_ns = connection_now_ns();
    if (rp_finish_queue_push(request)) {
        rp_writer_notify();
    } else {
        __atomic_fetch_add(&connection_reports_dropped, 1, __ATOMIC_RELAXED);
        rp_log_once(&connection_queue_full_said,
                    "the report writer is falling behind: reports of some "
                    "requests are dropped (sample less often with "
                    "REQPROF_INTERVAL, or write only one REQPROF_OUTPUT)");
    }
    conn->pending_first = (conn->pending_first + 1) % RP_PIPELINE_DEPTH;
    conn->pending_count--;
}

static void connection_on_request_event(void *context, enum http_event event,
                                        const struct http_parser *parser,
                                        size_t offset)
{
    struct connection_call *call = context;
    struct rp_conn *conn = call->conn;
    if (call->overflowed)
        return;
    if (event == HTTP_EVENT_MESSAGE_BEGIN) {
        if (conn->pending_count == RP_PIPELINE_DEPTH) {
            call->overflowed = true;
            return;
        }
        struct rp_request *request = connection_pending(conn, conn->pending_count++);
        request->method[0] = '\0';
        request->path[0] = '\0';
        request->id = __atomic_fetch_add(&connection_next_id, 1, __ATOMIC_RELAXED);
        request->start_ns = connection_now_ns();
        request->headers_complete = false;
        request->status = 0;
        request->request_bytes = 0;
        request->response_bytes = 0;
        rp_writer_start();
        rp_writer_notify();
        return;
    }
    struct rp_request *newest = connection_pending(conn, conn->pending_count - 1);
    if (event == HTTP_EVENT_HEADERS_COMPLETE) {
        memcpy(newest->method, parser->method, sizeof newest->method);
        memcpy(newest->path, parser->target, sizeof newest->path);
        newest->headers_complete = true;
    } else {
        newest->request_bytes = parser->message_bytes;
    }
}

static bool connection_is_interim(const struct http_parser *parser)
{
    return parser->status >= 100 && parser->status < 200 && parser->status != 101;
}

static void connection_on_response_event(void *context, enum http_event event,
                                         const struct http_parser *parser,
                                         size_t offset)
{
    struct connection_call *call = context;
    struct rp_request *oldest = connection_oldest(call->conn);
    /* A response nobody asked for (a 408 on an idle connection) and interim
     * responses (100 Continue) end no request. */
    if (oldest == NULL || event == HTTP_EVENT_MESSAGE_BEGIN ||
        connection_is_interim(parser))
        return;
    if (event == HTTP_EVENT_HEADERS_COMPLETE) {
        oldest->status = parser->status;
    } else {
        oldest->response_bytes = parser->message_bytes;
        connection_finish_oldest(call);
        connection_expect_next_response(call->conn);
    }
}

/*
 * The connection ends (closed, or its bytes stopped making sense): a body
 * that runs until close is complete; requests whose headers were read end
 * now, with whatever response they got; half-read requests are no requests.
 */
static void connection_end_all(struct connection_call *call)
{
    struct rp_conn *conn = call->conn;
    uint64_t partial_response_bytes = conn->response_parser.message_bytes;
    http_parser_close(&conn->response_parser, connection_on_response_event, call);
    while (conn->pending_count > 0) {
        struct rp_request *oldest = connection_oldest(conn);
        if (oldest->headers_complete) {
            if (oldest->status != 0)
                oldest->response_bytes = partial_response_bytes;
            partial_response_bytes = 0;
            connection_finish_oldest(call);
        } else {
            conn->pending_first = (conn->pending_first + 1) % RP_PIPELINE_DEPTH;
            conn->pending_count--;
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
    struct rp_request *oldest = connection_oldest(conn);
    uint64_t request_id = oldest != NULL ? oldest->id : 0;
    pthread_mutex_unlock(&conn->lock);
    struct rp_thread *thread = request_id != 0 ? rp_thread_self() : rp_thread_state;
    if (thread != NULL)
        rp_thread_set_current(thread, request_id, request_id != 0 ? conn : NULL);
}

/* After a parse error or overflow: leave the connection alone for good. */
static void connection_give_up(struct connection_call *call)
{
    connection_end_all(call);
    call->conn->ignored = true;
}

typedef int (*connection_feed_fn)(struct http_parser *, const char *, size_t,
                                  http_event_fn, void *);

static void connection_feed(int fd, bool is_request, const struct iovec *iov,
                            int iov_count, size_t length)
{
    int saved_errno = errno;
    struct connection_call call = {.conn = connection_lock(fd)};
    if (call.conn == NULL) {
        errno = saved_errno;
        return;
    }
    struct http_parser *parser = is_request ? &call.conn->request_parser
                                            : &call.conn->response_parser;
    http_event_fn on_event = is_request ? connection_on_request_event
                                        : connection_on_response_event;
    if (!is_request && parser->state == HTTP_STATE_IDLE)
        connection_expect_next_response(call.conn);
    int result = 0;
    for (int i = 0; i < iov_count && length > 0 && result == 0; i++) {
        size_t piece = iov[i].iov_len < length ? iov[i].iov_len : length;
        result = http_parser_feed(parser, iov[i].iov_base, piece, on_event, &call);
        length -= piece;
    }
    if (result != 0 || call.overflowed || parser->state == HTTP_STATE_DONE)
        connection_give_up(&call);
    connection_unlock_and_follow(&call);
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
    if (http_parser_feed_opaque(&call.conn->response_parser, length,
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
    /* No more response bytes: a body that runs until close is complete. */
    http_parser_close(&call.conn->response_parser, connection_on_response_event,
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
    struct rp_request *oldest = connection_oldest(conn);
    *request_id = oldest != NULL ? oldest->id : 0;
    pthread_mutex_unlock(&conn->lock);
    return *request_id != 0 ? conn : NULL;
}

uint64_t rp_connection_reports_dropped(void)
{
    return __atomic_load_n(&connection_reports_dropped, __ATOMIC_RELAXED);
}

bool rp_connection_is_pending(struct rp_conn *conn, uint64_t request_id)
{
    bool pending = false;
    pthread_mutex_lock(&conn->lock);
    for (unsigned i = 0; i < conn->pending_count && !pending; i++)
        pending = connection_pending(conn, i)->id == request_id;
    pthread_mutex_unlock(&conn->lock);
    return pending;
}
