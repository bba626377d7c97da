/*
 * The report directory (REQPROF_DIR) and the files in it: who may enter
 * it, how it is made, and how a file in it is opened.
 *
 * Reports name the requests' paths, and paths carry tokens: nothing
 * reqprof writes is readable by users the server did not make it readable
 * to. A directory reqprof makes is 0700, its files 0600, whatever the
 * umask. A server's processes may switch to several users (varnish: root,
 * then its manager's user, then its child's): before a root process gives
 * root away, the user it switches to is granted the directory and its
 * index.tsv by an ACL entry (or, on a file system without ACLs, given them
 * if no one was yet), so every process that writes reports can. A
 * directory that existed when reqprof was loaded is the user's: it is used
 * as it is, never opened up.
 *
 * A shared directory may hold links and files someone else planted: every
 * file is opened relative to the directory's fd with O_NOFOLLOW, and an
 * existing one is taken only if it is a regular file of one link owned by
 * this user or root.
 */
#ifndef REQPROF_REPORT_DIRECTORY_H
#define REQPROF_REPORT_DIRECTORY_H

#include <stdbool.h>
#include <sys/types.h>

/* The one file all of a directory's writers append to. */
#define RP_INDEX_FILE "index.tsv"
/* The count of REQPROF_MAX_DISK they share (report_disk.h). */
#define RP_DISK_COUNT_FILE ".reqprof-disk"

/*
 * Notes whether the directory at path is reqprof's to make and share with
 * the users the server switches to: it is when it does not exist yet.
 * Called once at load; fork children inherit the answer, and a program
 * exec'ed later finds the directory made and leaves it as it is.
 */
void rp_report_directory_note(const char *path);

/*
 * Creates path and its missing parents, like mkdir -p: the directory
 * 0700, parents 0711 (others may pass through, not list), whatever the
 * umask. An existing directory is left as it is. Returns 0 or -1 (errno).
 */
int rp_report_directory_make(const char *path);

/*
 * Opens the directory for the *at calls, O_CLOEXEC; through no symbolic
 * link as its last component when its parent is writable by others, who
 * could have put one there. Returns the fd or -1 (errno).
 */
int rp_report_directory_open(const char *path);

/*
 * A root process is about to switch its effective user to uid: when the
 * directory is reqprof's (rp_report_directory_note), makes it if missing,
 * with its index and disk count, and lets uid write all three. Returns 0, or -1 with errno
 * when uid was not let in (EOPNOTSUPP: no ACLs, and the directory was
 * already given to another user). Keeps errno as it was on success.
 */
int rp_report_directory_grant(const char *path, uid_t uid);

/*
 * Opens name in the directory for writing, never through a symbolic link:
 * created 0600 when missing (exclusive: it must be), else appended to. An
 * existing file that is not a regular file of one link owned by this user
 * or root fails with EPERM: it was planted. Returns the fd (O_CLOEXEC) or
 * -1 (errno).
 */
int rp_report_file_open(int directory_fd, const char *name, bool exclusive);

/* The same, for reading and writing in place (no O_APPEND): the count
 * file, and index.tsv when a removed report's name is written over. */
int rp_report_file_open_in_place(int directory_fd, const char *name);

#endif
