/*
 * The disk that reports take: REQPROF_MAX_DISK and the file system's free
 * space. Says whether a request's report files may be written now, counts
 * what is written, and removes the oldest reports, in the order of
 * index.tsv, to keep the directory under the limit; their lines keep their
 * place with the file name replaced by RP_INDEX_NO_FILE_MAX_DISK, padded
 * with spaces to the same length (written in place: the index stays one
 * line per request, in the order it was written).
 *
 * The limit is per directory: every process writing there (nginx's
 * workers, earlier runs) shares one count of the bytes its reports take,
 * kept in DIR/.reqprof-disk (RP_DISK_COUNT_FILE) with where removal goes
 * on in index.tsv, and read and written only while index.tsv is locked
 * (flock), as every process's appends are. A missing or foreign count file is made again
 * from one scan of the directory. A process adds what it wrote at each
 * settle, so between two the directory may hold its unsettled reports
 * more: settles come every writer round that wrote reports, and sooner
 * once a process wrote a sixteenth of the limit; with index lines alone,
 * once the index grew by a sixteenth of the limit.
 *
 * Free space is read (fstatvfs) at most once per settle; in between, the
 * bytes written are taken off what it said. Writer thread only.
 */
#ifndef REQPROF_REPORT_DISK_H
#define REQPROF_REPORT_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config.h"

struct rp_report_disk;

/* Returns the disk's state for the given settings, or NULL when out of
 * memory. */
struct rp_report_disk *rp_report_disk_new(const struct rp_config *config);

void rp_report_disk_free(struct rp_report_disk *disk);

/*
 * Why a request's report files may not be written now, as the marker its
 * index line gets instead of a file name (RP_INDEX_NO_FILE_DISK_FULL,
 * RP_INDEX_NO_FILE_MAX_DISK), or NULL when they may. Changes in that are
 * said on stderr, once each time.
 */
const char *rp_report_disk_refusal(struct rp_report_disk *disk,
                                   int directory_fd);

/* A report file of length bytes was written in full. */
void rp_report_disk_wrote(struct rp_report_disk *disk, size_t length);

/* A write failed for want of space (errno ENOSPC or EDQUOT): no more
 * report files until free space is read again. */
void rp_report_disk_ran_out(struct rp_report_disk *disk);

/* Whether this process wrote enough since its last settle that it should
 * settle before writing more. */
bool rp_report_disk_settle_due(const struct rp_report_disk *disk);

/*
 * Removes the files of a report whose index line did not go in, unsaid
 * to the count (they were written since the last settle). stem is the
 * report's file name stem, length bytes.
 */
void rp_report_disk_unwrite(struct rp_report_disk *disk, int directory_fd,
                            const char *stem, size_t length);

/*
 * Whether index.tsv, grown to index_size bytes, would still fit the limit
 * by itself. When it would not, it is said once, and the caller appends
 * nothing: the directory stays bounded.
 */
bool rp_report_disk_index_fits(struct rp_report_disk *disk,
                               uint64_t index_size);

/*
 * With index.tsv locked (index_status its fstat, index_size bytes now that
 * the lines of this settle are in): adds what this process wrote since its
 * last settle to the directory's count, and removes the oldest reports
 * until the directory is under the limit. Errors are said once; reports
 * are then kept.
 */
void rp_report_disk_settle(struct rp_report_disk *disk, int directory_fd,
                           const struct stat *index_status, uint64_t index_size);

#endif
