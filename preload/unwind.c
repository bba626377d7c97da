/* libunwind, loaded with RTLD_LOCAL; see unwind.h. */
#include "unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <link.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "real.h"

/* Debian's runtime package (libunwind8) ships this soname. */
#define UNWIND_LIBRARY "libunwind.so.8"

/* unw_backtrace walks with libunwind's cached frame descriptions: about
 * 0.5 µs for 30 frames, against 15 µs for an unw_step loop. */
static int (*unwind_backtrace)(void **, int);

/* fds looked at for libunwind's pipe: it is opened on first use, in the
 * constructor, when few fds are open. */
#define UNWIND_FDS_SCANNED 256

__thread bool rp_unwind_active __attribute__((tls_model("initial-exec")));

/* Where libreqprof.so's own code is loaded: [own_code_start, own_code_end). */
static uintptr_t own_code_start, own_code_end;

/* dl_iterate_phdr callback: finds the object holding rp_unwind_load. */
static int unwind_find_own_code(struct dl_phdr_info *info, size_t size, void *unused)
{
    uintptr_t self = (uintptr_t)&rp_unwind_load;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X))
            continue;
        uintptr_t start = info->dlpi_addr + segment->p_vaddr;
        uintptr_t end = start + segment->p_memsz;
        if (self >= start && self < end) {
            own_code_start = start;
            own_code_end = end;
            return 1;
        }
    }
    return 0;
}

/*
 * libunwind checks that an address is readable before it reads it by
 * write()ing a byte from it into a pipe it opens on first use. Those fd
 * numbers would stay taken in the server, and a daemon that closes its fds
 * and reopens others would have libunwind write into, read from and even
 * close its sockets. The pipe is closed here; libunwind's I/O during an
 * unwind is answered by rp_unwind_fake_io instead (interpose.c).
 */
static void unwind_close_validation_pipe(const bool *was_open)
{
    for (int fd = 0; fd < UNWIND_FDS_SCANNED; fd++) {
        struct stat status;
        if (!was_open[fd] && fstat(fd, &status) == 0 && S_ISFIFO(status.st_mode))
            RP_REAL(close)(fd);
    }
}

int rp_unwind_load(char *error, unsigned long error_size)
{
    bool was_open[UNWIND_FDS_SCANNED];
    for (int fd = 0; fd < UNWIND_FDS_SCANNED; fd++)
        was_open[fd] = fcntl(fd, F_GETFD) >= 0;
    void *library = dlopen(UNWIND_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(error, error_size,
                 "cannot load %s (%s): install it with apt-get install libunwind8",
                 UNWIND_LIBRARY, dlerror());
        return -1;
    }
    /* The libunwind.h macros name the x86_64 local-unwinding symbols. */
    int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t) =
        (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(
            library, "_ULx86_64_set_caching_policy");
    unw_addr_space_t *local_space =
        (unw_addr_space_t *)dlsym(library, "_ULx86_64_local_addr_space");
    unwind_backtrace = (int (*)(void **, int))dlsym(library, "unw_backtrace");
    if (set_caching_policy == NULL || local_space == NULL ||
        unwind_backtrace == NULL) {
        snprintf(error, error_size,
                 "%s lacks unw_backtrace or the x86_64 local unwinder", UNWIND_LIBRARY);
        unwind_backtrace = NULL;
        return -1;
    }
    /* Without a cache each sample re-parses unwind tables (~55 µs).
     * Debian's libunwind 1.6.2 quietly turns PER_THREAD into GLOBAL: a
     * cache miss takes libunwind's lock (with all signals blocked, so a
     * thread holding it is never interrupted by us) and calls
     * dl_iterate_phdr; see docs/development-notes.md. */
    set_caching_policy(*local_space, UNW_CACHE_PER_THREAD);
    /* libunwind initialises itself (and opens its pipe) on first use. */
    rp_unwind_warm_up_thread();
    unwind_close_validation_pipe(was_open);
    dl_iterate_phdr(unwind_find_own_code, NULL);
    return 0;
}

void rp_unwind_warm_up_thread(void)
{
    void *frames[64];
    (void)rp_unwind_backtrace_outside_handler(frames, 64);
}

int rp_unwind_backtrace(void **frames, int capacity)
{
    rp_unwind_active = true;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    int count = unwind_backtrace(frames, capacity);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    rp_unwind_active = false;
    return count;
}

int rp_unwind_backtrace_outside_handler(void **frames, int capacity)
{
    sigset_t all, previous;
    sigfillset(&all);
    RP_REAL(pthread_sigmask)(SIG_SETMASK, &all, &previous);
    int count = rp_unwind_backtrace(frames, capacity);
    RP_REAL(pthread_sigmask)(SIG_SETMASK, &previous, NULL);
    return count;
}

long rp_unwind_fake_io(enum rp_unwind_io call, const void *address)
{
    if (call == RP_UNWIND_IO_WRITE) {
        /* The question libunwind asks: can this byte be read? A copy of it
         * by the kernel answers without an fd, and faults nowhere. */
        char byte;
        struct iovec local = {&byte, 1};
        struct iovec remote = {(void *)address, 1};
        if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1)
            return 1;
        errno = EFAULT;
        return -1;
    }
    if (call == RP_UNWIND_IO_READ) {
        /* An empty pipe: libunwind takes it as healthy and does not reopen. */
        errno = EAGAIN;
        return -1;
    }
    return 0; /* close: the pipe is gone already */
}

bool rp_unwind_is_own_code(const void *address)
{
    return (uintptr_t)address >= own_code_start && (uintptr_t)address < own_code_end;
}
