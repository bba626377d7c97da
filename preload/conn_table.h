/*
 * The connection table: which fds are HTTP connections reqprof follows.
 *
 * Every interposed call asks it first, so a lookup of an untracked fd is
 * two loads. A connection may be on several fds at once (dup, dup2, dup3,
 * fcntl F_DUPFD: busybox httpd serves on fds 0 and 1 of one socket) and
 * ends when the last of them is closed. Connections are never freed, only
 * recycled through a free list, so a pointer a thread looked up stays a
 * valid connection even if another thread closes the fd meanwhile; the
 * user checks under the connection's lock that the fd still names it (if
 * the fd was closed and reused for a new connection meanwhile, the bytes
 * do belong to that new connection).
 */
#ifndef REQPROF_CONN_TABLE_H
#define REQPROF_CONN_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "http_parser.h"
#include "pending.h"

struct rp_conn {
    pthread_mutex_t lock; /* held for every parse; never in a signal handler */
    unsigned fd_count;    /* fds in the table that name it; 0: released */
    bool ignored;         /* not HTTP (TLS, upgraded...): left alone */
    struct rp_http_parser request_parser;  /* bytes the server reads */
    struct rp_http_parser response_parser; /* bytes the server writes */
    struct rp_pending pending;          /* requests read, not yet answered */
    struct rp_conn *next_free; /* free list link */
};

/* The connection tracked on fd, or NULL (the common, fast answer). */
struct rp_conn *rp_conn_table_get(int fd);

/*
 * Starts tracking fd with a fresh connection and returns it, or NULL when
 * fd is out of range or memory ran out. A connection still on fd (closed
 * behind reqprof's back) is returned in *stale for the caller to end.
 */
struct rp_conn *rp_conn_table_add(int fd, struct rp_conn **stale);

/*
 * Makes fd `to` name the connection on fd `from` too, if there is one, and
 * returns it (NULL: none, or `to` is out of range). A connection still on
 * `to` (closed behind reqprof's back) goes to *stale as in
 * rp_conn_table_add.
 */
struct rp_conn *rp_conn_table_share(int from, int to, struct rp_conn **stale);

/*
 * Stops tracking fd; returns its connection or NULL. The caller holds
 * nothing; it locks the connection, and ends and releases it if fd was its
 * last fd (rp_conn_drop_fd).
 */
struct rp_conn *rp_conn_table_remove(int fd);

/* Under conn's lock: one fd less names it. True when that was the last,
 * and the caller ends the connection and releases it after unlocking. */
bool rp_conn_drop_fd(struct rp_conn *conn);

/* Under conn's lock: whether fd still names it. */
bool rp_conn_is_on(struct rp_conn *conn, int fd);

/*
 * Around fork: the free list's lock is held across it, so the child never
 * inherits it locked. In the child, a connection inherited from the parent
 * with a request in flight stops being followed there (the parent reports
 * that request; its memory is not reused), and so does one whose lock
 * another thread held at the fork; an idle one is followed on in the
 * child, which may be the process that serves it (busybox httpd, inetd:
 * the parent accepts, the child serves). The child's part writes only to
 * the entries it drops, and is async-signal-safe.
 */
void rp_conn_table_before_fork(void);
void rp_conn_table_after_fork(bool in_child);

/* Returns a removed connection to the free list. */
void rp_conn_release(struct rp_conn *conn);

#endif
