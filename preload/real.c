/* Resolution of the real libc functions; see real.h. */
#include "real.h"

#include <dlfcn.h>

#include "atomic.h"

struct rp_real_functions rp_real;

#define RP_RESOLVE(name)                                                     \
    rp_atomic_store_release(&rp_real.name,                                   \
                            (__typeof__(rp_real.name))dlsym(RTLD_NEXT, #name))

static void *real_versioned(const char *name, const char *version)
{
    void *function = dlvsym(RTLD_NEXT, name, version);
    return function != NULL ? function : dlsym(RTLD_NEXT, name);
}

/* A function of several versions, by the one named: dlsym would give the
 * default, which is right too, but an old glibc's dlsym gave the oldest. */
#define RP_RESOLVE_VERSION(name, version)                                    \
    rp_atomic_store_release(&rp_real.name,                                   \
                            (__typeof__(rp_real.name))real_versioned(#name, version))

void rp_real_resolve(void)
{
#define RP_INTERPOSED(name, type, parameters) RP_RESOLVE(name);
#define RP_INTERPOSED_VERSION(name, version, type, parameters)                \
    RP_RESOLVE_VERSION(name, version);
#include "interposed.def"
}
