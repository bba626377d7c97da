/* Upstream sockets and the requests they serve; see follow.h. */
#include "follow.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "atomic.h"
#include "conn_table.h"
#include "connection.h"
#include "fd_map.h"
#include "peer_name.h"
#include "thread.h"

enum follow_kind {
    FOLLOW_KIND_UNKNOWN, /* not looked at since it was opened */
    FOLLOW_KIND_STREAM,  /* a stream socket (TCP, unix stream) */
    FOLLOW_KIND_SOCKET,  /* another socket (UDP, unix datagram, seqpacket) */
    FOLLOW_KIND_OTHER,   /* a pipe, eventfd, tty, or a file of no disk:
                          * never followed */
    FOLLOW_KIND_FILE,    /* a regular file: its reads are disk reads
                          * (rp_follow_file), never followed */
};

/* One fd; fields are read by other threads without a lock. A torn pair
 * (owner of one request, conn of another) only fails the liveness check. */
struct follow_entry {
    uint64_t owner;        /* request that last wrote to it; 0: none */
    struct rp_conn *conn;  /* the connection of that request */
    uint8_t kind;          /* enum follow_kind */
    uint8_t options;       /* enum rp_follow_option bits */
    uint16_t peer;         /* the address it is connected to, or a file's
                            * path, once named (peer_name.h);
                            * RP_PEER_UNKNOWN: not yet */
};

static struct rp_fd_map follow_map = RP_FD_MAP_INIT(struct follow_entry);

/* A non-socket's kind: a regular file, or other. */
static enum follow_kind follow_kind_of_file(int fd)
{
    struct stat status;
    return fstat(fd, &status) == 0 && S_ISREG(status.st_mode) ? FOLLOW_KIND_FILE
                                                              : FOLLOW_KIND_OTHER;
}

/* What kind of fd this is: one getsockopt per fd while it stays open (and
 * one fstat if it is no socket). */
static enum follow_kind follow_kind_of(int fd, struct follow_entry *entry)
{
    uint8_t kind = rp_atomic_load_relaxed(&entry->kind);
    if (kind == FOLLOW_KIND_UNKNOWN) {
        int type;
        socklen_t length = sizeof type;
        kind = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0
                   ? follow_kind_of_file(fd)
               : type == SOCK_STREAM ? FOLLOW_KIND_STREAM
                                     : FOLLOW_KIND_SOCKET;
        rp_atomic_store_relaxed(&entry->kind, kind);
    }
    return (enum follow_kind)kind;
}

/* Pipes and eventfds that wake event loops must not drag a request along:
 * only sockets are followed. */
static bool follow_is_socket(int fd, struct follow_entry *entry)
{
    enum follow_kind kind = follow_kind_of(fd, entry);
    return kind == FOLLOW_KIND_STREAM || kind == FOLLOW_KIND_SOCKET;
}

/*
 * Makes the socket's owner the thread's current request. Returns false
 * when it has no owner, or its owner has ended (the owner is then
 * forgotten: a pooled upstream connection passes to its next request).
 */
static bool follow_resume_owner(struct follow_entry *entry)
{
    uint64_t owner = rp_atomic_load_relaxed(&entry->owner);
    struct rp_conn *conn = rp_atomic_load_relaxed(&entry->conn);
    if (owner == 0)
        return false;
    struct rp_thread *thread = rp_thread_self();
    if (thread == NULL || thread->current_request == owner)
        return true;
    if (!rp_connection_is_pending(conn, owner)) {
        rp_atomic_store_relaxed(&entry->owner, 0);
        return false;
    }
    rp_thread_set_current(thread, owner, conn);
    return true;
}

/*
 * An event loop may write a request's upstream on the same turn as it read
 * another request's client (the connect completed meanwhile): the socket's
 * live owner, not the thread's current request, is whom the write serves.
 * Only a socket without one becomes the current request's.
 */
void rp_follow_sent(int fd)
{
    int saved_errno = errno;
    struct rp_thread *thread = rp_thread_state;
    uint64_t current = thread != NULL ? thread->current_request : 0;
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, current != 0);
    if (entry == NULL) {
        errno = saved_errno;
        return;
    }
    bool followed = follow_resume_owner(entry);
    /* A server's signal handler may have let the request go meanwhile
     * (handoff.c): no connection, and the socket gets no owner, whose
     * connection follow_resume_owner would look into. */
    struct rp_conn *conn = current != 0 ? thread->current_conn : NULL;
    if (!followed && conn != NULL && follow_is_socket(fd, entry)) {
        rp_atomic_store_relaxed(&entry->conn, conn);
        rp_atomic_store_relaxed(&entry->owner, current);
        followed = true;
    }
    /* A write to a request's upstream ends the stretch: its work was the
     * request's (follow_resume_owner made the owner current). */
    thread = rp_thread_state;
    if (followed && thread != NULL)
        rp_thread_end_stretch(thread, thread->current_request, true);
    errno = saved_errno;
}

void rp_follow_received(int fd)
{
    int saved_errno = errno;
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, false);
    /* The answer of a request's upstream: that request is open. The
     * thread's state is read after the follow, which may have made it. */
    struct rp_thread *thread;
    if (entry != NULL && follow_resume_owner(entry) &&
        (thread = rp_thread_state) != NULL && thread->current_request != 0)
        rp_thread_read_request(thread, thread->current_request);
    errno = saved_errno;
}

uint64_t rp_follow_request_of(int fd)
{
    int saved_errno = errno;
    uint64_t request_id = 0;
    if (rp_conn_table_get(fd) != NULL) {
        (void)rp_connection_waiting_request(fd, &request_id);
    } else {
        struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, false);
        uint64_t owner = entry != NULL ? rp_atomic_load_relaxed(&entry->owner) : 0;
        if (owner != 0 &&
            rp_connection_is_pending(rp_atomic_load_relaxed(&entry->conn), owner))
            request_id = owner;
    }
    errno = saved_errno;
    return request_id;
}

void rp_follow_forget(int fd)
{
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, false);
    if (entry == NULL)
        return;
    rp_atomic_store_relaxed(&entry->owner, 0);
    rp_atomic_store_relaxed(&entry->kind, FOLLOW_KIND_UNKNOWN);
    rp_atomic_store_relaxed(&entry->options, 0);
    rp_atomic_store_relaxed(&entry->peer, RP_PEER_UNKNOWN);
}

void rp_follow_duplicated(int from, int to)
{
    struct follow_entry *source = rp_fd_map_entry(&follow_map, from, false);
    if (source == NULL)
        return;
    struct follow_entry copy = {
        .owner = rp_atomic_load_relaxed(&source->owner),
        .conn = rp_atomic_load_relaxed(&source->conn),
        .kind = rp_atomic_load_relaxed(&source->kind),
        .options = rp_atomic_load_relaxed(&source->options),
        .peer = rp_atomic_load_relaxed(&source->peer),
    };
    if (copy.owner == 0 && copy.kind == FOLLOW_KIND_UNKNOWN && copy.options == 0)
        return;
    int saved_errno = errno;
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, to, true);
    errno = saved_errno;
    if (entry == NULL)
        return;
    rp_atomic_store_relaxed(&entry->conn, copy.conn);
    rp_atomic_store_relaxed(&entry->owner, copy.owner);
    rp_atomic_store_relaxed(&entry->kind, copy.kind);
    rp_atomic_store_relaxed(&entry->options, copy.options);
    rp_atomic_store_relaxed(&entry->peer, copy.peer);
}

void rp_follow_name_peer(int fd, const struct sockaddr *address, socklen_t length)
{
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, false);
    if (entry != NULL)
        rp_atomic_store_relaxed(&entry->peer, rp_peer_name_intern(address, length));
}

uint16_t rp_follow_peer(int fd, uint64_t request_id)
{
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, false);
    if (entry == NULL || request_id == 0 ||
        rp_atomic_load_relaxed(&entry->owner) != request_id)
        return RP_PEER_UNKNOWN;
    uint16_t peer = rp_atomic_load_relaxed(&entry->peer);
    if (peer == RP_PEER_UNKNOWN) {
        /* A socket connected before it was followed (a pooled upstream
         * connection, made at start-up): named at its first counted call. */
        struct sockaddr_storage address;
        socklen_t length = sizeof address;
        int saved_errno = errno;
        peer = getpeername(fd, (struct sockaddr *)&address, &length) == 0
                   ? rp_peer_name_intern((struct sockaddr *)&address, length)
                   : RP_PEER_UNNAMED;
        errno = saved_errno;
        rp_atomic_store_relaxed(&entry->peer, peer);
    }
    return peer;
}

uint16_t rp_follow_file(int fd)
{
    int saved_errno = errno;
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, true);
    uint16_t file = RP_PEER_UNKNOWN;
    if (entry != NULL && follow_kind_of(fd, entry) == FOLLOW_KIND_FILE) {
        file = rp_atomic_load_relaxed(&entry->peer);
        if (file == RP_PEER_UNKNOWN) {
            file = rp_peer_name_file(fd);
            if (file == RP_PEER_UNKNOWN) /* a file of no disk */
                rp_atomic_store_relaxed(&entry->kind, FOLLOW_KIND_OTHER);
            else
                rp_atomic_store_relaxed(&entry->peer, file);
        }
    }
    errno = saved_errno;
    return file;
}

bool rp_follow_is_stream(int fd)
{
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, true);
    return entry != NULL && follow_kind_of(fd, entry) == FOLLOW_KIND_STREAM;
}

void rp_follow_set_options(int fd, unsigned mask, bool on)
{
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, on);
    if (entry == NULL)
        return;
    if (on)
        rp_atomic_fetch_or_relaxed(&entry->options, (uint8_t)mask);
    else
        rp_atomic_fetch_and_relaxed(&entry->options, (uint8_t)~mask);
}

unsigned rp_follow_options(int fd)
{
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, false);
    return entry != NULL ? rp_atomic_load_relaxed(&entry->options) : 0;
}

bool rp_follow_belongs_to_current(int fd, const struct rp_thread *thread)
{
    uint64_t current = thread->current_request;
    if (current == 0)
        return false;
    struct rp_conn *conn = rp_conn_table_get(fd);
    if (conn != NULL)
        return conn == thread->current_conn;
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, false);
    return entry != NULL &&
           rp_atomic_load_relaxed(&entry->owner) == current;
}

enum rp_follow_role rp_follow_role(int fd)
{
    if (rp_conn_table_get(fd) != NULL)
        return RP_FOLLOW_ROLE_REQUEST;
    struct follow_entry *entry = rp_fd_map_entry(&follow_map, fd, false);
    if (entry == NULL)
        return RP_FOLLOW_ROLE_NONE;
    if (rp_atomic_load_relaxed(&entry->options) & RP_FOLLOW_LISTENER)
        return RP_FOLLOW_ROLE_LISTENER;
    return rp_atomic_load_relaxed(&entry->owner) != 0 ? RP_FOLLOW_ROLE_REQUEST
                                                                : RP_FOLLOW_ROLE_NONE;
}

bool rp_follow_wakes_loop(int fd, const struct rp_thread *thread)
{
    switch (rp_follow_role(fd)) {
    case RP_FOLLOW_ROLE_LISTENER:
        return true;
    case RP_FOLLOW_ROLE_REQUEST:
        return !rp_follow_belongs_to_current(fd, thread);
    default:
        return false;
    }
}

/* Writes only to entries with an owner: each page written costs the
 * child a copy. */
static void follow_forget_owner(void *entry)
{
    struct follow_entry *followed = entry;
    if (followed->owner != 0)
        followed->owner = 0;
}

void rp_follow_forget_owners(void)
{
    rp_fd_map_visit(&follow_map, follow_forget_owner);
}
