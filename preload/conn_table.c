/* fd → connection; see conn_table.h. */
#include "conn_table.h"

#include <stdlib.h>

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
    return slot != NULL ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;
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
    conn->fd = fd;
    conn->ignored = false;
    /* Empty: a connection is ended, which frees its queue, before it is
     * released. */
    conn->pending = (struct rp_pending){0};
    http_parser_init(&conn->request_parser, HTTP_DIRECTION_REQUEST);
    http_parser_init(&conn->response_parser, HTTP_DIRECTION_RESPONSE);
    pthread_mutex_unlock(&conn->lock);
    *stale = __atomic_exchange_n(slot, conn, __ATOMIC_ACQ_REL);
    return conn;
}

struct rp_conn *rp_conn_table_remove(int fd)
{
    struct rp_conn **slot = conn_slot(fd, false);
    if (slot == NULL)
        return NULL;
    return __atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL);
}

void rp_conn_release(struct rp_conn *conn)
{
    pthread_mutex_lock(&conn->lock);
    conn->fd = -1;
    pthread_mutex_unlock(&conn->lock);
    pthread_mutex_lock(&conn_free_lock);
    conn->next_free = conn_free_list;
    conn_free_list = conn;
    pthread_mutex_unlock(&conn_free_lock);
}

void rp_conn_table_before_fork(void)
{
    pthread_mutex_lock(&conn_free_lock);
}

void rp_conn_table_after_fork(bool in_child)
{
    pthread_mutex_unlock(&conn_free_lock);
    if (in_child)
        rp_fd_map_clear(&conn_map);
}
