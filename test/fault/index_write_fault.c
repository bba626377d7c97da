/*
 * A fault for the end-to-end tests: preloaded after libreqprof.so, it makes
 * appends to a file named index.tsv fail as on a disk that fills up half
 * way through one, once INDEX_WRITE_FAULT_AFTER of them went through:
 * the next write to it puts down half its bytes, and every later one fails
 * with ENOSPC. Report files and everything else are written as usual.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);

static int writes_counted;

/* Whether fd is open on a file named index.tsv. */
static int is_index(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, target, sizeof target - 1);
    if (length < 0)
        return 0;
    target[length] = '\0';
    const char *name = strrchr(target, '/');
    return name != NULL && strcmp(name, "/index.tsv") == 0;
}

__attribute__((visibility("default"))) ssize_t write(int fd, const void *data,
                                                     size_t length)
{
    static write_fn real_write;
    if (real_write == NULL)
        real_write = (write_fn)dlsym(RTLD_NEXT, "write");
    const char *allowed = getenv("INDEX_WRITE_FAULT_AFTER");
    if (fd <= 2 || allowed == NULL || !is_index(fd))
        return real_write(fd, data, length);
    int before = __atomic_fetch_add(&writes_counted, 1, __ATOMIC_RELAXED);
    if (before < atoi(allowed))
        return real_write(fd, data, length);
    if (before == atoi(allowed) && length > 1)
        return real_write(fd, data, length / 2);
    errno = ENOSPC;
    return -1;
}
