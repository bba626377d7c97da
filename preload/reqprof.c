/*
 * Loading and unloading of libreqprof.so inside the server process.
 *
 * The constructor runs before the server's main: it reads the settings,
 * loads the unwinder and installs the sampling signal handler. Any failure
 * is one line on stderr and reqprof switching itself off; the server then
 * runs exactly as without it. Threads, timers and the writer are made
 * lazily, when the first connection is accepted, so a process that never
 * serves HTTP (a shell, a helper the server forks) only pays for this.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "finish_queue.h"
#include "log.h"
#include "process.h"
#include "real.h"
#include "sampler.h"
#include "thread.h"
#include "unwind.h"
#include "writer.h"

struct rp_process rp_process;

/* A fork child has only the forking thread and none of the parent's
 * timers or writer: start over, lazily, as at load. */
static void reqprof_after_fork_in_child(void)
{
    rp_thread_forget_all();
    rp_finish_queue_init();
    rp_writer_forget();
}

/* Reports of the requests that ended just before exit are worth a short
 * wait; a writer that cannot finish in time loses them, the exit goes on. */
#define REQPROF_EXIT_FLUSH_MS 500

__attribute__((constructor)) static void reqprof_load(void)
{
    char error[1024];
    rp_real_resolve();
    rp_finish_queue_init();
    rp_process.sample_signal = SIGPROF;
    if (rp_config_load(&rp_process.config, error, sizeof error) != 0 ||
        rp_unwind_load(error, sizeof error) != 0 ||
        rp_thread_init(error, sizeof error) != 0 ||
        rp_sampler_install(error, sizeof error) != 0) {
        rp_log("%s; reqprof is off for this process", error);
        return;
    }
    pthread_atfork(NULL, NULL, reqprof_after_fork_in_child);
    rp_process.enabled = true;
}

__attribute__((destructor)) static void reqprof_unload(void)
{
    if (rp_process.enabled)
        rp_writer_flush(REQPROF_EXIT_FLUSH_MS);
}
