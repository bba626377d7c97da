/*
 * Runs a server under two users at once, from one root process, the way
 * varnish runs its manager and child: the root parent first switches its
 * effective user to the first user and back (varnish's manager does so
 * around its privileged steps, keeping root as its saved user), then forks
 * a child per user, and each child switches to its user for good and
 * execs the server. Both servers write into one REQPROF_DIR, each as its
 * own user.
 *
 * Usage: user_switch PROGRAM USER:PORT USER:PORT
 *   each child runs PROGRAM --port PORT as USER.
 * SIGTERM or SIGINT stops both children, then the parent; so does the end
 * of either child.
 */
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define USERS 2

struct user_server {
    char user[64];
    const char *port;
    uid_t uid;
    gid_t gid;
    pid_t pid;
};

/* Parses USER:PORT and looks the user up; 0 or -1. */
static int user_server_parse(struct user_server *server, const char *text)
{
    const char *colon = strchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof server->user)
        return -1;
    memcpy(server->user, text, (size_t)(colon - text));
    server->user[colon - text] = '\0';
    server->port = colon + 1;
    struct passwd *entry = getpwnam(server->user);
    if (entry == NULL)
        return -1;
    server->uid = entry->pw_uid;
    server->gid = entry->pw_gid;
    return 0;
}

/* In the child: becomes the user for good, then the server. */
static void user_server_exec(const struct user_server *server, const char *program)
{
    if (setgroups(0, NULL) != 0 || setgid(server->gid) != 0 ||
        setuid(server->uid) != 0) {
        perror("user_switch: switching user");
        _exit(1);
    }
    execl(program, program, "--port", server->port, (char *)NULL);
    perror("user_switch: exec");
    _exit(1);
}

int main(int argc, char **argv)
{
    struct user_server servers[USERS];
    if (argc != 2 + USERS || user_server_parse(&servers[0], argv[2]) != 0 ||
        user_server_parse(&servers[1], argv[3]) != 0) {
        fprintf(stderr, "usage: user_switch PROGRAM USER:PORT USER:PORT (as root)\n");
        return 2;
    }
    sigset_t stopping;
    sigemptyset(&stopping);
    sigaddset(&stopping, SIGTERM);
    sigaddset(&stopping, SIGINT);
    sigaddset(&stopping, SIGCHLD);
    sigprocmask(SIG_BLOCK, &stopping, NULL);
    if (seteuid(servers[0].uid) != 0 || seteuid(0) != 0) {
        perror("user_switch: seteuid");
        return 1;
    }
    for (int i = 0; i < USERS; i++) {
        servers[i].pid = fork();
        if (servers[i].pid == 0) {
            sigprocmask(SIG_UNBLOCK, &stopping, NULL);
            user_server_exec(&servers[i], argv[1]);
        }
    }
    int signal_number;
    sigwait(&stopping, &signal_number);
    for (int i = 0; i < USERS; i++)
        if (servers[i].pid > 0)
            kill(servers[i].pid, SIGTERM);
    for (int i = 0; i < USERS; i++)
        if (servers[i].pid > 0)
            waitpid(servers[i].pid, NULL, 0);
    return 0;
}
