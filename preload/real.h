/*
 * The real libc functions behind the ones reqprof interposes.
 *
 * They are looked up once with dlsym(RTLD_NEXT) and kept here: calling
 * through a stored pointer is both the fast path and the safe one (a tail
 * call into a lazily resolved symbol from a constructor was seen to land
 * in ld.so). A call that arrives before reqprof's constructor ran (another
 * library's constructor) resolves them on the spot. Which functions they
 * are, and their types, come from the one list, interposed.def.
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

/* A pointer to each interposed function's real one, by its name. */
struct rp_real_functions {
#define RP_INTERPOSED(name, type, parameters) type(*name) parameters;
#include "interposed.def"
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
