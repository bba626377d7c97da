/*
 * One request's line of index.tsv (docs/report-format.md). The writer
 * appends one for every request, tens of thousands a second on a busy
 * server, so it is formatted in place, without printf.
 */
#ifndef REQPROF_INDEX_LINE_H
#define REQPROF_INDEX_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* What one line says, field by field. */
struct rp_index_line {
    int64_t start_unix_us;
    int pid;
    const char *method;   /* NUL-terminated, at most RP_REPORT_METHOD_MAX - 1 */
    const char *path;     /* path_length bytes, any bytes: escaped as needed */
    size_t path_length;
    int status;
    uint64_t duration_ns;
    uint64_t cpu_ns;
    bool cpu_measured;    /* false: the CPU column says RP_INDEX_UNMEASURED */
    uint64_t samples;
    const char *file;     /* the report's file name stem, or an RP_INDEX_NO_FILE_*
                           * marker (report.h); NUL-terminated */
    /* Of samples, those shared with other requests (rp_report's
     * shared_samples): the writer sets it where it sets samples. */
    uint64_t shared_samples;
    /* Wall time its calls blocked on its upstreams (peer_wait.h), the sum
     * of its report's waits. */
    uint64_t wait_ns;
};

/* Appends the line, newline included. An allocation failure leaves the
 * buffer failed, as every append does. */
void rp_index_line_append(struct rp_buffer *lines,
                          const struct rp_index_line *line);

/*
 * The file field of the index line from line to end (its newline, or the
 * end of a line without one): its start, with its length in *length, or
 * NULL when the line has fewer fields. It is the 9th, the last of lines
 * written before the shared column was added after it.
 */
const char *rp_index_line_file(const char *line, const char *end,
                               size_t *length);

#endif
