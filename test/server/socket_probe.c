/*
 * Makes socket calls whose results are known: successes, EAGAIN, EPIPE,
 * EBADF, EINVAL, on an accepted (so reqprof-tracked) socket, and prints
 * each call's return value and errno, one line per call. The end-to-end
 * tests run it with and without libreqprof.so and require identical
 * output: reqprof must not change what the server's calls return.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "call_probe.h"

/* Lengths the compiler cannot see: built with _FORTIFY_SOURCE, reads of
 * them go through __read_chk and __recv_chk, as in distributions' servers. */
static volatile size_t buffer_room = 256;

/* Null pointers the compiler cannot see, for calls that must fail. */
static struct msghdr *volatile no_message;
static struct pollfd *volatile no_fds;

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in address;
    int listener = loopback_listener(&address);
    if (listener < 0)
        return 1;
    int client = loopback_client(&address);
    if (client < 0)
        return 1;

    int server;
    PROBE(accept4(listener, NULL, NULL, -1));
    /* Only whether it succeeded: reqprof's own files may take fd numbers. */
    PROBE((server = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0);
    char buffer[256];
    PROBE(recv(server, buffer, buffer_room, MSG_DONTWAIT));

    static const char request[] = "GET /probe HTTP/1.1\r\nHost: x\r\n\r\n";
    PROBE(send(client, request, sizeof request - 1, 0));
    PROBE(recv(server, buffer, 4, MSG_PEEK));
    PROBE(read(server, buffer, buffer_room));
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    struct iovec response[] = {{(void *)head, sizeof head - 1}, {"ok", 2}};
    PROBE(writev(server, response, 2));
    PROBE(read(client, buffer, buffer_room));

    /* A request that arrives in halves: reads in the middle of it, while
     * reqprof's timer runs for it, are first tried without blocking. One
     * on a non-blocking socket with nothing to read; one that blocks until
     * a child sends the rest, 50 ms later. */
    static const char first_half[] = "GET /probe-halves HTTP/1.1\r\n";
    static const char second_half[] = "Host: x\r\n\r\n";
    PROBE(send(client, first_half, sizeof first_half - 1, 0));
    PROBE(read(server, buffer, buffer_room));
    int flags = fcntl(server, F_GETFL);
    fcntl(server, F_SETFL, flags | O_NONBLOCK);
    PROBE(read(server, buffer, buffer_room));
    PROBE(recv(server, buffer, buffer_room, 0));
    fcntl(server, F_SETFL, flags);
    pid_t sender = fork();
    if (sender == 0) {
        usleep(50000);
        _exit(send(client, second_half, sizeof second_half - 1, 0) > 0 ? 0 : 1);
    }
    struct sockaddr_in peer;
    socklen_t peer_length = sizeof peer;
    PROBE(recvfrom(server, buffer, buffer_room, 0, (struct sockaddr *)&peer, &peer_length));
    PROBE(peer_length);
    PROBE(waitpid(sender, NULL, 0) == sender);
    PROBE(writev(server, response, 2));
    PROBE(read(client, buffer, buffer_room));

    /* A big response in one blocking write to a client that reads it
     * slowly: the write blocks, in the middle of a request, many times an
     * interval, and must still send every byte and say so. */
    static char big[4 << 20];
    static const char big_request[] = "GET /probe-big HTTP/1.1\r\nHost: x\r\n\r\n";
    int head_length = snprintf(big, sizeof big,
                               "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
                               sizeof big - 64);
    memset(big + head_length, 'x', sizeof big - 64);
    PROBE(send(client, big_request, sizeof big_request - 1, 0));
    PROBE(read(server, buffer, buffer_room));
    pid_t reader = fork();
    if (reader == 0) {
        /* A short write would leave it waiting: it gives up instead. */
        struct timeval patience = {2, 0};
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
        size_t left = (size_t)head_length + sizeof big - 64;
        while (left > 0) {
            ssize_t got = read(client, big, left < 262144 ? left : 262144);
            if (got <= 0)
                _exit(1);
            left -= (size_t)got;
            usleep(10000);
        }
        _exit(0);
    }
    PROBE(write(server, big, (size_t)head_length + sizeof big - 64));
    int reader_status;
    PROBE(waitpid(reader, &reader_status, 0) == reader && reader_status == 0);

    /* Bad pointers are the kernel's to refuse (EFAULT), not a crash. */
    PROBE(recvmsg(server, no_message, MSG_DONTWAIT));
    PROBE(sendmsg(server, no_message, 0));
    PROBE(poll(no_fds, 1, 0));

    close(client);
    /* The first write after the peer closed may still succeed; a later one
     * gets EPIPE (or ECONNRESET) once the reset came back. */
    usleep(20000);
    (void)!write(server, "x", 1);
    usleep(20000);
    PROBE(write(server, "x", 1));
    PROBE(sendfile(server, -1, NULL, 10));
    PROBE(close(server));
    PROBE(close(server));
    PROBE(read(-1, buffer, 1));
    PROBE(shutdown(server, SHUT_RDWR));
    close(listener);
    return 0;
}
