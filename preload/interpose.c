/*
 * The libc calls reqprof interposes: the only symbols libreqprof.so
 * exports (exports.map).
 *
 * Each wrapper makes the real call first and returns exactly what it
 * returned, with errno as it left it. Only then, and only for an fd in the
 * connection table, does it tell the connection module what happened; for
 * every other fd (files, pipes, eventfds, the listening socket) the cost is
 * one table lookup.
 */
/* The wrappers below are the real definitions of these names: none of
 * glibc's fortify inlines may stand in for them. */
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn_table.h"
#include "connection.h"
#include "follow.h"
#include "interpose.h"
#include "wait.h"
#include "process.h"
#include "real.h"
#include "thread.h"
#include "unwind.h"

#define RP_EXPORT __attribute__((visibility("default")))

/* glibc declares these only for fortified builds. */
ssize_t __read_chk(int fd, void *buffer, size_t count, size_t size);
ssize_t __recv_chk(int fd, void *buffer, size_t count, size_t size, int flags);
ssize_t __recvfrom_chk(int fd, void *buffer, size_t count, size_t size, int flags,
                       struct sockaddr *address, socklen_t *length);

/* Whether reqprof looks at calls on this thread at all. */
static inline bool interpose_active(void)
{
    return rp_process.enabled && !rp_thread_is_internal && !rp_unwind_active;
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
        !interpose_active() || !rp_follow_has_timeout(fd))
        return NULL;
    return rp_wait_begin(function);
}

/* interpose_receive_begin's answer when the caller must make the call. */
#define INTERPOSE_CALL (-2)

/*
 * Before a read of fd into message's buffers. On a socket with a timeout
 * it is a quiet wait (interpose_begin). Otherwise, while the thread's
 * timer runs for a request, a read that blocks (a client that sent half a
 * request and stalled, a slow upstream) would take a tick every interval,
 * each waking the thread for nothing. So the read is first made without
 * blocking, as recvmsg with MSG_DONTWAIT into the same buffers: what it
 * answers is the answer, unless it would block on a socket that blocks.
 * Only then is the timer disarmed, for the real call to block in as a
 * quiet wait of the request.
 *
 * Returns the probe's result, or INTERPOSE_CALL with the quiet wait (or
 * NULL) in *quiet for the caller to make the real call and rp_wait_end it.
 * MSG_WAITALL is not probed: without blocking it would return less.
 */
static ssize_t interpose_receive_begin(int fd, struct msghdr *message, int flags,
                                       void *function, struct rp_thread **quiet)
{
    *quiet = interpose_begin(fd, function);
    struct rp_thread *thread = rp_thread_state;
    if (*quiet != NULL || thread == NULL || !thread->armed ||
        thread->current_request == 0 || (flags & (MSG_WAITALL | MSG_DONTWAIT)) ||
        !interpose_active() || !rp_follow_belongs_to_current(fd, thread))
        return INTERPOSE_CALL;
    int saved_errno = errno;
    ssize_t result = RP_REAL(recvmsg)(fd, message, flags | MSG_DONTWAIT);
    if (result >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        return result;
    int status = fcntl(fd, F_GETFL);
    if (status >= 0 && (status & O_NONBLOCK)) {
        errno = EAGAIN;
        return result; /* what the real call would have said */
    }
    /* The real call finds errno as the server left it. */
    errno = saved_errno;
    *quiet = rp_wait_begin(function);
    return INTERPOSE_CALL;
}

/* A message over one buffer, for interpose_receive_begin. */
static inline struct msghdr interpose_message(struct iovec *piece)
{
    return (struct msghdr){.msg_iov = piece, .msg_iovlen = 1};
}

/*
 * A socket the current request connects is that request's upstream from
 * the start: an event loop connects without blocking and writes the
 * upstream request only on a later turn, after it went idle. A blocking
 * connect that a signal interrupts fails with EINTR and then EALREADY, so
 * while on a request it is a quiet wait.
 */
RP_EXPORT int connect(int fd, const struct sockaddr *address, socklen_t length)
{
    struct rp_thread *quiet =
        interpose_active() ? rp_wait_begin((void *)RP_REAL(connect)) : NULL;
    int result = RP_REAL(connect)(fd, address, length);
    rp_wait_end(quiet);
    if (quiet != NULL && (result == 0 || errno == EINPROGRESS))
        rp_follow_sent(fd);
    return result;
}

/* accept returned fd from listener: a new client connection. It inherits
 * the listener's socket timeouts, and with them their EINTR behaviour. */
static void interpose_accepted(int listener, int fd)
{
    if (fd < 0 || !interpose_active())
        return;
    rp_connection_accepted(fd);
    if (rp_follow_has_timeout(listener))
        rp_follow_set_timeout(fd, true);
}

/* The server read length bytes from fd into iov. */
static void interpose_received(int fd, const struct iovec *iov, int iov_count,
                               ssize_t length)
{
    if (length <= 0 || !interpose_active())
        return;
    if (rp_conn_table_get(fd) != NULL)
        rp_connection_received(fd, iov, iov_count, (size_t)length);
    else
        rp_follow_received(fd);
}

/* The server wrote length bytes from iov to fd (iov NULL: unseen). */
static void interpose_sent(int fd, const struct iovec *iov, int iov_count,
                           ssize_t length)
{
    if (length <= 0 || !interpose_active())
        return;
    if (rp_conn_table_get(fd) == NULL)
        rp_follow_sent(fd);
    else if (iov == NULL)
        rp_connection_sent_unseen(fd, (size_t)length);
    else
        rp_connection_sent(fd, iov, iov_count, (size_t)length);
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
    if (__builtin_expect(rp_unwind_active, 0))
        return rp_unwind_fake_io(RP_UNWIND_IO_READ, NULL);
    struct iovec piece = {buffer, count};
    struct msghdr message = interpose_message(&piece);
    struct rp_thread *quiet;
    ssize_t result = interpose_receive_begin(fd, &message, 0, (void *)RP_REAL(read), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(read)(fd, buffer, count);
        rp_wait_end(quiet);
    }
    interpose_received_buffer(fd, buffer, result);
    return result;
}

/* A count beyond the buffer's size goes to the real call, which aborts. */
RP_EXPORT ssize_t __read_chk(int fd, void *buffer, size_t count, size_t size)
{
    struct iovec piece = {buffer, count};
    struct msghdr message = interpose_message(&piece);
    struct rp_thread *quiet = NULL;
    ssize_t result = count <= size ? interpose_receive_begin(fd, &message, 0,
                                                             (void *)RP_REAL(__read_chk),
                                                             &quiet)
                                   : INTERPOSE_CALL;
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(__read_chk)(fd, buffer, count, size);
        rp_wait_end(quiet);
    }
    interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iov_count)
{
    struct msghdr message = {.msg_iov = (struct iovec *)iov,
                             .msg_iovlen = iov_count > 0 ? (size_t)iov_count : 0};
    struct rp_thread *quiet = NULL;
    ssize_t result = iov_count > 0 ? interpose_receive_begin(fd, &message, 0,
                                                             (void *)RP_REAL(readv),
                                                             &quiet)
                                   : INTERPOSE_CALL;
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(readv)(fd, iov, iov_count);
        rp_wait_end(quiet);
    }
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
        rp_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
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
        rp_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    return result;
}

/* The probe reports the sender's address as recvfrom would, length too. */
static ssize_t interpose_recvfrom_begin(int fd, struct iovec *piece, int flags,
                                        struct sockaddr *address, socklen_t *length,
                                        void *function, struct rp_thread **quiet)
{
    struct msghdr message = interpose_message(piece);
    if (address != NULL && length != NULL) {
        message.msg_name = address;
        message.msg_namelen = *length;
    }
    ssize_t result = interpose_receive_begin(fd, &message, flags, function, quiet);
    if (result >= 0 && address != NULL && length != NULL)
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
        rp_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
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
        rp_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t recvmsg(int fd, struct msghdr *message, int flags)
{
    struct rp_thread *quiet;
    ssize_t result = interpose_receive_begin(fd, message, flags,
                                             (void *)RP_REAL(recvmsg), &quiet);
    if (result == INTERPOSE_CALL) {
        result = RP_REAL(recvmsg)(fd, message, flags);
        rp_wait_end(quiet);
    }
    if (!(flags & MSG_PEEK))
        interpose_received(fd, message->msg_iov, (int)message->msg_iovlen, result);
    return result;
}

RP_EXPORT ssize_t write(int fd, const void *buffer, size_t count)
{
    if (__builtin_expect(rp_unwind_active, 0))
        return rp_unwind_fake_io(RP_UNWIND_IO_WRITE, buffer);
    struct rp_thread *quiet = interpose_begin(fd, (void *)RP_REAL(write));
    ssize_t result = RP_REAL(write)(fd, buffer, count);
    rp_wait_end(quiet);
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iov_count)
{
    struct rp_thread *quiet = interpose_begin(fd, (void *)RP_REAL(writev));
    ssize_t result = RP_REAL(writev)(fd, iov, iov_count);
    rp_wait_end(quiet);
    interpose_sent(fd, iov, iov_count, result);
    return result;
}

RP_EXPORT ssize_t send(int fd, const void *buffer, size_t count, int flags)
{
    struct rp_thread *quiet = interpose_begin(fd, (void *)RP_REAL(send));
    ssize_t result = RP_REAL(send)(fd, buffer, count, flags);
    rp_wait_end(quiet);
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t sendto(int fd, const void *buffer, size_t count, int flags,
                         const struct sockaddr *address, socklen_t length)
{
    struct rp_thread *quiet = interpose_begin(fd, (void *)RP_REAL(sendto));
    ssize_t result = RP_REAL(sendto)(fd, buffer, count, flags, address, length);
    rp_wait_end(quiet);
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *message, int flags)
{
    struct rp_thread *quiet = interpose_begin(fd, (void *)RP_REAL(sendmsg));
    ssize_t result = RP_REAL(sendmsg)(fd, message, flags);
    rp_wait_end(quiet);
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
        length >= sizeof(struct timeval) && interpose_active()) {
        const struct timeval *timeout = value;
        /* Either timeout makes socket calls on fd fail with EINTR; the other
         * one may still be set, so a zero only clears on a fresh socket. */
        if (timeout->tv_sec != 0 || timeout->tv_usec != 0)
            rp_follow_set_timeout(fd, true);
    }
    return result;
}

RP_EXPORT int shutdown(int fd, int how)
{
    int result = RP_REAL(shutdown)(fd, how);
    if (result == 0 && how != SHUT_RD && interpose_active() &&
        rp_conn_table_get(fd) != NULL)
        rp_connection_write_shutdown(fd);
    return result;
}

/* Called before the real close (and by syscall(SYS_close, fd)). */
void rp_interpose_closing(int fd)
{
    if (!interpose_active())
        return;
    if (rp_conn_table_get(fd) != NULL)
        rp_connection_closing(fd);
    else
        rp_follow_forget(fd);
}

/* The connection ends before the real close: once the fd is closed another
 * thread's accept may reuse its number. */
RP_EXPORT int close(int fd)
{
    if (__builtin_expect(rp_unwind_active, 0))
        return (int)rp_unwind_fake_io(RP_UNWIND_IO_CLOSE, NULL);
    rp_interpose_closing(fd);
    return RP_REAL(close)(fd);
}
