/*
 * The writer thread; see writer.h.
 *
 * Each round it takes finished requests off the queue a batch at a time,
 * and drains the sample rings after taking a batch and before reporting
 * it, so every sample a server thread recorded before a request's end is
 * in that request's call tree when the request is reported. Samples are
 * folded into a per-request call tree as they arrive (symbolized through a
 * cache), so memory grows with distinct stacks, not with duration.
 *
 * Every finished request gets its index line. It gets report files too,
 * unless it was shorter than REQPROF_MIN_DURATION or, with
 * REQPROF_MAX_REPORTS, it is not among the slowest of its window: then the
 * window holds it until it closes (report_budget.h), and a slower request
 * may displace it. The index lines of a batch (up to WRITER_BATCH
 * requests) go out in one write.
 *
 * The writer sleeps between rounds. A server thread wakes it only when the
 * queue fills past a quarter (or when the writer idles), so a busy server
 * makes no system call per request to reach it.
 */
#include "writer.h"

#include <linux/futex.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "clock.h"
#include "finish_queue.h"
#include "heap.h"
#include "isolated.h"
#include "log.h"
#include "path_redact.h"
#include "peer_wait.h"
#include "process.h"
#include "real.h"
#include "report_budget.h"
#include "report_files.h"
#include "symbolizer.h"
#include "thread.h"
#include "unwind.h"
#include "version.h"

/* Requests with samples but no end yet that the writer keeps; samples of
 * further requests are dropped until some end. */
#define WRITER_OPEN_MAX 8192
#define WRITER_BUCKETS 4096
/* Finished requests taken off the queue at a time, before the rings are
 * drained again and their room in the queue given back. */
#define WRITER_BATCH 1024
/* Report files written between two drains of the rings: the deepest
 * stacks fill a ring in RP_RING_RECORDS_MIN intervals (29 ms at 1 ms), a
 * report takes up to a few hundred microseconds. */
#define WRITER_REPORTS_PER_DRAIN 16
/* Rounds after which a request with samples but no end (its end was never
 * seen, or its samples came late) is discarded. */
#define WRITER_STALE_ROUNDS 6000
/*
 * Naps between rounds. A thread samples once an interval, and a sample
 * takes at most RP_RECORD_SIZE_MAX of its ring (RP_RING_RECORDS_MIN of
 * them fill it): a nap of half that many intervals leaves every ring at
 * least half empty whatever the stacks, and a round whose fullest ring
 * had more than a quarter of its bytes (deep stacks, quiet waits, CPU
 * records) shortens the next nap in proportion. Every wake-up costs the
 * writer some 40 us on this VM, so naps are as long as that allows, up to
 * WRITER_NAP_MAX_NS, which bounds how long a finished request waits for
 * its index line.
 */
#define WRITER_NAP_MAX_NS 50000000ull
#define WRITER_NAP_MIN_NS 1000000ull
/* Empty rounds after which the writer sleeps until a request begins or
 * ends, instead of polling an idle server. */
#define WRITER_IDLE_ROUNDS 50
#define WRITER_IDLE_SLEEP_NS 5000000000ull
/* A server thread wakes a napping writer once the queue holds this much:
 * well before it is full, rarely at all (the writer comes round first). */
#define WRITER_WAKE_BACKLOG (RP_FINISH_QUEUE_BYTES / 4)
/* REQPROF_MAX_REPORTS counts per second: one window of the budget. */
#define WRITER_WINDOW_NS ((uint64_t)RP_NS_PER_SECOND)
/* Requests skipped for the budget are said at most this often. */
#define WRITER_SKIPPED_SAY_NS 60000000000ull
/* Emptied requests kept for reuse, trees and all: building a tree in
 * memory of the last one allocates nothing. */
#define WRITER_SPARE_MAX 16
/* Ends of the latest requests taken, kept to refuse their samples stamped
 * after them (writer_clip_to_end): a batch's worth and more. A power of
 * two; ids are given in order, so recent ones rarely share a slot. */
#define WRITER_ENDS 4096

/* What the writer knows of one request before it ends. */
struct writer_request {
    uint64_t id;
    struct rp_calltree *tree;
    uint64_t samples_dropped;
    uint64_t shared_samples; /* of its samples, those shared with other
                              * requests (writer_share) */
    uint64_t cpu_ns;
    bool cpu_measured;   /* a CPU record came: cpu_ns is measured time */
    struct rp_peer_waits *waits; /* what it waited on; NULL until its
                                  * first wait (most requests have none) */
    uint64_t last_round; /* round of the last sample, for discarding */
    struct writer_request *next; /* bucket chain, or the spare list */
};

/* A request the writer has taken the end of. */
struct writer_end {
    uint64_t id;     /* 0: none */
    uint64_t end_ns; /* CLOCK_MONOTONIC at its last byte out */
    bool finished;   /* its samples went to its report (or its hold):
                      * a later record opens nothing */
};

/* A finished request the budget holds until its window closes. */
struct writer_held {
    struct rp_finished finished;     /* a copy: its room in the queue is freed */
    struct writer_request *samples;  /* its samples, or NULL */
    struct writer_held *next_spare;
};

struct writer {
    struct writer_request *buckets[WRITER_BUCKETS];
    unsigned open_count;
    struct writer_end ends[WRITER_ENDS]; /* by id % WRITER_ENDS */
    /* CLOCK_MONOTONIC just before the last batch was taken, or the
     * latest end in it if later: the drains leave samples stamped after it
     * in their rings, since the end of their request may have come after
     * the batch (writer_drain_thread). */
    uint64_t horizon_ns;
    uint64_t round;
    struct rp_symbolizer *symbolizer;
    struct rp_report_files *files;
    uint64_t records_seen;                /* records drained this round */
    unsigned fullest_ring;                /* most bytes drained from one ring */
    /* One stack, outermost first, under up to two marks; with room for
     * as many frames of inlined calls as the stack has frames. */
    uint32_t frame_ids[2 * RP_STACK_MAX + 2];
    unsigned share_cursor; /* who gets the next remainder (writer_share) */
    char program[RP_REPORT_PROGRAM_MAX];
    int pid;
    /* The target of the request being written, as reports show it
     * (REQPROF_REDACT). */
    char shown_path[RP_HTTP_TARGET_MAX];
    size_t shown_path_length;
    unsigned reports_since_drain; /* report files since the rings' drain */

    struct writer_request *spare_requests; /* emptied, trees and all */
    unsigned spare_count;
    struct rp_calltree *empty_tree; /* the report of a request no sample hit */

    /* REQPROF_MAX_REPORTS; unused when it is 0. */
    struct rp_report_budget budget;
    uint64_t window_end_ns; /* CLOCK_MONOTONIC end of the open window; 0: none */
    struct writer_held *spare_held;
    uint64_t skipped_unsaid;   /* skipped since the last line said so */
    uint64_t skipped_since_ns; /* when the first of them was skipped */
    uint64_t skipped_said_ns;  /* when that line was last written; 0: never */
};

/* The running writer, for a fork child to close its descriptors. */
static struct writer *writer_running;

/* What the writer is doing, and the word it sleeps on. */
enum writer_sleep {
    WRITER_AWAKE,
    WRITER_NAPPING, /* between rounds: wakes when the queue fills */
    WRITER_IDLE,    /* nothing to do: wakes when a request begins or ends */
};
static uint32_t writer_sleep_state;
/* Bumped by rp_writer_notify: an idle writer sleeps only if none came
 * since its last round began. */
static uint32_t writer_events;
static bool writer_started;
static bool writer_start_said;
/* rp_writer_flush asks the writer to write the reports it holds. */
static bool writer_flushing;
/* A queue position (rp_finish_queue_mark) before which every request has
 * its index line and reports written. */
static size_t writer_done;
/* Requests that got no report file for REQPROF_MAX_REPORTS. */
static uint64_t writer_skipped_total;

static uint64_t writer_now_ns(void)
{
    return rp_clock_ns(CLOCK_MONOTONIC);
}

/* How far the wall clock may move from the monotonic one before the
 * writer takes the new difference: a step (a date set, an NTP step), not
 * the slew or the jitter of reading two clocks. */
#define WRITER_WALL_STEP_NS 1000000

/*
 * The wall-clock time, in µs since the epoch, of a CLOCK_MONOTONIC
 * moment: the server's thread stamps only the monotonic clock, and the
 * writer converts with the clocks' difference. The difference is kept
 * until the wall clock steps, not read anew per request: a preemption
 * between the two reads, or their jitter, would otherwise put requests
 * that began a microsecond apart out of order in the index.
 */
static int64_t writer_unix_us(uint64_t monotonic_ns)
{
    static int64_t wall_minus_monotonic_ns;
    static bool known;
    /* Bracketed by two monotonic reads; the closest pair of three. */
    int64_t best_ns = 0, best_gap_ns = INT64_MAX;
    for (int attempt = 0; attempt < 3; attempt++) {
        int64_t before_ns = (int64_t)writer_now_ns();
        int64_t wall_ns = (int64_t)rp_clock_ns(CLOCK_REALTIME);
        int64_t after_ns = (int64_t)writer_now_ns();
        if (after_ns - before_ns < best_gap_ns) {
            best_gap_ns = after_ns - before_ns;
            best_ns = wall_ns - before_ns - best_gap_ns / 2;
        }
    }
    if (!known || llabs(best_ns - wall_minus_monotonic_ns) > WRITER_WALL_STEP_NS) {
        wall_minus_monotonic_ns = best_ns;
        known = true;
    }
    return ((int64_t)monotonic_ns + wall_minus_monotonic_ns) / 1000;
}

static struct writer_request **writer_bucket(struct writer *writer, uint64_t id)
{
    return &writer->buckets[(id * 0x9e3779b97f4a7c15ull) >> 52 & (WRITER_BUCKETS - 1)];
}

/* An emptied request from the spares, or a new one; NULL when out of
 * memory. */
static struct writer_request *writer_request_new(struct writer *writer)
{
    struct writer_request *request = writer->spare_requests;
    if (request != NULL) {
        writer->spare_requests = request->next;
        writer->spare_count--;
        return request;
    }
    request = rp_heap_calloc(1, sizeof *request);
    if (request == NULL)
        return NULL;
    request->tree = rp_calltree_new();
    if (request->tree == NULL) {
        rp_heap_free(request);
        return NULL;
    }
    return request;
}

/* Done with request (NULL is allowed): emptied and kept for the next one,
 * or freed when enough are kept. */
static void writer_request_done(struct writer *writer,
                                struct writer_request *request)
{
    if (request == NULL)
        return;
    rp_heap_free(request->waits);
    request->waits = NULL;
    if (writer->spare_count >= WRITER_SPARE_MAX) {
        rp_calltree_free(request->tree);
        rp_heap_free(request);
        return;
    }
    rp_calltree_clear(request->tree);
    request->next = writer->spare_requests;
    writer->spare_requests = request;
    writer->spare_count++;
}

static struct writer_request *writer_find(struct writer *writer, uint64_t id,
                                          bool create)
{
    struct writer_request **bucket = writer_bucket(writer, id);
    for (struct writer_request *request = *bucket; request; request = request->next)
        if (request->id == id)
            return request;
    if (!create || writer->open_count >= WRITER_OPEN_MAX)
        return NULL;
    struct writer_request *request = writer_request_new(writer);
    if (request == NULL)
        return NULL;
    request->id = id;
    request->samples_dropped = 0;
    request->shared_samples = 0;
    request->cpu_ns = 0;
    request->cpu_measured = false;
    request->next = *bucket;
    *bucket = request;
    writer->open_count++;
    return request;
}

/* Unlinks the request from its bucket; the caller owns it afterwards. */
static void writer_unlink(struct writer *writer, struct writer_request *request)
{
    struct writer_request **link = writer_bucket(writer, request->id);
    while (*link != request)
        link = &(*link)->next;
    *link = request->next;
    writer->open_count--;
}

/* Folds one stack record into its request's tree, weighing weight
 * intervals up to time_ns. */
static void writer_add_stack(struct writer *writer, struct writer_request *request,
                             const struct rp_record *record, uint64_t weight,
                             uint64_t time_ns, const struct rp_frame *shared)
{
    static const struct rp_frame truncated = {.function = "[truncated stack]"};
    size_t depth = 0;
    if (shared != NULL) {
        writer->frame_ids[depth++] = rp_calltree_intern_lasting(request->tree, shared);
        request->shared_samples += weight;
    }
    if (record->truncated)
        writer->frame_ids[depth++] = rp_calltree_intern_lasting(request->tree, &truncated);
    /* Innermost first in the record, outermost first in the tree: the
     * tree's stack is filled from its leaf end, [first, capacity), then
     * moved under the marks. An address may give several frames (calls
     * the compiler inlined there). Only the interrupted frame's address
     * is exact; the others are return addresses. A stack deeper than the
     * tree takes loses its outermost frames, never the leaf where the
     * time is. reqprof's own frames (a wrapper between the server's call
     * and libc's) are not the server's: the libc call, or the server's
     * caller, is their place. */
    size_t capacity = sizeof writer->frame_ids / sizeof writer->frame_ids[0];
    size_t first = capacity;
    for (int i = 0; i < record->frame_count && first > depth; i++) {
        if (rp_unwind_is_own_code(record->frames[i]))
            continue;
        const struct rp_frame *frames[RP_SYMBOLIZER_FRAMES_MAX];
        size_t room = first - depth < RP_SYMBOLIZER_FRAMES_MAX ? first - depth
                                                                : RP_SYMBOLIZER_FRAMES_MAX;
        size_t count = rp_symbolizer_lookup(writer->symbolizer,
                                            (uintptr_t)record->frames[i], i != 0,
                                            frames, room);
        first -= count;
        for (size_t j = 0; j < count; j++)
            writer->frame_ids[first + j] =
                rp_calltree_intern_lasting(request->tree, frames[j]);
    }
    memmove(&writer->frame_ids[depth], &writer->frame_ids[first],
            (capacity - first) * sizeof writer->frame_ids[0]);
    depth += capacity - first;
    /* A share, or the part before an end, runs as the whole sample did,
     * rounded to the nearest interval: truncated, the shares of a sample
     * lost CPU (3 intervals, 2 ran, split 2 and 1: 1 + 0). */
    uint64_t cpu_weight = record->value != 0
                              ? (record->cpu_value * weight + record->value / 2) / record->value
                              : 0;
    if (rp_calltree_add_sample(request->tree, writer->frame_ids, depth, weight, cpu_weight,
                               time_ns) != 0)
        request->samples_dropped += weight;
}

/* Adds a WAIT record to the request's waits, made at its first (a wait
 * that finds no memory for them is dropped, and counted as a sample
 * would be). */
static void writer_add_wait(struct writer_request *request,
                            const struct rp_record *record)
{
    if (request->waits == NULL &&
        (request->waits = rp_heap_calloc(1, sizeof *request->waits)) == NULL) {
        request->samples_dropped++;
        return;
    }
    rp_peer_waits_add(request->waits, record);
}

/* The end of request id if the writer took it lately, or NULL. */
static const struct writer_end *writer_ended(const struct writer *writer,
                                             uint64_t id)
{
    const struct writer_end *end = &writer->ends[id % WRITER_ENDS];
    return end->id == id ? end : NULL;
}

/*
 * A stack record of a request that ended, stamped at time_ns and standing
 * for value intervals up to then: the weight it keeps, of the intervals
 * that fall before the end (0: drop it). A thread that worked on the
 * request keeps it current until it touches another one (a pool thread
 * that read a request's body, then waited for work), and its ticks after
 * the end are not the request's.
 */
static uint64_t writer_clip_to_end(const struct rp_record *record,
                                   uint64_t end_ns)
{
    uint64_t interval_ns = rp_process.config.interval_ns;
    uint64_t after = (record->time_ns - end_ns + interval_ns - 1) / interval_ns;
    return record->value > after ? record->value - after : 0;
}

/*
 * The thread's ring showed a sample of a request after that request's end:
 * the thread still has it current. It no longer does, so its timer stops
 * after two more ticks (rp_thread_idle_tick_from_handler) instead of
 * sampling an idle thread for a request long gone. Only if it still holds
 * that request: the thread may have switched meanwhile.
 */
static void writer_forget_ended(struct rp_thread *thread, uint64_t request_id)
{
    uint64_t expected = request_id;
    rp_atomic_cas_relaxed(&thread->current_request, &expected, 0);
}

/*
 * Folds a stack record, standing for weight intervals, into request_id's
 * tree (under the frame shared, unless NULL), a CPU record into its time
 * or a WAIT record into its waits; a LOST record frees its samples. Once
 * its end is taken, a request's samples stamped after the end keep only
 * the intervals before it, and once it is finished its records open
 * nothing (its report is written or held).
 */
static void writer_fold(struct writer *writer, struct rp_thread *thread,
                        const struct rp_record *record, uint64_t request_id,
                        uint64_t weight, const struct rp_frame *shared)
{
    bool lost = record->kind == RP_RECORD_LOST;
    bool stack = record->kind == RP_RECORD_STACK || record->kind == RP_RECORD_DEFERRED;
    uint64_t time_ns = record->time_ns;
    const struct writer_end *end =
        request_id != 0 ? writer_ended(writer, request_id) : NULL;
    if (end != NULL && stack && time_ns > end->end_ns) {
        writer_forget_ended(thread, request_id);
        uint64_t kept = writer_clip_to_end(record, end->end_ns);
        weight = weight < kept ? weight : kept;
        time_ns = end->end_ns;
    }
    struct writer_request *request =
        request_id == 0 || (stack && weight == 0)
            ? NULL
            : writer_find(writer, request_id, !lost && (end == NULL || !end->finished));
    if (request != NULL && lost) {
        /* Its end was not queued: nothing will report it. */
        writer_unlink(writer, request);
        writer_request_done(writer, request);
    } else if (request != NULL) {
        request->last_round = writer->round;
        request->samples_dropped += record->dropped;
        if (stack) {
            writer_add_stack(writer, request, record, weight, time_ns, shared);
        } else if (rp_peer_wait_is_record(record)) {
            writer_add_wait(request, record);
        } else {
            request->cpu_ns += record->value;
            request->cpu_measured = true;
        }
    }
}

/* Whose a resolved stretch's samples are (writer_take_deferred): one
 * request's, or shared among several. */
struct writer_resolution {
    struct writer *writer;
    struct rp_thread *thread;
    uint64_t requests[RP_OPEN_MAX + 1];
    unsigned count; /* 0: nobody's */
};

/* The node shared samples go under, in each of the count requests that
 * share them: "[shared: N requests]" (rp_shared_frame_name). */
static const struct rp_frame *writer_shared_frame(unsigned count)
{
    static char names[RP_OPEN_MAX + 2][RP_SHARED_FRAME_NAME_MAX];
    static struct rp_frame frames[RP_OPEN_MAX + 2];
    if (frames[count].function == NULL)
        frames[count].function = rp_shared_frame_name(names[count], count);
    return &frames[count];
}

/*
 * A deferred sample of weight w shared among N requests: each gets w / N
 * whole intervals, and the remainder goes round, one each, from a cursor
 * that moves on, so that many samples split evenly and their sum stays w.
 * A request that had ended when the sample was taken has no part in it
 * (the work was for one of the others: a pool's next job, after the
 * request whose job was done was answered); with one left, the sample is
 * its own. The drains know every end stamped before a RESOLVED record
 * (writer_drain_thread).
 */
static void writer_take_deferred(const struct rp_record *record, void *context)
{
    struct writer_resolution *resolution = context;
    struct writer *writer = resolution->writer;
    uint64_t members[RP_OPEN_MAX + 1];
    unsigned count = 0;
    for (unsigned i = 0; i < resolution->count; i++) {
        uint64_t id = resolution->requests[i];
        const struct writer_end *end = writer_ended(writer, id);
        if (resolution->count == 1 || end == NULL || end->end_ns >= record->time_ns)
            members[count++] = id;
    }
    if (count == 0)
        return; /* nobody's: dropped */
    if (count == 1) {
        writer_fold(writer, resolution->thread, record, members[0], record->value, NULL);
        return;
    }
    const struct rp_frame *shared = writer_shared_frame(count);
    uint64_t each = record->value / count, remainder = record->value % count;
    for (unsigned i = 0; i < count; i++) {
        unsigned member = (writer->share_cursor + i) % count;
        uint64_t weight = each + (i < remainder ? 1 : 0);
        if (weight > 0)
            writer_fold(writer, resolution->thread, record, members[member], weight, shared);
    }
    writer->share_cursor = (writer->share_cursor + (unsigned)remainder) % count;
}

/* Reads a RESOLVED record: the requests its stretch's samples go to. */
static void writer_resolution_of(struct writer_resolution *resolution,
                                 const struct rp_record *record)
{
    resolution->count = 0;
    for (unsigned i = 0; i < record->frame_count && i < RP_OPEN_MAX; i++)
        if (record->frames[i] != NULL) /* a slot the thread freed */
            resolution->requests[resolution->count++] = (uint64_t)(uintptr_t)record->frames[i];
    uint64_t named = record->request_id;
    for (unsigned i = 0; i < resolution->count && named != 0; i++)
        if (resolution->requests[i] == named)
            named = 0;
    if (named != 0)
        resolution->requests[resolution->count++] = named;
}

static void writer_drain_thread(struct rp_thread *thread, void *context)
{
    struct writer *writer = context;
    const struct rp_record *record;
    unsigned drained = 0;
    while ((record = rp_ring_peek(&thread->ring)) != NULL) {
        /* A drain takes long (symbols are read as stacks come): a sample
         * taken meanwhile may be of a request that ended after the batch
         * was taken, whose end the writer does not know yet. It waits for
         * the next drain, and so do the records after it. So does a
         * stretch's resolution, whose samples are shared among requests
         * by their ends (writer_take_deferred). */
        if ((record->kind == RP_RECORD_STACK || record->kind == RP_RECORD_RESOLVED) &&
            record->time_ns > writer->horizon_ns)
            break;
        if (record->kind == RP_RECORD_DEFERRED) {
            /* Samples of a stretch whose end did not come are dropped:
             * never given to a later stretch's request. */
            (void)rp_stretch_hold_add(&thread->hold, record);
        } else if (record->kind == RP_RECORD_RESOLVED) {
            struct writer_resolution resolution = {.writer = writer, .thread = thread};
            writer_resolution_of(&resolution, record);
            uint64_t dropped = rp_stretch_hold_resolve(&thread->hold, record->value,
                                                       writer_take_deferred, &resolution);
            struct writer_request *request =
                resolution.count == 1 && dropped != 0
                    ? writer_find(writer, resolution.requests[0], false)
                    : NULL;
            if (request != NULL)
                request->samples_dropped += dropped;
        } else {
            writer_fold(writer, thread, record, record->request_id, record->value, NULL);
        }
        drained += record->size;
        rp_ring_pop(&thread->ring);
        writer->records_seen++;
    }
    if (drained > writer->fullest_ring)
        writer->fullest_ring = drained;
}

/* Folds every sample recorded so far into its request's tree. */
static void writer_drain(struct writer *writer)
{
    rp_thread_visit_all(writer_drain_thread, writer);
    writer->reports_since_drain = 0;
}

/* The index line of a finished request; file is left for the caller.
 * Sets the writer's shown_path, which the line points to. */
static struct rp_index_line writer_index_line(struct writer *writer,
                                              const struct rp_finished *finished,
                                              const struct writer_request *samples)
{
    if (rp_process.config.redact_query) {
        writer->shown_path_length = rp_path_redact_query(
            finished->path, finished->path_length, writer->shown_path);
    } else {
        writer->shown_path_length = finished->path_length;
        memcpy(writer->shown_path, finished->path, finished->path_length + 1);
    }
    return (struct rp_index_line){
        .start_unix_us = writer_unix_us(finished->start_ns),
        .pid = writer->pid,
        .method = finished->method,
        .path = writer->shown_path,
        .path_length = writer->shown_path_length,
        .status = finished->status,
        .duration_ns = finished->end_ns - finished->start_ns,
        .cpu_ns = finished->final_cpu_ns + (samples != NULL ? samples->cpu_ns : 0),
        .cpu_measured = finished->final_cpu_measured ||
                        (samples != NULL && samples->cpu_measured),
        .samples = samples != NULL ? rp_calltree_root(samples->tree)->total : 0,
        .shared_samples = samples != NULL ? samples->shared_samples : 0,
        .wait_ns = samples != NULL && samples->waits != NULL
                       ? rp_peer_waits_total_ns(samples->waits)
                       : 0,
    };
}

/* A request that gets no report files: its index line says why. */
static void writer_index_only(struct writer *writer,
                              const struct rp_finished *finished,
                              struct writer_request *samples, const char *why)
{
    struct rp_index_line line = writer_index_line(writer, finished, samples);
    line.file = why;
    rp_report_files_index_only(writer->files, &line);
    writer_request_done(writer, samples);
}

/* Gives the tree what the symbolizer knows of each object its frames
 * name (build ID, executable segment), for the exports that read the
 * objects again. */
static void writer_add_objects(struct writer *writer, struct rp_calltree *tree)
{
    const char *last = NULL;
    const struct rp_frame *frame;
    for (uint32_t id = 0; (frame = rp_calltree_frame(tree, id)) != NULL; id++) {
        /* Frames of one object mostly come together. */
        if (frame->object == NULL ||
            (last != NULL && strcmp(frame->object, last) == 0))
            continue;
        last = frame->object;
        const struct rp_object *object =
            rp_symbolizer_object(writer->symbolizer, frame->object);
        if (object != NULL)
            (void)rp_calltree_add_object_lasting(tree, object);
    }
}

/* Writes the request's report files and its index line. */
static void writer_report(struct writer *writer, const struct rp_finished *finished,
                          struct writer_request *samples)
{
    struct rp_index_line line = writer_index_line(writer, finished, samples);
    struct rp_report report;
    memset(&report, 0, sizeof report);
    memcpy(report.method, finished->method, sizeof report.method);
    memcpy(report.path, line.path, line.path_length + 1);
    report.status = finished->status;
    report.start_unix_us = line.start_unix_us;
    report.duration_ms = (double)line.duration_ns / 1e6;
    report.cpu_ms = (double)line.cpu_ns / 1e6;
    report.cpu_measured = line.cpu_measured;
    report.request_bytes = finished->request_bytes;
    report.response_bytes = finished->response_bytes;
    report.interval_ms = (double)rp_process.config.interval_ns / 1e6;
    report.samples = line.samples;
    report.shared_samples = line.shared_samples;
    report.pid = writer->pid;
    memcpy(report.program, writer->program, sizeof report.program);
    snprintf(report.reqprof_version, sizeof report.reqprof_version, "%s",
             rp_version);
    report.tree = writer->empty_tree;
    if (samples != NULL) {
        if (samples->waits != NULL)
            rp_peer_waits_to_report(samples->waits, rp_process.config.redact_query, &report);
        report.tree = samples->tree;
    }
    /* Every sample says whether it ran, even in a tree that has none. */
    rp_calltree_set_cpu_known(report.tree);
    if (samples != NULL) {
        report.samples_dropped = samples->samples_dropped;
        rp_calltree_timeline_rebase(report.tree, finished->start_ns);
        rp_calltree_sort(report.tree);
        writer_add_objects(writer, report.tree);
    }
    rp_report_files_write(writer->files, &report, &line, finished->id);
    writer_request_done(writer, samples);
    if (++writer->reports_since_drain >= WRITER_REPORTS_PER_DRAIN)
        writer_drain(writer);
}

/* A held request from the spares or a new one, holding a copy of
 * finished; NULL when out of memory. */
static struct writer_held *writer_hold(struct writer *writer,
                                       const struct rp_finished *finished,
                                       struct writer_request *samples)
{
    struct writer_held *held = writer->spare_held;
    if (held != NULL)
        writer->spare_held = held->next_spare;
    else if ((held = rp_heap_malloc(sizeof *held)) == NULL)
        return NULL;
    memcpy(&held->finished, finished,
           offsetof(struct rp_finished, path) + finished->path_length + 1);
    held->samples = samples;
    return held;
}

static void writer_unhold(struct writer *writer, struct writer_held *held)
{
    held->next_spare = writer->spare_held;
    writer->spare_held = held;
}

/* Says, at most once a minute, how many requests the budget skipped. */
static void writer_say_skipped(struct writer *writer, uint64_t now_ns)
{
    if (writer->skipped_unsaid == 0 ||
        (writer->skipped_said_ns != 0 &&
         now_ns - writer->skipped_said_ns < WRITER_SKIPPED_SAY_NS))
        return;
    rp_log("%llu request%s in the last %llu s got no report file: more than "
           "REQPROF_MAX_REPORTS=%u a second ended, and the slowest of each "
           "second got theirs (index.tsv lists every request; "
           "REQPROF_MAX_REPORTS=0 lifts the limit)",
           (unsigned long long)writer->skipped_unsaid,
           writer->skipped_unsaid == 1 ? "" : "s",
           (unsigned long long)((now_ns - writer->skipped_since_ns) /
                                    RP_NS_PER_SECOND + 1),
           rp_process.config.max_reports);
    writer->skipped_unsaid = 0;
    writer->skipped_said_ns = now_ns;
}

static void writer_skip(struct writer *writer, struct writer_held *held,
                        uint64_t now_ns)
{
    writer_index_only(writer, &held->finished, held->samples,
                      RP_INDEX_NO_FILE_OVER_MAX_REPORTS);
    writer_unhold(writer, held);
    if (writer->skipped_unsaid++ == 0)
        writer->skipped_since_ns = now_ns;
    rp_atomic_fetch_add_relaxed(&writer_skipped_total, 1);
}

/* Closes the budget's window: the requests it held get their reports. */
static void writer_close_window(struct writer *writer, uint64_t now_ns)
{
    struct writer_held *held;
    rp_report_budget_close(&writer->budget);
    while ((held = rp_report_budget_take(&writer->budget)) != NULL) {
        writer_report(writer, &held->finished, held->samples);
        writer_unhold(writer, held);
    }
    writer->window_end_ns = 0;
    writer_say_skipped(writer, now_ns);
}

/* Offers a request to the budget's window, which may skip it or one it
 * held before. */
static void writer_offer(struct writer *writer, const struct rp_finished *finished,
                         struct writer_request *samples, uint64_t now_ns)
{
    struct writer_held *held = writer_hold(writer, finished, samples);
    if (held == NULL) {
        /* No memory to hold it: report it rather than lose it. */
        writer_report(writer, finished, samples);
        return;
    }
    if (writer->window_end_ns == 0)
        writer->window_end_ns = now_ns - now_ns % WRITER_WINDOW_NS + WRITER_WINDOW_NS;
    struct writer_held *loser = rp_report_budget_offer(
        &writer->budget, finished->end_ns - finished->start_ns, held);
    if (loser != NULL)
        writer_skip(writer, loser, now_ns);
}

/* Gives a finished request what it gets: see the top of this file. */
static void writer_finish(struct writer *writer, const struct rp_finished *finished,
                          uint64_t now_ns)
{
    struct writer_request *samples = writer_find(writer, finished->id, false);
    if (samples != NULL)
        writer_unlink(writer, samples);
    struct writer_end *end = &writer->ends[finished->id % WRITER_ENDS];
    if (end->id == finished->id)
        end->finished = true;
    if (finished->end_ns - finished->start_ns < rp_process.config.min_duration_ns)
        writer_index_only(writer, finished, samples,
                          RP_INDEX_NO_FILE_UNDER_MIN_DURATION);
    else if (rp_process.config.max_reports == 0)
        writer_report(writer, finished, samples);
    else
        writer_offer(writer, finished, samples, now_ns);
}

/* Discards requests whose end will never come (see WRITER_STALE_ROUNDS). */
static void writer_discard_stale(struct writer *writer)
{
    for (size_t i = 0; i < WRITER_BUCKETS; i++) {
        struct writer_request **link = &writer->buckets[i];
        while (*link != NULL) {
            struct writer_request *request = *link;
            if (writer->round - request->last_round < WRITER_STALE_ROUNDS) {
                link = &request->next;
                continue;
            }
            *link = request->next;
            writer->open_count--;
            writer_request_done(writer, request);
        }
    }
}

/* Keeps finished's end for the drains from now on (writer_drain_thread),
 * which must take every sample stamped up to it. */
static void writer_remember_end(struct writer *writer,
                                const struct rp_finished *finished)
{
    writer->ends[finished->id % WRITER_ENDS] =
        (struct writer_end){finished->id, finished->end_ns, false};
    if (finished->end_ns > writer->horizon_ns)
        writer->horizon_ns = finished->end_ns;
}

/* Takes up to WRITER_BATCH finished requests; returns how many. */
static size_t writer_take_batch(const struct rp_finished **batch)
{
    size_t count = 0;
    while (count < WRITER_BATCH && (batch[count] = rp_finish_queue_take()) != NULL)
        count++;
    return count;
}

/* One round; returns whether there was anything to do at all. */
static bool writer_round(struct writer *writer)
{
    static const struct rp_finished *batch[WRITER_BATCH];
    size_t taken = 0, count;
    writer->round++;
    writer->records_seen = 0;
    writer->fullest_ring = 0;
    do {
        writer->horizon_ns = writer_now_ns();
        count = writer_take_batch(batch);
        for (size_t i = 0; i < count; i++)
            writer_remember_end(writer, batch[i]);
        writer_drain(writer);
        uint64_t now_ns = writer_now_ns();
        for (size_t i = 0; i < count; i++)
            writer_finish(writer, batch[i], now_ns);
        rp_finish_queue_release();
        taken += count;
        bool flushing = rp_atomic_load_acquire(&writer_flushing);
        if (writer->window_end_ns != 0 && (now_ns >= writer->window_end_ns || flushing))
            writer_close_window(writer, now_ns);
        /* A batch's lines at a time: while the server finishes requests
         * as fast as they are taken, a round goes on, and its lines held
         * to its end were seen to take 16 MiB, kept as the buffer's
         * capacity. */
        rp_report_files_flush(writer->files);
    } while (count == WRITER_BATCH);
    if (writer->budget.count == 0)
        rp_atomic_store_release(&writer_done, rp_finish_queue_released());
    if (writer->round % 512 == 0)
        writer_discard_stale(writer);
    return taken > 0 || writer->records_seen > 0 || writer->open_count > 0 ||
           writer->budget.count > 0;
}

/* How long to nap after a round that began round_ns after the one before
 * (see WRITER_NAP_MAX_NS). */
static uint64_t writer_nap_ns(const struct writer *writer, uint64_t round_ns)
{
    uint64_t nap_ns = rp_process.config.interval_ns * RP_RING_RECORDS_MIN / 2;
    if (nap_ns > WRITER_NAP_MAX_NS)
        nap_ns = WRITER_NAP_MAX_NS;
    if (writer->fullest_ring > RP_RING_BYTES / 4) {
        uint64_t allowed_ns = round_ns * (RP_RING_BYTES / 4) / writer->fullest_ring;
        if (allowed_ns < nap_ns)
            nap_ns = allowed_ns;
    }
    return nap_ns > WRITER_NAP_MIN_NS ? nap_ns : WRITER_NAP_MIN_NS;
}

/*
 * Sleeps until the timeout or a wake-up. The writer says how it sleeps
 * first, then looks once more for what should wake it: a server thread
 * either sees the state and wakes it, or did its part (a notify, a push)
 * before, and the look finds it.
 */
static void writer_sleep(enum writer_sleep how, uint64_t timeout_ns,
                         uint32_t events_seen)
{
    struct timespec timeout = rp_ns_to_timespec(timeout_ns);
    rp_atomic_store_seq_cst(&writer_sleep_state, how);
    bool wanted = how == WRITER_IDLE
                      ? rp_atomic_load_seq_cst(&writer_events) != events_seen
                      : rp_finish_queue_backlog() >= WRITER_WAKE_BACKLOG;
    if (!wanted)
        RP_REAL(syscall)(SYS_futex, &writer_sleep_state, FUTEX_WAIT_PRIVATE, how,
                         &timeout, NULL, 0);
    rp_atomic_store_seq_cst(&writer_sleep_state, WRITER_AWAKE);
}

/* Wakes the writer if it sleeps as it did when state was read. */
static void writer_wake(uint32_t state)
{
    if (state != WRITER_AWAKE &&
        rp_atomic_cas_seq_cst(&writer_sleep_state, &state, WRITER_AWAKE))
        RP_REAL(syscall)(SYS_futex, &writer_sleep_state, FUTEX_WAKE_PRIVATE, 1,
                         NULL, NULL, 0);
}

/* Said by the writer, which only a process that serves requests runs:
 * why its reports have no samples (the server took reqprof's signal;
 * interpose_process.c). */
static void writer_say_sampling_stopped(void)
{
    static bool said;
    if (!said && rp_thread_sampling_stopped())
        rp_log_once(&said,
                    "the server installs its own handler for signal %d (%s), "
                    "which reqprof samples with: sampling stops in this "
                    "process (pick another signal with REQPROF_SIGNAL, e.g. "
                    "SIGRTMIN+4)",
                    rp_process.config.signal, strsignal(rp_process.config.signal));
}

/* The writer's state, from the heap in use; NULL when out of memory
 * (what it made is left: the writer does not start). */
static struct writer *writer_new(void)
{
    struct writer *writer = rp_heap_calloc(1, sizeof *writer);
    if (writer == NULL)
        return NULL;
    ssize_t length = readlink("/proc/self/exe", writer->program,
                              sizeof writer->program - 1);
    writer->program[length > 0 ? length : 0] = '\0';
    writer->pid = getpid();
    writer->budget.limit = rp_process.config.max_reports;
    writer->symbolizer = rp_symbolizer_new();
    writer->files = rp_report_files_new(&rp_process.config);
    writer->empty_tree = rp_calltree_new();
    if (writer->symbolizer == NULL || writer->files == NULL ||
        writer->empty_tree == NULL)
        return NULL;
    return writer;
}

static void *writer_main(void *unused)
{
    rp_thread_is_internal = true;
    /* The server may setlocale() to one with a decimal comma: reports and
     * the index are written in the C locale whatever it chose. */
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_locale != (locale_t)0)
        uselocale(c_locale);
    /* The writer is the one thread that calls into the isolated libraries
     * (symbols, gzip): it is inside them whenever it is not asleep. It
     * allocates from their malloc too, from its first allocation on, and
     * trims it when it goes idle (heap.h). */
    rp_isolated_set_busy(true);
    rp_heap_isolate();
    struct writer *writer = writer_new();
    if (writer == NULL) {
        rp_log("out of memory starting the report writer: no reports");
        rp_isolated_set_busy(false);
        return NULL;
    }
    rp_atomic_store_release(&writer_running, writer);
    unsigned empty_rounds = 0;
    uint64_t round_start_ns = writer_now_ns();
    for (;;) {
        uint32_t events = rp_atomic_load_seq_cst(&writer_events);
        uint64_t previous_start_ns = round_start_ns;
        round_start_ns = writer_now_ns();
        empty_rounds = writer_round(writer) ? 0 : empty_rounds + 1;
        writer_say_sampling_stopped();
        bool idle = empty_rounds >= WRITER_IDLE_ROUNDS;
        /* Going idle: the trees freed since the last time go back to the
         * kernel, not to the server's arenas (heap.h). */
        if (empty_rounds == WRITER_IDLE_ROUNDS)
            rp_heap_trim();
        uint64_t sleep_ns = idle ? WRITER_IDLE_SLEEP_NS
                                 : writer_nap_ns(writer, round_start_ns -
                                                             previous_start_ns);
        /* A window closes on time: its reports wait for it. */
        if (writer->window_end_ns != 0) {
            uint64_t now_ns = writer_now_ns();
            uint64_t left_ns = writer->window_end_ns > now_ns
                                   ? writer->window_end_ns - now_ns : 0;
            if (left_ns < sleep_ns)
                sleep_ns = left_ns;
        }
        rp_isolated_set_busy(false);
        writer_sleep(idle ? WRITER_IDLE : WRITER_NAPPING, sleep_ns, events);
        rp_isolated_set_busy(true);
    }
    return NULL;
}

void rp_writer_start(void)
{
    if (rp_atomic_load_relaxed(&writer_started) ||
        rp_atomic_exchange_acq_rel(&writer_started, true))
        return;
    /* The writer must never take the server's signals, nor the sampling
     * signal: it starts with all of them blocked. */
    sigset_t all, previous;
    sigfillset(&all);
    RP_REAL(pthread_sigmask)(SIG_SETMASK, &all, &previous);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int error = pthread_create(&thread, &attributes, writer_main, NULL);
    pthread_attr_destroy(&attributes);
    RP_REAL(pthread_sigmask)(SIG_SETMASK, &previous, NULL);
    if (error != 0)
        rp_log_once(&writer_start_said,
                    "cannot start the report writer thread (%s): requests are "
                    "not profiled",
                    strerror(error));
    else
        pthread_setname_np(thread, "reqprof-writer");
}

void rp_writer_notify(void)
{
    rp_atomic_fetch_add_seq_cst(&writer_events, 1);
    uint32_t state = rp_atomic_load_seq_cst(&writer_sleep_state);
    if (state == WRITER_IDLE ||
        (state == WRITER_NAPPING && rp_finish_queue_backlog() >= WRITER_WAKE_BACKLOG))
        writer_wake(state);
}

void rp_writer_flush(unsigned timeout_ms)
{
    if (!rp_atomic_load_acquire(&writer_started))
        return;
    size_t target = rp_finish_queue_mark();
    rp_atomic_store_release(&writer_flushing, true);
    for (unsigned waited = 0; waited < timeout_ms; waited++) {
        if (rp_atomic_load_acquire(&writer_done) >= target)
            return;
        writer_wake(rp_atomic_load_seq_cst(&writer_sleep_state));
        struct timespec millisecond = {0, 1000000};
        RP_REAL(nanosleep)(&millisecond, NULL);
    }
}

uint64_t rp_writer_reports_skipped(void)
{
    return rp_atomic_load_relaxed(&writer_skipped_total);
}

void rp_writer_forget(void)
{
    struct writer *parents = rp_atomic_load_acquire(&writer_running);
    if (parents != NULL)
        rp_report_files_forget(parents->files);
    writer_running = NULL;
    writer_started = false;
    writer_sleep_state = WRITER_AWAKE;
    writer_flushing = false;
    writer_done = 0;
    writer_skipped_total = 0;
}
