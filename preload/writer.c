/*
 * The writer thread; see writer.h.
 *
 * Each round it takes the finished requests first and drains the rings
 * second, so every sample a server thread recorded before a request's end
 * is aggregated before that request's report is built. Samples are folded
 * into a per-request call tree as they arrive (symbolized through a cache),
 * so memory grows with distinct stacks, not with duration.
 */
#include "writer.h"

#include <linux/futex.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "finish_queue.h"
#include "log.h"
#include "process.h"
#include "real.h"
#include "report_files.h"
#include "symbolizer.h"
#include "thread.h"

/* Requests with samples but no end yet that the writer keeps; samples of
 * further requests are dropped until some end. */
#define WRITER_OPEN_MAX 8192
#define WRITER_BUCKETS 4096
/* Requests reported per round, at most. */
#define WRITER_BATCH 256
/* Rounds after which a request with samples but no end (its end was never
 * seen, or its samples came late) is discarded. */
#define WRITER_STALE_ROUNDS 6000
/* Longest sleep between rounds: rings hold RP_RING_SLOTS samples, so the
 * writer must come round well before a thread fills its ring. */
#define WRITER_ROUND_MAX_NS 20000000ull
/* Empty rounds after which the writer sleeps until a request begins or
 * ends, instead of polling an idle server. */
#define WRITER_IDLE_ROUNDS 50
#define WRITER_IDLE_SLEEP_NS 5000000000ull

/* What the writer knows of one request before it ends. */
struct writer_request {
    uint64_t id;
    struct rp_calltree *tree;
    uint64_t samples_dropped;
    uint64_t cpu_ns;
    bool cpu_measured; /* a CPU record came (cpu_ns is measured time) */
    uint64_t last_round; /* round of the last sample, for discarding */
    struct writer_request *next; /* bucket chain */
};

struct writer {
    struct writer_request *buckets[WRITER_BUCKETS];
    unsigned open_count;
    uint64_t round;
    struct rp_symbolizer *symbolizer;
    struct rp_report_files *files;
    uint64_t records_seen;                /* records drained this round */
    uint32_t frame_ids[RP_STACK_MAX + 1]; /* one stack, outermost first */
    char program[RP_REPORT_PROGRAM_MAX];
    int pid;
};

/* The running writer, for a fork child to close its descriptors. */
static struct writer *writer_running;

/* Bumped by rp_writer_notify; the idle writer sleeps on it with a futex. */
static uint32_t writer_wakeups;
/* Set while the writer is idle: only then does a notify cost a syscall. */
static uint32_t writer_idle;
static bool writer_started;
/* Requests taken off the finish queue and written (or given up on). */
static size_t writer_requests_done;
static bool writer_start_said;

static struct writer_request **writer_bucket(struct writer *writer, uint64_t id)
{
    return &writer->buckets[(id * 0x9e3779b97f4a7c15ull) >> 52 & (WRITER_BUCKETS - 1)];
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
    struct writer_request *request = calloc(1, sizeof *request);
    if (request == NULL)
        return NULL;
    request->tree = rp_calltree_new();
    if (request->tree == NULL) {
        free(request);
        return NULL;
    }
    request->id = id;
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

static void writer_discard(struct writer_request *request)
{
    rp_calltree_free(request->tree);
    free(request);
}

/* Folds one stack record into its request's tree. */
static void writer_add_stack(struct writer *writer, struct writer_request *request,
                             const struct rp_record *record)
{
    static const struct rp_frame truncated = {.function = "[truncated stack]"};
    size_t depth = 0;
    if (record->truncated)
        writer->frame_ids[depth++] = rp_calltree_intern_lasting(request->tree, &truncated);
    /* Innermost first in the record, outermost first in the tree. Only the
     * interrupted frame's address is exact; the others are return addresses.
     * A stack deeper than the tree takes loses its outermost frames, never
     * the leaf where the time is. */
    int outermost = record->frame_count - 1;
    int room = (int)(sizeof writer->frame_ids / sizeof writer->frame_ids[0] - depth);
    if (outermost - record->first_frame + 1 > room)
        outermost = record->first_frame + room - 1;
    for (int i = outermost; i >= record->first_frame; i--) {
        const struct rp_frame *frame = rp_symbolizer_lookup(
            writer->symbolizer, (uintptr_t)record->frames[i], i != record->first_frame);
        writer->frame_ids[depth++] = rp_calltree_intern_lasting(request->tree, frame);
    }
    if (rp_calltree_add_sample(request->tree, writer->frame_ids, depth,
                               record->value, record->time_ns) != 0)
        request->samples_dropped += record->value;
}

static void writer_drain_thread(struct rp_thread *thread, void *context)
{
    struct writer *writer = context;
    const struct rp_record *record;
    while ((record = rp_ring_peek(&thread->ring)) != NULL) {
        struct writer_request *request = writer_find(writer, record->request_id, true);
        if (request != NULL) {
            request->last_round = writer->round;
            request->samples_dropped += record->dropped;
            if (record->kind == RP_RECORD_CPU) {
                request->cpu_ns += record->value;
                request->cpu_measured = true;
            } else
                writer_add_stack(writer, request, record);
        }
        rp_ring_pop(&thread->ring);
        writer->records_seen++;
    }
}

static void writer_report(struct writer *writer, const struct rp_request *request)
{
    struct writer_request *samples = writer_find(writer, request->id, false);
    if (samples != NULL)
        writer_unlink(writer, samples);
    uint64_t duration_ns = request->end_ns - request->start_ns;
    struct rp_report report;
    memset(&report, 0, sizeof report);
    memcpy(report.method, request->method, sizeof report.method);
    memcpy(report.path, request->path, sizeof report.path);
    report.status = request->status;
    report.start_unix_us = request->start_unix_us;
    report.duration_ms = (double)duration_ns / 1e6;
    report.request_bytes = request->request_bytes;
    report.response_bytes = request->response_bytes;
    report.interval_ms = (double)rp_process.config.interval_ns / 1e6;
    report.pid = writer->pid;
    memcpy(report.program, writer->program, sizeof report.program);
    report.cpu_ms = (double)request->final_cpu.ns / 1e6;
    report.cpu_measured = request->final_cpu.measured;
    if (samples != NULL) {
        report.tree = samples->tree;
        report.cpu_ms += (double)samples->cpu_ns / 1e6;
        report.cpu_measured |= samples->cpu_measured;
        report.samples_dropped = samples->samples_dropped;
        report.samples = rp_calltree_root(report.tree)->total;
    }
    struct rp_index_line line = {
        .start_unix_us = request->start_unix_us,
        .pid = writer->pid,
        .method = request->method,
        .path = request->path,
        .path_length = strlen(request->path),
        .status = request->status,
        .duration_ns = duration_ns,
        .cpu_ns = request->final_cpu.ns + (samples != NULL ? samples->cpu_ns : 0),
        .cpu_measured = report.cpu_measured,
        .samples = report.samples,
        .file = RP_INDEX_NO_FILE_UNDER_MIN_DURATION,
    };
    if (duration_ns < rp_process.config.min_duration_ns) {
        rp_report_files_index_only(writer->files, &line);
    } else if (report.tree != NULL || (report.tree = rp_calltree_new()) != NULL) {
        rp_calltree_timeline_rebase(report.tree, request->start_ns);
        rp_calltree_sort(report.tree);
        rp_report_files_write(writer->files, &report, &line, request->id);
    }
    rp_calltree_free(report.tree);
    free(samples);
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
            writer_discard(request);
        }
    }
}

/*
 * Sleeps until the timeout or a notify after seen_wakeups was read. An idle
 * writer announces itself first; a notify either sees that and wakes it,
 * or came before and changed the futex word, so the wait returns at once.
 */
static void writer_sleep(uint64_t timeout_ns, bool idle, uint32_t seen_wakeups)
{
    struct timespec timeout = {(time_t)(timeout_ns / 1000000000u),
                               (long)(timeout_ns % 1000000000u)};
    if (idle)
        __atomic_store_n(&writer_idle, 1, __ATOMIC_SEQ_CST);
    RP_REAL(syscall)(SYS_futex, &writer_wakeups, FUTEX_WAIT_PRIVATE, seen_wakeups,
            &timeout, NULL, 0);
    if (idle)
        __atomic_store_n(&writer_idle, 0, __ATOMIC_SEQ_CST);
}

/* One round; returns how many requests it reported, or -1 if it found
 * nothing at all to do. */
static int writer_round(struct writer *writer)
{
    static struct rp_request finished[WRITER_BATCH];
    size_t count = 0;
    while (count < WRITER_BATCH && rp_finish_queue_pop(&finished[count]))
        count++;
    writer->round++;
    writer->records_seen = 0;
    rp_thread_visit_all(writer_drain_thread, writer);
    for (size_t i = 0; i < count; i++)
        writer_report(writer, &finished[i]);
    rp_report_files_flush(writer->files);
    __atomic_fetch_add(&writer_requests_done, count, __ATOMIC_RELEASE);
    if (writer->round % 512 == 0)
        writer_discard_stale(writer);
    bool busy = count > 0 || writer->records_seen > 0 || writer->open_count > 0;
    return busy ? (int)count : -1;
}

static void *writer_main(void *unused)
{
    rp_thread_is_internal = true;
    /* The server may setlocale() to one with a decimal comma: reports and
     * the index are written in the C locale whatever it chose. */
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_locale != (locale_t)0)
        uselocale(c_locale);
    struct writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL)
        return NULL;
    ssize_t length = readlink("/proc/self/exe", writer->program,
                              sizeof writer->program - 1);
    writer->program[length > 0 ? length : 0] = '\0';
    writer->pid = getpid();
    writer->symbolizer = rp_symbolizer_new();
    writer->files = rp_report_files_new(&rp_process.config);
    if (writer->symbolizer == NULL || writer->files == NULL) {
        rp_log("out of memory starting the report writer: no reports");
        return NULL;
    }
    __atomic_store_n(&writer_running, writer, __ATOMIC_RELEASE);
    /* Wake often enough that no ring fills between two rounds. */
    uint64_t round_ns = rp_process.config.interval_ns * RP_RING_SLOTS / 4;
    if (round_ns > WRITER_ROUND_MAX_NS)
        round_ns = WRITER_ROUND_MAX_NS;
    unsigned empty_rounds = 0;
    for (;;) {
        uint32_t seen = __atomic_load_n(&writer_wakeups, __ATOMIC_SEQ_CST);
        int reported = writer_round(writer);
        /* A full batch: more requests are waiting in the finish queue, and
         * a server faster than one batch per round would fill it. */
        if (reported == WRITER_BATCH)
            continue;
        empty_rounds = reported >= 0 ? 0 : empty_rounds + 1;
        bool idle = empty_rounds >= WRITER_IDLE_ROUNDS;
        writer_sleep(idle ? WRITER_IDLE_SLEEP_NS : round_ns, idle, seen);
    }
    return NULL;
}

void rp_writer_start(void)
{
    if (__atomic_load_n(&writer_started, __ATOMIC_RELAXED) ||
        __atomic_exchange_n(&writer_started, true, __ATOMIC_ACQ_REL))
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
    __atomic_fetch_add(&writer_wakeups, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&writer_idle, __ATOMIC_SEQ_CST))
        RP_REAL(syscall)(SYS_futex, &writer_wakeups, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void rp_writer_flush(unsigned timeout_ms)
{
    if (!__atomic_load_n(&writer_started, __ATOMIC_ACQUIRE))
        return;
    size_t target = rp_finish_queue_pushed();
    for (unsigned waited = 0; waited < timeout_ms; waited++) {
        if (__atomic_load_n(&writer_requests_done, __ATOMIC_ACQUIRE) >= target)
            return;
        rp_writer_notify();
        struct timespec millisecond = {0, 1000000};
        RP_REAL(nanosleep)(&millisecond, NULL);
    }
}

void rp_writer_forget(void)
{
    struct writer *parents = __atomic_load_n(&writer_running, __ATOMIC_ACQUIRE);
    if (parents != NULL)
        rp_report_files_forget(parents->files);
    writer_running = NULL;
    writer_started = false;
    writer_requests_done = 0;
}
