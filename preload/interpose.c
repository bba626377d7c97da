/*
 * The socket calls reqprof interposes (interposed.def lists every
 * interposed function; waits, handoffs and process-level calls have
 * interpose_wait.c, interpose_handoff.c and interpose_process.c).
 *
 * Each wrapper returns exactly what the real call would have returned,
 * with errno as it would have left it. Most act after the real call: only
 * for an fd in the connection table or a request's upstream do they tell
 * the connection module what happened; for every other fd (files, pipes,
 * eventfds, the listening socket) the cost is a table lookup or two, and
 * a read of a regular file while the thread works on a request reads the
 * clock before and after the real call (a disk read: peer_wait.h). Two
 * act before it:
 * - a call that may block while the thread's timer runs for a request is
 *   kept out of the timer's way, by a first try without blocking whose
 *   answer stands for the real call's (interpose_probes) or by making the
 *   real call a quiet wait (interpose_begin);
 * - close ends the fd's connection before the real close, as once the
 *   number is free another thread's accept may reuse it.
 */
/* The wrappers below are the real definitions of these names: none of
 * glibc's fortify inlines may stand in for them. */
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "conn_table.h"
#include "connection.h"
#include "epoll_set.h"
#include "follow.h"
#include "handoff.h"
#include "interpose.h"
#include "peer_wait.h"
#include "wait.h"
#include "process.h"
#include "real.h"
#include "start_line.h"
#include "thread.h"

/* glibc declares these only for fortified builds. */
ssize_t __read_chk(int fd, void *buffer, size_t count, size_t size);
ssize_t __recv_chk(int fd, void *buffer, size_t count, size_t size, int flags);
ssize_t __recvfrom_chk(int fd, void *buffer, size_t count, size_t size, int flags,
                       struct sockaddr *address, socklen_t *length);

/* rp_wait_begin for a socket call, marking when the real call begins:
 * the wait on its peer is the call's, not reqprof's walk of the stack. */
static struct rp_thread *interpose_quiet_begin(void *function)
{
    struct rp_thread *quiet = rp_wait_begin(function);
    if (quiet != NULL)
        quiet->peer_call_start_ns = rp_monotonic_ns();
    return quiet;
}

/*
 * Before a socket call that may block: on a socket with a timeout, while
 * the thread works on a request, the call is a quiet wait (see follow.h).
 * Returns the thread to pass to rp_wait_end, or NULL.
 */
static inline struct rp_thread *interpose_begin(int fd, void *function)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL || (thread->current_request == 0 && !thread->armed) ||
        !rp_interpose_active() || !(rp_follow_options(fd) & RP_FOLLOW_TIMEOUT))
        return NULL;
    return interpose_quiet_begin(function);
}

/* Ends the quiet wait of a read or write call (rp_wait_end): the time it
 * blocked is the call's wait on its peer, which the call's accounting
 * takes (rp_peer_wait_account, after the call). */
static void interpose_wait_end(struct rp_thread *quiet)
{
    if (quiet == NULL)
        return;
    quiet->peer_blocked_ns += rp_monotonic_ns() - quiet->peer_call_start_ns;
    rp_wait_end(quiet);
}

/* What interpose_receive_begin and interpose_send_begin answer when the
 * caller must make the real call. */
#define INTERPOSE_CALL (-2)

/* Whether fd is a blocking socket, whose real call would wait. Keeps
 * errno. */
static bool interpose_blocks(int fd)
{
    int saved_errno = errno;
    int status = RP_REAL(fcntl)(fd, F_GETFL);
    errno = saved_errno;
    return status >= 0 && !(status & O_NONBLOCK);
}

/*
 * While the thread's timer runs for a request, a socket call that blocks
 * (a client that sent half a request and stalled, or reads its response
 * slowly; a slow upstream) would take a tick every interval, each waking
 * the thread for nothing, and a tick into a blocking write that has sent
 * part of its bytes makes it return short. So such a call is first made
 * without blocking, as recvmsg or sendmsg with MSG_DONTWAIT on the same
 * buffers (on a stream socket, read and write are those calls with no
 * flags). What it answers is the answer, unless it would block on a
 * socket that blocks: only then is the timer disarmed, for the real call
 * to block in as a quiet wait of the request. A call that cannot be
 * probed so (MSG_WAITALL would return less, control data would be sent
 * twice, SO_RCVLOWAT would wait for more) is a quiet wait if its socket
 * blocks.
 *
 * This is whether a socket call on fd with flags is the kind that is
 * probed: the thread's timer runs for a request that fd is of, and the
 * call may block on a stream socket.
 */
static bool interpose_probes(int fd, int flags)
{
    struct rp_thread *thread = rp_thread_state;
    return thread != NULL && thread->armed && thread->current_request != 0 &&
           !(flags & MSG_DONTWAIT) && rp_interpose_active() &&
           rp_follow_belongs_to_current(fd, thread) && rp_follow_is_stream(fd);
}

/* A call that is the kind probed but whose arguments rule the probe out:
 * a quiet wait if its socket blocks. Returns INTERPOSE_CALL. */
static ssize_t interpose_unprobed(int fd, void *function, struct rp_thread **quiet)
{
    if (interpose_blocks(fd))
        *quiet = interpose_quiet_begin(function);
    return INTERPOSE_CALL;
}

/* What a probe that failed (-1, errno set) means for the call. */
enum interpose_probe_failure {
    INTERPOSE_PROBE_ANSWERS, /* the call's own failure, or EAGAIN on a
                              * non-blocking socket: the answer */
    INTERPOSE_PROBE_BLOCKS,  /* it would block on a blocking socket */
    INTERPOSE_PROBE_REFUSED, /* the probe itself was refused (no socket,
                              * a seccomp filter): the real call decides */
};

/* Classifies a failed probe; errno is the server's again unless the probe
 * answers. */
static enum interpose_probe_failure interpose_probe_failed(int fd, int saved_errno)
{
    if (errno == ENOTSOCK || errno == EPERM || errno == ENOSYS) {
        errno = saved_errno;
        return INTERPOSE_PROBE_REFUSED;
    }
    if (errno != EAGAIN || !interpose_blocks(fd))
        return INTERPOSE_PROBE_ANSWERS;
    errno = saved_errno;
    return INTERPOSE_PROBE_BLOCKS;
}

/* Bytes message's buffers hold. */
static size_t interpose_message_length(const struct msghdr *message)
{
    size_t total = 0;
    for (size_t i = 0; i < message->msg_iovlen; i++)
        total += message->msg_iov[i].iov_len;
    return total;
}

/*
 * Before a read of fd into message's buffers (see interpose_probes; on a
 * socket with a timeout it is a quiet wait, interpose_begin). Returns the
 * probe's result, or INTERPOSE_CALL with the quiet wait (or NULL) in
 * *quiet for the caller to make the real call and interpose_wait_end
 * it. A read of nothing is not probed: on a datagram socket it would
 * take one.
 */
static ssize_t interpose_receive_begin(int fd, struct msghdr *message, int flags,
                                       void *function, struct rp_thread **quiet)
{
    *quiet = interpose_begin(fd, function);
    if (*quiet != NULL || !interpose_probes(fd, flags))
        return INTERPOSE_CALL;
    if ((flags & MSG_WAITALL) || message->msg_iovlen > IOV_MAX ||
        interpose_message_length(message) == 0 ||
        (rp_follow_options(fd) & RP_FOLLOW_LOW_MARK))
        return interpose_unprobed(fd, function, quiet);
    int saved_errno = errno;
    ssize_t result = RP_REAL(recvmsg)(fd, message, flags | MSG_DONTWAIT);
    if (result >= 0)
        return result;
    switch (interpose_probe_failed(fd, saved_errno)) {
    case INTERPOSE_PROBE_ANSWERS:
        return result;
    case INTERPOSE_PROBE_BLOCKS:
        *quiet = interpose_quiet_begin(function);
        return INTERPOSE_CALL;
    default:
        return INTERPOSE_CALL;
    }
}

/* Room for the iovecs of a write that interpose_send_begin probes; longer
 * vectors are not probed. */
#define INTERPOSE_IOV_MAX 64

/* Writes what message holds past its first done bytes, blocking, as a
 * quiet wait; returns what the call returned. */
static ssize_t interpose_send_rest(int fd, const struct msghdr *message, size_t done,
                                   int flags, void *function)
{
    struct iovec rest[INTERPOSE_IOV_MAX];
    struct msghdr rest_message = *message;
    rest_message.msg_iov = rest;
    rest_message.msg_iovlen = 0;
    for (size_t i = 0; i < message->msg_iovlen; i++) {
        struct iovec piece = message->msg_iov[i];
        if (done >= piece.iov_len) {
            done -= piece.iov_len;
            continue;
        }
        piece.iov_base = (char *)piece.iov_base + done;
        piece.iov_len -= done;
        done = 0;
        rest[rest_message.msg_iovlen++] = piece;
    }
    struct rp_thread *waiting = interpose_quiet_begin(function);
    ssize_t result = RP_REAL(sendmsg)(fd, &rest_message, flags);
    interpose_wait_end(waiting);
    return result;
}

/*
 * Before a write of message's bytes to fd (see interpose_probes; on a socket
 * with a timeout it is a quiet wait, interpose_begin). A blocking write
 * that sent part of its bytes without blocking sends the rest in a second
 * call, and returns both counts added, as one blocking write would have.
 * Only plain bytes are split so: control data, MSG_OOB, MSG_EOR and
 * MSG_ZEROCOPY belong to one call. Returns the write's result, or
 * INTERPOSE_CALL with the quiet wait (or NULL) in *quiet for the caller
 * to make the real call.
 */
static ssize_t interpose_send_begin(int fd, const struct msghdr *message, int flags,
                                    void *function, struct rp_thread **quiet)
{
    *quiet = interpose_begin(fd, function);
    if (*quiet != NULL || !interpose_probes(fd, flags))
        return INTERPOSE_CALL;
    if (message->msg_iovlen > INTERPOSE_IOV_MAX || message->msg_controllen != 0 ||
        (flags & (MSG_OOB | MSG_EOR | MSG_ZEROCOPY)))
        return interpose_unprobed(fd, function, quiet);
    int saved_errno = errno;
    ssize_t sent = RP_REAL(sendmsg)(fd, message, flags | MSG_DONTWAIT);
    if (sent < 0) {
        switch (interpose_probe_failed(fd, saved_errno)) {
        case INTERPOSE_PROBE_ANSWERS:
            return sent;
        case INTERPOSE_PROBE_BLOCKS:
            return interpose_send_rest(fd, message, 0, flags, function);
        default:
            return INTERPOSE_CALL;
        }
    }
    if ((size_t)sent == interpose_message_length(message) || !interpose_blocks(fd))
        return sent; /* all sent, or as much as a non-blocking socket takes */
    /* Bytes were sent: a failure of the rest shows at the server's next
     * call, with its SIGPIPE, as it would after a short write. */
    ssize_t more = interpose_send_rest(fd, message, (size_t)sent,
                                       flags | MSG_NOSIGNAL, function);
    errno = saved_errno;
    return more < 0 ? sent : sent + more;
}

/* A message over one buffer, for the probes. */
static inline struct msghdr interpose_message(struct iovec *piece)
{
    return (struct msghdr){.msg_iov = piece, .msg_iovlen = 1};
}

/* A connect on fd succeeded after blocked_ns: a wait on its peer. */
static void interpose_connected(int fd, uint64_t blocked_ns)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread != NULL && thread->current_request != 0)
        rp_peer_wait_record(thread, fd, RP_PEER_WAIT_CONNECT, 0, blocked_ns);
}

/*
 * A socket the current request connects is that request's upstream from
 * the start: an event loop connects without blocking and writes the
 * upstream request only on a later turn, after it went idle. A blocking
 * connect is restarted after a tick (SA_RESTART), and its ticks are the
 * request's wait; only with SO_SNDTIMEO would one break it.
 */
RP_EXPORT int connect(int fd, const struct sockaddr *address, socklen_t length)
{
    struct rp_thread *thread = rp_thread_state;
    bool on_request = thread != NULL && thread->current_request != 0;
    uint64_t start_ns = on_request ? rp_monotonic_ns() : 0;
    struct rp_thread *quiet = interpose_begin(fd, (void *)RP_REAL(connect));
    int result = RP_REAL(connect)(fd, address, length);
    rp_wait_end(quiet);
    if (on_request && rp_interpose_active() && (result == 0 || errno == EINPROGRESS)) {
        rp_follow_sent(fd);
        rp_follow_name_peer(fd, address, length);
        /* A connect under way (EINPROGRESS) did not wait. */
        if (result == 0)
            interpose_connected(fd, rp_monotonic_ns() - start_ns);
    }
    return result;
}

/* accept returned fd from listener: a new client connection. It inherits
 * the listener's socket timeouts, and with them their EINTR behaviour, and
 * its SO_RCVLOWAT. The listener is known as one from then on, if listen
 * was not seen (a listener inherited from a parent that ran without
 * reqprof, or passed by systemd). */
static void interpose_accepted(int listener, int fd)
{
    if (fd < 0 || !rp_interpose_active())
        return;
    rp_start_line_say();
    rp_connection_accepted(fd);
    unsigned options = rp_follow_options(listener);
    if (!(options & RP_FOLLOW_LISTENER)) {
        int saved_errno = errno;
        rp_follow_set_options(listener, RP_FOLLOW_LISTENER, true);
        errno = saved_errno;
    }
    unsigned inherited = options & ~(unsigned)RP_FOLLOW_LISTENER;
    if (inherited != 0)
        rp_follow_set_options(fd, inherited, true);
}

/* A wait on a listening socket is an event loop's, whatever request the
 * thread works on (rp_follow_wakes_loop). A server's first listen is when
 * it starts serving under reqprof: the start line. */
RP_EXPORT int listen(int fd, int backlog)
{
    int result = RP_REAL(listen)(fd, backlog);
    if (result == 0 && rp_interpose_active()) {
        rp_start_line_say();
        int saved_errno = errno;
        rp_follow_set_options(fd, RP_FOLLOW_LISTENER, true);
        errno = saved_errno;
    }
    return result;
}

/* The server read length bytes from fd into iov (length: the call's
 * result); the call's wait is counted once reqprof followed it. */
static void interpose_received(int fd, const struct iovec *iov, int iov_count,
                               ssize_t length)
{
    if (length > 0 && rp_interpose_active()) {
        if (rp_conn_table_get(fd) != NULL) {
            rp_connection_received(fd, iov, iov_count, (size_t)length);
            rp_peer_wait_forget(); /* a client is no peer */
            return;
        }
        rp_follow_received(fd);
        rp_handoff_fd_read(fd);
    }
    rp_peer_wait_account(fd, RP_PEER_WAIT_READ, length);
}

/* A read with MSG_PEEK returned result: its bytes will be read again,
 * but its wait is the request's now. */
static void interpose_peeked(int fd, ssize_t result)
{
    rp_peer_wait_account(fd, RP_PEER_WAIT_READ, result > 0 ? 0 : result);
}

/* The server wrote length bytes from iov to fd (iov NULL: unseen; length:
 * the call's result); the call's wait is counted once reqprof followed
 * it. */
static void interpose_sent(int fd, const struct iovec *iov, int iov_count,
                           ssize_t length)
{
    if (length > 0 && rp_interpose_active()) {
        if (rp_conn_table_get(fd) != NULL) {
            if (iov == NULL)
                rp_connection_sent_unseen(fd, (size_t)length);
            else
                rp_connection_sent(fd, iov, iov_count, (size_t)length);
            rp_peer_wait_forget(); /* a client is no peer */
            return;
        }
        rp_follow_sent(fd);
        rp_handoff_fd_written(fd);
    }
    rp_peer_wait_account(fd, RP_PEER_WAIT_WRITE, length);
}

static void interpose_received_buffer(int fd, void *buffer, ssize_t length)
{
    struct iovec piece = {buffer, length > 0 ? (size_t)length : 0};
    interpose_received(fd, &piece, 1, length);
}

static void interpose_sent_buffer(int fd, const void *buffer, ssize_t length)
{
    struct iovec piece = {(void *)buffer, length > 0 ? (size_t)length : 0};
    interpose_sent(fd, &piece, 1, length);
}

RP_EXPORT int accept(int fd, struct sockaddr *address, socklen_t *length)
{
    struct rp_thread *quiet = interpose_begin(fd, (void *)RP_REAL(accept));
    int result = RP_REAL(accept)(fd, address, length);
    rp_wait_end(quiet);
    interpose_accepted(fd, result);
    return result;
}

RP_EXPORT int accept4(int fd, struct sockaddr *address, socklen_t *length,
                      int flags)
{
    struct rp_thread *quiet = interpose_begin(fd, (void *)RP_REAL(accept4));
    int result = RP_REAL(accept4)(fd, address, length, flags);
    rp_wait_end(quiet);
    interpose_accepted(fd, result);
    return result;
}

RP_EXPORT ssize_t read(int fd, void *buffer, size_t count)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    struct iovec piece = {buffer, count};
    struct msghdr message = interpose_message(&piece);
    struct rp_thread *quiet;
    ssize_t result = interpose_receive_begin(fd, &message, 0, (void *)RP_REAL(read), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(read)(fd, buffer, count);
        interpose_wait_end(quiet);
    }
    rp_disk_read_end(disk, result);
    interpose_received_buffer(fd, buffer, result);
    return result;
}

/* A count beyond the buffer's size goes to the real call, which aborts. */
RP_EXPORT ssize_t __read_chk(int fd, void *buffer, size_t count, size_t size)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    struct iovec piece = {buffer, count};
    struct msghdr message = interpose_message(&piece);
    struct rp_thread *quiet = NULL;
    ssize_t result = count <= size ? interpose_receive_begin(fd, &message, 0,
                                                             (void *)RP_REAL(__read_chk),
                                                             &quiet)
                                   : INTERPOSE_CALL;
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(__read_chk)(fd, buffer, count, size);
        interpose_wait_end(quiet);
    }
    rp_disk_read_end(disk, result);
    interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iov_count)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    struct msghdr message = {.msg_iov = (struct iovec *)iov,
                             .msg_iovlen = iov_count > 0 ? (size_t)iov_count : 0};
    struct rp_thread *quiet = NULL;
    ssize_t result = iov_count > 0 ? interpose_receive_begin(fd, &message, 0,
                                                             (void *)RP_REAL(readv),
                                                             &quiet)
                                   : INTERPOSE_CALL;
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(readv)(fd, iov, iov_count);
        interpose_wait_end(quiet);
    }
    rp_disk_read_end(disk, result);
    interpose_received(fd, iov, iov_count, result);
    return result;
}

/* MSG_PEEK leaves the bytes in the socket: they will be read again. */
RP_EXPORT ssize_t recv(int fd, void *buffer, size_t count, int flags)
{
    struct iovec piece = {buffer, count};
    struct msghdr message = interpose_message(&piece);
    struct rp_thread *quiet;
    ssize_t result = interpose_receive_begin(fd, &message, flags, (void *)RP_REAL(recv), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(recv)(fd, buffer, count, flags);
        interpose_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    else
        interpose_peeked(fd, result);
    return result;
}

RP_EXPORT ssize_t __recv_chk(int fd, void *buffer, size_t count, size_t size,
                             int flags)
{
    struct iovec piece = {buffer, count};
    struct msghdr message = interpose_message(&piece);
    struct rp_thread *quiet = NULL;
    ssize_t result = count <= size ? interpose_receive_begin(fd, &message, flags,
                                                             (void *)RP_REAL(__recv_chk),
                                                             &quiet)
                                   : INTERPOSE_CALL;
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(__recv_chk)(fd, buffer, count, size, flags);
        interpose_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    else
        interpose_peeked(fd, result);
    return result;
}

/* The probe reports the sender's address as recvfrom would, length too. */
static ssize_t interpose_recvfrom_begin(int fd, struct iovec *piece, int flags,
                                        struct sockaddr *address, socklen_t *length,
                                        void *function, struct rp_thread **quiet)
{
    /* An address without its length is the real call's EFAULT to give. */
    if (address != NULL && length == NULL) {
        *quiet = NULL;
        return INTERPOSE_CALL;
    }
    struct msghdr message = interpose_message(piece);
    if (address != NULL) {
        message.msg_name = address;
        message.msg_namelen = *length;
    }
    ssize_t result = interpose_receive_begin(fd, &message, flags, function, quiet);
    if (result >= 0 && address != NULL)
        *length = message.msg_namelen;
    return result;
}

RP_EXPORT ssize_t __recvfrom_chk(int fd, void *buffer, size_t count, size_t size,
                                 int flags, struct sockaddr *address,
                                 socklen_t *length)
{
    struct iovec piece = {buffer, count};
    struct rp_thread *quiet = NULL;
    ssize_t result = count <= size
                         ? interpose_recvfrom_begin(fd, &piece, flags, address, length,
                                                    (void *)RP_REAL(__recvfrom_chk), &quiet)
                         : INTERPOSE_CALL;
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(__recvfrom_chk)(fd, buffer, count, size, flags, address, length);
        interpose_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    else
        interpose_peeked(fd, result);
    return result;
}

RP_EXPORT ssize_t recvfrom(int fd, void *buffer, size_t count, int flags,
                           struct sockaddr *address, socklen_t *length)
{
    struct iovec piece = {buffer, count};
    struct rp_thread *quiet;
    ssize_t result = interpose_recvfrom_begin(fd, &piece, flags, address, length,
                                              (void *)RP_REAL(recvfrom), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(recvfrom)(fd, buffer, count, flags, address, length);
        interpose_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    else
        interpose_peeked(fd, result);
    return result;
}

/* A NULL message is the real call's EFAULT to give. */
RP_EXPORT ssize_t recvmsg(int fd, struct msghdr *message, int flags)
{
    if (message == NULL)
        return RP_REAL(recvmsg)(fd, message, flags);
    struct rp_thread *quiet;
    ssize_t result = interpose_receive_begin(fd, message, flags,
                                             (void *)RP_REAL(recvmsg), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(recvmsg)(fd, message, flags);
        interpose_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received(fd, message->msg_iov, (int)message->msg_iovlen, result);
    else
        interpose_peeked(fd, result);
    return result;
}

RP_EXPORT ssize_t write(int fd, const void *buffer, size_t count)
{
    struct iovec piece = {(void *)buffer, count};
    struct msghdr message = interpose_message(&piece);
    struct rp_thread *quiet;
    ssize_t result = interpose_send_begin(fd, &message, 0, (void *)RP_REAL(write), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(write)(fd, buffer, count);
        interpose_wait_end(quiet);
    }
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iov_count)
{
    struct msghdr message = {.msg_iov = (struct iovec *)iov,
                             .msg_iovlen = iov_count > 0 ? (size_t)iov_count : 0};
    struct rp_thread *quiet = NULL;
    ssize_t result = iov_count > 0 ? interpose_send_begin(fd, &message, 0,
                                                          (void *)RP_REAL(writev), &quiet)
                                   : INTERPOSE_CALL;
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(writev)(fd, iov, iov_count);
        interpose_wait_end(quiet);
    }
    interpose_sent(fd, iov, iov_count, result);
    return result;
}

RP_EXPORT ssize_t send(int fd, const void *buffer, size_t count, int flags)
{
    struct iovec piece = {(void *)buffer, count};
    struct msghdr message = interpose_message(&piece);
    struct rp_thread *quiet;
    ssize_t result = interpose_send_begin(fd, &message, flags, (void *)RP_REAL(send), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(send)(fd, buffer, count, flags);
        interpose_wait_end(quiet);
    }
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t sendto(int fd, const void *buffer, size_t count, int flags,
                         const struct sockaddr *address, socklen_t length)
{
    struct iovec piece = {(void *)buffer, count};
    struct msghdr message = interpose_message(&piece);
    message.msg_name = (void *)address;
    message.msg_namelen = address != NULL ? length : 0;
    struct rp_thread *quiet;
    ssize_t result = interpose_send_begin(fd, &message, flags, (void *)RP_REAL(sendto), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(sendto)(fd, buffer, count, flags, address, length);
        interpose_wait_end(quiet);
    }
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *message, int flags)
{
    if (message == NULL)
        return RP_REAL(sendmsg)(fd, message, flags);
    struct rp_thread *quiet;
    ssize_t result = interpose_send_begin(fd, message, flags, (void *)RP_REAL(sendmsg),
                                          &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(sendmsg)(fd, message, flags);
        interpose_wait_end(quiet);
    }
    interpose_sent(fd, message->msg_iov, (int)message->msg_iovlen, result);
    return result;
}

RP_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    struct rp_thread *quiet = interpose_begin(out_fd, (void *)RP_REAL(sendfile));
    ssize_t result = RP_REAL(sendfile)(out_fd, in_fd, offset, count);
    rp_wait_end(quiet);
    interpose_sent(out_fd, NULL, 0, result);
    return result;
}

RP_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
    struct rp_thread *quiet = interpose_begin(out_fd, (void *)RP_REAL(sendfile64));
    ssize_t result = RP_REAL(sendfile64)(out_fd, in_fd, offset, count);
    rp_wait_end(quiet);
    interpose_sent(out_fd, NULL, 0, result);
    return result;
}

RP_EXPORT int setsockopt(int fd, int level, int name, const void *value,
                         socklen_t length)
{
    int result = RP_REAL(setsockopt)(fd, level, name, value, length);
    if (result == 0 && level == SOL_SOCKET &&
        (name == SO_RCVTIMEO || name == SO_SNDTIMEO) && value != NULL &&
        length >= sizeof(struct timeval) && rp_interpose_active()) {
        const struct timeval *timeout = value;
        /* Either timeout makes socket calls on fd fail with EINTR; the other
         * one may still be set, so a zero only clears on a fresh socket. */
        if (timeout->tv_sec != 0 || timeout->tv_usec != 0)
            rp_follow_set_options(fd, RP_FOLLOW_TIMEOUT, true);
    }
    if (result == 0 && level == SOL_SOCKET && name == SO_RCVLOWAT && value != NULL &&
        length >= sizeof(int) && rp_interpose_active())
        rp_follow_set_options(fd, RP_FOLLOW_LOW_MARK, *(const int *)value > 1);
    return result;
}

RP_EXPORT int shutdown(int fd, int how)
{
    int result = RP_REAL(shutdown)(fd, how);
    if (result == 0 && how != SHUT_RD && rp_interpose_active() &&
        rp_conn_table_get(fd) != NULL)
        rp_connection_write_shutdown(fd);
    return result;
}

/* Called before the real close (and by syscall(SYS_close, fd)). */
void rp_interpose_closing(int fd)
{
    if (!rp_interpose_active())
        return;
    if (rp_conn_table_get(fd) != NULL)
        rp_connection_closing(fd);
    rp_epoll_set_forget(fd);
    rp_handoff_forget_fd(fd);
    rp_follow_forget(fd);
}

/* The connection ends before the real close: once the fd is closed another
 * thread's accept may reuse its number. */
RP_EXPORT int close(int fd)
{
    rp_interpose_closing(fd);
    return RP_REAL(close)(fd);
}

/*
 * fd `to` names the open socket of fd `from` now (dup, dup2, dup3,
 * F_DUPFD): busybox httpd's child moves its connection to fds 0 and 1 so.
 * What `to` named before (dup2 and dup3 close it silently) ends, or is
 * forgotten, as at its close; then `from`'s connection, or what reqprof
 * knows of it as a socket (its upstream request, its timeouts), carries
 * over.
 */
static void interpose_duplicated(int from, int to)
{
    if (to < 0 || to == from || !rp_interpose_active())
        return;
    rp_interpose_closing(to);
    rp_connection_duplicated(from, to);
    rp_follow_duplicated(from, to);
}

RP_EXPORT int dup(int fd)
{
    int result = RP_REAL(dup)(fd);
    interpose_duplicated(fd, result);
    return result;
}

RP_EXPORT int dup2(int fd, int to)
{
    int result = RP_REAL(dup2)(fd, to);
    interpose_duplicated(fd, result);
    return result;
}

RP_EXPORT int dup3(int fd, int to, int flags)
{
    int result = RP_REAL(dup3)(fd, to, flags);
    interpose_duplicated(fd, result);
    return result;
}

/* The third argument, an int or a pointer or none, is read as glibc's own
 * fcntl reads it: as a pointer-sized word. */
static int interpose_fcntl(int (*real)(int, int, ...), int fd, int command,
                           va_list arguments)
{
    void *argument = va_arg(arguments, void *);
    int result = real(fd, command, argument);
    if (command == F_DUPFD || command == F_DUPFD_CLOEXEC)
        interpose_duplicated(fd, result);
    return result;
}

RP_EXPORT int fcntl(int fd, int command, ...)
{
    va_list arguments;
    va_start(arguments, command);
    int result = interpose_fcntl(RP_REAL(fcntl), fd, command, arguments);
    va_end(arguments);
    return result;
}

/* What fcntl is called as in programs built with _FILE_OFFSET_BITS=64. */
RP_EXPORT int fcntl64(int fd, int command, ...)
{
    va_list arguments;
    va_start(arguments, command);
    int result = interpose_fcntl(RP_REAL(fcntl64), fd, command, arguments);
    va_end(arguments);
    return result;
}
