/*
 * mhd_server: a libmicrohttpd program for reqprof's end-to-end tests.
 *
 * libmicrohttpd reads with recv, answers with send, sendmsg or sendfile, and
 * closes a connection late, on its polling thread: the
 * profile of a request must not wait for that close, and must hold the work
 * its handler did. Two threading models, chosen on the command line:
 *
 *   --mode internal      one internal polling thread (select) serves every
 *                        connection: requests of many connections interleave
 *                        on one thread
 *   --mode per-connection  a thread per connection (MHD_USE_THREAD_PER_CONNECTION)
 *
 * Routes (parameters show their defaults):
 *
 *   GET  /                ok, no work
 *   GET  /burn?ms=100     mhd_burn burns ms of CPU time
 *   POST /echo            counts the body; answers "received N bytes"
 *   anything else         404 (GET) or 405
 *
 * It listens on 127.0.0.1 only, prints "listening on PORT" once it serves,
 * and stops on SIGTERM or SIGINT through MHD_stop_daemon and a normal exit,
 * so atexit handlers (reqprof's too) run.
 *
 * Usage: mhd_server [--mode internal|per-connection] [--port N]
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "server_support.h"

/* Upper limit of the ms parameter. */
#define PARAM_MS_MAX 60000

/* What one request has seen so far; MHD keeps it in *req_cls between the
 * calls of mhd_answer for one request. */
struct request_state {
    uint64_t body_bytes;  /* body bytes received so far */
    bool answered;        /* a response is queued */
};

/* Burns MS ms of this thread's CPU time (server_support.h). */
SERVER_BURNER(mhd_burn, 0x9e3779b97f4a7c15u)

/* Queues a response with STATUS and BODY (copied). */
static enum MHD_Result answer_text(struct MHD_Connection *connection, unsigned status,
                                   const char *body) {
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result result;

    if (response == NULL)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

/* Reads the decimal parameter ms (default 100). Returns false when it is
 * not a number up to PARAM_MS_MAX. */
static bool query_ms(struct MHD_Connection *connection, unsigned *ms) {
    const char *text = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "ms");
    char *end;
    unsigned long value;

    *ms = 100;
    if (text == NULL)
        return true;
    errno = 0;
    value = strtoul(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || errno != 0 || value > PARAM_MS_MAX)
        return false;
    *ms = (unsigned)value;
    return true;
}

SERVER_FRAME static enum MHD_Result route_burn(struct MHD_Connection *connection) {
    char body[64];
    unsigned ms;

    if (!query_ms(connection, &ms))
        return answer_text(connection, MHD_HTTP_BAD_REQUEST, "Bad Request\n");
    mhd_burn(ms);
    snprintf(body, sizeof body, "burned %u ms in mhd_burn\n", ms);
    return answer_text(connection, MHD_HTTP_OK, body);
}

SERVER_FRAME static enum MHD_Result route_echo(struct MHD_Connection *connection,
                                               const struct request_state *state) {
    char body[64];

    snprintf(body, sizeof body, "received %llu bytes\n", (unsigned long long)state->body_bytes);
    return answer_text(connection, MHD_HTTP_OK, body);
}

/* MHD's access handler: called once for the head, then once per piece of
 * body (*upload_data_size > 0), then once more with nothing, when the
 * request is complete and gets its answer. */
SERVER_FRAME static enum MHD_Result mhd_answer(void *cls, struct MHD_Connection *connection,
                                               const char *url, const char *method,
                                               const char *version, const char *upload_data,
                                               size_t *upload_data_size, void **req_cls) {
    struct request_state *state = *req_cls;
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    enum MHD_Result result;

    (void)cls;
    (void)version;
    (void)upload_data;
    if (state == NULL) {
        if ((state = calloc(1, sizeof *state)) == NULL)
            return MHD_NO;
        *req_cls = state;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        state->body_bytes += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/") == 0 && get)
        result = answer_text(connection, MHD_HTTP_OK, "ok\n");
    else if (strcmp(url, "/burn") == 0 && get)
        result = route_burn(connection);
    else if (strcmp(url, "/echo") == 0 && post)
        result = route_echo(connection, state);
    else if (get)
        result = answer_text(connection, MHD_HTTP_NOT_FOUND, "Not Found\n");
    else
        result = answer_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n");
    /* Also keeps the route calls from being tail calls that would take
     * this frame out of the profile. */
    state->answered = result == MHD_YES;
    return result;
}

static void mhd_request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                                  enum MHD_RequestTerminationCode code) {
    (void)cls;
    (void)connection;
    (void)code;
    free(*req_cls);
    *req_cls = NULL;
}

int main(int argc, char **argv) {
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    unsigned long port = 0;
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *daemon;
    sigset_t stop_signals;
    int signo;

    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (i + 1 < argc && strcmp(argv[i], "--mode") == 0 &&
            strcmp(argv[i + 1], "internal") == 0) {
            i++;
        } else if (i + 1 < argc && strcmp(argv[i], "--mode") == 0 &&
                   strcmp(argv[i + 1], "per-connection") == 0) {
            flags |= MHD_USE_THREAD_PER_CONNECTION;
            i++;
        } else if (i + 1 < argc && strcmp(argv[i], "--port") == 0 &&
                   (port = strtoul(argv[i + 1], &end, 10), *end == '\0') && port <= 65535) {
            i++;
        } else {
            fprintf(stderr, "usage: mhd_server [--mode internal|per-connection] [--port N]\n");
            return 2;
        }
    }
    address.sin_port = htons((uint16_t)port);

    /* The signals are blocked before MHD starts its threads, which inherit
     * the mask, so that only sigwait below receives them. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, mhd_answer, NULL,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
                              MHD_OPTION_NOTIFY_COMPLETED, mhd_request_completed, NULL,
                              MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "mhd_server: cannot start the daemon on 127.0.0.1:%lu\n", port);
        return 1;
    }
    if ((info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT)) == NULL) {
        fprintf(stderr, "mhd_server: cannot tell the port it listens on\n");
        MHD_stop_daemon(daemon);
        return 1;
    }
    printf("listening on %u\n", (unsigned)info->port);
    fflush(stdout);

    while (sigwait(&stop_signals, &signo) != 0)
        continue;
    MHD_stop_daemon(daemon);
    return 0;
}
