/*
 * fork_cost: what a fork per connection costs, in µs, on this machine.
 *
 * A server that forks a child per connection (busybox httpd, inetd-style
 * servers, apache2's prefork when it grows) pays for every fork twice: the
 * parent's fork call (copying its page tables and running the atfork
 * handlers) and the child's life until it exits (the copy-on-write faults
 * of every page it writes, the atfork handlers, its exit). reqprof must
 * add no more to either than forgetting the parent's state.
 *
 *   fork_cost [--served] [--forks N] [--tries T]
 *       Accepts one connection from itself first, as the parent of a
 *       forking server has before its first fork; with --served it also
 *       serves one request on it (under reqprof that starts the writer
 *       thread, as in a server whose parent serves requests too). Then, T
 *       tries of N forks each: the child calls exit(0) at once (atexit
 *       handlers and destructors run, as in a server's child), the parent
 *       waits for it. Prints "fork_us X fork_exit_us Y parent_cpu_us P
 *       child_cpu_us C child_faults Z forks N tries T": the parent's fork
 *       call alone and the whole fork, exit and wait, per fork, each the
 *       best of the tries' medians; the CPU time per fork of the parent
 *       (its whole loop) and of a child, and the page faults of a child
 *       (copy-on-write and first touches of mapped files), averages over
 *       all forks: CPU time moves less with the machine's load than wall
 *       time, page faults not at all. bench/run.py runs it with and
 *       without reqprof preloaded.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

/* A connection accepted from ourselves (one request served on it if
 * serve), closed: the parent's state as a forking server's is by its
 * first fork. */
static int accept_one_connection(int serve)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(listener, 1) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0)
        return -1;
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof address) != 0)
        return -1;
    int served = accept(listener, NULL, NULL);
    if (served < 0)
        return -1;
    if (serve) {
        static const char request[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        char buffer[256];
        if (write(client, request, sizeof request - 1) < 0 ||
            read(served, buffer, sizeof buffer) <= 0 ||
            write(served, response, sizeof response - 1) < 0 ||
            read(client, buffer, sizeof buffer) <= 0)
            return -1;
    }
    close(served);
    close(client);
    close(listener);
    return 0;
}

static double cpu_us(const struct timeval *user, const struct timeval *system)
{
    return (user->tv_sec + system->tv_sec) * 1e6 + user->tv_usec + system->tv_usec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return values[count / 2];
}

int main(int argc, char **argv)
{
    int forks = 2000, tries = 5, serve = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--served") == 0)
            serve = 1;
        else if (strcmp(argv[i], "--forks") == 0 && i + 1 < argc)
            forks = atoi(argv[++i]);
        else if (strcmp(argv[i], "--tries") == 0 && i + 1 < argc)
            tries = atoi(argv[++i]);
    }
    if (forks < 1 || tries < 1 || accept_one_connection(serve) != 0) {
        perror("fork_cost");
        return 1;
    }
    double *fork_us = malloc(sizeof *fork_us * (size_t)forks);
    double *whole_us = malloc(sizeof *whole_us * (size_t)forks);
    double best_fork = 0, best_whole = 0;
    for (int try = 0; try < tries; try++) {
        for (int i = 0; i < forks; i++) {
            double start = now_us();
            pid_t child = fork();
            if (child == 0)
                exit(0);
            double forked = now_us();
            if (child < 0 || waitpid(child, NULL, 0) != child) {
                perror("fork_cost");
                return 1;
            }
            fork_us[i] = forked - start;
            whole_us[i] = now_us() - start;
        }
        double fork_median = median(fork_us, forks), whole_median = median(whole_us, forks);
        if (try == 0 || fork_median < best_fork)
            best_fork = fork_median;
        if (try == 0 || whole_median < best_whole)
            best_whole = whole_median;
    }
    struct rusage parent, children;
    getrusage(RUSAGE_SELF, &parent);
    getrusage(RUSAGE_CHILDREN, &children);
    double all = (double)forks * tries;
    printf("fork_us %.1f fork_exit_us %.1f parent_cpu_us %.1f child_cpu_us %.1f "
           "child_faults %.1f forks %d tries %d\n",
           best_fork, best_whole, cpu_us(&parent.ru_utime, &parent.ru_stime) / all,
           cpu_us(&children.ru_utime, &children.ru_stime) / all,
           (double)children.ru_minflt / all, forks, tries);
    return 0;
}
