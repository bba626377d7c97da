/*
 * Writing finished reports: rendering in each configured format, gzip,
 * an atomic file per format in REQPROF_DIR (temporary name, then rename,
 * so a reader never sees half a report), one line per request appended to
 * the directory's index.tsv, and the text on stderr with REQPROF_PRINT=1.
 * Index lines are queued and appended by rp_report_files_flush, once per
 * batch of the writer's (sooner when REQPROF_MAX_DISK wants a settle): one
 * write for many requests. Writer thread only.
 */
#ifndef REQPROF_REPORT_FILES_H
#define REQPROF_REPORT_FILES_H

#include <stdint.h>

#include "config.h"
#include "index_line.h"
#include "report.h"

struct rp_report_files;

/* Returns a writer for the given settings, or NULL when out of memory. */
struct rp_report_files *rp_report_files_new(const struct rp_config *config);

void rp_report_files_free(struct rp_report_files *files);

/*
 * Writes every configured form of report, then queues the request's index
 * line (line, naming the files written); request_id makes file names
 * unique within the process. The files are written all or none: when the
 * disk has no room for them (report_disk.h) or one fails, the line says
 * why instead of naming them, and failures are said on stderr once per
 * kind; nothing here stops the server.
 */
void rp_report_files_write(struct rp_report_files *files,
                           const struct rp_report *report,
                           const struct rp_index_line *line,
                           uint64_t request_id);

/* Queues only the index line of a request that gets no report files;
 * line->file is the RP_INDEX_NO_FILE_* marker that says why. */
void rp_report_files_index_only(struct rp_report_files *files,
                                const struct rp_index_line *line);

/* Appends the queued index lines to index.tsv, all or none (the files of
 * lines that did not go in are removed), and settles the disk. */
void rp_report_files_flush(struct rp_report_files *files);

/* Closes the files' descriptors without freeing anything: for a fork
 * child, whose writer starts over. */
void rp_report_files_forget(struct rp_report_files *files);

/*
 * Writes into buffer (size bytes) a file name stem for the report that
 * sorts by time and shows method, path, status and duration, using only
 * [A-Za-z0-9._=-] whatever the path holds. Exposed for unit tests.
 */
void rp_report_file_stem(const struct rp_report *report, uint64_t request_id,
                         char *buffer, size_t size);

#endif
