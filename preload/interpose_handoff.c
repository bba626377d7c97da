/*
 * Interposed wakes and waits through which a server hands work to another
 * thread (handoff.h): condition variables, semaphores, and the eventfds
 * and pipes the server makes. Each returns what the real call returns,
 * with its errno, and blocks as it blocks; reqprof looks only before a
 * wait (a request taken by handoff ends there) and after a wake or a
 * return from a wait.
 *
 * glibc has two pthread_cond_* of each name: GLIBC_2.3.2, the current
 * one, and GLIBC_2.2.5, kept for programs linked before 2003. These
 * wrappers are unversioned, so every reference binds to them, and they
 * call the current one (real.c): a program linked against the old ones
 * would be handed the wrong implementation. None is known on x86-64 (the
 * old ones predate its first glibc in common use); a version script
 * giving these names GLIBC_2.3.2 would need every interposed name
 * versioned as glibc versions it.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "follow.h"
#include "handoff.h"
#include "interpose.h"
#include "real.h"

RP_EXPORT int pthread_cond_signal(pthread_cond_t *cond)
{
    rp_handoff_wake((uintptr_t)cond, false);
    return RP_REAL(pthread_cond_signal)(cond);
}

RP_EXPORT int pthread_cond_broadcast(pthread_cond_t *cond)
{
    rp_handoff_wake((uintptr_t)cond, true);
    return RP_REAL(pthread_cond_broadcast)(cond);
}

/* A wake recorded after the real call could come after the woken thread
 * looked: the wakes above record first. The waits look after a return
 * with the mutex held again, whether or not a signal woke them (a
 * spurious wake finds what is pending as a signalled one would). */
RP_EXPORT int pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
    rp_handoff_before_wait();
    int result = RP_REAL(pthread_cond_wait)(cond, mutex);
    if (result == 0)
        rp_handoff_woken((uintptr_t)cond);
    return result;
}

RP_EXPORT int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                     const struct timespec *deadline)
{
    rp_handoff_before_wait();
    int result = RP_REAL(pthread_cond_timedwait)(cond, mutex, deadline);
    if (result == 0)
        rp_handoff_woken((uintptr_t)cond);
    return result;
}

RP_EXPORT int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                     clockid_t clock, const struct timespec *deadline)
{
    rp_handoff_before_wait();
    int result = RP_REAL(pthread_cond_clockwait)(cond, mutex, clock, deadline);
    if (result == 0)
        rp_handoff_woken((uintptr_t)cond);
    return result;
}

/* sem_post is async-signal-safe, and a server's signal handler may call
 * it: the record takes no lock it could wait for (handoff.h). */
RP_EXPORT int sem_post(sem_t *semaphore)
{
    rp_handoff_wake((uintptr_t)semaphore, false);
    return RP_REAL(sem_post)(semaphore);
}

/* sem_wait is restarted after a tick (SA_RESTART); sem_timedwait and
 * sem_clockwait are not, and are quiet waits (interpose_wait.c). */
RP_EXPORT int sem_wait(sem_t *semaphore)
{
    rp_handoff_before_wait();
    int result = RP_REAL(sem_wait)(semaphore);
    if (result == 0)
        rp_handoff_woken((uintptr_t)semaphore);
    return result;
}

/* Taking a count without waiting is taking what a post left: the thread
 * turns to new work, as after a wait. */
RP_EXPORT int sem_trywait(sem_t *semaphore)
{
    int result = RP_REAL(sem_trywait)(semaphore);
    if (result == 0) {
        rp_handoff_before_wait();
        rp_handoff_woken((uintptr_t)semaphore);
    }
    return result;
}

/* Eventfds and pipes the server makes are wake objects: a write to one is
 * a wake, a read a return from a wait (interpose.c). Other fds a thread
 * writes (files, logs) are not, so they fill no table. */
static void handoff_mark_fds(const int *fds, int count)
{
    if (!rp_interpose_active())
        return;
    int saved_errno = errno;
    for (int i = 0; i < count; i++)
        rp_follow_set_options(fds[i], RP_FOLLOW_HANDOFF, true);
    errno = saved_errno;
}

RP_EXPORT int eventfd(unsigned int initial, int flags)
{
    int fd = RP_REAL(eventfd)(initial, flags);
    if (fd >= 0)
        handoff_mark_fds(&fd, 1);
    return fd;
}

RP_EXPORT int pipe(int fds[2])
{
    int result = RP_REAL(pipe)(fds);
    if (result == 0)
        handoff_mark_fds(fds, 2);
    return result;
}

RP_EXPORT int pipe2(int fds[2], int flags)
{
    int result = RP_REAL(pipe2)(fds, flags);
    if (result == 0)
        handoff_mark_fds(fds, 2);
    return result;
}

/* glibc's eventfd_read and eventfd_write call its own read and write,
 * which no interposition sees. */
RP_EXPORT int eventfd_write(int fd, eventfd_t value)
{
    rp_handoff_fd_written(fd);
    return RP_REAL(eventfd_write)(fd, value);
}

RP_EXPORT int eventfd_read(int fd, eventfd_t *value)
{
    int result = RP_REAL(eventfd_read)(fd, value);
    if (result == 0)
        rp_handoff_fd_read(fd);
    return result;
}
