/*
 * What reqprof knows of fds that are not client connections: which
 * request an upstream socket serves, and whether a socket has a timeout.
 *
 * Upstream sockets follow the request that wrote to them.
 *
 * A request that waits on an upstream (a proxied backend, a database)
 * leaves its client connection alone until the answer comes: an event loop
 * serves other requests meanwhile and then picks the answer up by reading
 * the upstream socket. So a socket (not a client connection) written to
 * while the thread works on request R belongs to R until R ends, and
 * reading or writing it makes R the thread's current request again.
 */
#ifndef REQPROF_FOLLOW_H
#define REQPROF_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct rp_thread;

/* The server wrote to fd, which is not a client connection. */
void rp_follow_sent(int fd);

/* The server read from fd, which is not a client connection. */
void rp_follow_received(int fd);

/* The request fd serves, if it is followed and the request is pending: a
 * client connection's answered request, or an upstream's owner; else 0.
 * Keeps errno. */
uint64_t rp_follow_request_of(int fd);

/* fd was connected to address (length bytes): its peer's name
 * (peer_name.h), if fd is followed. Keeps errno. */
void rp_follow_name_peer(int fd, const struct sockaddr *address, socklen_t length);

/*
 * The peer (peer_name.h) of fd if it is an upstream socket of request_id
 * (not 0), named at its first call here unless connect named it; else
 * RP_PEER_UNKNOWN. Keeps errno.
 */
uint16_t rp_follow_peer(int fd, uint64_t request_id);

/*
 * The file (peer_name.h's number of its path) that fd is, if it is a
 * regular file on a disk: named at its first call here (one fstat and
 * one readlink per fd while it stays open); else RP_PEER_UNKNOWN. Keeps
 * errno. Async-signal-safe.
 */
uint16_t rp_follow_file(int fd);

/* fd is being closed: it belongs to nobody any more. */
void rp_follow_forget(int fd);

/* fd `to` (forgotten first) is now a duplicate of fd `from`: it is the same
 * socket, with the same owner and options. Keeps errno. */
void rp_follow_duplicated(int from, int to);

/* Whether fd is the thread's current request's connection or upstream. */
bool rp_follow_belongs_to_current(int fd, const struct rp_thread *thread);

/* What may wake a wait on an fd (see rp_follow_wakes_loop). */
enum rp_follow_role {
    RP_FOLLOW_ROLE_NONE,     /* a pipe, an eventfd, a socket of no request */
    RP_FOLLOW_ROLE_LISTENER, /* a listening socket */
    RP_FOLLOW_ROLE_REQUEST,  /* a client connection, or an upstream socket
                              * a request wrote to last */
};

enum rp_follow_role rp_follow_role(int fd);

/*
 * Whether a wait on fd is an event loop's rather than the thread's current
 * request's: fd is a listening socket, a client connection other than the
 * current request's (another request's, or one waiting for its next
 * request), or an upstream socket another request wrote to last. A wait
 * on nothing of the kind (a pipe from a CGI, an eventfd, a database
 * socket of the request) is the request's own.
 */
bool rp_follow_wakes_loop(int fd, const struct rp_thread *thread);

/*
 * Socket options that change how reqprof must treat a socket's calls, as
 * setsockopt and listen tell them (an accepted socket inherits its
 * listener's timeouts and low mark).
 */
enum rp_follow_option {
    /* SO_RCVTIMEO or SO_SNDTIMEO: a socket call then fails with EINTR
     * when any signal arrives, SA_RESTART or not, so reqprof must keep its
     * signal away from such calls (wait.h). */
    RP_FOLLOW_TIMEOUT = 1u << 0,
    /* SO_RCVLOWAT: a blocking read waits for that much, where one tried
     * without blocking returns what is there. */
    RP_FOLLOW_LOW_MARK = 1u << 1,
    /* listen was called on it, or accept returned a connection from it:
     * a wait on it is an event loop's (rp_follow_wakes_loop). */
    RP_FOLLOW_LISTENER = 1u << 2,
    /* An eventfd or pipe the server made: writing it wakes a thread, which
     * may take the writer's request up (handoff.h). */
    RP_FOLLOW_HANDOFF = 1u << 3,
};

/* Sets (on) or clears the options in mask for fd. */
void rp_follow_set_options(int fd, unsigned mask, bool on);

/* fd's options (enum rp_follow_option bits). */
unsigned rp_follow_options(int fd);

/*
 * Whether fd is a stream socket, whose reads and writes may be first tried
 * without blocking (interpose.c): only there is read the same as recvmsg
 * and write the same as sendmsg (a datagram socket would lose a datagram
 * to a read of 0 bytes, a seqpacket one its record ends). One getsockopt
 * per fd while it stays open.
 */
bool rp_follow_is_stream(int fd);

/*
 * In a fork child: the parent's upstream sockets are the parent's
 * requests', but what they are (their kind, their timeouts) holds in the
 * child too: a worker that accepts on a listener with a timeout must
 * still keep reqprof's tick out of it.
 */
void rp_follow_forget_owners(void);

#endif
