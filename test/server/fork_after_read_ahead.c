/*
 * Reads 20,000 pipelined requests on a connection to itself without
 * answering any (past the room reqprof keeps, so reqprof counts requests
 * it does not follow), then forks a child that exits at once with exit,
 * and exits with exit itself. Under reqprof, only this process's exit may
 * say how many requests got no index line: the child followed none.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "call_probe.h"

enum { REQUESTS = 20000 };
static const char request[] = "GET / HTTP/1.1\r\n\r\n";
static char requests[REQUESTS * (sizeof request - 1)];

int main(void)
{
    struct sockaddr_in address;
    int listener = loopback_listener(&address);
    if (listener < 0)
        return 1;
    int client = loopback_client(&address);
    if (client < 0)
        return 1;
    int server = accept(listener, NULL, NULL);
    for (size_t i = 0; i < REQUESTS; i++)
        memcpy(requests + i * (sizeof request - 1), request, sizeof request - 1);
    pid_t sender = fork();
    if (sender == 0) {
        size_t sent = 0;
        while (sent < sizeof requests) {
            ssize_t written = write(client, requests + sent, sizeof requests - sent);
            if (written <= 0)
                _exit(1);
            sent += (size_t)written;
        }
        _exit(0);
    }
    char buffer[65536];
    size_t got = 0;
    while (got < sizeof requests) {
        ssize_t read_now = read(server, buffer, sizeof buffer);
        if (read_now <= 0)
            return 1;
        got += (size_t)read_now;
    }
    pid_t child = fork();
    if (child == 0)
        exit(0);
    int status;
    if (waitpid(sender, &status, 0) != sender || status != 0 ||
        waitpid(child, &status, 0) != child || status != 0)
        return 1;
    exit(0);
}
