/* Readable function names; see demangle.h. */
#include "demangle.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "heap.h"
#include "isolated.h"

/* Rust's legacy hash suffix: "::h" and 16 hex digits. */
#define DEMANGLE_RUST_HASH_LENGTH (3 + 16)

/* Whether name (length bytes) ends with Rust's legacy hash. */
static bool demangle_ends_with_rust_hash(const char *name, size_t length)
{
    if (length <= DEMANGLE_RUST_HASH_LENGTH)
        return false;
    const char *suffix = name + length - DEMANGLE_RUST_HASH_LENGTH;
    if (strncmp(suffix, "::h", 3) != 0)
        return false;
    for (const char *digit = suffix + 3; *digit != '\0'; digit++)
        if (!isxdigit((unsigned char)*digit))
            return false;
    return true;
}

char *rp_demangle(const char *symbol)
{
    /* The demangler's strings come from the namespace's malloc, freed by
     * its free, which comes with libdw (isolated.h). */
    if (strncmp(symbol, "_Z", 2) != 0 || !rp_isolated_load(RP_ISOLATED_LIBDW) ||
        !rp_isolated_load(RP_ISOLATED_DEMANGLER))
        return NULL;
    int status = -1;
    char *demangled = RP_ISOLATED(__cxa_demangle)(symbol, NULL, NULL, &status);
    if (demangled == NULL)
        return NULL;
    char *readable = NULL;
    if (status == 0) {
        size_t length = strlen(demangled);
        if (demangle_ends_with_rust_hash(demangled, length))
            length -= DEMANGLE_RUST_HASH_LENGTH;
        readable = rp_heap_malloc(length + 1);
        if (readable != NULL) {
            memcpy(readable, demangled, length);
            readable[length] = '\0';
        }
    }
    RP_ISOLATED(free)(demangled);
    return readable;
}
