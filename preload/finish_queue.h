/*
 * Finished requests on their way from server threads to the writer.
 *
 * A bounded multi-producer queue (Vyukov's sequence-numbered cells): a
 * push is a compare-and-swap and a copy, never a wait. When the writer
 * falls behind and the queue is full, the request's report is dropped and
 * counted instead.
 */
#ifndef REQPROF_FINISH_QUEUE_H
#define REQPROF_FINISH_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "request.h"

/* Any thread: queues a copy of request. False when the queue is full. */
bool rp_finish_queue_push(const struct rp_request *request);

/* How many requests were ever queued (since load or fork). */
size_t rp_finish_queue_pushed(void);

/* Writer only: takes the oldest request into *request. False when empty. */
bool rp_finish_queue_pop(struct rp_request *request);

/* Empties the queue: at load, and in a fork child (the parent's writer
 * owns what the parent queued). */
void rp_finish_queue_init(void);

#endif
