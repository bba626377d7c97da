/*
 * bookkeeping_cost: what reqprof does for every request on the server's
 * thread, piece by piece, on this machine.
 *
 * - parse: reqprof's HTTP parser (preload/http_parser.c, the library's own
 *   object) fed the request wrk sends and the response head nginx answers
 *   it with (bench's tiny-request workload), plus the file's 20 bytes sent
 *   unseen (sendfile).
 * - timer: arming and disarming a per-thread CLOCK_MONOTONIC timer, as
 *   reqprof does when a request begins and ends (two timer_settime).
 * - cpu_clock: one read of the thread's CPU clock, as reqprof does when a
 *   request begins and when it ends (a system call: the vDSO serves no
 *   thread CPU clock).
 *
 * Prints "parse_ns N timer_pair_ns N cpu_clock_ns N": the best of five
 * tries of each, so that a preemption does not count.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_parser.h"

static const char request[] =
    "GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1:18555\r\n\r\n";
static const char response[] =
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

static unsigned long events;

static void on_event(void *context, enum http_event event,
                     const struct http_parser *parser, size_t offset)
{
    (void)context, (void)event, (void)parser, (void)offset;
    events++;
}

static double now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double parse_seconds(void)
{
    struct http_parser requests, responses;
    http_parser_init(&requests, HTTP_DIRECTION_REQUEST);
    http_parser_init(&responses, HTTP_DIRECTION_RESPONSE);
    const int rounds = 500000;
    double start = now_seconds();
    for (int i = 0; i < rounds; i++) {
        if (http_parser_feed(&requests, request, sizeof request - 1,
                             on_event, NULL) != 0 ||
            http_parser_feed(&responses, response, sizeof response - 1,
                             on_event, NULL) != 0 ||
            http_parser_feed_opaque(&responses, 20, on_event, NULL) != 0)
            return -1;
    }
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

int main(void)
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
    double parse = 1e9, timer_pair = 1e9, cpu_clock = 1e9;
    for (int attempt = 0; attempt < 5; attempt++) {
        double took = parse_seconds();
        if (took < 0) {
            fprintf(stderr, "bookkeeping_cost: the parser refused its input\n");
            return 1;
        }
        parse = took < parse ? took : parse;
        took = timer_pair_seconds(timer);
        timer_pair = took < timer_pair ? took : timer_pair;
        took = cpu_clock_seconds();
        cpu_clock = took < cpu_clock ? took : cpu_clock;
    }
    /* Six events a round: each message begins, has headers, completes. */
    if (events != 6ul * 5 * 500000) {
        fprintf(stderr, "bookkeeping_cost: %lu parser events, expected %lu\n",
                events, 6ul * 5 * 500000);
        return 1;
    }
    printf("parse_ns %.0f timer_pair_ns %.0f cpu_clock_ns %.0f\n", parse * 1e9,
           timer_pair * 1e9, cpu_clock * 1e9);
    return 0;
}
