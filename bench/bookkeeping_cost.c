/*
 * bookkeeping_cost: what reqprof adds to a request on the server's thread,
 * in ns, on this machine.
 *
 * A server thread's request that no sample lands in costs reqprof the
 * parsing of its request and response heads, the interposed calls' look-ups
 * (is this fd a connection? the thread's state), the connection's lock, a
 * CLOCK_MONOTONIC read (vDSO, no system call) when it begins and when it
 * ends, and the hand-over of the finished request to the writer. The timer
 * stays armed from one request to the next and the thread's CPU clock is
 * read only for requests a sample landed in, so no system call of
 * reqprof's is among them.
 *
 *   bookkeeping_cost
 *       The pieces, without reqprof, each the best of five tries:
 *       parse_ns            reqprof's parser (preload/http_parser.c, the
 *                           library's own object) fed the request wrk sends
 *                           and the response head nginx answers it with
 *                           for a 20-byte file, the file's bytes unseen
 *                           (sendfile)
 *       monotonic_clock_ns  one CLOCK_MONOTONIC read; a request takes two
 *       timer_pair_ns       arming and disarming a per-thread timer (two
 *                           timer_settime): what a thread pays when it goes
 *                           idle in a wait that blocks and takes up its
 *                           next request, or when a tick found it between
 *                           requests; no longer per request
 *       cpu_clock_ns        one read of the thread's CPU clock (a system
 *                           call: the vDSO serves no thread CPU clock);
 *                           a request a sample landed in pays two
 *
 *   bookkeeping_cost --requests N
 *       The whole path: serves N requests on one thread through the calls
 *       a server makes (recv of the request, one writev of head and body
 *       on a socket that accept returned), with the client's side on the
 *       same thread through libc's own send and recv, which a preloaded
 *       reqprof does not see. Tries alternate with the same loop whose
 *       server side also goes through libc's own calls, in the same
 *       process. Prints "request_loop_ns X request_loop_unseen_ns Y
 *       requests_per_try N tries T": the thread's CPU time per request,
 *       best of T tries of each. Under LD_PRELOAD=libreqprof.so (as
 *       bench/run.py runs it) X - Y is what reqprof adds to an unsampled
 *       request, everything included. Each try is fenced by getppid()
 *       calls, so that a strace of it can count the system calls inside:
 *       four per request and a read of the thread's CPU clock at either
 *       end are the loop's own.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_parser.h"

static const char request[] =
    "GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1:18555\r\n\r\n";
static const char response_head[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Sat, 21 Nov 2026 14:20:01 GMT\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 20\r\n"
    "Last-Modified: Sat, 21 Nov 2026 13:59:12 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6920f0b0-14\"\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";
static const char response_body[] = "a small static file\n";

/* Tries of each measurement; the best one counts, so that a preemption or
 * an interrupt in one does not. */
#define TRIES 5

static unsigned long parser_events;

static void on_parser_event(void *context, enum rp_http_event event,
                            const struct rp_http_parser *parser, size_t offset)
{
    (void)context, (void)event, (void)parser, (void)offset;
    parser_events++;
}

static double clock_seconds(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double now_seconds(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
}

static double parse_seconds(void)
{
    struct rp_http_parser requests, responses;
    rp_http_parser_init(&requests, RP_HTTP_DIRECTION_REQUEST);
    rp_http_parser_init(&responses, RP_HTTP_DIRECTION_RESPONSE);
    const int rounds = 500000;
    double start = now_seconds();
    for (int i = 0; i < rounds; i++) {
        if (rp_http_parser_feed(&requests, request, sizeof request - 1,
                                on_parser_event, NULL) != 0 ||
            rp_http_parser_feed(&responses, response_head, sizeof response_head - 1,
                                on_parser_event, NULL) != 0 ||
            rp_http_parser_feed_opaque(&responses, sizeof response_body - 1,
                                       on_parser_event, NULL) != 0)
            return -1;
    }
    return (now_seconds() - start) / rounds;
}

static double monotonic_clock_seconds(void)
{
    const int rounds = 1000000;
    volatile double sink = 0;
    double start = now_seconds();
    for (int i = 0; i < rounds; i++)
        sink += now_seconds();
    (void)sink;
    return (now_seconds() - start) / rounds;
}

static void on_timer(int signal_number)
{
    (void)signal_number;
}

static double timer_pair_seconds(timer_t timer)
{
    const int rounds = 50000;
    struct itimerspec on = {{0, 1000000}, {0, 1000000}};
    struct itimerspec off = {{0, 0}, {0, 0}};
    double start = now_seconds();
    for (int i = 0; i < rounds; i++) {
        timer_settime(timer, 0, &on, NULL);
        timer_settime(timer, 0, &off, NULL);
    }
    return (now_seconds() - start) / rounds;
}

static double cpu_clock_seconds(void)
{
    const int rounds = 100000;
    struct timespec cpu;
    double start = now_seconds();
    for (int i = 0; i < rounds; i++)
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    return (now_seconds() - start) / rounds;
}

static void keep_best(double *best, double took)
{
    if (took < *best)
        *best = took;
}

static int measure_pieces(void)
{
    signal(SIGPROF, on_timer);
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = SIGPROF;
    event._sigev_un._tid = gettid();
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) {
        perror("bookkeeping_cost: timer_create");
        return 1;
    }
    double parse = 1e9, monotonic_clock = 1e9, timer_pair = 1e9, cpu_clock = 1e9;
    for (int attempt = 0; attempt < TRIES; attempt++) {
        double took = parse_seconds();
        if (took < 0) {
            fprintf(stderr, "bookkeeping_cost: the parser refused its input\n");
            return 1;
        }
        keep_best(&parse, took);
        keep_best(&monotonic_clock, monotonic_clock_seconds());
        keep_best(&timer_pair, timer_pair_seconds(timer));
        keep_best(&cpu_clock, cpu_clock_seconds());
    }
    /* Six events a round: each message begins, has headers, completes. */
    if (parser_events != 6ul * TRIES * 500000) {
        fprintf(stderr, "bookkeeping_cost: %lu parser events, expected %lu\n",
                parser_events, 6ul * TRIES * 500000);
        return 1;
    }
    printf("parse_ns %.0f monotonic_clock_ns %.1f timer_pair_ns %.0f cpu_clock_ns %.0f\n",
           parse * 1e9, monotonic_clock * 1e9, timer_pair * 1e9, cpu_clock * 1e9);
    return 0;
}

/* The calls one side of the request loop makes: the server's own
 * (interposed by a preloaded reqprof) or libc's (which it does not see). */
struct socket_calls {
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*writev)(int, const struct iovec *, int);
};

/* A connected pair over a Unix socket: *server from accept (a connection
 * reqprof follows), *client from connect. Returns 0 or -1. */
static int connection_open(int *server, int *client)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    /* Abstract namespace: nothing to clean up. */
    int length = snprintf(address.sun_path + 1, sizeof address.sun_path - 1,
                          "reqprof-bookkeeping-%d", (int)getpid());
    socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + length);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    *client = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0 || *client < 0 ||
        bind(listener, (struct sockaddr *)&address, size) != 0 ||
        listen(listener, 1) != 0 ||
        connect(*client, (struct sockaddr *)&address, size) != 0)
        return -1;
    *server = accept(listener, NULL, NULL);
    close(listener);
    return *server < 0 ? -1 : 0;
}

/* One request: the client sends it, the server reads it and answers with
 * one writev, the client reads the whole answer. Returns 0 or -1. */
static int request_serve(int server, const struct socket_calls *server_calls,
                         int client, const struct socket_calls *client_calls)
{
    static char buffer[4096];
    const size_t response_length = sizeof response_head - 1 + sizeof response_body - 1;
    if (client_calls->send(client, request, sizeof request - 1, 0) != sizeof request - 1)
        return -1;
    if (server_calls->recv(server, buffer, sizeof buffer, 0) != sizeof request - 1)
        return -1;
    struct iovec response[2] = {
        {(void *)response_head, sizeof response_head - 1},
        {(void *)response_body, sizeof response_body - 1},
    };
    if (server_calls->writev(server, response, 2) != (ssize_t)response_length)
        return -1;
    size_t received = 0;
    while (received < response_length) {
        ssize_t n = client_calls->recv(client, buffer, sizeof buffer, 0);
        if (n <= 0)
            return -1;
        received += (size_t)n;
    }
    return 0;
}

/* The thread's CPU time per request over count requests, or -1. */
static double requests_seconds(long count, int server,
                               const struct socket_calls *server_calls,
                               int client, const struct socket_calls *client_calls)
{
    double start = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < count; i++)
        if (request_serve(server, server_calls, client, client_calls) != 0)
            return -1;
    return (clock_seconds(CLOCK_THREAD_CPUTIME_ID) - start) / (double)count;
}

/*
 * Tries of the loop alternate between the server's side as a server makes
 * it (seen) and through libc's own calls (unseen), in one process: the
 * same memory layout, the same machine moment, so that their difference
 * is reqprof's and not the noise between two processes (a few percent of
 * the loop, more than what is measured).
 */
static int measure_requests(long requests)
{
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    struct socket_calls unseen = {
        libc != NULL ? dlsym(libc, "send") : NULL,
        libc != NULL ? dlsym(libc, "recv") : NULL,
        libc != NULL ? dlsym(libc, "writev") : NULL,
    };
    struct socket_calls seen = {send, recv, writev};
    int server, client;
    if (unseen.send == NULL || unseen.recv == NULL || unseen.writev == NULL ||
        connection_open(&server, &client) != 0) {
        perror("bookkeeping_cost: cannot set up the request loop");
        return 1;
    }
    /* Warm-up: a preloaded reqprof starts its writer and its thread state
     * on the first requests. */
    if (requests_seconds(2000, server, &seen, client, &unseen) < 0)
        goto failed;
    long per_try = requests / TRIES > 0 ? requests / TRIES : 1;
    double best_seen = 1e9, best_unseen = 1e9;
    (void)getppid(); /* the fence a strace of the loop looks for */
    for (int attempt = 0; attempt < TRIES; attempt++) {
        double took = requests_seconds(per_try, server, &seen, client, &unseen);
        if (took < 0)
            goto failed;
        keep_best(&best_seen, took);
        (void)getppid();
        took = requests_seconds(per_try, server, &unseen, client, &unseen);
        if (took < 0)
            goto failed;
        keep_best(&best_unseen, took);
        (void)getppid();
    }
    printf("request_loop_ns %.0f request_loop_unseen_ns %.0f requests_per_try %ld tries %d\n",
           best_seen * 1e9, best_unseen * 1e9, per_try, TRIES);
    return 0;
failed:
    perror("bookkeeping_cost: a request of the loop failed");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--requests") == 0)
        return measure_requests(atol(argv[2]));
    if (argc != 1) {
        fprintf(stderr, "usage: bookkeeping_cost [--requests N]\n");
        return 2;
    }
    return measure_pieces();
}
