/*
 * Pending requests of a connection; see pending.h.
 *
 * A queued record is a fixed part and the method and target, each ended by
 * a NUL, rounded up to 8 bytes. The record of the request being read holds
 * room for the longest method and target until its head is known, so that
 * writing them never needs room the queue may not get; it shrinks to fit
 * then. The buffer grows by doubling, and the records move to its start
 * when the oldest have left room there (pending_make_room says when).
 */
#include "pending.h"

#include <stdlib.h>
#include <string.h>

#include "atomic.h"

struct pending_record {
    uint64_t id;
    uint64_t start_ns;
    uint64_t request_bytes;
    uint32_t unfollowed_after; /* requests not followed after this one */
    uint16_t size;             /* of the whole record, a multiple of 8 */
    bool headers_complete;
    char text[];               /* method, NUL, path, NUL */
};

#define PENDING_FIRST_CAPACITY 4096u
#define PENDING_RESERVED_SIZE                                               \
    pending_round(sizeof(struct pending_record) + RP_HTTP_METHOD_MAX +         \
                  RP_HTTP_TARGET_MAX)

/* Bytes of queue buffers the whole process holds. */
static uint64_t pending_process_bytes;

void rp_pending_forget_process_bytes(void)
{
    pending_process_bytes = 0;
}

static uint32_t pending_round(size_t size)
{
    return (uint32_t)((size + 7) & ~(size_t)7);
}

static struct pending_record *pending_at(const struct rp_pending *pending,
                                         uint32_t offset)
{
    return (struct pending_record *)(pending->bytes + offset);
}

/* Copies the string from, cut to size - 1 bytes, and its NUL; returns
 * the bytes written. */
static size_t pending_copy_text(char *to, const char *from, size_t size)
{
    size_t length = strnlen(from, size - 1);
    memcpy(to, from, length);
    to[length] = '\0';
    return length + 1;
}

static bool pending_queued(const struct rp_pending *pending)
{
    return pending->head != pending->tail;
}

/* Gives the buffer back; the queue is empty. */
static void pending_release(struct rp_pending *pending)
{
    rp_atomic_fetch_sub_relaxed(&pending_process_bytes, pending->capacity);
    free(pending->bytes);
    pending->bytes = NULL;
    pending->capacity = pending->head = pending->tail = pending->newest = 0;
}

/* Moves the records to the start of the buffer. */
static void pending_compact(struct rp_pending *pending)
{
    uint32_t used = pending->tail - pending->head;
    memmove(pending->bytes, pending->bytes + pending->head, used);
    pending->newest -= pending->head;
    pending->tail = used;
    pending->head = 0;
}

/* A buffer at least twice as large, with the records at its start, if the
 * bounds allow. */
static bool pending_grow(struct rp_pending *pending, uint32_t size)
{
    uint32_t used = pending->tail - pending->head;
    uint32_t capacity =
        pending->capacity > 0 ? pending->capacity * 2 : PENDING_FIRST_CAPACITY;
    while (capacity - used < size)
        capacity *= 2;
    if (capacity > RP_PENDING_CONNECTION_BYTES)
        return false;
    uint32_t added = capacity - pending->capacity;
    if (rp_atomic_add_fetch_relaxed(&pending_process_bytes, added) >
        RP_PENDING_PROCESS_BYTES) {
        rp_atomic_fetch_sub_relaxed(&pending_process_bytes, added);
        return false;
    }
    unsigned char *bytes = malloc(capacity);
    if (bytes == NULL) {
        rp_atomic_fetch_sub_relaxed(&pending_process_bytes, added);
        return false;
    }
    if (used > 0)
        memcpy(bytes, pending->bytes + pending->head, used);
    free(pending->bytes);
    pending->bytes = bytes;
    pending->capacity = capacity;
    pending->newest -= pending->head;
    pending->tail = used;
    pending->head = 0;
    return true;
}

/*
 * Makes room for size more bytes at the tail, within the bounds. Moving
 * the records costs as much as they hold, so they are moved to the start
 * only while they fill at most half the buffer (each byte then moves at
 * most once per half a buffer of requests), or when it cannot grow.
 */
static bool pending_make_room(struct rp_pending *pending, uint32_t size)
{
    uint32_t used = pending->tail - pending->head;
    bool fits = pending->capacity - used >= size;
    if (pending->capacity - pending->tail >= size)
        return true;
    if (fits && used <= pending->capacity / 2) {
        pending_compact(pending);
        return true;
    }
    if (pending_grow(pending, size))
        return true;
    if (fits)
        pending_compact(pending);
    return fits;
}

/* One more request not followed, after the newest followed one. */
static void pending_count_unfollowed(struct rp_pending *pending)
{
    uint32_t *after = pending_queued(pending)
                          ? &pending_at(pending, pending->newest)->unfollowed_after
                          : &pending->unfollowed_after_oldest;
    if (*after < UINT32_MAX)
        (*after)++;
}

bool rp_pending_add(struct rp_pending *pending, uint64_t id,
                    uint64_t start_ns)
{
    if (pending->count == 0) {
        struct rp_request *request = &pending->oldest;
        request->id = id;
        request->start_ns = start_ns;
        request->method[0] = '\0';
        request->path[0] = '\0';
        request->headers_complete = false;
        request->status = 0;
        request->request_bytes = 0;
        request->response_bytes = 0;
        pending->unfollowed_after_oldest = 0;
    } else if (pending_make_room(pending, PENDING_RESERVED_SIZE)) {
        struct pending_record *record = pending_at(pending, pending->tail);
        *record = (struct pending_record){
            .id = id,
            .start_ns = start_ns,
            .size = (uint16_t)PENDING_RESERVED_SIZE,
        };
        record->text[0] = record->text[1] = '\0';
        pending->newest = pending->tail;
        pending->tail += PENDING_RESERVED_SIZE;
    } else {
        pending_count_unfollowed(pending);
        pending->reading = false;
        return false;
    }
    pending->count++;
    pending->reading = true;
    return true;
}

void rp_pending_reading_head(struct rp_pending *pending,
                             const char method[RP_HTTP_METHOD_MAX],
                             const char *path)
{
    if (!pending->reading)
        return;
    if (!pending_queued(pending)) {
        if (pending->oldest.headers_complete)
            return;
        /* The method whole: one 16-byte move. */
        memcpy(pending->oldest.method, method, RP_HTTP_METHOD_MAX);
        pending_copy_text(pending->oldest.path, path, RP_HTTP_TARGET_MAX);
        pending->oldest.headers_complete = true;
        return;
    }
    struct pending_record *record = pending_at(pending, pending->newest);
    if (record->headers_complete)
        return;
    size_t method_size = pending_copy_text(record->text, method,
                                           RP_HTTP_METHOD_MAX);
    size_t path_size = pending_copy_text(record->text + method_size, path,
                                         RP_HTTP_TARGET_MAX);
    record->headers_complete = true;
    record->size = (uint16_t)pending_round(sizeof *record + method_size +
                                           path_size);
    pending->tail = pending->newest + record->size;
}

void rp_pending_reading_complete(struct rp_pending *pending,
                                 uint64_t request_bytes)
{
    if (!pending->reading)
        return;
    if (pending_queued(pending))
        pending_at(pending, pending->newest)->request_bytes = request_bytes;
    else
        pending->oldest.request_bytes = request_bytes;
    pending->reading = false;
}

/* Forgets the newest queued record. */
static void pending_drop_newest_queued(struct rp_pending *pending)
{
    uint32_t offset = pending->head;
    pending->tail = pending->newest;
    if (!pending_queued(pending)) {
        pending_release(pending);
        return;
    }
    /* The record before it becomes the newest: the queue is walked, as a
     * record knows only its own size. */
    while (offset + pending_at(pending, offset)->size != pending->tail)
        offset += pending_at(pending, offset)->size;
    pending->newest = offset;
}

void rp_pending_reading_drop(struct rp_pending *pending)
{
    if (!pending->reading)
        return;
    if (pending_queued(pending))
        pending_drop_newest_queued(pending);
    pending->count--;
    pending->reading = false;
}

void rp_pending_remove_oldest(struct rp_pending *pending)
{
    pending->responses_to_skip = pending->unfollowed_after_oldest;
    pending->count--;
    if (!pending_queued(pending)) {
        /* It was the newest too: whatever more of it arrives is no one's. */
        pending->reading = false;
        return;
    }
    const struct pending_record *record = pending_at(pending, pending->head);
    struct rp_request *request = &pending->oldest;
    size_t method_size = pending_copy_text(request->method, record->text,
                                           RP_HTTP_METHOD_MAX);
    request->id = record->id;
    request->start_ns = record->start_ns;
    pending_copy_text(request->path, record->text + method_size,
                      RP_HTTP_TARGET_MAX);
    request->headers_complete = record->headers_complete;
    request->status = 0;
    request->request_bytes = record->request_bytes;
    request->response_bytes = 0;
    pending->unfollowed_after_oldest = record->unfollowed_after;
    pending->head += record->size;
    if (!pending_queued(pending))
        pending_release(pending);
}

bool rp_pending_skip_response(struct rp_pending *pending)
{
    if (pending->responses_to_skip == 0)
        return false;
    pending->responses_to_skip--;
    return true;
}

bool rp_pending_contains(const struct rp_pending *pending, uint64_t id)
{
    if (pending->count == 0)
        return false;
    if (pending->oldest.id == id)
        return true;
    for (uint32_t offset = pending->head; offset != pending->tail;
         offset += pending_at(pending, offset)->size)
        if (pending_at(pending, offset)->id == id)
            return true;
    return false;
}
