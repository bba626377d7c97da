/*
 * Tests of preload/report_files.c, the library's own object, with its
 * failure paths driven through test hooks (STYLE.md habit 10): the write
 * it calls is swapped in rp_real (real.h's function pointers), and the
 * report side's heap is this file's, linked in place of heap.c, which
 * fails on demand. A full disk or a failed allocation must lose the
 * report, whole, and never the writer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "heap.h"
#include "index_line.h"
#include "real.h"
#include "report.h"
#include "report_files.h"
#include "report_fixture.h"
#include "unit.h"

/* The report side's heap (heap.h): allocations left before every one
 * fails with ENOMEM, as malloc does; -1: none fails. */
static long allocations_left = -1;

static bool heap_grants(void)
{
    if (allocations_left < 0)
        return true;
    if (allocations_left == 0) {
        errno = ENOMEM;
        return false;
    }
    allocations_left--;
    return true;
}

void *rp_heap_malloc(size_t size)
{
    return heap_grants() ? malloc(size) : NULL;
}

void *rp_heap_calloc(size_t count, size_t size)
{
    return heap_grants() ? calloc(count, size) : NULL;
}

void *rp_heap_realloc(void *pointer, size_t size)
{
    return heap_grants() ? realloc(pointer, size) : NULL;
}

void rp_heap_free(void *pointer)
{
    free(pointer);
}

void rp_heap_isolate(void)
{
}

void rp_heap_trim(void)
{
}

/* Writes to report files (fds above stderr) left before every one fails
 * with ENOSPC; -1: none fails. */
static long writes_left = -1;
static ssize_t (*libc_write)(int fd, const void *data, size_t length);

static ssize_t write_until_full(int fd, const void *data, size_t length)
{
    if (fd > 2 && writes_left >= 0) {
        if (writes_left == 0) {
            errno = ENOSPC;
            return -1;
        }
        writes_left--;
    }
    return libc_write(fd, data, length);
}

/* A report directory of the test's own, and a writer for it that writes
 * text, JSON and HTML. */
static char directory[] = "/tmp/reqprof-test-report-files-XXXXXX";
static struct rp_config config;

static struct rp_report_files *files_new(void)
{
    rp_config_defaults(&config);
    snprintf(config.dir, sizeof config.dir, "%s", directory);
    config.outputs = 1u << RP_FORMAT_TEXT | 1u << RP_FORMAT_JSON | 1u << RP_FORMAT_HTML;
    struct rp_report_files *files = rp_report_files_new(&config);
    EXPECT_TRUE(files != NULL);
    return files;
}

/* A GET of path that spent 30 samples in handler, under main. */
static void report_make(struct rp_report *report, const char *path)
{
    struct rp_calltree *tree = fixture_report(report, path, 77, "/usr/sbin/server");
    report->duration_ms = 30.5;
    report->samples = 30;
    uint32_t stack[2] = {fixture_frame(tree, "main", "server", "server.c", 10),
                         fixture_frame(tree, "handler", "server", "server.c", 20)};
    rp_calltree_add_stack(tree, stack, 2, 30);
    rp_calltree_sort(tree);
}

/* Writes report (its index line too) as request request_id. */
static void write_report(struct rp_report_files *files, const struct rp_report *report,
                         uint64_t request_id)
{
    struct rp_index_line line = {
        .start_unix_us = report->start_unix_us, .pid = report->pid,
        .method = report->method, .path = report->path,
        .path_length = strlen(report->path), .status = report->status,
        .duration_ns = 30500000, .samples = report->samples, .file = NULL};
    rp_report_files_write(files, report, &line, request_id);
}

/* Files in the directory other than index.tsv and the disk count. */
static unsigned report_files_in_directory(void)
{
    DIR *listing = opendir(directory);
    unsigned count = 0;
    struct dirent *entry;
    while (listing != NULL && (entry = readdir(listing)) != NULL)
        if (entry->d_name[0] != '.' && strcmp(entry->d_name, "index.tsv") != 0)
            count++;
    if (listing != NULL)
        closedir(listing);
    return count;
}

/* index.tsv's report file fields, one a line, in *fields (size bytes). */
static void index_files(char *fields, size_t size)
{
    char path[sizeof directory + 16], text[8192] = "";
    snprintf(path, sizeof path, "%s/index.tsv", directory);
    FILE *index = fopen(path, "r");
    size_t length = index != NULL ? fread(text, 1, sizeof text - 1, index) : 0;
    if (index != NULL)
        fclose(index);
    text[length] = '\0';
    fields[0] = '\0';
    for (char *line = text; *line != '\0';) {
        char *end = strchr(line, '\n');
        if (end == NULL)
            break;
        size_t field_length;
        const char *field = rp_index_line_file(line, end, &field_length);
        if (field != NULL)
            snprintf(fields + strlen(fields), size - strlen(fields), "%.*s\n",
                     (int)field_length, field);
        line = end + 1;
    }
}

/* Empties the directory for the next test. */
static void directory_empty(void)
{
    DIR *listing = opendir(directory);
    struct dirent *entry;
    while (listing != NULL && (entry = readdir(listing)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char path[sizeof directory + NAME_MAX + 2];
        snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
        unlink(path);
    }
    if (listing != NULL)
        closedir(listing);
}

UNIT_TEST(a_report_is_written_in_every_format_privately_and_indexed)
{
    struct rp_report_files *files = files_new();
    struct rp_report report;
    report_make(&report, "/ok");
    write_report(files, &report, 1);
    rp_report_files_flush(files);
    EXPECT_INT_EQ(3, report_files_in_directory());
    char stem[PATH_MAX], fields[1024];
    rp_report_file_stem(&report, 1, stem, sizeof stem);
    index_files(fields, sizeof fields);
    char expected[PATH_MAX + 1];
    snprintf(expected, sizeof expected, "%s\n", stem);
    EXPECT_STR_EQ(expected, fields);
    for (int format = RP_FORMAT_TEXT; format <= RP_FORMAT_HTML; format++) {
        char name[PATH_MAX], path[2 * PATH_MAX];
        rp_format_file_name((enum rp_format)format, stem, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", directory, name);
        struct stat status;
        EXPECT_TRUE(stat(path, &status) == 0 && status.st_size > 0 &&
                    (status.st_mode & 0777) == 0600);
    }
    rp_calltree_free(report.tree);
    rp_report_files_free(files);
    directory_empty();
}

UNIT_TEST(a_disk_that_fills_midway_leaves_no_file_and_the_line_says_so)
{
    struct rp_report_files *files = files_new();
    struct rp_report report;
    report_make(&report, "/full");
    writes_left = 1; /* the first format's file, not the second's */
    write_report(files, &report, 1);
    writes_left = -1;
    EXPECT_INT_EQ(0, report_files_in_directory());
    /* Reports wait for the next look at the free space, at the flush
     * (report_disk.h); the disk has room again: the next one is whole. */
    rp_report_files_flush(files);
    write_report(files, &report, 2);
    rp_report_files_flush(files);
    EXPECT_INT_EQ(3, report_files_in_directory());
    char stem[PATH_MAX], fields[1024], expected[PATH_MAX + 32];
    rp_report_file_stem(&report, 2, stem, sizeof stem);
    snprintf(expected, sizeof expected, "%s\n%s\n", RP_INDEX_NO_FILE_DISK_FULL, stem);
    index_files(fields, sizeof fields);
    EXPECT_STR_EQ(expected, fields);
    rp_calltree_free(report.tree);
    rp_report_files_free(files);
    directory_empty();
}

/* Allocations fail from the start of the write, then from each later
 * point: whichever fails, no file is left half a set, and once the heap
 * gives again the next report is written whole. */
UNIT_TEST(a_failed_allocation_loses_the_report_never_the_writer)
{
    struct rp_report report;
    report_make(&report, "/oom");
    bool reached_whole = false; /* enough allocations granted for a set */
    for (long granted = 0; granted < 200 && !reached_whole; granted++) {
        struct rp_report_files *files = files_new();
        allocations_left = granted;
        write_report(files, &report, 1);
        allocations_left = -1;
        unsigned left = report_files_in_directory();
        reached_whole = left == 3;
        if (left != 0 && left != 3) {
            EXPECT_TRUE(left == 0 || left == 3);
            break;
        }
        char fields[1024];
        rp_report_files_flush(files);
        index_files(fields, sizeof fields);
        /* Nothing said the disk was full: it was memory. */
        if (strstr(fields, RP_INDEX_NO_FILE_DISK_FULL) != NULL) {
            EXPECT_STR_EQ("", fields);
            break;
        }
        write_report(files, &report, 2);
        rp_report_files_flush(files);
        unsigned after = report_files_in_directory();
        if (after != left + 3) {
            EXPECT_INT_EQ(left + 3, after);
            break;
        }
        rp_report_files_free(files);
        directory_empty();
    }
    EXPECT_TRUE(reached_whole);
    rp_calltree_free(report.tree);
}

int main(void)
{
    if (mkdtemp(directory) == NULL)
        return 1;
    rp_real_resolve();
    libc_write = rp_real.write;
    rp_real.write = write_until_full;
    UNIT_RUN(a_report_is_written_in_every_format_privately_and_indexed);
    UNIT_RUN(a_disk_that_fills_midway_leaves_no_file_and_the_line_says_so);
    UNIT_RUN(a_failed_allocation_loses_the_report_never_the_writer);
    int status = unit_finish();
    directory_empty();
    rmdir(directory);
    return status;
}
