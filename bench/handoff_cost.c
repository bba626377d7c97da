/*
 * handoff_cost: what reqprof's wrappers of the calls through which servers
 * hand work to other threads (preload/interpose_handoff.c) add to them, in
 * ns per call, on a thread with no current request: the hot path of a
 * server's locks and queues, which reqprof must keep to a TLS read and a
 * branch.
 *
 *   LD_PRELOAD=build/libreqprof.so handoff_cost
 *
 * Each measurement calls the function as the program binds it (reqprof's
 * wrapper, when preloaded) and libc's own (looked up in libc.so.6 by
 * version, as reqprof does), alternately, best of five tries each:
 *   cond_signal      pthread_cond_signal on a condition variable nobody
 *                    waits on
 *   sem_post_trywait sem_post, then sem_trywait taking the count back
 * Prints "NAME_ns X NAME_libc_ns Y" for each.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

#define TRIES 5
#define ROUNDS 2000000

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t semaphore;

/* libc's own functions, bypassing any preloaded wrapper. */
static int (*libc_cond_signal)(pthread_cond_t *);
static int (*libc_sem_post)(sem_t *);
static int (*libc_sem_trywait)(sem_t *);

static double now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double cond_signal_seconds(int (*signal)(pthread_cond_t *))
{
    double start = now_seconds();
    for (int i = 0; i < ROUNDS; i++)
        signal(&cond);
    return (now_seconds() - start) / ROUNDS;
}

static double sem_pair_seconds(int (*post)(sem_t *), int (*trywait)(sem_t *))
{
    double start = now_seconds();
    for (int i = 0; i < ROUNDS; i++) {
        post(&semaphore);
        trywait(&semaphore);
    }
    return (now_seconds() - start) / ROUNDS;
}

static void keep_best(double *best, double took)
{
    if (took < *best)
        *best = took;
}

int main(void)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (libc == NULL || sem_init(&semaphore, 0, 0) != 0) {
        fprintf(stderr, "handoff_cost: no libc.so.6 or no semaphore\n");
        return 1;
    }
    libc_cond_signal = dlvsym(libc, "pthread_cond_signal", "GLIBC_2.3.2");
    libc_sem_post = dlsym(libc, "sem_post");
    libc_sem_trywait = dlsym(libc, "sem_trywait");
    if (!libc_cond_signal || !libc_sem_post || !libc_sem_trywait) {
        fprintf(stderr, "handoff_cost: libc's functions not found\n");
        return 1;
    }
    double signal = 1, signal_libc = 1, pair = 1, pair_libc = 1;
    for (int attempt = 0; attempt < TRIES; attempt++) {
        keep_best(&signal, cond_signal_seconds(pthread_cond_signal));
        keep_best(&signal_libc, cond_signal_seconds(libc_cond_signal));
        keep_best(&pair, sem_pair_seconds(sem_post, sem_trywait));
        keep_best(&pair_libc, sem_pair_seconds(libc_sem_post, libc_sem_trywait));
    }
    printf("cond_signal_ns %.1f cond_signal_libc_ns %.1f "
           "sem_post_trywait_ns %.1f sem_post_trywait_libc_ns %.1f\n",
           signal * 1e9, signal_libc * 1e9, pair * 1e9, pair_libc * 1e9);
    return 0;
}
