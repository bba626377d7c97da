/*
 * A server that defines, and exports (it is linked -rdynamic), functions
 * named as zlib's, libelf's and libdw's, as varnishd exports its own zlib.
 * Each only counts its calls and fails: a caller that meant the real
 * library gets an error, or NULL.
 *
 * GET /burn?ms=N  burns N ms of CPU in clash_burn, for reports to name
 * GET /calls      how many times each of them was called, "name count"
 * GET /own        calls each once itself, then answers as /calls does
 * GET /probe      whether names the server does not define, but reqprof's
 *                 libraries do, are found: through weak references (bound
 *                 at start) and dlsym(RTLD_DEFAULT). Ground truth is the
 *                 answer without reqprof: nothing found.
 *
 * One connection at a time, one request each. Prints "listening on PORT".
 */
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_support.h"

/* The names defined here. Each is declared without parameters: every
 * caller's arguments are ignored, and 0 or -2 in the return register reads
 * as NULL or Z_STREAM_ERROR, whatever the caller's declared type. */
#define CLASH_FUNCTIONS(X)                                                   \
    X(deflateInit2_, -2)                                                     \
    X(deflateReset, -2)                                                      \
    X(deflate, -2)                                                           \
    X(deflateEnd, -2)                                                        \
    X(inflate, -2)                                                           \
    X(inflateInit2_, -2)                                                     \
    X(elf_begin, 0)                                                          \
    X(elf_end, 0)                                                            \
    X(dwarf_begin_elf, 0)                                                    \
    X(dwarf_end, 0)                                                          \
    X(dwfl_addrmodule, 0)                                                    \
    X(dwfl_module_addrinfo, 0)

enum clash_function {
#define CLASH_ENUM(name, result) CLASH_##name,
    CLASH_FUNCTIONS(CLASH_ENUM)
#undef CLASH_ENUM
    CLASH_COUNT
};

static const char *const clash_names[CLASH_COUNT] = {
#define CLASH_NAME(name, result) #name,
    CLASH_FUNCTIONS(CLASH_NAME)
#undef CLASH_NAME
};

static unsigned long clash_calls[CLASH_COUNT];

#define CLASH_DEFINE(name, result)                                           \
    __attribute__((noinline, used)) long name(void)                          \
    {                                                                        \
        __atomic_fetch_add(&clash_calls[CLASH_##name], 1, __ATOMIC_RELAXED); \
        return result;                                                       \
    }
CLASH_FUNCTIONS(CLASH_DEFINE)
#undef CLASH_DEFINE

/* Names reqprof's libraries define and this server does not: weak, so
 * they stay NULL unless something else in the process's global scope
 * defines them. */
#define CLASH_ABSENT(X) X(zlibVersion) X(crc32) X(elf_version) X(dwfl_end)    \
    X(dwarf_errmsg)
#define CLASH_WEAK(name) extern void name(void) __attribute__((weak));
CLASH_ABSENT(CLASH_WEAK)
#undef CLASH_WEAK

/* Burns ms ms of this thread's CPU time: the reports must name it. */
SERVER_BURNER(clash_burn, 0x9e3779b97f4a7c15u)

static size_t clash_print_calls(char *out, size_t size)
{
    size_t length = 0;

    for (int i = 0; i < CLASH_COUNT && length < size; i++)
        length += (size_t)snprintf(out + length, size - length, "%s %lu\n",
                                   clash_names[i], clash_calls[i]);
    return length < size ? length : size - 1;
}

/* The server's own calls: each must reach the definition above. */
static void clash_call_own(void)
{
#define CLASH_CALL(name, result) (void)name();
    CLASH_FUNCTIONS(CLASH_CALL)
#undef CLASH_CALL
}

static size_t clash_print_probe(char *out, size_t size)
{
    size_t length = 0;

#define CLASH_PROBE(name)                                                    \
    length += (size_t)snprintf(out + length, size - length,                  \
                               "%s weak=%s dlsym=%s\n", #name,               \
                               name != NULL ? "found" : "absent",            \
                               dlsym(RTLD_DEFAULT, #name) != NULL ? "found"  \
                                                                  : "absent");
    CLASH_ABSENT(CLASH_PROBE)
#undef CLASH_PROBE
    return length;
}

static void clash_serve(int fd)
{
    char request[4096], body[2048];
    size_t got = 0, length = 0;
    unsigned ms;

    while (got < sizeof request - 1) {
        ssize_t n = read(fd, request + got, sizeof request - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        request[got] = '\0';
        if (strstr(request, "\r\n\r\n") != NULL)
            break;
    }
    if (sscanf(request, "GET /burn?ms=%u", &ms) == 1) {
        clash_burn(ms);
        length = (size_t)snprintf(body, sizeof body, "burnt %u ms\n", ms);
    } else if (strncmp(request, "GET /calls ", 11) == 0) {
        length = clash_print_calls(body, sizeof body);
    } else if (strncmp(request, "GET /own ", 9) == 0) {
        clash_call_own();
        length = clash_print_calls(body, sizeof body);
    } else if (strncmp(request, "GET /probe ", 11) == 0) {
        length = clash_print_probe(body, sizeof body);
    }
    char head[128];
    int head_length = snprintf(head, sizeof head,
                               "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
                               "Connection: close\r\n\r\n",
                               length > 0 ? "200 OK" : "404 Not Found", length);
    if (write(fd, head, (size_t)head_length) == head_length)
        (void)!write(fd, body, length);
}

int main(void)
{
    struct sockaddr_in address;
    socklen_t address_length = sizeof address;
    int listener = server_listen(0);

    signal(SIGPIPE, SIG_IGN);
    if (listener < 0 ||
        getsockname(listener, (struct sockaddr *)&address, &address_length) != 0)
        return 1;
    printf("listening on %d\n", ntohs(address.sin_port));
    fflush(stdout);
    for (;;) {
        struct pollfd ready = {.fd = listener, .events = POLLIN};
        int fd;

        if (poll(&ready, 1, -1) < 0 && errno != EINTR)
            return 1;
        fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        clash_serve(fd);
        close(fd);
    }
}
