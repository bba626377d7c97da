/*
 * Work the bytes could not tell apart: when a thread had several requests
 * open between two I/O events (an event loop that read A, B and C, worked,
 * then wrote A), the samples of that stretch belong to all of them. The
 * writer splits them evenly between those requests and puts them, in
 * each one's tree, under a child of the root named "[shared: N
 * requests]", so that no report shows them as its request's alone; the
 * views say what share of a report such samples make.
 *
 * The name is the node's only mark: it travels through every format
 * (JSON, pprof, collapsed stacks) as a frame, and a merge adds the nodes
 * of several reports up as it does any other frame.
 */
#include <string.h>

#include "calltree.h"
#include "report.h"

#define SHARED_PREFIX "[shared: "
#define SHARED_SUFFIX " requests]"

_Static_assert(RP_SHARED_FRAME_NAME_MAX ==
                   sizeof SHARED_PREFIX - 1 + RP_FORMAT_UINT_MAX +
                       sizeof SHARED_SUFFIX,
               "the longest name and its NUL");

/* Formatted in place, without printf: the writer names one per stretch. */
const char *rp_shared_frame_name(char *out, uint64_t requests)
{
    char *end = out;

    memcpy(end, SHARED_PREFIX, sizeof SHARED_PREFIX - 1);
    end = rp_format_uint(end + sizeof SHARED_PREFIX - 1, requests);
    memcpy(end, SHARED_SUFFIX, sizeof SHARED_SUFFIX);
    return out;
}

bool rp_frame_is_shared(const struct rp_frame *frame)
{
    const char *count = frame->function + sizeof SHARED_PREFIX - 1;
    const char *end = count;

    if (frame->object != NULL || frame->file != NULL ||
        strncmp(frame->function, SHARED_PREFIX, sizeof SHARED_PREFIX - 1) != 0)
        return false;
    while (*end >= '0' && *end <= '9')
        end++;
    /* What rp_shared_frame_name writes: no leading zero, 2 or more. */
    if (end == count || *count == '0' || (end - count == 1 && *count == '1'))
        return false;
    return strcmp(end, SHARED_SUFFIX) == 0;
}

double rp_shared_share(uint64_t shared_samples, uint64_t samples)
{
    return samples > 0 ? (double)shared_samples / (double)samples : 0;
}

bool rp_shared_is_marked(uint64_t shared_samples, uint64_t samples)
{
    return rp_shared_share(shared_samples, samples) > RP_SHARED_MARK;
}
