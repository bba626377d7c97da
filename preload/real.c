/* Resolution of the real libc functions; see real.h. */
#include "real.h"

#include <dlfcn.h>

struct rp_real_functions rp_real;

#define RP_RESOLVE(name)                                                     \
    __atomic_store_n(&rp_real.name,                                          \
                     (__typeof__(rp_real.name))dlsym(RTLD_NEXT, #name),      \
                     __ATOMIC_RELEASE)

static void *real_versioned(const char *name, const char *version)
{
    void *function = dlvsym(RTLD_NEXT, name, version);
    return function != NULL ? function : dlsym(RTLD_NEXT, name);
}

/* A function of several versions, by the one named: dlsym would give the
 * default, which is right too, but an old glibc's dlsym gave the oldest. */
#define RP_RESOLVE_VERSION(name, version)                                    \
    __atomic_store_n(&rp_real.name,                                          \
                     (__typeof__(rp_real.name))real_versioned(#name, version), \
                     __ATOMIC_RELEASE)

void rp_real_resolve(void)
{
    RP_RESOLVE(accept);
    RP_RESOLVE(accept4);
    RP_RESOLVE(read);
    RP_RESOLVE(readv);
    RP_RESOLVE(recv);
    RP_RESOLVE(recvfrom);
    RP_RESOLVE(recvmsg);
    RP_RESOLVE(write);
    RP_RESOLVE(writev);
    RP_RESOLVE(send);
    RP_RESOLVE(sendto);
    RP_RESOLVE(sendmsg);
    RP_RESOLVE(sendfile);
    RP_RESOLVE(sendfile64);
    RP_RESOLVE(close);
    RP_RESOLVE(shutdown);
    RP_RESOLVE(setsockopt);
    RP_RESOLVE(connect);
    RP_RESOLVE(listen);
    RP_RESOLVE(dup);
    RP_RESOLVE(dup2);
    RP_RESOLVE(dup3);
    RP_RESOLVE(fcntl);
    RP_RESOLVE(fcntl64);
    RP_RESOLVE(epoll_ctl);
    RP_RESOLVE(epoll_wait);
    RP_RESOLVE(epoll_pwait);
    RP_RESOLVE(epoll_pwait2);
    RP_RESOLVE(poll);
    RP_RESOLVE(ppoll);
    RP_RESOLVE(select);
    RP_RESOLVE(pselect);
    RP_RESOLVE(__poll_chk);
    RP_RESOLVE(__ppoll_chk);
    RP_RESOLVE(nanosleep);
    RP_RESOLVE(clock_nanosleep);
    RP_RESOLVE(usleep);
    RP_RESOLVE(sleep);
    RP_RESOLVE(sem_timedwait);
    RP_RESOLVE(sem_clockwait);
    RP_RESOLVE(sigtimedwait);
    RP_RESOLVE(sigwaitinfo);
    RP_RESOLVE(sigsuspend);
    RP_RESOLVE(pause);
    RP_RESOLVE(semop);
    RP_RESOLVE(semtimedop);
    RP_RESOLVE(msgrcv);
    RP_RESOLVE(msgsnd);
    RP_RESOLVE(__read_chk);
    RP_RESOLVE(__recv_chk);
    RP_RESOLVE(__recvfrom_chk);
    RP_RESOLVE_VERSION(pthread_cond_signal, "GLIBC_2.3.2");
    RP_RESOLVE_VERSION(pthread_cond_broadcast, "GLIBC_2.3.2");
    RP_RESOLVE_VERSION(pthread_cond_wait, "GLIBC_2.3.2");
    RP_RESOLVE_VERSION(pthread_cond_timedwait, "GLIBC_2.3.2");
    RP_RESOLVE(pthread_cond_clockwait);
    RP_RESOLVE(sem_post);
    RP_RESOLVE(sem_wait);
    RP_RESOLVE(sem_trywait);
    RP_RESOLVE(eventfd);
    RP_RESOLVE(eventfd_read);
    RP_RESOLVE(eventfd_write);
    RP_RESOLVE(pipe);
    RP_RESOLVE(pipe2);
    RP_RESOLVE(syscall);
    RP_RESOLVE(sigaction);
    RP_RESOLVE(pthread_sigmask);
    RP_RESOLVE(sigprocmask);
    RP_RESOLVE(signal);
    RP_RESOLVE(setuid);
    RP_RESOLVE(seteuid);
    RP_RESOLVE(setreuid);
    RP_RESOLVE(setresuid);
    RP_RESOLVE(vfork);
    RP_RESOLVE(_exit);
    RP_RESOLVE(_Exit);
}
