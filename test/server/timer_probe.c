/*
 * Calls a server makes while reqprof's sampling timer may be running: in
 * the middle of a request, or right after one (the timer runs on from one
 * request to the next until a tick finds the thread idle). Each case
 * prints what the server saw, one line each; the end-to-end tests run it
 * with and without libreqprof.so and require identical output. Built with
 * _FORTIFY_SOURCE, as distributions build servers, so that its polls go
 * through __poll_chk.
 *
 * The requests are served on an accepted socket of its own (so reqprof
 * tracks them), by this one thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int listener, client, server;
static struct sockaddr_in listener_address = {.sin_family = AF_INET};
static int request_number;

static void listen_on_loopback(void)
{
    socklen_t length = sizeof listener_address;
    listener_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(listener, (struct sockaddr *)&listener_address, sizeof listener_address) != 0 ||
        listen(listener, 16) != 0 ||
        getsockname(listener, (struct sockaddr *)&listener_address, &length) != 0)
        exit(2);
}

/* Connects to the listener and accepts: server is then a socket reqprof
 * follows (in this process), client its peer. */
static void connect_pair(void)
{
    struct sockaddr_in address = listener_address;
    client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, (struct sockaddr *)&address, sizeof address) != 0 ||
        (server = accept(listener, NULL, NULL)) < 0)
        exit(3);
}

/* The client sends a request head (with extra, e.g. a Content-Length
 * line) and the server reads it: the request is under way. */
static void request_begin(const char *extra)
{
    char head[256], buffer[512];
    int length = snprintf(head, sizeof head, "POST /r%d HTTP/1.1\r\nHost: x\r\n%s\r\n",
                          request_number++, extra);
    if (send(client, head, (size_t)length, 0) != length ||
        read(server, buffer, (size_t)length) != length)
        exit(4);
}

static void request_end(void)
{
    static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    char buffer[512];
    if (write(server, response, sizeof response - 1) != sizeof response - 1 ||
        read(client, buffer, sizeof buffer) <= 0)
        exit(5);
}

/* Runs on the CPU for about us microseconds: the timer keeps running. */
static void spin(long us)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000000L +
               (now.tv_nsec - start.tv_nsec) / 1000 < us);
}

/* Sends count bytes to fd in pieces, from a child, pause_us apart. */
static pid_t send_later(int fd, size_t count, int pieces, long pause_us)
{
    pid_t child = fork();
    if (child == 0) {
        static char bytes[65536];
        for (int i = 0; i < pieces; i++) {
            usleep((useconds_t)pause_us);
            if (send(fd, bytes, count / (size_t)pieces, 0) < 0)
                _exit(1);
        }
        _exit(0);
    }
    return child;
}

/* A poll of many fds, a moment after each of many responses: a tick of
 * reqprof's pending then would break it with EINTR, even at no timeout. */
static void idle_polls(void)
{
    int pipe_fds[2];
    static struct pollfd fds[500];
    if (pipe(pipe_fds) != 0)
        exit(6);
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        fds[i] = (struct pollfd){pipe_fds[0], POLLIN, 0};
    volatile nfds_t count = sizeof fds / sizeof fds[0]; /* __poll_chk */
    int broken = 0;
    for (int i = 0; i < 300; i++) {
        request_begin("");
        request_end();
        spin(900 + i % 7 * 60);
        if (poll(fds, count, i % 2) < 0 && errno == EINTR)
            broken++;
    }
    printf("idle polls broken by EINTR: %d\n", broken);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

/* select with a set as small as its count needs (the BSD idiom), at the
 * very end of readable memory. */
static void small_select_set(void)
{
    int pipe_fds[2];
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pipe(pipe_fds) != 0 || pages == MAP_FAILED ||
        mprotect(pages + 4096, 4096, PROT_NONE) != 0 || pipe_fds[0] >= 64)
        exit(7);
    fd_set *set = (fd_set *)(pages + 4096 - sizeof(fd_mask));
    (void)!write(pipe_fds[1], "x", 1);
    request_begin("");
    request_end();
    memset(set, 0, sizeof(fd_mask));
    FD_SET(pipe_fds[0], set);
    struct timeval timeout = {1, 0};
    int ready = select(pipe_fds[0] + 1, set, NULL, NULL, &timeout);
    printf("select on a small set: %d ready, fd set %d\n", ready,
           FD_ISSET(pipe_fds[0], set) != 0);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    munmap(pages, 8192);
}

/* A body read whole (MSG_WAITALL) or to a low-water mark while it arrives
 * in pieces: a tick into either read would make it return short. */
static void reads_that_wait_for_more(void)
{
    char buffer[4096];
    int short_reads = 0;
    for (int i = 0; i < 10; i++) {
        request_begin("Content-Length: 4000\r\n");
        pid_t sender = send_later(client, 4000, 4, 3000);
        ssize_t got = recv(server, buffer, 4000, MSG_WAITALL);
        short_reads += got != 4000;
        while (got > 0 && got < 4000) {
            ssize_t more = recv(server, buffer, 4000 - (size_t)got, MSG_WAITALL);
            got = more > 0 ? got + more : -1;
        }
        waitpid(sender, NULL, 0);
        request_end();
    }
    printf("MSG_WAITALL reads that came back short: %d of 10\n", short_reads);

    int low_mark = 1000;
    request_begin("Content-Length: 1000\r\n");
    setsockopt(server, SOL_SOCKET, SO_RCVLOWAT, &low_mark, sizeof low_mark);
    pid_t sender = send_later(client, 1000, 10, 3000);
    printf("read with SO_RCVLOWAT 1000: %zd bytes\n", read(server, buffer, sizeof buffer));
    waitpid(sender, NULL, 0);
    low_mark = 1;
    setsockopt(server, SOL_SOCKET, SO_RCVLOWAT, &low_mark, sizeof low_mark);
    request_end();
}

/* A megabyte with a file descriptor attached, written in one blocking
 * sendmsg to an upstream that reads slowly: the fd must arrive once. */
static void write_with_control_data(void)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
        exit(8);
    pid_t reader = fork();
    if (reader == 0) {
        static char bytes[65536];
        long total = 0;
        int fds = 0;
        close(pair[0]);
        for (;;) {
            union {
                char bytes[CMSG_SPACE(4 * sizeof(int))];
                struct cmsghdr align;
            } control;
            struct iovec piece = {bytes, sizeof bytes};
            struct msghdr message = {.msg_iov = &piece, .msg_iovlen = 1,
                                     .msg_control = control.bytes,
                                     .msg_controllen = sizeof control.bytes};
            ssize_t got = recvmsg(pair[1], &message, 0);
            if (got <= 0)
                break;
            total += got;
            for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL;
                 header = CMSG_NXTHDR(&message, header))
                if (header->cmsg_type == SCM_RIGHTS)
                    fds += (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            usleep(2000);
        }
        printf("upstream received %ld bytes and %d fds\n", total, fds);
        _exit(0);
    }
    close(pair[1]);
    request_begin("");
    (void)!write(pair[0], "hello", 5); /* the upstream is the request's now */
    static char payload[1 << 20];
    int passed = open("/dev/null", O_RDONLY);
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec piece = {payload, sizeof payload};
    struct msghdr message = {.msg_iov = &piece, .msg_iovlen = 1,
                             .msg_control = control.bytes,
                             .msg_controllen = sizeof control.bytes};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &passed, sizeof(int));
    fflush(stdout);
    printf("sendmsg of a megabyte with an fd: %zd\n", sendmsg(pair[0], &message, 0));
    fflush(stdout);
    close(pair[0]);
    close(passed);
    waitpid(reader, NULL, 0);
    request_end();
}

/* A forked worker accepts on a listener its parent gave a timeout, right
 * after a response of its own: the timeout must still keep reqprof's tick
 * out. (A child does not follow its parent's connections: the worker
 * serves one it accepted.) */
static void accept_with_timeout_in_a_worker(void)
{
    struct timeval timeout = {0, 200000};
    setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    fflush(stdout);
    pid_t worker = fork();
    if (worker == 0) {
        connect_pair();
        request_begin("");
        request_end();
        errno = 0;
        int accepted = accept(listener, NULL, NULL);
        printf("worker's accept with nobody coming: %d, %s\n", accepted,
               errno == EAGAIN ? "EAGAIN" : errno == EINTR ? "EINTR" : "other");
        exit(0); /* as a worker exits: its profiler writes what it has */
    }
    waitpid(worker, NULL, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    listen_on_loopback();
    connect_pair();
    idle_polls();
    small_select_set();
    reads_that_wait_for_more();
    write_with_control_data();
    accept_with_timeout_in_a_worker();
    return 0;
}
