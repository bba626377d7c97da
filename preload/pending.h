/*
 * The requests of one connection that were read and not yet answered.
 *
 * HTTP/1.x answers in order, so the oldest of them is the one the server
 * works on and the one the next response belongs to. It is kept inline, in
 * the connection: one request at a time is what nearly every client sends.
 * Requests a client pipelines after it wait in a queue of records the size
 * of their own method and target, in a buffer allocated when a client
 * first pipelines and freed when the queue empties, so an idle keep-alive
 * connection holds no room for them.
 *
 * The queue is bounded (RP_PENDING_CONNECTION_BYTES a connection,
 * RP_PENDING_PROCESS_BYTES in all, ~6,000 and ~100,000 requests of short
 * targets). A request that finds it full is not followed, but it is
 * counted where it stands in the order, so that its response is passed
 * over and every later request still gets its own.
 *
 * The caller holds the connection's lock for every call.
 */
#ifndef REQPROF_PENDING_H
#define REQPROF_PENDING_H

#include <stdbool.h>
#include <stdint.h>

#include "request.h"

/* Most bytes of queued records one connection and all of them hold. */
#define RP_PENDING_CONNECTION_BYTES (256u * 1024)
#define RP_PENDING_PROCESS_BYTES (4u * 1024 * 1024)

struct rp_pending {
    unsigned count;            /* requests followed: the oldest and queued */
    bool reading;              /* the newest of them is the message being
                                  read: its head or body is still coming */
    uint32_t responses_to_skip; /* the next responses answer requests not
                                   followed */
    uint32_t unfollowed_after_oldest; /* requests not followed between the
                                         oldest and the first queued */
    struct rp_request oldest;  /* valid while count > 0 */
    /* The queue: records from head to tail in bytes[0, capacity). */
    unsigned char *bytes;
    uint32_t capacity;
    uint32_t head;             /* offset of the oldest queued record */
    uint32_t tail;             /* offset past the newest */
    uint32_t newest;           /* offset of the newest */
};

/* The oldest request followed, or NULL. Inline: every read and write of
 * a connection asks. */
static inline struct rp_request *rp_pending_oldest(struct rp_pending *pending)
{
    return pending->count > 0 ? &pending->oldest : NULL;
}

/* The request the next response answers, or NULL when there is none or
 * it answers a request not followed. */
static inline struct rp_request *
rp_pending_answered(struct rp_pending *pending)
{
    return pending->responses_to_skip == 0 ? rp_pending_oldest(pending)
                                           : NULL;
}

/*
 * A new request began at start_ns: it becomes the newest, and the one being
 * read. Returns false when there is no room for it: it is then counted as
 * not followed and nothing is being read.
 */
bool rp_pending_add(struct rp_pending *pending, uint64_t id,
                    uint64_t start_ns);

/* The head of the request being read is known: its method (a whole
 * array, as the parser's) and target. Only the first head given counts. */
void rp_pending_reading_head(struct rp_pending *pending,
                             const char method[RP_HTTP_METHOD_MAX],
                             const char *path);

/* The request being read is whole, request_bytes long. Nothing is being
 * read from now on. */
void rp_pending_reading_complete(struct rp_pending *pending,
                                 uint64_t request_bytes);

/* The request being read turned out to be none: it is forgotten. */
void rp_pending_reading_drop(struct rp_pending *pending);

/*
 * The oldest request was handed on (answered, or the connection ended):
 * the next one followed takes its place. The responses to the requests not
 * followed between them come first (rp_pending_skip_response).
 */
void rp_pending_remove_oldest(struct rp_pending *pending);

/* Whether a response that just ended answered a request not followed:
 * then it is counted off and ends no request. */
bool rp_pending_skip_response(struct rp_pending *pending);

/* In a fork child: the queues the process held are the parent's
 * connections', which the child dropped (a connection it keeps is idle,
 * its queue empty and freed), so none count against its bound. */
void rp_pending_forget_process_bytes(void);

/* Whether request id is still pending. */
bool rp_pending_contains(const struct rp_pending *pending, uint64_t id);

#endif
