/* Request targets without their query values; see path_redact.h. */
#include "path_redact.h"

#include <string.h>

size_t rp_path_redact_query(const char *path, size_t length, char *out)
{
    const char *end = path + length;
    const char *query = memchr(path, '?', length);
    size_t kept = query != NULL ? (size_t)(query - path) + 1 : length;
    memcpy(out, path, kept);
    size_t query_start = kept;
    for (const char *parameter = query != NULL ? query + 1 : end; parameter < end;) {
        const char *next = memchr(parameter, '&', (size_t)(end - parameter));
        if (next == NULL)
            next = end;
        const char *equals = memchr(parameter, '=', (size_t)(next - parameter));
        if (equals != NULL) {
            if (kept > query_start)
                out[kept++] = '&';
            size_t name = (size_t)(equals - parameter) + 1;
            memcpy(out + kept, parameter, name);
            kept += name;
        }
        parameter = next + 1;
    }
    out[kept] = '\0';
    return kept;
}
