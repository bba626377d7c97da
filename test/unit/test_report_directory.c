/*
 * Unit tests of the report directory (preload/report_directory.c): modes
 * whatever the umask, links and files planted in a shared directory, and
 * the users a root process lets in before it switches to them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "report_directory.h"
#include "unit.h"

/* Users that exist on every Debian system: not root, not each other. */
#define USER_LET_IN 65534 /* nobody */
#define USER_LEFT_OUT 1   /* daemon */

static char scratch[] = "/tmp/reqprof-directory-XXXXXX";

static void path_in_scratch(char *buffer, size_t size, const char *name)
{
    snprintf(buffer, size, "%s/%s", scratch, name);
}

static mode_t mode_of(const char *path)
{
    struct stat status;
    return lstat(path, &status) == 0 ? status.st_mode & 07777 : (mode_t)-1;
}

/* A root-only file with one line in it, for links to point at. */
static void make_victim(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_TRUE(fd >= 0 && write(fd, "root's\n", 7) == 7);
    close(fd);
}

static off_t size_of(const char *path)
{
    struct stat status;
    return stat(path, &status) == 0 ? status.st_size : -1;
}

UNIT_TEST(test_directories_and_files_keep_their_modes_whatever_the_umask)
{
    char top[256], leaf[300], file[300];
    path_in_scratch(top, sizeof top, "umask");
    snprintf(leaf, sizeof leaf, "%s/a/reports/", top);
    mode_t previous = umask(0277);
    EXPECT_INT_EQ(0, rp_report_directory_make(leaf));
    int directory = rp_report_directory_open(leaf);
    EXPECT_TRUE(directory >= 0);
    int fd = rp_report_file_open(directory, RP_INDEX_FILE, false);
    EXPECT_TRUE(fd >= 0);
    umask(previous);
    EXPECT_INT_EQ(0711, mode_of(top));
    snprintf(file, sizeof file, "%s/a", top);
    EXPECT_INT_EQ(0711, mode_of(file));
    snprintf(file, sizeof file, "%s/a/reports", top);
    EXPECT_INT_EQ(0700, mode_of(file));
    snprintf(file, sizeof file, "%s/a/reports/%s", top, RP_INDEX_FILE);
    EXPECT_INT_EQ(0600, mode_of(file));
    /* Appended to, not truncated, when opened again. */
    EXPECT_INT_EQ(3, write(fd, "one", 3));
    close(fd);
    fd = rp_report_file_open(directory, RP_INDEX_FILE, false);
    EXPECT_INT_EQ(3, write(fd, "two", 3));
    close(fd);
    EXPECT_INT_EQ(6, size_of(file));
    /* A temporary report name must be new. */
    EXPECT_INT_EQ(-1, rp_report_file_open(directory, RP_INDEX_FILE, true));
    EXPECT_INT_EQ(EEXIST, errno);
    close(directory);
}

UNIT_TEST(test_planted_links_and_files_are_not_written_through)
{
    char shared[256], victim[256], name[300], missing[300];
    path_in_scratch(shared, sizeof shared, "shared");
    path_in_scratch(victim, sizeof victim, "victim");
    EXPECT_INT_EQ(0, mkdir(shared, 0777));
    EXPECT_INT_EQ(0, chmod(shared, 0777)); /* non-sticky, world-writable */
    make_victim(victim);
    int directory = rp_report_directory_open(shared);
    EXPECT_TRUE(directory >= 0);

    /* A link to a file only root may write. */
    snprintf(name, sizeof name, "%s/%s", shared, RP_INDEX_FILE);
    EXPECT_INT_EQ(0, symlink(victim, name));
    EXPECT_INT_EQ(-1, rp_report_file_open(directory, RP_INDEX_FILE, false));
    EXPECT_INT_EQ(ELOOP, errno);
    /* A planted temporary name of a report, the same. */
    EXPECT_INT_EQ(0, symlinkat(victim, directory, ".report.json.gz.tmp"));
    EXPECT_INT_EQ(-1, rp_report_file_open(directory, ".report.json.gz.tmp", true));
    EXPECT_INT_EQ(7, size_of(victim));
    unlink(name);

    /* A dangling link: following it would create its target. */
    snprintf(missing, sizeof missing, "%s/created-by-root", scratch);
    EXPECT_INT_EQ(0, symlink(missing, name));
    EXPECT_INT_EQ(-1, rp_report_file_open(directory, RP_INDEX_FILE, false));
    EXPECT_INT_EQ(-1, size_of(missing));
    unlink(name);

    /* A hard link to the victim, a FIFO (opening it must not block), and
     * a file of another user's. */
    EXPECT_INT_EQ(0, link(victim, name));
    EXPECT_INT_EQ(-1, rp_report_file_open(directory, RP_INDEX_FILE, false));
    EXPECT_INT_EQ(EPERM, errno);
    unlink(name);
    EXPECT_INT_EQ(0, mkfifo(name, 0666));
    EXPECT_INT_EQ(-1, rp_report_file_open(directory, RP_INDEX_FILE, false));
    unlink(name);
    if (geteuid() == 0) {
        int fd = open(name, O_WRONLY | O_CREAT, 0666);
        EXPECT_INT_EQ(0, fchown(fd, USER_LET_IN, (gid_t)-1));
        close(fd);
        EXPECT_INT_EQ(-1, rp_report_file_open(directory, RP_INDEX_FILE, false));
        EXPECT_INT_EQ(EPERM, errno);
        unlink(name);
    }
    EXPECT_INT_EQ(7, size_of(victim));
    close(directory);

    /* The directory's own name made a link in a world-writable parent. */
    char linked[300];
    snprintf(linked, sizeof linked, "%s/linked", shared);
    EXPECT_INT_EQ(0, symlink(scratch, linked));
    EXPECT_INT_EQ(-1, rp_report_directory_open(linked));
    /* In a parent only its owner writes, the owner's link is followed. */
    snprintf(linked, sizeof linked, "%s/linked", scratch);
    EXPECT_INT_EQ(0, symlink(shared, linked));
    directory = rp_report_directory_open(linked);
    EXPECT_TRUE(directory >= 0);
    close(directory);
}

/* In a child that switched to uid for good: 0 if it could create a
 * report and append to the index in directory, else the errno. */
static int write_as(uid_t uid, const char *directory_path)
{
    static int reports;
    reports++;
    pid_t child = fork();
    if (child == 0) {
        if (setuid(uid) != 0)
            _exit(100);
        int directory = open(directory_path, O_RDONLY | O_DIRECTORY);
        if (directory < 0)
            _exit(errno);
        char name[64];
        snprintf(name, sizeof name, "report-%d", reports);
        int report = rp_report_file_open(directory, name, true);
        if (report < 0)
            _exit(errno);
        int index = rp_report_file_open(directory, RP_INDEX_FILE, false);
        _exit(index < 0 ? errno : write(index, "line\n", 5) == 5 ? 0 : 101);
    }
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 102;
}

UNIT_TEST(test_users_a_root_process_switches_to_are_let_in)
{
    if (geteuid() != 0) {
        printf("  (skipped: needs root)\n");
        return;
    }
    char made[256], index[300];
    path_in_scratch(made, sizeof made, "made");
    rp_report_directory_note(made);
    mode_t previous = umask(0177);
    EXPECT_INT_EQ(0, rp_report_directory_grant(made, USER_LET_IN));
    umask(previous);
    EXPECT_TRUE(getxattr(made, "system.posix_acl_access", NULL, 0) > 0);
    EXPECT_INT_EQ(0, write_as(USER_LET_IN, made));
    EXPECT_INT_EQ(EACCES, write_as(USER_LEFT_OUT, made));
    /* A second user after the first: both can. */
    EXPECT_INT_EQ(0, rp_report_directory_grant(made, USER_LEFT_OUT));
    EXPECT_INT_EQ(0, write_as(USER_LEFT_OUT, made));
    EXPECT_INT_EQ(0, write_as(USER_LET_IN, made));
    snprintf(index, sizeof index, "%s/%s", made, RP_INDEX_FILE);
    EXPECT_INT_EQ(3 * 5, size_of(index)); /* three lines: both users wrote */
    /* Nobody else: owner root, no group, no others. */
    struct stat status;
    EXPECT_INT_EQ(0, stat(made, &status));
    EXPECT_INT_EQ(0, status.st_uid);
    EXPECT_INT_EQ(0, status.st_mode & 07);
}

UNIT_TEST(test_a_directory_the_user_made_is_never_opened_up)
{
    if (geteuid() != 0) {
        printf("  (skipped: needs root)\n");
        return;
    }
    char users[256];
    path_in_scratch(users, sizeof users, "users");
    EXPECT_INT_EQ(0, mkdir(users, 0750));
    rp_report_directory_note(users);
    EXPECT_INT_EQ(0, rp_report_directory_grant(users, USER_LET_IN));
    EXPECT_INT_EQ(0750, mode_of(users));
    EXPECT_INT_EQ(-1, getxattr(users, "system.posix_acl_access", NULL, 0));
    EXPECT_INT_EQ(EACCES, write_as(USER_LET_IN, users));
}

int main(void)
{
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    chmod(scratch, 0755);
    UNIT_RUN(test_directories_and_files_keep_their_modes_whatever_the_umask);
    UNIT_RUN(test_planted_links_and_files_are_not_written_through);
    UNIT_RUN(test_users_a_root_process_switches_to_are_let_in);
    UNIT_RUN(test_a_directory_the_user_made_is_never_opened_up);
    char command[300];
    snprintf(command, sizeof command, "rm -rf %s", scratch);
    if (system(command) != 0)
        printf("  (could not remove %s)\n", scratch);
    return unit_finish();
}
