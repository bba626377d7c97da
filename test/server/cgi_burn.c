/*
 * cgi_burn: a CGI program (busybox httpd runs it from cgi-bin/) that burns
 * CPU in cgi_burn for the ms=N of its query (QUERY_STRING), on the
 * process's CPU clock, then answers "burned N ms".
 *
 * It is the ground truth of the busybox test: the request's time is all
 * in this process, which the server's child started with vfork and exec
 * and whose answer it reads from a pipe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

__attribute__((noinline)) static void cgi_burn(unsigned ms)
{
    double until = cpu_ms() + ms;
    volatile unsigned long spin = 0;
    while (cpu_ms() < until)
        for (int i = 0; i < 10000; i++)
            spin++;
}

int main(void)
{
    const char *query = getenv("QUERY_STRING");
    const char *ms_at = query != NULL ? strstr(query, "ms=") : NULL;
    unsigned ms = ms_at != NULL ? (unsigned)strtoul(ms_at + 3, NULL, 10) : 0;
    if (ms > 10000)
        ms = 10000;
    cgi_burn(ms);
    printf("Content-Type: text/plain\r\n\r\nburned %u ms\n", ms);
    return 0;
}
