/*
 * Which frames belong to the system's shared libraries rather than to the
 * server. Views fold runs of such frames (libc's thread start, libstdc++'s
 * allocator, the vDSO behind clock_gettime) so the server's own functions
 * stand out, as pyinstrument folds the standard library and site-packages.
 *
 * A report names each frame's object by file name only, so the rule goes
 * by name: "lib*.so*" and the dynamic loader ("ld-*.so*", "ld.so*"), and
 * the objects the kernel maps ("[vdso]"). The program's own executable is
 * never a library, whatever its name, and neither are modules that are not
 * named like libraries (nginx's ngx_*_module.so, Apache's mod_*.so).
 */
#include <string.h>

#include "internal.h"

/* Whether name starts with prefix and has ".so" somewhere after it. */
static bool name_is_shared_object(const char *name, const char *prefix)
{
    size_t length = strlen(prefix);

    return strncmp(name, prefix, length) == 0 &&
           strstr(name + length, ".so") != NULL;
}

bool rp_frame_is_library(const struct rp_frame *frame, const char *program)
{
    const char *object = frame->object;
    const char *slash = strrchr(program, '/');

    if (object == NULL || strcmp(object, slash ? slash + 1 : program) == 0)
        return false;
    return object[0] == '[' || name_is_shared_object(object, "lib") ||
           name_is_shared_object(object, "ld-") ||
           name_is_shared_object(object, "ld.");
}
