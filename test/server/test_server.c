/*
 * test_server: the HTTP/1.1 server that reqprof's end-to-end tests profile.
 *
 * Every route does a known amount of work in a known function, so a test can
 * hold a request's profile against the truth: GET /burn?ms=200&fn=beta must
 * show about 200 ms of samples in burn_beta, called from route_burn,
 * request_dispatch, connection_serve and connection_thread. Those frames must
 * survive optimisation (see SERVER_FRAME), and the Makefile builds this file
 * without frame pointers, so reqprof has to unwind them through DWARF CFI.
 *
 * The routes also spread their responses over the libc calls that reqprof
 * interposes, so each interposer sees real traffic. Requests are always read
 * with read(). Parameters show their defaults; a malformed or out-of-range
 * value gets 400.
 *
 *   route                             work                          written with
 *   GET  /                            none                          writev
 *   GET  /burn?ms=100&fn=alpha        burn_alpha or burn_beta; the  writev
 *                                     body says how long the thread
 *                                     was blocked meanwhile
 *   GET  /mix?ms=200&pct=70           pct% burn_alpha, rest beta    writev
 *   GET  /sleep?ms=100                sleep_wait                    send
 *   GET  /sleepburn?sleep=50&burn=50  sleep_wait, then burn_alpha   writev
 *   GET  /pollburn?wait=100&burn=50   pipe_wait (poll on a pipe     writev
 *       &epoll=0                      nobody writes; epoll_wait with
 *                                     epoll=1), then burn_alpha
 *   POST /echo                        reads the whole body          writev
 *   GET  /chunked?chunks=4&ms=10      burn_alpha before each chunk  write per chunk
 *   GET  /file?bytes=65536            none                          writev, sendfile
 *   GET  /fork                        forks a child that burns      writev
 *                                     10 ms, runs /bin/true and
 *                                     exits; waits for it
 *   GET  /takeover?signal=27          installs SIG_DFL for that     writev
 *                                     signal, as daemons that reset
 *                                     dispositions do
 *   GET  /loader?ms=1000              for that long, dlopens two    writev
 *                                     large libraries in turn
 *                                     (libxml2 with ICU, sqlite3),
 *                                     runs code in each and
 *                                     dlcloses it: loader_cycle
 *   GET  /alloc?ms=100                malloc and free in a loop     writev
 *                                     for that long: alloc_churn
 *   GET  /waits?ms=30                 blocking calls that a signal  writev
 *                                     would interrupt (EINTR), each
 *                                     made once, results in the body
 *   GET  /waits-after?ms=30&call=poll one of them after the         writev
 *                                     response, result on stderr
 *   GET  /handoff?ms=30&after=burn    another thread answers after  writev
 *        &after_ms=80                 sleeping ms while this one      (the other
 *                                     waits for it; then this one     thread)
 *                                     works on: after_response_burn,
 *                                     or after=wait:
 *                                     after_response_wait
 *   GET  /upstream?port=N             upstream_ask: connects to      writev
 *                                     127.0.0.1:N, writes a line,
 *                                     reads until it closes
 *   GET  /readfile?path=P&chunk=65536 file_read: reads the file P    writev
 *        &call=read                   to its end in reads (or
 *                                     call=pread: preads) of chunk
 *                                     bytes; first passes 4 kB
 *                                     through a pipe of its own. The
 *                                     body says the reads' wall time
 *   anything else                     none (404, or 405)            writev
 *
 * Each connection gets a detached thread that serves keep-alive and pipelined
 * requests in order from its own buffer. SIGTERM and SIGINT make main()
 * return, so the process exits with status 0 through the normal exit path,
 * where atexit handlers and destructors (reqprof's too) still run.
 *
 * Usage: test_server [--port N]    (no port, or 0, picks a free one)
 * With TEST_SERVER_CLOSE_FDS set it first closes fds 3 to 1023, as daemons do.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/select.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server_support.h"


#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Request heads (request line and headers) larger than this get 431. */
#define HTTP_HEAD_MAX (16 * 1024)
/* Larger than HTTP_HEAD_MAX, so that any head allowed fits in the buffer. */
#define CONNECTION_BUFFER_SIZE (32 * 1024)
/* Room for a response's status line and headers. */
#define RESPONSE_HEAD_MAX 256
/* Upper limits of the query parameters. */
#define PARAM_MS_MAX 60000
#define PARAM_CHUNKS_MAX 10000
#define FILE_BYTES_MAX (1024 * 1024)

/* One client connection, owned by its thread. */
struct connection {
    int fd;                            /* the accepted socket */
    size_t start;                      /* first unconsumed byte of buf */
    size_t end;                        /* one past the last byte read */
    char head[HTTP_HEAD_MAX + 1];      /* the current request head, copied out
                                          of buf (which reading the body moves)
                                          and NUL-terminated; struct request
                                          points into it */
    char buf[CONNECTION_BUFFER_SIZE];  /* bytes read, not yet consumed */
};

/* One parsed request. */
struct request {
    const char *method;       /* "GET", "POST"... */
    const char *path;         /* target up to any '?' */
    const char *query;        /* target after the '?', or "" */
    bool http_1_0;            /* HTTP/1.0: keep-alive only when asked for */
    bool keep_alive;          /* serve another request after this one */
    bool chunked;             /* body sent with Transfer-Encoding: chunked */
    uint64_t content_length;  /* body length when not chunked */
    uint64_t body_length;     /* body bytes received, once the body is read */
};

/* The call io_send_all hands bytes to the kernel with. */
enum io_call { IO_WRITE, IO_SEND, IO_WRITEV };

/* Route handlers return 0 once they have answered, -errno when the
 * connection failed, or an HTTP error status (400 for a bad parameter) for
 * request_dispatch to answer with. */
typedef int (*route_handler)(int fd, const struct request *req);

/* The /file payload: FILE_BYTES_MAX bytes in an unlinked temporary file. */
static int file_fd = -1;
/* The signal handler writes to [1]; the accept loop polls [0]. */
static int shutdown_pipe[2] = {-1, -1};
/* Burn MS ms of this thread's CPU time, each under its own name
 * (server_support.h). */
SERVER_BURNER(burn_alpha, 0x9e3779b97f4a7c15u)
SERVER_BURNER(burn_beta, 2166136261u)


/* Sleeps MS ms of wall-clock time. reqprof's sampling signals interrupt the
 * sleep; an absolute deadline lets it resume without drifting. */
SERVER_FRAME static void sleep_wait(unsigned ms) {
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
        continue;
}

/* Waits MS ms in poll (or, with_epoll, in epoll_wait) on a pipe nobody
 * writes to, as a handler waits for a helper process or thread: a wait of
 * the request, not of an event loop. Returns 0, or -1 if the fds could
 * not be made. */
SERVER_FRAME static int pipe_wait(unsigned ms, bool with_epoll) {
    int pipe_fds[2], epoll_fd = -1;
    uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + ms * 1000000ull;
    struct epoll_event event = {.events = EPOLLIN};

    if (pipe(pipe_fds) != 0)
        return -1;
    if (with_epoll && ((epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
                       epoll_ctl(epoll_fd, EPOLL_CTL_ADD, pipe_fds[0], &event) != 0)) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        if (epoll_fd >= 0)
            close(epoll_fd);
        return -1;
    }
    struct pollfd watched = {pipe_fds[0], POLLIN, 0};
    for (uint64_t now = clock_ns(CLOCK_MONOTONIC); now < deadline;
         now = clock_ns(CLOCK_MONOTONIC)) {
        int timeout = (int)((deadline - now + 999999) / 1000000);
        if (with_epoll)
            epoll_wait(epoll_fd, &event, 1, timeout);
        else
            poll(&watched, 1, timeout);
    }
    if (epoll_fd >= 0)
        close(epoll_fd);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

/* Sends COUNT buffers with CALL: one writev, or one write or send per
 * buffer, resuming after partial writes and EINTR. Uses up IOV. Returns 0 or
 * -errno. */
static int io_send_all(int fd, enum io_call call, struct iovec *iov, int count) {
    while (count > 0) {
        ssize_t n = call == IO_WRITEV ? writev(fd, iov, count)
                  : call == IO_SEND   ? send(fd, iov->iov_base, iov->iov_len, 0)
                                      : write(fd, iov->iov_base, iov->iov_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (; count > 0 && (size_t)n >= iov->iov_len; iov++, count--)
            n -= (ssize_t)iov->iov_len;
        if (count > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* Sends LENGTH bytes of IN_FD from OFFSET with sendfile. Returns 0 or -errno. */
static int io_sendfile_all(int fd, int in_fd, off_t offset, size_t length) {
    while (length > 0) {
        ssize_t n = sendfile(fd, in_fd, &offset, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO; /* EIO: the file is too short */
        length -= (size_t)n;
    }
    return 0;
}

/* Formats the status line and headers into OUT (RESPONSE_HEAD_MAX bytes) and
 * returns their length. BODY_LENGTH < 0 announces a chunked body. */
static size_t response_head_format(char *out, const struct request *req, int status,
                                   long long body_length) {
    char framing[48] = "Transfer-Encoding: chunked";
    const char *connection = "";

    if (body_length >= 0)
        snprintf(framing, sizeof framing, "Content-Length: %lld", body_length);
    if (!req->keep_alive)
        connection = "Connection: close\r\n";
    else if (req->http_1_0)
        connection = "Connection: keep-alive\r\n";
    return (size_t)snprintf(out, RESPONSE_HEAD_MAX,
                            "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n%s\r\n%s\r\n",
                            status, server_http_reason(status), framing, connection);
}

/* Sends a whole response, head then BODY, with CALL. */
static int response_send(int fd, enum io_call call, const struct request *req, int status,
                         const char *body) {
    char head[RESPONSE_HEAD_MAX];
    size_t body_length = strlen(body);
    struct iovec iov[2] = {
        {head, response_head_format(head, req, status, (long long)body_length)},
        {(void *)body, body_length},
    };

    return io_send_all(fd, call, iov, 2);
}

/* Answers with STATUS and its reason phrase as the body. */
static int response_status(int fd, const struct request *req, int status) {
    char body[64];

    snprintf(body, sizeof body, "%s\n", server_http_reason(status));
    return response_send(fd, IO_WRITEV, req, status, body);
}

/* Finds KEY in QUERY (key=value pairs joined by '&') and returns its value,
 * which runs for *LENGTH bytes, or NULL when KEY is absent. */
static const char *query_find(const char *query, const char *key, size_t *length) {
    size_t key_length = strlen(key);

    while (*query != '\0') {
        size_t pair = strcspn(query, "&");
        if (pair > key_length && strncmp(query, key, key_length) == 0 &&
            query[key_length] == '=') {
            *length = pair - key_length - 1;
            return query + key_length + 1;
        }
        query += pair + (query[pair] == '&');
    }
    return NULL;
}

/* Reads the decimal parameter KEY into *VALUE, which keeps its default when
 * KEY is absent. Returns 0, or 400 for anything but a number up to MAX. */
static int query_uint(const char *query, const char *key, unsigned max, unsigned *value) {
    size_t length;
    const char *text = query_find(query, key, &length);
    unsigned parsed = 0;

    if (text == NULL)
        return 0;
    if (length == 0 || length > 9) /* 9 digits cannot overflow */
        return 400;
    for (size_t i = 0; i < length; i++) {
        if (!isdigit((unsigned char)text[i]))
            return 400;
        parsed = parsed * 10 + (unsigned)(text[i] - '0');
    }
    if (parsed > max)
        return 400;
    *value = parsed;
    return 0;
}

/* Copies the parameter KEY into VALUE (SIZE bytes with the NUL). Returns 0,
 * or 400 when KEY is absent, empty or too long. */
static int query_string(const char *query, const char *key, char *value, size_t size) {
    size_t length;
    const char *text = query_find(query, key, &length);

    if (text == NULL || length == 0 || length >= size)
        return 400;
    memcpy(value, text, length);
    value[length] = '\0';
    return 0;
}

SERVER_FRAME static int route_root(int fd, const struct request *req) {
    return response_send(fd, IO_WRITEV, req, 200, "ok\n");
}

/* The calling thread's time blocked so far: wall-clock time since an
 * arbitrary start, less the time it ran and the time it waited for a CPU
 * (the kernel's schedstat). Only differences mean anything: a burn that
 * took 10 ms of CPU on a crowded machine may wait long for a CPU, but it
 * never blocks unless something it called waited on a lock. -1 if the
 * kernel does not say. */
static int64_t thread_blocked_ns(void) {
    unsigned long long running_ns, waiting_ns;
    char text[128];
    /* Not stdio: its malloc could wait for another thread's arena lock. */
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    ssize_t length = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;

    if (fd >= 0)
        close(fd);
    if (length <= 0)
        return -1;
    text[length] = '\0';
    if (sscanf(text, "%llu %llu", &running_ns, &waiting_ns) != 2)
        return -1;
    return (int64_t)(clock_ns(CLOCK_MONOTONIC) - running_ns - waiting_ns);
}

SERVER_FRAME static int route_burn(int fd, const struct request *req) {
    unsigned ms = 100;
    size_t length;
    const char *fn = query_find(req->query, "fn", &length);
    bool beta = fn != NULL && length == 4 && memcmp(fn, "beta", 4) == 0;
    char body[96];

    if (fn != NULL && !beta && !(length == 5 && memcmp(fn, "alpha", 5) == 0))
        return 400;
    if (query_uint(req->query, "ms", PARAM_MS_MAX, &ms) != 0)
        return 400;
    int64_t blocked_before = thread_blocked_ns();
    if (beta)
        burn_beta(ms);
    else
        burn_alpha(ms);
    int64_t blocked_after = thread_blocked_ns();
    double blocked_ms = blocked_before < 0 || blocked_after < 0
                            ? -1.0
                            : (double)(blocked_after - blocked_before) / 1e6;
    snprintf(body, sizeof body, "burned %u ms in %s, blocked %.1f ms\n", ms,
             beta ? "burn_beta" : "burn_alpha", blocked_ms);
    return response_send(fd, IO_WRITEV, req, 200, body);
}

SERVER_FRAME static int route_mix(int fd, const struct request *req) {
    unsigned ms = 200, pct = 70, alpha_ms;
    char body[80];

    if (query_uint(req->query, "ms", PARAM_MS_MAX, &ms) != 0 ||
        query_uint(req->query, "pct", 100, &pct) != 0)
        return 400;
    alpha_ms = ms * pct / 100;
    burn_alpha(alpha_ms);
    burn_beta(ms - alpha_ms);
    snprintf(body, sizeof body, "burned %u ms in burn_alpha and %u ms in burn_beta\n",
             alpha_ms, ms - alpha_ms);
    return response_send(fd, IO_WRITEV, req, 200, body);
}

SERVER_FRAME static int route_sleep(int fd, const struct request *req) {
    unsigned ms = 100;
    char body[64];

    if (query_uint(req->query, "ms", PARAM_MS_MAX, &ms) != 0)
        return 400;
    sleep_wait(ms);
    snprintf(body, sizeof body, "slept %u ms in sleep_wait\n", ms);
    return response_send(fd, IO_SEND, req, 200, body);
}

SERVER_FRAME static int route_sleepburn(int fd, const struct request *req) {
    unsigned sleep_ms = 50, burn_ms = 50;
    char body[80];

    if (query_uint(req->query, "sleep", PARAM_MS_MAX, &sleep_ms) != 0 ||
        query_uint(req->query, "burn", PARAM_MS_MAX, &burn_ms) != 0)
        return 400;
    sleep_wait(sleep_ms);
    burn_alpha(burn_ms);
    snprintf(body, sizeof body, "slept %u ms in sleep_wait, burned %u ms in burn_alpha\n",
             sleep_ms, burn_ms);
    return response_send(fd, IO_WRITEV, req, 200, body);
}

SERVER_FRAME static int route_pollburn(int fd, const struct request *req) {
    unsigned wait_ms = 100, burn_ms = 50;
    char body[80];

    unsigned with_epoll = 0;

    if (query_uint(req->query, "wait", PARAM_MS_MAX, &wait_ms) != 0 ||
        query_uint(req->query, "burn", PARAM_MS_MAX, &burn_ms) != 0 ||
        query_uint(req->query, "epoll", 1, &with_epoll) != 0)
        return 400;
    if (pipe_wait(wait_ms, with_epoll) != 0)
        return 500;
    burn_alpha(burn_ms);
    snprintf(body, sizeof body, "waited %u ms in pipe_wait, burned %u ms in burn_alpha\n",
             wait_ms, burn_ms);
    return response_send(fd, IO_WRITEV, req, 200, body);
}

/* Appends "name=result" for one call: its return value, or errno's name. */
static void waits_note(char *body, size_t size, const char *name, long result) {
    size_t used = strlen(body);
    if (result >= 0)
        snprintf(body + used, size - used, "%s=%ld ", name, result);
    else
        snprintf(body + used, size - used, "%s=%s ", name,
                 errno == EINTR ? "EINTR" : errno == EAGAIN ? "EAGAIN"
                 : errno == ETIMEDOUT ? "ETIMEDOUT" : "error");
}

/*
 * Makes, once each, the calls that a signal interrupts with EINTR whatever
 * SA_RESTART says, each blocking for ms, and notes their results in body:
 * a profiler whose signals reach them shows up as EINTR. The sleeps and
 * the socket timeout come first, while a request is surely the thread's
 * current one. Returns 0, or -1 if the fds it needs could not be made.
 */
/* Whether waits_make_calls makes the call of that name. */
static bool waits_wanted(const char *only, const char *name) {
    return only == NULL || strcmp(only, name) == 0;
}

SERVER_FRAME static int waits_make_calls(unsigned ms, const char *only, char *body,
                                         size_t size) {
    int pipe_fds[2], pair[2], epoll_fd, semaphore_set;

    if (pipe(pipe_fds) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0 ||
        (epoll_fd = epoll_create1(0)) < 0 ||
        (semaphore_set = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) < 0)
        return -1;
    struct timespec duration = {ms / 1000, (long)(ms % 1000) * 1000000L};
    struct timeval timeout = {ms / 1000, (long)(ms % 1000) * 1000L};
    struct pollfd watched = {pipe_fds[0], POLLIN, 0};
    struct epoll_event event = {.events = EPOLLIN};
    fd_set read_set;
    char byte;
    sem_t semaphore;
    sigset_t unsent;
    struct sembuf take = {0, -1, 0};
    uint32_t futex_word = 0;
    struct timespec deadline;

    body[0] = '\0';
    if (waits_wanted(only, "nanosleep"))
        waits_note(body, size, "nanosleep", nanosleep(&duration, NULL));
    if (waits_wanted(only, "usleep"))
        waits_note(body, size, "usleep", usleep(ms * 1000));
    if (waits_wanted(only, "clock_nanosleep")) {
        int slept = clock_nanosleep(CLOCK_MONOTONIC, 0, &duration, NULL);
        errno = slept;
        waits_note(body, size, "clock_nanosleep", slept ? -1 : 0);
    }
    setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (waits_wanted(only, "recv"))
        waits_note(body, size, "recv", recv(pair[0], &byte, 1, 0));
    sem_init(&semaphore, 0, 0);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    deadline.tv_sec += ms / 1000 + deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    if (waits_wanted(only, "sem_timedwait"))
        waits_note(body, size, "sem_timedwait", sem_timedwait(&semaphore, &deadline));
    sem_destroy(&semaphore);
    sigemptyset(&unsent);
    sigaddset(&unsent, SIGUSR2);
    if (waits_wanted(only, "sigtimedwait"))
        waits_note(body, size, "sigtimedwait", sigtimedwait(&unsent, NULL, &duration));
    if (waits_wanted(only, "semtimedop"))
        waits_note(body, size, "semtimedop", semtimedop(semaphore_set, &take, 1, &duration));
    if (waits_wanted(only, "futex"))
        waits_note(body, size, "futex", syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE,
                                             0, &duration, NULL, 0));
    if (waits_wanted(only, "poll"))
        waits_note(body, size, "poll", poll(&watched, 1, (int)ms));
    if (waits_wanted(only, "ppoll"))
        waits_note(body, size, "ppoll", ppoll(&watched, 1, &duration, NULL));
    FD_ZERO(&read_set);
    FD_SET(pipe_fds[0], &read_set);
    if (waits_wanted(only, "select"))
        waits_note(body, size, "select", select(pipe_fds[0] + 1, &read_set, NULL, NULL, &timeout));
    FD_SET(pipe_fds[0], &read_set);
    if (waits_wanted(only, "pselect"))
        waits_note(body, size, "pselect", pselect(pipe_fds[0] + 1, &read_set, NULL, NULL,
                                              &duration, NULL));
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, pipe_fds[0], &event);
    if (waits_wanted(only, "epoll_wait"))
        waits_note(body, size, "epoll_wait", epoll_wait(epoll_fd, &event, 1, (int)ms));
    if (waits_wanted(only, "epoll_pwait"))
        waits_note(body, size, "epoll_pwait", epoll_pwait(epoll_fd, &event, 1, (int)ms, NULL));
    semctl(semaphore_set, 0, IPC_RMID);
    close(epoll_fd);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    close(pair[0]);
    close(pair[1]);
    strcat(body, "\n");
    return 0;
}

SERVER_FRAME static int route_waits(int fd, const struct request *req) {
    unsigned ms = 30;
    char body[512];

    if (query_uint(req->query, "ms", 1000, &ms) != 0)
        return 400;
    if (waits_make_calls(ms, NULL, body, sizeof body) != 0)
        return 500;
    return response_send(fd, IO_WRITEV, req, 200, body);
}

/*
 * One of those calls (call=NAME) right after the response, when the thread
 * works on no request but a profiler's timer may still run for it: the
 * result goes to stderr as "waits-after: NAME=RESULT".
 */
SERVER_FRAME static int route_waits_after(int fd, const struct request *req) {
    unsigned ms = 30;
    char body[512], call[32];

    if (query_uint(req->query, "ms", 1000, &ms) != 0 ||
        query_string(req->query, "call", call, sizeof call) != 0)
        return 400;
    int rc = response_send(fd, IO_WRITEV, req, 200, "call follows\n");
    if (waits_make_calls(ms, call, body, sizeof body) != 0)
        return rc;
    fprintf(stderr, "waits-after: %s", body);
    return rc;
}

/*
 * Asks the TCP server on 127.0.0.1:port (a test's own upstream) with one
 * line, blocking, and reads its answer until it closes the connection.
 * Returns the bytes read, or -1.
 */
SERVER_FRAME static long upstream_ask(unsigned port) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buffer[4096];
    long total = 0;
    ssize_t got;
    int upstream = socket(AF_INET, SOCK_STREAM, 0);

    if (upstream < 0)
        return -1;
    if (connect(upstream, (struct sockaddr *)&address, sizeof address) != 0 ||
        write(upstream, "ask\n", 4) != 4) {
        close(upstream);
        return -1;
    }
    while ((got = read(upstream, buffer, sizeof buffer)) > 0)
        total += got;
    close(upstream);
    return got < 0 ? -1 : total;
}

SERVER_FRAME static int route_upstream(int fd, const struct request *req) {
    unsigned port = 0;
    char body[64];
    long answered;

    if (query_uint(req->query, "port", 65535, &port) != 0 || port == 0)
        return 400;
    answered = upstream_ask(port);
    if (answered < 0)
        return 502;
    snprintf(body, sizeof body, "upstream answered %ld bytes\n", answered);
    return response_send(fd, IO_WRITEV, req, 200, body);
}

/* Writes 4 kB into a pipe and reads them back: a read of no disk in the
 * request. Returns 0, or -1. */
static int pipe_round_trip(void) {
    char bytes[4096] = {0};
    int ends[2];
    ssize_t got = -1;

    if (pipe(ends) != 0)
        return -1;
    if (write(ends[1], bytes, sizeof bytes) == (ssize_t)sizeof bytes)
        got = read(ends[0], bytes, sizeof bytes);
    close(ends[0]);
    close(ends[1]);
    return got == (ssize_t)sizeof bytes ? 0 : -1;
}

/* Reads the file at path to its end, chunk bytes a call, with read or
 * (use_pread) pread, and adds the calls' wall time to *call_ns. Returns
 * the bytes read, or -1. */
SERVER_FRAME static long file_read(const char *path, size_t chunk, bool use_pread,
                                   uint64_t *call_ns) {
    char *buffer = malloc(chunk);
    long total = 0;
    ssize_t got;
    int file = open(path, O_RDONLY | O_CLOEXEC);

    if (file < 0 || buffer == NULL) {
        if (file >= 0)
            close(file);
        free(buffer);
        return -1;
    }
    do {
        uint64_t start_ns = clock_ns(CLOCK_MONOTONIC);
        got = use_pread ? pread(file, buffer, chunk, total) : read(file, buffer, chunk);
        if (got > 0) {
            *call_ns += clock_ns(CLOCK_MONOTONIC) - start_ns;
            total += got;
        }
    } while (got > 0);
    close(file);
    free(buffer);
    return got < 0 ? -1 : total;
}

SERVER_FRAME static int route_readfile(int fd, const struct request *req) {
    char path[512], call[8] = "read", body[64];
    unsigned chunk = 65536;
    size_t length;
    uint64_t call_ns = 0;
    long total;

    if (query_string(req->query, "path", path, sizeof path) != 0 ||
        query_uint(req->query, "chunk", 1 << 20, &chunk) != 0 || chunk == 0)
        return 400;
    if (query_find(req->query, "call", &length) != NULL &&
        query_string(req->query, "call", call, sizeof call) != 0)
        return 400;
    if (strcmp(call, "read") != 0 && strcmp(call, "pread") != 0)
        return 400;
    if (pipe_round_trip() != 0)
        return 500;
    total = file_read(path, chunk, strcmp(call, "pread") == 0, &call_ns);
    if (total < 0)
        return 404;
    snprintf(body, sizeof body, "read %ld bytes in %llu us\n", total,
             (unsigned long long)(call_ns / 1000));
    return response_send(fd, IO_WRITEV, req, 200, body);
}

/* /handoff: the thread that read the request hands it to another, which
 * answers it. */
struct handoff {
    int fd;
    const struct request *req;
    unsigned ms;
    int rc;
};

static void *handoff_answer(void *arg) {
    struct handoff *handoff = arg;
    char body[64];

    sleep_wait(handoff->ms);
    snprintf(body, sizeof body, "answered by another thread after %u ms\n",
             handoff->ms);
    handoff->rc = response_send(handoff->fd, IO_WRITEV, handoff->req, 200, body);
    return NULL;
}

/* Work of the reading thread once the request was answered: no request's. */
SERVER_FRAME static void after_response_burn(unsigned ms) {
    burn_beta(ms);
}

/* A wait of the reading thread once the request was answered, as a worker
 * pool's idle wait: pthread_cond_timedwait until the deadline. */
SERVER_FRAME static void after_response_wait(unsigned ms) {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_t attributes;
    pthread_cond_t cond;
    struct timespec deadline;
    uint64_t deadline_ns = clock_ns(CLOCK_MONOTONIC) + ms * 1000000ull;

    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &attributes);
    deadline.tv_sec = (time_t)(deadline_ns / 1000000000u);
    deadline.tv_nsec = (long)(deadline_ns % 1000000000u);
    pthread_mutex_lock(&mutex);
    while (pthread_cond_timedwait(&cond, &mutex, &deadline) != ETIMEDOUT)
        continue;
    pthread_mutex_unlock(&mutex);
    pthread_cond_destroy(&cond);
    pthread_condattr_destroy(&attributes);
}

SERVER_FRAME static int route_handoff(int fd, const struct request *req) {
    struct handoff handoff = {.fd = fd, .req = req, .ms = 30};
    unsigned after_ms = 80;
    char after[8] = "burn";
    size_t length;
    pthread_t thread;

    if (query_uint(req->query, "ms", PARAM_MS_MAX, &handoff.ms) != 0 ||
        query_uint(req->query, "after_ms", PARAM_MS_MAX, &after_ms) != 0 ||
        (query_find(req->query, "after", &length) != NULL &&
         query_string(req->query, "after", after, sizeof after) != 0) ||
        (strcmp(after, "burn") != 0 && strcmp(after, "wait") != 0))
        return 400;
    if (pthread_create(&thread, NULL, handoff_answer, &handoff) != 0)
        return 500;
    pthread_join(thread, NULL);
    if (handoff.rc != 0)
        return handoff.rc;
    if (strcmp(after, "burn") == 0)
        after_response_burn(after_ms);
    else
        after_response_wait(after_ms);
    return 0;
}

/* A forked child inherits LD_PRELOAD and the parent's connections, but
 * serves nothing: reqprof must write nothing for it. */
SERVER_FRAME static int route_fork(int fd, const struct request *req) {
    pid_t child = fork();
    if (child < 0)
        return 500;
    if (child == 0) {
        /* Children that run other programs close what they inherited; the
         * parent still owns this connection and its request. */
        close(fd);
        burn_alpha(10);
        int status = system("/bin/true");
        exit(status == 0 ? 0 : 1);
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    return response_send(fd, IO_WRITEV, req, 200,
                         WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "child ok\n"
                                                                      : "child failed\n");
}

SERVER_FRAME static int route_takeover(int fd, const struct request *req) {
    unsigned signal_number = SIGPROF;
    char body[64];

    if (query_uint(req->query, "signal", 64, &signal_number) != 0)
        return 400;
    signal((int)signal_number, SIG_DFL);
    snprintf(body, sizeof body, "signal %u is SIG_DFL\n", signal_number);
    return response_send(fd, IO_WRITEV, req, 200, body);
}

/* connection_serve has read the body already, as it does for every request. */
SERVER_FRAME static int route_echo(int fd, const struct request *req) {
    char body[64];

    snprintf(body, sizeof body, "received %llu bytes\n", (unsigned long long)req->body_length);
    return response_send(fd, IO_WRITEV, req, 200, body);
}

/* Writes the head, then each chunk (size line, data and CRLF) with a write()
 * of its own, then the last chunk. */
SERVER_FRAME static int route_chunked(int fd, const struct request *req) {
    unsigned chunks = 4, ms = 10;
    char buffer[RESPONSE_HEAD_MAX], data[64];
    struct iovec iov = {buffer, 0};
    int rc;

    if (query_uint(req->query, "chunks", PARAM_CHUNKS_MAX, &chunks) != 0 ||
        query_uint(req->query, "ms", PARAM_MS_MAX, &ms) != 0)
        return 400;
    iov.iov_len = response_head_format(buffer, req, 200, -1);
    rc = io_send_all(fd, IO_WRITE, &iov, 1);
    for (unsigned i = 1; rc == 0 && i <= chunks; i++) {
        burn_alpha(ms);
        int length = snprintf(data, sizeof data, "chunk %u of %u after %u ms in burn_alpha\n",
                              i, chunks, ms);
        iov = (struct iovec){buffer, 0};
        iov.iov_len = (size_t)snprintf(buffer, sizeof buffer, "%x\r\n%s\r\n", length, data);
        rc = io_send_all(fd, IO_WRITE, &iov, 1);
    }
    iov = (struct iovec){(void *)"0\r\n\r\n", 5};
    return rc != 0 ? rc : io_send_all(fd, IO_WRITE, &iov, 1);
}

SERVER_FRAME static int route_file(int fd, const struct request *req) {
    unsigned bytes = 65536;
    char head[RESPONSE_HEAD_MAX];
    struct iovec iov = {head, 0};
    int rc;

    if (query_uint(req->query, "bytes", FILE_BYTES_MAX, &bytes) != 0)
        return 400;
    iov.iov_len = response_head_format(head, req, 200, bytes);
    rc = io_send_all(fd, IO_WRITEV, &iov, 1);
    return rc != 0 ? rc : io_sendfile_all(fd, file_fd, 0, bytes);
}

/* /loader's libraries: large, unloaded by dlclose (neither pins itself),
 * and of different sizes, so that one is mapped where the other was. Each
 * is given work in its own code, looked up by name. */
#define LOADER_XML "libxml2.so.2"       /* with libicuuc and its 30 MB of data */
#define LOADER_SQLITE "libsqlite3.so.0"

/* Parses an XML document of a few hundred elements with libxml2. */
static int loader_run_xml(void *library) {
    void *(*read_memory)(const char *, int, const char *, const char *, int) =
        (void *(*)(const char *, int, const char *, const char *, int))dlsym(library, "xmlReadMemory");
    void (*free_document)(void *) = (void (*)(void *))dlsym(library, "xmlFreeDoc");
    static char document[16384];
    size_t used = (size_t)snprintf(document, sizeof document, "<list>");
    for (int i = 0; used + 64 < sizeof document; i++)
        used += (size_t)snprintf(document + used, sizeof document - used,
                                 "<item n=\"%d\">text %d</item>", i, i);
    used += (size_t)snprintf(document + used, sizeof document - used, "</list>");
    if (read_memory == NULL || free_document == NULL)
        return -1;
    void *parsed = read_memory(document, (int)used, "loader.xml", NULL, 0);
    if (parsed == NULL)
        return -1;
    free_document(parsed);
    return 0;
}

/* Sums a recursive series in an in-memory sqlite3 database. */
static int loader_run_sqlite(void *library) {
    int (*open_database)(const char *, void **) =
        (int (*)(const char *, void **))dlsym(library, "sqlite3_open");
    int (*execute)(void *, const char *, void *, void *, char **) =
        (int (*)(void *, const char *, void *, void *, char **))dlsym(library, "sqlite3_exec");
    int (*close_database)(void *) = (int (*)(void *))dlsym(library, "sqlite3_close");
    void *database;
    if (open_database == NULL || execute == NULL || close_database == NULL ||
        open_database(":memory:", &database) != 0)
        return -1;
    int rc = execute(database,
                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                     "WHERE x < 5000) SELECT sum(x) FROM c",
                     NULL, NULL, NULL);
    close_database(database);
    return rc == 0 ? 0 : -1;
}

/* Loads NAME, gives it work and unloads it. Returns 0, or -1 with the
 * loader's message in ERROR. */
SERVER_FRAME static int loader_cycle(const char *name, int (*run)(void *), char *error,
                                     size_t error_size) {
    void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(error, error_size, "%s", dlerror());
        return -1;
    }
    int rc = run(library);
    if (rc != 0)
        snprintf(error, error_size, "%s: its work failed", name);
    if (dlclose(library) != 0 && rc == 0) {
        snprintf(error, error_size, "%s", dlerror());
        rc = -1;
    }
    return rc;
}

SERVER_FRAME static int route_loader(int fd, const struct request *req) {
    unsigned ms = 1000, cycles = 0;
    char body[256] = "";

    if (query_uint(req->query, "ms", PARAM_MS_MAX, &ms) != 0)
        return 400;
    uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + ms * 1000000ull;
    while (clock_ns(CLOCK_MONOTONIC) < deadline) {
        if (loader_cycle(LOADER_XML, loader_run_xml, body, sizeof body) != 0 ||
            loader_cycle(LOADER_SQLITE, loader_run_sqlite, body, sizeof body) != 0)
            return response_send(fd, IO_WRITEV, req, 500, body);
        cycles++;
    }
    snprintf(body, sizeof body, "%u cycles\n", cycles);
    return response_send(fd, IO_WRITEV, req, 200, body);
}

/* Allocates and frees blocks of 16 bytes to 256 KiB (some above malloc's
 * mmap threshold) for MS ms of wall-clock time. Returns the allocations. */
SERVER_FRAME static unsigned alloc_churn(unsigned ms) {
    void *blocks[64] = {0};
    uint64_t x = 0x2545f4914f6cdd1du;
    unsigned count = 0;
    uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + ms * 1000000ull;

    while (clock_ns(CLOCK_MONOTONIC) < deadline) {
        for (int i = 0; i < 256; i++, count++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            unsigned slot = (unsigned)(x % ARRAY_SIZE(blocks));
            free(blocks[slot]);
            blocks[slot] = malloc(16 + (size_t)(x >> 40) % (256 * 1024));
            if (blocks[slot] != NULL)
                memset(blocks[slot], (int)i, 16);
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(blocks); i++)
        free(blocks[i]);
    return count;
}

SERVER_FRAME static int route_alloc(int fd, const struct request *req) {
    unsigned ms = 100;
    char body[64];

    if (query_uint(req->query, "ms", PARAM_MS_MAX, &ms) != 0)
        return 400;
    snprintf(body, sizeof body, "%u allocations\n", alloc_churn(ms));
    return response_send(fd, IO_WRITEV, req, 200, body);
}

static const struct {
    const char *method;
    const char *path;
    route_handler handler;
} routes[] = {
    {"GET", "/", route_root},
    {"GET", "/burn", route_burn},
    {"GET", "/mix", route_mix},
    {"GET", "/sleep", route_sleep},
    {"GET", "/sleepburn", route_sleepburn},
    {"GET", "/pollburn", route_pollburn},
    {"POST", "/echo", route_echo},
    {"GET", "/chunked", route_chunked},
    {"GET", "/file", route_file},
    {"GET", "/waits", route_waits},
    {"GET", "/waits-after", route_waits_after},
    {"GET", "/handoff", route_handoff},
    {"GET", "/fork", route_fork},
    {"GET", "/takeover", route_takeover},
    {"GET", "/loader", route_loader},
    {"GET", "/alloc", route_alloc},
    {"GET", "/upstream", route_upstream},
    {"GET", "/readfile", route_readfile},
};

/* Runs the route for REQ and answers any error status it returns, which also
 * keeps the handler call from being a tail call. Returns 0 or -errno. */
SERVER_FRAME static int request_dispatch(int fd, const struct request *req) {
    int rc = 404;

    for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
        if (strcmp(req->path, routes[i].path) != 0)
            continue;
        rc = 405;
        if (strcmp(req->method, routes[i].method) == 0) {
            rc = routes[i].handler(fd, req);
            break;
        }
    }
    if (rc > 0)
        rc = response_status(fd, req, rc);
    return rc;
}

/* Moves unconsumed bytes to the front of the buffer and reads more after
 * them; pointers into buf are invalid afterwards. Returns 0, or -errno with
 * end of stream as -ECONNRESET (callers wait for more of a message, so the
 * connection is over either way) and a full buffer as -ENOBUFS. */
static int connection_fill(struct connection *c) {
    memmove(c->buf, c->buf + c->start, c->end - c->start);
    c->end -= c->start;
    c->start = 0;
    if (c->end == sizeof c->buf)
        return -ENOBUFS;
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->end, sizeof c->buf - c->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -ECONNRESET;
        c->end += (size_t)n;
        return 0;
    }
}

/* Consumes the next CRLF-terminated line and NUL-terminates it in place; the
 * line stays valid until the next connection_fill. Returns 0 or -errno. */
static int connection_line(struct connection *c, char **line) {
    char *crlf;
    int rc;

    while ((crlf = memmem(c->buf + c->start, c->end - c->start, "\r\n", 2)) == NULL) {
        if ((rc = connection_fill(c)) != 0)
            return rc;
    }
    *crlf = '\0';
    *line = c->buf + c->start;
    c->start = (size_t)(crlf + 2 - c->buf);
    return 0;
}

/* Consumes LENGTH body bytes, reading as needed; they are counted, not kept. */
static int connection_skip(struct connection *c, uint64_t length) {
    int rc;

    while (length > 0) {
        if (c->start == c->end && (rc = connection_fill(c)) != 0)
            return rc;
        size_t take = c->end - c->start < length ? c->end - c->start : (size_t)length;
        c->start += take;
        length -= take;
    }
    return 0;
}

/* Reads one header field into REQ. Returns 0 or an HTTP error status. */
static int request_parse_header(struct request *req, const char *name, char *value) {
    char *end, *token, *save;

    if (strcasecmp(name, "Content-Length") == 0) {
        errno = 0;
        req->content_length = strtoull(value, &end, 10);
        if (!isdigit((unsigned char)*value) || *end != '\0' || errno != 0)
            return 400;
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        if (strcasecmp(value, "chunked") != 0)
            return 501;
        req->chunked = true;
    } else if (strcasecmp(name, "Connection") == 0) {
        for (token = strtok_r(value, " ,", &save); token; token = strtok_r(NULL, " ,", &save)) {
            if (strcasecmp(token, "close") == 0)
                req->keep_alive = false;
            else if (strcasecmp(token, "keep-alive") == 0)
                req->keep_alive = true;
        }
    }
    return 0;
}

/* Parses HEAD, every line of which ends with CRLF, in place into REQ.
 * Returns 0 or an HTTP error status. */
static int request_parse_head(char *head, struct request *req) {
    char *next = strstr(head, "\r\n");
    char *target, *version, *query, *line, *value;
    int rc;

    *next = '\0';
    if ((target = strchr(head, ' ')) == NULL)
        return 400;
    *target++ = '\0';
    if ((version = strchr(target, ' ')) == NULL || *target != '/')
        return 400;
    *version++ = '\0';
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0)
        return 400;
    req->method = head;
    req->path = target;
    req->query = "";
    if ((query = strchr(target, '?')) != NULL) {
        *query = '\0';
        req->query = query + 1;
    }
    req->http_1_0 = version[7] == '0';
    req->keep_alive = !req->http_1_0;

    for (line = next + 2; *line != '\0'; line = next + 2) {
        next = strstr(line, "\r\n");
        *next = '\0';
        if ((value = strchr(line, ':')) == NULL)
            return 400;
        *value++ = '\0';
        value += strspn(value, " \t");
        for (char *tail = next; tail > value && (tail[-1] == ' ' || tail[-1] == '\t');)
            *--tail = '\0';
        if ((rc = request_parse_header(req, line, value)) != 0)
            return rc;
    }
    return 0;
}

/* Waits for a complete request head, copies it out of the buffer and parses
 * it into REQ. Returns 0, -errno when the connection ended, or an HTTP error
 * status. */
static int request_read_head(struct connection *c, struct request *req) {
    char *end;
    size_t length;
    int rc;

    while ((end = memmem(c->buf + c->start, c->end - c->start, "\r\n\r\n", 4)) == NULL) {
        if (c->end - c->start >= HTTP_HEAD_MAX)
            return 431;
        if ((rc = connection_fill(c)) != 0)
            return rc;
    }
    length = (size_t)(end + 4 - (c->buf + c->start));
    if (length > HTTP_HEAD_MAX)
        return 431;
    memcpy(c->head, c->buf + c->start, length - 2); /* keep the last CRLF */
    c->head[length - 2] = '\0';
    c->start += length;
    return request_parse_head(c->head, req);
}

/* Reads the body of REQ, if any, and counts it into req->body_length.
 * Returns 0, -errno, or 400 for malformed chunked coding. */
static int request_read_body(struct connection *c, struct request *req) {
    char *line, *end;
    int rc;

    if (!req->chunked) {
        req->body_length = req->content_length;
        return connection_skip(c, req->content_length);
    }
    for (;;) {
        if ((rc = connection_line(c, &line)) != 0)
            return rc;
        errno = 0;
        uint64_t size = strtoull(line, &end, 16);
        if (!isxdigit((unsigned char)*line) || errno != 0 ||
            (*end != '\0' && *end != ';' && *end != ' ' && *end != '\t'))
            return 400;
        if (size == 0)
            break;
        req->body_length += size;
        if ((rc = connection_skip(c, size)) != 0 || (rc = connection_line(c, &line)) != 0)
            return rc;
        if (*line != '\0') /* chunk data must end with a bare CRLF */
            return 400;
    }
    do { /* trailer fields, up to the empty line that ends the message */
        if ((rc = connection_line(c, &line)) != 0)
            return rc;
    } while (*line != '\0');
    return 0;
}

/* Serves requests in order until the client closes, asks to, or errs. */
SERVER_FRAME static void connection_serve(struct connection *c) {
    for (;;) {
        struct request req = {0};
        int rc = request_read_head(c, &req);
        if (rc == 0)
            rc = request_read_body(c, &req);
        if (rc > 0) {
            /* Nothing after a malformed request can be trusted to be one. */
            req.keep_alive = false;
            response_status(c->fd, &req, rc);
            return;
        }
        if (rc < 0 || request_dispatch(c->fd, &req) < 0 || !req.keep_alive)
            return;
    }
}

SERVER_FRAME static void *connection_thread(void *arg) {
    struct connection *c = arg;

    connection_serve(c);
    close(c->fd);
    free(c);
    return NULL;
}

/* Creates the /file payload, lines of text, in a temporary file unlinked at
 * once so that nothing is left behind however the server ends. Returns the
 * file descriptor or -errno. */
static int file_create(void) {
    char path[] = "/tmp/reqprof-test-server-XXXXXX";
    char block[4096];
    struct iovec iov;
    int fd = mkstemp(path);
    int rc = 0;

    if (fd < 0)
        return -errno;
    unlink(path);
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 64 % 26);
    for (size_t done = 0; rc == 0 && done < FILE_BYTES_MAX; done += sizeof block) {
        iov = (struct iovec){block, sizeof block};
        rc = io_send_all(fd, IO_WRITE, &iov, 1);
    }
    if (rc != 0)
        close(fd);
    return rc != 0 ? rc : fd;
}

static void server_on_signal(int signo) {
    int saved_errno = errno;
    /* Only write(2), which is async-signal-safe. The pipe is non-blocking, and
     * if it is full, the bytes already in it are all main() needs. */
    ssize_t ignored = write(shutdown_pipe[1], "", 1);

    (void)ignored;
    (void)signo;
    errno = saved_errno;
}

/* Accepts connections, one thread each, until a shutdown signal arrives. */
static void server_run(int listen_fd) {
    struct pollfd fds[2] = {
        {.fd = listen_fd, .events = POLLIN},
        {.fd = shutdown_pipe[0], .events = POLLIN},
    };
    struct connection *c;
    pthread_t thread;
    int fd;

    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR) {
            perror("test_server: poll");
            return;
        }
        if (fds[1].revents != 0)
            return;
        if ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                perror("test_server: accept4");
                /* Out of descriptors or memory: give connections time to end
                 * rather than spin on a listening socket that stays ready. */
                nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
            }
            continue;
        }
        if ((c = malloc(sizeof *c)) != NULL) {
            *c = (struct connection){.fd = fd};
            if (pthread_create(&thread, NULL, connection_thread, c) == 0) {
                pthread_detach(thread);
                continue;
            }
        }
        fprintf(stderr, "test_server: no memory or thread for a connection; closing it\n");
        free(c);
        close(fd);
    }
}

int main(int argc, char **argv) {
    struct sigaction action = {.sa_handler = server_on_signal};
    struct sockaddr_in address;
    socklen_t address_length = sizeof address;
    unsigned long port = 0;
    bool usage_ok = argc == 1;
    char *end;
    int listen_fd;

    if (argc == 3 && strcmp(argv[1], "--port") == 0 && isdigit((unsigned char)argv[2][0])) {
        port = strtoul(argv[2], &end, 10);
        usage_ok = *end == '\0' && port <= 65535;
    }
    if (!usage_ok) {
        fprintf(stderr, "usage: test_server [--port N]   (N = 0 or absent: any free port)\n");
        return 2;
    }
    /* TEST_SERVER_CLOSE_FDS=1: close every inherited fd above stderr first,
     * as daemons do, so the fds libraries opened before main are reused. */
    if (getenv("TEST_SERVER_CLOSE_FDS") != NULL)
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-response is EPIPE, not death */
    if ((file_fd = file_create()) < 0) {
        fprintf(stderr, "test_server: cannot create a file in /tmp: %s\n", strerror(-file_fd));
        return 1;
    }
    if ((listen_fd = server_listen((unsigned)port)) < 0) {
        fprintf(stderr, "test_server: cannot listen on 127.0.0.1:%lu: %s\n", port,
                strerror(-listen_fd));
        return 1;
    }
    /* Handlers go in before "listening" is printed, so that a test that
     * signals as soon as it reads the line still gets exit status 0. */
    if (pipe2(shutdown_pipe, O_NONBLOCK | O_CLOEXEC) != 0 ||
        sigaction(SIGTERM, &action, NULL) != 0 || sigaction(SIGINT, &action, NULL) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&address, &address_length) != 0) {
        perror("test_server: setup");
        return 1;
    }
    printf("listening on %u\n", ntohs(address.sin_port));
    fflush(stdout);

    server_run(listen_fd);
    close(listen_fd);
    return 0;
}
