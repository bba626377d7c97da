/*
 * The connection table: which fds are HTTP connections reqprof follows.
 *
 * Every interposed call asks it first, so a lookup of an untracked fd is
 * two loads. Connections are never freed, only recycled through a free
 * list, so a pointer a thread looked up stays a valid connection even if
 * another thread closes the fd meanwhile; the user re-checks conn->fd under
 * the connection's lock (if the fd was closed and reused for a new
 * connection meanwhile, the bytes do belong to that new connection).
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
    int fd;               /* the fd while in the table, -1 otherwise */
    bool ignored;         /* not HTTP (TLS, upgraded...): left alone */
    struct http_parser request_parser;  /* bytes the server reads */
    struct http_parser response_parser; /* bytes the server writes */
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

/* Stops tracking fd; returns its connection (to end and release) or NULL. */
struct rp_conn *rp_conn_table_remove(int fd);

/*
 * Around fork: the free list's lock is held across it, so the child never
 * inherits it locked. In the child, every connection inherited from the
 * parent stops being followed (the parent reports its requests); their
 * memory is not reused.
 */
void rp_conn_table_before_fork(void);
void rp_conn_table_after_fork(bool in_child);

/* Returns a removed connection to the free list. */
void rp_conn_release(struct rp_conn *conn);

#endif
