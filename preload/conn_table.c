/*
 * fd → connection, two levels deep; see conn_table.h.
 *
 * The first level covers fds up to 2^20 in chunks of 1024 slots, made on
 * first use, so a server with a few hundred sockets pays a few KiB.
 */
#include "conn_table.h"

#include <stdlib.h>

#define CONN_CHUNK_BITS 10
#define CONN_CHUNK_SIZE (1u << CONN_CHUNK_BITS)
#define CONN_CHUNK_COUNT 1024u

static struct rp_conn **conn_chunks[CONN_CHUNK_COUNT];
static struct rp_conn *conn_free_list;
static pthread_mutex_t conn_free_lock = PTHREAD_MUTEX_INITIALIZER;

static struct rp_conn **conn_slot(int fd, bool create)
{
    if (fd < 0 || (unsigned)fd >= CONN_CHUNK_SIZE * CONN_CHUNK_COUNT)
        return NULL;
    unsigned chunk_index = (unsigned)fd >> CONN_CHUNK_BITS;
    struct rp_conn **chunk = __atomic_load_n(&conn_chunks[chunk_index], __ATOMIC_ACQUIRE);
    if (chunk == NULL) {
        if (!create)
            return NULL;
        struct rp_conn **fresh = calloc(CONN_CHUNK_SIZE, sizeof *fresh);
        if (fresh == NULL)
            return NULL;
        if (__atomic_compare_exchange_n(&conn_chunks[chunk_index], &chunk, fresh,
                                        false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            chunk = fresh;
        else
            free(fresh); /* another thread made it first */
    }
    return &chunk[(unsigned)fd & (CONN_CHUNK_SIZE - 1)];
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
    conn->pending_first = 0;
    conn->pending_count = 0;
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
