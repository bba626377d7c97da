/*
 * What an epoll fd watches, in the summary a wait needs: whether waiting
 * on it is an event loop's wait or the current request's (see
 * interpose_wait.c).
 *
 * epoll_ctl tells which fds each epoll fd watches. Every epoll_wait of an
 * event loop asks, so the answer must cost a few loads, not a walk of the
 * set: each epoll fd keeps counts of the fds it watches that may wake a
 * loop, taken when they are added (a listening socket; a client
 * connection or a socket a request wrote to), and the sum of the latter's
 * numbers, which names the one when there is one. Pipes, eventfds, timers
 * and sockets of no request are not counted.
 *
 * Each watched fd remembers the one epoll fd it was counted in, so that
 * EPOLL_CTL_DEL and its close take it back out (the kernel drops a closed
 * fd from its sets). An fd added to a second epoll fd while counted in a
 * first stays counted in the second until that epoll fd closes. The
 * errors all lean one way: a set that looks more like a loop's than it
 * is, whose waits make the thread idle, as every epoll wait used to. So
 * is an epoll fd reqprof saw no epoll_ctl on (inherited over exec, or a
 * dup of one), and a set of two or more request sockets, even if all are
 * the current request's (its client and its upstream). An fd that took
 * its role after it was added is counted only at its next EPOLL_CTL_MOD:
 * a socket a request wrote to only since, or a listener reqprof saw no
 * listen on (passed in by systemd or inetd), known as one from its first
 * accept, after the loop added it.
 */
#ifndef REQPROF_EPOLL_SET_H
#define REQPROF_EPOLL_SET_H

#include <stdbool.h>

struct rp_thread;

/* epoll_ctl(epoll_fd, operation, fd, ...) succeeded. Keeps errno. */
void rp_epoll_set_changed(int epoll_fd, int operation, int fd);

/* fd is being closed: out of the set it was counted in, and if it is an
 * epoll fd, its set is forgotten. */
void rp_epoll_set_forget(int fd);

/*
 * Whether a wait on epoll_fd is the thread's current request's: the set
 * is known, holds no listening socket, and holds no connection or
 * upstream but, at most, one of the current request's. The thread must
 * have a current request.
 */
bool rp_epoll_set_is_requests(int epoll_fd, const struct rp_thread *thread);

#endif
