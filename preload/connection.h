/*
 * What the server's socket calls mean for requests.
 *
 * The interposed calls report bytes here; this module feeds them to the
 * connection's HTTP parsers, begins a request at its first byte read, ends
 * it at the last byte of its response written (or when the connection
 * closes), queues finished requests for the writer, and tells the calling
 * thread which request it is working on, which is what its samples are
 * tagged with.
 *
 * All functions keep errno as they found it, and take a connection's lock
 * only for the parse itself.
 */
#ifndef REQPROF_CONNECTION_H
#define REQPROF_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* accept/accept4 returned fd: follow it from now on. */
void rp_connection_accepted(int fd);

/* fd `to` is now a duplicate of fd `from` (dup, dup2, dup3, F_DUPFD): if
 * `from` is a connection, `to` names it too. Whatever `to` named before
 * must have been ended first (rp_connection_closing). */
void rp_connection_duplicated(int from, int to);

/* The server read length bytes from fd into iov (length > 0). */
void rp_connection_received(int fd, const struct iovec *iov, int iov_count,
                            size_t length);

/* The server wrote length bytes from iov to fd (length > 0). */
void rp_connection_sent(int fd, const struct iovec *iov, int iov_count,
                        size_t length);

/* The server sent length bytes to fd that reqprof cannot see (sendfile). */
void rp_connection_sent_unseen(int fd, size_t length);

/* The server shut down fd for writing (shutdown with SHUT_WR or
 * SHUT_RDWR). */
void rp_connection_write_shutdown(int fd);

/* The server is closing fd: the connection ends if no other fd names it. */
void rp_connection_closing(int fd);

struct rp_conn;

/* fd's connection if it has a request read and not answered yet, whose id
 * goes to *request_id; NULL otherwise. */
struct rp_conn *rp_connection_waiting_request(int fd, uint64_t *request_id);

/* Reports dropped so far because the writer fell behind. */
uint64_t rp_connection_reports_dropped(void);

/* Requests pipelined past the room for pending requests, not followed. */
uint64_t rp_connection_requests_unfollowed(void);

/* In a fork child: both counts above are the parent's, said at its own
 * exit; the child's start from zero, and so does the room its pipelined
 * requests take (rp_pending_forget_process_bytes). Async-signal-safe. */
void rp_connection_forget_counts(void);

/* Whether request_id is still read and unanswered on conn. */
bool rp_connection_is_pending(struct rp_conn *conn, uint64_t request_id);

#endif
