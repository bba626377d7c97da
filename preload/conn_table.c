/* fd → connection; see conn_table.h. */
#include "conn_table.h"

#include <stdlib.h>

#include "atomic.h"
#include "fd_map.h"

static struct rp_fd_map conn_map = RP_FD_MAP_INIT(struct rp_conn *);
static struct rp_conn *conn_free_list;
static pthread_mutex_t conn_free_lock = PTHREAD_MUTEX_INITIALIZER;

static struct rp_conn **conn_slot(int fd, bool create)
{
    return rp_fd_map_entry(&conn_map, fd, create);
}

struct rp_conn *rp_conn_table_get(int fd)
{
    struct rp_conn **slot = conn_slot(fd, false);
    return slot != NULL ? rp_atomic_load_acquire(slot) : NULL;
}

static struct rp_conn *conn_allocate(void)
{
    pthread_mutex_lock(&conn_free_lock);
    struct rp_conn *conn = conn_free_list;
    if (conn != NULL)
        conn_free_list = conn->next_free;
    pthread_mutex_unlock(&conn_free_lock);
    if (conn == NULL) {
        conn = calloc(1, sizeof *conn);
        if (conn == NULL)
            return NULL;
        pthread_mutex_init(&conn->lock, NULL);
    }
    return conn;
}

struct rp_conn *rp_conn_table_add(int fd, struct rp_conn **stale)
{
    *stale = NULL;
    struct rp_conn **slot = conn_slot(fd, true);
    if (slot == NULL)
        return NULL;
    struct rp_conn *conn = conn_allocate();
    if (conn == NULL)
        return NULL;
    pthread_mutex_lock(&conn->lock);
    conn->fd_count = 1;
    conn->ignored = false;
    /* Empty: a connection is ended, which frees its queue, before it is
     * released. */
    conn->pending = (struct rp_pending){0};
    rp_http_parser_init(&conn->request_parser, RP_HTTP_DIRECTION_REQUEST);
    rp_http_parser_init(&conn->response_parser, RP_HTTP_DIRECTION_RESPONSE);
    pthread_mutex_unlock(&conn->lock);
    *stale = rp_atomic_exchange_acq_rel(slot, conn);
    return conn;
}

struct rp_conn *rp_conn_table_share(int from, int to, struct rp_conn **stale)
{
    *stale = NULL;
    struct rp_conn *conn = rp_conn_table_get(from);
    if (conn == NULL)
        return NULL;
    struct rp_conn **slot = conn_slot(to, true);
    if (slot == NULL)
        return NULL;
    pthread_mutex_lock(&conn->lock);
    /* Published under the lock, with the count, so a close of `from` on
     * another thread cannot end the connection between the two. */
    bool shared = rp_conn_is_on(conn, from);
    if (shared) {
        conn->fd_count++;
        *stale = rp_atomic_exchange_acq_rel(slot, conn);
    }
    pthread_mutex_unlock(&conn->lock);
    return shared ? conn : NULL;
}

bool rp_conn_is_on(struct rp_conn *conn, int fd)
{
    return conn->fd_count > 0 && rp_conn_table_get(fd) == conn;
}

bool rp_conn_drop_fd(struct rp_conn *conn)
{
    return conn->fd_count > 0 && --conn->fd_count == 0;
}

struct rp_conn *rp_conn_table_remove(int fd)
{
    struct rp_conn **slot = conn_slot(fd, false);
    if (slot == NULL)
        return NULL;
    return rp_atomic_exchange_acq_rel(slot, NULL);
}

void rp_conn_release(struct rp_conn *conn)
{
    pthread_mutex_lock(&conn_free_lock);
    conn->next_free = conn_free_list;
    conn_free_list = conn;
    pthread_mutex_unlock(&conn_free_lock);
}

void rp_conn_table_before_fork(void)
{
    pthread_mutex_lock(&conn_free_lock);
}

/*
 * In a fork child (only the forking thread runs): whether the connection
 * in entry is dropped. Inherited locked, it may be half-changed; with a
 * request in flight, the request is the parent's. Its lock is read, not
 * taken: no other thread can take it here, and a trylock writes to the
 * connection's page, a copy in every child of a server with many idle
 * connections (glibc's mutex word, 0 when free; this is only read).
 */
static bool conn_dropped_in_child(struct rp_conn *conn)
{
    return rp_atomic_load_relaxed(&conn->lock.__data.__lock) != 0 ||
           conn->pending.count > 0 || conn->pending.responses_to_skip > 0 ||
           conn->request_parser.state != RP_HTTP_STATE_IDLE ||
           conn->response_parser.state != RP_HTTP_STATE_IDLE;
}

static void conn_forget_in_child(void *entry)
{
    struct rp_conn **slot = entry;
    if (*slot != NULL && conn_dropped_in_child(*slot))
        *slot = NULL;
}

void rp_conn_table_after_fork(bool in_child)
{
    pthread_mutex_unlock(&conn_free_lock);
    if (in_child)
        rp_fd_map_visit(&conn_map, conn_forget_in_child);
}
