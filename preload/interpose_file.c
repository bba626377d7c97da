/*
 * Reads at an offset, which only files take (a socket or pipe answers
 * ESPIPE): each is a disk read of the thread's current request when its
 * fd is a regular file (peer_wait.h). Each returns what the real call
 * returns, with its errno; reqprof reads the clock before and after.
 */
/* The wrappers below are the real definitions of these names: none of
 * glibc's fortify inlines may stand in for them. */
#undef _FORTIFY_SOURCE
#include <sys/uio.h>
#include <unistd.h>

#include "interpose.h"
#include "peer_wait.h"
#include "real.h"

/* glibc declares these only for fortified builds. */
ssize_t __pread_chk(int fd, void *buffer, size_t count, off_t offset, size_t size);
ssize_t __pread64_chk(int fd, void *buffer, size_t count, off64_t offset, size_t size);

RP_EXPORT ssize_t pread(int fd, void *buffer, size_t count, off_t offset)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    ssize_t result = RP_REAL(pread)(fd, buffer, count, offset);
    rp_disk_read_end(disk, result);
    return result;
}

RP_EXPORT ssize_t pread64(int fd, void *buffer, size_t count, off64_t offset)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    ssize_t result = RP_REAL(pread64)(fd, buffer, count, offset);
    rp_disk_read_end(disk, result);
    return result;
}

RP_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int iov_count, off_t offset)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    ssize_t result = RP_REAL(preadv)(fd, iov, iov_count, offset);
    rp_disk_read_end(disk, result);
    return result;
}

RP_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int iov_count, off64_t offset)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    ssize_t result = RP_REAL(preadv64)(fd, iov, iov_count, offset);
    rp_disk_read_end(disk, result);
    return result;
}

/* A count beyond the buffer's size goes to the real call, which aborts. */
RP_EXPORT ssize_t __pread_chk(int fd, void *buffer, size_t count, off_t offset, size_t size)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    ssize_t result = RP_REAL(__pread_chk)(fd, buffer, count, offset, size);
    rp_disk_read_end(disk, result);
    return result;
}

RP_EXPORT ssize_t __pread64_chk(int fd, void *buffer, size_t count, off64_t offset,
                                size_t size)
{
    struct rp_disk_read disk = rp_disk_read_begin(fd);
    ssize_t result = RP_REAL(__pread64_chk)(fd, buffer, count, offset, size);
    rp_disk_read_end(disk, result);
    return result;
}
