/* Report files; see report_files.h. */
#include "report_files.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic.h"
#include "heap.h"
#include "index_line.h"
#include "isolated.h"
#include "log.h"
#include "real.h"
#include "report_disk.h"
#include "report_directory.h"

/* Characters of the request path kept in file names. */
#define STEM_PATH_MAX 60

struct rp_report_files {
    const struct rp_config *config;
    int directory_fd;            /* REQPROF_DIR, for the *at calls; -1 */
    int index_fd;                /* its index.tsv, open for appending; -1 */
    struct rp_buffer index_lines; /* lines not yet written to index.tsv */
    struct rp_buffer rendered;   /* one format's rendering */
    struct rp_report_disk *disk; /* free space and REQPROF_MAX_DISK */
    Bytef *compressed;           /* its gzip */
    size_t compressed_capacity;
    size_t compressed_length;
    z_stream zlib;               /* reused: deflateReset, not a new stream */
    bool zlib_ready;
    z_stream zlib_stored;        /* the same, storing without compressing */
    bool zlib_stored_ready;
    bool zlib_loaded;            /* zlib is there (isolated.h): text and
                                  * JSON reports can be written */
    char gzip_failure[128];      /* why the last gzip failed, which sets
                                  * no errno; "" after a write failure */
    bool directory_ready;        /* REQPROF_DIR exists */
    bool directory_said;         /* its failure was reported */
    bool write_said;             /* a write failure was reported */
};

struct rp_report_files *rp_report_files_new(const struct rp_config *config)
{
    struct rp_report_files *files = rp_heap_calloc(1, sizeof *files);
    if (files == NULL)
        return NULL;
    files->config = config;
    files->directory_fd = -1;
    files->index_fd = -1;
    rp_buffer_init(&files->index_lines);
    rp_buffer_init(&files->rendered);
    files->disk = rp_report_disk_new(config);
    if (files->disk == NULL) {
        rp_heap_free(files);
        return NULL;
    }
    files->zlib_loaded = rp_isolated_load(RP_ISOLATED_ZLIB);
    if (!files->zlib_loaded)
        return files;
    /* Level 1: reports are small and the writer's time is the budget;
     * windowBits 15 + 16 asks zlib for a gzip wrapper. deflateInit2 is
     * zlib.h's macro for this call. */
    files->zlib_ready =
        RP_ISOLATED(deflateInit2_)(&files->zlib, 1, Z_DEFLATED, 15 + 16, 8,
                                   Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                                   (int)sizeof(z_stream)) == Z_OK;
    /* Level 0 needs no hash table: memLevel 1 keeps deflateReset from
     * clearing 64 KiB for nothing. */
    files->zlib_stored_ready =
        RP_ISOLATED(deflateInit2_)(&files->zlib_stored, 0, Z_DEFLATED, 15 + 16,
                                   1, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                                   (int)sizeof(z_stream)) == Z_OK;
    return files;
}

void rp_report_files_free(struct rp_report_files *files)
{
    if (files == NULL)
        return;
    if (files->zlib_ready)
        RP_ISOLATED(deflateEnd)(&files->zlib);
    if (files->zlib_stored_ready)
        RP_ISOLATED(deflateEnd)(&files->zlib_stored);
    rp_report_files_forget(files);
    rp_buffer_free(&files->index_lines);
    rp_buffer_free(&files->rendered);
    rp_report_disk_free(files->disk);
    rp_heap_free(files->compressed);
    rp_heap_free(files);
}

/* Appends the path's characters that are safe in a file name, others as
 * '_', runs of '_' collapsed, at most STEM_PATH_MAX of them. */
static size_t stem_append_path(char *out, const char *path)
{
    size_t length = 0;
    if (*path == '/')
        path++;
    for (; *path != '\0' && length < STEM_PATH_MAX; path++) {
        char c = *path;
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '=' ||
                    (c == '.' && length > 0 && out[length - 1] != '.');
        if (!safe)
            c = '_';
        if (c == '_' && length > 0 && out[length - 1] == '_')
            continue;
        out[length++] = c;
    }
    while (length > 0 && (out[length - 1] == '_' || out[length - 1] == '.'))
        length--;
    if (length == 0)
        out[length++] = '-';
    out[length] = '\0';
    return length;
}

void rp_report_file_stem(const struct rp_report *report, uint64_t request_id,
                         char *buffer, size_t size)
{
    time_t seconds = (time_t)(report->start_unix_us / 1000000);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    char when[32];
    strftime(when, sizeof when, "%Y%m%dT%H%M%S", &utc);
    char method[RP_REPORT_METHOD_MAX + 1];
    char path[STEM_PATH_MAX + 1];
    (void)stem_append_path(method, report->method[0] ? report->method : "-");
    (void)stem_append_path(path, report->path);
    snprintf(buffer, size, "%s.%03dZ_%s_%s_%03d_%.0fms_%d-%" PRIu64, when,
             (int)(report->start_unix_us / 1000 % 1000), method, path,
             report->status, report->duration_ms, report->pid, request_id);
}

/* Forgets *fd, then closes it: a fork in between leaves the child an fd
 * it does not close, never one it closes twice (by then the number may be
 * one the server opened). */
static void files_close(int *fd)
{
    int closing = rp_atomic_exchange_seq_cst(fd, -1);
    if (closing >= 0)
        RP_REAL(close)(closing);
}

void rp_report_files_forget(struct rp_report_files *files)
{
    files_close(&files->index_fd);
    files_close(&files->directory_fd);
    files->directory_ready = false;
}

/* Makes REQPROF_DIR if need be and opens it: reports are then created
 * relative to it, without walking its path for each file, and never
 * through a link planted on the way. */
static bool files_directory_ready(struct rp_report_files *files)
{
    if (files->directory_ready)
        return true;
    rp_report_files_forget(files);
    /* AT_EACCESS: a server that only set its effective user (varnish's
     * manager) writes as that user, not as root. */
    if (rp_report_directory_make(files->config->dir) != 0 ||
        (files->directory_fd = rp_report_directory_open(files->config->dir)) < 0 ||
        faccessat(files->directory_fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
        rp_log_once(&files->directory_said,
                    "cannot write reports to REQPROF_DIR=%s: %s (uid %d); the "
                    "server runs on without them: make the directory writable "
                    "or point REQPROF_DIR elsewhere",
                    files->config->dir, strerror(errno), (int)geteuid());
        return false;
    }
    files->directory_ready = true;
    return true;
}

/* Writes all of data to fd; reqprof's own I/O bypasses interposition. */
static int files_write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t written = RP_REAL(write)(fd, data, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        length -= (size_t)written;
    }
    return 0;
}

/* Reports whose gzip fits one file system block even uncompressed are
 * stored, not compressed: compressing would cost the writer ~8 us of
 * zlib's fixed set-up (most of a small report's writing) to save no disk
 * space, as a file takes a whole block anyway. */
#define FILES_STORE_BELOW (4096 - 64)

static int files_gzip(struct rp_report_files *files, const struct rp_buffer *in)
{
    bool store = in->length < FILES_STORE_BELOW && files->zlib_stored_ready;
    z_stream *zlib = store ? &files->zlib_stored : &files->zlib;
    if (!store && !files->zlib_ready) {
        snprintf(files->gzip_failure, sizeof files->gzip_failure,
                 "zlib could not set up a stream (out of memory)");
        return -1;
    }
    RP_ISOLATED(deflateReset)(zlib);
    /* deflateBound covers the gzip header and trailer: one call finishes. */
    size_t bound = RP_ISOLATED(deflateBound)(zlib, in->length);
    if (files->compressed_capacity < bound) {
        Bytef *grown = rp_heap_realloc(files->compressed, bound);
        if (grown == NULL) {
            snprintf(files->gzip_failure, sizeof files->gzip_failure,
                     "out of memory for a compressed report");
            return -1;
        }
        files->compressed = grown;
        files->compressed_capacity = bound;
    }
    zlib->next_in = (Bytef *)in->data;
    zlib->avail_in = (uInt)in->length;
    zlib->next_out = files->compressed;
    zlib->avail_out = (uInt)files->compressed_capacity;
    int status = RP_ISOLATED(deflate)(zlib, Z_FINISH);
    if (status != Z_STREAM_END) {
        snprintf(files->gzip_failure, sizeof files->gzip_failure,
                 "zlib's deflate returned %d (%s)", status,
                 zlib->msg != NULL ? zlib->msg : "no message");
        return -1;
    }
    files->compressed_length = files->compressed_capacity - zlib->avail_out;
    return 0;
}

/* Writes data to DIR/NAME through a temporary file and a rename. */
static int files_write_atomically(struct rp_report_files *files,
                                  const char *name, const void *data,
                                  size_t length)
{
    char temporary[NAME_MAX + 1];
    if ((size_t)snprintf(temporary, sizeof temporary, ".%s.tmp", name) >=
        sizeof temporary) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = rp_report_file_open(files->directory_fd, temporary, true);
    if (fd < 0)
        return -1;
    int result = files_write_all(fd, data, length);
    if (RP_REAL(close)(fd) != 0)
        result = -1;
    if (result == 0)
        result = renameat(files->directory_fd, temporary, files->directory_fd, name);
    if (result != 0) {
        int error = errno;
        unlinkat(files->directory_fd, temporary, 0);
        errno = error;
    }
    return result;
}

/* The text view as REQPROF_SHOW_ALL and REQPROF_UNICODE ask, never in
 * colour: reports are files, and stderr is the server's log. */
static struct rp_text_options files_text_options(const struct rp_config *config)
{
    return (struct rp_text_options){
        .unicode = config->unicode,
        .fold_libraries = !config->show_all,
        .threshold = config->show_all ? 0 : RP_TEXT_THRESHOLD_DEFAULT,
    };
}

/* The files of one report written so far: if one format fails, the
 * others go too, so that a request has all its files or none. */
struct files_set {
    char names[RP_FORMAT_COUNT][NAME_MAX + 1];
    size_t lengths[RP_FORMAT_COUNT];
    size_t count;
};

/* Writes DIR/NAME and adds it to set. */
static int files_write_member(struct rp_report_files *files,
                              struct files_set *set, const char *name,
                              const void *data, size_t length)
{
    if (files_write_atomically(files, name, data, length) != 0)
        return -1;
    /* files_write_atomically takes no name longer than NAME_MAX - 5. */
    memcpy(set->names[set->count], name, strlen(name) + 1);
    set->lengths[set->count++] = length;
    return 0;
}

/* Renders one format and writes it under the name rp_formats gives it,
 * gzip-compressed if the table says so. */
static int files_write_format(struct rp_report_files *files,
                              const struct rp_report *report,
                              enum rp_format format, const char *stem,
                              struct files_set *set)
{
    struct rp_text_options text = files_text_options(files->config);
    rp_buffer_reset(&files->rendered);
    if (rp_render(report, format, &text, &files->rendered) != 0)
        return -1;
    char name[PATH_MAX];
    rp_format_file_name(format, stem, name, sizeof name);
    if (!rp_formats[format].compressed)
        return files_write_member(files, set, name, files->rendered.data,
                                  files->rendered.length);
    if (files_gzip(files, &files->rendered) != 0)
        return -1;
    return files_write_member(files, set, name, files->compressed,
                              files->compressed_length);
}

/* After a failure: whether the cause was a removed directory (a clean-up
 * of old reports) that could be made again, so the write is worth one
 * more try rather than losing every report that follows. */
static bool files_directory_made_again(struct rp_report_files *files)
{
    if (errno != ENOENT)
        return false;
    files->directory_ready = false;
    return files_directory_ready(files);
}

/* Says why reports are lost: a failed gzip sets no errno, and the errno
 * left from earlier would name an unrelated failure. */
static void files_failed(struct rp_report_files *files)
{
    if (files->gzip_failure[0] == '\0' && (errno == ELOOP || errno == EPERM))
        rp_log_once(&files->write_said,
                    "not writing through a name in %s that is a symbolic link "
                    "or a file of another user's (planted in a shared "
                    "directory?): reports are lost until it is removed; "
                    "better, set REQPROF_DIR to a directory only the server's "
                    "users may write",
                    files->config->dir);
    rp_log_once(&files->write_said,
                "cannot write a report in %s: %s; reports are lost until "
                "that is fixed%s",
                files->config->dir,
                files->gzip_failure[0] ? files->gzip_failure : strerror(errno),
                files->gzip_failure[0] || errno == ENOMEM ? "" : " (disk full? permissions?)");
}

/* The configured formats that can be written (bits of enum rp_format):
 * without zlib, only those not compressed. */
static unsigned files_outputs(const struct rp_report_files *files)
{
    unsigned outputs = files->config->outputs;
    if (files->zlib_loaded)
        return outputs;
    for (int format = 0; format < RP_FORMAT_COUNT; format++)
        if (rp_formats[format].compressed)
            outputs &= ~(1u << format);
    return outputs;
}

/* Whether errno says the file system is full. */
static bool files_out_of_space(void)
{
    return errno == ENOSPC || errno == EDQUOT;
}

/* Writes the report in every configured format, or none: a failure
 * removes the formats already written. */
static int files_write_formats(struct rp_report_files *files,
                               const struct rp_report *report, const char *stem)
{
    struct files_set set;
    set.count = 0;
    files->gzip_failure[0] = '\0';
    for (int format = 0; format < RP_FORMAT_COUNT; format++) {
        if (!(files_outputs(files) & (1u << format)) ||
            files_write_format(files, report, (enum rp_format)format, stem,
                               &set) == 0)
            continue;
        int error = errno;
        for (size_t written = 0; written < set.count; written++)
            unlinkat(files->directory_fd, set.names[written], 0);
        errno = error;
        return -1;
    }
    for (size_t written = 0; written < set.count; written++)
        rp_report_disk_wrote(files->disk, set.lengths[written]);
    return 0;
}

/* The marker of a request whose report files could not be written
 * (errno, or the gzip failure, says why). */
static const char *files_write_failed(struct rp_report_files *files)
{
    if (files->gzip_failure[0] == '\0' && files_out_of_space()) {
        rp_report_disk_ran_out(files->disk);
        return RP_INDEX_NO_FILE_DISK_FULL;
    }
    files_failed(files);
    return RP_INDEX_NO_FILE_WRITE_FAILED;
}

void rp_report_files_index_only(struct rp_report_files *files,
                                const struct rp_index_line *line)
{
    if (files_directory_ready(files))
        rp_index_line_append(&files->index_lines, line);
}

void rp_report_files_write(struct rp_report_files *files,
                           const struct rp_report *report,
                           const struct rp_index_line *line,
                           uint64_t request_id)
{
    const struct rp_config *config = files->config;
    if (config->print) {
        struct rp_text_options text = files_text_options(config);
        rp_buffer_reset(&files->rendered);
        if (rp_render_text(report, &text, &files->rendered) == 0)
            (void)files_write_all(2, files->rendered.data, files->rendered.length);
    }
    if (!files_directory_ready(files))
        return;
    struct rp_index_line named = *line;
    char stem[PATH_MAX / 2];
    named.file = files_outputs(files) == 0
                     ? RP_INDEX_NO_FILE_NO_ZLIB
                     : rp_report_disk_refusal(files->disk, files->directory_fd);
    if (named.file == NULL) {
        rp_report_file_stem(report, request_id, stem, sizeof stem);
        int result = files_write_formats(files, report, stem);
        if (result != 0 && files_directory_made_again(files))
            result = files_write_formats(files, report, stem);
        named.file = result == 0 ? stem : files_write_failed(files);
    }
    rp_index_line_append(&files->index_lines, &named);
    if (rp_report_disk_settle_due(files->disk))
        rp_report_files_flush(files);
}

/* Opens index.tsv, again if it was removed since: lines written to a
 * removed file would be lost without an error. */
static int files_index_ready(struct rp_report_files *files)
{
    struct stat status;
    if (files->index_fd >= 0 &&
        (fstat(files->index_fd, &status) != 0 || status.st_nlink == 0))
        files_close(&files->index_fd);
    if (files->index_fd < 0)
        files->index_fd = rp_report_file_open(files->directory_fd, RP_INDEX_FILE, false);
    return files->index_fd < 0 ? -1 : 0;
}

/*
 * Appends the queued lines to index.tsv in one write, then settles the
 * disk. Returns 0, -1 (errno set) when the lines did not go in, or 1 when
 * REQPROF_MAX_DISK has no room for them.
 */
static int files_append_index_lines(struct rp_report_files *files)
{
    const struct rp_buffer *lines = &files->index_lines;
    struct stat status;
    if (files_index_ready(files) != 0)
        return -1;
    /* Every process appends and removes reports under this lock: the count
     * of REQPROF_MAX_DISK is shared, and an append that failed half way
     * is cut off before another line can follow it. A file system without
     * flock gets the lines all the same. */
    bool locked = flock(files->index_fd, LOCK_EX) == 0;
    int result = -1;
    if (fstat(files->index_fd, &status) != 0) {
        /* errno says why */
    } else if (!rp_report_disk_index_fits(files->disk,
                                          (uint64_t)status.st_size + lines->length)) {
        result = 1;
    } else if (files_write_all(files->index_fd, lines->data, lines->length) == 0) {
        /* O_APPEND and one write: lines from several processes never mix. */
        result = 0;
        rp_report_disk_settle(files->disk, files->directory_fd, &status,
                              (uint64_t)status.st_size + lines->length);
    } else {
        int error = errno;
        if (ftruncate(files->index_fd, status.st_size) != 0)
            error = errno;
        errno = error;
    }
    if (locked)
        flock(files->index_fd, LOCK_UN);
    return result;
}

/* The queued lines did not go in: the report files they name go too. */
static void files_unwrite_lines(struct rp_report_files *files)
{
    const char *line = files->index_lines.data;
    const char *end = line + files->index_lines.length, *newline;
    while ((newline = memchr(line, '\n', (size_t)(end - line))) != NULL) {
        size_t length;
        const char *name = rp_index_line_file(line, newline, &length);
        if (name != NULL && length > 0 && name[0] != '-')
            rp_report_disk_unwrite(files->disk, files->directory_fd, name,
                                   length);
        line = newline + 1;
    }
}

void rp_report_files_flush(struct rp_report_files *files)
{
    struct rp_buffer *lines = &files->index_lines;
    if (lines->length == 0)
        return;
    if (lines->failed) {
        errno = ENOMEM;
        files_failed(files);
    } else if (files_directory_ready(files)) {
        int appended = files_append_index_lines(files);
        if (appended < 0 && files_directory_made_again(files))
            appended = files_append_index_lines(files);
        if (appended != 0) {
            int error = errno;
            files_unwrite_lines(files);
            errno = error;
        }
        if (appended < 0 && files_out_of_space())
            rp_report_disk_ran_out(files->disk);
        else if (appended < 0)
            files_failed(files);
    }
    rp_buffer_reset(lines);
}
