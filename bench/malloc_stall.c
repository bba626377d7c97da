/*
 * malloc_stall: how long the server's own mallocs wait while reqprof's
 * writer gives memory back, in µs, on this machine.
 *
 * malloc_trim of the process's malloc walks every arena under its lock
 * and madvises each free block, and a server thread's malloc waits behind
 * it; reqprof's writer must give its memory back without that
 * (preload/heap.h). This server holds a heap worth walking: HEAP_MB in
 * 16 KiB blocks, every other one freed, in the main thread's arena. The
 * main thread then times a 4 KiB malloc and its free (above the per-thread
 * cache's sizes: both take the arena's lock) every 20 µs, and keeps the
 * longest. Other threads serve HTTP/1.1, one per connection:
 *
 *   GET /reset   forgets the times so far
 *   GET /stats   "longest_us L over_1ms A over_5ms B timed N": the longest
 *                malloc or free since, how many took over 1 and 5 ms,
 *                and how many pairs were timed
 *   anything     "ok", after 100 µs of CPU (requests for the writer)
 *
 *   malloc_stall HEAP_MB    prints "listening on PORT" once it serves
 *
 * bench/malloc_stall.py runs it with and without reqprof preloaded.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test/server/server_support.h"

#define HEAP_BLOCK (16 * 1024)
#define TIMED_SIZE 4096
#define TIMED_EVERY_NS 20000

/* Written by the main thread, read by /stats. */
static uint64_t longest_ns, over_1ms, over_5ms, timed;
/* Set by /reset, taken by the main thread. */
static bool reset_asked;

static void stats_take(uint64_t took_ns)
{
    if (took_ns > longest_ns)
        __atomic_store_n(&longest_ns, took_ns, __ATOMIC_RELAXED);
    over_1ms += took_ns > 1000000;
    over_5ms += took_ns > 5000000;
}

/* The answer to one request line. */
static void answer(const char *request, char *body, size_t size)
{
    if (strncmp(request, "GET /reset ", 11) == 0) {
        __atomic_store_n(&reset_asked, true, __ATOMIC_SEQ_CST);
        snprintf(body, size, "reset\n");
    } else if (strncmp(request, "GET /stats ", 11) == 0) {
        snprintf(body, size, "longest_us %llu over_1ms %llu over_5ms %llu timed %llu\n",
                 (unsigned long long)__atomic_load_n(&longest_ns, __ATOMIC_RELAXED) / 1000,
                 (unsigned long long)over_1ms, (unsigned long long)over_5ms,
                 (unsigned long long)timed);
    } else {
        uint64_t until_ns = thread_cpu_ns() + 100000;
        while (thread_cpu_ns() < until_ns)
            ;
        snprintf(body, size, "ok\n");
    }
}

/* Answers the complete requests at the start of request (have bytes);
 * returns the bytes left of an incomplete one, or -1 if a write failed. */
static ssize_t answer_complete(int fd, char *request, size_t have)
{
    char *end;
    while ((end = strstr(request, "\r\n\r\n")) != NULL) {
        char body[256], response[512];
        answer(request, body, sizeof body);
        int length = snprintf(response, sizeof response,
                              "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                              strlen(body), body);
        if (write(fd, response, (size_t)length) != length)
            return -1;
        size_t used = (size_t)(end + 4 - request);
        have -= used;
        memmove(request, end + 4, have + 1);
    }
    return (ssize_t)have;
}

/* Serves one keep-alive connection until the client closes it. */
static void *serve(void *argument)
{
    int fd = (int)(intptr_t)argument;
    char request[4096];
    ssize_t have = 0, got;
    while (have < (ssize_t)sizeof request - 1 &&
           (got = read(fd, request + have, sizeof request - 1 - (size_t)have)) > 0) {
        request[have + got] = '\0';
        if ((have = answer_complete(fd, request, (size_t)(have + got))) < 0)
            break;
    }
    close(fd);
    return NULL;
}

static void *accept_connections(void *argument)
{
    int listener = (int)(intptr_t)argument;
    fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) & ~O_NONBLOCK);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        pthread_t thread;
        if (fd >= 0 && pthread_create(&thread, NULL, serve, (void *)(intptr_t)fd) == 0)
            pthread_detach(thread);
        else if (fd >= 0)
            close(fd);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2 || atol(argv[1]) <= 0) {
        fprintf(stderr, "usage: malloc_stall HEAP_MB\n");
        return 2;
    }
    size_t blocks = (size_t)atol(argv[1]) * 1024 * 1024 / HEAP_BLOCK;
    void **heap = malloc(blocks * sizeof *heap);
    for (size_t i = 0; heap != NULL && i < blocks; i++)
        if ((heap[i] = malloc(HEAP_BLOCK)) != NULL)
            memset(heap[i], 1, HEAP_BLOCK); /* resident, as a server's is */
    for (size_t i = 0; heap != NULL && i < blocks; i += 2)
        free(heap[i]); /* the block beside it stays: no two free blocks merge */
    int listener = server_listen(0);
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    pthread_t thread;
    if (heap == NULL || listener < 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0 ||
        pthread_create(&thread, NULL, accept_connections, (void *)(intptr_t)listener) != 0) {
        fprintf(stderr, "malloc_stall: cannot start\n");
        return 1;
    }
    printf("listening on %d\n", ntohs(address.sin_port));
    fflush(stdout);
    struct timespec pause = {0, TIMED_EVERY_NS};
    for (;;) {
        if (__atomic_exchange_n(&reset_asked, false, __ATOMIC_SEQ_CST)) {
            __atomic_store_n(&longest_ns, 0, __ATOMIC_RELAXED);
            over_1ms = over_5ms = timed = 0;
        }
        uint64_t start_ns = clock_ns(CLOCK_MONOTONIC);
        volatile char *block = malloc(TIMED_SIZE);
        uint64_t allocated_ns = clock_ns(CLOCK_MONOTONIC);
        if (block != NULL)
            block[0] = 1;
        free((void *)block);
        uint64_t freed_ns = clock_ns(CLOCK_MONOTONIC);
        stats_take(allocated_ns - start_ns);
        stats_take(freed_ns - allocated_ns);
        timed++;
        nanosleep(&pause, NULL);
    }
}
