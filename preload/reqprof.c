/*
 * Loading and unloading of libreqprof.so inside the server process.
 *
 * The constructor runs before the server's main: it reads the settings,
 * loads the unwinder and installs the sampling signal handler. Any failure
 * is one line on stderr and reqprof switching itself off; the server then
 * runs exactly as without it. Threads, timers and the writer are made
 * lazily, when the first request begins, so a process that never serves
 * HTTP (a shell, a helper the server forks, the parent of a server that
 * forks a child per connection) only pays for this.
 */
#include <pthread.h>
#include <stdio.h>

#include "config.h"
#include "conn_table.h"
#include "connection.h"
#include "follow.h"
#include "peer_name.h"
#include "handoff.h"
#include "interpose.h"
#include "finish_queue.h"
#include "isolated.h"
#include "log.h"
#include "process.h"
#include "real.h"
#include "report_directory.h"
#include "sampler.h"
#include "start_line.h"
#include "thread.h"
#include "unwind.h"
#include "writer.h"

struct rp_process rp_process;

/* The connection free list must not be copied locked, nor the loader
 * copied in the middle of loading reqprof's libraries (isolated.h). */
static void reqprof_before_fork(void)
{
    rp_isolated_before_fork();
    rp_conn_table_before_fork();
}

static void reqprof_after_fork_in_parent(void)
{
    rp_conn_table_after_fork(false);
    rp_isolated_after_fork_in_parent();
}

/*
 * A fork child has only the forking thread and none of the parent's
 * timers, writer or requests: it forgets them, and starts over lazily, as
 * at load: its thread state, timer and writer are made only when it takes
 * up a request, so a child that serves none (a CGI's shell, a helper)
 * costs no more than this. Async-signal-safe (the child of a threaded
 * parent may call nothing else before exec), and it writes only to what
 * it forgets: every page written is a copy-on-write fault, in every child.
 * No tick of reqprof's can come here: timers are not inherited.
 */
static void reqprof_after_fork_in_child(void)
{
    rp_thread_forget_all();
    rp_interpose_vfork_pid = 0;
    rp_conn_table_after_fork(true);
    rp_connection_forget_counts();
    rp_follow_forget_owners();
    rp_peer_name_after_fork();
    rp_handoff_forget_all();
    rp_finish_queue_init();
    rp_writer_forget();
    rp_isolated_after_fork_in_child();
}

__attribute__((constructor)) static void reqprof_load(void)
{
    char error[1024];
    rp_real_resolve();
    rp_finish_queue_init();
    /* A misspelt setting is said when the server starts serving, but stops
     * nothing: the others apply. */
    if (rp_config_unknown_in_environment(error, sizeof error))
        rp_start_line_hold(error);
    if (rp_config_load(&rp_process.config, error, sizeof error) != 0 ||
        rp_unwind_load(error, sizeof error) != 0 ||
        rp_thread_init(error, sizeof error) != 0 ||
        rp_sampler_install(error, sizeof error) != 0) {
        rp_log("%s; reqprof is off for this process", error);
        return;
    }
    rp_report_directory_note(rp_process.config.dir);
    pthread_atfork(reqprof_before_fork, reqprof_after_fork_in_parent,
                   reqprof_after_fork_in_child);
    rp_process.enabled = true;
}

/* A vfork child that calls exit (instead of _exit) must not wait for its
 * parent's writer, nor speak for it. */
__attribute__((destructor)) static void reqprof_unload(void)
{
    if (!rp_interpose_active())
        return;
    rp_writer_flush(RP_WRITER_EXIT_FLUSH_MS);
    uint64_t dropped = rp_connection_reports_dropped();
    if (dropped > 0)
        rp_log("%llu requests got no report and no index line because the "
               "writer fell behind",
               (unsigned long long)dropped);
    uint64_t unfollowed = rp_connection_requests_unfollowed();
    if (unfollowed > 0)
        rp_log("%llu pipelined requests in all got no index line, past "
               "the room reqprof keeps for requests read ahead",
               (unsigned long long)unfollowed);
    uint64_t skipped = rp_writer_reports_skipped();
    if (skipped > 0)
        rp_log("%llu request%s in all got no report file, over "
               "REQPROF_MAX_REPORTS=%u a second (index.tsv lists them)",
               (unsigned long long)skipped, skipped == 1 ? "" : "s",
               rp_process.config.max_reports);
}
