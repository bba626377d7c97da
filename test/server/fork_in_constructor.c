/*
 * Loads the library named by its argument (test/fault/fork_constructor.c,
 * whose constructor forks) on one thread while the main thread serves the
 * process's first request, GET /first, on a connection to itself: under
 * reqprof, that request starts the writer, which loads its libraries while
 * the constructor holds the dynamic loader's lock and forks. Exits 0 once
 * both are done; a deadlock between the fork and the writer's load keeps
 * it from ever exiting.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "call_probe.h"

static void *load(void *library)
{
    if (dlopen(library, RTLD_NOW) == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return (void *)1;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    struct sockaddr_in address;
    int listener = loopback_listener(&address);
    if (listener < 0)
        return 1;
    pthread_t loader;
    if (pthread_create(&loader, NULL, load, argv[1]) != 0)
        return 1;
    usleep(50000); /* the constructor runs */
    int client = loopback_client(&address);
    if (client < 0)
        return 1;
    int server = accept(listener, NULL, NULL);
    static const char request[] = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    char buffer[256];
    if (send(client, request, sizeof request - 1, 0) != sizeof request - 1 ||
        read(server, buffer, sizeof buffer) <= 0 ||
        write(server, response, sizeof response - 1) != sizeof response - 1 ||
        recv(client, buffer, sizeof buffer, 0) <= 0)
        return 1;
    close(server);
    close(client);
    void *failed;
    pthread_join(loader, &failed);
    return failed == NULL ? 0 : 1;
}
