/* Waits per peer, the server thread's side: a record per call; see
 * peer_wait.h. */
#include "peer_wait.h"

#include <errno.h>
#include <string.h>

#include "follow.h"
#include "peer_name.h"

void rp_peer_wait_record(struct rp_thread *thread, int fd, enum rp_peer_wait_kind kind,
                         ssize_t result, uint64_t blocked_ns)
{
    uint64_t request_id = thread->current_request; /* read once: thread.h */
    int saved_errno = errno;
    uint16_t peer = rp_follow_peer(fd, request_id);
    /* A socket with no peer to name (an unconnected UDP socket's
     * datagrams to a metrics daemon) is a wait only when it blocked: each
     * of its quick calls would otherwise cost a record and show a row. */
    if (peer == RP_PEER_UNKNOWN || (peer == RP_PEER_UNNAMED && blocked_ns == 0)) {
        errno = saved_errno;
        return;
    }
    struct rp_record *record = rp_thread_record_start(thread, RP_PEER_WAIT_PAYLOAD_FRAMES);
    if (record != NULL) {
        struct rp_peer_wait_payload payload = {
            .peer = peer,
            .kind = (uint16_t)kind,
            .bytes = result > 0 ? (uint64_t)result : 0,
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
    errno = saved_errno;
}
