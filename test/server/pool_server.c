/*
 * pool_server: an HTTP server whose requests are worked on by a pool of
 * threads that never touch the request's socket, for reqprof's end-to-end
 * tests of handoffs (preload/handoff.h).
 *
 * One I/O thread runs an epoll loop: it accepts, reads each request and
 * queues a job for the pool; when a worker is done it writes the
 * response. Worker threads (four) take jobs from the queue, burn CPU in a
 * function named after the route, put the result on the done list and
 * wake the I/O thread through an eventfd its epoll set watches. The
 * shape of many C++ servers.
 *
 * The queue wakes its workers (--queue):
 *   cond  a mutex and a condition variable: pthread_cond_signal, and
 *         pthread_cond_wait in the workers; the eventfd is written with
 *         write()
 *   sem   a mutex and a semaphore counting the jobs: sem_post, and
 *         sem_wait in the workers; the eventfd is written with
 *         eventfd_write()
 *   futex a mutex and a futex word counting the jobs, as runtimes that
 *         park threads themselves do: syscall(SYS_futex, FUTEX_WAKE) and
 *         FUTEX_WAIT; the eventfd is written with write()
 *
 * Routes:
 *   GET /alpha?ms=50   burn_alpha for ms of CPU on a worker
 *   GET /beta?ms=50    burn_beta, the same
 *   GET /              ok, answered by the I/O thread, no job
 *   anything else      404
 *
 * Each connection carries one request at a time (keep-alive is served in
 * turn); the response closes nothing.
 *
 * Usage: pool_server [--queue cond|sem|futex] [--workers N]
 *   N worker threads (4; 1 to 16): with fewer workers than requests at
 *   once, a worker that finishes a job finds the next one queued and
 *   takes it without waiting.
 *   Prints "listening on PORT" once it serves; SIGTERM or SIGINT end the
 *   loop and main() returns 0.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server_support.h"

#define WORKERS_DEFAULT 4
#define WORKERS_MAX 16
#define CLIENT_BUFFER_SIZE 4096
#define RESPONSE_MAX 256
#define PARAM_MS_MAX 10000
#define EVENTS_MAX 64

enum route { ROUTE_ROOT, ROUTE_ALPHA, ROUTE_BETA, ROUTE_NONE };

/* A client connection; epoll data points to it (the listener and the
 * eventfd are told apart by these two markers). */
struct client {
    int fd;
    size_t in_length;
    char in[CLIENT_BUFFER_SIZE];
    /* The job of its request, while a worker has it. */
    enum route route;
    unsigned ms;
    struct client *next; /* in the queue or the done list */
};

static struct client listener_marker, eventfd_marker;

static enum { QUEUE_COND, QUEUE_SEM, QUEUE_FUTEX } queue_kind;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static sem_t queue_jobs;
/* Jobs ever queued: a worker waits while it holds what it saw. */
static uint32_t queue_futex;
/* Both under queue_lock; first in, first out. */
static struct client *queue_head, *queue_tail;
static struct client *done_list;
static int done_eventfd = -1;
static volatile sig_atomic_t stopping;
SERVER_BURNER(burn_alpha, 0x9e3779b97f4a7c15u)
SERVER_BURNER(burn_beta, 2166136261u)



/* Takes the next job, waiting for one. */
static struct client *queue_take(void) {
    struct client *job;

    if (queue_kind == QUEUE_SEM) {
        while (sem_wait(&queue_jobs) != 0)
            ;
        pthread_mutex_lock(&queue_lock);
    } else if (queue_kind == QUEUE_FUTEX) {
        pthread_mutex_lock(&queue_lock);
        while (queue_head == NULL) {
            uint32_t seen = __atomic_load_n(&queue_futex, __ATOMIC_ACQUIRE);

            pthread_mutex_unlock(&queue_lock);
            syscall(SYS_futex, &queue_futex, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
            pthread_mutex_lock(&queue_lock);
        }
    } else {
        pthread_mutex_lock(&queue_lock);
        while (queue_head == NULL)
            pthread_cond_wait(&queue_ready, &queue_lock);
    }
    job = queue_head;
    queue_head = job->next;
    if (queue_head == NULL)
        queue_tail = NULL;
    pthread_mutex_unlock(&queue_lock);
    return job;
}

static void queue_put(struct client *job) {
    pthread_mutex_lock(&queue_lock);
    job->next = NULL;
    if (queue_tail != NULL)
        queue_tail->next = job;
    else
        queue_head = job;
    queue_tail = job;
    __atomic_fetch_add(&queue_futex, 1, __ATOMIC_RELEASE);
    if (queue_kind == QUEUE_COND)
        pthread_cond_signal(&queue_ready);
    pthread_mutex_unlock(&queue_lock);
    if (queue_kind == QUEUE_SEM)
        sem_post(&queue_jobs);
    else if (queue_kind == QUEUE_FUTEX)
        syscall(SYS_futex, &queue_futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Hands a finished job back to the I/O thread. */
static void done_put(struct client *job) {
    uint64_t one = 1;

    pthread_mutex_lock(&queue_lock);
    job->next = done_list;
    done_list = job;
    pthread_mutex_unlock(&queue_lock);
    if (queue_kind == QUEUE_SEM)
        (void)eventfd_write(done_eventfd, one);
    else if (write(done_eventfd, &one, sizeof one) != sizeof one)
        perror("pool_server: write eventfd");
}

SERVER_FRAME static void *worker_main(void *unused) {
    (void)unused;
    for (;;) {
        struct client *job = queue_take();

        if (job->route == ROUTE_ALPHA)
            burn_alpha(job->ms);
        else
            burn_beta(job->ms);
        done_put(job);
    }
    return NULL;
}

static void respond(struct client *client, int status, const char *body) {
    char response[RESPONSE_MAX];
    int length = snprintf(response, sizeof response,
                          "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n"
                          "Content-Type: text/plain\r\n\r\n%s",
                          status, status == 200 ? "OK" : "Not Found",
                          strlen(body), body);
    /* Responses are small: the socket takes them whole, or the client
     * went away. */
    if (send(client->fd, response, (size_t)length, MSG_NOSIGNAL) != length)
        shutdown(client->fd, SHUT_RDWR);
}

static void client_close(int epoll_fd, struct client *client) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, client->fd, NULL);
    close(client->fd);
    free(client);
}

static unsigned query_ms(const char *target) {
    const char *ms = strstr(target, "ms=");
    unsigned long value = ms != NULL ? strtoul(ms + 3, NULL, 10) : 50;

    return value > PARAM_MS_MAX ? PARAM_MS_MAX : (unsigned)value;
}

/* A whole request head is in: queue its job, or answer it at once.
 * Returns false when the client must be closed. */
static bool client_request(struct client *client, size_t head_length) {
    char target[256] = "";

    if (sscanf(client->in, "GET %255s HTTP/1.", target) != 1) {
        return false;
    }
    memmove(client->in, client->in + head_length, client->in_length - head_length);
    client->in_length -= head_length;
    client->route = strncmp(target, "/alpha", 6) == 0  ? ROUTE_ALPHA
                    : strncmp(target, "/beta", 5) == 0 ? ROUTE_BETA
                    : strcmp(target, "/") == 0         ? ROUTE_ROOT
                                                       : ROUTE_NONE;
    if (client->route == ROUTE_ROOT || client->route == ROUTE_NONE) {
        respond(client, client->route == ROUTE_ROOT ? 200 : 404,
                client->route == ROUTE_ROOT ? "ok\n" : "not found\n");
        return true;
    }
    client->ms = query_ms(target);
    queue_put(client);
    return true;
}

/* The client is readable. While a worker has its job, the I/O thread
 * does not watch it (one request at a time per connection). */
static void client_readable(int epoll_fd, struct client *client) {
    ssize_t got = read(client->fd, client->in + client->in_length,
                       sizeof client->in - 1 - client->in_length);
    char *end;

    if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        client_close(epoll_fd, client);
        return;
    }
    client->in_length += (size_t)got;
    client->in[client->in_length] = '\0';
    end = strstr(client->in, "\r\n\r\n");
    if (end == NULL) {
        if (client->in_length == sizeof client->in - 1)
            client_close(epoll_fd, client);
        return;
    }
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, client->fd, NULL);
    if (!client_request(client, (size_t)(end + 4 - client->in))) {
        close(client->fd);
        free(client);
        return;
    }
    if (client->route == ROUTE_ROOT || client->route == ROUTE_NONE) {
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = client};
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, client->fd, &event);
    }
}

/* Workers finished jobs: answer them, and watch their clients again. */
static void jobs_done(int epoll_fd) {
    uint64_t count;
    struct client *done;

    if (read(done_eventfd, &count, sizeof count) != sizeof count)
        return;
    pthread_mutex_lock(&queue_lock);
    done = done_list;
    done_list = NULL;
    pthread_mutex_unlock(&queue_lock);
    while (done != NULL) {
        struct client *client = done;
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = client};
        char body[64];

        done = done->next;
        snprintf(body, sizeof body, "burned %u ms in burn_%s\n", client->ms,
                 client->route == ROUTE_ALPHA ? "alpha" : "beta");
        respond(client, 200, body);
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, client->fd, &event);
    }
}

static void accept_clients(int epoll_fd, int listener) {
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct client *client;
        struct epoll_event event = {.events = EPOLLIN};

        if (fd < 0)
            return;
        client = calloc(1, sizeof *client);
        if (client == NULL) {
            close(fd);
            continue;
        }
        client->fd = fd;
        event.data.ptr = client;
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    }
}

static void on_stop(int signal_number) {
    (void)signal_number;
    stopping = 1;
}

int main(int argc, char **argv) {
    struct epoll_event events[EVENTS_MAX];
    struct epoll_event event = {.events = EPOLLIN};
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    int listener, epoll_fd;
    long workers = WORKERS_DEFAULT;

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--workers") == 0) {
            workers = strtol(argv[++i], NULL, 10);
            if (workers < 1 || workers > WORKERS_MAX) {
                fprintf(stderr, "pool_server: --workers takes 1 to %d\n", WORKERS_MAX);
                return 2;
            }
            continue;
        }
        const char *queue = i + 1 < argc && strcmp(argv[i], "--queue") == 0 ? argv[++i] : "";

        if (strcmp(queue, "cond") == 0) {
            queue_kind = QUEUE_COND;
        } else if (strcmp(queue, "sem") == 0) {
            queue_kind = QUEUE_SEM;
        } else if (strcmp(queue, "futex") == 0) {
            queue_kind = QUEUE_FUTEX;
        } else {
            fprintf(stderr, "usage: pool_server [--queue cond|sem|futex] [--workers N]\n");
            return 2;
        }
    }
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    signal(SIGPIPE, SIG_IGN);
    listener = server_listen(0);
    done_eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (listener < 0 || done_eventfd < 0 || epoll_fd < 0 ||
        sem_init(&queue_jobs, 0, 0) != 0) {
        perror("pool_server: set-up");
        return 1;
    }
    event.data.ptr = &listener_marker;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event);
    event.data.ptr = &eventfd_marker;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, done_eventfd, &event);
    for (long i = 0; i < workers; i++) {
        pthread_t thread;

        if (pthread_create(&thread, NULL, worker_main, NULL) != 0) {
            perror("pool_server: pthread_create");
            return 1;
        }
    }
    getsockname(listener, (struct sockaddr *)&address, &length);
    printf("listening on %d\n", ntohs(address.sin_port));
    fflush(stdout);
    while (!stopping) {
        int ready = epoll_wait(epoll_fd, events, EVENTS_MAX, -1);

        for (int i = 0; i < ready; i++) {
            struct client *client = events[i].data.ptr;

            if (client == &listener_marker)
                accept_clients(epoll_fd, listener);
            else if (client == &eventfd_marker)
                jobs_done(epoll_fd);
            else
                client_readable(epoll_fd, client);
        }
    }
    return 0;
}
