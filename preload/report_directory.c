/* The report directory and its files; see report_directory.h. */
#include "report_directory.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "real.h"

/* The directory did not exist when reqprof was loaded: reqprof makes it
 * and may let the server's users in. */
static bool directory_ours;

void rp_report_directory_note(const char *path)
{
    struct stat status;
    directory_ours = lstat(path, &status) != 0 && errno == ENOENT;
}

/* Makes one directory with exactly mode: the umask (tinyproxy's is 0177)
 * would take away the bits it needs. One that exists is left alone. */
static int directory_make_one(const char *path, mode_t mode)
{
    if (mkdir(path, mode) != 0)
        return errno == EEXIST ? 0 : -1;
    /* Through the fd: in a shared parent, the name may already be someone
     * else's link or directory, which is not chmod'ed. */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat status;
    int result = fstat(fd, &status);
    if (result == 0 && status.st_uid != geteuid()) {
        errno = EPERM;
        result = -1;
    }
    if (result == 0)
        result = fchmod(fd, mode);
    int error = errno;
    RP_REAL(close)(fd);
    errno = error;
    return result;
}

/* Copies path without trailing slashes into buffer (PATH_MAX bytes). */
static int directory_copy_path(char *buffer, const char *path)
{
    size_t length = strlen(path);
    while (length > 1 && path[length - 1] == '/')
        length--;
    if (length >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buffer, path, length);
    buffer[length] = '\0';
    return 0;
}

int rp_report_directory_make(const char *path)
{
    char partial[PATH_MAX];
    if (directory_copy_path(partial, path) != 0)
        return -1;
    for (char *slash = strchr(partial + 1, '/'); slash != NULL;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int result = directory_make_one(partial, 0711);
        *slash = '/';
        if (result != 0)
            return -1;
    }
    return directory_make_one(partial, 0700);
}

/* Whether others may write in the directory's parent (a missing one
 * counts as shared): then they could have made its name a link. */
static bool directory_parent_shared(const char *path)
{
    char parent[PATH_MAX];
    if (directory_copy_path(parent, path) != 0)
        return true;
    char *slash = strrchr(parent, '/');
    if (slash == NULL)
        return true;
    slash[slash == parent] = '\0';
    struct stat status;
    return stat(parent, &status) != 0 || (status.st_mode & S_IWOTH) != 0;
}

int rp_report_directory_open(const char *path)
{
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    if (directory_parent_shared(path))
        flags |= O_NOFOLLOW;
    return open(path, flags);
}

/* rp_report_file_open with access, O_WRONLY | O_APPEND or O_RDWR. */
static int report_file_open_for(int directory_fd, const char *name,
                                bool exclusive, int access)
{
    /* O_NONBLOCK: a planted FIFO must not hold the writer; it changes
     * nothing for a regular file. */
    int flags = access | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    int fd = openat(directory_fd, name, flags | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        /* The umask may have taken bits from 0600 (0277 leaves 0400). */
        if (fchmod(fd, 0600) == 0)
            return fd;
    } else if (errno == EEXIST && !exclusive) {
        fd = openat(directory_fd, name, flags);
        struct stat status;
        if (fd < 0)
            return -1;
        if (fstat(fd, &status) == 0 && S_ISREG(status.st_mode) &&
            status.st_nlink == 1 &&
            (status.st_uid == geteuid() || status.st_uid == 0))
            return fd;
        errno = EPERM;
    }
    if (fd >= 0) {
        int error = errno;
        RP_REAL(close)(fd);
        errno = error;
    }
    return -1;
}

int rp_report_file_open(int directory_fd, const char *name, bool exclusive)
{
    return report_file_open_for(directory_fd, name, exclusive,
                                O_WRONLY | O_APPEND);
}

int rp_report_file_open_in_place(int directory_fd, const char *name)
{
    return report_file_open_for(directory_fd, name, false, O_RDWR);
}

/*
 * POSIX ACLs as the kernel takes them in system.posix_acl_access
 * (linux/posix_acl_xattr.h, little-endian): a version word, then entries
 * of tag, permissions and id, in the order of their tags and, among named
 * users, of their ids.
 */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_VERSION 2u
#define ACL_NO_ID 0xffffffffu
#define ACL_ENTRIES_MAX 64

enum acl_tag {
    ACL_TAG_USER_OBJ = 0x01,
    ACL_TAG_USER = 0x02,
    ACL_TAG_GROUP_OBJ = 0x04,
    ACL_TAG_GROUP = 0x08,
    ACL_TAG_MASK = 0x10,
    ACL_TAG_OTHER = 0x20,
};

struct acl_entry {
    uint16_t tag;         /* enum acl_tag */
    uint16_t permissions; /* rwx as 4, 2, 1 */
    uint32_t id;          /* uid or gid of a named entry; else ACL_NO_ID */
};

struct acl {
    uint32_t version; /* ACL_VERSION */
    struct acl_entry entries[ACL_ENTRIES_MAX];
};

_Static_assert(sizeof(struct acl) == 4 + 8 * ACL_ENTRIES_MAX,
               "struct acl is the kernel's layout");

/* Reads fd's ACL, or the one its mode stands for; returns the entries'
 * count or -1 (errno). */
static int acl_read(int fd, struct acl *acl)
{
    ssize_t size = fgetxattr(fd, ACL_XATTR, acl, sizeof *acl);
    if (size >= 0) {
        if (size < 4 || (size - 4) % 8 != 0 || acl->version != ACL_VERSION) {
            errno = EINVAL;
            return -1;
        }
        return (int)((size - 4) / 8);
    }
    struct stat status;
    if (errno != ENODATA || fstat(fd, &status) != 0)
        return -1;
    acl->version = ACL_VERSION;
    acl->entries[0] = (struct acl_entry){ACL_TAG_USER_OBJ, status.st_mode >> 6 & 7, ACL_NO_ID};
    acl->entries[1] = (struct acl_entry){ACL_TAG_GROUP_OBJ, status.st_mode >> 3 & 7, ACL_NO_ID};
    acl->entries[2] = (struct acl_entry){ACL_TAG_OTHER, status.st_mode & 7, ACL_NO_ID};
    return 3;
}

/* Puts entry at index at of the count entries, moving the rest up;
 * returns the new count, or -1 when full. */
static int acl_insert(struct acl *acl, int count, int at, struct acl_entry entry)
{
    if (count == ACL_ENTRIES_MAX) {
        errno = E2BIG;
        return -1;
    }
    memmove(&acl->entries[at + 1], &acl->entries[at],
            (size_t)(count - at) * sizeof acl->entries[0]);
    acl->entries[at] = entry;
    return count + 1;
}

/* Adds permissions for uid to fd's ACL, and the mask that lets them
 * through: the union of the group class, as setfacl computes it. */
static int acl_let_in(int fd, uid_t uid, uint16_t permissions)
{
    struct acl acl;
    int count = acl_read(fd, &acl);
    if (count < 0)
        return -1;
    int at = 0;
    while (at < count && (acl.entries[at].tag < ACL_TAG_USER ||
                          (acl.entries[at].tag == ACL_TAG_USER &&
                           acl.entries[at].id < uid)))
        at++;
    if (at < count && acl.entries[at].tag == ACL_TAG_USER && acl.entries[at].id == uid)
        acl.entries[at].permissions |= permissions;
    else if ((count = acl_insert(&acl, count, at,
                                 (struct acl_entry){ACL_TAG_USER, permissions, uid})) < 0)
        return -1;
    uint16_t mask = 0;
    int mask_at = 0;
    while (mask_at < count && acl.entries[mask_at].tag < ACL_TAG_MASK) {
        if (acl.entries[mask_at].tag != ACL_TAG_USER_OBJ)
            mask |= acl.entries[mask_at].permissions;
        mask_at++;
    }
    if (mask_at == count || acl.entries[mask_at].tag != ACL_TAG_MASK)
        count = acl_insert(&acl, count, mask_at,
                           (struct acl_entry){ACL_TAG_MASK, 0, ACL_NO_ID});
    if (count < 0)
        return -1;
    acl.entries[mask_at].permissions = mask;
    return fsetxattr(fd, ACL_XATTR, &acl, 4 + (size_t)count * 8, 0);
}

/* On a file system without ACLs: the directory, its index and its disk
 * count go to uid, if no one was given them yet (they still belong to
 * this user). */
static int directory_give(int directory, int index, int count, uid_t uid)
{
    struct stat status;
    if (fstat(directory, &status) != 0)
        return -1;
    if (status.st_uid == uid)
        return 0;
    if (status.st_uid != geteuid()) {
        errno = EOPNOTSUPP;
        return -1;
    }
    if (fchown(index, uid, (gid_t)-1) != 0 || fchown(count, uid, (gid_t)-1) != 0)
        return -1;
    return fchown(directory, uid, (gid_t)-1);
}

int rp_report_directory_grant(const char *path, uid_t uid)
{
    if (!directory_ours)
        return 0;
    int saved_errno = errno;
    int directory = -1, index = -1, count = -1, result = -1;
    if (rp_report_directory_make(path) == 0 &&
        (directory = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
        (index = rp_report_file_open(directory, RP_INDEX_FILE, false)) >= 0 &&
        (count = rp_report_file_open_in_place(directory, RP_DISK_COUNT_FILE)) >= 0) {
        result = acl_let_in(directory, uid, 7);
        if (result == 0)
            result = acl_let_in(index, uid, 6);
        if (result == 0)
            result = acl_let_in(count, uid, 6);
        if (result != 0 && errno == EOPNOTSUPP)
            result = directory_give(directory, index, count, uid);
    }
    int error = errno;
    if (count >= 0)
        RP_REAL(close)(count);
    if (index >= 0)
        RP_REAL(close)(index);
    if (directory >= 0)
        RP_REAL(close)(directory);
    errno = result == 0 ? saved_errno : error;
    return result;
}
