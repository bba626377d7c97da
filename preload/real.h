/*
 * The real libc functions behind the ones reqprof interposes.
 *
 * They are looked up once with dlsym(RTLD_NEXT) and kept here: calling
 * through a stored pointer is both the fast path and the safe one (a tail
 * call into a lazily resolved symbol from a constructor was seen to land
 * in ld.so). A call that arrives before reqprof's constructor ran (another
 * library's constructor) resolves them on the spot.
 */
#ifndef REQPROF_REAL_H
#define REQPROF_REAL_H

#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct rp_real_functions {
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *,
                        socklen_t *);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *,
                      socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    ssize_t (*sendfile)(int, int, off_t *, size_t);
    ssize_t (*sendfile64)(int, int, off64_t *, size_t);
    int (*close)(int);
    int (*shutdown)(int, int);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    /* fds that duplicate others. */
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*fcntl64)(int, int, ...);

    /* Waits: event loops and sleeps (interpose_wait.c). */
    int (*epoll_ctl)(int, int, int, struct epoll_event *);
    int (*epoll_wait)(int, struct epoll_event *, int, int);
    int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
    int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
                        const sigset_t *);
    int (*poll)(struct pollfd *, nfds_t, int);
    int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
    int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
                   const sigset_t *);
    int (*__poll_chk)(struct pollfd *, nfds_t, int, size_t);
    int (*__ppoll_chk)(struct pollfd *, nfds_t, const struct timespec *,
                       const sigset_t *, size_t);
    int (*nanosleep)(const struct timespec *, struct timespec *);
    int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
    int (*usleep)(useconds_t);
    unsigned int (*sleep)(unsigned int);
    /* Other calls a handled signal breaks with EINTR, SA_RESTART or not. */
    int (*sem_timedwait)(sem_t *, const struct timespec *);
    int (*sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
    int (*sigtimedwait)(const sigset_t *, siginfo_t *, const struct timespec *);
    int (*sigwaitinfo)(const sigset_t *, siginfo_t *);
    int (*sigsuspend)(const sigset_t *);
    int (*pause)(void);
    int (*semop)(int, struct sembuf *, size_t);
    int (*semtimedop)(int, struct sembuf *, size_t, const struct timespec *);
    ssize_t (*msgrcv)(int, void *, size_t, long, int);
    int (*msgsnd)(int, const void *, size_t, int);

    /* Fortified reads (_FORTIFY_SOURCE builds call these instead). */
    ssize_t (*__read_chk)(int, void *, size_t, size_t);
    ssize_t (*__recv_chk)(int, void *, size_t, size_t, int);
    ssize_t (*__recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *,
                              socklen_t *);

    /* Wakes and waits that hand work to other threads
     * (interpose_handoff.c). The condition variables' are glibc's current
     * ones (GLIBC_2.3.2), what programs built since 2003 bind to; sem_*
     * have one implementation under both of their versions. */
    int (*pthread_cond_signal)(pthread_cond_t *);
    int (*pthread_cond_broadcast)(pthread_cond_t *);
    int (*pthread_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
    int (*pthread_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *,
                                  const struct timespec *);
    int (*pthread_cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                                  const struct timespec *);
    int (*sem_post)(sem_t *);
    int (*sem_wait)(sem_t *);
    int (*sem_trywait)(sem_t *);
    int (*eventfd)(unsigned int, int);
    int (*eventfd_read)(int, eventfd_t *);
    int (*eventfd_write)(int, eventfd_t);
    int (*pipe)(int[2]);
    int (*pipe2)(int[2], int);

    /* Process-level calls (interpose_process.c). */
    long (*syscall)(long, ...);
    int (*sigaction)(int, const struct sigaction *, struct sigaction *);
    int (*pthread_sigmask)(int, const sigset_t *, sigset_t *);
    int (*sigprocmask)(int, const sigset_t *, sigset_t *);
    sighandler_t (*signal)(int, sighandler_t);
    int (*setuid)(uid_t);
    int (*seteuid)(uid_t);
    int (*setreuid)(uid_t, uid_t);
    int (*setresuid)(uid_t, uid_t, uid_t);
    pid_t (*vfork)(void);
    void (*_exit)(int);
    void (*_Exit)(int);
};

/* Filled by rp_real_resolve; read-only afterwards. */
extern struct rp_real_functions rp_real;

/* Looks every function up. Idempotent; safe to call from any thread. */
void rp_real_resolve(void);

/* The real function NAME, resolved first if this is a very early call. */
#define RP_REAL(name)                                                        \
    (__builtin_expect(rp_real.name != NULL, 1) ? rp_real.name                \
                                               : (rp_real_resolve(), rp_real.name))

#endif
