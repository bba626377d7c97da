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
#include <stdbool.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn_table.h"
#include "connection.h"
#include "follow.h"
#include "interpose.h"
#include "process.h"
#include "real.h"
#include "thread.h"

#define RP_EXPORT __attribute__((visibility("default")))

/* glibc declares these only for fortified builds. */
ssize_t __read_chk(int fd, void *buffer, size_t count, size_t size);
ssize_t __recv_chk(int fd, void *buffer, size_t count, size_t size, int flags);
ssize_t __recvfrom_chk(int fd, void *buffer, size_t count, size_t size, int flags,
                       struct sockaddr *address, socklen_t *length);

/* Whether reqprof looks at calls on this thread at all. */
static inline bool interpose_active(void)
{
    return rp_process.enabled && !rp_thread_is_internal;
}

static void interpose_accepted(int fd)
{
    if (fd >= 0 && interpose_active())
        rp_connection_accepted(fd);
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
    int result = RP_REAL(accept)(fd, address, length);
    interpose_accepted(result);
    return result;
}

RP_EXPORT int accept4(int fd, struct sockaddr *address, socklen_t *length,
                      int flags)
{
    int result = RP_REAL(accept4)(fd, address, length, flags);
    interpose_accepted(result);
    return result;
}

RP_EXPORT ssize_t read(int fd, void *buffer, size_t count)
{
    ssize_t result = RP_REAL(read)(fd, buffer, count);
    interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t __read_chk(int fd, void *buffer, size_t count, size_t size)
{
    ssize_t result = RP_REAL(__read_chk)(fd, buffer, count, size);
    interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iov_count)
{
    ssize_t result = RP_REAL(readv)(fd, iov, iov_count);
    interpose_received(fd, iov, iov_count, result);
    return result;
}

/* MSG_PEEK leaves the bytes in the socket: they will be read again. */
RP_EXPORT ssize_t recv(int fd, void *buffer, size_t count, int flags)
{
    ssize_t result = RP_REAL(recv)(fd, buffer, count, flags);
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t __recv_chk(int fd, void *buffer, size_t count, size_t size,
                             int flags)
{
    ssize_t result = RP_REAL(__recv_chk)(fd, buffer, count, size, flags);
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t __recvfrom_chk(int fd, void *buffer, size_t count, size_t size,
                                 int flags, struct sockaddr *address,
                                 socklen_t *length)
{
    ssize_t result =
        RP_REAL(__recvfrom_chk)(fd, buffer, count, size, flags, address, length);
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t recvfrom(int fd, void *buffer, size_t count, int flags,
                           struct sockaddr *address, socklen_t *length)
{
    ssize_t result = RP_REAL(recvfrom)(fd, buffer, count, flags, address, length);
    if (!(flags & MSG_PEEK))
        interpose_received_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t recvmsg(int fd, struct msghdr *message, int flags)
{
    ssize_t result = RP_REAL(recvmsg)(fd, message, flags);
    if (!(flags & MSG_PEEK))
        interpose_received(fd, message->msg_iov, (int)message->msg_iovlen, result);
    return result;
}

RP_EXPORT ssize_t write(int fd, const void *buffer, size_t count)
{
    ssize_t result = RP_REAL(write)(fd, buffer, count);
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iov_count)
{
    ssize_t result = RP_REAL(writev)(fd, iov, iov_count);
    interpose_sent(fd, iov, iov_count, result);
    return result;
}

RP_EXPORT ssize_t send(int fd, const void *buffer, size_t count, int flags)
{
    ssize_t result = RP_REAL(send)(fd, buffer, count, flags);
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t sendto(int fd, const void *buffer, size_t count, int flags,
                         const struct sockaddr *address, socklen_t length)
{
    ssize_t result = RP_REAL(sendto)(fd, buffer, count, flags, address, length);
    interpose_sent_buffer(fd, buffer, result);
    return result;
}

RP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *message, int flags)
{
    ssize_t result = RP_REAL(sendmsg)(fd, message, flags);
    interpose_sent(fd, message->msg_iov, (int)message->msg_iovlen, result);
    return result;
}

RP_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    ssize_t result = RP_REAL(sendfile)(out_fd, in_fd, offset, count);
    interpose_sent(out_fd, NULL, 0, result);
    return result;
}

RP_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
    ssize_t result = RP_REAL(sendfile64)(out_fd, in_fd, offset, count);
    interpose_sent(out_fd, NULL, 0, result);
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
    rp_interpose_closing(fd);
    return RP_REAL(close)(fd);
}
