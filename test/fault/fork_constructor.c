/*
 * A library whose constructor forks, as a server module may (to start a
 * helper): the fork happens inside the server's dlopen, which holds the
 * dynamic loader's lock. test/server/fork_in_constructor.c loads it while
 * reqprof's writer is loading its own libraries: the constructor waits
 * until the writer thread exists, and a little more, so that the writer
 * waits for the loader's lock when the fork comes.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Whether a thread of this process is called reqprof-writer. */
static int writer_exists(void)
{
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL)
        return 0;
    int found = 0;
    struct dirent *task;
    while (!found && (task = readdir(tasks)) != NULL) {
        char path[300], name[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", task->d_name);
        FILE *comm = fopen(path, "r");
        if (comm == NULL)
            continue;
        found = fgets(name, sizeof name, comm) != NULL &&
                strncmp(name, "reqprof-writer", 14) == 0;
        fclose(comm);
    }
    closedir(tasks);
    return found;
}

__attribute__((constructor)) static void fork_constructor(void)
{
    for (int tries = 0; tries < 500 && !writer_exists(); tries++)
        usleep(10000);
    usleep(200000);
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    if (child > 0)
        waitpid(child, NULL, 0);
}
