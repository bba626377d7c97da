/* Waits per peer, the server thread's side: a record per call; see
 * peer_wait.h. */
#include "peer_wait.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "follow.h"
#include "interpose.h"
#include "peer_name.h"

/* Puts a WAIT record of peer (calls calls, bytes bytes) in the thread's
 * ring. */
static void peer_wait_put(struct rp_thread *thread, uint64_t request_id, uint16_t peer,
                          enum rp_peer_wait_kind kind, uint32_t calls, uint64_t bytes,
                          uint64_t blocked_ns)
{
    struct rp_record *record = rp_thread_record_start(thread, RP_PEER_WAIT_PAYLOAD_FRAMES);
    if (record != NULL) {
        struct rp_peer_wait_payload payload = {
            .peer = peer,
            .kind = (uint16_t)kind,
            .calls = calls,
            .bytes = bytes,
        };
        record->kind = RP_RECORD_WAIT;
        record->request_id = request_id;
        record->value = blocked_ns;
        record->time_ns = 0; /* not a sample: no time on the timeline */
        record->truncated = false;
        record->frame_count = RP_PEER_WAIT_PAYLOAD_FRAMES;
        memcpy(record->frames, &payload, sizeof payload);
    }
    rp_thread_record_finish(thread, record);
}

void rp_peer_wait_record(struct rp_thread *thread, int fd, enum rp_peer_wait_kind kind,
                         ssize_t result, uint64_t blocked_ns)
{
    uint64_t request_id = thread->current_request; /* read once: thread.h */
    int saved_errno = errno;
    uint16_t peer = rp_follow_peer(fd, request_id);
    /* A socket with no peer to name (an unconnected UDP socket's
     * datagrams to a metrics daemon) is a wait only when it blocked: each
     * of its quick calls would otherwise cost a record and show a row. */
    if (peer != RP_PEER_UNKNOWN && (peer != RP_PEER_UNNAMED || blocked_ns != 0))
        peer_wait_put(thread, request_id, peer, kind, 1, result > 0 ? (uint64_t)result : 0,
                      blocked_ns);
    errno = saved_errno;
}

struct rp_disk_read rp_disk_read_start(int fd)
{
    /* A vfork child runs on its parent's thread state: its reads are not
     * the parent's request's. */
    if (!rp_interpose_active())
        return (struct rp_disk_read){.file = RP_PEER_UNKNOWN};
    uint16_t file = rp_follow_file(fd);
    if (file == RP_PEER_UNKNOWN)
        return (struct rp_disk_read){.file = RP_PEER_UNKNOWN};
    return (struct rp_disk_read){.file = file, .start_ns = rp_monotonic_ns()};
}

/* Puts the sum in the ring and empties it. */
static void disk_read_put(struct rp_thread *thread, struct rp_thread_disk_sum *sum)
{
    peer_wait_put(thread, sum->request_id, sum->file, RP_PEER_WAIT_READ, sum->calls,
                  sum->bytes, sum->ns);
    sum->calls = 0;
}

void rp_disk_read_flush(struct rp_thread *thread)
{
    struct rp_thread_disk_sum *sum = &thread->disk_sum;
    if (sum->calls == 0 || sum->summing)
        return;
    int saved_errno = errno;
    sum->summing = true;
    rp_signal_fence();
    disk_read_put(thread, sum);
    rp_signal_fence();
    sum->summing = false;
    errno = saved_errno;
}

void rp_disk_read_finish(struct rp_disk_read read, ssize_t result)
{
    uint64_t end_ns = rp_monotonic_ns();
    struct rp_thread *thread = rp_thread_state;
    if (thread == NULL || result <= 0)
        return;
    uint64_t request_id = thread->current_request; /* read once: thread.h */
    if (request_id == 0)
        return;
    int saved_errno = errno;
    struct rp_thread_disk_sum *sum = &thread->disk_sum;
    if (sum->summing) {
        /* A signal handler's read in the middle of the thread's own: a
         * record of its own. */
        struct rp_thread_disk_sum alone = {request_id, end_ns - read.start_ns,
                                           (uint64_t)result, 1, read.file, false};
        disk_read_put(thread, &alone);
        errno = saved_errno;
        return;
    }
    sum->summing = true;
    rp_signal_fence();
    if (sum->calls != 0 && (sum->request_id != request_id || sum->file != read.file))
        disk_read_put(thread, sum);
    if (sum->calls == 0)
        *sum = (struct rp_thread_disk_sum){.request_id = request_id, .file = read.file,
                                           .summing = true};
    sum->calls++;
    sum->ns += end_ns - read.start_ns;
    sum->bytes += (uint64_t)result;
    if (sum->calls == RP_DISK_READ_SUM_CALLS)
        disk_read_put(thread, sum);
    rp_signal_fence();
    sum->summing = false;
    errno = saved_errno;
}
