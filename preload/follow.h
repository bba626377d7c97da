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

struct rp_thread;

/* The server wrote to fd, which is not a client connection. */
void rp_follow_sent(int fd);

/* The server read from fd, which is not a client connection. */
void rp_follow_received(int fd);

/* fd is being closed: it belongs to nobody any more. */
void rp_follow_forget(int fd);

/* Whether fd is the thread's current request's connection or upstream. */
bool rp_follow_belongs_to_current(int fd, const struct rp_thread *thread);

/*
 * Socket timeouts: a socket call on an fd with SO_RCVTIMEO or SO_SNDTIMEO
 * fails with EINTR when any signal arrives, SA_RESTART or not, so reqprof
 * must keep its signal away from such calls (wait.h). setsockopt tells.
 */
void rp_follow_set_timeout(int fd, bool has_timeout);
bool rp_follow_has_timeout(int fd);

/* In a fork child: the parent's upstream sockets are the parent's. */
void rp_follow_forget_all(void);

#endif
