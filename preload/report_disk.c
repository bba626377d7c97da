/* The disk that reports take; see report_disk.h. */
#include "report_disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "heap.h"
#include "index_line.h"
#include "log.h"
#include "real.h"
#include "report.h"
#include "report_directory.h"

/* Free space, in percent of the file system's blocks and of its inodes,
 * below which no report file is written, and at which writing starts
 * again: the gap keeps a file system near the line from stopping and
 * starting at every round. */
#define DISK_LOW_PERCENT 5
#define DISK_RESUME_PERCENT 6
/* Until the file system says, the unit files are allocated in. */
#define DISK_BLOCK_DEFAULT 4096
/* index.tsv is read this much at a time to find the oldest reports; a
 * line is at most some 1.8 KB. */
#define DISK_CHUNK 65536
/* A directory still over the limit once every report in index.tsv is
 * gone is counted again at most this often. */
#define DISK_RECOUNT_NS 60000000000ull
/* The count file's one line. */
#define DISK_COUNT_FORMAT "reqprof-disk 1 %20llu %20llu %20llu\n"
#define DISK_COUNT_LENGTH 78

/* The report files a stem may have, whichever REQPROF_OUTPUT wrote them. */
static const char *const disk_extensions[] = {".txt.gz", ".json.gz", ".html"};

/* What the count file holds. */
struct disk_count {
    unsigned long long report_bytes; /* the reports in the directory take */
    unsigned long long cursor;       /* index.tsv offset removal goes on at */
    unsigned long long index_inode;  /* the index.tsv cursor is in */
};

struct rp_report_disk {
    const struct rp_config *config;
    uint64_t block_size;      /* the file system's allocation unit */
    /* Free space and inodes as last read, less what was written since,
     * and the file system's size; free_known until the next settle. */
    uint64_t free_bytes, total_bytes, free_files, total_files;
    bool free_known;
    bool low;                 /* under DISK_LOW_PERCENT: no report files */
    bool over;                /* over REQPROF_MAX_DISK even after removal */
    uint64_t unsettled_bytes; /* written since the last settle */
    uint64_t settled_index_size; /* index.tsv's size at the last settle */
    uint64_t recounted_ns;    /* CLOCK_MONOTONIC of the last recount; 0 */
    char *chunk;              /* DISK_CHUNK bytes of index.tsv */
    bool over_said, index_said, count_said;
};

struct rp_report_disk *rp_report_disk_new(const struct rp_config *config)
{
    struct rp_report_disk *disk = rp_heap_calloc(1, sizeof *disk);
    if (disk == NULL)
        return NULL;
    disk->config = config;
    disk->block_size = DISK_BLOCK_DEFAULT;
    if (config->max_disk != 0 && (disk->chunk = rp_heap_malloc(DISK_CHUNK)) == NULL) {
        rp_heap_free(disk);
        return NULL;
    }
    return disk;
}

void rp_report_disk_free(struct rp_report_disk *disk)
{
    if (disk == NULL)
        return;
    rp_heap_free(disk->chunk);
    rp_heap_free(disk);
}

/* What a file of size bytes takes on the disk. */
static uint64_t disk_allocated(const struct rp_report_disk *disk, uint64_t size)
{
    return (size + disk->block_size - 1) / disk->block_size * disk->block_size;
}

/* Whether free is under percent of total (a total of 0: never). */
static bool disk_under(uint64_t free, uint64_t total, unsigned percent)
{
    return free < total / 100 * percent + total % 100 * percent / 100;
}

static void disk_read_free(struct rp_report_disk *disk, int directory_fd)
{
    struct statvfs status;
    disk->free_known = true;
    if (fstatvfs(directory_fd, &status) != 0) {
        /* Unknown: no reason to stop. */
        disk->total_bytes = disk->total_files = 0;
        return;
    }
    uint64_t unit = status.f_frsize ? status.f_frsize : status.f_bsize;
    if (unit != 0)
        disk->block_size = unit;
    disk->free_bytes = (uint64_t)status.f_bavail * unit;
    disk->total_bytes = (uint64_t)status.f_blocks * unit;
    disk->free_files = status.f_favail;
    disk->total_files = status.f_files;
}

static unsigned disk_free_percent(const struct rp_report_disk *disk)
{
    return disk->total_bytes ? (unsigned)(disk->free_bytes * 100 / disk->total_bytes)
                             : 100;
}

/* Stops or starts report files by the free space known, saying so. */
static void disk_update_low(struct rp_report_disk *disk)
{
    bool low = disk_under(disk->free_bytes, disk->total_bytes, DISK_LOW_PERCENT) ||
               disk_under(disk->free_files, disk->total_files, DISK_LOW_PERCENT);
    bool room = !disk_under(disk->free_bytes, disk->total_bytes,
                            DISK_RESUME_PERCENT) &&
                !disk_under(disk->free_files, disk->total_files,
                            DISK_RESUME_PERCENT);
    if (!disk->low && low) {
        disk->low = true;
        rp_log("the file system of %s is full or has less than %d%% free "
               "(%u%% of its space): no report files until it has %d%% again; "
               "index.tsv still gets every request's line (-disk-full); make "
               "room there or point REQPROF_DIR elsewhere",
               disk->config->dir, DISK_LOW_PERCENT, disk_free_percent(disk),
               DISK_RESUME_PERCENT);
    } else if (disk->low && room) {
        disk->low = false;
        rp_log("the file system of %s has room again (%u%% free): report "
               "files are written again",
               disk->config->dir, disk_free_percent(disk));
    }
}

const char *rp_report_disk_refusal(struct rp_report_disk *disk,
                                   int directory_fd)
{
    if (!disk->free_known) {
        disk_read_free(disk, directory_fd);
        disk_update_low(disk);
    }
    if (disk->low)
        return RP_INDEX_NO_FILE_DISK_FULL;
    if (disk->over)
        return RP_INDEX_NO_FILE_MAX_DISK;
    return NULL;
}

void rp_report_disk_wrote(struct rp_report_disk *disk, size_t length)
{
    uint64_t allocated = disk_allocated(disk, length);
    disk->unsettled_bytes += allocated;
    disk->free_bytes -= allocated < disk->free_bytes ? allocated : disk->free_bytes;
    disk->free_files -= disk->free_files > 0;
    disk_update_low(disk);
}

void rp_report_disk_ran_out(struct rp_report_disk *disk)
{
    disk->free_known = true;
    disk->free_bytes = 0;
    disk->free_files = 0;
    disk_update_low(disk);
}

bool rp_report_disk_settle_due(const struct rp_report_disk *disk)
{
    return disk->config->max_disk != 0 &&
           disk->unsettled_bytes >= disk->config->max_disk / 16;
}

/*
 * Removes the report files of stem (length bytes), in whatever formats
 * they are. Returns the bytes they took; *removed says whether there was
 * any.
 */
static uint64_t disk_remove_files(const struct rp_report_disk *disk,
                                  int directory_fd, const char *stem,
                                  size_t length, bool *removed)
{
    uint64_t freed = 0;
    *removed = false;
    if (length == 0 || length > NAME_MAX - 8 || memchr(stem, '/', length))
        return 0;
    for (size_t i = 0; i < sizeof disk_extensions / sizeof disk_extensions[0]; i++) {
        char name[NAME_MAX + 1];
        struct stat status;
        snprintf(name, sizeof name, "%.*s%s", (int)length, stem, disk_extensions[i]);
        if (fstatat(directory_fd, name, &status, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(status.st_mode) || unlinkat(directory_fd, name, 0) != 0)
            continue;
        freed += disk_allocated(disk, (uint64_t)status.st_size);
        *removed = true;
    }
    return freed;
}

void rp_report_disk_unwrite(struct rp_report_disk *disk, int directory_fd,
                            const char *stem, size_t length)
{
    bool removed;
    uint64_t freed = disk_remove_files(disk, directory_fd, stem, length, &removed);
    disk->unsettled_bytes -= freed < disk->unsettled_bytes ? freed
                                                          : disk->unsettled_bytes;
}

bool rp_report_disk_index_fits(struct rp_report_disk *disk, uint64_t index_size)
{
    uint64_t limit = disk->config->max_disk;
    /* The count file beside it takes a block. */
    if (limit == 0 || disk_allocated(disk, index_size) + disk->block_size <= limit)
        return true;
    /* No report files either, until a settle finds room: their lines
     * could not go in. */
    disk->over = true;
    rp_log_once(&disk->index_said,
                "index.tsv in %s has reached REQPROF_MAX_DISK=%llu bytes by "
                "itself: no more requests are recorded there; remove it to "
                "start a new one, or raise REQPROF_MAX_DISK",
                disk->config->dir, (unsigned long long)limit);
    return false;
}

/* Counts what the reports in the directory take, by one scan of it. */
static void disk_recount(struct rp_report_disk *disk, int directory_fd,
                         struct disk_count *count)
{
    disk->recounted_ns = rp_monotonic_ns();
    count->report_bytes = 0;
    int fd = openat(directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *directory = fd >= 0 ? fdopendir(fd) : NULL;
    if (directory == NULL) {
        if (fd >= 0)
            RP_REAL(close)(fd);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        /* Report names start with their date; hidden ones are temporary. */
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        size_t length = strlen(entry->d_name);
        struct stat status;
        for (size_t i = 0; i < sizeof disk_extensions / sizeof disk_extensions[0]; i++) {
            size_t extension = strlen(disk_extensions[i]);
            if (length > extension &&
                strcmp(entry->d_name + length - extension, disk_extensions[i]) == 0 &&
                fstatat(directory_fd, entry->d_name, &status, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(status.st_mode))
                count->report_bytes += disk_allocated(disk, (uint64_t)status.st_size);
        }
    }
    closedir(directory);
}

/* Reads the count file; false if it holds no count. */
static bool disk_count_read(int fd, struct disk_count *count)
{
    char text[DISK_COUNT_LENGTH + 1];
    ssize_t length = pread(fd, text, DISK_COUNT_LENGTH, 0);
    if (length != DISK_COUNT_LENGTH)
        return false;
    text[length] = '\0';
    return sscanf(text, "reqprof-disk 1 %llu %llu %llu", &count->report_bytes,
                  &count->cursor, &count->index_inode) == 3;
}

static void disk_count_write(int fd, const struct disk_count *count)
{
    char text[DISK_COUNT_LENGTH + 1];
    snprintf(text, sizeof text, DISK_COUNT_FORMAT, count->report_bytes,
             count->cursor, count->index_inode);
    /* Same length every time: an overwrite in place needs no new block. */
    (void)!pwrite(fd, text, DISK_COUNT_LENGTH, 0);
}

/*
 * The index line from line to newline, at offset in index.tsv (fd): if it
 * names report files, removes them and writes the marker over the name.
 */
static void disk_remove_line(struct rp_report_disk *disk, int directory_fd,
                             int fd, struct disk_count *count, const char *line,
                             const char *newline, uint64_t offset)
{
    static const char marker[] = RP_INDEX_NO_FILE_MAX_DISK;
    size_t length;
    const char *name = rp_index_line_file(line, newline, &length);
    if (name == NULL || length == 0 || *name == '-')
        return;
    bool removed;
    uint64_t freed = disk_remove_files(disk, directory_fd, name, length, &removed);
    count->report_bytes -= freed < count->report_bytes ? freed : count->report_bytes;
    if (!removed || length < sizeof marker - 1)
        return;
    char field[NAME_MAX + 1];
    memset(field, ' ', length);
    memcpy(field, marker, sizeof marker - 1);
    (void)!pwrite(fd, field, length, (off_t)(offset + (uint64_t)(name - line)));
}

/* Removes the oldest reports index.tsv names from the cursor on, until
 * the directory is under the limit (index_bytes, what the directory takes
 * besides the reports, included) or the index's end is reached. */
static void disk_remove_oldest(struct rp_report_disk *disk, int directory_fd,
                               struct disk_count *count, uint64_t index_size,
                               uint64_t index_bytes,
                               const struct stat *index_status)
{
    uint64_t limit = disk->config->max_disk;
    if (count->report_bytes + index_bytes <= limit)
        return;
    /* Not the appending descriptor: pwrite on O_APPEND appends. */
    int fd = rp_report_file_open_in_place(directory_fd, RP_INDEX_FILE);
    struct stat status;
    if (fd < 0)
        return;
    if (fstat(fd, &status) != 0 || status.st_ino != index_status->st_ino ||
        status.st_dev != index_status->st_dev) {
        RP_REAL(close)(fd);
        return;
    }
    while (count->report_bytes + index_bytes > limit && count->cursor < index_size) {
        uint64_t left = index_size - count->cursor;
        ssize_t got = pread(fd, disk->chunk, left < DISK_CHUNK ? left : DISK_CHUNK,
                            (off_t)count->cursor);
        if (got <= 0)
            break;
        const char *line = disk->chunk, *end = disk->chunk + got, *newline;
        while (count->report_bytes + index_bytes > limit &&
               (newline = memchr(line, '\n', (size_t)(end - line))) != NULL) {
            disk_remove_line(disk, directory_fd, fd, count, line, newline,
                             count->cursor + (uint64_t)(line - disk->chunk));
            line = newline + 1;
        }
        if (line == disk->chunk) {
            /* No whole line: the index's unfinished end, or no index. */
            if (got < DISK_CHUNK)
                break;
            line = end;
        }
        count->cursor += (uint64_t)(line - disk->chunk);
    }
    RP_REAL(close)(fd);
}

void rp_report_disk_settle(struct rp_report_disk *disk, int directory_fd,
                           const struct stat *index_status, uint64_t index_size)
{
    uint64_t unsettled = disk->unsettled_bytes;
    uint64_t limit = disk->config->max_disk;
    disk->free_known = false;
    disk->unsettled_bytes = 0;
    /* Rounds of index lines alone (REQPROF_MIN_DURATION on a busy server)
     * leave the count alone until the index grew by a sixteenth of the
     * limit: no system call for it in most rounds. */
    if (limit == 0 ||
        (unsettled == 0 && !disk->over && index_size >= disk->settled_index_size &&
         index_size - disk->settled_index_size < limit / 16))
        return;
    disk->settled_index_size = index_size;
    int fd = rp_report_file_open_in_place(directory_fd, RP_DISK_COUNT_FILE);
    if (fd < 0) {
        disk->over = true;
        rp_log_once(&disk->count_said,
                    "cannot keep the count of REQPROF_MAX_DISK in %s/%s: %s; "
                    "no report files until it can (make the directory "
                    "writable, or REQPROF_MAX_DISK=0 for no limit)",
                    disk->config->dir, RP_DISK_COUNT_FILE, strerror(errno));
        return;
    }
    struct disk_count count;
    if (!disk_count_read(fd, &count) || count.index_inode != index_status->st_ino) {
        /* A new directory or index: what is there already counts. */
        disk_recount(disk, directory_fd, &count);
        count.cursor = 0;
        count.index_inode = index_status->st_ino;
    } else {
        count.report_bytes += unsettled;
    }
    /* What the directory takes besides the reports, as du counts it: the
     * index, the count file, and the directory's own blocks. */
    struct stat directory_status;
    uint64_t index_bytes = disk_allocated(disk, index_size) + disk->block_size;
    if (fstat(directory_fd, &directory_status) == 0)
        index_bytes += (uint64_t)directory_status.st_blocks * 512;
    disk_remove_oldest(disk, directory_fd, &count, index_size, index_bytes,
                       index_status);
    if (count.report_bytes + index_bytes > limit && count.cursor >= index_size &&
        (disk->recounted_ns == 0 || rp_monotonic_ns() - disk->recounted_ns >= DISK_RECOUNT_NS))
        /* Every report index.tsv names is gone: files went without us. */
        disk_recount(disk, directory_fd, &count);
    disk->over = count.report_bytes + index_bytes > limit;
    if (disk->over)
        rp_log_once(&disk->over_said,
                    "%s holds more than REQPROF_MAX_DISK=%llu bytes even without "
                    "the reports index.tsv names: no report files until there "
                    "is room (remove files there, or raise REQPROF_MAX_DISK)",
                    disk->config->dir, (unsigned long long)limit);
    disk_count_write(fd, &count);
    RP_REAL(close)(fd);
}
