/*
 * Names of the peers a process's requests wait on: the addresses of its
 * upstream sockets (address:port, or a unix socket's path) and the paths
 * of the files it reads, each kept once for the process and known by a
 * small number.
 *
 * A socket is named once, where its address is at hand (connect), or at
 * its first counted call (getpeername, once per fd: follow.h keeps the
 * number in the fd's entry), so the calls of a request carry a number,
 * never an address, and only the writer turns numbers into text. The
 * table only grows, and is bounded: past RP_PEER_NAME_MAX addresses, or
 * while another thread adds one, a socket has no name and its waits are
 * counted as other peers'.
 */
#ifndef REQPROF_PEER_NAME_H
#define REQPROF_PEER_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Addresses kept per process. */
#define RP_PEER_NAME_MAX 256
/* Files' paths kept per process, numbered from RP_PEER_FILE_FIRST: a
 * table of their own, so that a server that reads many files still names
 * its upstreams. */
#define RP_PEER_FILE_MAX 128
#define RP_PEER_FILE_FIRST 0x1000

/* Peer numbers: 1 to RP_PEER_NAME_MAX name an address; these do not. */
enum {
    RP_PEER_UNKNOWN = 0,      /* not looked at yet */
    RP_PEER_UNNAMED = 0xffff, /* could not be named: "other peers" */
};

/*
 * The number of address (length bytes), added to the table if new; or
 * RP_PEER_UNNAMED for a family other than IPv4, IPv6 and unix, a full
 * table, or another thread adding at the same time (never waited for:
 * a server's signal handler may connect while the thread it interrupted
 * adds). Keeps errno. Async-signal-safe.
 */
uint16_t rp_peer_name_intern(const struct sockaddr *address, socklen_t length);

/*
 * The number of the path of the regular file fd reads (readlink of
 * /proc/self/fd/N), added to the table if new; RP_PEER_UNKNOWN for a path
 * of no disk (/proc, /sys, /dev); RP_PEER_UNNAMED for a path longer than
 * kept, no /proc, a full table, or another thread adding. Changes errno
 * (rp_follow_file keeps it). Async-signal-safe.
 */
uint16_t rp_peer_name_file(int fd);

/*
 * Writes peer's name into out (size bytes, NUL-terminated):
 * "127.0.0.1:5432", "[::1]:8080", a unix socket's path (or "@name" for
 * an abstract one, "unix" for an unnamed one), a file's path (without query values if
 * redact_query: REQPROF_REDACT=query), or
 * RP_REPORT_WAIT_OTHER_PEER for
 * RP_PEER_UNNAMED and numbers not in the table. Writer thread.
 */
void rp_peer_name_format(uint16_t peer, bool redact_query, char *out, size_t size);

/* In a fork child: an add that another thread of the parent had under
 * way is not, and must not keep the child from adding. */
void rp_peer_name_after_fork(void);

#endif
