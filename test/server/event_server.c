/*
 * event_server: a one-thread epoll HTTP server whose requests wait on an
 * upstream, for reqprof's end-to-end tests of event loops.
 *
 * An event-loop thread interleaves requests: while one request waits for
 * its upstream, the loop reads, burns and answers others. reqprof must
 * still give each request its own samples, which it can only do by knowing
 * which request the thread works for at each moment: the one whose client
 * connection it last read or wrote, or the one whose upstream socket it
 * reads, since a socket a request wrote to belongs to that request until
 * the request ends (docs/attribution.md, rule 2).
 *
 * Each request of kind a or b does, in order:
 *
 *   1. burns ms of CPU in kind_a_before or kind_b_before, right after
 *      reading the request from its client;
 *   2. sends GET /sleep?ms=WAIT to the upstream (the test server, which
 *      answers after WAIT ms) and returns to the event loop, serving other
 *      connections until the answer arrives;
 *   3. reads the answer, then burns ms in kind_a_after or kind_b_after;
 *   4. answers its client.
 *
 * Upstream connections are kept alive and pooled, as proxies do: a request
 * takes an idle one, or connects a new one without blocking, in which case
 * it sends its upstream request only once the connect completes, on a
 * later turn of the loop (as nginx does). A connection goes back to the
 * pool when its answer has been read, and the next request that takes it
 * writes to it in turn.
 *
 * Routes (parameters show their defaults):
 *
 *   GET /a?ms=20&wait=20   kind a, as above
 *   GET /b?ms=20&wait=20   kind b, as above
 *   GET /                  ok, no work, no upstream
 *   anything else          404 (GET) or 405
 *
 * Clients are read with read(), answered with writev(); upstream requests
 * go out with send() and their answers are read with read(). Keep-alive and
 * pipelined requests are served in order. Request bodies are not accepted.
 *
 * Usage: event_server --upstream PORT [--port N]
 *   prints "listening on PORT" once it serves; SIGTERM or SIGINT end the
 *   loop and main() returns 0.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "server_support.h"

/* A request head must fit in a client's buffer. */
#define CLIENT_BUFFER_SIZE 8192
/* An upstream answer (head and body) must fit in an upstream's buffer. */
#define UPSTREAM_BUFFER_SIZE 4096
/* Room for an answer's status line, headers and short body. */
#define RESPONSE_MAX 512
/* Room for an upstream request. */
#define UPSTREAM_REQUEST_MAX 128
#define PARAM_MS_MAX 60000
#define EVENTS_MAX 64

/* What an epoll event's data points to starts with one of these. */
enum endpoint_type { ENDPOINT_LISTEN, ENDPOINT_SIGNAL, ENDPOINT_CLIENT, ENDPOINT_UPSTREAM };

/* The kinds of request that wait on the upstream. */
enum request_kind { KIND_A, KIND_B };

/* A socket the loop watches. Closed client and upstream endpoints are
 * freed only after the batch of events that closed them, since a later
 * event of the same batch may still point to them. */
struct endpoint {
    enum endpoint_type type;
    int fd;
    bool closed;                  /* closed: skip its remaining events */
    struct endpoint *next_closed; /* endpoints to free after this batch */
};

/* The routes. */
enum route { ROUTE_ROOT, ROUTE_A, ROUTE_B, ROUTE_NONE };

struct upstream;

/* One client connection. */
struct client {
    struct endpoint endpoint;            /* first: epoll data points here */
    enum {
        CLIENT_READING,                  /* waiting for (more of) a request */
        CLIENT_UPSTREAM,                 /* its request waits on the upstream */
        CLIENT_WRITING,                  /* its answer is partly sent */
    } state;
    enum request_kind kind;              /* of the current request */
    unsigned ms;                         /* burn time of the current request */
    bool keep_alive;                     /* serve another request afterwards */
    struct upstream *upstream;           /* serving the current request, or NULL */
    size_t in_length;                    /* bytes in in[] */
    size_t out_length, out_sent;         /* the answer in out[], and how much left */
    char in[CLIENT_BUFFER_SIZE];         /* bytes read, not yet consumed */
    char out[RESPONSE_MAX];              /* the answer being sent */
};

/* One connection to the upstream. */
struct upstream {
    struct endpoint endpoint;            /* first: epoll data points here */
    bool connecting;                     /* a non-blocking connect is under way */
    bool reused;                         /* came from the pool: may have been closed */
    struct client *client;               /* the client it works for, or NULL when
                                            idle or when that client went away */
    struct upstream *next_idle;          /* the pool, a stack */
    size_t request_length, request_sent; /* the upstream request in request[] */
    size_t in_length;                    /* bytes of the answer in in[] */
    char request[UPSTREAM_REQUEST_MAX];
    char in[UPSTREAM_BUFFER_SIZE];
};

static int epoll_fd = -1;
static struct sockaddr_in upstream_address;
static struct upstream *idle_upstreams;
static struct endpoint *closed_endpoints;
static bool stopping;
/* The four burners, each under its own name (server_support.h). */
SERVER_BURNER(kind_a_before, 0x9e3779b97f4a7c15u)
SERVER_BURNER(kind_a_after, 0x2545f4914f6cdd1du)
SERVER_BURNER(kind_b_before, 2166136261u)
SERVER_BURNER(kind_b_after, 0x811c9dc5u)




static int epoll_set(int op, struct endpoint *endpoint, uint32_t events) {
    struct epoll_event event = {.events = events, .data.ptr = endpoint};

    return epoll_ctl(epoll_fd, op, endpoint->fd, &event) == 0 ? 0 : -errno;
}

/* Closes the endpoint's socket (which takes it out of epoll) and frees it
 * after the current batch of events. */
static void endpoint_close(struct endpoint *endpoint) {
    close(endpoint->fd);
    endpoint->closed = true;
    endpoint->next_closed = closed_endpoints;
    closed_endpoints = endpoint;
}

static void client_close(struct client *c) {
    if (c->upstream != NULL)
        c->upstream->client = NULL; /* its answer will be read and dropped */
    endpoint_close(&c->endpoint);
}

static void upstream_close(struct upstream *u) {
    endpoint_close(&u->endpoint);
}

static void client_serve(struct client *c);

/* Sends what is left of the client's answer. Returns 0, or -errno when the
 * connection failed. */
static int client_flush(struct client *c) {
    while (c->out_sent < c->out_length) {
        struct iovec iov = {c->out + c->out_sent, c->out_length - c->out_sent};
        ssize_t n = writev(c->endpoint.fd, &iov, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->state = CLIENT_WRITING;
            return epoll_set(EPOLL_CTL_MOD, &c->endpoint, EPOLLOUT);
        }
        if (n < 0)
            return -errno;
        c->out_sent += (size_t)n;
    }
    return 0;
}

/* Answers the client's current request, then goes on with its next one, or
 * closes the connection. The answer head and body go out in one writev. */
static void client_answer(struct client *c, int status, const char *body) {
    c->out_length = (size_t)snprintf(c->out, sizeof c->out,
                                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                                     "Content-Length: %zu\r\n%s\r\n%s",
                                     status, server_http_reason(status), strlen(body),
                                     c->keep_alive ? "" : "Connection: close\r\n", body);
    c->out_sent = 0;
    if (client_flush(c) != 0) {
        client_close(c);
        return;
    }
    if (c->state == CLIENT_WRITING)
        return; /* client_on_event goes on once the answer is out */
    if (!c->keep_alive) {
        client_close(c);
        return;
    }
    c->state = CLIENT_READING;
    client_serve(c);
}

/* Hands an idle upstream connection back to the pool. */
static void upstream_release(struct upstream *u) {
    u->client = NULL;
    u->in_length = 0;
    u->next_idle = idle_upstreams;
    idle_upstreams = u;
    /* The upstream must not close an idle connection unseen: watch it. */
    if (epoll_set(EPOLL_CTL_MOD, &u->endpoint, EPOLLIN) != 0) {
        idle_upstreams = u->next_idle;
        upstream_close(u);
    }
}

/* Sends what is left of the upstream request. Returns 0 or -errno. */
static int upstream_flush(struct upstream *u) {
    while (u->request_sent < u->request_length) {
        ssize_t n = send(u->endpoint.fd, u->request + u->request_sent,
                         u->request_length - u->request_sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return epoll_set(EPOLL_CTL_MOD, &u->endpoint, EPOLLOUT);
        if (n < 0)
            return -errno;
        u->request_sent += (size_t)n;
    }
    return epoll_set(EPOLL_CTL_MOD, &u->endpoint, EPOLLIN);
}

/* Opens a new upstream connection without blocking. Returns it, or NULL. */
static struct upstream *upstream_connect(void) {
    struct upstream *u = calloc(1, sizeof *u);
    int fd;

    if (u == NULL)
        return NULL;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        free(u);
        return NULL;
    }
    u->endpoint = (struct endpoint){.type = ENDPOINT_UPSTREAM, .fd = fd};
    if (connect(fd, (struct sockaddr *)&upstream_address, sizeof upstream_address) != 0) {
        if (errno != EINPROGRESS) {
            upstream_close(u);
            return NULL;
        }
        u->connecting = true;
    }
    if (epoll_set(EPOLL_CTL_ADD, &u->endpoint, u->connecting ? EPOLLOUT : 0) != 0) {
        upstream_close(u);
        return NULL;
    }
    return u;
}

/* Starts the upstream part of the client's request: takes a pooled
 * connection or makes a new one, and sends the request at once if it can.
 * Returns 0, or -1 when no upstream could be had. */
static int upstream_start(struct client *c, unsigned wait_ms) {
    struct upstream *u = idle_upstreams;

    if (u != NULL) {
        idle_upstreams = u->next_idle;
        u->reused = true;
    } else if ((u = upstream_connect()) == NULL) {
        return -1;
    }
    u->client = c;
    u->in_length = 0;
    u->request_sent = 0;
    u->request_length = (size_t)snprintf(u->request, sizeof u->request,
                                         "GET /sleep?ms=%u HTTP/1.1\r\nHost: upstream\r\n\r\n",
                                         wait_ms);
    c->upstream = u;
    c->state = CLIENT_UPSTREAM;
    /* The client is not read while its request waits. */
    if (epoll_set(EPOLL_CTL_MOD, &c->endpoint, 0) != 0)
        return -1;
    if (!u->connecting && upstream_flush(u) != 0) {
        c->upstream = NULL;
        upstream_close(u);
        return -1;
    }
    return 0;
}

/* Finds KEY in QUERY and reads its decimal value into *VALUE, which keeps
 * its default when KEY is absent. Returns false for a bad value. */
static bool query_uint(const char *query, const char *key, unsigned *value) {
    size_t key_length = strlen(key);

    while (*query != '\0') {
        size_t pair = strcspn(query, "&");
        if (pair > key_length && strncmp(query, key, key_length) == 0 &&
            query[key_length] == '=') {
            char *end;
            unsigned long parsed = strtoul(query + key_length + 1, &end, 10);
            if (!isdigit((unsigned char)query[key_length + 1]) || end != query + pair ||
                parsed > PARAM_MS_MAX)
                return false;
            *value = (unsigned)parsed;
            return true;
        }
        query += pair + (query[pair] == '&');
    }
    return true;
}

/* Drops the first LENGTH bytes of the client's buffer. */
static void client_consume(struct client *c, size_t length) {
    memmove(c->in, c->in + length, c->in_length - length);
    c->in_length -= length;
}

/* Serves the request at the front of the client's buffer, if a whole head
 * is there; otherwise waits for more. */
SERVER_FRAME static void client_serve(struct client *c) {
    char *end = memmem(c->in, c->in_length, "\r\n\r\n", 4);
    char *line_end, *target, *version, *query, *line;
    unsigned ms = 20, wait_ms = 20;
    enum route route;
    bool get, bad_query;

    if (end == NULL) {
        if (c->in_length == sizeof c->in) {
            c->keep_alive = false;
            client_answer(c, 431, "Request Header Fields Too Large\n");
        } else if (epoll_set(EPOLL_CTL_MOD, &c->endpoint, EPOLLIN) != 0) {
            client_close(c);
        }
        return;
    }
    end[2] = '\0'; /* the head, each line ending in CRLF */
    line_end = strstr(c->in, "\r\n");
    *line_end = '\0';
    c->keep_alive = true;
    for (line = line_end + 2; *line != '\0'; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Connection:", 11) == 0 && strcasestr(line, "close") != NULL)
            c->keep_alive = false;
        if (strncasecmp(line, "Content-Length:", 15) == 0 ||
            strncasecmp(line, "Transfer-Encoding:", 18) == 0)
            c->keep_alive = false; /* bodies are not read: nothing after one is */
    }
    target = strchr(c->in, ' ');
    version = target != NULL ? strchr(target + 1, ' ') : NULL;
    if (version == NULL || strncmp(version + 1, "HTTP/1.", 7) != 0) {
        c->keep_alive = false;
        client_answer(c, 400, "Bad Request\n");
        return;
    }
    *target++ = '\0';
    *version = '\0';
    if ((query = strchr(target, '?')) != NULL)
        *query++ = '\0';
    route = strcmp(target, "/") == 0 ? ROUTE_ROOT
          : strcmp(target, "/a") == 0 ? ROUTE_A
          : strcmp(target, "/b") == 0 ? ROUTE_B : ROUTE_NONE;
    get = strcmp(c->in, "GET") == 0;
    bad_query = query != NULL && (!query_uint(query, "ms", &ms) ||
                                  !query_uint(query, "wait", &wait_ms));
    /* The head is parsed: what follows it is the next request. */
    client_consume(c, (size_t)(end + 4 - c->in));

    if (route == ROUTE_NONE) {
        client_answer(c, 404, "Not Found\n");
    } else if (!get) {
        c->keep_alive = false;
        client_answer(c, 405, "Method Not Allowed\n");
    } else if (route == ROUTE_ROOT) {
        client_answer(c, 200, "ok\n");
    } else if (bad_query) {
        client_answer(c, 400, "Bad Request\n");
    } else {
        c->kind = route == ROUTE_A ? KIND_A : KIND_B;
        c->ms = ms;
        if (c->kind == KIND_A)
            kind_a_before(ms);
        else
            kind_b_before(ms);
        if (upstream_start(c, wait_ms) != 0) {
            c->upstream = NULL;
            c->state = CLIENT_READING;
            client_answer(c, 502, "Bad Gateway\n");
        }
    }
}

/* The upstream's answer to the client's request is complete. */
SERVER_FRAME static void client_on_upstream_answer(struct client *c, bool ok) {
    char body[64];

    c->upstream = NULL;
    c->state = CLIENT_READING;
    if (!ok) {
        client_answer(c, 502, "Bad Gateway\n");
        return;
    }
    if (c->kind == KIND_A)
        kind_a_after(c->ms);
    else
        kind_b_after(c->ms);
    snprintf(body, sizeof body, "%s: burned %u ms before and %u ms after the upstream\n",
             c->kind == KIND_A ? "a" : "b", c->ms, c->ms);
    client_answer(c, 200, body);
}

/* Returns the length of a complete answer at the start of BUF, 0 if it is
 * not complete yet, or -1 if it is malformed (answers must carry a
 * Content-Length, as the test server's do). */
static long upstream_answer_length(const char *buf, size_t length) {
    const char *end = memmem(buf, length, "\r\n\r\n", 4);
    const char *line;
    long body = -1;

    if (end == NULL)
        return length == UPSTREAM_BUFFER_SIZE ? -1 : 0;
    for (line = memmem(buf, (size_t)(end - buf), "\r\n", 2); line != NULL && line < end;
         line = memmem(line + 2, (size_t)(end - line), "\r\n", 2)) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            body = strtol(line + 17, NULL, 10);
    }
    if (body < 0 || (size_t)(end + 4 - buf) + (size_t)body > UPSTREAM_BUFFER_SIZE)
        return -1;
    return (size_t)(end + 4 - buf) + (size_t)body <= length ? (end + 4 - buf) + body : 0;
}

static void upstream_on_event(struct upstream *u, uint32_t events) {
    struct client *c = u->client;
    long answer;
    ssize_t n;

    if (u->connecting) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(u->endpoint.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        u->connecting = false;
        if (error != 0 || upstream_flush(u) != 0)
            goto failed;
        return;
    }
    if (events & EPOLLOUT) {
        if (upstream_flush(u) != 0)
            goto failed;
        return;
    }
    n = read(u->endpoint.fd, u->in + u->in_length, sizeof u->in - u->in_length);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0)
        goto failed;
    u->in_length += (size_t)n;
    if (c == NULL && u->request_length == 0)
        goto failed; /* bytes on an idle connection: not ours to read */
    answer = upstream_answer_length(u->in, u->in_length);
    if (answer == 0)
        return;
    if (answer < 0 || (size_t)answer != u->in_length)
        goto failed;
    u->request_length = 0;
    upstream_release(u);
    if (c != NULL)
        client_on_upstream_answer(c, true);
    return;

failed:
    /* A pooled connection the upstream closed while it was idle: retry once
     * on a new one. */
    if (c != NULL && u->reused && u->in_length == 0) {
        unsigned wait_ms = 20;
        sscanf(u->request, "GET /sleep?ms=%u", &wait_ms);
        c->upstream = NULL;
        upstream_close(u);
        if (upstream_start(c, wait_ms) == 0)
            return;
        client_on_upstream_answer(c, false);
        return;
    }
    if (u->client == NULL && u->request_length == 0) {
        /* Idle in the pool: take it out. */
        struct upstream **p = &idle_upstreams;
        while (*p != NULL && *p != u)
            p = &(*p)->next_idle;
        if (*p == u)
            *p = u->next_idle;
    }
    upstream_close(u);
    if (c != NULL)
        client_on_upstream_answer(c, false);
}

static void client_on_event(struct client *c, uint32_t events) {
    ssize_t n;

    if (c->state == CLIENT_WRITING) {
        if (client_flush(c) != 0) {
            client_close(c);
        } else if (c->state == CLIENT_WRITING && c->out_sent == c->out_length) {
            c->state = CLIENT_READING;
            if (!c->keep_alive)
                client_close(c);
            else
                client_serve(c);
        }
        return;
    }
    if (c->state != CLIENT_READING || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    n = read(c->endpoint.fd, c->in + c->in_length, sizeof c->in - c->in_length);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        client_close(c);
        return;
    }
    c->in_length += (size_t)n;
    client_serve(c);
}

static void listener_on_event(int listen_fd) {
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct client *c;

        if (fd < 0)
            return; /* EAGAIN, or a transient error: epoll says when to retry */
        if ((c = calloc(1, sizeof *c)) == NULL) {
            close(fd);
            continue;
        }
        c->endpoint = (struct endpoint){.type = ENDPOINT_CLIENT, .fd = fd};
        c->state = CLIENT_READING;
        if (epoll_set(EPOLL_CTL_ADD, &c->endpoint, EPOLLIN) != 0)
            client_close(c);
    }
}

/* The event loop: one thread, every socket. */
SERVER_FRAME static void server_run(struct endpoint *listener, struct endpoint *signals) {
    struct epoll_event events[EVENTS_MAX];

    while (!stopping) {
        int count = epoll_wait(epoll_fd, events, EVENTS_MAX, -1);
        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0) {
            perror("event_server: epoll_wait");
            return;
        }
        for (int i = 0; i < count; i++) {
            struct endpoint *endpoint = events[i].data.ptr;
            if (endpoint->closed)
                continue;
            if (endpoint == listener)
                listener_on_event(listener->fd);
            else if (endpoint == signals)
                stopping = true;
            else if (endpoint->type == ENDPOINT_CLIENT)
                client_on_event((struct client *)endpoint, events[i].events);
            else
                upstream_on_event((struct upstream *)endpoint, events[i].events);
        }
        while (closed_endpoints != NULL) {
            struct endpoint *next = closed_endpoints->next_closed;
            free(closed_endpoints);
            closed_endpoints = next;
        }
    }
}

static bool parse_port(const char *text, unsigned long *port) {
    char *end;

    if (!isdigit((unsigned char)*text))
        return false;
    *port = strtoul(text, &end, 10);
    return *end == '\0' && *port <= 65535;
}

int main(int argc, char **argv) {
    struct endpoint listener = {.type = ENDPOINT_LISTEN, .fd = -1};
    struct endpoint signals = {.type = ENDPOINT_SIGNAL, .fd = -1};
    struct sockaddr_in address;
    socklen_t address_length = sizeof address;
    unsigned long port = 0, upstream_port = 0;
    sigset_t stop_signals;

    for (int i = 1; i < argc; i += 2) {
        if (i + 1 < argc && strcmp(argv[i], "--port") == 0 && parse_port(argv[i + 1], &port))
            continue;
        if (i + 1 < argc && strcmp(argv[i], "--upstream") == 0 &&
            parse_port(argv[i + 1], &upstream_port) && upstream_port != 0)
            continue;
        upstream_port = 0;
        break;
    }
    if (upstream_port == 0) {
        fprintf(stderr, "usage: event_server --upstream PORT [--port N]\n");
        return 2;
    }
    upstream_address = (struct sockaddr_in){
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)upstream_port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    if ((listener.fd = server_listen((unsigned)port)) < 0) {
        fprintf(stderr, "event_server: cannot listen on 127.0.0.1:%lu: %s\n", port,
                strerror(-listener.fd));
        return 1;
    }
    if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) != 0 ||
        (signals.fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
        (epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        epoll_set(EPOLL_CTL_ADD, &listener, EPOLLIN) != 0 ||
        epoll_set(EPOLL_CTL_ADD, &signals, EPOLLIN) != 0 ||
        getsockname(listener.fd, (struct sockaddr *)&address, &address_length) != 0) {
        perror("event_server: setup");
        return 1;
    }
    printf("listening on %u\n", ntohs(address.sin_port));
    fflush(stdout);

    server_run(&listener, &signals);
    close(listener.fd);
    return 0;
}
