/*
 * A libevent evhttp server whose slow route finishes its work in a timer
 * callback, for the deferred-work tests (issue 11, item 3).
 *
 * GET /timer?ms=N schedules a 20 ms timer; its callback burns N ms of CPU
 * in evhttp_timer_burn and only then sends the reply. Every other path is
 * answered at once from the handler ("hello"). One thread, one event loop:
 * while a /timer request waits for its timer the loop serves the others,
 * and its CPU work runs in a later loop turn with no read or write of its
 * socket before it.
 *
 * Usage: evhttp_server [--port N]   (prints "listening on PORT")
 */
#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_support.h"

#define TIMER_DELAY_US 20000

struct timer_job {
    struct evhttp_request *request;
    struct event *timer;
    unsigned ms;
};

/* Burns ms of this thread's CPU; the name the tests look for. */
SERVER_BURNER(evhttp_timer_burn, 0x9e3779b97f4a7c15u)

static void reply(struct evhttp_request *request, const char *text)
{
    struct evbuffer *body = evbuffer_new();
    evbuffer_add_printf(body, "%s\n", text);
    evhttp_send_reply(request, 200, "OK", body);
    evbuffer_free(body);
}

static void on_timer(evutil_socket_t fd, short events, void *argument)
{
    (void)fd, (void)events;
    struct timer_job *job = argument;
    evhttp_timer_burn(job->ms);
    reply(job->request, "burned in a timer");
    event_free(job->timer);
    free(job);
}

static unsigned query_ms(struct evhttp_request *request)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(request));
    const char *ms = query != NULL ? strstr(query, "ms=") : NULL;
    return ms != NULL ? (unsigned)strtoul(ms + 3, NULL, 10) : 10;
}

static void on_request(struct evhttp_request *request, void *argument)
{
    struct event_base *base = argument;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));
    if (path == NULL || strcmp(path, "/timer") != 0) {
        reply(request, "hello");
        return;
    }
    struct timer_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        evhttp_send_error(request, 500, NULL);
        return;
    }
    job->request = request;
    job->ms = query_ms(request);
    job->timer = evtimer_new(base, on_timer, job);
    struct timeval delay = {0, TIMER_DELAY_US};
    evtimer_add(job->timer, &delay);
}

int main(int argc, char **argv)
{
    unsigned long port = 0;
    if (argc == 3 && strcmp(argv[1], "--port") == 0)
        port = strtoul(argv[2], NULL, 10);
    else if (argc != 1) {
        fprintf(stderr, "usage: evhttp_server [--port N]\n");
        return 2;
    }
    int listener = server_listen((unsigned)port);
    if (listener < 0) {
        fprintf(stderr, "evhttp_server: cannot listen: %s\n", strerror(-listener));
        return 1;
    }
    struct event_base *base = event_base_new();
    struct evhttp *http = base != NULL ? evhttp_new(base) : NULL;
    if (http == NULL || evhttp_accept_socket(http, listener) != 0) {
        fprintf(stderr, "evhttp_server: cannot start libevent's http server\n");
        return 1;
    }
    evhttp_set_gencb(http, on_request, base);
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    printf("listening on %u\n", (unsigned)ntohs(address.sin_port));
    fflush(stdout);
    event_base_dispatch(base);
    return 0;
}
