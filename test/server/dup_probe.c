/*
 * Serves requests on fds that duplicate accepted sockets (dup, dup2, dup3,
 * fcntl F_DUPFD and F_DUPFD_CLOEXEC), as busybox httpd's child does, and
 * prints each such call's return value and errno, one line per call. The
 * end-to-end test runs it with and without libreqprof.so and requires the
 * same output from both, and from reqprof's run an index line for each
 * request below with the status it was answered with (0: none):
 *
 *   GET /dup               200  read on a dup, answered on the original
 *   GET /dup-after-close   200  the original closed: the dup serves on
 *   GET /busybox           200  dup2(sock, A); close(sock); dup2(A, B):
 *                               read on A, answered on B
 *   GET /dup3              200  read on a dup3, answered on F_DUPFD
 *   GET /cloexec           200  read on F_DUPFD_CLOEXEC
 *   GET /replaced            0  its connection's only fd replaced by
 *                               dup2 before an answer: it ends there
 *   GET /other-fd-left     200  one of its connection's two fds replaced:
 *                               the other serves on
 *   GET /moved             200  a connection dup2'd onto another's fd:
 *                               the fd serves the connection moved there
 *   GET /after-vfork       200  a vfork child vforked a child of its
 *                               own, put a pipe on the connection's fd,
 *                               blocked SIGPROF (it says so: the mask is
 *                               the exec'd program's), restored every
 *                               signal's default disposition (reqprof's
 *                               too) and exited: the parent's fd is still
 *                               the connection, and reqprof still samples
 *                               the parent (it says nothing)
 *   GET /forked            200  accepted by the parent, served by a fork
 *                               child on fds it dup2'd, which ends with
 *                               _exit (reported by the child)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "call_probe.h"

/* Fixed numbers for dup2 and dup3, above anything reqprof opens. */
enum { FD_A = 100, FD_B = 101, FD_C = 102, FD_D = 103, FD_E = 104 };

static int listener;
static struct sockaddr_in address;

/* A connected pair: *client ours, the accepted end returned. */
static int connection(int *client)
{
    *client = loopback_client(&address);
    return *client < 0 ? -1 : accept(listener, NULL, NULL);
}

static void request(int client, const char *path)
{
    char text[256];
    int length = snprintf(text, sizeof text, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    (void)!send(client, text, (size_t)length, 0);
}

static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* The client reads the answer: 1 if it is there. */
static int answered(int client)
{
    char buffer[256];
    ssize_t got = recv(client, buffer, sizeof buffer, 0);
    return got == (ssize_t)sizeof response - 1;
}

/* Reads a request on `in`, answers it on `out`: 1 if both worked. */
static int serve(int in, int out)
{
    char buffer[512];
    return read(in, buffer, sizeof buffer) > 0 &&
           write(out, response, sizeof response - 1) == (ssize_t)sizeof response - 1;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    address = (struct sockaddr_in){.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(listener, 8) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0)
        return 1;
    int client, other_client, copy, copy2;

    /* dup: both fds are the connection; it ends when the last closes. */
    int server = connection(&client);
    request(client, "/dup");
    PROBE((copy = dup(server)) > server);
    PROBE(serve(copy, server) && answered(client));
    PROBE(close(server));
    request(client, "/dup-after-close");
    PROBE(serve(copy, copy) && answered(client));
    PROBE(close(copy));
    close(client);

    /* busybox httpd's child. */
    server = connection(&client);
    request(client, "/busybox");
    PROBE(dup2(server, FD_A));
    PROBE(close(server));
    PROBE(dup2(FD_A, FD_B));
    PROBE(serve(FD_A, FD_B) && answered(client));
    close(FD_A);
    close(FD_B);
    close(client);

    /* dup3 and fcntl. */
    server = connection(&client);
    request(client, "/dup3");
    PROBE(dup3(server, FD_C, O_CLOEXEC));
    PROBE((copy = fcntl(server, F_DUPFD, FD_E)) >= FD_E);
    PROBE(fcntl(copy, F_GETFD));
    PROBE(serve(FD_C, copy) && answered(client));
    request(client, "/cloexec");
    PROBE((copy2 = fcntl(FD_C, F_DUPFD_CLOEXEC, FD_E)) > FD_E);
    PROBE(fcntl(copy2, F_GETFD));
    PROBE(serve(copy2, copy2) && answered(client));
    close(server);
    close(FD_C);
    close(copy);
    close(copy2);
    close(client);

    /* Calls that fail, or do nothing, fail or do nothing as before. */
    PROBE(dup(-1));
    PROBE(dup2(-1, FD_A));
    PROBE(dup2(FD_A, FD_A));
    PROBE(fcntl(-1, F_DUPFD, 0));
    PROBE(fcntl(0, F_DUPFD, -1));
    PROBE(fcntl(0, F_GETFL) >= 0);
    server = connection(&client);
    PROBE(dup2(server, server) == server);
    PROBE(dup3(server, server, 0));
    PROBE(dup3(server, FD_A, 12345));

    /* dup2 over the connection's only fd, its request unanswered: the
     * connection ends there, its request with it. */
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return 1;
    request(client, "/replaced");
    char buffer[512];
    PROBE(read(server, buffer, sizeof buffer) > 0);
    PROBE(dup2(pipe_fds[0], server) == server);
    PROBE(close(server));
    close(client);

    /* dup2 over one of two fds: the other serves on. */
    server = connection(&client);
    PROBE(dup2(server, FD_D));
    PROBE(dup2(pipe_fds[0], server) == server);
    request(client, "/other-fd-left");
    PROBE(serve(FD_D, FD_D) && answered(client));
    close(FD_D);
    close(server);
    close(client);

    /* dup2 of one connection over another's fd: the fd is the moved one's. */
    server = connection(&client);
    int other = connection(&other_client);
    PROBE(dup2(other, server) == server);
    PROBE(close(other));
    request(other_client, "/moved");
    PROBE(serve(server, server) && answered(other_client));
    close(server);
    close(client);
    close(other_client);

    /* A vfork child puts a pipe on the connection's fd and restores the
     * signals' default dispositions before it would exec (busybox's CGI
     * child, libuv's); the parent's fd and dispositions are unchanged. */
    server = connection(&client);
    pid_t child = vfork();
    if (child == 0) {
        /* A vfork of its own first: the child is still one after it. */
        pid_t grandchild = vfork();
        if (grandchild == 0)
            _exit(0);
        if (grandchild > 0)
            waitpid(grandchild, NULL, 0);
        dup2(pipe_fds[1], server);
        /* The signals it blocks are the exec'd program's. */
        sigset_t profiling, blocked;
        sigemptyset(&profiling);
        sigaddset(&profiling, SIGPROF);
        sigprocmask(SIG_BLOCK, &profiling, NULL);
        sigprocmask(SIG_BLOCK, NULL, &blocked);
        static const char said[][40] = {"vfork child blocks SIGPROF: no\n",
                                        "vfork child blocks SIGPROF: yes\n"};
        const char *line = said[sigismember(&blocked, SIGPROF) == 1];
        (void)!write(STDOUT_FILENO, line, strlen(line));
        for (int signal_number = 1; signal_number < SIGRTMIN; signal_number++)
            if (signal_number != SIGKILL && signal_number != SIGSTOP)
                signal(signal_number, SIG_DFL);
        _exit(0);
    }
    PROBE(child > 0 && waitpid(child, NULL, 0) == child);
    request(client, "/after-vfork");
    PROBE(serve(server, server) && answered(client));
    close(server);
    close(client);

    /* A child per connection, as busybox httpd's. */
    server = connection(&client);
    child = fork();
    if (child == 0) {
        close(listener);
        if (dup2(server, FD_A) != FD_A || close(server) != 0 || dup2(FD_A, FD_B) != FD_B)
            _exit(1);
        _exit(serve(FD_A, FD_B) ? 0 : 1);
    }
    close(server);
    request(client, "/forked");
    int status;
    PROBE(answered(client));
    PROBE(child > 0 && waitpid(child, &status, 0) == child && status == 0);
    close(client);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    close(listener);
    return 0;
}
