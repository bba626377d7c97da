/*
 * Waits named and summed: what a request waited on, per peer and kind of
 * call (docs/attribution.md says what counts).
 *
 * A wait is a blocking call's wall time, as the wrapper around the real
 * call measures it (interpose.c: the quiet wait a blocking socket call
 * is made in), while the thread works on a request; a call that did not
 * block counts as a call of no time, with its bytes, and one that failed
 * without blocking (EAGAIN) does not count. Only a request's upstream
 * sockets are counted (follow.h: sockets it connected or wrote to), never
 * its client's connection.
 *
 * The server thread's side (peer_wait.c) is a few loads for a call on no
 * upstream, and a record in its ring for a call on one, holding the
 * peer's number (peer_name.h), the kind of call, the time it blocked and
 * its bytes. The writer (peer_waits.c) sums a request's records in a
 * fixed table (struct rp_peer_waits): its first RP_PEER_WAITS_MAX rows by
 * peer and kind, the rest in one row of other peers.
 */
#ifndef REQPROF_PEER_WAIT_H
#define REQPROF_PEER_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "peer_name.h"
#include "report.h"
#include "sample_ring.h"
#include "thread.h"

/* The kind of a call that waited on a peer; rp_peer_wait_kind_name names
 * it as reports do. */
enum rp_peer_wait_kind {
    RP_PEER_WAIT_CONNECT,
    RP_PEER_WAIT_READ,  /* read, recv, recvfrom, recvmsg, readv; of a
                         * file: read, readv, pread, preadv */
    RP_PEER_WAIT_WRITE, /* write, send, sendto, sendmsg, writev, sendfile */
    RP_PEER_WAIT_KINDS
};

const char *rp_peer_wait_kind_name(enum rp_peer_wait_kind kind);

/* What a WAIT record holds in the room of its frames. */
struct rp_peer_wait_payload {
    uint16_t peer;  /* peer_name.h */
    uint16_t kind;  /* enum rp_peer_wait_kind */
    uint32_t calls; /* 1, or a disk read sum's (rp_disk_read_flush) */
    uint64_t bytes; /* the call's result, when it read or wrote */
};

/* Frames' room a payload takes. */
#define RP_PEER_WAIT_PAYLOAD_FRAMES \
    ((sizeof(struct rp_peer_wait_payload) + sizeof(void *) - 1) / sizeof(void *))

/* Out of line: records the call on fd, if fd is an upstream of the
 * thread's current request. */
void rp_peer_wait_record(struct rp_thread *thread, int fd, enum rp_peer_wait_kind kind,
                         ssize_t result, uint64_t blocked_ns);

/*
 * After a read or write call on fd returned result (-1 on failure), and
 * after reqprof followed it (follow.h), which may have made the fd's
 * request current: counts the call for the thread's current request if
 * fd is one of its upstreams, with the time its quiet waits blocked
 * (thread->peer_blocked_ns, which it takes). A call that returned 0 or
 * failed counts only if it blocked. Keeps errno.
 */
static inline void rp_peer_wait_account(int fd, enum rp_peer_wait_kind kind, ssize_t result)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL)
        return;
    uint64_t blocked_ns = thread->peer_blocked_ns;
    if (blocked_ns != 0)
        thread->peer_blocked_ns = 0;
    if (thread->current_request != 0 && (result > 0 || blocked_ns != 0))
        rp_peer_wait_record(thread, fd, kind, result, blocked_ns);
}

/* After a call on a client's connection, which is no peer: the time its
 * quiet waits blocked is no upstream's. */
static inline void rp_peer_wait_forget(void)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread != NULL && thread->peer_blocked_ns != 0)
        thread->peer_blocked_ns = 0;
}

/*
 * Disk reads: a read of a regular file (follow.h's rp_follow_file: not a
 * pipe, an eventfd, a tty, nor a file of /proc, /sys or /dev) while the
 * thread works on a request is a wait on that file, named by its path,
 * of kind read: the call's wall time, two clock reads around the real
 * call, whether it blocked or found its pages in the cache. The timer is
 * left armed: a read that blocks restarts under SA_RESTART and is
 * sampled where it blocks. Only reads that returned bytes count. A
 * thread sums its reads of one file for one request (thread.h's
 * disk_sum) and puts the sum in its ring when the file or the request
 * changes, every RP_DISK_READ_SUM_CALLS calls, and when its current
 * request changes (thread.c), before a request's end is told.
 */
#define RP_DISK_READ_SUM_CALLS 64

struct rp_disk_read {
    uint16_t file;     /* peer_name.h; RP_PEER_UNKNOWN: not a disk read */
    uint64_t start_ns; /* before the real call */
};

/* Out of line: the file fd is, and the clock. Keeps errno. */
struct rp_disk_read rp_disk_read_start(int fd);

/* Out of line: records the read that returned result. Keeps errno. */
void rp_disk_read_finish(struct rp_disk_read read, ssize_t result);

/* Puts the thread's sum of disk reads, if any, in its ring. Keeps
 * errno. */
void rp_disk_read_flush(struct rp_thread *thread);

/* Before a read of fd: a disk read if fd is a regular file and the thread
 * works on a request. Keeps errno. */
static inline struct rp_disk_read rp_disk_read_begin(int fd)
{
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL || thread->current_request == 0)
        return (struct rp_disk_read){.file = RP_PEER_UNKNOWN};
    return rp_disk_read_start(fd);
}

/* After the read that rp_disk_read_begin began returned result: counted
 * if it was a disk read. Keeps errno. */
static inline void rp_disk_read_end(struct rp_disk_read read, ssize_t result)
{
    if (read.file != RP_PEER_UNKNOWN)
        rp_disk_read_finish(read, result);
}

/*
 * The writer's sum of one request's waits. Rows are in order of first
 * call; calls beyond the table's rows go to the row of other peers.
 */
#define RP_PEER_WAITS_MAX (RP_REPORT_WAITS_MAX - 1)

struct rp_peer_wait_row {
    uint16_t peer;  /* peer_name.h; RP_PEER_UNNAMED: other peers */
    uint8_t kind;   /* enum rp_peer_wait_kind */
    uint64_t calls;
    uint64_t ns;    /* wall time blocked */
    uint64_t bytes; /* read or written */
};

struct rp_peer_waits {
    unsigned count;                                  /* rows used */
    struct rp_peer_wait_row rows[RP_PEER_WAITS_MAX]; /* by peer and kind */
    struct rp_peer_wait_row other; /* calls == 0: none */
};

/* Whether a ring record is a wait (rp_peer_waits_add takes it). */
static inline bool rp_peer_wait_is_record(const struct rp_record *record)
{
    return record->kind == RP_RECORD_WAIT;
}

/* Adds a WAIT record to waits. */
void rp_peer_waits_add(struct rp_peer_waits *waits, const struct rp_record *record);

/* The wall time of every wait in waits. */
uint64_t rp_peer_waits_total_ns(const struct rp_peer_waits *waits);

/* Fills report's waits from waits, peers named (writer thread); files'
 * paths without query values if redact_query. */
void rp_peer_waits_to_report(const struct rp_peer_waits *waits, bool redact_query,
                             struct rp_report *report);

#endif
