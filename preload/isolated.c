/* reqprof's libraries in a namespace of their own; see isolated.h. */
#include "isolated.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <time.h>

#include "atomic.h"
#include "log.h"

struct rp_isolated_functions rp_isolated_functions;

/* What each library is, and what to tell the user when it is missing. */
static const struct {
    const char *soname;
    const char *without;  /* what reqprof does without it */
    const char *package;  /* Debian's package of it */
} isolated_libraries[RP_ISOLATED_LIBRARIES] = {
    [RP_ISOLATED_LIBDW] = {"libdw.so.1",
                           "reports name functions by their addresses",
                           "libdw1"},
    [RP_ISOLATED_ZLIB] = {"libz.so.1",
                          "text and JSON reports are not written (HTML "
                          "reports and index.tsv are)",
                          "zlib1g"},
    [RP_ISOLATED_DEMANGLER] = {"libstdc++.so.6",
                               "C++ and Rust functions keep their mangled "
                               "names",
                               "libstdc++6"},
};

/* The namespace, once a library went in; LM_ID_NEWLM before. */
static Lmid_t isolated_namespace = LM_ID_NEWLM;
static bool isolated_tried[RP_ISOLATED_LIBRARIES];
static bool isolated_loaded[RP_ISOLATED_LIBRARIES];
static bool isolated_said[RP_ISOLATED_LIBRARIES];
/* A thread is inside the libraries (rp_isolated_set_busy). */
static bool isolated_busy;
/*
 * Held while the dynamic loader works for reqprof. Debian 12's glibc does
 * not take the loader's own lock around fork: a child forked in the
 * middle of another thread's dlopen may find it held forever and hang in
 * its first dlopen (3 children of 68 did, forked beside a thread making
 * ten namespaces of libdw; 50 of 117 beside dlopen and dlclose in a
 * loop). A fork waits for reqprof's load instead (rp_isolated_before_fork):
 * a few milliseconds, at most once or twice in a process's life.
 */
static pthread_mutex_t isolated_loading = PTHREAD_MUTEX_INITIALIZER;
/*
 * But never longer than this: the forking thread may hold the loader's
 * lock itself (a module's constructor that forks, inside the server's
 * dlopen), and the writer's dlmopen waits for it while holding
 * isolated_loading; waiting on would deadlock both (test:
 * test/fault/fork_constructor.c). Past it the fork goes on, as it would
 * without reqprof.
 */
#define ISOLATED_FORK_WAIT_S 1
/* This thread's fork holds isolated_loading (it may not, past the wait). */
static __thread bool isolated_fork_holds __attribute__((tls_model("initial-exec")));

/* Opens one library in the namespace (making it with the first) and takes
 * its functions. Returns false, and says why once, if it cannot. */
static bool isolated_open(enum rp_isolated_library library)
{
    const char *soname = isolated_libraries[library].soname;
    void *handle = dlmopen(isolated_namespace, soname, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    if (handle != NULL && isolated_namespace == LM_ID_NEWLM &&
        dlinfo(handle, RTLD_DI_LMID, &isolated_namespace) != 0)
        isolated_namespace = LM_ID_NEWLM;
#define RP_ISOLATED_RESOLVE(owner, name)                                     \
    if (handle != NULL && owner == library && missing == NULL &&            \
        (rp_isolated_functions.name =                                        \
             (__typeof__(name) *)dlsym(handle, #name)) == NULL)              \
        missing = #name;
    RP_ISOLATED_FUNCTIONS(RP_ISOLATED_RESOLVE)
#undef RP_ISOLATED_RESOLVE
    if (handle != NULL && missing == NULL)
        return true;
    /* A half-loaded library is not used; the namespace stays, and its
     * memory with it (a dlclose could run into what the failure left). */
    const char *reason = handle == NULL ? dlerror() : "no such function: ";
    /* glibc keeps static TLS for a dozen namespaces' libc; other
     * libraries the server loaded may have taken it. */
    bool static_tls = strstr(reason, "static TLS") != NULL;
    rp_log_once(&isolated_said[library],
                "cannot load %s in a namespace of its own (%s%s); the server "
                "runs on, but %s: %s%s",
                soname, reason, handle == NULL ? "" : missing,
                isolated_libraries[library].without,
                static_tls ? "start the server with GLIBC_TUNABLES="
                             "glibc.rtld.optional_static_tls=4096"
                           : "install ",
                static_tls ? "" : isolated_libraries[library].package);
    return false;
}

bool rp_isolated_load(enum rp_isolated_library library)
{
    if (!isolated_tried[library]) {
        pthread_mutex_lock(&isolated_loading);
        for (int each = 0; each <= (int)library; each++) {
            if (isolated_tried[each])
                continue;
            isolated_tried[each] = true;
            isolated_loaded[each] = isolated_open(each);
        }
        pthread_mutex_unlock(&isolated_loading);
    }
    return isolated_loaded[library];
}

void rp_isolated_set_busy(bool busy)
{
    rp_atomic_store_seq_cst(&isolated_busy, busy);
}

void rp_isolated_before_fork(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ISOLATED_FORK_WAIT_S;
    isolated_fork_holds = pthread_mutex_clocklock(&isolated_loading, CLOCK_MONOTONIC,
                                                  &deadline) == 0;
}

void rp_isolated_after_fork_in_parent(void)
{
    if (isolated_fork_holds)
        pthread_mutex_unlock(&isolated_loading);
}

void rp_isolated_after_fork_in_child(void)
{
    isolated_loading = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    if (!rp_atomic_load_seq_cst(&isolated_busy))
        return;
    /* The parent's namespace is left as it is, never entered again. */
    isolated_busy = false;
    memset(isolated_tried, 0, sizeof isolated_tried);
    isolated_namespace = LM_ID_NEWLM;
}
