/*
 * cpp_server: an HTTP server in C++, for reqprof's tests of names: its
 * work is in a class template of a nested namespace, whose symbols come
 * mangled (_ZN4acme4http10Middleware...), as in most C++ servers, and
 * whose template argument is long enough to be shortened in the views.
 * Built with -O2 -g: the burn's loop calls a helper the compiler inlines,
 * as it inlines much of any optimised C++.
 *
 * One thread per connection; each request is answered and the connection
 * closed.
 *   GET /burn?ms=N  acme::http::Middleware<std::shared_ptr<acme::http::
 *                   Context>>::burn spends N ms of CPU, most of it in
 *                   acme::http::mix, inlined into it
 *   anything else   404
 *
 * Usage: cpp_server
 *   prints "listening on PORT" once it serves; SIGTERM ends it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>

namespace acme {
namespace http {

struct Request {
    unsigned ms;
};

/* What a framework hands each request's handler. */
struct Context {
    uint64_t seed;
};

/* One round of the burn's mixing (xorshift). always_inline: it has no
 * code of its own, only the debug information says which of the burn's
 * instructions are its. */
__attribute__((always_inline)) inline uint64_t mix(uint64_t x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* This thread's CPU time, which the burn spends to a deadline. */
static uint64_t thread_cpu_ns() {
    timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
}

/* A request's handler wrapped in its context, as web frameworks do. Its
 * functions keep frames of their own, under their own names (noinline,
 * noclone: see server_support.h). */
template <typename Context> class Middleware {
  public:
    explicit Middleware(Context context) : context_(std::move(context)) {}

    __attribute__((noinline, noclone)) uint64_t invoke(const Request &request) {
        return burn(request.ms) + context_->seed;
    }

  private:
    /* The loop is here, so that the samples are this function's own. */
    __attribute__((noinline, noclone)) static uint64_t burn(unsigned ms) {
        uint64_t deadline = thread_cpu_ns() + ms * 1000000ull;
        uint64_t x = 0x9e3779b97f4a7c15u;
        while (thread_cpu_ns() < deadline)
            for (int i = 0; i < 24000; i++)
                x = mix(x);
        return x;
    }

    Context context_;
};

static void serve(int fd) {
    char in[4096];
    ssize_t got = read(fd, in, sizeof in - 1);
    unsigned ms = 0;
    if (got > 0) {
        in[got] = '\0';
        if (std::sscanf(in, "GET /burn?ms=%u", &ms) == 1) {
            Middleware<std::shared_ptr<Context>> middleware(std::make_shared<Context>(Context{1}));
            char body[64], out[256];
            int body_length = std::snprintf(body, sizeof body, "burned %u ms (%llu)\n", ms,
                                            (unsigned long long)(middleware.invoke({ms}) & 1));
            int length = std::snprintf(out, sizeof out,
                                       "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                                       "Connection: close\r\n\r\n%s",
                                       body_length, body);
            (void)!write(fd, out, size_t(length));
        } else {
            static const char missing[] =
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            (void)!write(fd, missing, sizeof missing - 1);
        }
    }
    close(fd);
}

} // namespace http
} // namespace acme

int main() {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener < 0 || bind(listener, (sockaddr *)&address, sizeof address) != 0 ||
        listen(listener, 64) != 0 || getsockname(listener, (sockaddr *)&address, &length) != 0) {
        std::perror("cpp_server: listen");
        return 1;
    }
    std::printf("listening on %d\n", ntohs(address.sin_port));
    std::fflush(stdout);
    for (;;) {
        int fd = accept(listener, nullptr, nullptr);
        if (fd >= 0)
            std::thread(acme::http::serve, fd).detach();
    }
}
