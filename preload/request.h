/* One HTTP request as reqprof tracks it, from first byte read to last byte
 * of its response written. */
#ifndef REQPROF_REQUEST_H
#define REQPROF_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "http_parser.h"
#include "thread.h"

struct rp_request {
    uint64_t id;                  /* process-unique, never 0 */
    char method[RP_HTTP_METHOD_MAX]; /* "" until the request line is parsed */
    char path[RP_HTTP_TARGET_MAX];   /* request target, maybe truncated */
    bool headers_complete;        /* method and path are known */
    int status;                   /* response status; 0 until known */
    uint64_t start_ns;            /* CLOCK_MONOTONIC at the first byte */
    uint64_t end_ns;              /* CLOCK_MONOTONIC at the last byte out */
    uint64_t request_bytes;       /* size of the request message */
    uint64_t response_bytes;      /* size of the response message */
    /* CPU time of the thread that ended it, since it last took the request
     * up, if a sample landed there (thread.h); other threads' time on it
     * goes through their rings. */
    struct rp_thread_cpu final_cpu;
};

#endif
