/*
 * The writer thread: reqprof's only thread. It drains the server threads'
 * sample rings, symbolizes, builds each finished request's call tree and
 * writes its report, so that none of that runs on a server thread.
 */
#ifndef REQPROF_WRITER_H
#define REQPROF_WRITER_H

#include <stdint.h>

/*
 * Starts the writer if this process has none yet (the first request that
 * begins calls it, in a fork child too). Failure is reported once on
 * stderr; requests are then not profiled.
 */
void rp_writer_start(void);

/*
 * A request began or ended (after rp_finish_queue_push): wakes the writer
 * if it sleeps idle, or if it naps while the finish queue fills. Never
 * blocks; costs a system call only then, not per request.
 */
void rp_writer_notify(void);

/*
 * Waits, at most timeout_ms, until every request finished so far has its
 * index line and reports written, those REQPROF_MAX_REPORTS holds until
 * the end of their second included: at exit, so a server's last requests
 * are not lost.
 */
void rp_writer_flush(unsigned timeout_ms);

/* Reports of the requests that ended just before exit are worth a short
 * wait; a writer that cannot finish in time loses them, the exit goes on. */
#define RP_WRITER_EXIT_FLUSH_MS 500

/* Requests that got no report file because of REQPROF_MAX_REPORTS. */
uint64_t rp_writer_reports_skipped(void);

/* In a fork child: the parent's writer thread does not exist here. */
void rp_writer_forget(void);

#endif
